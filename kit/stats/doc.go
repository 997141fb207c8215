// Package stats holds the small, pure statistics the WARM study reports:
// pairwise preference accuracy and calibration, summary statistics,
// the exact best-of-N estimator and its KL, paired win rates with a
// confidence interval, and KL estimators for RL.
//
// Everything works on float64 slices and never modifies its inputs.
// Empty inputs give NaN (there is no meaningful value); mismatched
// slice lengths and out-of-range parameters are programmer errors and
// panic with a message naming the function.
package stats

package preset

import "math"

// z95 is the two-sided 95% normal quantile.
const z95 = 1.959963984540054

// PairedHalfWidth is the 95% half-width (in accuracy units, 0.01 = one
// point) of the difference between two accuracies measured on the same n
// pairs, when the two models disagree on a fraction disc of them: the
// difference of paired 0/1 outcomes has variance disc − δ² ≤ disc, so
// z·√(disc/n) bounds it (McNemar's set-up; the paired bootstrap of the
// report estimates the same quantity).
func PairedHalfWidth(n int, disc float64) float64 {
	return z95 * math.Sqrt(disc/float64(n))
}

// PairsFor is the smallest n with PairedHalfWidth(n, disc) ≤ h.
func PairsFor(h, disc float64) int {
	return int(math.Ceil(disc * (z95 / h) * (z95 / h)))
}

// ProportionHalfWidth is the 95% half-width of a win rate over n
// independent prompts when each prompt's outcome has variance at most
// 1/4 (a win rate with ties counted half, or a mean over samples within
// a prompt, only lowers it): z·√(1/(4n)).
func ProportionHalfWidth(n int) float64 {
	return z95 * math.Sqrt(0.25/float64(n))
}

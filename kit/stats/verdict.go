package stats

import (
	"fmt"
	"math"
)

// Verdict is the outcome of testing a claim with a 95% interval.
type Verdict int

const (
	// Inconclusive: the interval is compatible with the claim and with its
	// negation (or there is no interval).
	Inconclusive Verdict = iota
	// Holds: the whole interval lies where the claim is true.
	Holds
	// Fails: the whole interval lies where the claim is false.
	Fails
)

func (v Verdict) String() string {
	switch v {
	case Holds:
		return "holds"
	case Fails:
		return "fails"
	case Inconclusive:
		return "inconclusive"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Direction is the shape of a claim about a quantity d (usually a
// difference such as accuracy(WA) − accuracy(ENS)).
type Direction int

const (
	// Above claims d > Bound. Superiority ("WA > best member") is Above
	// with Bound 0; non-inferiority ("WA ≥ ENS − margin") is Above with
	// Bound −margin.
	Above Direction = iota
	// Below claims d < Bound ("WA memorises swapped labels less than ENS":
	// d < 0).
	Below
	// Within claims |d| < Bound ("WA ≈ ENS" to within a margin:
	// equivalence).
	Within
)

// Hypothesis is a claim about a quantity: its direction and its bound (a
// margin of 0 for plain superiority).
type Hypothesis struct {
	Dir   Direction
	Bound float64
}

// Format writes the claim as an inequality on d, with the bound
// formatted by format (e.g. "%+.1f pts").
func (h Hypothesis) Format(format string) string {
	b := fmt.Sprintf(format, h.Bound)
	if h.Bound == 0 {
		b = "0"
	}
	switch h.Dir {
	case Above:
		return "d > " + b
	case Below:
		return "d < " + b
	case Within:
		// Written as a double inequality, which reads as well and does not
		// break across lines after the "|" of |d| in a narrow table cell.
		b := math.Abs(h.Bound)
		return fmt.Sprintf(format, -b) + " < d < " + fmt.Sprintf(format, b)
	}
	return fmt.Sprintf("Direction(%d)", int(h.Dir))
}

// Decide turns a 95% interval [lo, hi] for d into a verdict:
//
//	Above  (d > B):  holds if lo > B;            fails if hi < B;            else inconclusive
//	Below  (d < B):  holds if hi < B;            fails if lo > B;            else inconclusive
//	Within (|d| < B): holds if −B < lo, hi < B;  fails if lo > B or hi < −B; else inconclusive
//
// So a claim holds only when every value in the interval satisfies it,
// and fails only when no value does: "holds" and "fails" are each
// wrong at most about 2.5% of the time when the true d sits exactly on
// the bound. Within uses the 95% interval, which is stricter than the
// 90% interval of a textbook TOST equivalence test (it errs towards
// "inconclusive"). An invalid interval (NaN bounds: no data, or a single
// seed) is inconclusive.
func Decide(h Hypothesis, iv Interval) Verdict {
	if !iv.Valid() {
		return Inconclusive
	}
	lo, hi, b := iv.Lo, iv.Hi, h.Bound
	switch h.Dir {
	case Above:
		if lo > b {
			return Holds
		}
		if hi < b {
			return Fails
		}
	case Below:
		if hi < b {
			return Holds
		}
		if lo > b {
			return Fails
		}
	case Within:
		b = math.Abs(b)
		if lo > -b && hi < b {
			return Holds
		}
		if lo > b || hi < -b {
			return Fails
		}
	}
	return Inconclusive
}

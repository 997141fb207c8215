package stats

import (
	"fmt"
	"math"
)

// PairedHalfWidth returns the 95% half-width of a paired accuracy
// difference over n pairs when a fraction disc of the pairs is discordant
// (one model right, the other wrong) and the true difference is delta:
//
//	h = z·√((disc − delta²)/n)
//
// Each pair contributes d ∈ {−1, 0, +1}; Var(d) = P(d ≠ 0) − E[d]² =
// disc − delta². With delta ≈ 0 this is the familiar z·√(disc/n) (the
// normal approximation behind McNemar's test). Ties scored ½ only lower
// the variance, so this is an upper bound for them.
func PairedHalfWidth(disc, delta float64, n int) float64 {
	if disc < 0 || disc > 1 || n < 1 || delta*delta > disc {
		panic(fmt.Sprintf("stats.PairedHalfWidth: disc %v, delta %v, n %d out of range", disc, delta, n))
	}
	return Z95 * math.Sqrt((disc-delta*delta)/float64(n))
}

// PairsFor returns the number of pairs n that makes PairedHalfWidth ≤ h:
// n = ⌈z²·(disc − delta²)/h²⌉.
func PairsFor(disc, delta, h float64) int {
	if h <= 0 || disc < 0 || disc > 1 || delta*delta > disc {
		panic(fmt.Sprintf("stats.PairsFor: disc %v, delta %v, half-width %v out of range", disc, delta, h))
	}
	return int(math.Ceil(Z95 * Z95 * (disc - delta*delta) / (h * h)))
}

// UnitsFor returns the number of independent units (prompts) that makes
// the 95% half-width of a mean ≤ h when one unit's value has standard
// deviation sd: n = ⌈(z·sd/h)²⌉. With k samples per prompt averaged
// first, pass sd = √(between² + within²/k).
func UnitsFor(sd, h float64) int {
	if h <= 0 || sd < 0 {
		panic(fmt.Sprintf("stats.UnitsFor: sd %v, half-width %v out of range", sd, h))
	}
	return int(math.Ceil(math.Pow(Z95*sd/h, 2)))
}

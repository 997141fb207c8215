package stats

import (
	"fmt"
	"math"
)

// PairAccuracy returns the fraction of preference pairs whose chosen
// response scores above its rejected one, and the fraction of ties.
// A tie (chosen[i] == rejected[i], exact float equality) counts half:
// acc = (wins + ties/2) / n. Exact equality is what a deterministic
// reward model produces for identical texts; use PairAccuracyEps when
// scores come from lower precision and near-equal should count as tied.
func PairAccuracy(chosen, rejected []float64) (acc, tieRate float64) {
	return PairAccuracyEps(chosen, rejected, 0)
}

// PairAccuracyEps is PairAccuracy with ties defined as
// |chosen[i] − rejected[i]| ≤ eps.
func PairAccuracyEps(chosen, rejected []float64, eps float64) (acc, tieRate float64) {
	checkLen("PairAccuracy", chosen, rejected)
	if len(chosen) == 0 {
		return math.NaN(), math.NaN()
	}
	var wins, ties float64
	for i := range chosen {
		d := chosen[i] - rejected[i]
		switch {
		case math.Abs(d) <= eps:
			ties++
		case d > 0:
			wins++
		}
	}
	n := float64(len(chosen))
	return (wins + ties/2) / n, ties / n
}

// ECE returns the expected calibration error of the Bradley-Terry
// probability p_i = σ(chosen[i] − rejected[i]) that the chosen response
// wins, using equal-width bins over [0, 1].
//
// Symmetric formulation: the order of a pair is arbitrary, so each pair
// contributes two predictions — p_i with outcome 1 (chosen wins) and
// 1 − p_i with outcome 0 (rejected wins). Without this every outcome
// would be 1 and ECE would reduce to 1 − mean(p). Over the 2n predictions,
//
//	ECE = Σ_b (|B_b| / 2n) · |acc_b − conf_b|,
//
// where acc_b is the fraction of outcome-1 predictions in bin b and
// conf_b the mean predicted probability there. A prediction p falls in
// bin ⌊p·bins⌋ (p = 1 goes to the last bin). Because the binning is
// mirrored, bin b and bin bins−1−b have equal error; bins must be ≥ 1.
func ECE(chosen, rejected []float64, bins int) float64 {
	checkLen("ECE", chosen, rejected)
	if bins < 1 {
		panic(fmt.Sprintf("stats.ECE: bins = %d, want ≥ 1", bins))
	}
	if len(chosen) == 0 {
		return math.NaN()
	}
	count := make([]float64, bins)
	conf := make([]float64, bins)
	hits := make([]float64, bins)
	add := func(p, outcome float64) {
		b := int(p * float64(bins))
		if b >= bins {
			b = bins - 1
		}
		if b < 0 {
			b = 0
		}
		count[b]++
		conf[b] += p
		hits[b] += outcome
	}
	for i := range chosen {
		p := Sigmoid(chosen[i] - rejected[i])
		add(p, 1)
		add(1-p, 0)
	}
	total := 2 * float64(len(chosen))
	var ece float64
	for b := range bins {
		if count[b] == 0 {
			continue
		}
		ece += count[b] / total * math.Abs(hits[b]/count[b]-conf[b]/count[b])
	}
	return ece
}

// WinRate compares two paired score lists (a[i] and b[i] judge the same
// prompt): a wins when a[i] > b[i], a tie counts half, so
// rate = (wins + ties/2)/n. [lo, hi] is the 95% Wilson score interval
// (z = 1.959964) for that proportion, which, unlike the normal
// approximation, stays inside [0, 1] and is sensible near 0 and 1.
// Counting a tie as half a success is the usual convention; it makes
// the interval slightly narrow when ties are many.
func WinRate(a, b []float64) (rate, lo, hi float64) {
	checkLen("WinRate", a, b)
	if len(a) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	var wins float64
	for i := range a {
		switch {
		case a[i] > b[i]:
			wins++
		case a[i] == b[i]:
			wins += 0.5
		}
	}
	n := float64(len(a))
	rate = wins / n
	lo, hi = Wilson(rate, n, 1.959963984540054)
	return rate, lo, hi
}

// Wilson returns the Wilson score interval for a proportion p observed
// over n trials with normal quantile z:
//
//	(p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n).
func Wilson(p, n, z float64) (lo, hi float64) {
	z2 := z * z
	den := 1 + z2/n
	center := (p + z2/(2*n)) / den
	half := z * math.Sqrt(p*(1-p)/n+z2/(4*n*n)) / den
	return math.Max(0, center-half), math.Min(1, center+half)
}

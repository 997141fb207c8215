package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Z95 is the two-sided 95% normal quantile, Φ⁻¹(0.975).
const Z95 = 1.959963984540054

// Resamples is the default number of bootstrap resamples: with 2000 the
// Monte-Carlo error of a 2.5% percentile is about ±0.35 percentage points
// of coverage (√(0.025·0.975/2000)), small next to the interval itself.
const Resamples = 2000

// BootstrapSeed is the fixed seed every report uses, so that the same run
// gives the same intervals every time the report is written.
const BootstrapSeed = 20240123

// Interval is an estimate with a 95% confidence interval [Lo, Hi] over N
// independent units (pairs, prompts or seeds); Method says how the
// interval was made. A NaN estimate means there was no data.
type Interval struct {
	Est, Lo, Hi float64
	N           int
	Method      string
}

// Valid reports whether the interval has finite bounds.
func (iv Interval) Valid() bool {
	return !math.IsNaN(iv.Lo) && !math.IsNaN(iv.Hi) && !math.IsInf(iv.Lo, 0) && !math.IsInf(iv.Hi, 0)
}

// Scale multiplies the estimate and the bounds by k (e.g. 100 for
// accuracy points); a negative k swaps the bounds.
func (iv Interval) Scale(k float64) Interval {
	iv.Est, iv.Lo, iv.Hi = k*iv.Est, k*iv.Lo, k*iv.Hi
	if k < 0 {
		iv.Lo, iv.Hi = iv.Hi, iv.Lo
	}
	return iv
}

func (iv Interval) String() string {
	if !iv.Valid() {
		return fmt.Sprintf("%.3g [no interval]", iv.Est)
	}
	return fmt.Sprintf("%.3g [%.3g, %.3g]", iv.Est, iv.Lo, iv.Hi)
}

func none(n int, method string) Interval {
	return Interval{Est: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), N: n, Method: method}
}

// BootstrapMean returns the mean of x with a 95% percentile-bootstrap
// interval: resamples resamples of len(x) units drawn with replacement,
// the interval is the 2.5% and 97.5% quantiles (type 7) of the resampled
// means. The generator is PCG seeded with seed, so the result is
// deterministic.
//
// Why percentile and not BCa: the statistics bootstrapped here are means
// of bounded per-unit values (differences of 0/½/1 correctness, gold
// scores in [−1, 1]) over hundreds to thousands of units, where the
// sampling distribution is close to symmetric and BCa's corrections are
// below the Monte-Carlo error; percentile is simple to check by
// simulation (see the coverage tests).
//
// For paired comparisons pass the per-unit differences: resampling the
// units keeps each pair's two values together. Fewer than 2 units give
// no interval (NaN bounds). Panics if resamples < 1.
func BootstrapMean(x []float64, resamples int, seed uint64) Interval {
	const method = "percentile bootstrap"
	if resamples < 1 {
		panic(fmt.Sprintf("stats.BootstrapMean: resamples = %d, want ≥ 1", resamples))
	}
	n := len(x)
	if n == 0 {
		return none(0, method)
	}
	mean, _ := MeanStd(x)
	if n < 2 {
		iv := none(n, method)
		iv.Est = mean
		return iv
	}
	means := bootstrapMeans(x, resamples, seed)
	return Interval{Est: mean, Lo: quantileSorted(means, 0.025), Hi: quantileSorted(means, 0.975), N: n,
		Method: fmt.Sprintf("%s over %d units, %d resamples", method, n, resamples)}
}

// bootstrapMeans returns the sorted means of resamples bootstrap
// resamples of x: one uniform index draw per unit, about 5 ns each, so
// 2000 resamples of 2500 pairs take some 25 ms.
func bootstrapMeans(x []float64, resamples int, seed uint64) []float64 {
	n := len(x)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]float64, resamples)
	for b := range out {
		var s float64
		for range n {
			s += x[rng.IntN(n)]
		}
		out[b] = s / float64(n)
	}
	sort.Float64s(out)
	return out
}

func quantileSorted(s []float64, q float64) float64 {
	h := float64(len(s)-1) * q
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

// PairedDiff returns mean(a − b) with a percentile-bootstrap interval over
// the units (see BootstrapMean): a[i] and b[i] are the same unit (pair,
// prompt) measured for two models. Panics on different lengths. For
// accuracies use PairedAccuracyDiff.
func PairedDiff(a, b []float64, resamples int, seed uint64) Interval {
	return ClusterPairedDiff(a, b, nil, resamples, seed)
}

// PairedAccuracyDiff is PairedDiff for per-pair correctness (1 right, 0
// wrong, ½ a tie): the estimate is exactly the difference of the two
// accuracies, and the interval is widened to contain the Agresti–Min
// adjusted Wald interval for a paired difference of proportions (½ added
// to each cell of the 2×2 table). With few or no discordant pairs the
// bootstrap alone collapses to a zero-width interval ([0, 0] when the two
// models agree on all of 32 pairs), which would let "WA ≈ ENS" hold on
// evidence that cannot support it.
func PairedAccuracyDiff(a, b []float64, resamples int, seed uint64) Interval {
	return ClusterPairedAccuracyDiff(a, b, nil, resamples, seed)
}

// diffs is a[i] − b[i]; panics on different lengths (fn names the caller).
func diffs(fn string, a, b []float64) []float64 {
	checkLen(fn, a, b)
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	return d
}

// agrestiMin is the 95% adjusted Wald interval for the mean of paired
// correctness differences d (each in [−1, 1]): with b the mass of pairs
// only the first model gets right and c the reverse, add ½ to each of the
// four cells (n' = n + 2) and take (b'−c')/n' ± z·√((b'+c') − (b'−c')²/n')/n'
// (Agresti & Min 2005).
func agrestiMin(d []float64) (lo, hi float64) {
	var b, c float64
	for _, v := range d {
		if v > 0 {
			b += v
		} else {
			c -= v
		}
	}
	n := float64(len(d)) + 2
	b, c = b+0.5, c+0.5
	est := (b - c) / n
	h := Z95 * math.Sqrt(max(b+c-(b-c)*(b-c)/n, 0)) / n
	return est - h, est + h
}

// AccuracyInterval returns the mean of per-pair correctness (1, 0, ½ for
// a tie) with its 95% Wilson score interval. Counting a tie as half a
// success makes the interval slightly narrow when ties are many.
func AccuracyInterval(correct []float64) Interval {
	n := len(correct)
	if n == 0 {
		return none(0, "Wilson")
	}
	p, _ := MeanStd(correct)
	lo, hi := Wilson(p, float64(n), Z95)
	return Interval{Est: p, Lo: lo, Hi: hi, N: n, Method: fmt.Sprintf("Wilson score over %d pairs", n)}
}

// TInterval returns the mean of x with the 95% Student-t interval
// mean ± t(0.975, n−1)·s/√n — for a handful of replicate runs (seeds),
// where a bootstrap over 2–5 values would be far too narrow. It assumes
// the per-seed values are roughly normal. Fewer than 2 values give no
// interval.
func TInterval(x []float64) Interval {
	n := len(x)
	mean, s := MeanStd(x)
	if n < 2 {
		iv := none(n, "t")
		iv.Est = mean
		return iv
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975)
	h := t * s / math.Sqrt(float64(n))
	return Interval{Est: mean, Lo: mean - h, Hi: mean + h, N: n, Method: fmt.Sprintf("t interval over %d seeds (df %d)", n, n-1)}
}

// WelchDiff returns mean(a) − mean(b) for two independent groups of
// replicate runs with the 95% Welch interval: standard error
// √(s_a²/n_a + s_b²/n_b), degrees of freedom by Welch–Satterthwaite.
// Either group with fewer than 2 values gives no interval. When both
// groups have zero spread the interval is the point itself.
func WelchDiff(a, b []float64) Interval {
	ma, sa := MeanStd(a)
	mb, sb := MeanStd(b)
	n := min(len(a), len(b))
	if len(a) < 2 || len(b) < 2 {
		iv := none(n, "Welch t")
		iv.Est = ma - mb
		return iv
	}
	va, vb := sa*sa/float64(len(a)), sb*sb/float64(len(b))
	se := math.Sqrt(va + vb)
	d := ma - mb
	if se == 0 {
		return Interval{Est: d, Lo: d, Hi: d, N: n, Method: "Welch t (no spread)"}
	}
	df := (va + vb) * (va + vb) / (va*va/float64(len(a)-1) + vb*vb/float64(len(b)-1))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(0.975)
	return Interval{Est: d, Lo: d - t*se, Hi: d + t*se, N: n,
		Method: fmt.Sprintf("Welch t over %d and %d seeds (df %.1f)", len(a), len(b), df)}
}

// WinTieLoss counts, over paired scores (a[i] and b[i] judge the same
// prompt), how often a is above, equal to and below b, and returns the
// three rates each with its 95% Wilson interval: ties are shown on their
// own, not split in halves, because a judge with many exact ties (VADER
// scores 0 for many neutral texts) pulls a halved win rate towards 50%.
func WinTieLoss(a, b []float64) (win, tie, loss Interval) {
	checkLen("WinTieLoss", a, b)
	n := len(a)
	if n == 0 {
		return none(0, "Wilson"), none(0, "Wilson"), none(0, "Wilson")
	}
	var w, t, l int
	for i := range a {
		switch {
		case a[i] > b[i]:
			w++
		case a[i] < b[i]:
			l++
		default:
			t++
		}
	}
	rate := func(k int) Interval {
		p := float64(k) / float64(n)
		lo, hi := Wilson(p, float64(n), Z95)
		return Interval{Est: p, Lo: lo, Hi: hi, N: n, Method: fmt.Sprintf("Wilson score over %d prompts", n)}
	}
	return rate(w), rate(t), rate(l)
}

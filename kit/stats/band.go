package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// PairedDiffBand returns, for each point k of a curve (a best-of-N curve
// at each N), mean(a[k] − b[k]) over the units with a 95% band that is
// simultaneous over all the points: with probability about 95% every
// point's interval covers its true difference at once, so a claim that
// must hold at every N can be read off the band without a correction for
// the number of points.
//
// a[k][i] and b[k][i] are unit i (a prompt) at point k, the same units at
// every point. Each bootstrap resample draws the units once and uses that
// draw at every point (the points stay correlated as they are in the
// data); the band is the sup-t band: with se_k the bootstrap standard
// deviation of point k's resampled mean, c is the 95% quantile over
// resamples of max_k |mean*_k − est_k|/se_k, and point k's interval is
// est_k ± c·se_k. A point whose resampled means do not vary (se_k = 0:
// e.g. N = 1, where every reward's pick is a uniformly random sample)
// gets a zero-width interval and does not enter the maximum.
//
// Why sup-t and not Bonferroni over the points: the points of a BoN curve
// are strongly correlated (N = 32 and N = 64 pick mostly the same
// samples), and Bonferroni's 0.05/K per point ignores that and is
// conservative; sup-t uses the joint resampling distribution and is exact
// in the limit. Fewer than 2 units give no intervals. Panics on ragged or
// mismatched input or resamples < 1.
func PairedDiffBand(a, b [][]float64, resamples int, seed uint64) []Interval {
	const method = "simultaneous sup-t bootstrap band"
	if resamples < 1 {
		panic(fmt.Sprintf("stats.PairedDiffBand: resamples = %d, want ≥ 1", resamples))
	}
	if len(a) != len(b) {
		panic(fmt.Sprintf("stats.PairedDiffBand: %d points vs %d", len(a), len(b)))
	}
	K := len(a)
	if K == 0 {
		return nil
	}
	n := len(a[0])
	d := make([][]float64, K)
	for k := range a {
		checkLen("PairedDiffBand", a[k], b[k])
		if len(a[k]) != n {
			panic(fmt.Sprintf("stats.PairedDiffBand: point %d has %d units, point 0 has %d", k, len(a[k]), n))
		}
		d[k] = make([]float64, n)
		for i := range d[k] {
			d[k][i] = a[k][i] - b[k][i]
		}
	}
	out := make([]Interval, K)
	if n < 2 {
		for k := range out {
			out[k] = none(n, method)
			out[k].Est, _ = MeanStd(d[k])
		}
		return out
	}
	est := make([]float64, K)
	for k := range d {
		est[k], _ = MeanStd(d[k])
	}
	// means[k][r]: point k's mean in resample r, all points from one draw.
	means := make([][]float64, K)
	for k := range means {
		means[k] = make([]float64, resamples)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	idx := make([]int, n)
	for r := range resamples {
		for i := range idx {
			idx[i] = rng.IntN(n)
		}
		for k := range d {
			var s float64
			for _, i := range idx {
				s += d[k][i]
			}
			means[k][r] = s / float64(n)
		}
	}
	se := make([]float64, K)
	for k := range means {
		_, se[k] = MeanStd(means[k])
	}
	sup := make([]float64, resamples)
	for r := range sup {
		for k := range means {
			if se[k] > 0 {
				sup[r] = max(sup[r], math.Abs(means[k][r]-est[k])/se[k])
			}
		}
	}
	sort.Float64s(sup)
	c := quantileSorted(sup, 0.95)
	for k := range out {
		h := c * se[k]
		out[k] = Interval{Est: est[k], Lo: est[k] - h, Hi: est[k] + h, N: n,
			Method: fmt.Sprintf("%s over %d points, %d units, %d resamples (critical value %.2f)", method, K, n, resamples, c)}
	}
	return out
}

// DecideEvery decides a claim that must hold at every point of a curve
// (every N of a best-of-N curve), from one interval per point that are
// simultaneous (PairedDiffBand): it holds when Decide holds at every
// point, fails when Decide fails at some point, and is inconclusive
// otherwise (and with no points). With a simultaneous 95% band, "holds"
// is wrong only when some interval misses its truth, which happens with
// probability about 5% in all (about 2.5% on the side that matters).
func DecideEvery(h Hypothesis, ivs []Interval) Verdict {
	if len(ivs) == 0 {
		return Inconclusive
	}
	all := true
	for _, iv := range ivs {
		switch Decide(h, iv) {
		case Fails:
			return Fails
		case Inconclusive:
			all = false
		}
	}
	if all {
		return Holds
	}
	return Inconclusive
}

package stats

import (
	"fmt"
	"math"
	"sort"
)

// BoNWeights returns, for each of the M samples of one prompt, the
// probability that best-of-n selection picks it, where the n candidates
// are a uniformly random n-subset (without replacement) of the M samples
// and the candidate with the highest proxy score is picked.
//
// Order statistics: with samples sorted by proxy ascending, the i-th
// (1-based) is the maximum of a random n-subset with probability
// C(i−1, n−1)/C(M, n) — the other n−1 members must come from the i−1
// below it. Binomials are evaluated in log space from a table of log k!
// (a running sum of logs), so M in the thousands neither overflows nor
// loses the weights.
//
// Ties in proxy: the tied block's total probability is shared equally
// among its members. This is exact for uniform random tie-breaking:
// given that the subset's maximum lies in a tied block, the picked
// element is uniform over that block by symmetry.
//
// Weights sum to 1. Panics unless 1 ≤ n ≤ M.
func BoNWeights(proxy []float64, n int) []float64 {
	m := len(proxy)
	if n < 1 || n > m {
		panic(fmt.Sprintf("stats.BoNWeights: n = %d outside [1, M = %d]", n, m))
	}
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return proxy[idx[a]] < proxy[idx[b]] })
	// lf[k] = log k!, so log C(a, b) = lf[a] − lf[b] − lf[a−b].
	lf := make([]float64, m+1)
	for k := 2; k <= m; k++ {
		lf[k] = lf[k-1] + math.Log(float64(k))
	}
	logTotal := lf[m] - lf[n] - lf[m-n]
	w := make([]float64, m)
	for start := 0; start < m; {
		end := start + 1
		for end < m && proxy[idx[end]] == proxy[idx[start]] {
			end++
		}
		// Sorted positions start+1..end (1-based) form one tied block.
		var mass float64
		for i := start + 1; i <= end; i++ {
			if i >= n {
				mass += math.Exp(lf[i-1] - lf[n-1] - lf[i-n] - logTotal)
			}
		}
		share := mass / float64(end-start)
		for k := start; k < end; k++ {
			w[idx[k]] = share
		}
		start = end
	}
	return w
}

// BoNExpected returns E[gold of the best-of-n pick by proxy] over a
// uniformly random n-subset of the M samples of one prompt (see
// BoNWeights for the formula and the tie rule): Σ_j w_j·gold_j.
// Averaging this over prompts gives the unbiased BoN curve from one
// pool of M samples per prompt, for every n ≤ M at once.
func BoNExpected(proxy, gold []float64, n int) float64 {
	checkLen("BoNExpected", proxy, gold)
	return dot(BoNWeights(proxy, n), gold)
}

// KLBoN returns the analytic KL divergence between the best-of-n policy
// and the base policy, log n − (n−1)/n (Stiennon et al. 2020; an upper
// bound that is tight when samples are distinct).
func KLBoN(n int) float64 {
	if n < 1 {
		panic(fmt.Sprintf("stats.KLBoN: n = %d, want ≥ 1", n))
	}
	fn := float64(n)
	return math.Log(fn) - (fn-1)/fn
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

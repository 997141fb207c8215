package stats

import (
	"fmt"
	"math"
	"sort"
)

// All-pairs accuracy: when a split's positives and negatives are
// exchangeable within a group (the human-labelled review pairs: any
// positive sentence of a source against any negative one of the same
// source, the prompt empty), pairing each positive with one negative
// uses a single random draw of the pairings. Comparing every positive
// with every negative of its group estimates the same accuracy — the
// chance that a random within-group positive scores above a random
// negative — with the minimum-variance unbiased estimator, the
// Mann–Whitney U-statistic, from the same scored texts. Its 95% interval
// is DeLong's (DeLong, DeLong & Clarke-Pearson 1988): the U-statistic's
// variance from each text's placement value, which also gives the
// variance of any linear combination of correlated accuracies measured
// on the same texts (a paired difference, a model against the mean of
// several). On the quick study's 1,500 human pairs the WA − ENS interval
// narrows from ±1.5 to ±0.7 points (docs/report.md).

// AllPairsAccuracy is one model's within-group all-pairs accuracy: pos[i]
// and neg[i] are the scores of row i's positive and negative text, both
// in group[i]; every positive is compared with every negative of its
// group, a tie counts half, and every comparison weighs the same. It
// also returns the number of comparisons. Panics on different lengths.
func AllPairsAccuracy(pos, neg []float64, group []string) (acc float64, comparisons int) {
	iv := AllPairsCombo([][]float64{pos}, [][]float64{neg}, group, []float64{1})
	return iv.Est, AllPairsComparisons(group)
}

// AllPairsCombo returns Σ_k coef[k]·acc_k, where acc_k is model k's
// within-group all-pairs accuracy from its scores pos[k], neg[k] (see
// AllPairsAccuracy; every model scores the same rows), with DeLong's 95%
// normal interval. N is the number of texts (2 per row). A group with
// fewer than 2 rows leaves no variance estimate: the interval then has no
// bounds. Panics on mismatched lengths (programmer error).
func AllPairsCombo(pos, neg [][]float64, group []string, coef []float64) Interval {
	if len(pos) != len(neg) || len(pos) != len(coef) {
		panic(fmt.Sprintf("stats.AllPairsCombo: %d, %d score sets for %d coefficients", len(pos), len(neg), len(coef)))
	}
	for k := range pos {
		checkLen("AllPairsCombo", pos[k], neg[k])
		if len(pos[k]) != len(group) {
			panic(fmt.Sprintf("stats.AllPairsCombo: %d scores for %d groups", len(pos[k]), len(group)))
		}
	}
	method := "within-group all-pairs accuracy, DeLong interval"
	n := len(group)
	if n == 0 || len(pos) == 0 {
		return none(0, method)
	}
	// Rows by group, in first-seen order (deterministic).
	var order []string
	rows := map[string][]int{}
	for i, g := range group {
		if _, ok := rows[g]; !ok {
			order = append(order, g)
		}
		rows[g] = append(rows[g], i)
	}
	total := float64(AllPairsComparisons(group))
	var est, variance float64
	small := false
	for _, g := range order {
		idx := rows[g]
		m := len(idx) // positives = negatives = rows of the group
		// v10[i]: the combination's placement of positive i (the share
		// of the group's negatives it beats); v01[j]: of negative j (the
		// share of positives that beat it).
		v10, v01 := make([]float64, m), make([]float64, m)
		for k := range pos {
			p, q := make([]float64, m), make([]float64, m)
			for a, i := range idx {
				p[a], q[a] = pos[k][i], neg[k][i]
			}
			beats, beaten := placements(p, q)
			for a := range m {
				v10[a] += coef[k] * beats[a]
				v01[a] += coef[k] * beaten[a]
			}
		}
		w := float64(m) * float64(m) / total
		mean10, _ := MeanStd(v10)
		est += w * mean10
		if m < 2 {
			small = true
			continue
		}
		_, s10 := MeanStd(v10)
		_, s01 := MeanStd(v01)
		variance += w * w * (s10*s10 + s01*s01) / float64(m)
	}
	iv := Interval{Est: est, N: 2 * n, Method: fmt.Sprintf("%s over %d comparisons of %d texts in %d groups", method, int(total), 2*n, len(order))}
	if small {
		iv.Lo, iv.Hi = math.NaN(), math.NaN()
		iv.Method += " (a group of one row: no interval)"
		return iv
	}
	h := Z95 * math.Sqrt(variance)
	iv.Lo, iv.Hi = est-h, est+h
	return iv
}

// AllPairsComparisons is Σ_g m_g², the comparisons of a grouping with m_g
// rows in group g.
func AllPairsComparisons(group []string) int {
	count := map[string]int{}
	for _, g := range group {
		count[g]++
	}
	var c int
	for _, m := range count {
		c += m * m
	}
	return c
}

// placements returns, for each positive, the share of negatives it scores
// above and, for each negative, the share of positives that score above
// it (ties count half): O((m+n) log n) by sorting.
func placements(pos, neg []float64) (beats, beaten []float64) {
	sn := append([]float64(nil), neg...)
	sp := append([]float64(nil), pos...)
	sort.Float64s(sn)
	sort.Float64s(sp)
	beats = make([]float64, len(pos))
	for i, x := range pos {
		lo := sort.SearchFloat64s(sn, x)                                  // negatives < x
		hi := sort.Search(len(sn), func(j int) bool { return sn[j] > x }) // negatives ≤ x
		beats[i] = (float64(lo) + 0.5*float64(hi-lo)) / float64(len(sn))
	}
	beaten = make([]float64, len(neg))
	for j, y := range neg {
		lo := sort.SearchFloat64s(sp, y)                                  // positives < y
		hi := sort.Search(len(sp), func(i int) bool { return sp[i] > y }) // positives ≤ y
		beaten[j] = (float64(len(sp)-hi) + 0.5*float64(hi-lo)) / float64(len(sp))
	}
	return beats, beaten
}

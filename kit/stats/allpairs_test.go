package stats

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// bruteAllPairs is the definition: every within-group comparison, a tie
// half.
func bruteAllPairs(pos, neg []float64, group []string) float64 {
	var s, n float64
	for i := range pos {
		for j := range neg {
			if group[i] != group[j] {
				continue
			}
			n++
			switch {
			case pos[i] > neg[j]:
				s++
			case pos[i] == neg[j]:
				s += 0.5
			}
		}
	}
	return s / n
}

func TestAllPairsMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		n := 5 + rng.IntN(60)
		pos, neg, group := make([]float64, n), make([]float64, n), make([]string, n)
		for i := range n {
			// Few distinct values: many ties, within and across texts.
			pos[i] = float64(rng.IntN(6))
			neg[i] = float64(rng.IntN(5))
			group[i] = []string{"a", "b", "c"}[rng.IntN(1+trial%3)]
		}
		acc, c := AllPairsAccuracy(pos, neg, group)
		if want := bruteAllPairs(pos, neg, group); math.Abs(acc-want) > 1e-12 {
			t.Fatalf("trial %d: accuracy %v, definition %v", trial, acc, want)
		}
		var wantC int
		for i := range group {
			for j := range group {
				if group[i] == group[j] {
					wantC++
				}
			}
		}
		if c != wantC {
			t.Fatalf("trial %d: %d comparisons, want %d", trial, c, wantC)
		}
		// A combination is the combination of the accuracies.
		pos2 := make([]float64, n)
		for i := range pos2 {
			pos2[i] = pos[i] + float64(rng.IntN(3)) - 1
		}
		iv := AllPairsCombo([][]float64{pos, pos2}, [][]float64{neg, neg}, group, []float64{1, -1})
		if want := bruteAllPairs(pos, neg, group) - bruteAllPairs(pos2, neg, group); math.Abs(iv.Est-want) > 1e-12 {
			t.Fatalf("trial %d: difference %v, definition %v", trial, iv.Est, want)
		}
	}
}

// TestAllPairsDeLongVariance checks the variance against DeLong's formula
// written out with explicit loops on one group.
func TestAllPairsDeLongVariance(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := 40
	pos, neg := make([]float64, m), make([]float64, m)
	group := make([]string, m)
	for i := range m {
		pos[i], neg[i] = rng.NormFloat64()+0.5, rng.NormFloat64()
	}
	iv := AllPairsCombo([][]float64{pos}, [][]float64{neg}, group, []float64{1})
	psi := func(x, y float64) float64 {
		switch {
		case x > y:
			return 1
		case x == y:
			return 0.5
		}
		return 0
	}
	v10, v01 := make([]float64, m), make([]float64, m)
	for i := range m {
		for j := range m {
			v10[i] += psi(pos[i], neg[j]) / float64(m)
			v01[j] += psi(pos[i], neg[j]) / float64(m)
		}
	}
	_, s10 := MeanStd(v10)
	_, s01 := MeanStd(v01)
	want := Z95 * math.Sqrt(s10*s10/float64(m)+s01*s01/float64(m))
	if got := (iv.Hi - iv.Lo) / 2; math.Abs(got-want) > 1e-12 {
		t.Fatalf("half-width %v, DeLong by hand %v", got, want)
	}
}

// TestAllPairsCoverage: texts score s + e + u_k with s ~ N(μ, 1) (μ 0.8
// for positives, 0 for negatives), e ~ N(0, 0.6²) shared by both models,
// u_k ~ N(0, σ_k²) their own noise; then acc_k = Φ(0.8/√(2(1+0.36+σ_k²)))
// exactly. The 95% interval of acc_1 − acc_2 must cover the truth in
// 92-98% of 500 simulated studies of 3 groups × 80 rows (binomial SE ≈
// 1 point), and its single-model interval likewise.
func TestAllPairsCoverage(t *testing.T) {
	const mu, se, s1, s2 = 0.8, 0.6, 0.5, 1.0
	truth := func(sk float64) float64 {
		return distuv.UnitNormal.CDF(mu / math.Sqrt(2*(1+se*se+sk*sk)))
	}
	want := truth(s1) - truth(s2)
	rng := rand.New(rand.NewPCG(5, 6))
	const reps, rows = 500, 240
	var coverD, coverA int
	var width float64
	for range reps {
		p1, p2, n1, n2 := make([]float64, rows), make([]float64, rows), make([]float64, rows), make([]float64, rows)
		group := make([]string, rows)
		for i := range rows {
			group[i] = []string{"x", "y", "z"}[i%3]
			sp, ep := rng.NormFloat64()+mu, se*rng.NormFloat64()
			sn, en := rng.NormFloat64(), se*rng.NormFloat64()
			p1[i], p2[i] = sp+ep+s1*rng.NormFloat64(), sp+ep+s2*rng.NormFloat64()
			n1[i], n2[i] = sn+en+s1*rng.NormFloat64(), sn+en+s2*rng.NormFloat64()
		}
		d := AllPairsCombo([][]float64{p1, p2}, [][]float64{n1, n2}, group, []float64{1, -1})
		if d.Lo <= want && want <= d.Hi {
			coverD++
		}
		width += (d.Hi - d.Lo) / 2
		a := AllPairsCombo([][]float64{p1}, [][]float64{n1}, group, []float64{1})
		if a.Lo <= truth(s1) && truth(s1) <= a.Hi {
			coverA++
		}
	}
	t.Logf("coverage: difference %d/%d, accuracy %d/%d; mean half-width %.4f", coverD, reps, coverA, reps, width/reps)
	for _, c := range []struct {
		name  string
		cover int
	}{{"difference", coverD}, {"accuracy", coverA}} {
		if r := float64(c.cover) / reps; r < 0.92 || r > 0.98 {
			t.Errorf("%s: coverage %.3f over %d studies, want 0.92-0.98", c.name, r, reps)
		}
	}
	// The point of all pairs: narrower than the same rows' disjoint pairs.
	// A paired accuracy difference on 240 disjoint pairs here has a
	// half-width near 1.96·√(d/240) with d ≈ 0.2 discordant: ≈ 0.057.
	if w := width / reps; w > 0.045 {
		t.Errorf("mean half-width %.3f: not narrower than disjoint pairs (≈ 0.057)", w)
	}
}

func TestAllPairsSmallGroup(t *testing.T) {
	iv := AllPairsCombo([][]float64{{1, 2, 3}}, [][]float64{{0, 0, 5}}, []string{"a", "a", "b"}, []float64{1})
	if iv.Valid() {
		t.Errorf("a group of one row gave interval %v", iv)
	}
	// a: positives 1, 2 vs negatives 0, 0 → 4 of 4; b: 3 vs 5 → 0 of 1.
	if math.Abs(iv.Est-0.8) > 1e-12 {
		t.Errorf("estimate %v, want 4/5", iv.Est)
	}
	if got := AllPairsCombo(nil, nil, nil, nil); !math.IsNaN(got.Est) {
		t.Errorf("no data: %v", got)
	}
}

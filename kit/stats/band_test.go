package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestPairedDiffBandCoverage checks by simulation that the band covers a
// whole curve about 95% of the time, where pointwise percentile intervals
// at 6 points do not (about 0.95⁶ ≈ 74% for independent points), and that
// on a single point it agrees with the percentile interval.
func TestPairedDiffBandCoverage(t *testing.T) {
	const reps, n, K, B = 200, 100, 6, 400
	rng := rand.New(rand.NewPCG(3, 4))
	var band, pointwise int
	for r := range reps {
		a, b := make([][]float64, K), make([][]float64, K)
		for k := range K {
			a[k], b[k] = make([]float64, n), make([]float64, n)
			for i := range n {
				// True difference 0 at every point; independent points
				// are the hardest case for simultaneity.
				a[k][i], b[k][i] = rng.NormFloat64(), rng.NormFloat64()
			}
		}
		ivs := PairedDiffBand(a, b, B, uint64(r))
		ok := true
		for _, iv := range ivs {
			ok = ok && iv.Lo < 0 && iv.Hi > 0
		}
		if ok {
			band++
		}
		ok = true
		for k := range K {
			iv := PairedDiff(a[k], b[k], B, uint64(r))
			ok = ok && iv.Lo < 0 && iv.Hi > 0
		}
		if ok {
			pointwise++
		}
	}
	t.Logf("whole-curve coverage: band %.1f%%, pointwise %.1f%%", 100*float64(band)/reps, 100*float64(pointwise)/reps)
	// Monte-Carlo SE of a 95% rate over 200 reps is 1.5 points.
	if c := float64(band) / reps; c < 0.90 || c > 0.99 {
		t.Errorf("band covers the whole curve %.1f%% of the time, want ≈ 95%%", 100*c)
	}
	if c := float64(pointwise) / reps; c > 0.88 {
		t.Errorf("pointwise intervals cover the whole curve %.1f%% of the time; the test expects ≈ 74%% (else it cannot tell the band from them)", 100*c)
	}

	t.Run("one point ≈ normal interval", func(t *testing.T) {
		a, b := make([]float64, 400), make([]float64, 400)
		for i := range a {
			a[i], b[i] = rng.NormFloat64()+0.2, rng.NormFloat64()
		}
		iv := PairedDiffBand([][]float64{a}, [][]float64{b}, 2000, 1)[0]
		d := make([]float64, len(a))
		for i := range d {
			d[i] = a[i] - b[i]
		}
		m, s := MeanStd(d)
		h := Z95 * s / math.Sqrt(float64(len(d)))
		// The bootstrap SE and the 95% quantile of |t| carry a few %
		// Monte-Carlo error with 2000 resamples.
		if math.Abs(iv.Est-m) > 1e-12 || math.Abs((iv.Hi-iv.Lo)/2-h) > 0.06*h {
			t.Errorf("band %v, want %.4f ± %.4f", iv, m, h)
		}
	})
	t.Run("constant point", func(t *testing.T) {
		z := []float64{1, 1, 1}
		ivs := PairedDiffBand([][]float64{z, {3, 1, 2}}, [][]float64{z, {0, 0, 0}}, 100, 1)
		if ivs[0].Lo != 0 || ivs[0].Hi != 0 || !(ivs[1].Lo < 2 && ivs[1].Hi > 2) {
			t.Errorf("got %v", ivs)
		}
	})
}

func TestDecideEvery(t *testing.T) {
	iv := func(lo, hi float64) Interval { return Interval{Est: (lo + hi) / 2, Lo: lo, Hi: hi, N: 10} }
	above := Hypothesis{Dir: Above, Bound: 0}
	for _, c := range []struct {
		name string
		ivs  []Interval
		want Verdict
	}{
		{"all above", []Interval{iv(0.1, 1), iv(0.2, 2)}, Holds},
		{"one straddles", []Interval{iv(0.1, 1), iv(-0.1, 2)}, Inconclusive},
		{"one below", []Interval{iv(0.1, 1), iv(-2, -0.1)}, Fails},
		{"none", nil, Inconclusive},
		{"no interval at one", []Interval{iv(0.1, 1), {Est: 1, Lo: math.NaN(), Hi: math.NaN()}}, Inconclusive},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := DecideEvery(above, c.ivs); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

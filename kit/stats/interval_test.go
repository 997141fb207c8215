package stats

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// pairedSample draws n pairs of correctness for two models: a alone right
// with probability pa, b alone right with pb, both right with 0.6, the
// rest both wrong. The true accuracy difference is pa − pb.
func pairedSample(rng *rand.Rand, n int, pa, pb float64) (a, b []float64) {
	a, b = make([]float64, n), make([]float64, n)
	for i := range a {
		u := rng.Float64()
		switch {
		case u < pa:
			a[i] = 1
		case u < pa+pb:
			b[i] = 1
		case u < pa+pb+0.6:
			a[i], b[i] = 1, 1
		}
	}
	return a, b
}

// The paired bootstrap covers the true difference about 95% of the time,
// and its half-width matches the analytic z·√((disc − δ²)/n) that
// docs/power.md uses. 400 simulated studies of 300 pairs, 1000 resamples
// each (~1 s). Coverage tolerance: ±3 binomial standard errors
// (√(0.95·0.05/400) ≈ 1.1 points) plus ~1 point for the percentile
// bootstrap's known slight under-coverage at moderate n.
func TestPairedDiffCoverage(t *testing.T) {
	const reps, n, pa, pb = 400, 300, 0.10, 0.06
	rng := rand.New(rand.NewPCG(7, 7))
	covered := 0
	var width float64
	for r := range reps {
		a, b := pairedSample(rng, n, pa, pb)
		iv := PairedDiff(a, b, 1000, uint64(r))
		if iv.Lo <= pa-pb && pa-pb <= iv.Hi {
			covered++
		}
		width += (iv.Hi - iv.Lo) / 2
	}
	cov := float64(covered) / reps
	if cov < 0.91 || cov > 0.985 {
		t.Errorf("coverage %.3f, want 0.95 ± 0.04", cov)
	}
	want := PairedHalfWidth(pa+pb, pa-pb, n)
	if got := width / reps; math.Abs(got-want) > 0.05*want {
		t.Errorf("mean half-width %.4f, analytic %.4f (want within 5%%)", got, want)
	}
}

func TestBootstrapDeterministicAndExactEstimate(t *testing.T) {
	a := []float64{1, 1, 0, 0.5, 1, 0, 1, 1}
	b := []float64{0, 1, 0, 1, 1, 1, 0, 1}
	x := PairedDiff(a, b, Resamples, BootstrapSeed)
	y := PairedDiff(a, b, Resamples, BootstrapSeed)
	if x != y {
		t.Fatalf("same seed, different intervals: %v vs %v", x, y)
	}
	if want := (5.5 - 5.0) / 8; math.Abs(x.Est-want) > 1e-15 {
		t.Errorf("estimate %v, want the accuracy difference %v", x.Est, want)
	}
	if !(x.Lo < x.Est && x.Est < x.Hi) || x.Lo < -1 || x.Hi > 1 {
		t.Errorf("interval %v does not bracket the estimate inside [−1, 1]", x)
	}
	// The seed matters (on data with many distinct values, where two
	// seeds cannot land on the same order statistics by chance).
	rng := rand.New(rand.NewPCG(1, 2))
	u := make([]float64, 500)
	for i := range u {
		u[i] = rng.Float64()
	}
	if BootstrapMean(u, 200, 1) == BootstrapMean(u, 200, 2) {
		t.Error("a different seed gave the identical interval")
	}
	// All differences equal: the interval collapses to the point.
	c := BootstrapMean([]float64{0.25, 0.25, 0.25}, 100, 1)
	if c.Lo != 0.25 || c.Hi != 0.25 {
		t.Errorf("constant data: %v", c)
	}
}

func TestNoData(t *testing.T) {
	for name, iv := range map[string]Interval{
		"bootstrap empty": BootstrapMean(nil, 10, 1),
		"bootstrap one":   BootstrapMean([]float64{1}, 10, 1),
		"t one seed":      TInterval([]float64{0.3}),
		"welch one seed":  WelchDiff([]float64{1}, []float64{1, 2}),
		"accuracy empty":  AccuracyInterval(nil),
	} {
		t.Run(name, func(t *testing.T) {
			if iv.Valid() {
				t.Errorf("%v: want no interval", iv)
			}
			if Decide(Hypothesis{Above, 0}, iv) != Inconclusive {
				t.Error("no interval must be inconclusive")
			}
		})
	}
}

// Wilson reference: p = 0.5, n = 100 → [0.40383, 0.59617] (Wilson 1927;
// the formula by hand: centre 0.5, half 1.96·√(0.0025+0.000096)/1.0384).
func TestAccuracyInterval(t *testing.T) {
	c := make([]float64, 100)
	for i := range 50 {
		c[i] = 1
	}
	iv := AccuracyInterval(c)
	if math.Abs(iv.Lo-0.40383) > 1e-4 || math.Abs(iv.Hi-0.59617) > 1e-4 || iv.N != 100 {
		t.Errorf("got %v, want [0.40383, 0.59617] over 100", iv)
	}
}

// Student-t references from printed tables: t(0.975, 1) = 12.7062,
// t(0.975, 2) = 4.3027, t(0.975, 4) = 2.7764.
func TestTIntervals(t *testing.T) {
	iv := TInterval([]float64{1, 3}) // mean 2, s = √2, se = 1
	if math.Abs(iv.Lo-(2-12.7062)) > 1e-3 || math.Abs(iv.Hi-(2+12.7062)) > 1e-3 {
		t.Errorf("df 1: %v", iv)
	}
	iv = TInterval([]float64{0, 1, 2, 3, 4}) // mean 2, s = √2.5, se = √0.5
	if h := 2.7764 * math.Sqrt(0.5); math.Abs(iv.Hi-2-h) > 1e-3 {
		t.Errorf("df 4: %v, want half-width %.4f", iv, h)
	}
	// Welch with equal sizes and spreads: df = 2(n−1) = 2, se = √2.
	w := WelchDiff([]float64{0, 2}, []float64{10, 12})
	if h := 4.3027 * math.Sqrt(2); math.Abs(w.Est+10) > 1e-12 || math.Abs(w.Hi-w.Est-h) > 1e-3 {
		t.Errorf("Welch: %v, want −10 ± %.4f", w, h)
	}
	// Coverage of the t interval over 3 normal seeds: 4000 simulations,
	// tolerance ±3 standard errors (≈ ±1 point).
	rng := rand.New(rand.NewPCG(3, 3))
	cov := 0
	for range 4000 {
		x := []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		if iv := TInterval(x); iv.Lo <= 0 && 0 <= iv.Hi {
			cov++
		}
	}
	if c := float64(cov) / 4000; math.Abs(c-0.95) > 0.011 {
		t.Errorf("t coverage %.3f, want 0.95", c)
	}
}

func TestWinTieLoss(t *testing.T) {
	a := []float64{1, 0, 0.5, 0.2, 0, 0}
	b := []float64{0, 0, 0.1, 0.3, 0, 1}
	w, ti, l := WinTieLoss(a, b)
	if w.Est != 2.0/6 || ti.Est != 2.0/6 || l.Est != 2.0/6 {
		t.Errorf("win %v tie %v loss %v, want 2/6 each", w.Est, ti.Est, l.Est)
	}
	if !(w.Lo < w.Est && w.Est < w.Hi) {
		t.Errorf("win interval %v", w)
	}
}

func TestDecide(t *testing.T) {
	iv := func(lo, hi float64) Interval { return Interval{Est: (lo + hi) / 2, Lo: lo, Hi: hi, N: 10} }
	for _, c := range []struct {
		name string
		h    Hypothesis
		iv   Interval
		want Verdict
	}{
		{"superiority clear", Hypothesis{Above, 0}, iv(0.1, 0.5), Holds},
		{"superiority crosses 0", Hypothesis{Above, 0}, iv(-0.1, 0.5), Inconclusive},
		{"superiority below", Hypothesis{Above, 0}, iv(-0.5, -0.1), Fails},
		{"non-inferiority holds", Hypothesis{Above, -1}, iv(-0.8, 0.4), Holds},
		{"non-inferiority crosses margin", Hypothesis{Above, -1}, iv(-1.2, 0.4), Inconclusive},
		{"non-inferiority fails", Hypothesis{Above, -1}, iv(-3, -1.5), Fails},
		{"below holds", Hypothesis{Below, 0}, iv(-2, -0.1), Holds},
		{"below fails", Hypothesis{Below, 0}, iv(0.2, 1), Fails},
		{"below unsure", Hypothesis{Below, 0}, iv(-0.2, 1), Inconclusive},
		{"equivalent", Hypothesis{Within, 1}, iv(-0.7, 0.9), Holds},
		{"not equivalent, too high", Hypothesis{Within, 1}, iv(1.1, 2), Fails},
		{"not equivalent, too low", Hypothesis{Within, 1}, iv(-3, -1.2), Fails},
		{"equivalence unsure", Hypothesis{Within, 1}, iv(-0.5, 1.5), Inconclusive},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Decide(c.h, c.iv); got != c.want {
				t.Errorf("Decide(%s, [%v, %v]) = %v, want %v", c.h.Format("%+.1f"), c.iv.Lo, c.iv.Hi, got, c.want)
			}
		})
	}
	if Holds.String() != "holds" || Fails.String() != "fails" || Inconclusive.String() != "inconclusive" {
		t.Error("verdict words")
	}
}

func TestPower(t *testing.T) {
	// 15% discordant pairs, ±1 point: ⌈1.96²·0.15/0.0001⌉ = 5763.
	if n := PairsFor(0.15, 0, 0.01); n != 5763 {
		t.Errorf("PairsFor(0.15, 0, 0.01) = %d, want 5763", n)
	}
	if h := PairedHalfWidth(0.15, 0, 5763); h > 0.01 || h < 0.00999 {
		t.Errorf("half-width at 5763 pairs: %v", h)
	}
	// BoN gold sd 0.3 per prompt, ±0.03: ⌈(1.96·10)²⌉ = 385.
	if n := UnitsFor(0.3, 0.03); n != 385 {
		t.Errorf("UnitsFor(0.3, 0.03) = %d, want 385", n)
	}
}

func TestHypothesisFormat(t *testing.T) {
	for _, c := range []struct {
		h    Hypothesis
		want string
	}{
		{Hypothesis{Above, -1}, "d > -1.0"},
		{Hypothesis{Above, 0}, "d > 0"},
		{Hypothesis{Below, 0}, "d < 0"},
		{Hypothesis{Within, 1}, "-1.0 < d < +1.0"},
	} {
		if got := c.h.Format("%+.1f"); got != c.want {
			t.Errorf("Format = %q, want %q", got, c.want)
		}
	}
}

func TestCorrectStrings(t *testing.T) {
	c := PairCorrect([]float64{1, 0, 2, 3}, []float64{0, 0, 5, 1})
	s := EncodeCorrect(c)
	if s != "1=01" {
		t.Fatalf("encode: %q", s)
	}
	v, err := DecodeCorrect(s)
	if err != nil || len(v) != 4 || v[0] != 1 || v[1] != 0.5 || v[2] != 0 || v[3] != 1 {
		t.Fatalf("decode: %v %v", v, err)
	}
	if acc, _ := PairAccuracy([]float64{1, 0, 2, 3}, []float64{0, 0, 5, 1}); acc != 2.5/4 {
		t.Fatalf("PairAccuracy %v disagrees with the correctness mean 0.625", acc)
	}
	if _, err := DecodeCorrect("11x"); err == nil || !strings.Contains(err.Error(), "pair 2") {
		t.Errorf("bad character: %v", err)
	}
}

// Two models that agree on every one of 32 pairs must not get a zero-width
// interval: the adjusted interval keeps about ±5.8 points.
func TestPairedDiffNoDiscordantPairsIsNotCertain(t *testing.T) {
	a := make([]float64, 32)
	for i := range a {
		a[i] = 1
	}
	iv := PairedAccuracyDiff(a, a, Resamples, BootstrapSeed)
	if iv.Est != 0 || iv.Lo > -0.05 || iv.Hi < 0.05 {
		t.Fatalf("interval %+v: want about ±0.058 around 0", iv)
	}
	// PairedDiff (gold values, not correctness): no widening, the
	// bootstrap's interval stands.
	g := []float64{0.3, 0.3, 0.3}
	if iv := PairedDiff(g, g, Resamples, BootstrapSeed); iv.Lo != 0 || iv.Hi != 0 {
		t.Fatalf("gold values widened: %+v", iv)
	}
}

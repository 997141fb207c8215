package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.17g, want %.17g (tol %g)", name, got, want, tol)
	}
}

func TestSigmoidStable(t *testing.T) {
	near(t, "Sigmoid(0)", Sigmoid(0), 0.5, 0)
	near(t, "Sigmoid(-1000)", Sigmoid(-1000), 0, 0)
	near(t, "Sigmoid(1000)", Sigmoid(1000), 1, 0)
	near(t, "LogSigmoid(0)", LogSigmoid(0), -math.Ln2, 1e-16)
	near(t, "LogSigmoid(-1000)", LogSigmoid(-1000), -1000, 0)
	near(t, "LogSigmoid(1000)", LogSigmoid(1000), 0, 0)
	// Where the naive formulas are accurate they must agree.
	for _, x := range []float64{-20, -3.5, -0.1, 0.7, 4, 15} {
		near(t, "Sigmoid", Sigmoid(x), 1/(1+math.Exp(-x)), 1e-15)
		near(t, "LogSigmoid", LogSigmoid(x), math.Log(1/(1+math.Exp(-x))), 1e-14)
		// d/dx log σ(x) = σ(−x), checked by central differences.
		h := 1e-5
		fd := (LogSigmoid(x+h) - LogSigmoid(x-h)) / (2 * h)
		near(t, "dLogSigmoid", fd, Sigmoid(-x), 1e-9)
	}
	// Deep tail: log σ(−40) ≈ −40 − e^−40, where 1/(1+e^40) loses nothing
	// but log(σ) via Sigmoid must still be finite and exact.
	near(t, "LogSigmoid(-40)", LogSigmoid(-40), -40-math.Exp(-40), 1e-14)
}

func TestMeanStdStdErr(t *testing.T) {
	x := []float64{2, 4, 4, 4, 5, 5, 7, 9}
	m, s := MeanStd(x)
	near(t, "mean", m, 5, 0)
	near(t, "std", s, math.Sqrt(32.0/7), 1e-15) // Σ(x−5)² = 32, n−1 = 7
	near(t, "stderr", StdErr(x), math.Sqrt(32.0/7)/math.Sqrt(8), 1e-15)
	m, s = MeanStd([]float64{3})
	if m != 3 || s != 0 || StdErr([]float64{3}) != 0 {
		t.Errorf("single value: mean %v std %v", m, s)
	}
	if m, s := MeanStd(nil); !math.IsNaN(m) || !math.IsNaN(s) {
		t.Errorf("empty: %v %v, want NaN", m, s)
	}
	// Two-pass accuracy: a large offset must not destroy the variance.
	m, s = MeanStd([]float64{1e9 + 1, 1e9 + 2, 1e9 + 3})
	near(t, "offset mean", m, 1e9+2, 0)
	near(t, "offset std", s, 1, 1e-12)
}

func TestQuantile(t *testing.T) {
	x := []float64{4, 1, 3, 2} // unsorted on purpose
	// NumPy: np.quantile([1,2,3,4], [0, .25, .5, .9, 1]) = 1, 1.75, 2.5, 3.7, 4
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.25, 1.75}, {0.5, 2.5}, {0.9, 3.7}, {1, 4}} {
		near(t, "Quantile", Quantile(x, c.q), c.want, 1e-15)
	}
	if x[0] != 4 || x[1] != 1 {
		t.Errorf("Quantile modified its input: %v", x)
	}
	near(t, "one value", Quantile([]float64{7}, 0.3), 7, 0)
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Error("empty: want NaN")
	}
	defer func() {
		if recover() == nil {
			t.Error("q = 1.5 did not panic")
		}
	}()
	Quantile(x, 1.5)
}

func TestPairAccuracy(t *testing.T) {
	c := []float64{1, 2, 3, 4}
	r := []float64{0, 2, 5, 1} // win, tie, loss, win
	acc, tie := PairAccuracy(c, r)
	near(t, "acc", acc, 2.5/4, 0)
	near(t, "tie", tie, 0.25, 0)
	// With eps = 2.5 the loss (3 vs 5) also becomes a tie, the 4 vs 1 win stays.
	acc, tie = PairAccuracyEps(c, r, 2.5)
	near(t, "acc eps", acc, (1+3*0.5)/4, 0)
	near(t, "tie eps", tie, 0.75, 0)
	if a, _ := PairAccuracy(nil, nil); !math.IsNaN(a) {
		t.Error("empty: want NaN")
	}
}

func TestECE(t *testing.T) {
	l3 := math.Log(3) // σ(log 3) = 0.75
	// One confident pair: predictions 0.75→1 (bin 7) and 0.25→0 (bin 2),
	// each off by 0.25, each half the mass.
	near(t, "one pair", ECE([]float64{l3}, []float64{0}, 10), 0.25, 1e-15)
	// A coin-flip pair is perfectly calibrated.
	near(t, "tie pair", ECE([]float64{1}, []float64{1}, 10), 0, 0)
	// Calibrated at 0.75: three pairs say 0.75 and the chosen won; one says
	// 0.25 (model prefers rejected). Bin 7 holds 0.75×3 (outcome 1) and
	// 0.75×1 (outcome 0): accuracy 3/4 = confidence.
	near(t, "calibrated", ECE([]float64{l3, l3, l3, 0}, []float64{0, 0, 0, l3}, 10), 0, 1e-15)
	// Overconfident: p = σ(5) for all, chosen always wins → ECE = 1 − σ(5).
	near(t, "overconfident", ECE([]float64{5, 5}, []float64{0, 0}, 15), 1-Sigmoid(5), 1e-15)
	// Hand value with two bins: predictions 0.75,0.75,0.25(→1) | 0.25,0.25,0.75(→0).
	// Bin [0.5,1]: preds .75(1) .75(1) .75(0): acc 2/3, conf .75 → |.0833|·3/6.
	// Bin [0,.5): mirrored, same. ECE = 1/12.
	near(t, "two bins", ECE([]float64{l3, l3, 0}, []float64{0, 0, l3}, 2), 1.0/12, 1e-15)
}

func TestWinRate(t *testing.T) {
	// 50 wins, 100 losses... build 40 wins, 20 ties, 40 losses: rate 0.5.
	var a, b []float64
	for i := range 100 {
		switch {
		case i < 40:
			a, b = append(a, 1), append(b, 0)
		case i < 60:
			a, b = append(a, 0.5), append(b, 0.5)
		default:
			a, b = append(a, 0), append(b, 1)
		}
	}
	rate, lo, hi := WinRate(a, b)
	near(t, "rate", rate, 0.5, 0)
	// Wilson 95% for p = .5, n = 100 (hand): centre .5,
	// half = 1.959964·√(.0025 + z²/40000)/(1 + z²/100) = 0.0961.
	z := 1.959963984540054
	half := z * math.Sqrt(0.0025+z*z/40000) / (1 + z*z/100)
	near(t, "lo", lo, 0.5-half, 1e-15)
	near(t, "hi", hi, 0.5+half, 1e-15)
	near(t, "lo 4dp", lo, 0.40383, 1e-5)
	// All wins: rate 1, upper bound clipped to 1, lower = n/(n+z²).
	rate, lo, hi = WinRate([]float64{1, 1, 1, 1, 1}, []float64{0, 0, 0, 0, 0})
	near(t, "all rate", rate, 1, 0)
	near(t, "all hi", hi, 1, 0)
	near(t, "all lo", lo, 5/(5+z*z), 1e-15)
}

// bruteBoN enumerates every n-subset of the M samples, picks the maximum
// proxy (uniform random tie-break, i.e. the mean over the tied maxima)
// and averages.
func bruteBoN(proxy, gold []float64, n int) (g, p float64) {
	m := len(proxy)
	var count float64
	for mask := 0; mask < 1<<m; mask++ {
		if popcount(mask) != n {
			continue
		}
		best := math.Inf(-1)
		for i := range m {
			if mask&(1<<i) != 0 && proxy[i] > best {
				best = proxy[i]
			}
		}
		var sg float64
		var k int
		for i := range m {
			if mask&(1<<i) != 0 && proxy[i] == best {
				sg += gold[i]
				k++
			}
		}
		g += sg / float64(k)
		p += best
		count++
	}
	return g / count, p / count
}

func popcount(x int) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

func TestBoNBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := map[string][2][]float64{
		"distinct": {{0.3, -1.2, 2.5, 0.9, 1.7, -0.4}, {1, 2, 3, 4, 5, 6}},
		"ties":     {{1, 2, 2, 0, 2, 1}, {0.5, -1, 3, 2, 0.25, 4}},
		"all tied": {{7, 7, 7, 7, 7, 7}, {1, 2, 3, 4, 5, 6}},
	}
	for range 20 { // random cases with heavy ties (scores on a coarse grid)
		p, g := make([]float64, 6), make([]float64, 6)
		for i := range p {
			p[i] = float64(rng.IntN(4))
			g[i] = rng.NormFloat64()
		}
		cases["random"+string(rune('a'+len(cases)))] = [2][]float64{p, g}
	}
	for name, c := range cases {
		for n := 1; n <= 6; n++ {
			wantG, wantP := bruteBoN(c[0], c[1], n)
			near(t, name+" gold", BoNExpected(c[0], c[1], n), wantG, 1e-13)
			near(t, name+" proxy", BoNExpected(c[0], c[0], n), wantP, 1e-13)
		}
	}
}

func TestBoNLimitsAndStability(t *testing.T) {
	proxy := []float64{3, 1, 2}
	gold := []float64{10, 20, 30}
	near(t, "n=1 is the mean", BoNExpected(proxy, gold, 1), 20, 1e-14)
	near(t, "n=M is argmax", BoNExpected(proxy, gold, 3), 10, 1e-14)
	// Large M: binomials like C(4000, 2000) overflow float64; log space must not.
	const m = 4000
	p, g := make([]float64, m), make([]float64, m)
	for i := range p {
		p[i] = float64(i)
		g[i] = float64(i)
	}
	for _, n := range []int{1, 2, 100, 2000, m} {
		w := BoNWeights(p, n)
		var sum float64
		for _, v := range w {
			sum += v
		}
		near(t, "weights sum", sum, 1, 1e-9)
		// With proxy = gold = rank i, E[max of n-subset of {0..M−1}] = n(M+1)/(n+1) − 1.
		near(t, "expected max rank", BoNExpected(p, g, n), float64(n)*(m+1)/float64(n+1)-1, 1e-6*m)
	}
}

func TestKLBoN(t *testing.T) {
	near(t, "n=1", KLBoN(1), 0, 0)
	near(t, "n=2", KLBoN(2), math.Ln2-0.5, 1e-16)
	near(t, "n=16", KLBoN(16), math.Log(16)-15.0/16, 1e-15)
}

func TestExactKL(t *testing.T) {
	p := []float64{0.5, 0.5, 0}
	q := []float64{0.25, 0.5, 0.25}
	near(t, "KL", ExactCategoricalKL(p, q), 0.5*math.Log(2), 1e-16)
	near(t, "KL self", ExactCategoricalKL(q, q), 0, 0)
	if kl := ExactCategoricalKL(q, p); !math.IsInf(kl, 1) {
		t.Errorf("KL with q=0 where p>0 = %v, want +Inf", kl)
	}
	// LogitsKL equals the KL of the softmaxes, and survives huge logits.
	a := []float64{1, -2, 0.5, 3}
	b := []float64{0, 0, 1, -1}
	near(t, "LogitsKL", LogitsKL(a, b), ExactCategoricalKL(softmax(a), softmax(b)), 1e-15)
	big := []float64{1001, 998, 1000.5, 1003}
	near(t, "LogitsKL shift-invariant", LogitsKL(big, b), LogitsKL(a, b), 1e-12)
}

func softmax(x []float64) []float64 {
	z := logSumExp(x)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Exp(v - z)
	}
	return out
}

func TestKLEstimatorsUnbiased(t *testing.T) {
	// Sequences of 3 tokens, each token i.i.d. from categorical π; the
	// reference is π_ref. The true sequence KL is 3·KL(π‖π_ref).
	pi := []float64{0.5, 0.3, 0.15, 0.05}
	ref := []float64{0.25, 0.25, 0.25, 0.25}
	want := 3 * ExactCategoricalKL(pi, ref)
	rng := rand.New(rand.NewPCG(7, 11))
	const n = 100000
	lp, lr := make([]float64, n), make([]float64, n)
	for i := range n {
		for range 3 {
			u, k := rng.Float64(), 0
			for u > pi[k] && k < len(pi)-1 {
				u -= pi[k]
				k++
			}
			lp[i] += math.Log(pi[k])
			lr[i] += math.Log(ref[k])
		}
	}
	for _, est := range []KLEstimator{K1, K3} {
		s := KLSamples(est, lp, lr)
		got := KLEstimateWith(est, lp, lr)
		se := StdErr(s)
		if math.Abs(got-want) > 4*se {
			t.Errorf("%v: estimate %.5f, exact %.5f, 4·stderr %.5f", est, got, want, 4*se)
		}
		if est == K3 {
			for _, v := range s {
				if v < 0 {
					t.Fatalf("k3 sample %v < 0", v)
				}
			}
		}
	}
	near(t, "KLEstimate is k1", KLEstimate(lp, lr), KLEstimateWith(K1, lp, lr), 0)
	// Hand value: k3 at log π − log π_ref = log 2 (r = 1/2) is (1/2 − 1) + log 2.
	near(t, "k3 hand", KLSamples(K3, []float64{math.Log(0.5)}, []float64{math.Log(0.25)})[0], -0.5+math.Ln2, 1e-16)
}

func TestMismatchPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"PairAccuracy": func() { PairAccuracy([]float64{1}, nil) },
		"BoNExpected":  func() { BoNExpected([]float64{1, 2}, []float64{1}, 1) },
		"BoN n>M":      func() { BoNWeights([]float64{1, 2}, 3) },
		"BoN n=0":      func() { BoNWeights([]float64{1, 2}, 0) },
		"KLEstimate":   func() { KLEstimate([]float64{1}, []float64{1, 2}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func tinyConfig() Config {
	return Config{VocabSize: 23, NPositions: 16, NEmbd: 8, NLayer: 2, NHead: 2, LayerNormEps: 1e-5,
		ResidPdrop: 0.1, EmbdPdrop: 0.1, AttnPdrop: 0.1, BOSTokenID: 22, EOSTokenID: 22, PadTokenID: 22,
		Architecture: ArchRewardModel}
}

// tinyModel has weights scaled up from HF's 0.02 so that every
// nonlinearity is exercised (tanh, softmax far from uniform).
func tinyModel(t testing.TB, seed uint64) *Model {
	m := New(tinyConfig(), seed)
	r := rand.New(rand.NewPCG(seed, 7))
	for _, p := range m.Params {
		for i := range p.W {
			p.W[i] += float32(r.NormFloat64() * 0.3)
		}
	}
	return m
}

// Padded batch: chosen/rejected pairs of different lengths.
var gradSeqs = [][]int{
	{1, 5, 9, 2, 7, 7, 3},
	{1, 5, 9, 4},
	{3, 14, 0, 21, 8, 8, 2, 6, 11, 19, 20},
	{3, 14, 0, 12},
}

// btLoss is the Bradley-Terry loss -mean log σ(r_chosen - r_rejected) over
// pairs (even index chosen, odd rejected) and its gradient in the rewards.
func btLoss(r []float32) (float64, []float32) {
	np := len(r) / 2
	var loss float64
	d := make([]float32, len(r))
	for i := 0; i < np; i++ {
		z := float64(r[2*i]) - float64(r[2*i+1])
		loss += math.Log1p(math.Exp(-z)) / float64(np) // -log σ(z)
		s := 1 / (1 + math.Exp(z))                     // σ(-z)
		d[2*i] = float32(-s / float64(np))
		d[2*i+1] = float32(s / float64(np))
	}
	return loss, d
}

// objective = BT loss + Σ w·logprob, evaluated in float64 over float32
// outputs.
func objective(m *Model, mode Mode, w [][]float32) float64 {
	p := m.Forward(gradSeqs, mode)
	loss, _ := btLoss(p.Rewards())
	for b, lp := range p.TokenLogProbs() {
		for t, v := range lp {
			loss += float64(w[b][t]) * float64(v)
		}
	}
	return loss
}

func lpWeights(seed uint64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 3))
	w := make([][]float32, len(gradSeqs))
	for b, s := range gradSeqs {
		w[b] = make([]float32, len(s)-1)
		for t := range w[b] {
			w[b][t] = float32(r.NormFloat64() * 0.3)
		}
	}
	return w
}

// TestGradCheck compares the analytic gradient of the full BT + log-prob
// objective with central finite differences for entries of every parameter
// tensor (so every layer's backward is on the path), with and without
// dropout (masks depend only on the seed, so the objective is smooth).
// Float32 forward with h = 1e-2 leaves about 1e-4 of rounding and O(h²)
// truncation noise: the tolerance is 2% relative plus 2e-4 absolute.
func TestGradCheck(t *testing.T) {
	for _, blk := range []int{32, 3} {
		old := attnBlock
		attnBlock = blk
		t.Run(fmt.Sprintf("block%d", blk), gradCheck)
		attnBlock = old
	}
}

func gradCheck(t *testing.T) {
	for _, mode := range []Mode{{}, {Train: true, Seed: 42}, {Temperature: 0.7}} {
		m := tinyModel(t, 1)
		w := lpWeights(2)
		m.ZeroGrad()
		p := m.Forward(gradSeqs, mode)
		_, dR := btLoss(p.Rewards())
		p.Backward(dR, w)
		r := rand.New(rand.NewPCG(9, 9))
		const h = 1e-2
		checked, worst := 0, 0.0
		for _, prm := range m.Params {
			idx := []int{argmaxAbs(prm.G)}
			for k := 0; k < 4; k++ {
				idx = append(idx, r.IntN(len(prm.W)))
			}
			for _, i := range idx {
				old := prm.W[i]
				prm.W[i] = old + h
				fp := objective(m, mode, w)
				prm.W[i] = old - h
				fm := objective(m, mode, w)
				prm.W[i] = old
				fd := (fp - fm) / (2 * h)
				an := float64(prm.G[i])
				err := math.Abs(fd - an)
				if err > 0.02*math.Max(math.Abs(fd), math.Abs(an))+2e-4 {
					t.Errorf("train=%v %s[%d]: analytic %.6g, finite difference %.6g", mode.Train, prm.Name, i, an, fd)
				}
				worst = math.Max(worst, err/(math.Abs(fd)+1e-3))
				checked++
			}
		}
		t.Logf("train=%v: %d entries checked, worst relative error %.2g", mode.Train, checked, worst)
	}
}

func argmaxAbs(x []float32) int {
	best := 0
	for i, v := range x {
		if math.Abs(float64(v)) > math.Abs(float64(x[best])) {
			best = i
		}
	}
	return best
}

// At a temperature T, TokenLogProbs are log-softmax(logits/T) of the raw
// logits (Pass.Logits), computed here in float64; T = 1 and T = 0 (unset)
// are the plain log-probabilities.
func TestTokenLogProbsTemperature(t *testing.T) {
	m := tinyModel(t, 3)
	for _, T := range []float32{0, 1, 0.9, 1.7} {
		p := m.Forward(gradSeqs, Mode{Temperature: T})
		lp := p.TokenLogProbs()
		inv := 1.0
		if T > 0 {
			inv = 1 / float64(T)
		}
		for b, s := range gradSeqs {
			for tt := 0; tt+1 < len(s); tt++ {
				l := p.Logits(b, tt)
				mx := math.Inf(-1)
				for _, v := range l {
					mx = math.Max(mx, float64(v)*inv)
				}
				var z float64
				for _, v := range l {
					z += math.Exp(float64(v)*inv - mx)
				}
				want := float64(l[s[tt+1]])*inv - mx - math.Log(z)
				if d := math.Abs(float64(lp[b][tt]) - want); d > 1e-4 {
					t.Fatalf("T=%g seq %d token %d: %g, want %g", T, b, tt, lp[b][tt], want)
				}
			}
		}
	}
}

// TestLayerNormGELUGrad checks the two pointwise kernels on their own, in
// float32 with h = 1e-2 (tolerance 1% relative + 1e-4).
func TestLayerNormGELUGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, c = 3, 7
	x := make([]float32, n*c)
	w := make([]float32, c)
	b := make([]float32, c)
	dout := make([]float32, n*c)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 2)
		dout[i] = float32(r.NormFloat64())
	}
	for i := range w {
		w[i] = float32(1 + r.NormFloat64()*0.5)
		b[i] = float32(r.NormFloat64())
	}
	f := func() float64 {
		out := make([]float32, n*c)
		mean, rstd := make([]float32, n), make([]float32, n)
		layerNormForward(out, mean, rstd, x, w, b, n, c, 1e-5)
		g := make([]float32, n*c)
		geluForward(g, nil, out)
		var s float64
		for i := range g {
			s += float64(g[i]) * float64(dout[i])
		}
		return s
	}
	out := make([]float32, n*c)
	mean, rstd := make([]float32, n), make([]float32, n)
	layerNormForward(out, mean, rstd, x, w, b, n, c, 1e-5)
	dg, gg := make([]float32, n*c), make([]float32, n*c)
	geluForward(make([]float32, n*c), gg, out)
	geluBackward(dg, gg, dout)
	dx, dw, db := make([]float32, n*c), make([]float32, c), make([]float32, c)
	layerNormBackward(dx, dw, db, dg, x, w, mean, rstd, n, c, make([]float32, lnPartialSize(n, c)))
	check := func(name string, v []float32, g []float32) {
		for i := range v {
			old := v[i]
			v[i] = old + 1e-2
			fp := f()
			v[i] = old - 1e-2
			fm := f()
			v[i] = old
			fd := (fp - fm) / 2e-2
			if math.Abs(fd-float64(g[i])) > 0.01*math.Abs(fd)+1e-4 {
				t.Errorf("%s[%d]: analytic %.6g, finite difference %.6g", name, i, g[i], fd)
			}
		}
	}
	check("x", x, dx)
	check("w", w, dw)
	check("b", b, db)
}

// TestPackedEqualsSingle: a sequence's rewards and log-probs do not depend
// on the other sequences in the batch (the right-padding/mask guarantee).
func TestPackedEqualsSingle(t *testing.T) {
	m := tinyModel(t, 3)
	batch := m.Forward(gradSeqs, Mode{})
	rb := append([]float32(nil), batch.Rewards()...)
	lb := batch.TokenLogProbs()
	for b, s := range gradSeqs {
		one := m.Forward([][]int{s}, Mode{})
		if d := math.Abs(float64(one.Rewards()[0] - rb[b])); d > 1e-5 {
			t.Errorf("seq %d: reward alone %g, in batch %g", b, one.Rewards()[0], rb[b])
		}
		for i, v := range one.TokenLogProbs()[0] {
			if d := math.Abs(float64(v - lb[b][i])); d > 1e-5 {
				t.Errorf("seq %d token %d: logprob alone %g, in batch %g", b, i, v, lb[b][i])
			}
		}
	}
}

// TestDropout: eval ignores dropout; train with one seed is reproducible,
// another seed differs; the keep rate matches 1-p.
func TestDropout(t *testing.T) {
	m := tinyModel(t, 4)
	ev := append([]float32(nil), m.Forward(gradSeqs, Mode{Seed: 5}).Rewards()...)
	ev2 := m.Forward(gradSeqs, Mode{Seed: 6}).Rewards()
	a := append([]float32(nil), m.Forward(gradSeqs, Mode{Train: true, Seed: 5}).Rewards()...)
	b := m.Forward(gradSeqs, Mode{Train: true, Seed: 5}).Rewards()
	for i := range ev {
		if ev[i] != ev2[i] {
			t.Fatalf("eval depends on seed")
		}
		if a[i] != b[i] {
			t.Fatalf("train with a fixed seed is not reproducible")
		}
	}
	if a[0] == ev[0] && a[1] == ev[1] {
		t.Errorf("dropout had no effect in train mode")
	}
	mask := make([]float32, 200*100)
	fillDropout(mask, 200, 100, 0.1, 1, 2)
	zeros := 0
	for _, v := range mask {
		if v == 0 {
			zeros++
		} else if math.Abs(float64(v)-1/0.9) > 1e-6 {
			t.Fatalf("keep scale %g, want %g", v, 1/0.9)
		}
	}
	if f := float64(zeros) / float64(len(mask)); math.Abs(f-0.1) > 0.01 {
		t.Errorf("dropped fraction %.4f, want 0.1", f)
	}
}

// TestExpTanh bounds the float32 exp and tanh against math (relative
// 3e-7 for exp, absolute 3e-7 for tanh).
func TestExpTanh(t *testing.T) {
	for x := -87.0; x < 88; x += 0.0137 {
		want := math.Exp(x)
		got := float64(exp32(float32(x)))
		// compare with exp of the float32-rounded input
		want = math.Exp(float64(float32(x)))
		if math.Abs(got-want) > 3e-7*want {
			t.Fatalf("exp32(%g) = %g, want %g", x, got, want)
		}
	}
	for x := -12.0; x < 12; x += 0.00091 {
		want := math.Tanh(float64(float32(x)))
		if got := float64(tanh32(float32(x))); math.Abs(got-want) > 3e-7*math.Max(math.Abs(want), 0.1) {
			t.Fatalf("tanh32(%g) = %g, want %g", x, got, want)
		}
	}
}

// TestGELU compares geluForward (vector path under GOEXPERIMENT=simd) and
// its saved derivative with float64 math, to 1e-6 relative + 2e-7·max(1,|x|)
// (float32 1+tanh cancels for negative x, in torch too).
func TestGELU(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	x := make([]float32, 1003)
	for i := range x {
		x[i] = float32(r.NormFloat64() * 4)
	}
	out, grad := make([]float32, len(x)), make([]float32, len(x))
	geluForward(out, grad, x)
	for i, v := range x {
		xv := float64(v)
		th := math.Tanh(geluS * (xv + 0.044715*xv*xv*xv))
		want := 0.5 * xv * (1 + th)
		dwant := 0.5*(1+th) + 0.5*xv*(1-th*th)*geluS*(1+3*0.044715*xv*xv)
		tol := 2e-7 * math.Max(1, math.Abs(xv)) // tanh32 is within ~4 ulp of 1 near saturation
		if math.Abs(float64(out[i])-want) > 1e-6*math.Abs(want)+tol {
			t.Errorf("gelu(%g) = %g, want %g", v, out[i], want)
		}
		// The derivative's 1-t² cancels in float32 (as in torch's autograd
		// of tanh) and is then multiplied by ~x³: tolerance 1e-7·(1+|x|³).
		if math.Abs(float64(grad[i])-dwant) > 1e-6*math.Abs(dwant)+1e-7*(1+math.Abs(xv*xv*xv)) {
			t.Errorf("gelu'(%g) = %g, want %g", v, grad[i], dwant)
		}
	}
}

// TestExpSum: the vector path (GOEXPERIMENT=simd) and the scalar one agree
// with math.Exp to 3e-7 relative, for every tail length.
func TestExpSum(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for n := 1; n <= 40; n++ {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 10)
		}
		orig := append([]float32(nil), x...)
		sum := expSum(x, 3)
		var want float64
		for i, v := range orig {
			e := math.Exp(float64(v - 3)) // the float32 difference is the input
			want += e
			if math.Abs(float64(x[i])-e) > 3e-7*e+1e-37 {
				t.Fatalf("n=%d: exp(%g-3) = %g, want %g", n, v, x[i], e)
			}
		}
		if math.Abs(float64(sum)-want) > 1e-6*want {
			t.Fatalf("n=%d: sum %g, want %g", n, sum, want)
		}
	}
}

// TestSoftmaxRow: causal softmax rows of every length sum to 1, match
// float64, and zero the masked columns.
func TestSoftmaxRow(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	const T = 50
	for i := 0; i < T; i++ {
		row := make([]float32, T)
		for j := range row {
			row[j] = float32(r.NormFloat64() * 5)
		}
		orig := append([]float32(nil), row...)
		softmaxCausalRow(row, i)
		mx := math.Inf(-1)
		for _, v := range orig[:i+1] {
			mx = math.Max(mx, float64(v))
		}
		var z float64
		for _, v := range orig[:i+1] {
			z += math.Exp(float64(v) - mx)
		}
		for j := range row {
			want := 0.0
			if j <= i {
				want = math.Exp(float64(orig[j])-mx) / z
			}
			if math.Abs(float64(row[j])-want) > 1e-6*want+1e-9 {
				t.Fatalf("row %d col %d: %g, want %g", i, j, row[j], want)
			}
		}
	}
}

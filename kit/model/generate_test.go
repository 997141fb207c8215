package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
)

// TestGenerateGreedyMatchesForward: greedy decoding with the KV cache picks,
// at every step, the argmax of a full (uncached) forward's logits.
func TestGenerateGreedyMatchesForward(t *testing.T) {
	for _, mb := range []int{8192, 5} { // 5: prefill in several chunks
		old := maxBatchTokens
		maxBatchTokens = mb
		greedyMatchesForward(t)
		maxBatchTokens = old
	}
}

// TestGenerateGreedyMatchesForwardWide is the same check at the shapes of
// the decode kernels' vector paths: head dimension 32 (the value mix in
// registers) and more than 64 cached positions (the scores in chunks).
func TestGenerateGreedyMatchesForwardWide(t *testing.T) {
	c := tinyConfig()
	c.NEmbd, c.NHead, c.NInner, c.NPositions = 64, 2, 128, 96
	m := New(c, 23)
	r := rand.New(rand.NewPCG(23, 7))
	for _, p := range m.Params {
		for i := range p.W {
			p.W[i] += float32(r.NormFloat64() * 0.3)
		}
	}
	long := make([]int, 62)
	for i := range long {
		long[i] = (i*7 + 3) % c.VocabSize
	}
	generateMatchesForward(t, m, [][]int{long, {4, 9}, long[:30]}, 8)
}

func greedyMatchesForward(t *testing.T) {
	generateMatchesForward(t, tinyModel(t, 21), [][]int{{1, 2, 3}, {4}, {5, 6, 7, 8, 9, 10}}, 6)
}

func generateMatchesForward(t *testing.T, m *Model, prompts [][]int, n int) {
	t.Helper()
	out := m.Generate(prompts, SampleOptions{MaxNewTokens: n, StopToken: -1})
	for b, pr := range prompts {
		if len(out[b]) != n {
			t.Fatalf("row %d: %d new tokens, want %d", b, len(out[b]), n)
		}
		seq := append([]int(nil), pr...)
		for _, tok := range out[b] {
			lg := m.Forward([][]int{seq}, Mode{}).Logits(0, len(seq)-1)
			best := 0
			for j, v := range lg {
				if v > lg[best] {
					best = j
				}
			}
			if tok != best {
				t.Fatalf("row %d after %v: generated %d, full forward argmax %d", b, seq, tok, best)
			}
			seq = append(seq, tok)
		}
	}
}

// TestGenerateSeeded: same seed, same tokens (also with other rows in the
// batch); a different seed gives different tokens; stop token and the
// context limit end rows.
func TestGenerateSeeded(t *testing.T) {
	m := tinyModel(t, 22)
	opt := SampleOptions{MaxNewTokens: 8, Temperature: 1, TopK: 10, TopP: 0.9, Seed: 5, StopToken: -1}
	a := m.Generate([][]int{{1, 2}, {3}}, opt)
	b := m.Generate([][]int{{1, 2}, {3}}, opt)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different tokens: %v vs %v", a, b)
	}
	opt.Seed = 6
	c := m.Generate([][]int{{1, 2}, {3}}, opt)
	if reflect.DeepEqual(a, c) {
		t.Errorf("seed had no effect: %v", a)
	}
	// Stop token: greedy row's first token used as the stop token ends it
	// after one token (the stop token is kept).
	g := m.Generate([][]int{{1, 2}}, SampleOptions{MaxNewTokens: 5, StopToken: -1})
	s := m.Generate([][]int{{1, 2}}, SampleOptions{MaxNewTokens: 5, StopToken: g[0][0]})
	if len(s[0]) != 1 || s[0][0] != g[0][0] {
		t.Errorf("stop token %d: got %v", g[0][0], s[0])
	}
	// Context limit: n_positions 16, prompt 14 → at most 2 new tokens.
	long := make([]int, 14)
	o := m.Generate([][]int{long}, SampleOptions{MaxNewTokens: 10, StopToken: -1})
	if len(o[0]) != 2 {
		t.Errorf("prompt 14 of 16 positions: %d new tokens, want 2", len(o[0]))
	}
}

// TestSampleFilters checks top-k and top-p on a known distribution.
func TestSampleFilters(t *testing.T) {
	logits := []float32{0, 1, 2, 3, 4} // probs ∝ e^i
	counts := make([]int, 5)
	r := newRNG(1, 2, 3)
	for i := 0; i < 20000; i++ {
		l := append([]float32(nil), logits...)
		counts[sampleToken(l, SampleOptions{Temperature: 1, TopK: 2}, &r)]++
	}
	if counts[0]+counts[1]+counts[2] != 0 {
		t.Errorf("top-k 2 sampled outside the top 2: %v", counts)
	}
	if f := float64(counts[4]) / 20000; math.Abs(f-math.E/(1+math.E)) > 0.015 {
		t.Errorf("top-k 2: P(4) = %.3f, want %.3f", f, math.E/(1+math.E))
	}
	// p(4) ≈ 0.636, p(3) ≈ 0.234: top-p 0.8 keeps {4, 3}; top-p 0.5 keeps {4}.
	clear(counts)
	for i := 0; i < 5000; i++ {
		l := append([]float32(nil), logits...)
		counts[sampleToken(l, SampleOptions{Temperature: 1, TopP: 0.8}, &r)]++
	}
	if counts[0]+counts[1]+counts[2] != 0 || counts[3] == 0 {
		t.Errorf("top-p 0.8: %v", counts)
	}
	l := append([]float32(nil), logits...)
	for i := 0; i < 100; i++ {
		copy(l, logits)
		if tok := sampleToken(l, SampleOptions{Temperature: 1, TopP: 0.5}, &r); tok != 4 {
			t.Fatalf("top-p 0.5 sampled %d", tok)
		}
	}
}

// TestTrainStepDeterministic: the same step twice (dropout on, fixed
// seed) gives bit-identical gradients.
func TestTrainStepDeterministic(t *testing.T) {
	grads := func() []float32 {
		m := tinyModel(t, 23)
		p := m.Forward(gradSeqs, Mode{Train: true, Seed: 99})
		_, dR := btLoss(p.Rewards())
		p.Backward(dR, lpWeights(1))
		return append([]float32(nil), m.Grads()...)
	}
	a, b := grads(), grads()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two identical training steps gave different gradients")
	}
	// And the same bits with 1 or 3 CPUs, on a batch big enough (160
	// tokens) for several row blocks.
	seqs := make([][]int, 10)
	for i := range seqs {
		seqs[i] = make([]int, 16)
		for j := range seqs[i] {
			seqs[i][j] = (i*7 + j*3) % 23
		}
	}
	withProcs := func(n int) []float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
		m := tinyModel(t, 23)
		p := m.Forward(seqs, Mode{Train: true, Seed: 7})
		r := p.Rewards()
		p.BackwardRewards(r) // any fixed head gradient
		return append([]float32(nil), m.Grads()...)
	}
	if !reflect.DeepEqual(withProcs(1), withProcs(3)) {
		t.Fatal("gradients depend on GOMAXPROCS")
	}
}

// TestInferencePath: Model.Rewards / TokenLogProbs (one shared set of block
// buffers) give exactly what a full Forward gives.
func TestInferencePath(t *testing.T) {
	inferencePath(t, tinyModel(t, 24), gradSeqs)
	// Head dimension 32, one-token sequences, and lengths past 64: the
	// last-row-only block (Model.Rewards) on other shapes.
	c := tinyConfig()
	c.NEmbd, c.NHead, c.NInner, c.NPositions = 64, 2, 128, 96
	m := New(c, 25)
	r := rand.New(rand.NewPCG(25, 7))
	for _, p := range m.Params {
		for i := range p.W {
			p.W[i] += float32(r.NormFloat64() * 0.3)
		}
	}
	seqs := [][]int{make([]int, 70), {3}, make([]int, 33), {5, 6}}
	for _, s := range seqs {
		for i := range s {
			s[i] = r.IntN(c.VocabSize)
		}
	}
	inferencePath(t, m, seqs)
}

func inferencePath(t *testing.T, m *Model, gradSeqs [][]int) {
	t.Helper()
	old := maxBatchTokens
	maxBatchTokens = 9 // several internal batches
	r, err := m.Rewards(gradSeqs)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := m.TokenLogProbs(gradSeqs)
	if err != nil {
		t.Fatal(err)
	}
	maxBatchTokens = old
	// Different batch compositions may round differently in gemm's edge
	// kernels: 1e-5 absolute.
	p := m.Forward(gradSeqs, Mode{})
	for b := range r {
		if math.Abs(float64(r[b]-p.Rewards()[b])) > 1e-5 {
			t.Errorf("reward %d: %g vs Forward %g", b, r[b], p.Rewards()[b])
		}
		for i, v := range lp[b] {
			if math.Abs(float64(v-p.TokenLogProbs()[b][i])) > 1e-5 {
				t.Errorf("logprob %d/%d: %g vs Forward %g", b, i, v, p.TokenLogProbs()[b][i])
			}
		}
	}
}

// TestHeadOnly: a HeadOnly backward gives the full backward's score.weight
// gradient and touches nothing else; rewards are features·score.
func TestHeadOnly(t *testing.T) {
	m := tinyModel(t, 25)
	dR := []float32{1, -2, 0.5, 3}
	m.ZeroGrad()
	m.Forward(gradSeqs, Mode{}).BackwardRewards(dR)
	full := append([]float32(nil), m.Param("score.weight").G...)
	m.ZeroGrad()
	p := m.Forward(gradSeqs, Mode{HeadOnly: true})
	p.BackwardRewards(dR)
	for _, prm := range m.Params {
		for i, g := range prm.G {
			if prm.Name == "score.weight" {
				if g != full[i] {
					t.Fatalf("score.weight grad %d: %g vs full %g", i, g, full[i])
				}
			} else if g != 0 {
				t.Fatalf("HeadOnly touched %s", prm.Name)
			}
		}
	}
	w := m.Param("score.weight").W
	for b, f := range p.Features() {
		var s float64
		for j := range f {
			s += float64(f[j]) * float64(w[j])
		}
		if math.Abs(s-float64(p.Rewards()[b])) > 1e-5 {
			t.Errorf("seq %d: features·score %g, reward %g", b, s, p.Rewards()[b])
		}
	}
}

func TestStalePassPanics(t *testing.T) {
	m := tinyModel(t, 26)
	p := m.Forward(gradSeqs, Mode{})
	r := p.Rewards()
	m.Rewards(gradSeqs[:1])
	if got := p.Rewards(); !reflect.DeepEqual(got, r) {
		t.Fatal("computed rewards changed")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("stale Pass did not panic")
		}
	}()
	p.BackwardRewards([]float32{1, 1, 1, 1})
}

// Rows that stop early leave the batch while others go on: the shrunken
// batch must be computed on its own rows only (this panicked once).
func TestGenerateRowsStopAtDifferentTimes(t *testing.T) {
	m := New(Config{VocabSize: 40, NPositions: 64, NEmbd: 16, NLayer: 2, NHead: 2, LayerNormEps: 1e-5,
		PadTokenID: -1, BOSTokenID: -1, EOSTokenID: -1, Architecture: ArchLM}, 3)
	prompts := make([][]int, 24)
	for i := range prompts {
		prompts[i] = []int{1 + i%37, 2}
	}
	out := m.Generate(prompts, SampleOptions{MaxNewTokens: 30, Temperature: 1, Seed: 9, StopToken: 0})
	early := 0
	for i, o := range out {
		stopped := len(o) > 0 && o[len(o)-1] == 0
		if !stopped && len(o) != 30 {
			t.Fatalf("row %d: %d tokens without the stop token", i, len(o))
		}
		if stopped && len(o) < 30 {
			early++
		}
	}
	if early == 0 || early == len(out) {
		t.Fatalf("%d of %d rows stopped early: the test needs a mix", early, len(out))
	}
}

// MeanFeatures at positions from..end is the mean of the last-token
// features of the prefixes ending there (the model is causal), and a from
// past the end keeps the last token.
func TestMeanFeaturesIsMeanOfPrefixes(t *testing.T) {
	m := tinyModel(t, 27)
	seqs := [][]int{{1, 5, 9, 3, 7}, {4, 2}, {8, 8, 1}}
	from := []int{2, 0, 9}
	got := m.Forward(seqs, Mode{}).MeanFeatures(from)
	C := m.Config.NEmbd
	for b, s := range seqs {
		lo := from[b]
		if lo >= len(s) {
			lo = len(s) - 1
		}
		want := make([]float64, C)
		for t := lo; t < len(s); t++ {
			f := m.Forward([][]int{s[:t+1]}, Mode{}).Features()[0]
			for j := range want {
				want[j] += float64(f[j]) / float64(len(s)-lo)
			}
		}
		for j := range want {
			if math.Abs(want[j]-float64(got[b][j])) > 1e-5 {
				t.Fatalf("seq %d dim %d: %g, mean of prefixes %g", b, j, got[b][j], want[j])
			}
		}
	}
}

// TestDrawChunked: the sampler's chunked draw follows the weights over
// several chunks (zeros never drawn, a lone weight always), and u close
// to 1 lands on the last positive weight.
func TestDrawChunked(t *testing.T) {
	w := make([]float32, 3*drawChunk+5)
	for i := range w {
		if i%3 != 0 {
			w[i] = float32(1 + i%7)
		}
	}
	var total float64
	for _, v := range w {
		total += float64(v)
	}
	counts := make([]int, len(w))
	r := newRNG(4, 5, 6)
	const n = 400000
	for range n {
		counts[drawChunked(w, r.float64())]++
	}
	for i, c := range counts {
		p := float64(w[i]) / total
		if w[i] == 0 && c != 0 {
			t.Fatalf("weight 0 at %d drawn %d times", i, c)
		}
		// 5 standard errors of a binomial proportion.
		if d := math.Abs(float64(c)/n - p); d > 5*math.Sqrt(p*(1-p)/n)+1e-9 {
			t.Errorf("index %d: frequency %.5f, want %.5f", i, float64(c)/n, p)
		}
	}
	last := len(w) - 1
	for w[last] == 0 {
		last--
	}
	if j := drawChunked(w, math.Nextafter(1, 0)); j != last {
		t.Errorf("u → 1 drew %d, want the last positive weight %d", j, last)
	}
	one := make([]float32, 200)
	one[150] = 3
	for _, u := range []float64{0, 0.5, math.Nextafter(1, 0)} {
		if j := drawChunked(one, u); j != 150 {
			t.Errorf("a lone weight at 150, u=%v: drew %d", u, j)
		}
	}
}

// TestDecodeKernels: the decode step's vector kernels give the scalar
// loops' bits (the same operations in the same order), across chunk and
// vector boundaries; skipped where there is no vector path.
func TestDecodeKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		return x
	}
	for _, T := range []int{1, 15, 16, 17, 64, 65, 130} {
		const hd = 32
		ld := T + 3
		q, k := fill(hd), fill(hd*ld)
		got := fill(T)
		if !scoresVec(got, q, k, ld) {
			t.Skip("no vector path in this build")
		}
		for tt := 0; tt < T; tt++ {
			var d float32
			for j := range q {
				d += q[j] * k[j*ld+tt]
			}
			if got[tt] != d {
				t.Fatalf("scores T=%d: s[%d] = %v, scalar %v", T, tt, got[tt], d)
			}
		}
		for _, hd := range []int{16, 32, 48, 64} {
			ld := hd + 8
			p, v := fill(T), fill(T*ld)
			y := fill(hd)
			if !mixVec(y, p, v, ld) {
				t.Fatalf("mixVec refused head dimension %d", hd)
			}
			for j := 0; j < hd; j++ {
				var want float32
				for tt := 0; tt < T; tt++ {
					want += p[tt] * v[tt*ld+j]
				}
				if y[j] != want {
					t.Fatalf("mix T=%d hd=%d: y[%d] = %v, scalar %v", T, hd, j, y[j], want)
				}
			}
		}
	}
}

// TestTokenLogProbsFrom: log-probs computed from per-sequence offsets
// equal the full computation there (0 below), and their backward gives
// the full backward's gradients when the gradient is 0 below the offsets;
// a gradient below an offset panics.
func TestTokenLogProbsFrom(t *testing.T) {
	m := tinyModel(t, 41)
	seqs := [][]int{{1, 2, 3, 4, 5, 6, 7}, {8, 9}, {10, 11, 12, 13, 14, 15, 16, 17, 18}}
	from := []int{3, 1, 0}
	mode := Mode{Temperature: 0.9}
	grads := func(part bool) ([][]float32, [][]float32) {
		m.ZeroGrad()
		p := m.Forward(seqs, mode)
		var lp [][]float32
		if part {
			lp = p.TokenLogProbsFrom(from)
		} else {
			lp = p.TokenLogProbs()
		}
		d := make([][]float32, len(lp))
		for b := range lp {
			d[b] = make([]float32, len(lp[b]))
			for i := from[b]; i < len(d[b]); i++ {
				d[b][i] = float32(i+1) * 0.1
			}
		}
		p.BackwardLogProbs(d)
		var g [][]float32
		for _, q := range m.Params {
			g = append(g, append([]float32(nil), q.G...))
		}
		return lp, g
	}
	lpAll, gAll := grads(false)
	lpPart, gPart := grads(true)
	near := func(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-5*(1+math.Abs(float64(b))) }
	for b := range lpAll {
		for i := range lpAll[b] {
			want := lpAll[b][i]
			if i < from[b] {
				want = 0
			}
			if !near(lpPart[b][i], want) {
				t.Fatalf("seq %d position %d: log-prob %v, want %v", b, i, lpPart[b][i], want)
			}
		}
	}
	for k := range gAll {
		for i := range gAll[k] {
			if !near(gPart[k][i], gAll[k][i]) {
				t.Fatalf("%s[%d]: gradient %v from the offsets, %v in full", m.Params[k].Name, i, gPart[k][i], gAll[k][i])
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("a gradient below an offset did not panic")
		}
	}()
	p := m.Forward(seqs, mode)
	lp := p.TokenLogProbsFrom(from)
	d := make([][]float32, len(lp))
	for b := range lp {
		d[b] = make([]float32, len(lp[b]))
	}
	d[0][1] = 1
	p.BackwardLogProbs(d)
}

// TestRewardOnlyMatchesFull: a Mode.RewardOnly pass (the last block for
// the last rows only) gives the full pass's rewards, features and
// gradients to rounding, in training (every dropout on, same masks) and
// eval, at head dims 4 and 32, with one-token and long sequences; the LM
// head's methods panic on it.
func TestRewardOnlyMatchesFull(t *testing.T) {
	wide := tinyConfig()
	wide.NEmbd, wide.NHead, wide.NInner, wide.NPositions = 64, 2, 128, 96
	for ci, c := range []Config{tinyConfig(), wide} {
		m := New(c, uint64(51+ci))
		r := rand.New(rand.NewPCG(51, uint64(ci)))
		for _, p := range m.Params {
			for i := range p.W {
				p.W[i] += float32(r.NormFloat64() * 0.3)
			}
		}
		seqs := [][]int{make([]int, min(70, c.NPositions)), {3}, make([]int, 9), {5, 6}}
		for _, s := range seqs {
			for i := range s {
				s[i] = r.IntN(c.VocabSize)
			}
		}
		run := func(mode Mode) (rw []float32, feat [][]float32, grads [][]float32) {
			m.ZeroGrad()
			p := m.Forward(seqs, mode)
			rw = append(rw, p.Rewards()...)
			for _, f := range p.Features() {
				feat = append(feat, append([]float32(nil), f...))
			}
			p.BackwardRewards([]float32{1, -0.5, 0.25, 2})
			for _, q := range m.Params {
				grads = append(grads, append([]float32(nil), q.G...))
			}
			return
		}
		near := func(what string, a, b float32) {
			t.Helper()
			if d := math.Abs(float64(a - b)); d > 1e-5*(1+math.Abs(float64(b))) {
				t.Fatalf("config %d %s: reward-only %v, full %v", ci, what, a, b)
			}
		}
		for _, mode := range []Mode{{}, {Train: true, Seed: 7}} {
			r1, f1, g1 := run(Mode{Train: mode.Train, Seed: mode.Seed, RewardOnly: true})
			r2, f2, g2 := run(mode)
			for i := range r1 {
				near("reward", r1[i], r2[i])
			}
			for b := range f1 {
				for j := range f1[b] {
					near("feature", f1[b][j], f2[b][j])
				}
			}
			for k := range g1 {
				for i := range g1[k] {
					near(fmt.Sprintf("train=%v gradient %s[%d]", mode.Train, m.Params[k].Name, i), g1[k][i], g2[k][i])
				}
			}
		}
	}
	m := tinyModel(t, 52)
	p := m.Forward([][]int{{1, 2, 3}}, Mode{RewardOnly: true})
	for name, f := range map[string]func(){
		"TokenLogProbs": func() { p.TokenLogProbs() },
		"MeanFeatures":  func() { p.MeanFeatures(nil) },
		"Logits":        func() { p.Logits(0, 1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s on a RewardOnly pass did not panic", name)
				}
			}()
			f()
		}()
	}
}

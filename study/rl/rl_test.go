package rl

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/model/modeltest"
	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/kit/tokenizer"
)

func tinyTok(t *testing.T) *tokenizer.Tokenizer { return modeltest.Tokenizer(t) }

func tinyModel(tok *tokenizer.Tokenizer, seed uint64) *model.Model {
	return modeltest.Policy(tok, 32, seed)
}

// hasE is a fixed per-token reward for one-token responses: 1 when the
// token's text starts with an even byte (about half the vocabulary).
type hasE struct{}

func (hasE) Responses(_, responses []string) ([]float64, error) {
	out := make([]float64, len(responses))
	for i, r := range responses {
		out[i] = evenFirst(r)
	}
	return out, nil
}

func evenFirst(s string) float64 {
	if len(s) > 0 && s[0]%2 == 0 {
		return 1
	}
	return 0
}

// nextDist is the policy's exact next-token distribution after ids.
func nextDist(m *model.Model, ids []int) []float64 {
	p := m.Forward([][]int{ids}, model.Mode{})
	lg := p.Logits(0, len(ids)-1)
	x := make([]float64, len(lg))
	mx := math.Inf(-1)
	for i, v := range lg {
		x[i] = float64(v)
		mx = math.Max(mx, x[i])
	}
	var s float64
	for i := range x {
		x[i] = math.Exp(x[i] - mx)
		s += x[i]
	}
	for i := range x {
		x[i] /= s
	}
	return x
}

// exactReward is E_{y~π(·|prompt)}[hasE(y)] for one-token responses.
func exactReward(m *model.Model, tok *tokenizer.Tokenizer, prompt string) float64 {
	p := nextDist(m, tok.Encode(prompt))
	var e float64
	for v, pv := range p {
		if v != tok.EOT() {
			e += pv * evenFirst(tok.Decode([]int{v}))
		}
	}
	return e
}

// RLOO on a bandit (one-token responses, a fixed reward per token) raises
// the exact expected reward, computed from the full next-token
// distribution, not from samples.
func TestRLOOBandit(t *testing.T) {
	tok := tinyTok(t)
	pol := tinyModel(tok, 1)
	prompts := []string{"the cat", "a dog", "the mat", "it ran"}
	before := 0.0
	for _, p := range prompts {
		before += exactReward(pol, tok, p) / float64(len(prompts))
	}
	cfg := Config{Steps: 40, Prompts: 4, K: 4, LR: 1e-2, ClipNorm: 1, KLCoef: 0, Temperature: 1, MaxNew: 1,
		Baseline: "rloo", Seed: 3}
	if _, err := Train(Run{Policy: pol, Tok: tok, Prompts: prompts, Proxy: hasE{}, Config: cfg, Out: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	after := 0.0
	for _, p := range prompts {
		after += exactReward(pol, tok, p) / float64(len(prompts))
	}
	t.Logf("expected reward %.3f -> %.3f", before, after)
	if after < before+0.3 {
		t.Errorf("RLOO did not raise the expected reward enough: %.3f -> %.3f", before, after)
	}
}

// The mean baseline also learns the bandit (and works with k = 1).
func TestMeanBaselineBandit(t *testing.T) {
	tok := tinyTok(t)
	pol := tinyModel(tok, 2)
	prompts := []string{"the cat", "a dog"}
	before := (exactReward(pol, tok, prompts[0]) + exactReward(pol, tok, prompts[1])) / 2
	cfg := Config{Steps: 40, Prompts: 2, K: 8, LR: 1e-2, ClipNorm: 1, Temperature: 1, MaxNew: 1,
		Baseline: "mean", BaselineDecay: 0.5, Seed: 4}
	if _, err := Train(Run{Policy: pol, Tok: tok, Prompts: prompts, Proxy: hasE{}, Config: cfg, Out: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	after := (exactReward(pol, tok, prompts[0]) + exactReward(pol, tok, prompts[1])) / 2
	if after < before+0.3 {
		t.Errorf("mean baseline: expected reward %.3f -> %.3f", before, after)
	}
}

func TestAdvantages(t *testing.T) {
	R := []float64{1, 2, 3, 10, 10, 16}
	var b float64
	var has bool
	a := Advantages(R, 3, "rloo", 0, &b, &has)
	want := []float64{1 - 2.5, 2 - 2, 3 - 1.5, 10 - 13, 10 - 13, 16 - 10}
	for i := range a {
		if math.Abs(a[i]-want[i]) > 1e-12 {
			t.Fatalf("rloo advantages %v, want %v", a, want)
		}
	}
	a = Advantages([]float64{1, 3}, 1, "mean", 0.5, &b, &has)
	if a[0] != -1 || a[1] != 1 || b != 2 {
		t.Fatalf("first mean-baseline step: %v, baseline %g", a, b)
	}
	a = Advantages([]float64{6, 6}, 1, "mean", 0.5, &b, &has)
	if a[0] != 4 || b != 4 {
		t.Fatalf("second mean-baseline step: %v, baseline %g (want 4, 4)", a, b)
	}
}

// The sequence KL estimate (SeqKL over sampled two-token responses, the
// code path Train uses) against the exact KL of the two policies' sequence
// distributions, enumerated token by token (with the stop token ending a
// sequence after one token). Tolerance: 4 standard errors of the
// Monte-Carlo mean.
func TestSeqKLMatchesExact(t *testing.T) {
	tok := tinyTok(t)
	pol, ref := tinyModel(tok, 5), tinyModel(tok, 6)
	// HF init is close to uniform over the vocabulary; sharpen both
	// models' (tied) embeddings so that they differ by a clear KL.
	for _, m := range []*model.Model{pol, ref} {
		for i := range m.Param("transformer.wte.weight").W {
			m.Param("transformer.wte.weight").W[i] *= 15
		}
	}
	prompt := tok.Encode("the good cat")
	eot := tok.EOT()
	// Exact: KL = Σ_y1 p(y1) [log p(y1)/q(y1) + (y1 ≠ eot) KL(p(·|y1) ‖ q(·|y1))].
	p1, q1 := nextDist(pol, prompt), nextDist(ref, prompt)
	exact := stats.ExactCategoricalKL(p1, q1)
	for y1 := range p1 {
		if y1 == eot {
			continue
		}
		ids := append(append([]int{}, prompt...), y1)
		exact += p1[y1] * stats.ExactCategoricalKL(nextDist(pol, ids), nextDist(ref, ids))
	}
	const n = 6000
	rows := make([][]int, n)
	for i := range rows {
		rows[i] = prompt
	}
	outs := generate(pol, rows, 2, 1, 11, eot)
	seqs := make([][]int, n)
	for i, o := range outs {
		seqs[i] = append(append([]int{}, prompt...), o...)
	}
	kl, _, lens := SeqKL(modeltest.LogProbs(t, pol, seqs), modeltest.LogProbs(t, ref, seqs), rows)
	for i, l := range lens {
		if l != len(outs[i]) {
			t.Fatalf("response length %d, want %d", l, len(outs[i]))
		}
	}
	mean, _ := stats.MeanStd(kl)
	se := stats.StdErr(kl)
	t.Logf("exact KL %.4f, estimate %.4f ± %.4f", exact, mean, se)
	if exact < 0.05 {
		t.Fatalf("test policies too close (KL %g): the check would be weak", exact)
	}
	if math.Abs(mean-exact) > 4*se {
		t.Errorf("KL estimate %.4f ± %.4f, exact %.4f", mean, se, exact)
	}
}

// A run killed after step 3 (checkpoints every 2 steps) and started again
// resumes from ckpt-2 and ends bit for bit where an uninterrupted run ends,
// with the same metrics and no duplicated lines. The EMA anchor is on, so
// its checkpointing is covered too.
func TestResume(t *testing.T) {
	tok := tinyTok(t)
	init := tinyModel(tok, 8)
	prompts := []string{"the cat", "a dog", "the mat"}
	cfg := Config{Steps: 4, Prompts: 2, K: 2, LR: 1e-2, ClipNorm: 1, KLCoef: 0.05, Temperature: 0.9, MaxNew: 4,
		Baseline: "rloo", EMAAnchor: 0.2, CkptEvery: 2, Seed: 5}
	judge := judgeFunc(func(_, r string) float64 { return float64(strings.Count(r, "good")) })
	full := init.Clone()
	dirA := t.TempDir()
	if _, err := Train(Run{Policy: full, Tok: tok, Prompts: prompts, Proxy: hasE{}, Gold: judge, Config: cfg, Out: dirA}); err != nil {
		t.Fatal(err)
	}
	dirB := t.TempDir()
	killed := init.Clone()
	_, err := Train(Run{Policy: killed, Tok: tok, Prompts: prompts, Proxy: hasE{}, Gold: judge, Config: cfg, Out: dirB, StopAfter: 3})
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("StopAfter: %v", err)
	}
	if d, s := LastCheckpoint(dirB); s != 2 {
		t.Fatalf("last checkpoint %q step %d, want step 2", d, s)
	}
	if steps, _ := ReadMetrics(filepath.Join(dirB, "metrics.jsonl")); len(steps) != 3 {
		t.Fatalf("killed run logged %d steps, want 3", len(steps))
	}
	resumed := init.Clone()
	sum, err := Train(Run{Policy: resumed, Tok: tok, Prompts: prompts, Proxy: hasE{}, Gold: judge, Config: cfg, Out: dirB})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Resumed != 2 || sum.Steps != 4 {
		t.Errorf("summary: resumed from %d, %d steps; want 2, 4", sum.Resumed, sum.Steps)
	}
	for i, w := range full.Weights() {
		if resumed.Weights()[i] != w {
			t.Fatalf("weight %d differs after resume: %g vs %g", i, resumed.Weights()[i], w)
		}
	}
	a, _ := ReadMetrics(filepath.Join(dirA, "metrics.jsonl"))
	b, _ := ReadMetrics(filepath.Join(dirB, "metrics.jsonl"))
	if len(a) != 4 || len(b) != 4 {
		t.Fatalf("metrics lines %d and %d, want 4", len(a), len(b))
	}
	for i := range a {
		a[i].Seconds, b[i].Seconds = 0, 0
		if a[i] != b[i] {
			t.Errorf("step %d metrics differ: %+v vs %+v", i+1, a[i], b[i])
		}
	}
	if a[3].KL == 0 {
		t.Errorf("KL stayed 0: the policy did not move")
	}
	// The final policy loads as an HF directory.
	if m, err := model.Load(filepath.Join(dirB, "final")); err != nil || m.Weights()[0] != resumed.Weights()[0] {
		t.Errorf("final policy: %v", err)
	}
	for _, f := range []string{"summary.json", "metrics.jsonl", "ckpt-4/anchor/model.safetensors", "ckpt-4/vocab.json"} {
		if _, err := os.Stat(filepath.Join(dirB, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	// Other settings in the same directory are refused.
	cfg2 := cfg
	cfg2.LR = 1
	if _, err := Train(Run{Policy: init.Clone(), Tok: tok, Prompts: prompts, Proxy: hasE{}, Config: cfg2, Out: dirB}); err == nil {
		t.Errorf("resume with other settings was accepted")
	}
}

type judgeFunc func(prompt, response string) float64

func (f judgeFunc) Score(p, r string) float64 { return f(p, r) }

// HeadToHead of a policy against itself with the same seeds is a perfect
// tie (rate ½); against a policy trained towards the judge it loses.
func TestHeadToHead(t *testing.T) {
	tok := tinyTok(t)
	a := tinyModel(tok, 9)
	prompts := []string{"the cat", "a dog", "the mat", "it ran", "the bad", "a happy"}
	judge := judgeFunc(func(_, r string) float64 { return float64(strings.Count(r, "e")) })
	opt := DuelOptions{MaxNew: 3, Temperature: 1, Seed: 1}
	d, err := HeadToHead(a, a.Clone(), tok, prompts, judge, opt)
	if err != nil {
		t.Fatal(err)
	}
	if d.Rate != 0.5 || d.Ties != len(prompts) || !(d.Lo < 0.5 && d.Hi > 0.5) {
		t.Errorf("self duel: %+v", d)
	}
	// Several samples per prompt: per-prompt golds are the samples' means,
	// and the mean gold is their mean.
	opt.Samples = 3
	d, err = HeadToHead(a, tinyModel(tok, 10), tok, prompts, judge, opt)
	if err != nil {
		t.Fatal(err)
	}
	if d.Samples != 3 || len(d.GoldA) != len(prompts) || len(d.GoldB) != len(prompts) {
		t.Fatalf("duel with 3 samples: %+v", d)
	}
	if ma, _ := stats.MeanStd(d.GoldA); math.Abs(ma-d.MeanGoldA) > 1e-12 {
		t.Errorf("mean gold A %g, per-prompt mean %g", d.MeanGoldA, ma)
	}
	for i, g := range d.GoldA {
		if k := g * 3; math.Abs(k-math.Round(k)) > 1e-9 {
			t.Errorf("prompt %d: gold %g is not a mean of 3 integer scores", i, g)
		}
	}
}

func TestPeak(t *testing.T) {
	var steps []Step
	for i, g := range []float64{5, 0, 0, 1, 2, 3, 2, 1} {
		steps = append(steps, Step{Step: i + 1, Gold: g, KL: float64(i)})
	}
	// Window 3 (w = 2 or 3), every point averaging 3 steps (shifted inward
	// at the ends): 5/3, 5/3, 1/3, 1, 2, 7/3, 2, 2. The lone 5 at step 1
	// does not win, and the peak is not shifted late.
	for _, w := range []int{2, 3} {
		if s, g, kl := Peak(steps, w); s != 6 || math.Abs(g-7.0/3) > 1e-12 || kl != 5 {
			t.Errorf("w=%d: Peak = step %d gold %g kl %g, want step 6, 7/3, 5", w, s, g, kl)
		}
	}
	if got := Smooth([]float64{1, 2, 3, 4}, 3); got[0] != 1.5 || got[1] != 2 || got[3] != 3.5 {
		t.Errorf("Smooth = %v", got)
	}
	if s, _, _ := Peak(steps[:2], 5); s != 1 {
		t.Errorf("short run: peak at step %d, want 1", s)
	}
	if e := EndGold(steps, 3); math.Abs(e-2) > 1e-12 {
		t.Errorf("EndGold = %g, want 2 (mean of the last 3 steps)", e)
	}
	// A run whose gold still rises peaks at its last step: the peak
	// search reaches the end (it used to stop w/2 steps before it).
	var rising []Step
	for i := range 12 {
		rising = append(rising, Step{Step: i + 1, Gold: float64(i)})
	}
	if s, g, _ := Peak(rising, SmoothWindow(len(rising))); s != 12 || g != EndGold(rising, SmoothWindow(len(rising))) {
		t.Errorf("rising run: peak at step %d (gold %g), want the last step 12 with the end's gold", s, g)
	}
	if got := SmoothFull([]float64{1, 2, 3, 4, 5}, 3); got[0] != 2 || got[2] != 3 || got[4] != 4 {
		t.Errorf("SmoothFull = %v", got)
	}
}

// SeqKLk3 is non-negative per sample and, over samples from π, unbiased
// for the sequence KL: two independent categorical tokens, exact KL from
// stats.ExactCategoricalKL, 100k samples, within 4 standard errors.
func TestSeqKLk3(t *testing.T) {
	p := [][]float64{{0.5, 0.3, 0.2}, {0.1, 0.6, 0.3}}
	q := [][]float64{{0.2, 0.3, 0.5}, {0.3, 0.3, 0.4}}
	exact := stats.ExactCategoricalKL(p[0], q[0]) + stats.ExactCategoricalKL(p[1], q[1])
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 100_000
	var lp, ref [][]float32
	prompts := make([][]int, n)
	for i := range n {
		// One prompt token (index 0 of the log-probs is the first
		// response token), then two sampled tokens.
		prompts[i] = []int{0}
		var a, r []float32
		for pos := range 2 {
			u, k := rng.Float64(), 0
			for c := p[pos][0]; u > c; c += p[pos][k] {
				k++
			}
			a = append(a, float32(math.Log(p[pos][k])))
			r = append(r, float32(math.Log(q[pos][k])))
		}
		lp, ref = append(lp, a), append(ref, r)
	}
	k3 := SeqKLk3(lp, ref, prompts)
	for i, v := range k3 {
		if v < 0 {
			t.Fatalf("sample %d: k3 = %g < 0", i, v)
		}
	}
	m, _ := stats.MeanStd(k3)
	if se := stats.StdErr(k3); math.Abs(m-exact) > 4*se {
		t.Errorf("mean k3 %g, exact KL %g (4 s.e. = %g)", m, exact, 4*se)
	}
}

type lenReward struct{ a, b float64 }

func (r lenReward) Responses(_, responses []string) ([]float64, error) {
	out := make([]float64, len(responses))
	for i, s := range responses {
		out[i] = r.a*float64(len(s)) + r.b
	}
	return out, nil
}

// The standardisation pool is fixed: an affine image of a reward gets the
// affine image of its statistics, so both standardise to the same values.
func TestPoolStats(t *testing.T) {
	tok := tinyTok(t)
	m := tinyModel(tok, 4)
	prompts := []string{"the cat", "a dog", "the mat"}
	m1, s1, err := PoolStats(m, tok, prompts, lenReward{1, 0}, 24, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	m2, s2, err := PoolStats(m, tok, prompts, lenReward{2, 3}, 24, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(m2-(2*m1+3)) > 1e-9 || math.Abs(s2-2*s1) > 1e-9 {
		t.Errorf("stats (%g, %g) and (%g, %g): not the same pool", m1, s1, m2, s2)
	}
	z1, _ := Standardized{lenReward{1, 0}, m1, s1}.Responses([]string{"x"}, []string{"abcd"})
	z2, _ := Standardized{lenReward{2, 3}, m2, s2}.Responses([]string{"x"}, []string{"abcd"})
	if math.Abs(z1[0]-z2[0]) > 1e-9 {
		t.Errorf("standardised %g vs %g", z1[0], z2[0])
	}
	if _, _, err := PoolStats(m, tok, prompts, lenReward{0, 1}, 8, 4, 1); err == nil || !strings.Contains(err.Error(), "constant") {
		t.Errorf("constant reward: %v", err)
	}
}

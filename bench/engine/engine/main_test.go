package main

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/optim"
)

// tiny is the reference shape scaled down so the workloads run in
// milliseconds: the tests check that each one does the work it claims,
// the timings themselves are for the program.
func tiny() Shape {
	sh := Reference()
	sh.Cfg.VocabSize, sh.Cfg.NPositions, sh.Cfg.NEmbd, sh.Cfg.NLayer, sh.Cfg.NHead, sh.Cfg.NInner = 64, 32, 16, 1, 2, 32
	sh.TrainPairs, sh.SeqLen, sh.InferBatch = 4, 12, 5
	sh.GenBatch, sh.GenPrompt, sh.GenNew = 3, 4, 7
	sh.GemmN = 33
	return sh
}

// The timed step must really train: on a fixed batch the BT loss falls
// from log 2 towards 0, and the gradient reaches the body (wte moves).
func TestTrainStepLearns(t *testing.T) {
	sh := tiny()
	sh.LR = 3e-3
	m := model.New(sh.Cfg, 1)
	groups, err := optim.Groups(m, optim.TrainAll, sh.WD)
	if err != nil {
		t.Fatal(err)
	}
	opt := optim.NewAdamW(groups...)
	seqs := randSeqs(rand.New(rand.NewPCG(1, 2)), 2*sh.TrainPairs, sh.SeqLen, sh.Cfg.VocabSize)
	wte0 := append([]float32(nil), m.Param("transformer.wte.weight").W...)
	first := btStep(m, opt, sh, seqs, 1)
	if math.Abs(first-math.Ln2) > 0.05 {
		t.Errorf("first loss %.4f, want ≈ log 2 = %.4f at init", first, math.Ln2)
	}
	var last float64
	for i := 0; i < 60; i++ {
		last = btStep(m, opt, sh, seqs, uint64(2+i))
	}
	if last > first/2 {
		t.Errorf("BT loss %.4f -> %.4f after 60 steps: not learning", first, last)
	}
	var moved float64
	for i, w := range m.Param("transformer.wte.weight").W {
		moved = math.Max(moved, math.Abs(float64(w-wte0[i])))
	}
	if moved == 0 {
		t.Error("wte did not change: the body got no update")
	}
}

func TestWorkloadsCountTheirWork(t *testing.T) {
	sh := tiny()
	if r := Train(sh, 1, 2, 0); r.Iters != 2 || r.Work != float64(2*2*sh.TrainPairs*sh.SeqLen) {
		t.Errorf("train: %d iterations, work %v; want 2 and %d tokens", r.Iters, r.Work, 2*2*sh.TrainPairs*sh.SeqLen)
	}
	if r := Infer(sh, 1, 3, 0); r.Iters != 3 || r.Work != float64(3*sh.InferBatch) {
		t.Errorf("infer: %d iterations, work %v; want 3 and %d sequences", r.Iters, r.Work, 3*sh.InferBatch)
	}
	// No stop token: every row gets exactly GenNew tokens.
	if r := Gen(sh, 0, 2, 0); r.Iters != 2 || r.Work != float64(2*sh.GenBatch*sh.GenNew) {
		t.Errorf("gen: %d iterations, work %v; want 2 and %d tokens", r.Iters, r.Work, 2*sh.GenBatch*sh.GenNew)
	}
	n := float64(sh.GemmN)
	if r := Gemm(sh, 0, 4, 0); r.Iters != 4 || math.Abs(r.Work-4*2*n*n*n/1e9) > 1e-12 {
		t.Errorf("gemm: %d iterations, work %v GFLOP; want 4 and %v", r.Iters, r.Work, 4*2*n*n*n/1e9)
	}
}

// The check directory loads back as the same model and its rewards are
// the model's own, so a peer agreeing with it agrees with the engine.
func TestWriteCheck(t *testing.T) {
	sh := tiny()
	dir := filepath.Join(t.TempDir(), "check")
	if err := WriteCheck(sh, dir); err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "check.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cc checkCase
	if err := json.Unmarshal(data, &cc); err != nil {
		t.Fatal(err)
	}
	got, err := m.Rewards(cc.Seqs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i] != cc.Rewards[i] {
			t.Errorf("seq %d (%d tokens): reloaded reward %v, written %v", i, len(cc.Seqs[i]), got[i], cc.Rewards[i])
		}
	}
	if len(cc.Greedy) != len(cc.Prompts) || len(cc.Prompts) == 0 {
		t.Fatalf("%d greedy continuations for %d prompts", len(cc.Greedy), len(cc.Prompts))
	}
	for i, g := range m.Generate(cc.Prompts, model.SampleOptions{MaxNewTokens: len(cc.Greedy[0]), StopToken: -1}) {
		if len(g) != 12 || !slices.Equal(g, cc.Greedy[i]) {
			t.Errorf("prompt %d: reloaded greedy %v, written %v (want 12 tokens)", i, g, cc.Greedy[i])
		}
	}
	if len(cc.Seqs) < 2 || len(cc.Seqs[0]) == len(cc.Seqs[2]) {
		t.Errorf("check batch should mix lengths: %d sequences", len(cc.Seqs))
	}
}

func TestPeakRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	if mb := PeakRSSMB(); mb < 1 || mb > 1<<20 {
		t.Errorf("VmHWM %v MiB: not read", mb)
	}
}

// CPURate needs a process CPU clock that advances with the work done. The
// loop runs until the clock has moved 50 ms (or 20 s of wall time pass), so
// a loaded machine only makes it slower, never flaky.
func TestCPUSeconds(t *testing.T) {
	c0, t0 := cpuSeconds(), time.Now()
	x := 1.0
	for cpuSeconds()-c0 < 0.05 && time.Since(t0) < 20*time.Second {
		for i := 0; i < 100000; i++ {
			x = math.Sqrt(x + 1)
		}
	}
	if d := cpuSeconds() - c0; d < 0.05 {
		t.Errorf("the process CPU clock moved %.3f s during %v of busy loop (x=%v)", d, time.Since(t0), x)
	}
}

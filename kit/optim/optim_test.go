package optim

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/warm-rm/warm/kit/model"
)

// TestAdamWMatchesTorch replays four clipped AdamW steps (two groups, one
// with weight decay, a changing learning rate) against
// torch.optim.AdamW + clip_grad_norm_ (testdata/gen_adamw.py); float32
// arithmetic on both sides, tolerance 1e-6 absolute.
func TestAdamWMatchesTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/adamw.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		W0, B0  []float32
		Grads   [][2][]float32
		LRs     []float64
		MaxNorm float64 `json:"max_norm"`
		Norms   []float64
		W, B    []float32
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.LRs) != 4 || len(fx.W) != 10 || len(fx.B) != 5 || len(fx.Grads) != 4 {
		t.Fatalf("fixture incomplete: %d steps, %d+%d weights", len(fx.LRs), len(fx.W), len(fx.B))
	}
	w := &model.Param{Name: "w", Shape: []int{2, 5}, W: append([]float32(nil), fx.W0...), G: make([]float32, 10)}
	b := &model.Param{Name: "b.bias", Shape: []int{5}, W: append([]float32(nil), fx.B0...), G: make([]float32, 5)}
	o := NewAdamW(Group{Params: []*model.Param{w}, WeightDecay: 0.1}, Group{Params: []*model.Param{b}})
	for i, lr := range fx.LRs {
		copy(w.G, fx.Grads[i][0])
		copy(b.G, fx.Grads[i][1])
		norm := ClipGradNorm(o.Params(), fx.MaxNorm)
		if math.Abs(norm-fx.Norms[i]) > 1e-5*fx.Norms[i] {
			t.Errorf("step %d: norm %g, torch %g", i, norm, fx.Norms[i])
		}
		o.Step(lr)
	}
	for i := range w.W {
		if math.Abs(float64(w.W[i]-fx.W[i])) > 1e-6 {
			t.Errorf("w[%d] = %.8g, torch %.8g", i, w.W[i], fx.W[i])
		}
	}
	for i := range b.W {
		if math.Abs(float64(b.W[i]-fx.B[i])) > 1e-6 {
			t.Errorf("b[%d] = %.8g, torch %.8g", i, b.W[i], fx.B[i])
		}
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{Peak: 1, Warmup: 10, Total: 110, Kind: "cosine"}
	cases := []struct {
		step int
		want float64
	}{{0, 0}, {5, 0.5}, {10, 1}, {60, 0.5}, {110, 0}, {200, 0}}
	for _, c := range cases {
		if got := s.LR(c.step); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("cosine LR(%d) = %g, want %g", c.step, got, c.want)
		}
	}
	s.Kind = "constant"
	if s.LR(5) != 0.5 || s.LR(100) != 1 {
		t.Errorf("constant: LR(5)=%g LR(100)=%g", s.LR(5), s.LR(100))
	}
	s.Kind = "linear"
	if got := s.LR(60); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("linear LR(60) = %g", got)
	}
	if (Schedule{Kind: "step"}).Validate() == nil {
		t.Error("unknown kind accepted")
	}
}

func TestGroups(t *testing.T) {
	cfg := model.Config{VocabSize: 10, NPositions: 8, NEmbd: 4, NLayer: 1, NHead: 2, LayerNormEps: 1e-5,
		Architecture: model.ArchRewardModel, PadTokenID: -1, BOSTokenID: -1, EOSTokenID: -1}
	m := model.New(cfg, 1)
	gs, err := Groups(m, TrainHead, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 1 || len(gs[0].Params) != 1 || gs[0].Params[0].Name != "score.weight" {
		t.Fatalf("head groups: %+v", gs)
	}
	gs, err = Groups(m, TrainAll, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range gs {
		for _, p := range g.Params {
			n++
			if NoDecay(p.Name) != (g.WeightDecay == 0) {
				t.Errorf("%s in group with decay %g", p.Name, g.WeightDecay)
			}
		}
	}
	if n != len(m.Params) {
		t.Errorf("all: %d params in groups, model has %d", n, len(m.Params))
	}
	if _, err := Groups(m, "body", 0); err == nil {
		t.Error("unknown selection accepted")
	}
}

// TestTrainingDeterministic: three Bradley-Terry steps (dropout on, fixed
// seeds, clipping, AdamW) run twice from the same init give bit-identical
// weights.
func TestTrainingDeterministic(t *testing.T) {
	cfg := model.Config{VocabSize: 50, NPositions: 16, NEmbd: 16, NLayer: 2, NHead: 2, LayerNormEps: 1e-5,
		ResidPdrop: 0.1, EmbdPdrop: 0.1, AttnPdrop: 0.1, Architecture: model.ArchRewardModel,
		PadTokenID: -1, BOSTokenID: -1, EOSTokenID: -1}
	seqs := [][]int{{1, 2, 3, 4}, {1, 2, 9}, {7, 8, 9, 10, 11, 12}, {7, 3}}
	run := func() []float32 {
		m := model.New(cfg, 3)
		gs, _ := Groups(m, TrainAll, 0.01)
		o := NewAdamW(gs...)
		s := Schedule{Peak: 1e-3, Warmup: 1, Total: 3, Kind: "cosine"}
		for step := 0; step < 3; step++ {
			m.ZeroGrad()
			p := m.Forward(seqs, model.Mode{Train: true, Seed: uint64(100 + step)})
			r := p.Rewards()
			dR := make([]float32, len(r))
			for i := 0; i < len(r); i += 2 {
				sg := float32(1/(1+math.Exp(float64(r[i]-r[i+1])))) / 2
				dR[i], dR[i+1] = -sg, sg
			}
			p.BackwardRewards(dR)
			ClipGradNorm(o.Params(), 1)
			o.Step(s.LR(step + 1))
		}
		return append([]float32(nil), m.Weights()...)
	}
	a, b := run(), run()
	init := model.New(cfg, 3).Weights()
	changed := false
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("weight %d: %g vs %g", i, a[i], b[i])
		}
		changed = changed || a[i] != init[i]
	}
	if !changed {
		t.Fatal("training did not change the weights")
	}
}

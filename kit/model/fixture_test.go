package model

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/warm-rm/warm/kit/safetensors"
)

// The fixture comes from an independent float64 PyTorch GPT-2 written from
// HF's modeling_gpt2 maths (testdata/gen_fixture.py), run on a right-padded
// batch with an attention mask. Tolerance: 1e-4 relative (per value for
// rewards, log-probs and losses; per tensor, relative to its largest
// entry, for logits and gradients).

type fixture struct {
	Seqs     [][]int
	Rewards  []float64
	BTLoss   float64 `json:"bt_loss"`
	LMLoss   float64 `json:"lm_loss"`
	Logprobs [][]float64
	Logits   []struct {
		Seq, Pos int
		Values   []float64
	}
}

func loadFixture(t *testing.T) (*Model, fixture) {
	t.Helper()
	m, err := Load("testdata/hf_rm")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx fixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if len(fx.Seqs) != 8 || len(fx.Rewards) != 8 || len(fx.Logits) == 0 {
		t.Fatalf("fixture incomplete")
	}
	return m, fx
}

func near(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Max(math.Abs(b), 1e-2) }

func TestFixtureForward(t *testing.T) {
	m, fx := loadFixture(t)
	p := m.Forward(fx.Seqs, Mode{})
	r := p.Rewards()
	for b := range r {
		if !near(float64(r[b]), fx.Rewards[b], 1e-4) {
			t.Errorf("reward %d: %.7g, torch %.7g", b, r[b], fx.Rewards[b])
		}
	}
	bt, _ := btLoss(r)
	if !near(bt, fx.BTLoss, 1e-4) {
		t.Errorf("BT loss %.7g, torch %.7g", bt, fx.BTLoss)
	}
	lp := p.TokenLogProbs()
	var nll float64
	ntok := 0
	for b := range lp {
		if len(lp[b]) != len(fx.Logprobs[b]) {
			t.Fatalf("seq %d: %d logprobs, torch %d", b, len(lp[b]), len(fx.Logprobs[b]))
		}
		for i := range lp[b] {
			if !near(float64(lp[b][i]), fx.Logprobs[b][i], 1e-4) {
				t.Errorf("logprob %d/%d: %.7g, torch %.7g", b, i, lp[b][i], fx.Logprobs[b][i])
			}
			nll -= float64(lp[b][i])
			ntok++
		}
	}
	if !near(nll/float64(ntok), fx.LMLoss, 1e-4) {
		t.Errorf("LM loss %.7g, torch %.7g", nll/float64(ntok), fx.LMLoss)
	}
	for _, row := range fx.Logits {
		got := p.Logits(row.Seq, row.Pos)
		var mx, worst float64
		for j, v := range row.Values {
			mx = math.Max(mx, math.Abs(v))
			worst = math.Max(worst, math.Abs(float64(got[j])-v))
		}
		if worst > 1e-4*mx {
			t.Errorf("logits seq %d pos %d: max error %.3g (max |logit| %.3g)", row.Seq, row.Pos, worst, mx)
		}
	}
}

func TestFixtureGradients(t *testing.T) {
	m, fx := loadFixture(t)
	ref, err := safetensors.OpenCheckpoint("testdata/grads.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	check := func(loss string) {
		for _, p := range m.Params {
			want, err := ref.Float32(loss + "/" + p.Name)
			if err != nil {
				t.Fatal(err)
			}
			var mx, worst float64
			for i, v := range want {
				mx = math.Max(mx, math.Abs(float64(v)))
				worst = math.Max(worst, math.Abs(float64(p.G[i]-v)))
			}
			if worst > 1e-4*mx || (mx == 0 && worst > 1e-9) {
				t.Errorf("%s gradient of %s: max error %.3g, max |grad| %.3g", loss, p.Name, worst, mx)
			}
		}
	}
	// Bradley-Terry on (chosen, rejected) pairs.
	m.ZeroGrad()
	p := m.Forward(fx.Seqs, Mode{})
	_, dR := btLoss(p.Rewards())
	p.BackwardRewards(dR)
	check("bt")
	// Mean next-token NLL over all real tokens.
	m.ZeroGrad()
	p = m.Forward(fx.Seqs, Mode{})
	ntok := 0
	for _, s := range fx.Seqs {
		ntok += len(s) - 1
	}
	dLP := make([][]float32, len(fx.Seqs))
	for b, s := range fx.Seqs {
		dLP[b] = make([]float32, len(s)-1)
		for i := range dLP[b] {
			dLP[b][i] = -1 / float32(ntok)
		}
	}
	p.BackwardLogProbs(dLP)
	check("lm")
}

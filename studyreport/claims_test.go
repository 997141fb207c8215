package studyreport

import (
	"testing"

	"github.com/warm-rm/warm/bon"
	"github.com/warm-rm/warm/report"
	"github.com/warm-rm/warm/rl"
	"github.com/warm-rm/warm/rmeval"
	"github.com/warm-rm/warm/rmtrain"
)

func verdict(t *testing.T, cs []report.Claim, name string) *bool {
	t.Helper()
	for _, c := range cs {
		if c.Name == name {
			return c.Holds
		}
	}
	t.Fatalf("no claim %q", name)
	return nil
}

func summary(mean float64, ens, wa float64) rmeval.Summary {
	return rmeval.Summary{MemberMean: mean, BestMember: mean, ENS: map[int]float64{3: ens}, WA: map[int]float64{3: wa}}
}

// The claims follow the numbers: each verdict flips when the numbers do.
func TestClaimsFollowTheNumbers(t *testing.T) {
	s := &study{
		eval: &rmeval.Result{Order: []string{"a", "b", "c"}, Summary: map[string]rmeval.Summary{
			rmeval.TrainCorrupted: summary(0.60, 0.58, 0.55), // WA memorises least
			rmeval.Val:            summary(0.70, 0.72, 0.73),
			rmeval.OOD:            summary(0.60, 0.64, 0.63), // ENS better OOD
		}},
		rm: &rmtrain.Summary{Members: make([]*rmtrain.MemberResult, 3)},
		bon: &bonResult{NMax: 8, Curves: []bon.Curve{
			{Reward: "warm3", Gold: []float64{0, 0.5}}, {Reward: "warm2", Gold: []float64{0, 0.4}},
			{Reward: "ens3", Gold: []float64{0, 0.3}}, {Reward: "single", Gold: []float64{0, 0.2}},
		}},
		rl: []*rlRun{
			{name: "single", sum: &rl.Summary{Steps: 100, PeakStep: 40, PeakGold: 0.5, Final: rl.Step{Gold: 0.3}}},
			{name: "ens3", sum: &rl.Summary{Steps: 100, PeakStep: 50, PeakGold: 0.55, Final: rl.Step{Gold: 0.5}}},
			{name: "warm3", sum: &rl.Summary{Steps: 100, PeakStep: 70, PeakGold: 0.6, Final: rl.Step{Gold: 0.6}}},
		},
		duels: []duel{{a: "warm3", b: "single", d: &rl.Duel{Rate: 0.7, Lo: 0.62, Hi: 0.77, Prompts: 256}}},
	}
	cs := s.claims()
	want := map[string]bool{
		"With 25% swapped labels, WA memorises corrupted labels less than ENS and than individual RMs": true,
		"WA ≥ ENS on ID validation": true,
		"WA ≥ ENS on OOD pairs":     false,
		"BoN: gold reward of the pick ranks WARM M=all > WARM M=2 > ENS > single RM as N grows": true,
		"RL with a single RM: gold rises then collapses as KL grows (hacking)":                  true,
		"WARM delays the collapse and reaches a higher gold peak than the single RM":            true,
		"ENS hacks earlier than WARM":                             true,
		"The WARM policy beats the single-RM policy head to head": true,
	}
	for name, w := range want {
		h := verdict(t, cs, name)
		if h == nil || *h != w {
			t.Errorf("%s: verdict %v, want %v", name, h, w)
		}
	}
	// Untested claims say so (nil), not false.
	if h := verdict(t, cs, "LMC: accuracy along (1−λ)φ₁ + λφ₂ stays at or above the straight line"); h != nil {
		t.Errorf("LMC claim without a ladder run: %v, want untested", *h)
	}
	// Flip the BoN order and the duel: the verdicts flip.
	s.bon.Curves[3].Gold[1] = 0.9
	s.duels[0].d.Lo = 0.45
	cs = s.claims()
	if h := verdict(t, cs, "BoN: gold reward of the pick ranks WARM M=all > WARM M=2 > ENS > single RM as N grows"); h == nil || *h {
		t.Error("BoN claim holds with single best")
	}
	if h := verdict(t, cs, "The WARM policy beats the single-RM policy head to head"); h == nil || *h {
		t.Error("win-rate claim holds with the CI reaching below 50%")
	}
}

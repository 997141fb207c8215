package preset

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestGetAndLabels(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			s, err := Get(name)
			if err != nil {
				t.Fatal(err)
			}
			if s.Labels != LabelsCorrupt || s.Corrupt != 0.25 || s.RLKLCoef != 0.01 {
				t.Errorf("default setting %q, corrupt %v, α %v; want corrupt, 0.25, 0.01", s.Labels, s.Corrupt, s.RLKLCoef)
			}
			c, err := s.WithLabels(LabelsClean)
			if err != nil {
				t.Fatal(err)
			}
			if c.Corrupt != 0 || c.RLKLCoef != 0.003 || c.Labels != LabelsClean || c.TrainPairs != s.TrainPairs {
				t.Errorf("clean: %+v", c)
			}
			back, _ := c.WithLabels(LabelsCorrupt)
			if back.Corrupt != s.SwapRate || back.RLKLCoef != 0.01 {
				t.Errorf("clean → corrupt: corrupt %v, α %v", back.Corrupt, back.RLKLCoef)
			}
			if _, err := s.WithLabels("noisy"); err == nil {
				t.Error("unknown label setting: no error")
			}
			// Every knob a stage reads or will read is set.
			if s.Members < 2 || s.RLSeeds < 1 || s.DuelPrompts < 1 || s.DuelSamples < 1 || s.LPEpochs < 1 || len(s.BaklavaAt) == 0 {
				t.Errorf("unset knob: %+v", s)
			}
		})
	}
	if _, err := Get("huge"); err == nil {
		t.Error("unknown preset: no error")
	}
}

// Get hands out copies: editing one preset's slices leaves the table alone.
func TestGetCopies(t *testing.T) {
	a, _ := Get("quick")
	a.RMDropout[0], a.RMLRFactors[0], a.BaklavaAt[0] = 9, 9, 9
	b, _ := Get("quick")
	if b.RMDropout[0] == 9 || b.RMLRFactors[0] == 9 || b.BaklavaAt[0] == 9 {
		t.Error("Get shares slices with the preset table")
	}
}

func TestLearningRates(t *testing.T) {
	for _, c := range []struct {
		name string
		want []float64
	}{
		{"quick", []float64{2e-4, 4e-4, 8e-4}},
		{"full", []float64{2e-4, 4e-4, 8e-4}},
		{"tiny", []float64{1.5e-4, 3e-4, 6e-4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, _ := Get(c.name)
			got := s.RMLearningRates()
			if len(got) != len(c.want) {
				t.Fatalf("lrs %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("lrs %v, want %v", got, c.want)
				}
				// Calibration (issue 16, docs/results/init.md): lrs under 5% of
				// the peak leave members near the init; at quick a member at 40%
				// still interpolates linearly with one at 20% (the LMC pilot's
				// midpoint on the line); 50% and above were not measured.
				if f := got[i] / s.PretrainLR; f < 0.05-1e-12 || f > 0.4+1e-12 {
					t.Errorf("lr %g is %.3f× the pretraining peak", got[i], f)
				}
			}
			if s.RMBaseLR != got[len(got)/2] {
				t.Errorf("RMBaseLR %g, want the middle lr %g", s.RMBaseLR, got[len(got)/2])
			}
		})
	}
}

func TestBaklavaSteps(t *testing.T) {
	s := Study{BaklavaAt: []float64{0.8, 0.9, 1}}
	for _, c := range []struct {
		total int
		want  []int
	}{
		{976, []int{781, 878}}, // quick: 2M tokens / (16 × 128)
		{312, []int{250, 281}}, // tiny
		{10, []int{8, 9}},
		{3, []int{2}}, // round(2.4) = 2; round(2.7) = 3 is the end
		{2, nil},      // both round to the end
		{1, nil},
	} {
		if got := s.BaklavaSteps(c.total); !slices.Equal(got, c.want) {
			t.Errorf("total %d: %v, want %v", c.total, got, c.want)
		}
	}
	q, _ := Get("quick")
	if q.PretrainSteps() != 976 {
		t.Errorf("quick pretraining steps %d, want 976", q.PretrainSteps())
	}
}

// The power calculation against a simulation: paired 0/1 outcomes that
// disagree on a fraction disc of n pairs; the 95% half-width of the
// accuracy difference is 1.96 × its standard deviation over replicates
// (tolerance 10%: 4000 replicates give a standard deviation within ~2.5%).
func TestPairedHalfWidthSimulated(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, disc, reps = 2000, 0.08, 4000
	var sum, sum2 float64
	for k := 0; k < reps; k++ {
		var d float64
		for i := 0; i < n; i++ {
			if r.Float64() < disc {
				if r.IntN(2) == 0 {
					d++
				} else {
					d--
				}
			}
		}
		d /= n
		sum += d
		sum2 += d * d
	}
	sd := math.Sqrt(sum2/reps - (sum/reps)*(sum/reps))
	got, want := PairedHalfWidth(n, disc), z95*sd
	if math.Abs(got-want) > 0.1*want {
		t.Errorf("half-width %.5f, simulated %.5f", got, want)
	}
	if m := PairsFor(0.01, 0.065); m != 2497 || PairedHalfWidth(m, 0.065) > 0.01 || PairedHalfWidth(m-1, 0.065) <= 0.01 {
		t.Errorf("PairsFor(1 point, 6.5%%) = %d", m)
	}
	if h := ProportionHalfWidth(1067); math.Abs(h-0.03) > 0.0002 {
		t.Errorf("win-rate half-width over 1067 prompts %.4f, want ≈ 0.03", h)
	}
}

// The sizes meet the targets docs/study-design.md states: at quick a
// paired accuracy difference (WA vs ENS, ≤ 16% discordant pairs as
// measured with corrupted labels; WA vs the best member, ≤ 20%) has a
// half-width ≤ 1 point on val and OOD; BoN and duel win rates ±3 points;
// ≥ 2 RL seeds. At full, ≤ 1 point up to 20% disagreement (WA vs single
// members) on disjoint pairs.
//
// A grouped split (EvalResponses k > 2) holds ≈ ¾·k(k−1)/2 pairs per
// prompt that share texts; in variance its k texts count as k/2 disjoint
// pairs times a gain measured on the quick main job's models at k = 6
// (docs/power.md §7: 3.1–4.1 by comparison); 3 is used here.
func TestPresetPower(t *testing.T) {
	const groupedGain = 3.0
	effective := func(pairs, k int) int {
		if k <= 2 {
			return pairs
		}
		prompts := float64(pairs) / float64(k*(k-1)/2*13/15) // ≈ 13 of 15 pairs survive at k = 6
		return int(prompts * float64(k) / 2 * groupedGain)
	}
	for _, c := range []struct {
		name    string
		disc    float64
		minSeed int
	}{{"quick", 0.2, 2}, {"full", 0.2, 2}} {
		t.Run(c.name, func(t *testing.T) {
			s, _ := Get(c.name)
			for split, n := range map[string]int{"val": s.ValPairs, "ood": s.OODPairs} {
				disc := c.disc
				if split == "ood" && s.EvalResponses <= 2 {
					// OOD is capped by its prompt pool (the review
					// sentences' openings): ±1 point for WA − ENS at the
					// discordance measured at quick (≤ 10.5%).
					disc = min(disc, 0.105)
				}
				eff := effective(n, s.EvalResponses)
				if h := PairedHalfWidth(eff, disc); h > 0.01 {
					t.Errorf("%s: %d pairs (≈ %d independent) give ±%.2f points at %.1f%% disagreement", split, n, eff, 100*h, 100*disc)
				}
			}
			if h := ProportionHalfWidth(s.BoNPrompts); h > 0.031 {
				t.Errorf("BoN: %d prompts give ±%.1f points", s.BoNPrompts, 100*h)
			}
			if h := ProportionHalfWidth(s.DuelPrompts); h > 0.031 || s.DuelSamples < 2 {
				t.Errorf("duel: %d prompts × %d samples give ±%.1f points", s.DuelPrompts, s.DuelSamples, 100*h)
			}
			if s.RLSeeds < c.minSeed {
				t.Errorf("%d RL seeds", s.RLSeeds)
			}
		})
	}
}

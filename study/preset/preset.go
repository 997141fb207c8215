// Package preset holds the named sizes of the default WARM study ("tiny",
// "quick", "full"), so that every verb and `warm repro` use the same numbers.
//
// quick aims at 30 minutes on 2 cores (measured quiet for both label
// settings: 28:04 to 30:17 over five designs, 28:32 for the current one,
// docs/study-design.md §8, §10); full is for quality (≈ 90 min measured);
// tiny is for the end-to-end test (seconds).
package preset

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Study is every size knob of the default study. docs/study-design.md gives
// the reason for each value; each comment names the stage that reads it.
type Study struct {
	Name string

	// Tokenizer and pretraining (warm pretrain).
	VocabSize    int     // byte-level BPE vocabulary, including <|endoftext|>
	NEmbd        int     // model width
	NLayer       int     // transformer blocks
	NHead        int     // attention heads
	NPositions   int     // context length
	PretrainToks int64   // training tokens seen (steps = PretrainToks / (Batch*NPositions))
	PretrainBS   int     // sequences per step
	PretrainLR   float64 // peak AdamW learning rate
	CorpusMB     float64 // cap on corpus text used (0 = all)
	// BaklavaAt are the fractions of the pretraining steps at which the
	// Baklava bodies are saved (1 = the final model, the shared init). Late
	// in a cosine schedule, so that the bodies share the init's basin.
	// Read by warm pretrain through BaklavaSteps.
	BaklavaAt []float64
	// The SFT stage (warm pretrain --continue-from, docs/results/init.md):
	// SFTSteps steps of PretrainBS windows continuing the pretrained model
	// at peak lr SFTLR, SFTReviews of each step's windows from the review
	// sentences' text (the rest replayed corpus). Its checkpoints are then
	// the shared init and the Baklava bodies, as the paper's SFT
	// checkpoints. 0 steps: no SFT stage.
	SFTSteps   int
	SFTLR      float64
	SFTReviews float64

	// Preference data (warm data).
	TrainPairs, ValPairs, OODPairs int
	// EvalResponses > 2 makes val and OOD grouped splits: that many
	// responses per prompt, every pair among them labelled, so ValPairs
	// and OODPairs count pairs of ≈ 13 per prompt at 6 responses
	// (prefgen.Config.EvalResponses; docs/power.md §7). 0: one pair per
	// prompt. Read by warm data.
	EvalResponses int
	// HumanPairs caps the human-labelled review pairs (prefgen.HumanPairs;
	// 0 = every pair the sentences allow). Read by warm data.
	HumanPairs     int
	MinNew, MaxNew int // response length range, in new tokens
	// PairsPerPrompt is the most pairs one prompt may carry in a split
	// when its prompts run short (warm data --pairs-per-prompt; 0: its
	// default, 4). Read by warm data.
	PairsPerPrompt int
	BTTemperature  float64 // Bradley-Terry labelling temperature on the gold difference
	// Labels is the label setting: "corrupt" (Get's default: SwapRate of
	// the training labels swapped) or "clean"; WithLabels sets it with
	// Corrupt and RLKLCoef.
	Labels         string
	Corrupt        float64 // fraction of training labels swapped in this setting (0 when clean)
	SwapRate       float64 // the corrupted setting's fraction (the paper's 25%)
	OODTemperature float64 // sampling temperature of the shifted policy

	// Reward models (warm train).
	Members  int // M
	RMBatch  int // pairs per step
	LPEpochs int // linear-probe epochs on frozen features (warm train's --lp-epochs default)
	FTEpochs float64
	// CorruptEpochs, when > 0, is the fine-tuning epochs of the corrupted
	// setting's members (Epochs; warm repro): with a quarter of the labels
	// swapped a pair carries half the signal (1 − 2·0.25) and members need
	// more passes to reach the same share of what the labels allow
	// (docs/study-design.md §9). warm train's --epochs default stays FTEpochs.
	CorruptEpochs float64
	// RMLRFactors are the member learning rates as multiples of
	// PretrainLR (RMLearningRates).
	RMLRFactors []float64
	// RMBaseLR is derived by Get (the middle of RMLearningRates) and kept
	// only because cmd/warm/repro hashes it; hash RMLearningRates instead.
	RMBaseLR  float64
	RMDropout []float64
	// LadderLabels is the label setting whose train stage also trains the
	// LMC diversity ladder (two extra fine-tunings, the third rung being a
	// member, and their interpolation: ≈ 4 of quick's minutes per
	// setting); "" = every
	// setting. The other settings still get their LMC pilot (the two most
	// distant members), so each claims table keeps an LMC verdict.
	LadderLabels string

	// Best-of-N (warm bon).
	BoNPrompts, BoNMaxN int

	// RL (warm rl).
	RLSteps, RLPrompts, RLSamples int // steps, prompts per step, samples per prompt (RLOO k)
	RLLR                          float64
	RLSeeds                       int     // replicate runs per reward (warm repro's rl stage)
	RLKLCoef                      float64 // α after reward standardisation: 0.01 corrupt, 0.003 clean (warm rl's default)

	// Head-to-head duels of the RL policies (warm repro's duel stage).
	DuelPrompts, DuelSamples int
}

// lrFactors: tiny's members at 5%, 10% and 20% of the pretraining peak lr
// (docs/study-design.md: every member must train).
var lrFactors = []float64{0.05, 0.1, 0.2}

// quickLRFactors: quick's (and full's) members at 10%, 20% and 40% of the peak
// (2e-4..8e-4). Measured (docs/results/init.md): at quick's 750 steps the
// 5% members (1e-4) stay at 58-60% val next to 68% for the others, and
// pull the uniform average towards the init (WA-6 − ENS-6 −3.1 points);
// with 10-40% every member reaches 67-69% and WA-3 − ENS-3 is −0.8.
var quickLRFactors = []float64{0.1, 0.2, 0.4}

// baklavaAt: bodies at 80% and 90% of pretraining and the final model.
var baklavaAt = []float64{0.8, 0.9, 1}

var studies = map[string]Study{
	"tiny": {
		Name: "tiny", VocabSize: 512, NEmbd: 32, NLayer: 2, NHead: 2, NPositions: 64,
		PretrainToks: 160_000, PretrainBS: 8, PretrainLR: 3e-3, CorpusMB: 0.3, BaklavaAt: baklavaAt,
		TrainPairs: 96, ValPairs: 32, OODPairs: 32, EvalResponses: 4, HumanPairs: 32, MinNew: 8, MaxNew: 12,
		BTTemperature: 0.1, SwapRate: 0.25, OODTemperature: 1.5,
		Members: 3, RMBatch: 8, LPEpochs: 1, FTEpochs: 1, RMLRFactors: lrFactors, RMDropout: []float64{0.05, 0.1},
		BoNPrompts: 8, BoNMaxN: 8,
		RLSteps: 3, RLPrompts: 4, RLSamples: 2, RLLR: 1e-4, RLSeeds: 1,
		DuelPrompts: 8, DuelSamples: 1,
	},
	"quick": {
		Name: "quick", VocabSize: 8192, NEmbd: 128, NLayer: 4, NHead: 4, NPositions: 128,
		PretrainToks: 2_000_000, PretrainBS: 16, PretrainLR: 2e-3, CorpusMB: 0, BaklavaAt: baklavaAt,
		// Val and OOD: 6 responses per prompt, every pair among them
		// (docs/power.md §7): from the same 6,000 scored texts per split
		// as 3,000 disjoint pairs, WA − ENS narrows from ±1.2–1.4 to
		// ±0.6–0.7 points. 19,500 val pairs ≈ 1,500 prompts (9,000
		// texts, halved for ranking), 17,000 OOD pairs ≈ all 1,289 OOD
		// prompts (7,700 texts; 13,000 left WA − best member at ±1.0).
		TrainPairs: 6000, ValPairs: 19500, OODPairs: 17000, EvalResponses: 6, HumanPairs: 0, MinNew: 24, MaxNew: 32,
		BTTemperature: 0.1, SwapRate: 0.25, OODTemperature: 1.5,
		Members: 6, RMBatch: 16, LPEpochs: 20, FTEpochs: 2, CorruptEpochs: 3, RMLRFactors: quickLRFactors, RMDropout: []float64{0.05, 0.1},
		LadderLabels: LabelsClean,
		BoNPrompts:   1000, BoNMaxN: 16,
		RLSteps: 60, RLPrompts: 8, RLSamples: 4, RLLR: 3e-4, RLSeeds: 2,
		DuelPrompts: 1000, DuelSamples: 2,
	},
	// full is the project's canonical study, run over several sittings
	// if need be (it resumes): quick's shape with 3× the pretraining
	// tokens and 4× the training pairs (docs/results/init.md §6, §8: the
	// levers that brought members to 77 % and WA within 0.7 points of
	// ENS), val sized for ±1 point at 20% discordant pairs (WA vs single
	// members), OOD as large as its prompt pool allows. At 12,000 pairs
	// both settings took ≈ 90 min quiet; at 24,000 about the same machine
	// time (≈ 90 min, docs/results/full-2026-12-01).
	"full": {
		Name: "full", VocabSize: 8192, NEmbd: 128, NLayer: 4, NHead: 4, NPositions: 128,
		PretrainToks: 6_000_000, PretrainBS: 16, PretrainLR: 2e-3, CorpusMB: 0, BaklavaAt: baklavaAt,
		// OOD prompts are openings of the review sentences: 1,289 of them
		// at 8-24 tokens. At 6 pairs each at most (≈ 15% of draws are
		// dropped as ties or too short) 6,000 OOD pairs fit: ±0.8 points
		// on WA − ENS at the 10.5% discordance measured at quick.
		// 24,000 training pairs (docs/results/init.md §8): with them every
		// member reaches 77-78 % val and WA-6 72.4 % on the human pairs
		// (12,000 gave 69-74 % and 70.7 %).
		TrainPairs: 24000, ValPairs: 8000, OODPairs: 6000, HumanPairs: 0, MinNew: 24, MaxNew: 32, PairsPerPrompt: 6,
		BTTemperature: 0.1, SwapRate: 0.25, OODTemperature: 1.5,
		Members: 6, RMBatch: 16, LPEpochs: 20, FTEpochs: 2, RMLRFactors: quickLRFactors, RMDropout: []float64{0.05, 0.1},
		LadderLabels: LabelsClean,
		BoNPrompts:   1000, BoNMaxN: 16,
		RLSteps: 100, RLPrompts: 8, RLSamples: 4, RLLR: 3e-4, RLSeeds: 2,
		DuelPrompts: 1000, DuelSamples: 3,
	},
}

// Ladder reports whether the study's train stage trains the LMC diversity
// ladder in its label setting (LadderLabels).
func (s Study) Ladder() bool {
	return s.LadderLabels == "" || s.LadderLabels == s.Labels
}

// Label settings and their RL KL coefficients (the paper's α, applied
// after reward standardisation).
const (
	LabelsClean   = "clean"
	LabelsCorrupt = "corrupt"
	klClean       = 0.003
	klCorrupt     = 0.01
)

// Get returns the named preset in the corrupted-label setting (the
// study's default; WithLabels switches it).
func Get(name string) (Study, error) {
	s, ok := studies[name]
	if !ok {
		return Study{}, fmt.Errorf("unknown preset %q (have %s)", name, strings.Join(Names(), ", "))
	}
	s.RMDropout = slices.Clone(s.RMDropout)
	s.RMLRFactors = slices.Clone(s.RMLRFactors)
	s.BaklavaAt = slices.Clone(s.BaklavaAt)
	lrs := s.RMLearningRates()
	s.RMBaseLR = lrs[len(lrs)/2]
	return s.WithLabels(LabelsCorrupt)
}

// WithLabels returns s in a label setting: "clean" (no swapped training
// labels, α = 0.003) or "corrupt" (SwapRate swapped, α = 0.01), the two
// settings of the paper.
func (s Study) WithLabels(setting string) (Study, error) {
	switch setting {
	case LabelsClean:
		s.Corrupt, s.RLKLCoef = 0, klClean
	case LabelsCorrupt:
		s.Corrupt, s.RLKLCoef = s.SwapRate, klCorrupt
	default:
		return s, fmt.Errorf("label setting %q: want %s or %s", setting, LabelsClean, LabelsCorrupt)
	}
	s.Labels = setting
	return s, nil
}

// Epochs is the members' fine-tuning epochs in s's label setting:
// CorruptEpochs in the corrupted one when set, else FTEpochs.
func (s Study) Epochs() float64 {
	if s.Labels == LabelsCorrupt && s.CorruptEpochs > 0 {
		return s.CorruptEpochs
	}
	return s.FTEpochs
}

// LabelSettings lists the label settings the main job runs, clean first.
func LabelSettings() []string { return []string{LabelsClean, LabelsCorrupt} }

// Names lists the presets.
func Names() []string {
	var n []string
	for k := range studies {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// RMLearningRates is the member learning-rate set: RMLRFactors × the
// pretraining peak lr (quick: {1e-4, 2e-4, 4e-4}).
func (s Study) RMLearningRates() []float64 {
	out := make([]float64, len(s.RMLRFactors))
	for i, f := range s.RMLRFactors {
		// Rounded to 12 significant digits: 0.05 × 3e-3 is 1.5e-4 in logs
		// and plan.json, not 0.00015000000000000001.
		out[i], _ = strconv.ParseFloat(strconv.FormatFloat(f*s.PretrainLR, 'g', 12, 64), 64)
	}
	return out
}

// PretrainSteps is the number of pretraining steps the token budget buys
// (as warm pretrain computes it).
func (s Study) PretrainSteps() int {
	return int(s.PretrainToks / int64(s.PretrainBS*s.NPositions))
}

// BaklavaSteps turns BaklavaAt into pretraining steps of a run of total
// steps: the checkpoints to save before the end (the final model is the
// shared init and is always saved), increasing, without duplicates.
func (s Study) BaklavaSteps(total int) []int {
	var out []int
	for _, f := range s.BaklavaAt {
		st := int(math.Round(f * float64(total)))
		if st > 0 && st < total && (len(out) == 0 || st > out[len(out)-1]) {
			out = append(out, st)
		}
	}
	return out
}

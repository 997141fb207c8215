// Package preset holds the named sizes of the default WARM study ("tiny",
// "quick", "full"), so that every verb and `warm repro` use the same numbers.
//
// quick is sized to finish the whole study in about 30 minutes on 2 cores;
// full is for quality; tiny is for the end-to-end test (seconds).
package preset

import (
	"fmt"
	"sort"
	"strings"
)

// Study is every size knob of the default study.
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

	// Preference data (warm data).
	TrainPairs, ValPairs, OODPairs int
	MinNew, MaxNew                 int     // response length range, in new tokens
	BTTemperature                  float64 // Bradley-Terry labelling temperature on the gold difference
	Corrupt                        float64 // fraction of training labels swapped
	OODTemperature                 float64 // sampling temperature of the shifted policy

	// Reward models (warm train).
	Members   int     // M
	RMBatch   int     // pairs per step
	LPEpochs  int     // linear-probe epochs on frozen features
	FTEpochs  float64 // fine-tuning epochs per member
	RMBaseLR  float64 // middle of the learning-rate set (scaled from the paper's 4e-5)
	RMDropout []float64

	// Best-of-N (warm bon).
	BoNPrompts, BoNMaxN int

	// RL (warm rl).
	RLSteps, RLPrompts, RLSamples int // steps, prompts per step, samples per prompt (RLOO k)
	RLLR                          float64
}

var studies = map[string]Study{
	"tiny": {
		Name: "tiny", VocabSize: 512, NEmbd: 32, NLayer: 2, NHead: 2, NPositions: 64,
		PretrainToks: 160_000, PretrainBS: 8, PretrainLR: 3e-3, CorpusMB: 0.3,
		TrainPairs: 96, ValPairs: 32, OODPairs: 32, MinNew: 8, MaxNew: 12,
		BTTemperature: 0.1, Corrupt: 0.25, OODTemperature: 1.5,
		Members: 3, RMBatch: 8, LPEpochs: 1, FTEpochs: 1, RMBaseLR: 1e-3, RMDropout: []float64{0.05, 0.1},
		BoNPrompts: 8, BoNMaxN: 8,
		RLSteps: 3, RLPrompts: 4, RLSamples: 2, RLLR: 1e-4,
	},
	"quick": {
		Name: "quick", VocabSize: 8192, NEmbd: 128, NLayer: 4, NHead: 4, NPositions: 128,
		PretrainToks: 2_000_000, PretrainBS: 16, PretrainLR: 2e-3, CorpusMB: 0,
		TrainPairs: 4000, ValPairs: 500, OODPairs: 500, MinNew: 24, MaxNew: 32,
		BTTemperature: 0.1, Corrupt: 0.25, OODTemperature: 1.5,
		Members: 6, RMBatch: 16, LPEpochs: 1, FTEpochs: 2, RMBaseLR: 4e-4, RMDropout: []float64{0.05, 0.1},
		BoNPrompts: 128, BoNMaxN: 64,
		RLSteps: 120, RLPrompts: 8, RLSamples: 4, RLLR: 3e-4,
	},
	"full": {
		Name: "full", VocabSize: 8192, NEmbd: 256, NLayer: 4, NHead: 4, NPositions: 128,
		PretrainToks: 30_000_000, PretrainBS: 32, PretrainLR: 1e-3, CorpusMB: 0,
		TrainPairs: 20000, ValPairs: 2000, OODPairs: 2000, MinNew: 24, MaxNew: 48,
		BTTemperature: 0.1, Corrupt: 0.25, OODTemperature: 1.5,
		Members: 10, RMBatch: 16, LPEpochs: 2, FTEpochs: 2, RMBaseLR: 5e-5, RMDropout: []float64{0.05, 0.1},
		BoNPrompts: 256, BoNMaxN: 256,
		RLSteps: 400, RLPrompts: 16, RLSamples: 4, RLLR: 2e-5,
	},
}

// Get returns the named preset.
func Get(name string) (Study, error) {
	s, ok := studies[name]
	if !ok {
		return Study{}, fmt.Errorf("unknown preset %q (have %s)", name, strings.Join(Names(), ", "))
	}
	s.RMDropout = append([]float64(nil), s.RMDropout...)
	return s, nil
}

// Names lists the presets.
func Names() []string {
	var n []string
	for k := range studies {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// RMLearningRates is the member learning-rate set: the paper's
// {1e-5, 4e-5, 1e-4} scaled so that its middle equals base. A small model
// trained for few steps needs larger steps than PaLM-XXS did; the ratios
// (0.25×, 1×, 2.5×) are the paper's: quick uses 4e-4, i.e. {1e-4, 4e-4, 1e-3},
// the paper's set ×10.
func (s Study) RMLearningRates() []float64 {
	return []float64{s.RMBaseLR * 0.25, s.RMBaseLR, s.RMBaseLR * 2.5}
}

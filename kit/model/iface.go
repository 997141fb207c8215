package model

import "fmt"

// The interfaces below are what the reward and policy code depend on, so
// that another architecture family (a package of its own, e.g. llama) plugs
// in without edits across the tree. GPT-2 (*Model) is the first
// implementation of each.

// RewardModel scores token sequences: one scalar per sequence, read at its
// last token. MaxLen is the longest sequence it accepts (the context
// length); callers truncate to it (reward.Encode keeps the last tokens).
type RewardModel interface {
	Rewards(seqs [][]int) ([]float32, error)
	MaxLen() int
}

// CausalLM gives per-token log-probabilities: entry t-1 of a sequence's
// row is log p(seq[t] | seq[<t]), t ≥ 1.
type CausalLM interface {
	TokenLogProbs(seqs [][]int) ([][]float32, error)
	MaxLen() int
}

// Sampler generates continuations of prompts (the new tokens only), as
// Model.Generate does: rows are independent and reproducible from the seed.
type Sampler interface {
	Generate(prompts [][]int, opt SampleOptions) [][]int
	MaxLen() int
}

// Trainable exposes the flat parameters an optimiser updates (optim.Groups
// groups them by name) and their gradients.
type Trainable interface {
	Parameters() []*Param
	ZeroGrad()
}

var (
	_ RewardModel = (*Model)(nil)
	_ CausalLM    = (*Model)(nil)
	_ Sampler     = (*Model)(nil)
	_ Trainable   = (*Model)(nil)
)

// MaxLen is n_positions: the longest sequence the model takes.
func (m *Model) MaxLen() int { return m.Config.NPositions }

// Parameters lists the model's parameters in checkpoint order.
func (m *Model) Parameters() []*Param { return m.Params }

// CheckSeqs reports the first sequence the model cannot take (empty,
// longer than n_positions, or with a token outside the vocabulary), so
// that bad input is an error, not Forward's panic.
func (m *Model) CheckSeqs(seqs [][]int) error {
	c := m.Config
	for b, s := range seqs {
		if len(s) == 0 || len(s) > c.NPositions {
			return fmt.Errorf("model: sequence %d has %d tokens (want 1…%d)", b, len(s), c.NPositions)
		}
		for _, t := range s {
			if t < 0 || t >= c.VocabSize {
				return fmt.Errorf("model: sequence %d has token %d outside the vocabulary [0,%d)", b, t, c.VocabSize)
			}
		}
	}
	return nil
}

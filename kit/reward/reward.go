// Package reward turns reward-model checkpoints into the rewards the study
// compares: a single RM, the prediction ensemble (ENS: the mean of the
// members' rewards, M forward passes) and the weight average (WA/WARM: one
// model whose weights are the members' mean, one forward pass).
package reward

import (
	"fmt"
	"math"
	"slices"

	"github.com/warm-rm/warm/kit/model"
)

// Scorer is the reward model the study's rewards are: a single model, an
// Ensemble or a weight average. It is model.RewardModel.
type Scorer = model.RewardModel

// Ensemble is ENS: the mean reward of its members.
type Ensemble []model.RewardModel

// MaxLen is the shortest context among the members.
func (e Ensemble) MaxLen() int {
	n := 0
	for i, m := range e {
		if i == 0 || m.MaxLen() < n {
			n = m.MaxLen()
		}
	}
	return n
}

// Rewards is the members' mean reward per sequence.
func (e Ensemble) Rewards(seqs [][]int) ([]float32, error) {
	mean, _, err := e.RewardsStd(seqs)
	return mean, err
}

// RewardsStd returns the members' mean and (population) standard deviation
// per sequence: the disagreement is ENS's uncertainty signal.
func (e Ensemble) RewardsStd(seqs [][]int) (mean, std []float32, err error) {
	all, err := e.PerMember(seqs)
	if err != nil {
		return nil, nil, err
	}
	mean, std = MeanStd(all)
	return mean, std, nil
}

// PerMember returns each member's rewards, all[i][j] for member i, seq j.
func (e Ensemble) PerMember(seqs [][]int) ([][]float32, error) {
	all := make([][]float32, len(e))
	for i, m := range e {
		r, err := m.Rewards(seqs)
		if err != nil {
			return nil, fmt.Errorf("member %d: %w", i+1, err)
		}
		all[i] = r
	}
	return all, nil
}

// MeanStd reduces per-member rewards all[i][j] to the mean and population
// standard deviation over i.
func MeanStd(all [][]float32) (mean, std []float32) {
	if len(all) == 0 {
		return nil, nil
	}
	n := len(all[0])
	mean, std = make([]float32, n), make([]float32, n)
	for j := 0; j < n; j++ {
		var s, ss float64
		for i := range all {
			v := float64(all[i][j])
			s += v
			ss += v * v
		}
		mu := s / float64(len(all))
		mean[j] = float32(mu)
		// Clamp the rounding negatives of members that agree; a NaN
		// reward stays NaN in the std, so callers can refuse it.
		v := ss/float64(len(all)) - mu*mu
		if v < 0 {
			v = 0
		}
		std[j] = float32(math.Sqrt(v))
	}
	return mean, std
}

// Average returns the weight average Σ wᵢ·θᵢ / Σ wᵢ of models that share an
// architecture (weights nil: uniform, φ_WARM = (1/M) Σ θᵢ). It accumulates
// in float64, so the result does not depend on the members' order beyond
// the final rounding.
func Average(models []*model.Model, weights []float64) (*model.Model, error) {
	if len(models) == 0 {
		return nil, fmt.Errorf("average of no models")
	}
	if weights == nil {
		weights = make([]float64, len(models))
		for i := range weights {
			weights[i] = 1
		}
	}
	if len(weights) != len(models) {
		return nil, fmt.Errorf("%d weights for %d models", len(weights), len(models))
	}
	var total float64
	for _, w := range weights {
		total += w
	}
	if total == 0 {
		return nil, fmt.Errorf("weights sum to zero")
	}
	first := models[0]
	for i, m := range models[1:] {
		if err := Compatible(first, m); err != nil {
			return nil, fmt.Errorf("model %d: %w", i+2, err)
		}
	}
	out := first.Clone()
	acc := make([]float64, len(out.Weights()))
	for i, m := range models {
		w := weights[i] / total
		for j, v := range m.Weights() {
			acc[j] += w * float64(v)
		}
	}
	dst := out.Weights()
	for j, v := range acc {
		dst[j] = float32(v)
	}
	return out, nil
}

// Interpolate returns (1−λ)·a + λ·b.
func Interpolate(a, b *model.Model, lambda float64) (*model.Model, error) {
	return Average([]*model.Model{a, b}, []float64{1 - lambda, lambda})
}

// Compatible reports whether b has a's parameters (names and shapes) and
// the same maths-relevant config.
func Compatible(a, b *model.Model) error {
	ca, cb := a.Config, b.Config
	if ca.VocabSize != cb.VocabSize || ca.NEmbd != cb.NEmbd || ca.NLayer != cb.NLayer || ca.NHead != cb.NHead ||
		ca.NPositions != cb.NPositions || ca.Inner() != cb.Inner() || ca.LayerNormEps != cb.LayerNormEps {
		return fmt.Errorf("config differs: %+v vs %+v", ca, cb)
	}
	if len(a.Params) != len(b.Params) {
		return fmt.Errorf("%d parameters vs %d", len(a.Params), len(b.Params))
	}
	for i, p := range a.Params {
		q := b.Params[i]
		if p.Name != q.Name || !slices.Equal(p.Shape, q.Shape) {
			return fmt.Errorf("parameter %d is %s%v vs %s%v", i, p.Name, p.Shape, q.Name, q.Shape)
		}
	}
	return nil
}

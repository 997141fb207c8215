package rl

import (
	"fmt"
	"math"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/kit/tokenizer"
)

// Standardized is a reward z-scored with a fixed mean and standard
// deviation: (R − Mean)/Std.
type Standardized struct {
	R         Reward
	Mean, Std float64
}

// Responses implements Reward.
func (s Standardized) Responses(prompts, responses []string) ([]float64, error) {
	v, err := s.R.Responses(prompts, responses)
	if err != nil {
		return nil, err
	}
	for i := range v {
		v[i] = (v[i] - s.Mean) / s.Std
	}
	return v, nil
}

// standardSeed is the pool's sampling seed: fixed, so that every reward is
// standardised on the same samples.
const standardSeed = 0x57a4d

// PoolStats samples n responses from policy (the prompts in order,
// cycling, each row its own stream; temperature and length as the RL run)
// and returns the mean and standard deviation of reward r on them. The
// samples depend only on the policy, the prompts and n, so every reward of
// a study is standardised on the same pool.
func PoolStats(policy *model.Model, tok *tokenizer.Tokenizer, prompts []string, r Reward, n, maxNew int, temperature float64) (mean, std float64, err error) {
	if n < 2 || len(prompts) == 0 {
		return 0, 0, fmt.Errorf("rl: standardisation needs ≥ 2 samples and a prompt (got %d, %d prompts)", n, len(prompts))
	}
	eot := tok.EOT()
	rows := make([][]int, n)
	ps := make([]string, n)
	for i := range rows {
		ps[i] = prompts[i%len(prompts)]
		rows[i] = tok.Encode(ps[i])
	}
	outs := generate(policy, rows, maxNew, temperature, standardSeed, eot)
	texts := make([]string, n)
	for i, o := range outs {
		if len(o) > 0 && o[len(o)-1] == eot {
			o = o[:len(o)-1]
		}
		texts[i] = tok.Decode(o)
	}
	v, err := r.Responses(ps, texts)
	if err != nil {
		return 0, 0, fmt.Errorf("rl: standardisation pool: %w", err)
	}
	mean, std = stats.MeanStd(v)
	if !(std > 0) || math.IsInf(std, 0) {
		return 0, 0, fmt.Errorf("rl: the reward is constant on the %d-sample standardisation pool (std %g): nothing to optimise", n, std)
	}
	return mean, std, nil
}

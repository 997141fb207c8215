package rl

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/kit/tokenizer"
	"github.com/warm-rm/warm/study/gold"
	"github.com/warm-rm/warm/study/prefgen"
)

// StudyOptions are one `warm rl` run of the study: a policy directory, the
// reward to optimise (a reward spec; gold is the judge itself) and a
// prompt file.
type StudyOptions struct {
	Policy     string      // starting (SFT) policy directory with tokenizer files
	Reward     reward.Spec // the proxy reward
	PromptFile string      // JSONL with a "prompt" per row
	Config     Config
	Out        string
	Log        io.Writer  // progress; nil: quiet
	Gold       gold.Judge // the judge the run is measured by (nil: VADER)
}

// RunStudy loads the policy, the reward and the prompts and runs Train,
// judged by gold (VADER).
func RunStudy(o StudyOptions) (*Summary, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(o.Policy)
	if err != nil {
		return nil, fmt.Errorf("policy tokenizer: %w", err)
	}
	policy, err := model.Load(o.Policy)
	if err != nil {
		return nil, err
	}
	if policy.HasRewardHead() {
		return nil, fmt.Errorf("%s is a reward model, not a policy", o.Policy)
	}
	var judge Judge = o.Gold
	if o.Gold == nil {
		judge = gold.NewVADER()
	}
	var proxy Reward = JudgeReward{Judge: judge}
	if o.Reward.Kind != reward.KindGold {
		cache := reward.Cache{}
		m, err := cache.Model(o.Reward)
		if err != nil {
			return nil, err
		}
		first, _ := cache.Get(o.Reward.Dirs[0])
		if g, ok := first.(*model.Model); ok && g.Config.VocabSize != policy.Config.VocabSize {
			return nil, fmt.Errorf("reward %s has a vocabulary of %d, the policy %d: they must share the tokenizer", o.Reward.Name, g.Config.VocabSize, policy.Config.VocabSize)
		}
		proxy = reward.TextScorer{Model: m, Tok: tok}
	}
	ps, err := prefdata.ReadPrompts(o.PromptFile)
	if err != nil {
		return nil, err
	}
	prompts := prefdata.PromptTexts(prefdata.UniquePrompts(ps, 0))
	prompts, dropped := prefgen.FitPrompts(tok, prompts, policy.Config.NPositions, o.Config.MaxNew)
	if dropped > 0 && o.Log != nil {
		fmt.Fprintf(o.Log, "warm rl: skipped %d prompts too long for %d new tokens in a context of %d\n", dropped, o.Config.MaxNew, policy.Config.NPositions)
	}
	if len(prompts) == 0 {
		return nil, fmt.Errorf("%s: no usable prompts", o.PromptFile)
	}
	if o.Log != nil {
		c := o.Config
		fmt.Fprintf(o.Log, "warm rl: %s reward %s (%s), %d steps × %d prompts × %d samples, α=%g, lr=%g, %d prompts in the pool\n",
			o.Out, o.Reward.Name, o.Reward.Kind, c.Steps, c.Prompts, c.K, c.KLCoef, c.LR, len(prompts))
	}
	mean, std := 0.0, 1.0
	if n := o.Config.StandardizePool; n > 0 {
		if mean, std, err = PoolStats(policy, tok, prompts, proxy, n, o.Config.MaxNew, o.Config.Temperature); err != nil {
			return nil, err
		}
		proxy = Standardized{R: proxy, Mean: mean, Std: std}
		if o.Log != nil {
			fmt.Fprintf(o.Log, "warm rl: reward %s standardised on %d samples of the initial policy (mean %.4g, std %.4g)\n", o.Reward.Name, n, mean, std)
		}
	}
	sum, err := Train(Run{Policy: policy, Tok: tok, Prompts: prompts, Proxy: proxy, Gold: judge, Config: o.Config, Out: o.Out, Progress: o.Log})
	if err != nil {
		return nil, err
	}
	sum.RewardMean, sum.RewardStd = mean, std
	return sum, atomicfile.WriteJSON(filepath.Join(o.Out, "summary.json"), sum)
}

// DuelStudyOptions are one `warm duel A B` run.
type DuelStudyOptions struct {
	A, B        string // policy directories (A's tokenizer is used for both)
	PromptFile  string
	N           int // prompts at most
	Samples     int // responses per prompt and policy (0: 1)
	MaxNew      int
	Temperature float64
	Seed        uint64
	Out         string     // "" or a JSON file to write the result to
	Log         io.Writer  // progress; nil: quiet
	Gold        gold.Judge // the judge (nil: VADER)
}

// DuelResult is what `warm duel --out` writes.
type DuelResult struct {
	A      string  `json:"policy_a"`
	B      string  `json:"policy_b"`
	Source string  `json:"prompt_source"`
	Temp   float64 `json:"temperature"`
	*Duel
}

// DuelStudy loads both policies and the prompts (those that fit both
// contexts, at most N) and runs HeadToHead judged by gold.
func DuelStudy(o DuelStudyOptions) (*DuelResult, error) {
	tok, err := tokenizer.Load(o.A)
	if err != nil {
		return nil, fmt.Errorf("policy A tokenizer: %w", err)
	}
	var ms [2]*model.Model
	for i, d := range []string{o.A, o.B} {
		if ms[i], err = model.Load(d); err != nil {
			return nil, err
		}
	}
	if ms[0].Config.VocabSize != ms[1].Config.VocabSize {
		return nil, fmt.Errorf("%s and %s have different vocabularies (%d, %d)", o.A, o.B, ms[0].Config.VocabSize, ms[1].Config.VocabSize)
	}
	ps, err := prefdata.ReadPrompts(o.PromptFile)
	if err != nil {
		return nil, err
	}
	prompts := prefdata.PromptTexts(prefdata.UniquePrompts(ps, 0))
	ctx := min(ms[0].Config.NPositions, ms[1].Config.NPositions)
	prompts, dropped := prefgen.FitPrompts(tok, prompts, ctx, o.MaxNew)
	if dropped > 0 && o.Log != nil {
		fmt.Fprintf(o.Log, "warm duel: skipped %d prompts too long for %d new tokens in a context of %d\n", dropped, o.MaxNew, ctx)
	}
	if len(prompts) > o.N {
		prompts = prompts[:o.N]
	}
	if len(prompts) == 0 {
		return nil, fmt.Errorf("%s: no usable prompts", o.PromptFile)
	}
	var judge Judge = o.Gold
	if o.Gold == nil {
		judge = gold.NewVADER()
	}
	d, err := HeadToHead(ms[0], ms[1], tok, prompts, judge, DuelOptions{MaxNew: o.MaxNew, Temperature: o.Temperature, Seed: o.Seed, Samples: o.Samples, Progress: o.Log})
	if err != nil {
		return nil, err
	}
	res := &DuelResult{o.A, o.B, o.PromptFile, o.Temperature, d}
	if o.Out != "" {
		if err := atomicfile.WriteJSON(o.Out, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

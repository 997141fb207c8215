package gold

import (
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/warm-rm/warm/kit/reward"
)

// Batcher is a judge that scores many responses in one call (a reward
// model: one batched forward pass instead of one per response). Batch
// uses it when a judge has it.
type Batcher interface {
	ScoreBatch(prompts, responses []string) ([]float64, error)
}

// RM is a reward model used as the gold judge: the set-up of Gao et al.
// 2022 (arXiv 2210.10760), where a larger RM trained on clean labels
// stands in for human preference. It scores prompt+response as every
// reward in the project does (reward.TextScorer). A model is not safe for
// concurrent use, so calls are serialised; Batch scores through
// ScoreBatch, which keeps the whole batch in one forward pass.
type RM struct {
	Dir string
	mu  sync.Mutex
	s   reward.TextScorer
}

// LoadRM loads a reward-model directory (with its tokenizer) as a judge.
func LoadRM(dir string) (*RM, error) {
	m, tok, err := reward.LoadWithTokenizer(dir)
	if err != nil {
		return nil, fmt.Errorf("gold judge rm:%s: %w", dir, err)
	}
	return &RM{Dir: dir, s: reward.TextScorer{Model: m, Tok: tok}}, nil
}

// Score is the reward of prompt+response; NaN when the text cannot be
// scored (empty).
func (j *RM) Score(prompt, response string) float64 {
	v, err := j.ScoreBatch([]string{prompt}, []string{response})
	if err != nil {
		return math.NaN()
	}
	return v[0]
}

// ScoreBatch scores every prompt+response in one call.
func (j *RM) ScoreBatch(prompts, responses []string) ([]float64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.s.Responses(prompts, responses)
}

// Parse resolves a --gold flag: "vader" (or "") is VADER, "rm:DIR" a
// reward-model directory. It returns the judge and a one-line
// description for summaries.
func Parse(spec string) (Judge, string, error) {
	switch {
	case spec == "" || spec == "vader":
		return NewVADER(), "VADER compound sentiment of the response (gold.VADER)", nil
	case strings.HasPrefix(spec, "rm:") && len(spec) > 3:
		j, err := LoadRM(spec[3:])
		if err != nil {
			return nil, "", err
		}
		return j, "reward model " + spec[3:] + " on prompt+response (gold.RM)", nil
	}
	return nil, "", fmt.Errorf("--gold %q: want vader or rm:DIR", spec)
}

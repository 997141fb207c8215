package rl

import (
	"fmt"
	"io"

	"github.com/warm-rm/warm/internal/mix"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/kit/tokenizer"
	"github.com/warm-rm/warm/study/gold"
)

// DuelOptions set how HeadToHead samples the two policies.
type DuelOptions struct {
	MaxNew      int
	Temperature float64
	Seed        uint64
	Samples     int       // responses per prompt and policy (0: 1); a prompt's gold is their mean
	Batch       int       // prompts per Generate call (0: 128)
	Progress    io.Writer // nil: quiet
}

// Duel is a head-to-head comparison of two policies judged by gold: on
// each held-out prompt, Samples responses from each, averaged; A wins the
// prompt when its mean gold is higher, a tie counts half.
type Duel struct {
	Prompts   int     `json:"prompts"`
	Samples   int     `json:"samples_per_prompt"`
	Rate      float64 `json:"win_rate"` // of A over B
	Lo        float64 `json:"ci95_lo"`  // Wilson 95% interval over prompts
	Hi        float64 `json:"ci95_hi"`
	Wins      int     `json:"wins"`
	Ties      int     `json:"ties"`
	Losses    int     `json:"losses"`
	MeanGoldA float64 `json:"mean_gold_a"`
	MeanGoldB float64 `json:"mean_gold_b"`
	Examples  []Pair  `json:"examples"` // the first few prompts
	// Per prompt, the mean gold of each policy's samples: the paired unit
	// of the claims table's duel rows.
	GoldA []float64 `json:"per_prompt_gold_a"`
	GoldB []float64 `json:"per_prompt_gold_b"`
}

// Pair is one prompt's two responses and their gold scores.
type Pair struct {
	Prompt string  `json:"prompt"`
	A      string  `json:"a"`
	B      string  `json:"b"`
	GoldA  float64 `json:"gold_a"`
	GoldB  float64 `json:"gold_b"`
}

// HeadToHead samples one response per prompt from each policy (same
// prompts, same seeds for both) and returns the gold win rate of a over b
// with its 95% Wilson interval (stats.WinRate).
func HeadToHead(a, b *model.Model, tok *tokenizer.Tokenizer, prompts []string, judge Judge, opt DuelOptions) (*Duel, error) {
	if len(prompts) == 0 {
		return nil, fmt.Errorf("rl: head-to-head needs prompts")
	}
	if opt.MaxNew < 1 || !(opt.Temperature >= 0) {
		return nil, fmt.Errorf("rl: head-to-head needs max new ≥ 1 and temperature ≥ 0 (got %d, %g)", opt.MaxNew, opt.Temperature)
	}
	S := max(1, opt.Samples)
	// Each prompt repeated S times in a row: row p·S+s is sample s of
	// prompt p, with the same random stream for both policies.
	rows := make([]string, 0, len(prompts)*S)
	for _, p := range prompts {
		for range S {
			rows = append(rows, p)
		}
	}
	ra, err := sampleAll(a, tok, rows, opt, "A")
	if err != nil {
		return nil, err
	}
	rb, err := sampleAll(b, tok, rows, opt, "B")
	if err != nil {
		return nil, err
	}
	gar := gold.Batch(judge, rows, ra)
	gbr := gold.Batch(judge, rows, rb)
	ga, gb := make([]float64, len(prompts)), make([]float64, len(prompts))
	for i := range rows {
		ga[i/S] += gar[i] / float64(S)
		gb[i/S] += gbr[i] / float64(S)
	}
	d := &Duel{Prompts: len(prompts), Samples: S, GoldA: ga, GoldB: gb}
	d.Rate, d.Lo, d.Hi = stats.WinRate(ga, gb)
	for i := range ga {
		switch {
		case ga[i] > gb[i]:
			d.Wins++
		case ga[i] < gb[i]:
			d.Losses++
		default:
			d.Ties++
		}
		d.MeanGoldA += ga[i] / float64(len(ga))
		d.MeanGoldB += gb[i] / float64(len(gb))
		if i < 5 {
			d.Examples = append(d.Examples, Pair{Prompt: prompts[i], A: ra[i*S], B: rb[i*S], GoldA: gar[i*S], GoldB: gbr[i*S]})
		}
	}
	return d, nil
}

// sampleAll draws one response per prompt, cut before the stop token.
// Row seeds depend on the prompt's index only, not on the policy, so both
// policies see the same random streams (common random numbers: less
// variance in the comparison).
func sampleAll(m *model.Model, tok *tokenizer.Tokenizer, prompts []string, opt DuelOptions, name string) ([]string, error) {
	if m.HasRewardHead() {
		return nil, fmt.Errorf("rl: policy %s has a reward head (a reward model, not a language model)", name)
	}
	if opt.Batch <= 0 {
		opt.Batch = 128
	}
	eot := tok.EOT()
	out := make([]string, len(prompts))
	for g, p0 := 0, 0; p0 < len(prompts); g, p0 = g+1, p0+opt.Batch {
		p1 := min(p0+opt.Batch, len(prompts))
		rows := make([][]int, 0, p1-p0)
		for p := p0; p < p1; p++ {
			ids := tok.Encode(prompts[p])
			if len(ids) == 0 {
				return nil, fmt.Errorf("rl: prompt %d is empty", p+1)
			}
			if len(ids)+opt.MaxNew > m.Config.NPositions {
				return nil, fmt.Errorf("rl: prompt %d has %d tokens: with %d new ones it exceeds the policy's context of %d", p+1, len(ids), opt.MaxNew, m.Config.NPositions)
			}
			rows = append(rows, ids)
		}
		res := generate(m, rows, opt.MaxNew, opt.Temperature, opt.Seed^(uint64(g)+1)*mix.Golden, eot)
		for i, r := range res {
			for k, t := range r {
				if t == eot {
					r = r[:k]
					break
				}
			}
			out[p0+i] = tok.Decode(r)
		}
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, "duel: policy %s: %d/%d prompts\n", name, p1, len(prompts))
		}
	}
	return out, nil
}

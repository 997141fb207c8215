package prefgen

import (
	"math/rand/v2"
	"strings"
)

// byteTok is a test tokenizer: one token per byte, EOT = 256.
type byteTok struct{}

func (byteTok) Encode(s string) []int {
	ids := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		ids[i] = int(s[i])
	}
	return ids
}

func (byteTok) Decode(ids []int) string {
	b := make([]byte, 0, len(ids))
	for _, id := range ids {
		if id < 256 {
			b = append(b, byte(id))
		}
	}
	return string(b)
}

func (byteTok) EOT() int { return 256 }

// wordPolicy samples words: "good", "bad" or "so", one character per token;
// it ends a sample (EOT) with probability stopP per word. Higher temperature
// makes "good"/"bad" likelier, so gold scores vary more.
func wordPolicy(stopP float64) Sampler {
	return func(prompts [][]int, temperature float64, maxNew int, seed uint64) [][]int {
		rng := rand.New(rand.NewPCG(seed, 1))
		out := make([][]int, len(prompts))
		for i := range out {
			var s []int
			for len(s) < maxNew {
				if rng.Float64() < stopP {
					s = append(s, 256)
					break
				}
				w := " so"
				if u := rng.Float64(); u < 0.15*temperature {
					w = " good"
				} else if u < 0.3*temperature {
					w = " bad"
				}
				for j := 0; j < len(w) && len(s) < maxNew; j++ {
					s = append(s, int(w[j]))
				}
			}
			out[i] = s
		}
		return out
	}
}

// countJudge scores a response by (#good − #bad) / 4.
type countJudge struct{}

func (countJudge) Score(_, r string) float64 {
	return float64(strings.Count(r, "good")-strings.Count(r, "bad")) / 4
}

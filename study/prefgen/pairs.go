package prefgen

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/warm-rm/warm/internal/mix"
)

// Sampler draws one continuation per prompt from a policy: only the new
// tokens, at most maxNew of them, ending early after the stop token if the
// policy emits it. Equal seeds must give equal samples.
type Sampler func(prompts [][]int, temperature float64, maxNew int, seed uint64) [][]int

// Judge scores a response to a prompt (gold.Judge satisfies it).
type Judge interface {
	Score(prompt, response string) float64
}

// Pair is one prompt with two sampled responses and their gold scores,
// before labelling.
type Pair struct {
	Prompt       Prompt
	A, B         string
	GoldA, GoldB float64
}

// GenOptions sets how one split's pairs are drawn.
type GenOptions struct {
	Split          string  // name, for progress and seeds: "train", "val", "ood"
	Count          int     // pairs wanted
	MinNew, MaxNew int     // response length range in new tokens
	Temperature    float64 // sampling temperature of the policy
	DropTies       bool    // drop pairs whose two gold scores are exactly equal
	Batch          int     // prompts per sampler call (each is sampled Responses times)
	// Responses > 2 samples that many responses per prompt and keeps every
	// pair among them (a grouped split: k responses give up to k(k−1)/2
	// pairs from k scored texts; docs/power.md §7); ≤ 2 is one pair per
	// prompt. A prompt's pairs are kept or dropped together, so the split
	// may end up to k(k−1)/2 − 1 pairs over Count.
	Responses int
	MaxRounds int // passes over the prompts before giving up (≤ 1: each prompt once)
	Seed      uint64
	Progress  io.Writer // nil: quiet
}

// GenStats counts what generation drew and dropped.
type GenStats struct {
	Generated    int     `json:"pairs_generated"`   // pairs sampled, kept or not
	Sequences    int     `json:"sequences_sampled"` // responses sampled (2 × Generated for one pair per prompt)
	PromptsUsed  int     `json:"prompts_used"`      // counted once per pass
	Rounds       int     `json:"passes"`            // passes over the prompts
	Ties         int     `json:"generated_ties"`    // pairs with equal gold scores among those of valid length
	DroppedTies  int     `json:"dropped_ties"`      // of which dropped (DropTies)
	DroppedShort int     `json:"dropped_short"`     // pairs with a response under MinNew tokens (the policy ended it); responses in a grouped split
	Seconds      float64 `json:"seconds"`
	// Responses is the responses sampled per prompt in a grouped split
	// (GenOptions.Responses > 2; 0 otherwise): Generated then counts the
	// pairs formed among the responses of valid length.
	Responses int `json:"responses_per_prompt,omitempty"`
}

// TieFraction is the fraction of valid-length pairs whose gold scores are
// equal (VADER scores most neutral text exactly 0).
func (s GenStats) TieFraction() float64 {
	n := s.Generated - s.DroppedShort
	if s.Responses > 2 {
		n = s.Generated
	}
	if n == 0 {
		return 0
	}
	return float64(s.Ties) / float64(n)
}

// GeneratePairs samples pairs for prompts in order until opt.Count pairs
// are kept, and returns them with the prompts it did not use. When the
// prompts run out it starts another pass over all of them, up to
// opt.MaxRounds passes (fresh samples: every batch has its own seed), so a
// prompt may then carry several pairs within the split. Each response
// gets its own length limit, uniform in [MinNew, MaxNew], so that length
// varies within a pair as it would between two real completions; a
// response the policy ends (stop token) before MinNew tokens voids its pair.
func GeneratePairs(tok Tokenizer, sample Sampler, judge Judge, prompts []Prompt, opt GenOptions) ([]Pair, []Prompt, GenStats, error) {
	if opt.MinNew < 1 || opt.MaxNew < opt.MinNew {
		return nil, prompts, GenStats{}, fmt.Errorf("bad response length range %d..%d", opt.MinNew, opt.MaxNew)
	}
	if opt.Batch < 1 {
		opt.Batch = 32
	}
	var st GenStats
	start := time.Now()
	rng := rand.New(rand.NewPCG(opt.Seed, splitSalt(opt.Split)))
	eot := tok.EOT()
	pairs := make([]Pair, 0, opt.Count)
	lastReport := time.Time{}
	all, round := prompts, 1
	for batch := 0; len(pairs) < opt.Count; batch++ {
		if len(prompts) == 0 && round < opt.MaxRounds && len(all) > 0 {
			prompts, round = all, round+1
		}
		if len(prompts) == 0 {
			return pairs, prompts, st, fmt.Errorf("%s split: ran out of prompts after %d of %d pairs (%d prompts, %d pass(es), %d pairs generated: %d ties dropped, %d too short); give more text, allow more pairs per prompt, ask for fewer pairs, or keep ties (--drop-ties=false)",
				opt.Split, len(pairs), opt.Count, len(all), round, st.Generated, st.DroppedTies, st.DroppedShort)
		}
		// Ask for a little more than is missing: ties and short responses
		// are dropped, and a full batch is no slower than a part one.
		per, pairsOf := 2, onePair
		if opt.Responses > 2 {
			per, pairsOf, st.Responses = opt.Responses, groupPairs, opt.Responses
		}
		k := min(opt.Batch, len(prompts))
		if per > 2 {
			// A grouped prompt yields several pairs: do not sample whole
			// batches past the count.
			k = min(k, (opt.Count-len(pairs))/GroupYield(per)+1)
		}
		batchPrompts := prompts[:k]
		prompts = prompts[k:]
		seqs := make([][]int, 0, per*k)
		for _, p := range batchPrompts {
			for range per {
				seqs = append(seqs, p.IDs)
			}
		}
		outs := sample(seqs, opt.Temperature, opt.MaxNew, opt.Seed^splitSalt(opt.Split)^uint64(batch)*mix.Golden)
		if len(outs) != len(seqs) {
			return pairs, prompts, st, fmt.Errorf("policy returned %d samples for %d prompts", len(outs), len(seqs))
		}
		st.PromptsUsed += k
		st.Sequences += len(seqs)
		for i, p := range batchPrompts {
			got := pairsOf(tok, judge, p, outs[per*i:per*(i+1)], eot, rng, opt, &st)
			if len(pairs) < opt.Count {
				pairs = append(pairs, got...)
			}
		}
		if opt.Progress != nil && (time.Since(lastReport) > 2*time.Second || len(pairs) >= opt.Count) {
			lastReport = time.Now()
			el := time.Since(start).Seconds()
			rate := float64(st.Sequences) / el
			eta := "?"
			if len(pairs) > 0 {
				eta = (time.Duration(el*float64(opt.Count-len(pairs))/float64(len(pairs))) * time.Second).Round(time.Second).String()
			}
			fmt.Fprintf(opt.Progress, "data %s: %d/%d pairs, %d sequences sampled (%.1f seq/s), %d ties dropped, %d short, ETA %s\n",
				opt.Split, len(pairs), opt.Count, st.Sequences, rate, st.DroppedTies, st.DroppedShort, eta)
		}
	}
	st.Seconds = time.Since(start).Seconds()
	st.Rounds = round
	return pairs, prompts, st, nil
}

// GroupYield is about how many pairs a prompt of k responses keeps: ¾ of
// its k(k−1)/2 (ties and short responses are dropped), at least 1.
func GroupYield(k int) int { return max(1, k*(k-1)/2*3/4) }

// onePair is the pair of one prompt's two responses, each cut to its own
// length limit; none when the policy ended one too early, or (DropTies)
// when their gold scores are equal. st counts what was drawn and dropped.
func onePair(tok Tokenizer, judge Judge, p Prompt, outs [][]int, eot int, rng *rand.Rand, opt GenOptions, st *GenStats) []Pair {
	st.Generated++
	a, okA := cut(outs[0], eot, opt.MinNew+rng.IntN(opt.MaxNew-opt.MinNew+1), opt.MinNew)
	b, okB := cut(outs[1], eot, opt.MinNew+rng.IntN(opt.MaxNew-opt.MinNew+1), opt.MinNew)
	if !okA || !okB {
		st.DroppedShort++
		return nil
	}
	pr := Pair{Prompt: p, A: tok.Decode(a), B: tok.Decode(b)}
	pr.GoldA = judge.Score(p.Text, pr.A)
	pr.GoldB = judge.Score(p.Text, pr.B)
	if pr.GoldA == pr.GoldB {
		st.Ties++
		if opt.DropTies {
			st.DroppedTies++
			return nil
		}
	}
	return []Pair{pr}
}

// groupPairs cuts one prompt's responses (each to its own length limit),
// drops those the policy ended too early, scores the rest with the judge
// and returns every pair among them (in index order i < j), dropping pairs
// of equal gold when opt.DropTies; st counts what was drawn and dropped.
func groupPairs(tok Tokenizer, judge Judge, p Prompt, outs [][]int, eot int, rng *rand.Rand, opt GenOptions, st *GenStats) []Pair {
	var texts []string
	var gold []float64
	for _, o := range outs {
		r, ok := cut(o, eot, opt.MinNew+rng.IntN(opt.MaxNew-opt.MinNew+1), opt.MinNew)
		if !ok {
			st.DroppedShort++
			continue
		}
		t := tok.Decode(r)
		texts, gold = append(texts, t), append(gold, judge.Score(p.Text, t))
	}
	var out []Pair
	for i := range texts {
		for j := i + 1; j < len(texts); j++ {
			st.Generated++
			if gold[i] == gold[j] {
				st.Ties++
				if opt.DropTies {
					st.DroppedTies++
					continue
				}
			}
			out = append(out, Pair{Prompt: p, A: texts[i], B: texts[j], GoldA: gold[i], GoldB: gold[j]})
		}
	}
	return out
}

// cut returns the first n tokens of a sample, ending before the stop token;
// ok is false when the sample holds fewer than minLen tokens before it.
func cut(ids []int, stop, n, minLen int) ([]int, bool) {
	for i, t := range ids {
		if t == stop {
			ids = ids[:i]
			break
		}
	}
	if len(ids) < minLen {
		return nil, false
	}
	return ids[:min(n, len(ids))], true
}

func splitSalt(split string) uint64 {
	// FNV-1a: a stable, different stream per split name.
	h := uint64(14695981039346656037)
	for i := 0; i < len(split); i++ {
		h ^= uint64(split[i])
		h *= 1099511628211
	}
	return h
}

// Package prefgen generates the study's preference pairs: prompts cut from
// held-out text, two responses per prompt sampled from the SFT policy, gold
// scores from a judge, Bradley-Terry labels, and a fraction of swapped
// training labels (WARM.md section 4, issue 4).
//
// The package sees the policy only as a Sampler and the tokenizer only as an
// interface, so its logic is tested with a cheap fake policy; cmd/warm wires
// in model.Model and tokenizer.Tokenizer.
package prefgen

import (
	"math/rand/v2"
	"strings"
	"unicode/utf8"
)

// Tokenizer is what prefgen needs from a tokenizer (tokenizer.Tokenizer
// satisfies it).
type Tokenizer interface {
	Encode(text string) []int
	Decode(ids []int) string
	EOT() int
}

// Prompt is a prompt as the policy sees it (IDs) and as the rows store it
// (Text = Decode(IDs)), so that Text+response re-tokenizes to (nearly) the
// ids the policy was conditioned on.
type Prompt struct {
	Text string
	IDs  []int
}

// MakePrompts turns candidate openings into prompts of minTok..maxTok
// tokens: openings shorter than minTok are dropped, longer ones cut at the
// last word boundary within maxTok tokens. Duplicates (after cutting) and prompts whose decoded text
// is not clean UTF-8 (a cut inside a multi-byte character) are dropped.
// skip holds prompt texts that must not be reused (another split's); the
// kept texts are added to it. The order of the result is a seeded shuffle.
func MakePrompts(tok Tokenizer, openings []string, minTok, maxTok int, seed uint64, skip map[string]bool) []Prompt {
	var out []Prompt
	for _, o := range openings {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		ids := tok.Encode(o)
		if len(ids) < minTok {
			continue
		}
		if len(ids) > maxTok {
			// Cut before a word-initial token (" word"), so that the
			// prompt ends with a whole word and prompt+response
			// re-tokenizes to the ids the policy saw; no such token
			// within range: cut at maxTok.
			k := maxTok
			for k > minTok && !strings.HasPrefix(tok.Decode(ids[k:k+1]), " ") {
				k--
			}
			if !strings.HasPrefix(tok.Decode(ids[k:k+1]), " ") {
				k = maxTok
			}
			ids = ids[:k]
		}
		text := tok.Decode(ids)
		if !utf8.ValidString(text) || strings.ContainsRune(text, utf8.RuneError) {
			continue
		}
		key := strings.TrimSpace(text)
		if skip[key] {
			continue
		}
		skip[key] = true
		out = append(out, Prompt{Text: text, IDs: ids})
	}
	rng := rand.New(rand.NewPCG(seed, 0x70726f6d707473))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

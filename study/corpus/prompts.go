package corpus

import (
	"math/rand/v2"
	"strings"
	"unicode"

	"github.com/warm-rm/warm/internal/mix"
)

// Split puts each doc into val with probability valFrac, decided by a hash
// of (seed, ID) alone: the same doc lands on the same side whatever the
// order or the other docs, so adding a source never reshuffles the others.
func Split(docs []Doc, valFrac float64, seed uint64) (train, val []Doc) {
	for _, d := range docs {
		if mix.Unit(seed, d.ID) < valFrac {
			val = append(val, d)
		} else {
			train = append(train, d)
		}
	}
	return train, val
}

// Prompts cuts one prompt from each usable sentence of docs: its first k
// words, k uniform in [minWords, maxWords], drawn from a generator seeded
// with seed. A sentence is usable when it has more than k words (so there
// is a continuation to write) and is mostly letters (not a table or a
// heading). Duplicates are dropped; the order is a seeded shuffle, so
// taking the first n gives a random sample. The caller trims by tokens.
func Prompts(docs []Doc, minWords, maxWords int, seed uint64) []string {
	if minWords < 1 {
		minWords = 1
	}
	if maxWords < minWords {
		maxWords = minWords
	}
	rng := rand.New(rand.NewPCG(seed, mix.Golden))
	seen := map[string]bool{}
	var out []string
	for _, d := range docs {
		for _, s := range Sentences(d.Text) {
			words := strings.Fields(s)
			k := minWords + rng.IntN(maxWords-minWords+1)
			if len(words) <= k || !mostlyLetters(s) {
				continue
			}
			p := strings.Join(words[:k], " ")
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// mostlyLetters reports whether at least 70% of the non-space runes are
// letters.
func mostlyLetters(s string) bool {
	letters, other := 0, 0
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			letters++
		case unicode.IsSpace(r):
		default:
			other++
		}
	}
	return letters > 0 && float64(letters) >= 0.7*float64(letters+other)
}

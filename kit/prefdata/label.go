package prefdata

import (
	"fmt"
	"github.com/warm-rm/warm/internal/mix"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/warm-rm/warm/kit/stats"
)

// BTProb is the Bradley-Terry probability that a is preferred to b given
// their gold scores: σ((gA−gB)/T). T = 0 is the deterministic limit (1, 0,
// or 1/2 on a tie).
func BTProb(goldA, goldB, temperature float64) float64 {
	if temperature <= 0 {
		switch {
		case goldA > goldB:
			return 1
		case goldA < goldB:
			return 0
		}
		return 0.5
	}
	return stats.Sigmoid((goldA - goldB) / temperature)
}

// BTLabel samples whether a is preferred to b: P(a≻b) = σ((gA−gB)/T).
// T = 0 is the argmax, with a tie going to a, and draws nothing from rng.
func BTLabel(goldA, goldB, temperature float64, rng *rand.Rand) (aWins bool) {
	if temperature <= 0 {
		return goldA >= goldB
	}
	return rng.Float64() < BTProb(goldA, goldB, temperature)
}

// Corrupt swaps the labels of exactly round(frac·len(rows)) rows, chosen
// uniformly without replacement: chosen and rejected trade places, and so
// do their gold scores, and the row is marked Corrupted. It returns how
// many rows it swapped. The caller passes only the rows meant to be noisy
// (the training split).
func Corrupt(rows []Row, frac float64, rng *rand.Rand) int {
	if frac <= 0 || len(rows) == 0 {
		return 0
	}
	n := int(math.Round(frac * float64(len(rows))))
	if n > len(rows) {
		n = len(rows)
	}
	for _, i := range rng.Perm(len(rows))[:n] {
		r := &rows[i]
		r.Chosen, r.Rejected = r.Rejected, r.Chosen
		r.GoldChosen, r.GoldRejected = r.GoldRejected, r.GoldChosen
		r.Corrupted = true
	}
	return n
}

// Share is one named part of a split and its fraction of the prompts.
type Share struct {
	Name string
	Frac float64
}

// SplitByPrompt sets each row's Split so that all rows with the same prompt
// land in the same share: a prompt's share is picked by a hash of (seed,
// prompt), so it does not depend on row order. Shares' fractions must be
// positive and add up to 1.
func SplitByPrompt(rows []Row, seed uint64, shares ...Share) error {
	if len(shares) == 0 {
		return fmt.Errorf("prefdata: SplitByPrompt: no shares")
	}
	sum := 0.0
	for _, s := range shares {
		if s.Frac <= 0 || s.Name == "" {
			return fmt.Errorf("prefdata: SplitByPrompt: share %+v needs a name and a positive fraction", s)
		}
		sum += s.Frac
	}
	if math.Abs(sum-1) > 1e-9 {
		return fmt.Errorf("prefdata: SplitByPrompt: fractions add up to %g, want 1", sum)
	}
	for i := range rows {
		u := mix.Unit(seed, rows[i].Prompt)
		acc := 0.0
		rows[i].Split = shares[len(shares)-1].Name
		for _, s := range shares {
			acc += s.Frac
			if u < acc {
				rows[i].Split = s.Name
				break
			}
		}
	}
	return nil
}

// PromptOverlap returns the prompts that appear in more than one split,
// sorted; empty means the splits are prompt-disjoint.
func PromptOverlap(rows []Row) []string {
	first := map[string]string{}
	bad := map[string]bool{}
	for _, r := range rows {
		s, ok := first[r.Prompt]
		if !ok {
			first[r.Prompt] = r.Split
		} else if s != r.Split {
			bad[r.Prompt] = true
		}
	}
	out := make([]string, 0, len(bad))
	for p := range bad {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

package prefgen

import (
	"encoding/json"
	"io"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/kit/prefdata"
)

// The files a study's data stage writes beyond train/val/ood.jsonl.
const (
	// CleanTrainFile is train.jsonl with every swapped label swapped back:
	// the clean-label setting's training pairs (the same pairs, so both
	// settings share generation and gold scoring).
	CleanTrainFile = "train-clean.jsonl"
	// HumanFile is the human-labelled review pairs (HumanPairs).
	HumanFile = "human.jsonl"
	// RLPromptFile and HeldoutPromptFile are the policy prompts of RL
	// and of best-of-N and the duels: openings of held-out documents that
	// are in no preference pair, so no split used to rank or select the
	// reward models shares a prompt with them; RL's and the evaluation's
	// halves are disjoint, so duels judge policies on prompts they were
	// not trained on.
	RLPromptFile      = "rl-prompts.jsonl"
	HeldoutPromptFile = "heldout-prompts.jsonl"
)

// CleanLabels returns a copy of rows with the rows Corrupt swapped
// (Corrupted) swapped back and unmarked.
func CleanLabels(rows []prefdata.Row) []prefdata.Row {
	out := make([]prefdata.Row, len(rows))
	for i, r := range rows {
		if r.Corrupted {
			r.Chosen, r.Rejected = r.Rejected, r.Chosen
			r.GoldChosen, r.GoldRejected = r.GoldRejected, r.GoldChosen
			r.Corrupted = false
		}
		out[i] = r
	}
	return out
}

// PolicyPrompts splits the candidate prompts that appear in none of the
// used rows into RL prompts and held-out prompts, alternately (so both
// halves follow the candidates' seeded order).
func PolicyPrompts(cands []Prompt, used ...[]prefdata.Row) (rl, heldout []string) {
	seen := map[string]bool{}
	for _, rows := range used {
		for _, r := range rows {
			seen[r.Prompt] = true
		}
	}
	k := 0
	for _, p := range cands {
		if seen[p.Text] {
			continue
		}
		seen[p.Text] = true
		if k%2 == 0 {
			heldout = append(heldout, p.Text)
		} else {
			rl = append(rl, p.Text)
		}
		k++
	}
	return rl, heldout
}

// writePrompts writes one {"prompt": ...} row per prompt (ReadPrompts
// reads them back).
func writePrompts(path string, prompts []string) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, p := range prompts {
			if err := enc.Encode(struct {
				Prompt string `json:"prompt"`
			}{p}); err != nil {
				return err
			}
		}
		return nil
	})
}

package prefgen

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/warm-rm/warm/kit/prefdata"
)

func f64(x float64) *float64 { return &x }

// CleanLabels undoes exactly Corrupt's swaps: the clean file is the
// labelled file before corruption, row for row.
func TestCleanLabelsUndoesCorrupt(t *testing.T) {
	var rows []prefdata.Row
	for i := range 40 {
		rows = append(rows, prefdata.Row{Prompt: "p", Chosen: "good " + string(rune('a'+i%26)), Rejected: "bad", GoldChosen: f64(float64(i)), GoldRejected: f64(-1)})
	}
	orig := slices.Clone(rows)
	n := prefdata.Corrupt(rows, 0.25, rand.New(rand.NewPCG(1, 2)))
	if n != 10 {
		t.Fatalf("corrupted %d rows, want 10", n)
	}
	clean := CleanLabels(rows)
	for i := range clean {
		c, o := clean[i], orig[i]
		if c.Chosen != o.Chosen || c.Rejected != o.Rejected || *c.GoldChosen != *o.GoldChosen || *c.GoldRejected != *o.GoldRejected || c.Corrupted {
			t.Fatalf("row %d: %+v, want %+v", i, c, o)
		}
	}
	if k := prefdata.Summarize(rows).CorruptionRate; k != 0.25 {
		t.Fatalf("CleanLabels modified its input (corruption rate now %g)", k)
	}
}

// Policy prompts never repeat a prompt of a pair, are split alternately
// and without overlap, and read back with prefdata.ReadPrompts.
func TestPolicyPrompts(t *testing.T) {
	cands := []Prompt{{Text: "a"}, {Text: "b"}, {Text: "c"}, {Text: "b"}, {Text: "d"}, {Text: "e"}}
	used := []prefdata.Row{{Prompt: "c"}}
	rl, held := PolicyPrompts(cands, used)
	if !slices.Equal(held, []string{"a", "d"}) || !slices.Equal(rl, []string{"b", "e"}) {
		t.Fatalf("rl %v, heldout %v", rl, held)
	}
	path := filepath.Join(t.TempDir(), "p.jsonl")
	if err := writePrompts(path, []string{`say "hi" <b>`, "x"}); err != nil {
		t.Fatal(err)
	}
	ps, err := prefdata.ReadPrompts(path)
	back := prefdata.PromptTexts(ps)
	if err != nil || !slices.Equal(back, []string{`say "hi" <b>`, "x"}) {
		t.Fatalf("read back %q %v", back, err)
	}
}

package prefgen

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/study/corpus"
)

// reviews: per source, positives "SRC good k" and negatives "SRC bad k"
// (amazon 5+/3−, imdb 2+/4−, yelp 3+/0−: yelp makes no pair).
func reviews() []corpus.LabelledSentence {
	var out []corpus.LabelledSentence
	add := func(src string, npos, nneg int) {
		for k := 0; k < max(npos, nneg); k++ {
			if k < npos {
				out = append(out, corpus.LabelledSentence{Text: src + " good " + strings.Repeat("x ", k%3) + string(rune('a'+k)), Label: 1, Source: src})
			}
			if k < nneg {
				out = append(out, corpus.LabelledSentence{Text: src + " bad " + string(rune('a'+k)), Label: 0, Source: src})
			}
		}
	}
	add("amazon", 5, 3)
	add("imdb", 2, 4)
	add("yelp", 3, 0)
	return out
}

func TestHumanPairs(t *testing.T) {
	sents := reviews()
	rows, sum, err := HumanPairs(sents, HumanOptions{Seed: 7, Judge: countJudge{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3+2 || sum.Pairs != 5 || sum.BySource["amazon"] != 3 || sum.BySource["imdb"] != 2 || sum.BySource["yelp"] != 0 {
		t.Fatalf("%d rows, summary %+v; want 3 amazon + 2 imdb", len(rows), sum)
	}
	used := map[string]bool{}
	for _, r := range rows {
		if r.Prompt != "" || r.Split != "human" || !strings.HasPrefix(r.ID, "human/"+r.Subset+"/") {
			t.Errorf("row %+v: want empty prompt, split human, id human/%s/K", r, r.Subset)
		}
		if !strings.HasPrefix(r.Chosen, r.Subset+" good ") || !strings.HasPrefix(r.Rejected, r.Subset+" bad ") {
			t.Errorf("row %s: chosen %q, rejected %q: want a positive and a negative of %s", r.ID, r.Chosen, r.Rejected, r.Subset)
		}
		for _, s := range []string{r.Chosen, r.Rejected} {
			if used[s] {
				t.Errorf("sentence %q used twice", s)
			}
			used[s] = true
		}
		if *r.GoldChosen != 0.25 || *r.GoldRejected != -0.25 {
			t.Errorf("row %s: gold %v / %v, want the judge's 0.25 / -0.25", r.ID, *r.GoldChosen, *r.GoldRejected)
		}
	}
	if sum.GoldAgreement == nil || *sum.GoldAgreement != 1 {
		t.Errorf("gold agreement %v, want 1", sum.GoldAgreement)
	}
	// Length shortcut, recomputed by hand from the rows.
	var longer float64
	for _, r := range rows {
		a, b := len(strings.Fields(r.Chosen)), len(strings.Fields(r.Rejected))
		if a > b {
			longer++
		} else if a == b {
			longer += 0.5
		}
	}
	if sum.LongerChosen != longer/5 {
		t.Errorf("longer_chosen %v, want %v", sum.LongerChosen, longer/5)
	}

	t.Run("deterministic", func(t *testing.T) {
		again, _, _ := HumanPairs(sents, HumanOptions{Seed: 7, Judge: countJudge{}})
		if !slices.EqualFunc(rows, again, func(a, b prefdata.Row) bool { return a.ID == b.ID && a.Chosen == b.Chosen && a.Rejected == b.Rejected }) {
			t.Error("same seed, different rows")
		}
		differ := false
		for seed := uint64(8); seed < 14 && !differ; seed++ {
			other, _, _ := HumanPairs(sents, HumanOptions{Seed: seed})
			for i := range other {
				differ = differ || other[i].Chosen != rows[i].Chosen || other[i].Rejected != rows[i].Rejected
			}
		}
		if !differ {
			t.Error("six other seeds all give the same pairing")
		}
	})
	t.Run("cap", func(t *testing.T) {
		few, s, err := HumanPairs(sents, HumanOptions{N: 2, Seed: 7})
		if err != nil || len(few) != 2 || s.Pairs != 2 || few[0].ID != rows[0].ID || s.GoldAgreement != nil {
			t.Errorf("N=2: %d rows (%+v), err %v; want the first 2 of the full split, no gold", len(few), s, err)
		}
	})
	t.Run("jsonl", func(t *testing.T) {
		// Chosen and rejected share their first word: an implicit prompt
		// would strip it; the explicit empty prompt must survive.
		path := filepath.Join(t.TempDir(), "human.jsonl")
		if err := prefdata.WriteJSONL(path, rows); err != nil {
			t.Fatal(err)
		}
		back, err := prefdata.ReadPairs(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := range rows {
			if back[i].Prompt != "" || back[i].Chosen != rows[i].Chosen || back[i].Rejected != rows[i].Rejected || back[i].Subset != rows[i].Subset {
				t.Fatalf("row %d read back as %+v, wrote %+v", i, back[i], rows[i])
			}
		}
	})
}

func TestHumanPairsErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		sents []corpus.LabelledSentence
		n     int
		want  string
	}{
		{"label", []corpus.LabelledSentence{{Text: "ok", Label: 2, Source: "imdb"}}, 0, "label 2"},
		{"empty", []corpus.LabelledSentence{{Text: "  ", Label: 1, Source: "imdb"}}, 0, "empty"},
		{"no pair", []corpus.LabelledSentence{{Text: "fine", Label: 1, Source: "imdb"}, {Text: "bad", Label: 0, Source: "yelp"}}, 0, "no source"},
		{"negative n", reviews(), -1, "-1 pairs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := HumanPairs(c.sents, HumanOptions{N: c.n}); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestHumanPairsInstalled uses the real sentences when scripts/setup ran.
func TestHumanPairsInstalled(t *testing.T) {
	dataDir := filepath.Join("..", "..", "data")
	if _, err := os.Stat(filepath.Join(dataDir, "CHECKSUMS")); err != nil {
		t.Skip("data/ not installed (run scripts/setup)")
	}
	sents, err := corpus.ReviewSentences(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	rows, sum, err := HumanPairs(sents, HumanOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// 1,000 sentences per source, about half positive.
	if len(rows) < 1400 || len(rows) > 1500 || len(sum.BySource) != 3 {
		t.Errorf("%d pairs from %d sentences (%v)", len(rows), len(sents), sum.BySource)
	}
	t.Logf("%d pairs %v; longer chosen %.3f", sum.Pairs, sum.BySource, sum.LongerChosen)
}

package prefgen

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/study/corpus"
)

// HumanOptions sets how the human-labelled split is drawn.
type HumanOptions struct {
	N     int    // pairs wanted (0: every pair the sentences allow)
	Seed  uint64 // pairing and order
	Judge Judge  // optional: fills gold_chosen / gold_rejected, to measure the gold judge against humans
}

// HumanSummary describes the human-labelled split.
type HumanSummary struct {
	Pairs    int            `json:"pairs"`
	BySource map[string]int `json:"by_source"`
	// LongerChosen is the fraction of pairs whose chosen (positive)
	// sentence has more words than the rejected one (ties count half): the
	// accuracy of "prefer the longer text", the length shortcut's ceiling.
	LongerChosen float64 `json:"longer_chosen"`
	// GoldAgreement is the fraction of pairs on which the gold judge
	// scores the positive sentence higher (ties count half); absent
	// without a judge.
	GoldAgreement *float64 `json:"gold_agreement,omitempty"`
}

// HumanPairs builds an evaluation split from human-labelled review
// sentences (corpus.ReviewSentences): in each source a positive sentence
// is the chosen response and a negative one the rejected, with an empty
// prompt. Pairs stay within a source, so chosen and rejected come from the
// same kind of review (product, film, restaurant) and only the human label
// separates them; every sentence is used at most once, so pairs are
// independent for a bootstrap. The pairing is a seeded shuffle of each
// source's positives and negatives, zipped; the pairs are then shuffled
// across sources and the first N kept. Same sentences and seed, same rows.
//
// Rows carry id "human/SOURCE/K", subset SOURCE and split "human"; write
// them with prefdata.WriteJSONL (an explicit empty prompt, not an implicit
// one).
func HumanPairs(sents []corpus.LabelledSentence, o HumanOptions) ([]prefdata.Row, HumanSummary, error) {
	if o.N < 0 {
		return nil, HumanSummary{}, fmt.Errorf("human pairs: %d pairs wanted", o.N)
	}
	var sources []string
	pos, neg := map[string][]string{}, map[string][]string{}
	for i, s := range sents {
		text := strings.TrimSpace(s.Text)
		if text == "" {
			return nil, HumanSummary{}, fmt.Errorf("human pairs: sentence %d (%s) is empty", i, s.Source)
		}
		if _, ok := pos[s.Source]; !ok {
			if _, ok := neg[s.Source]; !ok {
				sources = append(sources, s.Source)
			}
		}
		switch s.Label {
		case 1:
			pos[s.Source] = append(pos[s.Source], text)
		case 0:
			neg[s.Source] = append(neg[s.Source], text)
		default:
			return nil, HumanSummary{}, fmt.Errorf("human pairs: sentence %d (%s) has label %d, want 0 or 1", i, s.Source, s.Label)
		}
	}
	var rows []prefdata.Row
	for _, src := range sources {
		r := rand.New(rand.NewPCG(o.Seed, splitSalt("human/"+src)))
		p, n := pos[src], neg[src]
		pi, ni := r.Perm(len(p)), r.Perm(len(n))
		for k := 0; k < min(len(p), len(n)); k++ {
			rows = append(rows, prefdata.Row{
				ID: fmt.Sprintf("human/%s/%d", src, k), Prompt: "", Chosen: p[pi[k]], Rejected: n[ni[k]],
				Subset: src, Split: "human",
			})
		}
	}
	if len(rows) == 0 {
		return nil, HumanSummary{}, fmt.Errorf("human pairs: no source has both a positive and a negative sentence (%d sentences)", len(sents))
	}
	r := rand.New(rand.NewPCG(o.Seed, splitSalt("human")))
	r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	if o.N > 0 && o.N < len(rows) {
		rows = rows[:o.N]
	}
	sum := HumanSummary{Pairs: len(rows), BySource: map[string]int{}}
	var agree float64
	for i := range rows {
		row := &rows[i]
		sum.BySource[row.Subset]++
		sum.LongerChosen += half(len(strings.Fields(row.Chosen)), len(strings.Fields(row.Rejected)))
		if o.Judge != nil {
			gc, gr := o.Judge.Score("", row.Chosen), o.Judge.Score("", row.Rejected)
			row.GoldChosen, row.GoldRejected = prefdata.Float(gc), prefdata.Float(gr)
			agree += half(gc, gr)
		}
	}
	sum.LongerChosen /= float64(len(rows))
	if o.Judge != nil {
		g := agree / float64(len(rows))
		sum.GoldAgreement = &g
	}
	return rows, sum, nil
}

// half is 1 if a > b, ½ on a tie, 0 otherwise.
func half[T int | float64](a, b T) float64 {
	switch {
	case a > b:
		return 1
	case a == b:
		return 0.5
	}
	return 0
}

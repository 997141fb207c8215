package reward

import (
	"fmt"

	"github.com/warm-rm/warm/kit/prefdata"
)

// Item is one row to score: a response, or a chosen/rejected pair, each
// scored as Prompt + text. Where names the row ("FILE: row N") for errors.
// warm score builds items from prefdata rows (the one reader and
// validator of row files).
type Item struct {
	Prompt string
	Texts  []string // [response] or [chosen, rejected]
	Where  string

	// For a conversational row, the prompt's messages and each text's
	// messages (TextMessages[k] beside Texts[k]); nil for a string row.
	// A SideEncoder (Input) renders them with the chat template.
	PromptMessages []prefdata.Message
	TextMessages   [][]prefdata.Message
}

// IsPair reports whether the item is a chosen/rejected pair.
func (it Item) IsPair() bool { return len(it.Texts) == 2 }

// Items scores every item: out[i][k] is the reward of items[i].Texts[k].
// All texts are encoded before any is scored, so bad input fails fast and
// names its row.
func (s TextScorer) Items(items []Item) ([][]float32, error) {
	type slot struct{ row, k int }
	var seqs [][]int
	var where []slot
	for i, it := range items {
		for k, t := range it.Texts {
			ids, err := s.encodeSide(it, k, t)
			switch {
			case err == ErrEmptyText:
				return nil, fmt.Errorf("%s: empty text to score", it.Where)
			case err != nil:
				return nil, fmt.Errorf("%s: %v (see --truncate)", it.Where, err)
			}
			seqs = append(seqs, ids)
			where = append(where, slot{i, k})
		}
	}
	r, err := s.Seqs(seqs)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(items))
	for i, it := range items {
		out[i] = make([]float32, len(it.Texts))
	}
	for j, w := range where {
		out[w.row][w.k] = r[j]
	}
	return out, nil
}

// ItemsFromData turns rows read by prefdata.Read into items: prompt +
// response, or prompt + chosen and prompt + rejected, conversational rows
// with their messages; each named "NAME: row N" (1-based).
func ItemsFromData(d *prefdata.Data, name string) []Item {
	items := make([]Item, 0, d.Len())
	for i := range d.Len() {
		it := Item{Where: fmt.Sprintf("%s: row %d", name, i+1)}
		if d.Kind == prefdata.Texts {
			r := &d.Texts[i]
			it.Prompt, it.Texts = r.Prompt, []string{r.Response}
			if r.Conversational() {
				it.PromptMessages, it.TextMessages = r.PromptMessages, [][]prefdata.Message{r.ResponseMessages}
			}
		} else {
			r := &d.Pairs[i]
			it.Prompt, it.Texts = r.Prompt, []string{r.Chosen, r.Rejected}
			if r.Conversational() {
				it.PromptMessages, it.TextMessages = r.PromptMessages, [][]prefdata.Message{r.ChosenMessages, r.RejectedMessages}
			}
		}
		items = append(items, it)
	}
	return items
}

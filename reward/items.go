package reward

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Item is one row to score: a response, or a chosen/rejected pair, each
// scored as Prompt + text. Where names the row ("file:line") for errors.
type Item struct {
	Prompt string
	Texts  []string // [response] or [chosen, rejected]
	Where  string
}

// IsPair reports whether the item is a chosen/rejected pair.
func (it Item) IsPair() bool { return len(it.Texts) == 2 }

// ReadItems parses JSONL rows {"prompt"?, "response"} or {"prompt"?,
// "chosen", "rejected"}. Blank lines are skipped; any other malformed line
// is an error naming name:line.
func ReadItems(in io.Reader, name string) ([]Item, error) {
	var items []Item
	br := bufio.NewReader(in)
	for lineNo := 1; ; lineNo++ {
		line, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return nil, fmt.Errorf("%s:%d: %v", name, lineNo, rerr)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			var r struct {
				Prompt   *string `json:"prompt"`
				Response *string `json:"response"`
				Chosen   *string `json:"chosen"`
				Rejected *string `json:"rejected"`
			}
			if err := json.Unmarshal(line, &r); err != nil {
				return nil, fmt.Errorf("%s:%d: not a JSON object with string fields: %v", name, lineNo, err)
			}
			it := Item{Where: fmt.Sprintf("%s:%d", name, lineNo)}
			if r.Prompt != nil {
				it.Prompt = *r.Prompt
			}
			switch {
			case r.Response != nil && r.Chosen == nil && r.Rejected == nil:
				it.Texts = []string{*r.Response}
			case r.Response == nil && r.Chosen != nil && r.Rejected != nil:
				it.Texts = []string{*r.Chosen, *r.Rejected}
			default:
				return nil, fmt.Errorf(`%s:%d: want "response", or "chosen" and "rejected" (with an optional "prompt")`, name, lineNo)
			}
			items = append(items, it)
		}
		if rerr == io.EOF {
			return items, nil
		}
	}
}

// Items scores every item: out[i][k] is the reward of items[i].Texts[k].
// All texts are encoded before any is scored, so bad input fails fast and
// names its row.
func (s TextScorer) Items(items []Item) ([][]float32, error) {
	type slot struct{ row, k int }
	var seqs [][]int
	var where []slot
	for i, it := range items {
		for k, t := range it.Texts {
			ids, err := s.Encode(it.Prompt + t)
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

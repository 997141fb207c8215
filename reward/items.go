package reward

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/warm-rm/warm/prefdata"
)

// Item is one row to score: a response, or a chosen/rejected pair, each
// scored as Prompt + text. Where names the row ("file:line") for errors.
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

// ReadItems parses JSONL rows {"prompt"?, "response"} or {"prompt"?,
// "chosen", "rejected"}, each field a string or (TRL's conversational
// rows) a list of {"role", "content"} messages. Blank lines are skipped; any other malformed line
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
			it, err := parseItem(line)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", name, lineNo, err)
			}
			it.Where = fmt.Sprintf("%s:%d", name, lineNo)
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

// parseItem reads one JSONL row: string fields, or message lists for a
// conversational row (then all of its fields are lists). An implicit
// prompt is left in the responses: the conversation rendered is the same.
func parseItem(line []byte) (Item, error) {
	var r struct {
		Prompt   json.RawMessage `json:"prompt"`
		Response json.RawMessage `json:"response"`
		Chosen   json.RawMessage `json:"chosen"`
		Rejected json.RawMessage `json:"rejected"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return Item{}, fmt.Errorf("not a JSON object: %v", err)
	}
	var texts []json.RawMessage
	switch present := func(m json.RawMessage) bool { return len(m) > 0 && string(m) != "null" }; {
	case present(r.Response) && !present(r.Chosen) && !present(r.Rejected):
		texts = []json.RawMessage{r.Response}
	case !present(r.Response) && present(r.Chosen) && present(r.Rejected):
		texts = []json.RawMessage{r.Chosen, r.Rejected}
	default:
		return Item{}, fmt.Errorf(`want "response", or "chosen" and "rejected" (with an optional "prompt")`)
	}
	conv := bytes.HasPrefix(bytes.TrimSpace(texts[0]), []byte("["))
	var it Item
	if !conv {
		if len(r.Prompt) > 0 && string(r.Prompt) != "null" {
			if err := json.Unmarshal(r.Prompt, &it.Prompt); err != nil {
				return Item{}, fmt.Errorf(`"prompt": not a string with string "response"/"chosen"/"rejected": %v`, err)
			}
		}
		for _, t := range texts {
			var s string
			if err := json.Unmarshal(t, &s); err != nil {
				return Item{}, fmt.Errorf("not a JSON object with string fields: %v", err)
			}
			it.Texts = append(it.Texts, s)
		}
		return it, nil
	}
	msgs := func(field string, raw json.RawMessage) ([]prefdata.Message, error) {
		var m []prefdata.Message
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%q: want a list of {\"role\", \"content\"} messages like the other fields: %v", field, err)
		}
		for i, x := range m {
			if x.Role == "" {
				return nil, fmt.Errorf("%q: message %d has no \"role\"", field, i+1)
			}
		}
		return m, nil
	}
	it.PromptMessages = []prefdata.Message{}
	if len(r.Prompt) > 0 && string(r.Prompt) != "null" {
		p, err := msgs("prompt", r.Prompt)
		if err != nil {
			return Item{}, err
		}
		it.PromptMessages = p
	}
	it.Prompt = prefdata.PlainText(it.PromptMessages)
	names := []string{"response"}
	if len(texts) == 2 {
		names = []string{"chosen", "rejected"}
	}
	for k, t := range texts {
		m, err := msgs(names[k], t)
		if err != nil {
			return Item{}, err
		}
		if len(m) == 0 {
			return Item{}, fmt.Errorf("%q: no messages", names[k])
		}
		it.Texts = append(it.Texts, prefdata.PlainText(m))
		it.TextMessages = append(it.TextMessages, m)
	}
	return it, nil
}

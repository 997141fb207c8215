package prefdata

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The one row validator. Both readers (JSONL, Parquet) turn a row into a
// record: a map from column name to a JSON-shaped value (nil, string,
// []byte, bool, json.Number, []any, map[string]any), so every rule and
// every message below is the same whatever the file format. Messages name
// the field and describe the value in words (docs/data.md lists them); the
// reader prefixes the file and the line or row.
type record map[string]any

// get returns a field's value; a null field counts as absent.
func (rec record) get(key string) (any, bool) {
	v, ok := rec[key]
	return v, ok && v != nil
}

// turns is a field that holds either text or chat messages.
type turns struct {
	text   string
	msgs   []Message
	isMsgs bool
}

func (t turns) empty() bool {
	if t.isMsgs {
		return len(t.msgs) == 0
	}
	return t.text == ""
}

// textOrMessages reads key as a string or a list of {"role","content"}
// messages. ok is false when the field is absent or null.
func (rec record) textOrMessages(key string) (t turns, ok bool, err error) {
	v, ok := rec.get(key)
	if !ok {
		return t, false, nil
	}
	if s, isStr := asString(v); isStr {
		return turns{text: s}, true, nil
	}
	list, isList := v.([]any)
	if !isList {
		return t, true, fmt.Errorf("%q must be a string or a list of messages, got %s", key, describe(v))
	}
	t = turns{isMsgs: true, msgs: make([]Message, 0, len(list))}
	for i, e := range list {
		m, isObj := e.(map[string]any)
		if !isObj {
			if i == 0 {
				return t, true, fmt.Errorf("%q must be a string or a list of messages, got %s", key, describe(v))
			}
			return t, true, fmt.Errorf(`%q message %d must be an object with "role" and "content", got %s`, key, i+1, describe(e))
		}
		var msg Message
		for _, f := range [...]struct {
			name string
			dst  *string
		}{{"role", &msg.Role}, {"content", &msg.Content}} {
			fv, present := record(m).get(f.name)
			if !present {
				return t, true, fmt.Errorf("%q message %d: missing %q", key, i+1, f.name)
			}
			s, isStr := asString(fv)
			if !isStr {
				return t, true, fmt.Errorf("%q message %d: %q must be a string, got %s", key, i+1, f.name, describe(fv))
			}
			*f.dst = s
		}
		if msg.Role == "" {
			return t, true, fmt.Errorf("%q message %d: \"role\" is empty", key, i+1)
		}
		t.msgs = append(t.msgs, msg)
	}
	return t, true, nil
}

// decodePair validates a preference row. See docs/data.md for the rules.
func decodePair(rec record) (Row, error) {
	var r Row
	p, hasP, err := rec.textOrMessages("prompt")
	if err != nil {
		return r, err
	}
	c, hasC, err := rec.textOrMessages("chosen")
	if err != nil {
		return r, err
	}
	j, hasJ, err := rec.textOrMessages("rejected")
	if err != nil {
		return r, err
	}
	switch {
	case !hasC:
		return r, fmt.Errorf(`missing "chosen"`)
	case !hasJ:
		return r, fmt.Errorf(`missing "rejected"`)
	case c.isMsgs != j.isMsgs:
		return r, fmt.Errorf(`"chosen" and "rejected" must both be strings or both be lists of messages, got %s and %s`, kindOf(c), kindOf(j))
	case c.empty():
		return r, fmt.Errorf(`"chosen" is empty`)
	case j.empty():
		return r, fmt.Errorf(`"rejected" is empty`)
	}
	if c.isMsgs {
		// TRL keeps a prompt given as messages; a text prompt beside
		// message responses is a label, not part of the conversation, and
		// TRL extracts the prompt from the responses instead.
		if hasP && p.isMsgs {
			r.PromptMessages, r.ChosenMessages, r.RejectedMessages = p.msgs, c.msgs, j.msgs
		} else {
			r.PromptMessages, r.ChosenMessages, r.RejectedMessages = splitImplicitMessages(c.msgs, j.msgs)
		}
		r.Prompt, r.Chosen, r.Rejected = PlainText(r.PromptMessages), PlainText(r.ChosenMessages), PlainText(r.RejectedMessages)
	} else {
		switch {
		case hasP && p.isMsgs:
			return r, fmt.Errorf(`"prompt" is a list of messages but "chosen" and "rejected" are strings`)
		case hasP:
			r.Prompt, r.Chosen, r.Rejected = p.text, c.text, j.text
		default:
			r.Prompt, r.Chosen, r.Rejected = splitImplicit(c.text, j.text)
		}
	}
	if r.ID, err = rec.id(); err != nil {
		return r, err
	}
	if r.Margin, err = rec.number("margin"); err != nil {
		return r, err
	}
	if r.GoldChosen, err = rec.number("gold_chosen"); err != nil {
		return r, err
	}
	if r.GoldRejected, err = rec.number("gold_rejected"); err != nil {
		return r, err
	}
	if r.Subset, err = rec.text("subset"); err != nil {
		return r, err
	}
	if r.Split, err = rec.text("split"); err != nil {
		return r, err
	}
	if v, ok := rec.get("corrupted"); ok {
		b, isBool := v.(bool)
		if !isBool {
			return r, fmt.Errorf(`"corrupted" must be true or false, got %s`, describe(v))
		}
		r.Corrupted = b
	}
	return r, nil
}

// decodeScore validates a row to score: "response" required and
// non-empty, "prompt" optional, both text or both messages.
func decodeScore(rec record) (ScoreRow, error) {
	var r ScoreRow
	p, hasP, err := rec.textOrMessages("prompt")
	if err != nil {
		return r, err
	}
	s, hasS, err := rec.textOrMessages("response")
	if err != nil {
		return r, err
	}
	switch {
	case !hasS:
		return r, fmt.Errorf(`missing "response"`)
	case s.empty():
		return r, fmt.Errorf(`"response" is empty`)
	case hasP && p.isMsgs != s.isMsgs:
		return r, fmt.Errorf(`"prompt" and "response" must both be strings or both be lists of messages, got %s and %s`, kindOf(p), kindOf(s))
	}
	if s.isMsgs {
		r.PromptMessages, r.ResponseMessages = p.msgs, s.msgs
		if r.PromptMessages == nil {
			r.PromptMessages = []Message{}
		}
		r.Prompt, r.Response = PlainText(r.PromptMessages), PlainText(r.ResponseMessages)
	} else {
		r.Prompt, r.Response = p.text, s.text
	}
	r.ID, err = rec.id()
	return r, err
}

// decodePrompt reads a prompt: a pair row's prompt (explicit or implicit,
// after the pair rules) or a row's "prompt" field, which may be empty.
func decodePrompt(rec record) (Prompt, error) {
	_, hasC := rec.get("chosen")
	_, hasJ := rec.get("rejected")
	if hasC || hasJ {
		r, err := decodePair(rec)
		return Prompt{ID: r.ID, Text: r.Prompt, Messages: r.PromptMessages}, err
	}
	p, hasP, err := rec.textOrMessages("prompt")
	if err != nil {
		return Prompt{}, err
	}
	if !hasP {
		return Prompt{}, fmt.Errorf(`missing "prompt"`)
	}
	out := Prompt{Text: p.text}
	if p.isMsgs {
		out.Text, out.Messages = PlainText(p.msgs), p.msgs
	}
	out.ID, err = rec.id()
	return out, err
}

// id reads the optional "id": a string, or a whole number kept as its
// decimal text (Hugging Face datasets often number their rows).
func (rec record) id() (string, error) {
	v, ok := rec.get("id")
	if !ok {
		return "", nil
	}
	if s, isStr := asString(v); isStr {
		return s, nil
	}
	if n, isNum := v.(json.Number); isNum && isInteger(string(n)) {
		return string(n), nil
	}
	return "", fmt.Errorf(`"id" must be a string or a whole number, got %s`, describe(v))
}

// isInteger reports whether a JSON number is written as a whole number
// (any size: ids can exceed 64 bits).
func isInteger(n string) bool {
	n = strings.TrimPrefix(n, "-")
	return n != "" && strings.Trim(n, "0123456789") == ""
}

// number reads an optional finite number.
func (rec record) number(key string) (*float64, error) {
	v, ok := rec.get(key)
	if !ok {
		return nil, nil
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return nil, fmt.Errorf("%q must be a number, got %s", key, describe(v))
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%q must be a finite number, got %s", key, n)
	}
	return &f, nil
}

// text reads an optional string.
func (rec record) text(key string) (string, error) {
	v, ok := rec.get(key)
	if !ok {
		return "", nil
	}
	s, isStr := asString(v)
	if !isStr {
		return "", fmt.Errorf("%q must be a string, got %s", key, describe(v))
	}
	return s, nil
}

// asString accepts a string, or bytes that are valid UTF-8 (a Parquet
// BYTE_ARRAY column written without the STRING annotation).
func asString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		if utf8.Valid(x) {
			return string(x), true
		}
	}
	return "", false
}

func kindOf(t turns) string {
	if t.isMsgs {
		return "a list of messages"
	}
	return "a string"
}

// describe names a value's type in words, for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case []byte:
		return "binary data"
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		if len(x) == 0 {
			return "an empty array"
		}
		kind := plural(x[0])
		for _, e := range x[1:] {
			if plural(e) != kind {
				return "an array of mixed values"
			}
		}
		return "an array of " + kind
	}
	return "a value of an unsupported type"
}

func plural(v any) string {
	switch v.(type) {
	case nil:
		return "nulls"
	case string:
		return "strings"
	case []byte:
		return "binary values"
	case bool:
		return "booleans"
	case json.Number:
		return "numbers"
	case map[string]any:
		return "objects"
	case []any:
		return "arrays"
	}
	return "unsupported values"
}

package prefdata

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
)

// Score output: what `warm score` writes, one record per input row in input
// order. Each record carries the row's "id" (the input's id as a string, or
// the 0-based row index as a number when the row has none) and its
// reward(s):
//
//	texts: {"id", "reward"}
//	pairs: {"id", "reward_chosen", "reward_rejected", "margin"}
//
// where margin = reward_chosen − reward_rejected (not the input's "margin"
// column, which is not copied). With WithInput the input texts follow:
// "prompt", "response" or "prompt", "chosen", "rejected" (for a
// conversational row, its message lists; in CSV, their JSON text). Rewards
// are float32 printed in their shortest exact form. CSV has a header line
// with the same names, in the same order.

// Score output formats.
const (
	ScoreJSONL = "jsonl"
	ScoreCSV   = "csv"
)

// ScoreOptions say how WriteScores writes.
type ScoreOptions struct {
	Format    string // ScoreJSONL (also when empty) or ScoreCSV
	WithInput bool   // copy the input texts next to the rewards
}

// Scores are the rewards of a Data, row-aligned: Rewards for texts,
// Chosen and Rejected for pairs.
type Scores struct {
	Rewards          []float32
	Chosen, Rejected []float32
}

// CheckScoreFormat returns an error unless format is a score output format.
func CheckScoreFormat(format string) error {
	switch format {
	case "", ScoreJSONL, ScoreCSV:
		return nil
	}
	return fmt.Errorf("format %q: want %s or %s", format, ScoreJSONL, ScoreCSV)
}

// WriteScores writes the score output of d to w.
func WriteScores(w io.Writer, d *Data, s Scores, o ScoreOptions) error {
	if err := CheckScoreFormat(o.Format); err != nil {
		return err
	}
	n := d.Len()
	var header []string
	switch d.Kind {
	case Texts:
		if len(s.Rewards) != n {
			return fmt.Errorf("prefdata: WriteScores: %d rewards for %d rows", len(s.Rewards), n)
		}
		header = []string{"id", "reward"}
		if o.WithInput {
			header = append(header, "prompt", "response")
		}
	case Pairs:
		if len(s.Chosen) != n || len(s.Rejected) != n {
			return fmt.Errorf("prefdata: WriteScores: %d/%d rewards for %d pairs", len(s.Chosen), len(s.Rejected), n)
		}
		header = []string{"id", "reward_chosen", "reward_rejected", "margin"}
		if o.WithInput {
			header = append(header, "prompt", "chosen", "rejected")
		}
	default:
		return fmt.Errorf("prefdata: WriteScores: data of unknown kind")
	}

	var cw *csv.Writer
	var enc *json.Encoder
	if o.Format == ScoreCSV {
		cw = csv.NewWriter(w)
		if err := cw.Write(header); err != nil {
			return err
		}
	} else {
		enc = json.NewEncoder(w)
		enc.SetEscapeHTML(false)
	}
	vals := make([]any, len(header))
	for i := range n {
		vals = vals[:0]
		var id, prompt any
		var rewards []float32
		var texts []any
		if d.Kind == Texts {
			r := &d.Texts[i]
			id, rewards = rowID(r.ID, i), []float32{s.Rewards[i]}
			prompt, texts = r.Prompt, []any{r.Response}
			if r.Conversational() {
				prompt, texts = orEmpty(r.PromptMessages), []any{r.ResponseMessages}
			}
		} else {
			r := &d.Pairs[i]
			id, rewards = rowID(r.ID, i), []float32{s.Chosen[i], s.Rejected[i], s.Chosen[i] - s.Rejected[i]}
			prompt, texts = r.Prompt, []any{r.Chosen, r.Rejected}
			if r.Conversational() {
				prompt, texts = orEmpty(r.PromptMessages), []any{r.ChosenMessages, r.RejectedMessages}
			}
		}
		for _, x := range rewards {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("row %d: reward is %v (a broken model?)", i+1, x)
			}
		}
		vals = append(vals, id)
		for _, x := range rewards {
			vals = append(vals, x)
		}
		if o.WithInput {
			vals = append(append(vals, prompt), texts...)
		}
		var err error
		if cw != nil {
			err = writeCSVRecord(cw, vals)
		} else {
			err = writeJSONRecord(enc, header, vals)
		}
		if err != nil {
			return fmt.Errorf("row %d: %v", i+1, err)
		}
	}
	if cw != nil {
		cw.Flush()
		return cw.Error()
	}
	return nil
}

// rowID is the id written for row i: its own, else its 0-based index.
func rowID(id string, i int) any {
	if id != "" {
		return id
	}
	return i
}

// writeJSONRecord writes one object with the keys in header order.
func writeJSONRecord(enc *json.Encoder, keys []string, vals []any) error {
	obj := make(orderedObject, len(keys))
	for i, k := range keys {
		obj[i] = keyValue{k, vals[i]}
	}
	return enc.Encode(obj)
}

type keyValue struct {
	key string
	val any
}

// orderedObject is a JSON object that keeps its keys in order.
type orderedObject []keyValue

func (o orderedObject) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, kv := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(kv.key)
		if err != nil {
			return nil, err
		}
		v, err := marshalNoEscape(kv.val)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

// writeCSVRecord writes one CSV record: strings as they are, everything
// else (numbers, message lists) as its JSON text.
func writeCSVRecord(cw *csv.Writer, vals []any) error {
	rec := make([]string, len(vals))
	for i, v := range vals {
		if s, ok := v.(string); ok {
			rec[i] = s
			continue
		}
		b, err := marshalNoEscape(v)
		if err != nil {
			return err
		}
		rec[i] = string(b)
	}
	return cw.Write(rec)
}

// marshalNoEscape is json.Marshal without HTML escaping, so "<" and "&"
// in texts stay readable.
func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

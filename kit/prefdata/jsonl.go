package prefdata

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/warm-rm/warm/internal/atomicfile"
)

// MaxLine is the longest JSONL line the readers accept.
const MaxLine = 64 << 20

// eachJSONL decodes one JSON object a line into a record and calls fn;
// blank lines are skipped, a UTF-8 byte-order mark at the start is
// ignored. Errors read "name:line: problem". It returns the number of
// rows.
func eachJSONL(in io.Reader, name string, fn func(record) error) (int, error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	line, rows := 0, 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		rec, err := decodeLine(b)
		if err == nil {
			rows++
			err = fn(rec)
		}
		if err != nil {
			return rows, fmt.Errorf("%s:%d: %v", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return rows, fmt.Errorf("%s:%d: line longer than %d MB", name, line+1, MaxLine>>20)
		}
		return rows, fmt.Errorf("%s:%d: %v", name, line+1, err)
	}
	return rows, nil
}

// decodeLine parses one line as a JSON object, numbers kept as written.
func decodeLine(b []byte) (record, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("invalid JSON: the line ends inside a value")
		}
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("invalid JSON: more than one value on the line")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a line must be a JSON object, got %s", describe(v))
	}
	return m, nil
}

// tableRow is a Row as written to a file, its texts of type T: any (a
// string or messages) for JSONL, []Message for conversational Parquet.
// Text rows go to Parquet as Row itself.
type tableRow[T any] struct {
	ID           string   `json:"id,omitempty" parquet:"id"`
	Prompt       T        `json:"prompt" parquet:"prompt,list"`
	Chosen       T        `json:"chosen" parquet:"chosen,list"`
	Rejected     T        `json:"rejected" parquet:"rejected,list"`
	Margin       *float64 `json:"margin,omitempty" parquet:"margin,optional"`
	Subset       string   `json:"subset,omitempty" parquet:"subset"`
	GoldChosen   *float64 `json:"gold_chosen,omitempty" parquet:"gold_chosen,optional"`
	GoldRejected *float64 `json:"gold_rejected,omitempty" parquet:"gold_rejected,optional"`
	Corrupted    bool     `json:"corrupted,omitempty" parquet:"corrupted"`
	Split        string   `json:"split,omitempty" parquet:"split"`
}

func newTableRow[T any](r *Row, prompt, chosen, rejected T) tableRow[T] {
	return tableRow[T]{ID: r.ID, Prompt: prompt, Chosen: chosen, Rejected: rejected, Margin: r.Margin, Subset: r.Subset,
		GoldChosen: r.GoldChosen, GoldRejected: r.GoldRejected, Corrupted: r.Corrupted, Split: r.Split}
}

func toJSONRow(r *Row) tableRow[any] {
	if r.Conversational() {
		return newTableRow[any](r, orEmpty(r.PromptMessages), r.ChosenMessages, r.RejectedMessages)
	}
	return newTableRow[any](r, r.Prompt, r.Chosen, r.Rejected)
}

// orEmpty keeps an empty prompt a list ([]), not null: null would read
// back as an absent prompt, which asks for an implicit one.
func orEmpty(m []Message) []Message {
	if m == nil {
		return []Message{}
	}
	return m
}

// WriteJSONL writes rows as JSONL, atomically. The prompt is always
// written (an empty one as "" or []), so the file reads back with the same
// prompts; absent optional fields are left out.
func WriteJSONL(path string, rows []Row) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false) // keep "<", ">" and "&" readable in text
		for i := range rows {
			if err := enc.Encode(toJSONRow(&rows[i])); err != nil {
				return fmt.Errorf("row %d: %v", i+1, err)
			}
		}
		return nil
	})
}

package prefdata

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// MaxLine is the longest JSONL line the readers accept.
const MaxLine = 64 << 20

// rawRow decodes one JSONL line in a single pass; the pointers tell an
// absent (or null) field from an empty one.
type rawRow struct {
	ID           *string  `json:"id"`
	Prompt       *string  `json:"prompt"`
	Chosen       *string  `json:"chosen"`
	Rejected     *string  `json:"rejected"`
	Margin       *float64 `json:"margin"`
	Subset       *string  `json:"subset"`
	GoldChosen   *float64 `json:"gold_chosen"`
	GoldRejected *float64 `json:"gold_rejected"`
	Corrupted    *bool    `json:"corrupted"`
	Split        *string  `json:"split"`
}

// ReadJSONL reads preference rows, one JSON object a line. It is strict
// about what matters and lenient about the rest: "prompt" must be present
// and a string (it may be empty), "chosen" and "rejected" must be non-empty
// strings, optional fields must have their types (or be null); unknown
// fields are ignored and blank lines skipped. Errors read "file:line: problem".
func ReadJSONL(path string) ([]Row, error) {
	var rows []Row
	err := eachLine(path, func(b []byte) error {
		var x rawRow
		if err := json.Unmarshal(b, &x); err != nil {
			return decodeError(err)
		}
		switch {
		case x.Prompt == nil:
			return fmt.Errorf(`missing "prompt" (or null)`)
		case x.Chosen == nil:
			return fmt.Errorf(`missing "chosen" (or null)`)
		case x.Rejected == nil:
			return fmt.Errorf(`missing "rejected" (or null)`)
		case *x.Chosen == "":
			return fmt.Errorf(`"chosen" is empty`)
		case *x.Rejected == "":
			return fmt.Errorf(`"rejected" is empty`)
		}
		r := Row{Prompt: *x.Prompt, Chosen: *x.Chosen, Rejected: *x.Rejected,
			Margin: x.Margin, GoldChosen: x.GoldChosen, GoldRejected: x.GoldRejected}
		if x.ID != nil {
			r.ID = *x.ID
		}
		if x.Subset != nil {
			r.Subset = *x.Subset
		}
		if x.Split != nil {
			r.Split = *x.Split
		}
		if x.Corrupted != nil {
			r.Corrupted = *x.Corrupted
		}
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

// decodeError turns encoding/json's errors into "field must be a T" ones.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		want := "a string"
		switch te.Type.String() {
		case "float64":
			want = "a number"
		case "bool":
			want = "true or false"
		}
		return fmt.Errorf("%q must be %s, got %s", te.Field, want, te.Value)
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

// ReadScoreRows reads {"prompt", "response"} rows (prompt present, possibly
// empty; response a non-empty string; optional string "id").
func ReadScoreRows(path string) ([]ScoreRow, error) {
	var rows []ScoreRow
	err := eachLine(path, func(b []byte) error {
		var x struct {
			ID       *string `json:"id"`
			Prompt   *string `json:"prompt"`
			Response *string `json:"response"`
		}
		if err := json.Unmarshal(b, &x); err != nil {
			return decodeError(err)
		}
		switch {
		case x.Prompt == nil:
			return fmt.Errorf(`missing "prompt" (or null)`)
		case x.Response == nil:
			return fmt.Errorf(`missing "response" (or null)`)
		case *x.Response == "":
			return fmt.Errorf(`"response" is empty`)
		}
		r := ScoreRow{Prompt: *x.Prompt, Response: *x.Response}
		if x.ID != nil {
			r.ID = *x.ID
		}
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

// eachLine calls fn with each non-blank line that starts as a JSON object
// and prefixes fn's errors with "path:line: ".
func eachLine(path string, fn func(obj []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if b[0] != '{' {
			return fmt.Errorf("%s:%d: not a JSON object (starts with %q)", path, line, clip(b[:1]))
		}
		if err := fn(b); err != nil {
			return fmt.Errorf("%s:%d: %v", path, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s:%d: line longer than %d MB", path, line+1, MaxLine>>20)
		}
		return fmt.Errorf("%s:%d: %v", path, line+1, err)
	}
	return nil
}

// clip shortens a raw value for an error message.
func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// WriteJSONL writes rows as JSONL, atomically: into a temporary file in the
// same folder, renamed over path only when complete.
func WriteJSONL(path string, rows []Row) error {
	return writeAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false) // keep "<", ">" and "&" readable in text
		for i := range rows {
			if err := enc.Encode(&rows[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteScoreRows writes {"prompt","response"} rows as JSONL, atomically.
func WriteScoreRows(path string, rows []ScoreRow) error {
	return writeAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for i := range rows {
			if err := enc.Encode(&rows[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeAtomic runs write on a buffered temp file next to path and renames
// it into place; on any error the temp file is removed and path untouched.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

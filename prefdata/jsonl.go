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

// ReadJSONL reads preference rows, one JSON object a line. It is strict
// about what matters and lenient about the rest: "prompt" must be present
// and a string (it may be empty), "chosen" and "rejected" must be non-empty
// strings, optional fields must have their types; unknown fields are
// ignored and blank lines skipped. Errors read "file:line: problem".
func ReadJSONL(path string) ([]Row, error) {
	var rows []Row
	err := eachLine(path, func(line int, obj map[string]json.RawMessage) error {
		var r Row
		var err error
		if r.Prompt, err = str(obj, "prompt", true, true); err != nil {
			return err
		}
		if r.Chosen, err = str(obj, "chosen", true, false); err != nil {
			return err
		}
		if r.Rejected, err = str(obj, "rejected", true, false); err != nil {
			return err
		}
		if r.ID, err = str(obj, "id", false, true); err != nil {
			return err
		}
		if r.Subset, err = str(obj, "subset", false, true); err != nil {
			return err
		}
		if r.Split, err = str(obj, "split", false, true); err != nil {
			return err
		}
		if r.Margin, err = num(obj, "margin"); err != nil {
			return err
		}
		if r.GoldChosen, err = num(obj, "gold_chosen"); err != nil {
			return err
		}
		if r.GoldRejected, err = num(obj, "gold_rejected"); err != nil {
			return err
		}
		if raw, ok := obj["corrupted"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &r.Corrupted); err != nil {
				return fmt.Errorf(`"corrupted" must be true or false, got %s`, clip(raw))
			}
		}
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

// ReadScoreRows reads {"prompt", "response"} rows (prompt present, possibly
// empty; response a non-empty string; optional string "id").
func ReadScoreRows(path string) ([]ScoreRow, error) {
	var rows []ScoreRow
	err := eachLine(path, func(line int, obj map[string]json.RawMessage) error {
		var r ScoreRow
		var err error
		if r.Prompt, err = str(obj, "prompt", true, true); err != nil {
			return err
		}
		if r.Response, err = str(obj, "response", true, false); err != nil {
			return err
		}
		if r.ID, err = str(obj, "id", false, true); err != nil {
			return err
		}
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

// eachLine calls fn with each non-blank line parsed as a JSON object and
// prefixes fn's errors with "path:line: ".
func eachLine(path string, fn func(line int, obj map[string]json.RawMessage) error) error {
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
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			return fmt.Errorf("%s:%d: invalid JSON: %v", path, line, err)
		}
		if err := fn(line, obj); err != nil {
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

// str reads a string field. required: it must be present; allowEmpty: ""
// is accepted.
func str(obj map[string]json.RawMessage, key string, required, allowEmpty bool) (string, error) {
	raw, ok := obj[key]
	if !ok || (!required && string(raw) == "null") {
		if required {
			return "", fmt.Errorf("missing %q", key)
		}
		return "", nil
	}
	var s string
	// Unmarshal leaves s alone on null: that is not a string either.
	if err := json.Unmarshal(raw, &s); err != nil || string(raw) == "null" {
		return "", fmt.Errorf("%q must be a string, got %s", key, clip(raw))
	}
	if s == "" && !allowEmpty {
		return "", fmt.Errorf("%q is empty", key)
	}
	return s, nil
}

// num reads an optional number field (absent or null: nil).
func num(obj map[string]json.RawMessage, key string) (*float64, error) {
	raw, ok := obj[key]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%q must be a number, got %s", key, clip(raw))
	}
	return &v, nil
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

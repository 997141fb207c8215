package prefdata

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// The readers take a path; "-" reads standard input (named "stdin" in
// errors). The format comes from the content, not the name: a file that
// starts with Parquet's magic "PAR1" is Parquet, anything else JSONL.
// Errors name the file and the 1-based line (JSONL, "file:3: …") or row
// (Parquet, "file: row 3: …"); a file without rows gives an error that
// wraps ErrNoRows.

// ReadPairs reads preference rows (TRL standard or conversational, prompt
// explicit or implicit; docs/data.md has the rules).
func ReadPairs(path string) ([]Row, error) {
	var rows []Row
	err := eachRecord(path, func(rec record) error {
		r, err := decodePair(rec)
		rows = append(rows, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// Read reads a file of either kind: preference pairs, or texts to score
// ({"prompt", "response"}). The first row decides the kind (a "response"
// field makes it texts) and every row must be of that kind.
func Read(path string) (*Data, error) {
	d := &Data{}
	err := eachRecord(path, func(rec record) error {
		_, hasResp := rec.get("response")
		_, hasC := rec.get("chosen")
		_, hasJ := rec.get("rejected")
		if d.Kind == 0 {
			switch {
			case hasResp:
				d.Kind = Texts
			case hasC || hasJ:
				d.Kind = Pairs
			default:
				return fmt.Errorf(`want "chosen" and "rejected" (a preference pair) or "response" (a text to score)`)
			}
		}
		if d.Kind == Texts {
			if !hasResp && (hasC || hasJ) {
				return fmt.Errorf(`a preference pair among texts to score (the first row has "response"): one file holds one kind of row`)
			}
			r, err := decodeScore(rec)
			d.Texts = append(d.Texts, r)
			return err
		}
		if hasResp && !hasC && !hasJ {
			return fmt.Errorf(`a text to score among preference pairs (the first row has "chosen"/"rejected"): one file holds one kind of row`)
		}
		r, err := decodePair(rec)
		d.Pairs = append(d.Pairs, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// ReadPrompts reads prompts: each row's "prompt" (text or messages, may be
// empty), or for a preference row its prompt after the pair rules (so an
// implicit-prompt file gives its extracted prompts).
func ReadPrompts(path string) ([]Prompt, error) {
	var out []Prompt
	err := eachRecord(path, func(rec record) error {
		p, err := decodePrompt(rec)
		out = append(out, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UniquePrompts keeps the first row of each distinct prompt text, in
// order, skipping blank ones; limit > 0 keeps at most limit.
func UniquePrompts(ps []Prompt, limit int) []Prompt {
	seen := map[string]bool{}
	var out []Prompt
	for _, p := range ps {
		if strings.TrimSpace(p.Text) == "" || seen[p.Text] {
			continue
		}
		seen[p.Text] = true
		out = append(out, p)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}

// PromptTexts is the plain text of each prompt, what a policy without a
// chat template is prompted with.
func PromptTexts(ps []Prompt) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Text
	}
	return out
}

// ReadJSONL reads preference rows; it is ReadPairs (the format is detected,
// so it reads Parquet too) except that a file without rows gives no rows
// and no error.
//
// Deprecated: use ReadPairs, and treat ErrNoRows as the caller sees fit.
func ReadJSONL(path string) ([]Row, error) { return readPairsAllowEmpty(path) }

// ReadParquet is ReadJSONL under its old name.
//
// Deprecated: use ReadPairs.
func ReadParquet(path string) ([]Row, error) { return readPairsAllowEmpty(path) }

func readPairsAllowEmpty(path string) ([]Row, error) {
	rows, err := ReadPairs(path)
	if errors.Is(err, ErrNoRows) {
		return nil, nil
	}
	return rows, err
}

// parquetMagic starts (and ends) every Parquet file.
const parquetMagic = "PAR1"

// eachRecord calls fn with each row of the file at path, in order, and
// prefixes fn's errors with the file and the row's position.
func eachRecord(path string, fn func(record) error) error {
	n, err := eachRecordCount(path, fn)
	if err == nil && n == 0 {
		name := path
		if path == "-" {
			name = "stdin"
		}
		return fmt.Errorf("%s: %w", name, ErrNoRows)
	}
	return err
}

// eachRecordCount opens path, picks the format and returns the number of
// rows read.
func eachRecordCount(path string, fn func(record) error) (int, error) {
	if path == "-" {
		// Parquet needs random access: read standard input whole.
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return 0, fmt.Errorf("stdin: %v", err)
		}
		if bytes.HasPrefix(b, []byte(parquetMagic)) {
			return eachParquet(bytes.NewReader(b), int64(len(b)), "stdin", fn)
		}
		return eachJSONL(bytes.NewReader(b), "stdin", fn)
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var head [len(parquetMagic)]byte
	k, _ := io.ReadFull(f, head[:])
	if string(head[:k]) != parquetMagic {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return 0, fmt.Errorf("%s: %v", path, err)
		}
		return eachJSONL(f, path, fn)
	}
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("%s: %v", path, err)
	}
	return eachParquet(f, st.Size(), path, fn)
}

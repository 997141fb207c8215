package tokenizer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"

	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func errorf(file, format string, args ...any) error {
	return fmt.Errorf("%s: %s", file, fmt.Sprintf(format, args...))
}

// readFile reads a file, gunzipping it if its name ends in ".gz".
func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, errorf(path, "%v", err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, errorf(path, "%v", err)
		}
	}
	return data, nil
}

// Load reads the tokenizer in a model directory: tokenizer.json if present,
// else vocab.json + merges.txt.
func Load(dir string) (*Tokenizer, error) {
	tj := filepath.Join(dir, "tokenizer.json")
	if _, err := os.Stat(tj); err == nil {
		return LoadTokenizerJSON(tj)
	}
	v, m := filepath.Join(dir, "vocab.json"), filepath.Join(dir, "merges.txt")
	_, errV := os.Stat(v)
	_, errM := os.Stat(m)
	if errV != nil || errM != nil {
		return nil, fmt.Errorf("%s: no tokenizer.json, and no vocab.json + merges.txt", dir)
	}
	return LoadFiles(v, m)
}

// LoadFiles reads GPT-2's vocab.json (token -> id) and merges.txt (one "a b"
// merge per line, in rank order, after an optional "#version" line). Files
// ending in ".gz" are gunzipped. If the vocabulary holds "<|endoftext|>" it is
// treated as a special token, as GPT2Tokenizer does.
func LoadFiles(vocabJSON, mergesTXT string) (*Tokenizer, error) {
	data, err := readFile(vocabJSON)
	if err != nil {
		return nil, err
	}
	var vocab map[string]int
	if err := json.Unmarshal(data, &vocab); err != nil {
		return nil, errorf(vocabJSON, "not a JSON object of token -> id: %v", err)
	}
	if len(vocab) == 0 {
		return nil, errorf(vocabJSON, "empty vocabulary")
	}
	data, err = readFile(mergesTXT)
	if err != nil {
		return nil, err
	}
	var merges [][2]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimRight(sc.Text(), "\r")
		if line == 1 && strings.HasPrefix(s, "#version") || s == "" {
			continue
		}
		f := strings.Split(s, " ")
		if len(f) != 2 || f[0] == "" || f[1] == "" {
			return nil, errorf(mergesTXT, "line %d: want two tokens separated by one space, got %q", line, s)
		}
		merges = append(merges, [2]string{f[0], f[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, errorf(mergesTXT, "%v", err)
	}
	var added []addedToken
	if id, ok := vocab[eotString]; ok {
		added = append(added, addedToken{id: id, content: eotString, special: true})
	}
	return build(vocabJSON, mergesTXT, vocab, merges, added)
}

// tokenizerJSON is the part of HF tokenizers' tokenizer.json that a GPT-2
// style byte-level BPE uses.
type tokenizerJSON struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer *byteLevelJSON  `json:"pre_tokenizer"`
	Model        struct {
		Type                    string            `json:"type"`
		Dropout                 *float64          `json:"dropout"`
		ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
		Vocab                   map[string]int    `json:"vocab"`
		Merges                  []json.RawMessage `json:"merges"`
	} `json:"model"`
}

type byteLevelJSON struct {
	Type           string `json:"type"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	UseRegex       *bool  `json:"use_regex"`
}

// LoadTokenizerJSON reads an HF tokenizers file whose model is BPE with a
// ByteLevel pre-tokenizer (GPT-2, and what Save writes). Merges may be strings
// "Ġ t" (tokenizers < 0.20) or pairs ["Ġ","t"] (≥ 0.20). Other pipelines
// (normalizers, other pre-tokenizers, dropout, subword prefixes) are refused
// with an error rather than encoded differently from HF.
func LoadTokenizerJSON(path string) (*Tokenizer, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	var tj tokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, errorf(path, "invalid tokenizer.json: %v", err)
	}
	m := &tj.Model
	if m.Type != "BPE" {
		return nil, errorf(path, "model.type is %q; only BPE is supported", m.Type)
	}
	if len(m.Vocab) == 0 {
		return nil, errorf(path, "model.vocab is empty")
	}
	if m.Dropout != nil && *m.Dropout > 0 {
		return nil, errorf(path, "BPE dropout %g is not supported", *m.Dropout)
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" ||
		m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, errorf(path, "continuing_subword_prefix / end_of_word_suffix are not supported")
	}
	if n := bytes.TrimSpace(tj.Normalizer); len(n) > 0 && string(n) != "null" {
		return nil, errorf(path, "normalizer %s is not supported (GPT-2 has none)", n)
	}
	if tj.PreTokenizer == nil || tj.PreTokenizer.Type != "ByteLevel" {
		return nil, errorf(path, "pre_tokenizer must be ByteLevel (GPT-2 style)")
	}
	if u := tj.PreTokenizer.UseRegex; u != nil && !*u {
		return nil, errorf(path, "ByteLevel pre_tokenizer with use_regex=false is not supported")
	}
	merges := make([][2]string, len(m.Merges))
	for i, raw := range m.Merges {
		var s string
		var pair []string
		switch {
		case json.Unmarshal(raw, &s) == nil:
			f := strings.Split(s, " ")
			if len(f) != 2 {
				return nil, errorf(path, "model.merges[%d] = %q: want two tokens separated by a space", i, s)
			}
			merges[i] = [2]string{f[0], f[1]}
		case json.Unmarshal(raw, &pair) == nil && len(pair) == 2:
			merges[i] = [2]string{pair[0], pair[1]}
		default:
			return nil, errorf(path, "model.merges[%d] = %s: want \"a b\" or [\"a\", \"b\"]", i, raw)
		}
	}
	var added []addedToken
	for _, a := range tj.AddedTokens {
		if a.Content == "" {
			return nil, errorf(path, "added token %d has empty content", a.ID)
		}
		if id, ok := m.Vocab[a.Content]; ok && id != a.ID {
			return nil, errorf(path, "added token %q has id %d but the vocabulary gives %d", a.Content, a.ID, id)
		}
		added = append(added, addedToken{id: a.ID, content: a.Content, special: a.Special})
	}
	t, err := build(path, path, m.Vocab, merges, added)
	if err != nil {
		return nil, err
	}
	t.addPrefix = tj.PreTokenizer.AddPrefixSpace
	return t, nil
}

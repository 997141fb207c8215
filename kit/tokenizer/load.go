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

// tokenizerJSON is the part of HF tokenizers' tokenizer.json that a
// byte-level BPE (GPT-2, Llama 3, Qwen2/2.5/3) uses.
type tokenizerJSON struct {
	AddedTokens []struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		Special    bool   `json:"special"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		SingleWord bool   `json:"single_word"`
		Normalized bool   `json:"normalized"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         struct {
		Type                    string            `json:"type"`
		Dropout                 *float64          `json:"dropout"`
		ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
		ByteFallback            bool              `json:"byte_fallback"`
		IgnoreMerges            bool              `json:"ignore_merges"`
		Vocab                   map[string]int    `json:"vocab"`
		Merges                  []json.RawMessage `json:"merges"`
	} `json:"model"`
}

// pipelineJSON is one component (normalizer, pre-tokenizer, processor,
// decoder) of tokenizer.json, with the fields the supported ones use.
type pipelineJSON struct {
	Type           string                          `json:"type"`
	AddPrefixSpace bool                            `json:"add_prefix_space"`
	UseRegex       *bool                           `json:"use_regex"`
	Pattern        struct{ Regex, String *string } `json:"pattern"`
	Behavior       string                          `json:"behavior"`
	Invert         bool                            `json:"invert"`
	PreTokenizers  []pipelineJSON                  `json:"pretokenizers"`
	Normalizers    []pipelineJSON                  `json:"normalizers"`
	Processors     []pipelineJSON                  `json:"processors"`
	Single         []struct {
		SpecialToken *struct{ ID string } `json:"SpecialToken"`
		Sequence     *struct{ ID string } `json:"Sequence"`
	} `json:"single"`
	SpecialTokens map[string]struct {
		IDs []int `json:"ids"`
	} `json:"special_tokens"`
}

// isNull reports whether a raw JSON field is absent or null.
func isNull(raw json.RawMessage) bool {
	n := bytes.TrimSpace(raw)
	return len(n) == 0 || string(n) == "null"
}

// LoadTokenizerJSON reads an HF tokenizers file whose model is a byte-level
// BPE: GPT-2's pipeline (ByteLevel pre-tokenizer with its regex, no
// normalizer), and the Llama 3 and Qwen2/2.5/3 pipelines (a Split
// pre-tokenizer with their regex, then ByteLevel without regex; Qwen's NFC
// normalizer; BPE ignore_merges). Merges may be strings "Ġ t" (tokenizers <
// 0.20) or pairs ["Ġ","t"] (≥ 0.20). Other pipelines (other normalizers or
// pre-tokenizer patterns, dropout, subword prefixes, byte fallback) are
// refused with an error naming the part rather than encoded differently from
// HF. The returned Tokenizer's Encode ignores the post-processor (no BOS/EOS)
// and added tokens: FromHFDir gives HF's full behaviour.
func LoadTokenizerJSON(path string) (*Tokenizer, error) {
	t, _, err := loadTokenizerJSON(path)
	return t, err
}

// loadTokenizerJSON is LoadTokenizerJSON that also returns the post-processor
// (null when absent).
func loadTokenizerJSON(path string) (*Tokenizer, json.RawMessage, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	var tj tokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, nil, errorf(path, "invalid tokenizer.json: %v", err)
	}
	m := &tj.Model
	if m.Type != "BPE" {
		return nil, nil, errorf(path, "model.type is %q; only BPE is supported", m.Type)
	}
	if len(m.Vocab) == 0 {
		return nil, nil, errorf(path, "model.vocab is empty")
	}
	if m.Dropout != nil && *m.Dropout > 0 {
		return nil, nil, errorf(path, "BPE dropout %g is not supported", *m.Dropout)
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" ||
		m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, nil, errorf(path, "continuing_subword_prefix / end_of_word_suffix are not supported")
	}
	if m.ByteFallback {
		return nil, nil, errorf(path, "BPE byte_fallback (SentencePiece-style vocabularies) is not supported")
	}
	nfc, err := parseNormalizer(tj.Normalizer)
	if err != nil {
		return nil, nil, errorf(path, "%v", err)
	}
	digits, addPrefix, err := parsePreTokenizer(tj.PreTokenizer)
	if err != nil {
		return nil, nil, errorf(path, "%v", err)
	}
	if !isNull(tj.Decoder) {
		var d pipelineJSON
		if err := json.Unmarshal(tj.Decoder, &d); err != nil || d.Type != "ByteLevel" {
			return nil, nil, errorf(path, "decoder %s is not supported: want ByteLevel", bytes.TrimSpace(tj.Decoder))
		}
	}
	merges := make([][2]string, len(m.Merges))
	for i, raw := range m.Merges {
		var s string
		var pair []string
		// The first byte tells the format, which saves a failed Unmarshal
		// per merge (hundreds of thousands in Llama 3 / Qwen files).
		isPair := len(raw) > 0 && raw[0] == '['
		switch {
		case !isPair && json.Unmarshal(raw, &s) == nil:
			f := strings.Split(s, " ")
			if len(f) != 2 {
				return nil, nil, errorf(path, "model.merges[%d] = %q: want two tokens separated by a space", i, s)
			}
			merges[i] = [2]string{f[0], f[1]}
		case isPair && json.Unmarshal(raw, &pair) == nil && len(pair) == 2:
			merges[i] = [2]string{pair[0], pair[1]}
		default:
			return nil, nil, errorf(path, "model.merges[%d] = %s: want \"a b\" or [\"a\", \"b\"]", i, raw)
		}
	}
	var added []addedToken
	for _, a := range tj.AddedTokens {
		if a.Content == "" {
			return nil, nil, errorf(path, "added token %d has empty content", a.ID)
		}
		if id, ok := m.Vocab[a.Content]; ok && id != a.ID {
			return nil, nil, errorf(path, "added token %q has id %d but the vocabulary gives %d", a.Content, a.ID, id)
		}
		added = append(added, addedToken{id: a.ID, content: a.Content, special: a.Special,
			lstrip: a.LStrip, rstrip: a.RStrip, singleWord: a.SingleWord, normalized: a.Normalized})
	}
	t, err := build(path, path, m.Vocab, merges, added)
	if err != nil {
		return nil, nil, err
	}
	t.addPrefix = addPrefix
	t.splitDigits = digits
	t.ignoreMerges = m.IgnoreMerges
	t.nfc = nfc
	return t, tj.PostProcessor, nil
}

// parseNormalizer accepts no normalizer or NFC (alone or as the only member
// of a Sequence); it reports whether NFC applies.
func parseNormalizer(raw json.RawMessage) (nfc bool, err error) {
	if isNull(raw) {
		return false, nil
	}
	var n pipelineJSON
	if err := json.Unmarshal(raw, &n); err != nil {
		return false, fmt.Errorf("normalizer: %v", err)
	}
	if n.Type == "Sequence" && len(n.Normalizers) == 0 {
		return false, nil
	}
	if n.Type == "Sequence" && len(n.Normalizers) == 1 {
		n = n.Normalizers[0]
	}
	if n.Type != "NFC" {
		return false, fmt.Errorf("normalizer %s is not supported (only none or NFC)", bytes.TrimSpace(raw))
	}
	return true, nil
}

// parsePreTokenizer accepts GPT-2's ByteLevel pre-tokenizer (digits 0) and
// the Sequence [Split(Llama 3 or Qwen2 pattern, Isolated), ByteLevel without
// regex] of Llama 3 (digits 3) and Qwen2/2.5/3 (digits 1).
func parsePreTokenizer(raw json.RawMessage) (digits int, addPrefix bool, err error) {
	var p pipelineJSON
	if isNull(raw) || json.Unmarshal(raw, &p) != nil {
		return 0, false, fmt.Errorf("pre_tokenizer must be ByteLevel or Sequence[Split, ByteLevel], got %s", bytes.TrimSpace(raw))
	}
	if p.Type == "ByteLevel" {
		if p.UseRegex != nil && !*p.UseRegex {
			return 0, false, fmt.Errorf("a lone ByteLevel pre_tokenizer with use_regex=false is not supported")
		}
		return 0, p.AddPrefixSpace, nil
	}
	if p.Type != "Sequence" || len(p.PreTokenizers) != 2 || p.PreTokenizers[0].Type != "Split" || p.PreTokenizers[1].Type != "ByteLevel" {
		return 0, false, fmt.Errorf("pre_tokenizer %s is not supported: want ByteLevel or Sequence[Split, ByteLevel]", bytes.TrimSpace(raw))
	}
	sp, bl := p.PreTokenizers[0], p.PreTokenizers[1]
	if bl.UseRegex == nil || *bl.UseRegex {
		return 0, false, fmt.Errorf("pre_tokenizer: ByteLevel after Split must have use_regex=false")
	}
	if sp.Behavior != "Isolated" || sp.Invert {
		return 0, false, fmt.Errorf("pre_tokenizer: Split behavior %q invert %v is not supported (want Isolated, false)", sp.Behavior, sp.Invert)
	}
	switch {
	case sp.Pattern.Regex != nil && *sp.Pattern.Regex == splitPatternLlama3:
		return 3, bl.AddPrefixSpace, nil
	case sp.Pattern.Regex != nil && *sp.Pattern.Regex == splitPatternQwen2:
		return 1, bl.AddPrefixSpace, nil
	}
	return 0, false, fmt.Errorf("pre_tokenizer: Split pattern is not one of the Llama 3 / Qwen2 regexes this package implements")
}

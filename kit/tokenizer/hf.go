package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// HF is a model directory's tokenizer with the behaviour of HF transformers'
// fast tokenizer (Rust tokenizers) for it: added and special tokens written
// in the text are matched before BPE, BOS/EOS come from the post-processor
// (or tokenizer_config.json for Llama-2-style tokenizers), decoding follows
// the config's clean-up flag. It also carries the chat template and special
// token strings from tokenizer_config.json. An HF is safe for concurrent use.
type HF struct {
	tok *Tokenizer
	dir string

	prefix, suffix []int // ids the post-processor puts around a single text

	bos, eos, pad, unk int // -1 when the tokenizer has none
	// specials holds the special-token strings a chat template sees
	// (bos_token, eos_token, unk_token, pad_token); absent ones are missing.
	specials map[string]string
	cleanUp  bool // clean_up_tokenization_spaces
	template string

	special []bool // id -> added token marked special

	// added tokens, longest first within each first byte, split into the
	// ones matched in the raw text and the ones matched after
	// normalization (normalized: true).
	rawAdded, normAdded addedIndex
}

// addedIndex finds added tokens in text: byFirst[b] lists the tokens that
// start with byte b, longest first.
type addedIndex struct {
	byFirst [256][]addedToken
	any     bool
}

func newAddedIndex(toks []addedToken) addedIndex {
	var ix addedIndex
	for _, a := range toks {
		b := a.content[0]
		ix.byFirst[b] = append(ix.byFirst[b], a)
		ix.any = true
	}
	for b := range ix.byFirst {
		l := ix.byFirst[b]
		// Insertion sort by length, descending; stable for equal lengths.
		for i := 1; i < len(l); i++ {
			for j := i; j > 0 && len(l[j].content) > len(l[j-1].content); j-- {
				l[j], l[j-1] = l[j-1], l[j]
			}
		}
	}
	return ix
}

// tokenizerConfig is the part of tokenizer_config.json used here. Token
// fields are a string or an AddedToken object {"content": ...}.
type tokenizerConfig struct {
	BOS            json.RawMessage `json:"bos_token"`
	EOS            json.RawMessage `json:"eos_token"`
	PAD            json.RawMessage `json:"pad_token"`
	UNK            json.RawMessage `json:"unk_token"`
	AddBOS         *bool           `json:"add_bos_token"`
	AddEOS         *bool           `json:"add_eos_token"`
	CleanUp        *bool           `json:"clean_up_tokenization_spaces"`
	ChatTemplate   json.RawMessage `json:"chat_template"`
	TokenizerClass string          `json:"tokenizer_class"`
}

// tokenString reads a token field of tokenizer_config.json: null, a string,
// or an object with "content".
func tokenString(raw json.RawMessage) (string, bool, error) {
	if isNull(raw) {
		return "", false, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Content != nil {
		return *obj.Content, true, nil
	}
	return "", false, fmt.Errorf("token %s: want a string or {\"content\": ...}", raw)
}

// FromHFDir loads the tokenizer of a model directory: tokenizer.json (or
// tokenizer.json.gz) if present, else GPT-2's vocab.json + merges.txt (either
// may be .gz); then tokenizer_config.json if present (special tokens,
// add_bos_token/add_eos_token, clean_up_tokenization_spaces, chat_template)
// and chat_template.jinja, which transformers prefers over the config's
// template when both exist. GPT-2, Llama 3.x and Qwen2/2.5/3 tokenizers load;
// other pipelines are refused with an error naming the file and the part.
func FromHFDir(dir string) (*HF, error) {
	h := &HF{dir: dir, bos: -1, eos: -1, pad: -1, unk: -1, specials: map[string]string{}}
	var post json.RawMessage
	var err error
	tj := firstExisting(filepath.Join(dir, "tokenizer.json"), filepath.Join(dir, "tokenizer.json.gz"))
	if tj != "" {
		h.tok, post, err = loadTokenizerJSON(tj)
	} else {
		v := firstExisting(filepath.Join(dir, "vocab.json"), filepath.Join(dir, "vocab.json.gz"))
		m := firstExisting(filepath.Join(dir, "merges.txt"), filepath.Join(dir, "merges.txt.gz"))
		if v == "" || m == "" {
			return nil, fmt.Errorf("%s: no tokenizer.json, and no vocab.json + merges.txt", dir)
		}
		h.tok, err = LoadFiles(v, m)
	}
	if err != nil {
		return nil, err
	}
	if err := h.postProcessor(tj, post); err != nil {
		return nil, err
	}
	if err := h.readConfig(filepath.Join(dir, "tokenizer_config.json")); err != nil {
		return nil, err
	}
	if data, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja")); err == nil {
		h.template = string(data)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var raw, normed []addedToken
	h.special = make([]bool, h.tok.VocabSize())
	for _, a := range h.tok.added {
		h.special[a.id] = a.special
		if a.normalized && h.tok.nfc {
			normed = append(normed, a)
		} else {
			raw = append(raw, a)
		}
	}
	h.rawAdded, h.normAdded = newAddedIndex(raw), newAddedIndex(normed)
	return h, nil
}

func firstExisting(paths ...string) string {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// postProcessor reads the BOS/EOS ids a TemplateProcessing post-processor
// puts around a single sequence ($A); ByteLevel adds none.
func (h *HF) postProcessor(file string, raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var p pipelineJSON
	if err := json.Unmarshal(raw, &p); err != nil {
		return errorf(file, "post_processor: %v", err)
	}
	procs := []pipelineJSON{p}
	if p.Type == "Sequence" {
		procs = p.Processors
	}
	for _, p := range procs {
		switch p.Type {
		case "ByteLevel": // offsets only
		case "TemplateProcessing":
			seen := false
			for _, it := range p.Single {
				switch {
				case it.Sequence != nil:
					if seen || it.Sequence.ID != "A" {
						return errorf(file, "post_processor: TemplateProcessing single template must hold $A once")
					}
					seen = true
				case it.SpecialToken != nil:
					st, ok := p.SpecialTokens[it.SpecialToken.ID]
					if !ok {
						return errorf(file, "post_processor: special token %q is not in special_tokens", it.SpecialToken.ID)
					}
					if seen {
						h.suffix = append(h.suffix, st.IDs...)
					} else {
						h.prefix = append(h.prefix, st.IDs...)
					}
				}
			}
			if !seen {
				return errorf(file, "post_processor: TemplateProcessing single template lacks $A")
			}
		default:
			return errorf(file, "post_processor type %q is not supported (want ByteLevel or TemplateProcessing)", p.Type)
		}
	}
	return nil
}

// readConfig applies tokenizer_config.json, if the file exists.
func (h *HF) readConfig(path string) error {
	t := h.tok
	// GPT2Tokenizer's defaults: bos, eos and unk are <|endoftext|>.
	if t.splitDigits == 0 && t.eot >= 0 {
		h.bos, h.eos, h.unk = t.eot, t.eot, t.eot
		for _, k := range []string{"bos_token", "eos_token", "unk_token"} {
			h.specials[k] = eotString
		}
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var c tokenizerConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return errorf(path, "invalid JSON: %v", err)
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		id   *int
	}{{"bos_token", c.BOS, &h.bos}, {"eos_token", c.EOS, &h.eos}, {"pad_token", c.PAD, &h.pad}, {"unk_token", c.UNK, &h.unk}} {
		if f.raw == nil {
			continue // absent: keep the default
		}
		s, ok, err := tokenString(f.raw)
		if err != nil {
			return errorf(path, "%s: %v", f.name, err)
		}
		if !ok { // explicit null
			*f.id = -1
			delete(h.specials, f.name)
			continue
		}
		id, ok := t.vocab[s]
		if !ok {
			return errorf(path, "%s %q is not in the vocabulary", f.name, s)
		}
		*f.id = id
		h.specials[f.name] = s
	}
	if c.CleanUp != nil {
		h.cleanUp = *c.CleanUp
	}
	// add_bos_token / add_eos_token, when the config sets either, rebuild
	// the post-processor as transformers' update_post_processor does:
	// [BOS] $A [EOS], an unset flag counting as false, a flag without its
	// token ignored. LlamaTokenizer(Fast) defaults them to true / false.
	// Otherwise tokenizer.json's post-processor stands (Llama 3's sets
	// neither flag; Qwen's add_bos_token false matches its post-processor).
	addBOS, addEOS := c.AddBOS, c.AddEOS
	if strings.HasPrefix(c.TokenizerClass, "LlamaTokenizer") {
		yes, no := true, false
		if addBOS == nil {
			addBOS = &yes
		}
		if addEOS == nil {
			addEOS = &no
		}
	}
	if addBOS != nil || addEOS != nil {
		h.prefix, h.suffix = nil, nil
		if addBOS != nil && *addBOS && h.bos >= 0 {
			h.prefix = []int{h.bos}
		}
		if addEOS != nil && *addEOS && h.eos >= 0 {
			h.suffix = []int{h.eos}
		}
	}
	if !isNull(c.ChatTemplate) {
		var s string
		var named []struct{ Name, Template string }
		switch {
		case json.Unmarshal(c.ChatTemplate, &s) == nil:
			h.template = s
		case json.Unmarshal(c.ChatTemplate, &named) == nil:
			// A list of named templates: transformers uses "default".
			for _, n := range named {
				if n.Name == "default" {
					h.template = n.Template
				}
			}
			if h.template == "" {
				return errorf(path, "chat_template is a list without a \"default\" template")
			}
		default:
			return errorf(path, "chat_template: want a string or a list of {name, template}")
		}
	}
	return nil
}

// Base returns the underlying byte-level BPE (plain-text encoding, training
// helpers).
func (h *HF) Base() *Tokenizer { return h.tok }

// VocabSize is one more than the largest token id.
func (h *HF) VocabSize() int { return h.tok.VocabSize() }

// BOS, EOS, PAD and UNK return the ids of tokenizer_config.json's special
// tokens (GPT-2 defaults without a config), or -1 when there is none.
func (h *HF) BOS() int { return h.bos }
func (h *HF) EOS() int { return h.eos }
func (h *HF) PAD() int { return h.pad }
func (h *HF) UNK() int { return h.unk }

// ChatTemplate returns the Jinja chat template ("" when the model has none).
func (h *HF) ChatTemplate() string { return h.template }

// SpecialTokens returns the special-token strings a chat template is given
// (bos_token, eos_token, unk_token, pad_token), as transformers passes them;
// tokens the model lacks are absent. The map is a copy.
func (h *HF) SpecialTokens() map[string]string {
	m := make(map[string]string, len(h.specials))
	for k, v := range h.specials {
		m[k] = v
	}
	return m
}

// TokenID returns the id of a token given in its vocabulary form (byte-level
// string such as "Ġthe", or an added token such as "<|im_end|>").
func (h *HF) TokenID(s string) (int, bool) {
	id, ok := h.tok.vocab[s]
	return id, ok
}

// TokenString returns the vocabulary form of an id ("" if unknown).
func (h *HF) TokenString(id int) string { return h.tok.TokenString(id) }

// IsSpecial reports whether id is an added token marked special.
func (h *HF) IsSpecial(id int) bool { return id >= 0 && id < len(h.special) && h.special[id] }

// Encode tokenizes text as HF's tokenizer(text, add_special_tokens=...)
// does: added tokens written in the text (such as "<|im_start|>" or
// "<think>") become their ids, the rest is normalized, pre-tokenized and
// BPE-encoded, and addSpecial adds the post-processor's BOS/EOS. Chat
// templates are tokenized with addSpecial false (their text holds the BOS).
func (h *HF) Encode(text string, addSpecial bool) []int {
	ids := make([]int, 0, len(text)/4+len(h.prefix)+len(h.suffix)+1)
	if addSpecial {
		ids = append(ids, h.prefix...)
	}
	h.rawAdded.each(text, func(gap string, tok int) {
		if gap != "" {
			if h.normAdded.any {
				gap = norm.NFC.String(gap)
				h.normAdded.each(gap, func(g string, tok int) {
					ids = h.tok.appendPlain(ids, g)
					if tok >= 0 {
						ids = append(ids, tok)
					}
				})
			} else {
				ids = h.tok.appendPlain(ids, gap)
			}
		}
		if tok >= 0 {
			ids = append(ids, tok)
		}
	})
	if addSpecial {
		ids = append(ids, h.suffix...)
	}
	return ids
}

// each splits text at the added tokens it holds, calling fn(gap, id) for
// each token with the text before it, and fn(rest, -1) at the end. Matches
// are leftmost, longest at a position, non-overlapping (HF's Aho-Corasick
// LeftmostLongest). single_word tokens next to a word character are not
// matches; lstrip/rstrip tokens absorb the whitespace beside them.
func (ix *addedIndex) each(text string, fn func(gap string, id int)) {
	if !ix.any {
		fn(text, -1)
		return
	}
	gapStart := 0 // start of the text not yet given to fn
	for i := 0; i < len(text); {
		var hit *addedToken
		for k := range ix.byFirst[text[i]] {
			a := &ix.byFirst[text[i]][k]
			if strings.HasPrefix(text[i:], a.content) {
				hit = a
				break
			}
		}
		if hit == nil {
			i++
			continue
		}
		start, stop := i, i+len(hit.content)
		i = stop // the search goes on after this match, used or not
		if hit.singleWord && (endsWithWord(text[:start]) || startsWithWord(text[stop:])) {
			continue
		}
		if hit.lstrip {
			start = max(len(strings.TrimRightFunc(text[:start], unicode.IsSpace)), gapStart)
		}
		if hit.rstrip {
			stop = len(text) - len(strings.TrimLeftFunc(text[stop:], unicode.IsSpace))
			i = stop
		}
		fn(text[gapStart:start], hit.id)
		gapStart = stop
	}
	fn(text[gapStart:], -1)
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && (unicode.IsLetter(r) || unicode.IsNumber(r))
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && (unicode.IsLetter(r) || unicode.IsNumber(r))
}

// Decode turns ids back into text as transformers' decode(ids) does: special
// tokens kept, and, if tokenizer_config.json sets
// clean_up_tokenization_spaces (Llama 3 does), spaces before punctuation and
// English contractions removed. Invalid UTF-8 becomes U+FFFD.
func (h *HF) Decode(ids []int) string { return h.decode(ids, false) }

// DecodeSkipSpecial is Decode with skip_special_tokens=True: added tokens
// marked special are dropped.
func (h *HF) DecodeSkipSpecial(ids []int) string { return h.decode(ids, true) }

func (h *HF) decode(ids []int, skip bool) string {
	if skip {
		kept := make([]int, 0, len(ids))
		for _, id := range ids {
			if h.IsSpecial(id) {
				continue
			}
			kept = append(kept, id)
		}
		ids = kept
	}
	s := h.tok.Decode(ids)
	if h.cleanUp {
		s = cleanUp(s)
	}
	return s
}

// cleanUpSpaces is transformers' clean_up_tokenization: these
// replacements, applied one after the other as its chained str.replace does.
var cleanUpSpaces = [][2]string{
	{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
	{" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
}

func cleanUp(s string) string {
	for _, r := range cleanUpSpaces {
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return s
}

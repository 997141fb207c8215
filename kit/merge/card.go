package merge

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/warm-rm/warm/internal/atomicfile"
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
				// A cache entry that cannot be written only costs a re-hash.
				_ = atomicfile.WriteFile(filepath.Join(cacheDir, key), []byte(files[i].SHA256))
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

// modelCard is the README.md of a merged model: the recipe (the YAML as
// given, and the recipe as resolved from it and the flags, in mergekit's
// form) and the exact inputs (sha256 of each safetensors file), so the
// merge can be checked and redone.
func modelCard(o *Options, r *Result) string {
	var b strings.Builder
	b.WriteString("---\nlibrary_name: transformers\ntags:\n- merge\n- warm\n")
	if o.Base != "" {
		fmt.Fprintf(&b, "base_model: %s\n", yamlString(o.Base))
	}
	b.WriteString("---\n\n# Merged model\n\n")
	fmt.Fprintf(&b, "Made by warm %s (`warm merge`) with method **%s**", o.Version, o.Method)
	if o.Method == "linear" && uniform(o) {
		fmt.Fprintf(&b, " (uniform weight average of %d models: WARM, Ramé et al. 2024)", len(o.Models))
	}
	b.WriteString(".\n\n")
	if o.Command != "" {
		fmt.Fprintf(&b, "```sh\n%s\n```\n\n", o.Command)
	}
	if o.Config != "" {
		fmt.Fprintf(&b, "## Configuration\n\nThe mergekit YAML given (%s):\n\n```yaml\n%s\n```\n\n", o.ConfigPath, strings.TrimRight(o.Config, "\n"))
	}
	b.WriteString("## Recipe\n\nAs resolved from the configuration and the flags (mergekit YAML; parameters not listed take the method's defaults):\n\n```yaml\n")
	b.WriteString(recipeYAML(o))
	b.WriteString("```\n\n")
	fmt.Fprintf(&b, "Accumulator %s; %d layers found in the tensor names", o.Accum, r.Layers)
	if hasGradient(o) {
		b.WriteString(" (gradients: layer i of L takes position i/(L−1); embeddings 0, other tensors outside the layers 1)")
	}
	b.WriteString(".\n")
	if ig := ignoredParams(o); len(ig) > 0 {
		fmt.Fprintf(&b, "Parameters given but not used by %s (ignored, as mergekit does): %s.\n", o.Method, strings.Join(ig, ", "))
	}
	if len(r.Dropped) > 0 {
		fmt.Fprintf(&b, "Dropped buffers present in only some inputs: %s.\n", strings.Join(r.Dropped, ", "))
	}
	b.WriteString("\n## Inputs\n\n| role | model | file | sha256 |\n|---|---|---|---|\n")
	for _, in := range r.Inputs {
		role := "base"
		for i, m := range o.Models {
			if m == in.Model {
				role = fmt.Sprintf("model %d", i+1)
				break
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | `%s` |\n", role, in.Model, filepath.Base(in.Path), in.SHA256)
	}
	fmt.Fprintf(&b, "\n%d tensors, %d bytes written.\n", r.Tensors, r.BytesWritten)
	return b.String()
}

// uniform reports whether every model has the same constant weight and
// normalize is not off: the plain mean.
func uniform(o *Options) bool {
	ws := map[float64]bool{}
	for i := range o.Models {
		s, ok := Setting{}, false
		if i < len(o.ModelParams) {
			s, ok = o.ModelParams[i]["weight"]
		}
		if !ok {
			s, ok = o.Params["weight"]
		}
		w := 1.0
		if ok {
			if w, ok = s.constant(); !ok {
				return false
			}
		}
		ws[w] = true
	}
	n, ok := o.Params["normalize"]
	return len(ws) == 1 && (!ok || n.String() != "0")
}

// recipeYAML writes the resolved options as a mergekit config.
func recipeYAML(o *Options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "merge_method: %s\n", o.Method)
	if o.Base != "" {
		fmt.Fprintf(&b, "base_model: %s\n", yamlString(o.Base))
	}
	b.WriteString("models:\n")
	if o.Base != "" {
		fmt.Fprintf(&b, "  - model: %s\n", yamlString(o.Base))
	}
	for i, m := range o.Models {
		fmt.Fprintf(&b, "  - model: %s\n", yamlString(m))
		if i < len(o.ModelParams) && len(o.ModelParams[i]) > 0 {
			fmt.Fprintf(&b, "    parameters: %s\n", flowParams(o.ModelParams[i]))
		}
	}
	if len(o.Params) > 0 {
		fmt.Fprintf(&b, "parameters: %s\n", flowParams(o.Params))
	}
	if o.Dtype != "keep" {
		fmt.Fprintf(&b, "dtype: %s\n", map[string]string{"F32": "float32", "BF16": "bfloat16", "F16": "float16"}[o.Dtype])
	}
	if o.TokenizerSource != "" {
		fmt.Fprintf(&b, "tokenizer_source: %s\n", o.TokenizerSource)
	}
	if strings.HasPrefix(o.Method, "dare") {
		fmt.Fprintf(&b, "seed: %d\n", o.Seed)
	}
	return b.String()
}

func flowParams(p Params) string {
	parts := make([]string, 0, len(p))
	for _, k := range sortedKeys(p) {
		v := p[k].String()
		if isBoolParam(k) && (v == "0" || v == "1") {
			v = map[string]string{"0": "false", "1": "true"}[v]
		}
		parts = append(parts, k+": "+v)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// isBoolParam reports whether some method takes name as true/false.
func isBoolParam(name string) bool {
	for _, m := range methods {
		if p, ok := paramDefOf(m, name); ok && p.boolean {
			return true
		}
	}
	return false
}

func hasGradient(o *Options) bool {
	all := append([]Params{o.Params}, o.ModelParams...)
	for _, ps := range all {
		for _, s := range ps {
			if _, ok := s.constant(); !ok {
				return true
			}
		}
	}
	return false
}

func yamlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

package merge

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/safetensors"
)

// TestSettingAt: gradients interpolate piecewise-linearly over the layer
// position as mergekit's evaluate_setting does (values worked by hand), and
// filters pick the first matching case.
func TestSettingAt(t *testing.T) {
	g := Gradient(1, 0.7, 0.1)
	for _, c := range []struct{ pos, want float64 }{{0, 1}, {0.25, 0.85}, {0.5, 0.7}, {0.75, 0.4}, {1, 0.1}} {
		if v, ok := g.at("x", c.pos); !ok || math.Abs(v-c.want) > 1e-15 {
			t.Errorf("gradient at %g = %v, want %v", c.pos, v, c.want)
		}
	}
	f := Setting{Cases: []Case{{Filter: "mlp", Values: []float64{0.2}}, {Filter: "self_attn", Values: []float64{0, 1}}}}
	for _, c := range []struct {
		name string
		pos  float64
		want float64
		ok   bool
	}{
		{"model.layers.0.mlp.up_proj.weight", 0, 0.2, true},
		{"model.layers.3.self_attn.q_proj.weight", 0.5, 0.5, true},
		{"model.norm.weight", 1, 0, false}, // no case: falls through
	} {
		v, ok := f.at(c.name, c.pos)
		if ok != c.ok || v != c.want {
			t.Errorf("%s: %v %v, want %v %v", c.name, v, ok, c.want, c.ok)
		}
	}
}

func TestLayerPos(t *testing.T) {
	for name, want := range map[string]float64{
		"model.layers.0.mlp.up_proj.weight":     0,
		"model.layers.1.self_attn.q_proj.bias":  1.0 / 3,
		"model.layers.3.input_layernorm.weight": 1,
		"transformer.h.2.attn.c_attn.weight":    2.0 / 3,
		"model.embed_tokens.weight":             0,
		"transformer.wte.weight":                0,
		"transformer.wpe.weight":                0,
		"model.norm.weight":                     1,
		"lm_head.weight":                        1,
		"score.weight":                          1,
	} {
		if got := layerPos(name, 4); math.Abs(got-want) > 1e-15 {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	if got := layerPos("model.layers.0.mlp.weight", 1); got != 1 {
		t.Errorf("one layer: %v, want 1 (mergekit)", got)
	}
}

func writeYAML(t testing.TB, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "merge.yml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	p := writeYAML(t, dir, `merge_method: dare_ties
base_model: base
models:
  - model: base
  - model: a
    parameters: {weight: 0.7, density: [1, 0.5]}
  - model: b
    parameters: {weight: 0.3}
parameters:
  lambda: 0.8
  density: 0.6
  normalize: true
  int8_mask: true
  rescale: false
dtype: bfloat16
seed: 9
`)
	o, err := Resolve(p, Overrides{}, Defaults())
	if err != nil {
		t.Fatal(err)
	}
	if o.Method != "dare_ties" || o.Base != "base" || !reflect.DeepEqual(o.Models, []string{"a", "b"}) || o.Dtype != "BF16" || o.Seed != 9 {
		t.Fatalf("%+v", o)
	}
	c := &tensorCtx{name: "model.layers.1.mlp.up_proj.weight", pos: 1, xs: make([]input, 2), opt: &o, m: methods[o.Method]}
	if w := c.perModel("weight"); !reflect.DeepEqual(w, []float64{0.7, 0.3}) {
		t.Errorf("weights %v", w)
	}
	if d := c.perModel("density"); !reflect.DeepEqual(d, []float64{0.5, 0.6}) {
		t.Errorf("densities %v (a's gradient at the last layer, b the global)", d)
	}
	if c.global("lambda") != 0.8 || !c.flag("normalize") || !c.flag("int8_mask") || c.flag("rescale") {
		t.Errorf("globals: lambda %v normalize %v int8 %v rescale %v", c.global("lambda"), c.flag("normalize"), c.flag("int8_mask"), c.flag("rescale"))
	}
	// Flags override the file; positional models replace its models.
	tt := 0.25
	o, err = Resolve(p, Overrides{Method: "slerp", Models: []string{"a"}, T: &tt, Dtype: "f16"}, Defaults())
	// Another method's parameters (lambda, density, ...) are ignored as
	// mergekit ignores them, and listed in the card.
	if err != nil || o.Method != "slerp" || o.Base != "base" || !reflect.DeepEqual(o.Models, []string{"a"}) ||
		!reflect.DeepEqual(ignoredParams(&o), []string{"density", "int8_mask", "lambda", "normalize", "rescale"}) {
		t.Errorf("slerp over the file: %v %+v ignored %v", err, o, ignoredParams(&o))
	}
	p2 := writeYAML(t, t.TempDir(), "merge_method: linear\nmodels:\n  - model: a\n  - model: b\n")
	o, err = Resolve(p2, Overrides{Weights: []float64{3, 1}, Dtype: "f16"}, Defaults())
	if err != nil || o.Dtype != "F16" || o.ModelParams[0]["weight"].String() != "3" {
		t.Errorf("overrides: %v %+v", err, o)
	}
}

// TestConfigErrors: every unsupported or malformed form is a one-line error
// naming the file (with the line) and the key.
func TestConfigErrors(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"unknown key", "merge_method: linear\nmodelz: []\n", `merge.yml:2: unknown key "modelz"`},
		{"unknown model key", "merge_method: linear\nmodels:\n  - model: a\n    weight: 1\n", `merge.yml:4: unknown key "weight" in models[0]`},
		{"unknown method", "merge_method: frankenstein\nmodels:\n  - model: a\n", `unknown merge method "frankenstein"`},
		{"union path", "merge_method: linear\ntokenizer_source: org/model\nmodels:\n  - model: a\n", `tokenizer_source "org/model": unsupported`},
		{"tokenizer", "merge_method: linear\ntokenizer: {source: union}\nmodels:\n  - model: a\n", "tokenizer: unsupported"},
		{"two slices", "merge_method: linear\nslices:\n  - sources: [{model: a, layer_range: [0, 2]}]\n  - sources: [{model: a, layer_range: [2, 4]}]\n", "2 output slices"},
		{"ranges differ", "merge_method: linear\nslices:\n  - sources:\n    - {model: a, layer_range: [0, 4]}\n    - {model: b, layer_range: [0, 2]}\n", "differs from [0 4]"},
		{"lora", "merge_method: linear\nmodels:\n  - model: base+adapter\n", "LoRA"},
		{"string value", "merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: heavy}\n", `models[0].parameters.weight: "heavy" is not a number`},
		{"bad dtype", "merge_method: linear\ndtype: float8\nmodels:\n  - model: a\n", `dtype "float8"`},
		{"modules", "merge_method: linear\nmodules: {}\n", "modules: unsupported"},
		{"dup key", "merge_method: linear\nmerge_method: ties\n", `key "merge_method" given twice`},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeYAML(t, t.TempDir(), c.yaml)
			o := Defaults()
			err := LoadConfig(p, &o)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v, want %q naming %s", err, c.want, p)
			}
		})
	}
	// Parameter checks happen at validation, with the method in view.
	for _, c := range []struct{ name, yaml, want string }{
		{"param unknown", "merge_method: ties\nbase_model: z\nmodels:\n  - model: a\nparameters: {densty: 0.5}\n", `parameter "densty" is not one of ties's`},
		{"global per model", "merge_method: slerp\nbase_model: z\nmodels:\n  - model: a\n    parameters: {t: 0.5}\n", `parameter "t" of slerp is global`},
		{"density range", "merge_method: ties\nbase_model: z\nmodels:\n  - model: a\n    parameters: {density: [1, 1.5]}\n", `parameter "density": 1.5 outside (0, 1]`},
		{"bool", "merge_method: ties\nbase_model: z\nmodels:\n  - model: a\nparameters: {normalize: 2}\n", "want true or false"},
		{"no base", "merge_method: ties\nmodels:\n  - model: a\n", "needs a base model"},
		{"twice", "merge_method: linear\nmodels:\n  - model: a\n  - model: ./a\n", "listed twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeYAML(t, t.TempDir(), c.yaml)
			_, err := Resolve(p, Overrides{}, Defaults())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
}

// tiesRef is an independent TIES for one tensor, written from the paper's
// steps with a sort for the top-k: trim each task vector to its k largest
// magnitudes, elect the sign of the weighted sum, average the agreeing
// weighted entries over their weights.
func tiesRef(base []float32, xs [][]float32, density []float64) []float64 {
	n := len(base)
	trimmed := make([][]float64, len(xs))
	for i, x := range xs {
		tv := make([]float64, n)
		for e := range tv {
			tv[e] = float64(x[e] - base[e])
		}
		keep := n
		if density[i] < 1 {
			keep = max(1, int(density[i]*float64(n)))
		}
		idx := make([]int, n)
		for e := range idx {
			idx[e] = e
		}
		sort.SliceStable(idx, func(a, b int) bool { return math.Abs(tv[idx[a]]) > math.Abs(tv[idx[b]]) })
		trimmed[i] = make([]float64, n)
		for _, e := range idx[:keep] {
			trimmed[i][e] = tv[e]
		}
	}
	out := make([]float64, n)
	for e := range out {
		var sum float64
		for i := range xs {
			sum += trimmed[i][e]
		}
		var mixed, div float64
		for i := range xs {
			v := trimmed[i][e]
			if v != 0 && (v > 0) == (sum >= 0) {
				mixed += v
				div++
			}
		}
		if div == 0 {
			div = 1
		}
		out[e] = float64(base[e]) + mixed/div
	}
	return out
}

// TestAcceptanceYAML is the case: a mergekit YAML with int8_mask,
// dtype float16 and a gradient density runs, and every tensor equals an
// independent TIES at the density mergekit's rule gives its layer, cast to
// float16 (round to nearest even, as torch; F16FromFloat32 is checked
// against torch in package safetensors). Tolerance: one float16 ulp, for
// the float64 sums of the reference and the kernel being formed in
// different orders.
func TestAcceptanceYAML(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	var vals []map[string][]float32
	for _, m := range []string{"sft", "rm1", "rm2", "rm3"} {
		vals = append(vals, llamaDir(t, m, uint64(len(vals)+20)))
	}
	cfg := writeYAML(t, root, `merge_method: ties
base_model: sft
models:
  - model: sft
  - model: rm1
  - model: rm2
  - model: rm3
parameters:
  density: [1, 0.7, 0.1]
  int8_mask: true
dtype: float16
`)
	res, err := Run("out", cfg, Overrides{}, Defaults())
	if err != nil {
		t.Fatal(err)
	}
	if res.Layers != llamaLayers {
		t.Errorf("layers %d", res.Layers)
	}
	c, err := safetensors.OpenCheckpoint("out")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, s := range llamaShapes() {
		d := refGradient([]float64{1, 0.7, 0.1}, refPos(s.Name))
		ref := tiesRef(vals[0][s.Name], [][]float32{vals[1][s.Name], vals[2][s.Name], vals[3][s.Name]}, []float64{d, d, d})
		info, _ := c.Info(s.Name)
		raw, _ := c.Bytes(s.Name)
		if info.Dtype != safetensors.F16 {
			t.Fatalf("%s: dtype %s", s.Name, info.Dtype)
		}
		for e, r := range ref {
			h := binary.LittleEndian.Uint16(raw[2*e:])
			w := safetensors.F16FromFloat32(float32(r))
			if h != w && int(h)-int(w) != 1 && int(w)-int(h) != 1 {
				t.Fatalf("%s[%d] (density %v) = %#04x, reference %#04x", s.Name, e, d, h, w)
			}
		}
	}
	card, _ := os.ReadFile("out/README.md")
	for _, want := range []string{"density: [1, 0.7, 0.1]", "int8_mask: true", "dtype: float16", "merge_method: ties", "4 layers"} {
		if !strings.Contains(string(card), want) {
			t.Errorf("card lacks %q", want)
		}
	}
	raw, _ := os.ReadFile("out/config.json")
	if !strings.Contains(string(raw), `"torch_dtype": "float16"`) {
		t.Errorf("config.json: %s", raw)
	}
	// The card's resolved recipe reruns to the same bytes.
	_, recipe, ok := strings.Cut(string(card), "## Recipe")
	_, recipe, _ = strings.Cut(recipe, "```yaml\n")
	recipe, _, _ = strings.Cut(recipe, "```")
	if !ok || !strings.Contains(recipe, "int8_mask: true") {
		t.Fatalf("recipe block:\n%s", recipe)
	}
	os.WriteFile("recipe.yml", []byte(recipe), 0o644)
	if _, err := Run("again", "recipe.yml", Overrides{}, Defaults()); err != nil {
		t.Fatalf("recipe: %v\n%s", err, recipe)
	}
	a, _ := os.ReadFile("out/model.safetensors")
	b, _ := os.ReadFile("again/model.safetensors")
	if len(a) == 0 || string(a) != string(b) {
		t.Error("the recipe's merge differs")
	}
}

// TestSlicesEqualModels: a slices: config whose sources all cover every
// layer is the same merge as models:; a partial range is refused naming the
// layer count.
func TestSlicesEqualModels(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	llamaDir(t, "a", 1)
	llamaDir(t, "b", 2)
	viaModels := writeYAML(t, root, "merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: [1, 3]}\n  - model: b\n")
	if _, err := Run("m.safetensors", viaModels, Overrides{}, Defaults()); err != nil {
		t.Fatal(err)
	}
	os.WriteFile("s.yml", []byte("merge_method: linear\nslices:\n  - sources:\n    - {model: a, layer_range: [0, 4], parameters: {weight: [1, 3]}}\n    - {model: b, layer_range: [0, 4]}\n"), 0o644)
	if _, err := Run("s.safetensors", "s.yml", Overrides{}, Defaults()); err != nil {
		t.Fatal(err)
	}
	m, _ := os.ReadFile("m.safetensors")
	s, _ := os.ReadFile("s.safetensors")
	if len(m) == 0 || string(m) != string(s) {
		t.Error("slices and models outputs differ")
	}
	os.WriteFile("p.yml", []byte("merge_method: linear\nslices:\n  - sources:\n    - {model: a, layer_range: [0, 2]}\n    - {model: b, layer_range: [0, 2]}\n"), 0o644)
	if _, err := Run("p.safetensors", "p.yml", Overrides{}, Defaults()); err == nil || !strings.Contains(err.Error(), "have 4 layers") {
		t.Errorf("partial layer range: %v", err)
	}
}

// TestGradientWeights: a weight gradient gives each layer its own mean.
func TestGradientWeights(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	a, b := llamaDir(t, "a", 1), llamaDir(t, "b", 2)
	cfg := writeYAML(t, root, "merge_method: linear\nmodels:\n  - model: a\n    parameters: {weight: [0, 1]}\n  - model: b\n    parameters: {weight: [1, 0]}\ndtype: float32\n")
	if _, err := Run("out.safetensors", cfg, Overrides{}, Defaults()); err != nil {
		t.Fatal(err)
	}
	f, _ := safetensors.Open("out.safetensors")
	defer f.Close()
	for _, name := range []string{"model.embed_tokens.weight", "model.layers.1.mlp.up_proj.weight", "score.weight"} {
		pos := refPos(name)
		got, _ := f.Float32(name)
		for e := range got {
			// weights pos and 1−pos sum to 1: normalize divides by 1.
			want := float32(pos*float64(a[name][e]) + (1-pos)*float64(b[name][e]))
			if got[e] != want {
				t.Fatalf("%s[%d] = %v, want %v", name, e, got[e], want)
			}
		}
	}
}

// TestTokenizerSource: base and union pass when the vocabularies match and
// name the differing file otherwise.
func TestTokenizerSource(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	llamaDir(t, "a", 1)
	llamaDir(t, "b", 2)
	for _, src := range []string{"base", "union"} {
		cfg := writeYAML(t, root, fmt.Sprintf("merge_method: linear\ntokenizer_source: %s\nmodels:\n  - model: a\n  - model: b\n", src))
		if _, err := Run("ok-"+src, cfg, Overrides{}, Defaults()); err != nil {
			t.Errorf("%s with one vocabulary: %v", src, err)
		}
	}
	os.WriteFile("b/tokenizer.json", []byte(`{"model": {"type": "BPE", "vocab": {"a": 1, "b": 0}, "merges": []}, "added_tokens": []}`), 0o644)
	for src, want := range map[string]string{"base": "would mix token ids", "union": "unsupported"} {
		cfg := writeYAML(t, root, fmt.Sprintf("merge_method: linear\ntokenizer_source: %s\nmodels:\n  - model: a\n  - model: b\n", src))
		_, err := Run("bad-"+src, cfg, Overrides{}, Defaults())
		if err == nil || !strings.Contains(err.Error(), "tokenizer.json differs between a and b") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", src, err)
		}
	}
}

// refPos is mergekit's placement of the synthetic Llama tensors, written
// out independently of layerPos: layer l of 4 at l/3, the embeddings at 0,
// the final norm and the score head at 1.
func refPos(name string) float64 {
	var l int
	if _, err := fmt.Sscanf(name, "model.layers.%d.", &l); err == nil {
		return float64(l) / 3
	}
	if name == "model.embed_tokens.weight" {
		return 0
	}
	return 1
}

// refGradient is mergekit's evaluate_setting for a list of numbers.
func refGradient(v []float64, t float64) float64 {
	scaled := t * float64(len(v)-1)
	i0 := int(math.Floor(scaled))
	i1 := min(len(v)-1, i0+1)
	frac := scaled - float64(i0)
	return (1-frac)*v[i0] + frac*v[i1]
}

// TestSlerpGradientFilter: t from a filter list with a gradient lands each
// tensor on the right endpoint: self_attn tensors at t = 1 (the second
// model) everywhere, the others on the gradient [0, 1] (the first model at
// layer 0 and the embeddings, the second at the last layer and the head).
func TestSlerpGradientFilter(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	a, b := llamaDir(t, "a", 1), llamaDir(t, "b", 2)
	cfg := writeYAML(t, root, "merge_method: slerp\nbase_model: a\nmodels:\n  - model: a\n  - model: b\nparameters:\n  t:\n    - {filter: self_attn, value: 1}\n    - {value: [0, 1]}\ndtype: float32\n")
	if _, err := Run("out.safetensors", cfg, Overrides{}, Defaults()); err != nil {
		t.Fatal(err)
	}
	f, _ := safetensors.Open("out.safetensors")
	defer f.Close()
	for name, want := range map[string]map[string][]float32{
		"model.embed_tokens.weight":              a,
		"model.layers.0.mlp.up_proj.weight":      a,
		"model.layers.0.self_attn.q_proj.weight": b,
		"model.layers.3.mlp.down_proj.weight":    b,
		"score.weight":                           b,
	} {
		got, _ := f.Float32(name)
		if !reflect.DeepEqual(got, want[name]) {
			t.Errorf("%s: not the expected endpoint", name)
		}
	}
}

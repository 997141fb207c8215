package merge

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/safetensors"
)

var gpt2Shapes = []struct {
	name  string
	shape []int
}{
	{"transformer.wte.weight", []int{64, 16}},
	{"transformer.wpe.weight", []int{32, 16}},
	{"transformer.h.0.ln_1.weight", []int{16}},
	{"transformer.h.0.attn.c_attn.weight", []int{16, 48}},
	{"transformer.h.0.attn.c_attn.bias", []int{48}},
	{"transformer.h.0.attn.c_proj.weight", []int{16, 16}},
	{"transformer.h.0.mlp.c_fc.weight", []int{16, 64}},
	{"transformer.ln_f.weight", []int{16}},
	{"score.weight", []int{1, 16}},
}

// makeModel writes an HF-style directory with random F32 weights.
func makeModel(t testing.TB, dir string, seed uint64, shardSize int64) []safetensors.Tensor {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	var ts []safetensors.Tensor
	for _, s := range gpt2Shapes {
		n := 1
		for _, d := range s.shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(r.NormFloat64())
		}
		ts = append(ts, safetensors.Tensor{Name: s.name, Shape: s.shape, Data: data})
	}
	if err := safetensors.SaveCheckpoint(dir, ts, safetensors.F32, map[string]string{"format": "pt"}, shardSize); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, dir, 16)
	os.WriteFile(filepath.Join(dir, "vocab.json"), []byte(`{"a":0}`), 0o644)
	return ts
}

func writeConfig(t testing.TB, dir string, nEmbd int) {
	cfg := `{"model_type":"gpt2","architectures":["GPT2ForSequenceClassification"],"n_embd":` + strconv.Itoa(nEmbd) + `,"n_layer":1,"n_head":2,"vocab_size":64,"n_positions":32,"num_labels":1,"_name_or_path":"` + dir + `"}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

func models(t testing.TB, k int) (string, []string, [][]safetensors.Tensor) {
	root := t.TempDir()
	var paths []string
	var data [][]safetensors.Tensor
	for i := 0; i < k; i++ {
		p := filepath.Join(root, "rm"+string(rune('0'+i)))
		shard := int64(0)
		if i == 1 {
			shard = 4096 // one input sharded
		}
		data = append(data, makeModel(t, p, uint64(i+1), shard))
		paths = append(paths, p)
	}
	return root, paths, data
}

func readOut(t testing.TB, path string) map[string][]float32 {
	t.Helper()
	c, err := safetensors.OpenCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out := map[string][]float32{}
	for _, n := range c.Names() {
		v, err := c.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = v
	}
	return out
}

func opts(m string, paths ...string) Options {
	o := Defaults()
	o.Method, o.Models, o.Version = m, paths, "test"
	return o
}

// TestLinearExact: the f64-accumulated uniform mean equals a float64
// reference computed independently (Σ (1/K)·x_i in model order, rounded once
// to float32) bit for bit; the f32 accumulator is within 2 ulp.
func TestLinearExact(t *testing.T) {
	root, paths, data := models(t, 3)
	for _, acc := range []string{"f64", "f32"} {
		out := filepath.Join(root, "out-"+acc)
		o := opts("linear", paths...)
		o.Accum = acc
		res, err := Merge(out, o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Tensors != len(gpt2Shapes) {
			t.Errorf("%d tensors", res.Tensors)
		}
		got := readOut(t, out)
		for ti, s := range gpt2Shapes {
			for e := range data[0][ti].Data {
				var ref, mag float64
				for k := range data {
					ref += (1.0 / 3) * float64(data[k][ti].Data[e])
					mag += math.Abs(float64(data[k][ti].Data[e])) / 3
				}
				g := got[s.name][e]
				if acc == "f64" && g != float32(ref) {
					t.Fatalf("%s[%d] = %v, reference %v", s.name, e, g, float32(ref))
				}
				// float32 sums: each of the 2K roundings is within half an
				// ulp of the running magnitude, bounded by Σ|c·x|.
				if acc == "f32" && math.Abs(float64(g)-ref) > 6*0x1p-24*mag {
					t.Fatalf("f32 %s[%d] = %v, reference %v", s.name, e, g, ref)
				}
			}
		}
		for _, f := range []string{"config.json", "vocab.json", "README.md", "model.safetensors"} {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil {
				t.Error(err)
			}
		}
	}
	// Per-model weights with normalize: w = 1,2,3 → (x0 + 2x1 + 3x2)/6.
	o := opts("linear", paths...)
	for i, w := range []float64{1, 2, 3} {
		o.SetModel(i, "weight", w)
	}
	out := filepath.Join(root, "weighted")
	if _, err := Merge(out, o); err != nil {
		t.Fatal(err)
	}
	got := readOut(t, out)
	e := 5
	ref := float32(1.0/6*float64(data[0][3].Data[e]) + 2.0/6*float64(data[1][3].Data[e]) + 3.0/6*float64(data[2][3].Data[e]))
	if g := got[gpt2Shapes[3].name][e]; g != ref {
		t.Errorf("weighted mean %v, want %v", g, ref)
	}
	card, _ := os.ReadFile(filepath.Join(out, "README.md"))
	for _, want := range []string{"merge_method: linear", "  - model: \"" + paths[2] + "\"\n    parameters: {weight: 3}", "| model 3 | " + paths[2] + " |", "model-00001-of-"} {
		if !strings.Contains(string(card), want) {
			t.Errorf("model card lacks %q:\n%s", want, card)
		}
	}
	// The card's sha256 is the file's.
	h := sha256File(t, filepath.Join(paths[0], "model.safetensors"))
	if !strings.Contains(string(card), h) {
		t.Errorf("model card lacks sha256 %s", h)
	}
}

func sha256File(t testing.TB, p string) string {
	fs := []InputFile{{Path: p}}
	if err := hashFiles(fs, ""); err != nil {
		t.Fatal(err)
	}
	return fs[0].SHA256
}

// writeVec writes one-tensor files for small hand-computed cases.
func writeVec(t testing.TB, dir, name string, v []float32) string {
	p := filepath.Join(dir, name+".safetensors")
	if err := safetensors.WriteFloat32(p, []safetensors.Tensor{{Name: "w", Shape: []int{len(v)}, Data: v}}, safetensors.F32, nil); err != nil {
		t.Fatal(err)
	}
	return p
}

func mergeVec(t testing.TB, o Options) []float32 {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.safetensors")
	if _, err := Merge(out, o); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, _ := f.Float32("w")
	return v
}

func TestSLERP(t *testing.T) {
	dir := t.TempDir()
	a := writeVec(t, dir, "a", []float32{1, 0, 0, 0})
	b := writeVec(t, dir, "b", []float32{0, 1, 0, 0})
	for _, tc := range []struct {
		t    float64
		want []float32
	}{{0, []float32{1, 0, 0, 0}}, {1, []float32{0, 1, 0, 0}}} {
		o := opts("slerp", a, b)
		o.Set("t", tc.t)
		if got := mergeVec(t, o); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("t=%g: %v", tc.t, got)
		}
	}
	// Orthogonal unit vectors: the midpoint keeps norm 1 (lerp would give 0.707).
	o := opts("slerp", a, b)
	o.Set("t", 0.5)
	got := mergeVec(t, o)
	norm := math.Hypot(float64(got[0]), float64(got[1]))
	if math.Abs(norm-1) > 1e-6 || math.Abs(float64(got[0]-got[1])) > 1e-7 {
		t.Errorf("slerp midpoint %v, norm %v", got, norm)
	}
	// t=0.25: cos(π/8), sin(π/8).
	o.Set("t", 0.25)
	got = mergeVec(t, o)
	if math.Abs(float64(got[0])-math.Cos(math.Pi/8)) > 1e-6 || math.Abs(float64(got[1])-math.Sin(math.Pi/8)) > 1e-6 {
		t.Errorf("slerp t=0.25: %v", got)
	}
	// Nearly colinear: lerp.
	c := writeVec(t, dir, "c", []float32{2, 0.001, 0, 0})
	o = opts("slerp", a, c)
	o.Set("t", 0.5)
	if got := mergeVec(t, o); got[0] != 1.5 || got[1] != 0.0005 {
		t.Errorf("colinear fallback: %v", got)
	}
	// With a base model, the base is the t=0 endpoint.
	o = opts("slerp", b)
	o.Base = a
	o.Set("t", 0)
	if got := mergeVec(t, o); !reflect.DeepEqual(got, []float32{1, 0, 0, 0}) {
		t.Errorf("base endpoint: %v", got)
	}
}

func TestTaskArithmetic(t *testing.T) {
	dir := t.TempDir()
	base := writeVec(t, dir, "base", []float32{1, 1, 1})
	a := writeVec(t, dir, "a", []float32{2, 1, 0})
	b := writeVec(t, dir, "b", []float32{1, 3, 1})
	o := opts("task_arithmetic", a, b)
	o.Base = base
	o.Set("lambda", 0.5)
	// base + 0.5·((1,0,-1) + (0,2,0)) = (1.5, 2, 0.5)
	if got := mergeVec(t, o); !reflect.DeepEqual(got, []float32{1.5, 2, 0.5}) {
		t.Errorf("task arithmetic %v", got)
	}
}

// TestTIES checks ties against a hand computation (Yadav et al. 2023, with
// mergekit's conventions: trim by magnitude, elect the sign of the weighted
// sum, mean over the agreeing models).
func TestTIES(t *testing.T) {
	dir := t.TempDir()
	base := writeVec(t, dir, "base", []float32{0, 0, 0, 0, 0, 0})
	a := writeVec(t, dir, "a", []float32{3, -2, 0.5, 1, -4, 0.1})
	b := writeVec(t, dir, "b", []float32{-1, -3, 2, 0.2, 5, 0.3})
	c := writeVec(t, dir, "c", []float32{2, 1, -3, -0.4, 0.6, -0.2})
	o := opts("ties", a, b, c)
	o.Base = base
	o.Set("density", 0.5)
	// Trim to the top 3 magnitudes of each:
	//   a: 3, -2, -4 → (3, -2, 0, 0, -4, 0)
	//   b: -3, 2, 5  → (0, -3, 2, 0, 5, 0)
	//   c: 2, -3, 1  → (2, 1, -3, 0, 0, 0)
	// Signs of the sums: +, -, -, (0 → +), +, (0 → +)
	// Disjoint means: (3+2)/2, (-2-3)/2, -3/1, 0, 5/1, 0
	want := []float32{2.5, -2.5, -3, 0, 5, 0}
	if got := mergeVec(t, o); !reflect.DeepEqual(got, want) {
		t.Errorf("ties %v, want %v", got, want)
	}
	// Weights (1, 1, 2) without normalize: c counts double, sums not means.
	for i, w := range []float64{1, 1, 2} {
		o.SetModel(i, "weight", w)
	}
	o.Set("normalize", 0)
	// weighted: a (3,-2,0,0,-4,0), b (0,-3,2,0,5,0), c (4,2,-6,0,0,0)
	// sums: 7, -3, -4, 0, 1, 0 → signs + - - + + +
	want = []float32{7, -5, -6, 0, 5, 0}
	if got := mergeVec(t, o); !reflect.DeepEqual(got, want) {
		t.Errorf("weighted ties %v, want %v", got, want)
	}
}

func TestTopKThreshold(t *testing.T) {
	bitsOf := func(v []float32) []uint32 {
		b := make([]uint32, len(v))
		magBits(b, v, make([]float32, len(v)))
		return b
	}
	v := []float32{1, -3, 3, 2, -3, 0.5}
	thr, end := topKThreshold(bitsOf(v), 2)
	// Top 2 magnitudes: the 3s at indices 1, 2 (index 4 is a tie left out).
	if thr != 3 || end != 3 {
		t.Errorf("thr %v end %d", thr, end)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 50; trial++ {
		n := 1 + r.IntN(300)
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.IntN(20)-10) * float32(math.Pow(10, float64(r.IntN(9)-4))) // many ties, many exponents
		}
		k := 1 + r.IntN(n)
		thr, end := topKThreshold(bitsOf(v), k)
		// thr is the k-th largest magnitude (checked against a sort).
		s := make([]float64, n)
		for i, x := range v {
			s[i] = math.Abs(float64(x))
		}
		sort.Float64s(s)
		if k < n && float64(thr) != s[n-k] {
			t.Fatalf("n=%d k=%d thr %v, want %v", n, k, thr, s[n-k])
		}
		kept := 0
		for i, x := range v {
			a := float32(math.Abs(float64(x)))
			if a > thr || a == thr && i < end {
				kept++
			}
		}
		if kept != k {
			t.Fatalf("n=%d k=%d kept %d", n, k, kept)
		}
	}
}

// TestDARE: the drop mask is the documented hash, kept entries are
// rescaled by 1/density, and with density 1 dare is task arithmetic.
func TestDARE(t *testing.T) {
	dir := t.TempDir()
	n := 4096
	bv, av, cv := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range av {
		bv[i] = 1
		av[i] = 1 + float32(i%7+1)
		cv[i] = 1 - float32(i%5+1)
	}
	base, a, c := writeVec(t, dir, "base", bv), writeVec(t, dir, "a", av), writeVec(t, dir, "c", cv)
	o := opts("dare_linear", a, c)
	o.Base, o.Seed = base, 42
	o.Set("density", 0.25)
	got := mergeVec(t, o)
	key := fnvKey("w")
	keptA := 0
	for i := range got {
		ka := mix(42, 0, key, uint64(i)) < uint64(0.25*(1<<64))
		kc := mix(42, 1, key, uint64(i)) < uint64(0.25*(1<<64))
		want := 0.0
		if ka {
			want += float64(av[i]-1) / 0.25
			keptA++
		}
		if kc {
			want += float64(cv[i]-1) / 0.25
		}
		if got[i] != float32(1+want) {
			t.Fatalf("dare[%d] = %v, want %v", i, got[i], 1+want)
		}
	}
	if math.Abs(float64(keptA)/float64(n)-0.25) > 0.03 {
		t.Errorf("kept fraction %v, want ≈ 0.25", float64(keptA)/float64(n))
	}
	// Same seed, same result; another seed, another mask.
	if again := mergeVec(t, o); !reflect.DeepEqual(again, got) {
		t.Error("dare not reproducible")
	}
	o.Seed = 43
	if other := mergeVec(t, o); reflect.DeepEqual(other, got) {
		t.Error("seed ignored")
	}
	// Density 1: plain task arithmetic.
	o.Set("density", 1)
	got = mergeVec(t, o)
	ta := opts("task_arithmetic", a, c)
	ta.Base = base
	if want := mergeVec(t, ta); !reflect.DeepEqual(got, want) {
		t.Error("dare with density 1 differs from task arithmetic")
	}
	// dare then ties runs the sign election on the rescaled vectors.
	o.Method = "dare_ties"
	got = mergeVec(t, o)
	for i := range got {
		da, dc := float64(av[i]-1), float64(cv[i]-1) // da > 0 > dc
		var want float64
		if da+dc >= 0 {
			want = da
		} else {
			want = dc
		}
		if got[i] != float32(1+want) {
			t.Fatalf("dare_ties[%d] = %v, want %v", i, got[i], 1+want)
		}
	}
}

func fnvKey(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func TestBF16AndDtypes(t *testing.T) {
	root, paths, data := models(t, 2)
	out := filepath.Join(root, "bf16")
	o := opts("linear", paths...)
	o.Dtype = "bf16"
	if _, err := Merge(out, o); err != nil {
		t.Fatal(err)
	}
	c, err := safetensors.OpenCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, _ := c.Info("score.weight")
	raw, _ := c.Bytes("score.weight")
	if info.Dtype != safetensors.BF16 {
		t.Fatalf("dtype %s", info.Dtype)
	}
	for e := 0; e < 16; e++ {
		mean := float32(0.5*float64(data[0][8].Data[e]) + 0.5*float64(data[1][8].Data[e]))
		if h := binary.LittleEndian.Uint16(raw[2*e:]); h != safetensors.BF16FromFloat32(mean) {
			t.Errorf("bf16[%d] %#04x, want RNE of %v", e, h, mean)
		}
	}
	// keep: a BF16 model merged with keep stays BF16.
	o2 := opts("linear", out, copyTree(t, out, filepath.Join(root, "bf16-copy")))
	out2 := filepath.Join(root, "bf16-keep")
	if _, err := Merge(out2, o2); err != nil {
		t.Fatal(err)
	}
	c2, _ := safetensors.OpenCheckpoint(out2)
	defer c2.Close()
	raw2, _ := c2.Bytes("score.weight")
	if info, _ := c2.Info("score.weight"); info.Dtype != safetensors.BF16 || !reflect.DeepEqual(raw, raw2) {
		t.Errorf("keep: %s, bytes equal %v", info.Dtype, reflect.DeepEqual(raw, raw2))
	}
}

func TestBuffersAndIntTensors(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, mask bool, ids []int64) string {
		p := filepath.Join(dir, name+".safetensors")
		infos := []safetensors.TensorInfo{{Name: "h.0.attn.c_attn.bias", Dtype: safetensors.F32, Shape: []int{2}}, {Name: "position_ids", Dtype: safetensors.I64, Shape: []int{len(ids)}}}
		if mask {
			infos = append(infos, safetensors.TensorInfo{Name: "h.0.attn.masked_bias", Dtype: safetensors.F32, Shape: []int{}})
		}
		w, err := safetensors.Create(p, infos, nil)
		if err != nil {
			t.Fatal(err)
		}
		var b []byte
		b = safetensors.EncodeFloat32(b, []float32{1, 2}, safetensors.F32)
		for _, v := range ids {
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
		if mask {
			b = safetensors.EncodeFloat32(b, []float32{-1e4}, safetensors.F32)
		}
		w.Write(b)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b, c := mk("a", true, []int64{0, 1, 2}), mk("b", true, []int64{0, 1, 2}), mk("c", false, []int64{0, 1, 2})
	out := filepath.Join(dir, "o1.safetensors")
	res, err := Merge(out, opts("linear", a, b))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := safetensors.Open(out)
	mb, _ := f.Float32("h.0.attn.masked_bias")
	ids, _ := f.Bytes("position_ids")
	if len(mb) != 1 || mb[0] != -1e4 || binary.LittleEndian.Uint64(ids[16:]) != 2 || res.Tensors != 3 {
		t.Errorf("buffers: %v %v %d", mb, ids, res.Tensors)
	}
	f.Close()
	// Present in only some inputs: dropped, not an error.
	res, err = Merge(filepath.Join(dir, "o2.safetensors"), opts("linear", a, c))
	if err != nil || res.Tensors != 2 || len(res.Dropped) != 1 {
		t.Errorf("partial buffers: %v %+v", err, res)
	}
	// Differing integer tensors are an error naming both files.
	d := mk("d", false, []int64{0, 1, 5})
	_, err = Merge(filepath.Join(dir, "o3.safetensors"), opts("linear", c, d))
	if err == nil || !strings.Contains(err.Error(), "position_ids") || !strings.Contains(err.Error(), d) {
		t.Errorf("differing ints: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "o3.safetensors")); err == nil {
		t.Error("output left behind")
	}
}

// assertClean checks a failed merge left nothing in dir besides keep.
func assertClean(t *testing.T, dir string, keep map[string]bool) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !keep[e.Name()] {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestFailedMergeLeavesNothing(t *testing.T) {
	root, paths, _ := models(t, 3)
	keep := map[string]bool{"rm0": true, "rm1": true, "rm2": true}
	out := filepath.Join(root, "out")

	// NaN in one input, deep in a tensor: error names file and tensor.
	p := filepath.Join(paths[2], "model.safetensors")
	orig, _ := os.ReadFile(p)
	f, _ := safetensors.Open(p)
	info, _ := f.Info("transformer.h.0.mlp.c_fc.weight")
	off := f.DataOffset() + info.Begin + 4*100
	f.Close()
	bad := append([]byte(nil), orig...)
	binary.LittleEndian.PutUint32(bad[off:], math.Float32bits(float32(math.NaN())))
	os.WriteFile(p, bad, 0o644)
	_, err := Merge(out, opts("linear", paths...))
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "mlp.c_fc.weight") || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN: %v", err)
	}
	assertClean(t, root, keep)

	// Truncated input.
	os.WriteFile(p, orig[:len(orig)-10], 0o644)
	_, err = Merge(out, opts("linear", paths...))
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("truncated: %v", err)
	}
	assertClean(t, root, keep)
	os.WriteFile(p, orig, 0o644)

	// Mismatched shapes: a model with n_embd 8 names the tensor and both files.
	other := filepath.Join(t.TempDir(), "small")
	ts := []safetensors.Tensor{}
	for _, s := range gpt2Shapes {
		shape := append([]int(nil), s.shape...)
		if s.name == "transformer.ln_f.weight" {
			shape = []int{8}
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		ts = append(ts, safetensors.Tensor{Name: s.name, Shape: shape, Data: make([]float32, n)})
	}
	safetensors.SaveCheckpoint(other, ts, safetensors.F32, nil, 0)
	_, err = Merge(out, opts("linear", paths[0], other))
	if err == nil || !strings.Contains(err.Error(), "transformer.ln_f.weight") || !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), paths[0]) {
		t.Errorf("shape mismatch: %v", err)
	}
	// Incompatible configs are caught before tensors.
	writeConfig(t, other, 8)
	_, err = Merge(out, opts("linear", paths[0], other))
	if err == nil || !strings.Contains(err.Error(), "n_embd") {
		t.Errorf("config mismatch: %v", err)
	}
	assertClean(t, root, keep)
	// Existing output is not overwritten without Overwrite.
	os.Mkdir(out, 0o755)
	if _, err := Merge(out, opts("linear", paths...)); err == nil {
		t.Error("existing output replaced")
	}
	o := opts("linear", paths...)
	o.Overwrite = true
	if _, err := Merge(out, o); err != nil {
		t.Error(err)
	}
}

func TestHashCache(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	p := filepath.Join(dir, "x.safetensors")
	os.WriteFile(p, []byte("abc"), 0o644)
	const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // FIPS 180-2 test vector
	fs := []InputFile{{Path: p}}
	if err := hashFiles(fs, cache); err != nil || fs[0].SHA256 != abc {
		t.Fatalf("%v %s", err, fs[0].SHA256)
	}
	if ents, _ := os.ReadDir(cache); len(ents) != 1 {
		t.Fatalf("cache entries %d", len(ents))
	}
	// A changed file is re-hashed, not served from the cache.
	os.WriteFile(p, []byte("abcd"), 0o644)
	fs[0].SHA256 = ""
	if err := hashFiles(fs, cache); err != nil || fs[0].SHA256 != "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589" {
		t.Fatalf("after change: %v %s", err, fs[0].SHA256)
	}
}

func TestProgress(t *testing.T) {
	root, paths, _ := models(t, 2)
	var buf strings.Builder
	o := opts("linear", paths...)
	o.Progress, o.ProgressNow = &buf, true
	if _, err := Merge(filepath.Join(root, "out"), o); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "9/9 tensors") || !strings.Contains(last, "100.0%") || !strings.Contains(last, "ETA") {
		t.Errorf("progress: %q", buf.String())
	}
	// Short merges without ProgressNow print nothing.
	buf.Reset()
	o.ProgressNow = false
	if _, err := Merge(filepath.Join(root, "out2"), o); err != nil || buf.Len() != 0 {
		t.Errorf("quiet short merge: %v %q", err, buf.String())
	}
}

// TestKeepDtypes merges the Python-written fixture (F32, F16, BF16, I64,
// BOOL, a scalar) with itself: with --dtype keep every tensor comes back
// byte for byte, in its own dtype.
func TestKeepDtypes(t *testing.T) {
	fx := "../safetensors/testdata/torch_fixture.safetensors"
	out := filepath.Join(t.TempDir(), "out.safetensors")
	dir := t.TempDir()
	fxs := []string{fx, copyTree(t, fx, filepath.Join(dir, "b.safetensors")), copyTree(t, fx, filepath.Join(dir, "c.safetensors"))}
	if _, err := Merge(out, opts("linear", fxs...)); err != nil {
		t.Fatal(err)
	}
	a, _ := safetensors.Open(fx)
	defer a.Close()
	b, err := safetensors.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !reflect.DeepEqual(a.Names(), b.Names()) {
		t.Fatalf("names %v", b.Names())
	}
	for _, n := range a.Names() {
		ia, _ := a.Info(n)
		ib, _ := b.Info(n)
		ra, _ := a.Bytes(n)
		rb, _ := b.Bytes(n)
		if ia.Dtype != ib.Dtype || !reflect.DeepEqual(ra, rb) {
			t.Errorf("%s: %s→%s, bytes equal %v", n, ia.Dtype, ib.Dtype, reflect.DeepEqual(ra, rb))
		}
	}
}

func TestCancelLeavesNothing(t *testing.T) {
	root, paths, _ := models(t, 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := opts("linear", paths...)
	o.Context = ctx
	if _, err := Merge(filepath.Join(root, "out"), o); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("cancelled merge: %v", err)
	}
	assertClean(t, root, map[string]bool{"rm0": true, "rm1": true})
}

// TestLinear64Sequential: for every K (all accumulator modes) and lengths
// with vector tails, linear64 equals the float64 sum formed left to right
// in model order and rounded once, in the portable and the SIMD build.
func TestLinear64Sequential(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for k := 1; k <= 9; k++ {
		for _, n := range []int{1, 7, 8, 9, 1003} {
			xs := make([][]float32, k)
			coef := make([]float64, k)
			for i := range xs {
				coef[i] = r.Float64()*2 - 0.5
				xs[i] = make([]float32, n)
				for e := range xs[i] {
					xs[i][e] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(7)-3)))
				}
			}
			res := make([]float32, n)
			linear64(res, xs, nil, coef, make([]float64, n))
			for e := range res {
				var ref float64
				for i := range xs {
					ref += coef[i] * float64(xs[i][e])
				}
				if res[e] != float32(ref) {
					t.Fatalf("K=%d n=%d [%d]: %v, want %v", k, n, e, res[e], float32(ref))
				}
			}
		}
	}
}

// copyTree copies a file, or a directory's files, to dst and returns dst.
func copyTree(t testing.TB, src, dst string) string {
	t.Helper()
	st, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	if !st.IsDir() {
		raw, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(src)
	for _, e := range ents {
		copyTree(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
	}
	return dst
}

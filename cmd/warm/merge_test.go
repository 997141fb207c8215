package main

import (
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/safetensors"
)

// TestMergeHelperProcess is not a test: the CLI tests re-run the test
// binary with WARM_MERGE_HELPER=1 to get a real process running `warm`.
func TestMergeHelperProcess(t *testing.T) {
	if os.Getenv("WARM_MERGE_HELPER") != "1" {
		t.Skip("helper process")
	}
	args := strings.Split(os.Getenv("WARM_MERGE_ARGS"), "\x1f")
	os.Exit(runMain(args))
}

func runWarm(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMergeHelperProcess$")
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir(), "HOME="+t.TempDir(), "WARM_MERGE_HELPER=1", "WARM_MERGE_ARGS="+strings.Join(args, "\x1f"))
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// gpt2Dir writes an HF GPT-2 reward-model-shaped checkpoint directory.
func gpt2Dir(t *testing.T, dir string, seed uint64) map[string][]float32 {
	t.Helper()
	const d, v, p, layers = 32, 100, 16, 2
	shapes := [][2]any{
		{"transformer.wte.weight", []int{v, d}}, {"transformer.wpe.weight", []int{p, d}},
	}
	for l := 0; l < layers; l++ {
		h := "transformer.h." + string(rune('0'+l)) + "."
		shapes = append(shapes,
			[2]any{h + "ln_1.weight", []int{d}}, [2]any{h + "ln_1.bias", []int{d}},
			[2]any{h + "attn.c_attn.weight", []int{d, 3 * d}}, [2]any{h + "attn.c_attn.bias", []int{3 * d}},
			[2]any{h + "attn.c_proj.weight", []int{d, d}}, [2]any{h + "attn.c_proj.bias", []int{d}},
			[2]any{h + "ln_2.weight", []int{d}}, [2]any{h + "ln_2.bias", []int{d}},
			[2]any{h + "mlp.c_fc.weight", []int{d, 4 * d}}, [2]any{h + "mlp.c_fc.bias", []int{4 * d}},
			[2]any{h + "mlp.c_proj.weight", []int{4 * d, d}}, [2]any{h + "mlp.c_proj.bias", []int{d}})
	}
	shapes = append(shapes, [2]any{"transformer.ln_f.weight", []int{d}}, [2]any{"transformer.ln_f.bias", []int{d}}, [2]any{"score.weight", []int{1, d}})
	r := rand.New(rand.NewPCG(seed, 1))
	var ts []safetensors.Tensor
	vals := map[string][]float32{}
	for _, s := range shapes {
		shape := s[1].([]int)
		n := 1
		for _, x := range shape {
			n *= x
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(r.NormFloat64() * 0.02)
		}
		ts = append(ts, safetensors.Tensor{Name: s[0].(string), Shape: shape, Data: data})
		vals[s[0].(string)] = data
	}
	if err := safetensors.SaveCheckpoint(dir, ts, safetensors.F32, map[string]string{"format": "pt"}, 0); err != nil {
		t.Fatal(err)
	}
	cfg := `{"architectures":["GPT2ForSequenceClassification"],"model_type":"gpt2","n_embd":32,"n_head":4,"n_layer":2,"n_positions":16,"vocab_size":100,"layer_norm_epsilon":1e-05,"activation_function":"gelu_new","num_labels":1,"pad_token_id":0}`
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644)
	os.WriteFile(filepath.Join(dir, "vocab.json"), []byte(`{"<|endoftext|>":0}`), 0o644)
	os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("#version: 0.2\n"), 0o644)
	return vals
}

func TestMergeCLI(t *testing.T) {
	root := t.TempDir()
	var dirs []string
	var vals []map[string][]float32
	for i := 0; i < 3; i++ {
		d := filepath.Join(root, "rm"+string(rune('a'+i)))
		vals = append(vals, gpt2Dir(t, d, uint64(i+10)))
		dirs = append(dirs, d)
	}
	out := filepath.Join(root, "out")
	msg, code := runWarm(t, append([]string{"merge", "-o", out}, dirs...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	if !strings.Contains(msg, "3 models") {
		t.Errorf("summary: %s", msg)
	}
	c, err := safetensors.OpenCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	names := c.Names()
	if len(names) != len(vals[0]) {
		t.Fatalf("%d tensors, want %d", len(names), len(vals[0]))
	}
	// The exact element-wise mean: float64 sum of x/3, rounded once.
	for _, n := range names {
		got, _ := c.Float32(n)
		for e, g := range got {
			var ref float64
			for k := range vals {
				ref += (1.0 / 3) * float64(vals[k][n][e])
			}
			if g != float32(ref) {
				t.Fatalf("%s[%d] = %v, mean %v", n, e, g, float32(ref))
			}
		}
	}
	c.Close()
	for _, f := range []string{"config.json", "vocab.json", "merges.txt", "README.md"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	card, _ := os.ReadFile(filepath.Join(out, "README.md"))
	if !strings.Contains(string(card), "warm "+version) || !strings.Contains(string(card), dirs[2]) {
		t.Errorf("model card:\n%s", card)
	}

	// Flags after positionals, bf16, sharding.
	out2 := filepath.Join(root, "out2")
	if msg, code := runWarm(t, "merge", dirs[0], dirs[1], "-o", out2, "--dtype", "bf16", "--shard-size", "20kB", "--quiet"); code != 0 || msg != "" {
		t.Fatalf("exit %d: %q", code, msg)
	}
	c2, err := safetensors.OpenCheckpoint(out2)
	if err != nil {
		t.Fatal(err)
	}
	if len(c2.Files()) < 2 {
		t.Errorf("not sharded: %v", c2.Files())
	}
	got, _ := c2.Float32("score.weight")
	want := float32(0.5*float64(vals[0]["score.weight"][3]) + 0.5*float64(vals[1]["score.weight"][3]))
	if got[3] != safetensors.Float32FromBF16(safetensors.BF16FromFloat32(want)) {
		t.Errorf("bf16 mean %v, want %v", got[3], want)
	}
	c2.Close()

	// A truncated input: one line naming the file, exit ≠ 0, no out left.
	bad := filepath.Join(dirs[1], "model.safetensors")
	raw, _ := os.ReadFile(bad)
	os.WriteFile(bad, raw[:len(raw)-100], 0o644)
	out3 := filepath.Join(root, "out3")
	msg, code = runWarm(t, append([]string{"merge", "-o", out3}, dirs...)...)
	t.Logf("truncated input: %s", msg)
	if code == 0 || strings.Count(strings.TrimSpace(msg), "\n") != 0 || !strings.Contains(msg, bad) || !strings.HasPrefix(msg, "warm merge: ") {
		t.Errorf("truncated input: exit %d, %q", code, msg)
	}
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "out3") || strings.HasPrefix(e.Name(), ".out3") {
			t.Errorf("left behind: %s", e.Name())
		}
	}

	// YAML config as an alternative to flags.
	os.WriteFile(bad, raw, 0o644)
	cfg := filepath.Join(root, "merge.yml")
	os.WriteFile(cfg, []byte("merge_method: linear\nmodels:\n  - model: "+dirs[0]+"\n    parameters: {weight: 3}\n  - model: "+dirs[1]+"\n    parameters: {weight: 1}\ndtype: float32\n"), 0o644)
	out4 := filepath.Join(root, "out4")
	if msg, code := runWarm(t, "merge", "--config", cfg, "-o", out4, "--quiet"); code != 0 {
		t.Fatalf("config: exit %d: %s", code, msg)
	}
	c4, _ := safetensors.OpenCheckpoint(out4)
	got, _ = c4.Float32("score.weight")
	want = float32(0.75*float64(vals[0]["score.weight"][3]) + 0.25*float64(vals[1]["score.weight"][3]))
	if math.Abs(float64(got[3]-want)) > 1e-9 {
		t.Errorf("config weights: %v, want %v", got[3], want)
	}
	c4.Close()
	// The mergekit YAML: int8_mask, float16, a gradient density;
	// flags override it (--lambda), and the card embeds it.
	cfg = filepath.Join(root, "ties.yml")
	os.WriteFile(cfg, []byte("merge_method: ties\nbase_model: "+dirs[0]+"\nmodels:\n  - model: "+dirs[0]+"\n  - model: "+dirs[1]+"\n  - model: "+dirs[2]+"\nparameters:\n  density: [1, 0.7, 0.1]\n  int8_mask: true\ndtype: float16\n"), 0o644)
	out5 := filepath.Join(root, "out5")
	if msg, code := runWarm(t, "merge", "--config", cfg, "--lambda", "0.5", "-o", out5, "--quiet"); code != 0 {
		t.Fatalf("ties yaml: exit %d: %s", code, msg)
	}
	c5, _ := safetensors.OpenCheckpoint(out5)
	if info, _ := c5.Info("score.weight"); info.Dtype != safetensors.F16 {
		t.Errorf("dtype %s", info.Dtype)
	}
	c5.Close()
	card, _ = os.ReadFile(filepath.Join(out5, "README.md"))
	for _, want := range []string{"density: [1, 0.7, 0.1]", "lambda: 0.5", "int8_mask: true", "--lambda 0.5"} {
		if !strings.Contains(string(card), want) {
			t.Errorf("card lacks %q", want)
		}
	}
	// One-line errors naming the problem: a path twice, an unknown key.
	if msg, code := runWarm(t, "merge", "-o", filepath.Join(root, "dup"), dirs[0], dirs[1], dirs[0]); code != 1 || !strings.Contains(msg, "listed twice") || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
		t.Errorf("duplicate: exit %d: %q", code, msg)
	}
	os.WriteFile(cfg, []byte("merge_method: linear\nint8mask: true\n"), 0o644)
	if msg, code := runWarm(t, "merge", "--config", cfg, "-o", filepath.Join(root, "bad")); code != 1 || !strings.Contains(msg, cfg+":2: unknown key \"int8mask\"") {
		t.Errorf("unknown key: exit %d: %q", code, msg)
	}
	// --force keeps a user's OUT.old; bare --normalize is a bool flag.
	os.WriteFile(out4+".old", []byte("mine"), 0o644)
	if msg, code := runWarm(t, "merge", "--force", "--normalize", "-o", out4, "--quiet", dirs[0], dirs[1]); code != 0 {
		t.Fatalf("force: exit %d: %s", code, msg)
	}
	if b, _ := os.ReadFile(out4 + ".old"); string(b) != "mine" {
		t.Errorf("OUT.old: %q", b)
	}
	// Usage errors exit 2.
	if _, code := runWarm(t, "merge", dirs[0]); code != 2 {
		t.Errorf("missing -o: exit %d", code)
	}
}

func TestParseSize(t *testing.T) {
	for s, want := range map[string]int64{"5GB": 5e9, "2gb": 2e9, "500MB": 5e8, "1GiB": 1 << 30, "1000": 1000, "0": 0} {
		if got, err := parseSize(s); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v", s, got, err)
		}
	}
	if _, err := parseSize("lots"); err == nil {
		t.Error("bad size accepted")
	}
}

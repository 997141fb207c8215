package merge

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/warm-rm/warm/kit/safetensors"
)

// llamaLayers is the layer count of the synthetic Llama-shaped models.
const llamaLayers = 4

// llamaShapes are the tensors of a tiny Llama/Qwen-shaped
// *ForSequenceClassification checkpoint with tied embeddings (no lm_head):
// Qwen2's q/k/v biases and Qwen3's q_norm/k_norm included, so every name
// family the issue lists goes through the merge.
func llamaShapes() []safetensors.TensorInfo {
	const d, v, kv, ff = 16, 40, 8, 32
	ts := []safetensors.TensorInfo{{Name: "model.embed_tokens.weight", Shape: []int{v, d}}}
	for l := range llamaLayers {
		p := fmt.Sprintf("model.layers.%d.", l)
		ts = append(ts,
			safetensors.TensorInfo{Name: p + "input_layernorm.weight", Shape: []int{d}},
			safetensors.TensorInfo{Name: p + "self_attn.q_proj.weight", Shape: []int{d, d}},
			safetensors.TensorInfo{Name: p + "self_attn.q_proj.bias", Shape: []int{d}},
			safetensors.TensorInfo{Name: p + "self_attn.k_proj.weight", Shape: []int{kv, d}},
			safetensors.TensorInfo{Name: p + "self_attn.v_proj.weight", Shape: []int{kv, d}},
			safetensors.TensorInfo{Name: p + "self_attn.o_proj.weight", Shape: []int{d, d}},
			safetensors.TensorInfo{Name: p + "self_attn.q_norm.weight", Shape: []int{4}},
			safetensors.TensorInfo{Name: p + "self_attn.k_norm.weight", Shape: []int{4}},
			safetensors.TensorInfo{Name: p + "post_attention_layernorm.weight", Shape: []int{d}},
			safetensors.TensorInfo{Name: p + "mlp.gate_proj.weight", Shape: []int{ff, d}},
			safetensors.TensorInfo{Name: p + "mlp.up_proj.weight", Shape: []int{ff, d}},
			safetensors.TensorInfo{Name: p + "mlp.down_proj.weight", Shape: []int{d, ff}})
	}
	return append(ts, safetensors.TensorInfo{Name: "model.norm.weight", Shape: []int{d}},
		safetensors.TensorInfo{Name: "score.weight", Shape: []int{1, d}})
}

// llamaDir writes a BF16 checkpoint sharded in ~4 kB pieces (with
// model.safetensors.index.json), config.json and tokenizer files, and
// returns the values as stored (BF16 widened to float32).
func llamaDir(t testing.TB, dir string, seed uint64) map[string][]float32 {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 11))
	var ts []safetensors.Tensor
	vals := map[string][]float32{}
	for _, s := range llamaShapes() {
		n := 1
		for _, x := range s.Shape {
			n *= x
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(r.NormFloat64() * 0.05)
		}
		ts = append(ts, safetensors.Tensor{Name: s.Name, Shape: s.Shape, Data: data})
		stored := make([]float32, n)
		for i, x := range data {
			stored[i] = safetensors.Float32FromBF16(safetensors.BF16FromFloat32(x))
		}
		vals[s.Name] = stored
	}
	if err := safetensors.SaveCheckpoint(dir, ts, safetensors.BF16, map[string]string{"format": "pt"}, 4096); err != nil {
		t.Fatal(err)
	}
	cfg := `{"architectures": ["LlamaForSequenceClassification"], "model_type": "llama", "hidden_size": 16, "num_hidden_layers": 4,
"num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 32, "vocab_size": 40, "rms_norm_eps": 1e-05,
"rope_theta": 500000.0, "tie_word_embeddings": true, "num_labels": 1, "pad_token_id": 0, "torch_dtype": "bfloat16",
"_name_or_path": "` + dir + `"}`
	files := map[string]string{
		"config.json":           cfg,
		"tokenizer.json":        `{"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}, "added_tokens": []}`,
		"tokenizer_config.json": `{"chat_template": "{{ messages }}"}`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return vals
}

// TestLlamaShapedBF16: three sharded BF16 Llama/Qwen-shaped reward models
// average to the exact element-wise mean (Σ x_i/3 in float64, rounded to
// float32, then to BF16 with round-to-nearest-even), written BF16, with the
// config's torch_dtype, the tokenizer files and no lm_head invented for the
// tied embeddings.
func TestLlamaShapedBF16(t *testing.T) {
	root := t.TempDir()
	var paths []string
	var vals []map[string][]float32
	for i := range 3 {
		p := filepath.Join(root, fmt.Sprintf("rm%d", i))
		vals = append(vals, llamaDir(t, p, uint64(i+1)))
		paths = append(paths, p)
	}
	if _, err := os.Stat(filepath.Join(paths[0], "model.safetensors.index.json")); err != nil {
		t.Fatalf("fixture not sharded: %v", err)
	}
	for _, dt := range []string{"keep", "f32"} {
		out := filepath.Join(root, "wa-"+dt)
		o := opts("linear", paths...)
		o.Dtype = dt
		if _, err := Merge(out, o); err != nil {
			t.Fatal(err)
		}
		c, err := safetensors.OpenCheckpoint(out)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Names()) != len(llamaShapes()) {
			t.Errorf("%d tensors, want %d", len(c.Names()), len(llamaShapes()))
		}
		for _, s := range llamaShapes() {
			info, _ := c.Info(s.Name)
			raw, _ := c.Bytes(s.Name)
			for e := range vals[0][s.Name] {
				var ref float64
				for k := range vals {
					ref += (1.0 / 3) * float64(vals[k][s.Name][e])
				}
				if dt == "keep" {
					if info.Dtype != safetensors.BF16 {
						t.Fatalf("%s: dtype %s", s.Name, info.Dtype)
					}
					if h := binary.LittleEndian.Uint16(raw[2*e:]); h != safetensors.BF16FromFloat32(float32(ref)) {
						t.Fatalf("%s[%d] = %#04x, want %#04x", s.Name, e, h, safetensors.BF16FromFloat32(float32(ref)))
					}
				} else if g, _ := c.Float32(s.Name); g[e] != float32(ref) {
					t.Fatalf("f32 %s[%d] = %v, want %v", s.Name, e, g[e], float32(ref))
				}
			}
		}
		c.Close()
		var cfg map[string]any
		raw, _ := os.ReadFile(filepath.Join(out, "config.json"))
		if err := json.Unmarshal(raw, &cfg); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"keep": "bfloat16", "f32": "float32"}[dt]
		if cfg["torch_dtype"] != want || cfg["tie_word_embeddings"] != true || cfg["rope_theta"] != 500000.0 {
			t.Errorf("%s: config %v", dt, cfg)
		}
		for _, f := range []string{"tokenizer.json", "tokenizer_config.json", "README.md"} {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil {
				t.Error(err)
			}
		}
	}
}

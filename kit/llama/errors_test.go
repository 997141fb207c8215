package llama

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/warm-rm/warm/kit/safetensors"
)

// withConfig copies a fixture's weights into a temp dir with config.json
// edited by edit (a nil value deletes the key).
func withConfig(t *testing.T, fixture string, edit map[string]any) string {
	t.Helper()
	src := filepath.Join("testdata", fixture)
	dir := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "config.json" || e.Name() == "expected.json" {
			continue
		}
		// Symlinks keep the temp dirs cheap; Load follows them.
		abs, _ := filepath.Abs(filepath.Join(src, e.Name()))
		if err := os.Symlink(abs, filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	for k, v := range edit {
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	out, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, fixture string
		edit          map[string]any
		want          string // substring of the one-line error
	}{
		{"unknown model_type", "llama_rm_f32", map[string]any{"model_type": "gemma2"}, `model_type "gemma2" is not supported`},
		{"architecture of another family", "llama_rm_f32", map[string]any{"architectures": []string{"Qwen2ForSequenceClassification"}}, `architectures "Qwen2ForSequenceClassification" is not supported`},
		{"no architectures", "llama_rm_f32", map[string]any{"architectures": nil}, "architectures is missing"},
		{"rope type", "llama_rm_f32", map[string]any{"rope_scaling": map[string]any{"rope_type": "yarn", "factor": 4.0}}, `rope_type "yarn" is not supported`},
		{"llama3 rope without factor", "llama_rm_f32", map[string]any{"rope_scaling": map[string]any{"rope_type": "llama3"}}, "rope_scaling.factor is missing"},
		{"sliding window on", "qwen3_rm_f32", map[string]any{"use_sliding_window": true}, "use_sliding_window true is not supported"},
		{"layer types", "qwen3_rm_f32", map[string]any{"layer_types": []string{"full_attention", "sliding_attention"}}, `layer_types[1] "sliding_attention"`},
		{"activation", "llama_rm_f32", map[string]any{"hidden_act": "gelu"}, `hidden_act "gelu"`},
		{"partial rotary", "llama_rm_f32", map[string]any{"partial_rotary_factor": 0.5}, "partial_rotary_factor 0.5"},
		{"kv heads", "llama_rm_f32", map[string]any{"num_key_value_heads": 3}, "num_key_value_heads 3 does not divide"},
		{"odd head_dim", "qwen3_rm_f32", map[string]any{"head_dim": 15}, "head_dim 15"},
		{"num_labels", "llama_rm_f32", map[string]any{"num_labels": 2}, "num_labels is 2"},
		{"pad list", "llama_rm_f32", map[string]any{"pad_token_id": []int{1, 2}}, "pad_token_id [1,2]"},
		{"hidden size vs weights", "llama_rm_f32", map[string]any{"hidden_size": 128}, `"model.embed_tokens.weight" has shape [512 64], config.json implies [512 128]`},
		{"vocab vs weights", "llama_rm_f32", map[string]any{"vocab_size": 128256}, "config.json implies [128256 64]"},
		{"layers vs weights", "llama_rm_f32", map[string]any{"num_hidden_layers": 3}, `tensor "model.layers.2.input_layernorm.weight" is missing`},
		{"fewer layers than weights", "llama_rm_f32", map[string]any{"num_hidden_layers": 1}, `tensor "model.layers.1.input_layernorm.weight" is not used`},
		{"qwen2 config on llama weights", "llama_rm_f32", map[string]any{"model_type": "qwen2", "architectures": []string{"Qwen2ForSequenceClassification"}}, `"model.layers.0.self_attn.q_proj.bias" is missing`},
		{"reward head on LM weights", "llama_lm_bf16", map[string]any{"architectures": []string{"LlamaForSequenceClassification"}, "num_labels": 1}, `"score.weight" is missing`},
		{"untied LM without lm_head", "llama_lm_bf16", map[string]any{"tie_word_embeddings": false}, `"lm_head.weight" is missing`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := withConfig(t, tc.fixture, tc.edit)
			m, err := Load(dir)
			if err == nil {
				m.Close()
				t.Fatalf("loaded; want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q, want one line containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name the model directory or file", err)
			}
		})
	}
}

func TestInputErrors(t *testing.T) {
	rm, err := Load("testdata/qwen3_rm_f32")
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Close()
	lm, err := Load("testdata/mistral_lm_f32")
	if err != nil {
		t.Fatal(err)
	}
	defer lm.Close()
	long := make([]int, rm.MaxLen()+1)
	for _, tc := range []struct {
		name string
		f    func() error
		want string
	}{
		{"token id too large", func() error { _, err := rm.Rewards([][]int{{1, 2}, {3, 512}}); return err }, "sequence 1, position 1: token id 512 is outside the vocabulary [0, 512)"},
		{"negative id", func() error { _, err := lm.TokenLogProbs([][]int{{-1}}); return err }, "token id -1"},
		{"empty sequence", func() error { _, err := rm.Rewards([][]int{{1}, {}}); return err }, "sequence 1 is empty"},
		{"too long", func() error { _, err := rm.Rewards([][]int{long}); return err }, "more than max_position_embeddings 4096"},
		{"rewards from an LM", func() error { _, err := lm.Rewards([][]int{{1}}); return err }, "MistralForCausalLM has no reward head"},
		{"closed", func() error {
			c, err := Load("testdata/llama_rm_f32")
			if err != nil {
				return err
			}
			c.Close()
			_, err = c.Rewards([][]int{{1}})
			return err
		}, "model is closed"},
		{"log-probs from an RM", func() error { _, err := rm.TokenLogProbs([][]int{{1}}); return err }, "Qwen3ForSequenceClassification has no language-model head"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// Pooling follows transformers: the rightmost token that is not
// pad_token_id, position 0 when all are pad, the last token without a
// pad id.
func TestPoolIndex(t *testing.T) {
	pad := 3
	withPad := &Model{cfg: Config{PadTokenID: &pad}}
	noPad := &Model{cfg: Config{}}
	for _, tc := range []struct {
		m    *Model
		seq  []int
		want int
	}{
		{withPad, []int{5, 6, 7}, 2},
		{withPad, []int{5, 3, 7, 3, 3}, 2},
		{withPad, []int{3, 3, 3}, 0},
		{withPad, []int{3}, 0},
		{noPad, []int{5, 3, 3}, 2},
	} {
		if got := tc.m.poolIndex(tc.seq); got != tc.want {
			t.Errorf("pad %v, %v: index %d, want %d", tc.m.cfg.PadTokenID, tc.seq, got, tc.want)
		}
	}
}

// Batches larger than one packed group split into several groups; each
// sequence's result stays bit-identical to scoring it alone.
func TestGroups(t *testing.T) {
	m, err := Load("testdata/qwen3_rm_f32")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var seqs [][]int
	for i := range 30 {
		s := make([]int, 150+i)
		for j := range s {
			s[j] = (i*31 + j*7) % 512
		}
		seqs = append(seqs, s)
	}
	if g := groups(seqs); len(g) < 2 {
		t.Fatalf("%d groups for %d tokens; the test needs ≥ 2", len(g), 30*165)
	}
	all, err := m.Rewards(seqs)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 17, 29} {
		one, err := m.Rewards(seqs[i : i+1])
		if err != nil {
			t.Fatal(err)
		}
		if one[0] != all[i] {
			t.Errorf("sequence %d: alone %v, in a %d-sequence batch %v", i, one[0], len(seqs), all[i])
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	dir := withConfig(t, "qwen3_rm_f32", map[string]any{"rope_theta": nil, "rope_parameters": map[string]any{"rope_type": "default", "rope_theta": 1e6}})
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := m.Config()
	if c.RopeTheta != 1e6 || c.HeadDim != 32 || c.NumKVHeads != 2 || c.PadTokenID != nil || c.Task != Reward || len(c.EOSTokenIDs) != 1 {
		t.Errorf("config %+v", c)
	}
}

// BF16 weights stay BF16: every matrix aliases the mapped file (no float32
// copy), which is what keeps peak RSS near the weight files' size.
func TestBF16StaysBF16(t *testing.T) {
	m, err := Load("testdata/qwen3_rm_bf16")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	mats := []*matrix{&m.embed}
	for i := range m.layers {
		L := &m.layers[i]
		mats = append(mats, &L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down)
	}
	for i, w := range mats {
		if w.bf16 == nil || w.f32 != nil {
			t.Fatalf("matrix %d: bf16 %v, f32 %v: want BF16 only", i, w.bf16 != nil, w.f32 != nil)
		}
	}
	raw, err := m.ckpt.Bytes("model.layers.0.mlp.up_proj.weight")
	if err != nil {
		t.Fatal(err)
	}
	if &raw[0] != (*byte)(unsafe.Pointer(&m.layers[0].up.bf16[0])) {
		t.Error("up_proj is a copy, not the mapped bytes")
	}
}

// F16 weights (widened to float32 at load) score as the F32 original does,
// within F16's rounding of the weights (11 significant bits).
func TestF16Weights(t *testing.T) {
	src, err := safetensors.Open("testdata/qwen3_rm_f32/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dir := withConfig(t, "qwen3_rm_f32", nil)
	os.Remove(filepath.Join(dir, "model.safetensors"))
	var infos []safetensors.TensorInfo
	for _, ti := range src.Tensors() {
		infos = append(infos, safetensors.TensorInfo{Name: ti.Name, Dtype: safetensors.F16, Shape: ti.Shape})
	}
	w, err := safetensors.Create(filepath.Join(dir, "model.safetensors"), infos, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range infos {
		v, err := src.Float32(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, 2*len(v))
		for i, f := range v {
			h := safetensors.F16FromFloat32(f)
			raw[2*i], raw[2*i+1] = byte(h), byte(h>>8)
		}
		if _, err := w.Write(raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	e := readExpected(t, "testdata/qwen3_rm_f32")
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	got, err := m.Rewards(e.Seqs)
	if err != nil {
		t.Fatal(err)
	}
	tol := 1e-2 * rms(e.Rewards)
	compare(t, "F16 reward vs F32", got, e.Rewards, func(float64) float64 { return tol })
}

func TestReadConfigAndSupports(t *testing.T) {
	c, err := ReadConfig("testdata/llama_rm_f32/config.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.RopeScaling == nil || c.RopeScaling.Type != "llama3" || c.RopeScaling.Factor != 8 || *c.PadTokenID != 3 {
		t.Errorf("config %+v", c)
	}
	for mt, want := range map[string]bool{"llama": true, "qwen2": true, "qwen3": true, "mistral": true, "gpt2": false, "gemma": false} {
		if Supports(mt) != want {
			t.Errorf("Supports(%q) = %v", mt, !want)
		}
	}
}

// Concurrent callers each get their own workspace: results equal the
// serial ones.
func TestConcurrentCalls(t *testing.T) {
	e := readExpected(t, "testdata/qwen2_rm_bf16")
	m, err := Load("testdata/qwen2_rm_bf16")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want, err := m.Rewards(e.Seqs)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			seqs := e.Seqs[g%2:] // different batches in flight at once
			for range 3 {
				got, err := m.Rewards(seqs)
				if err != nil {
					errs <- err
					return
				}
				for i := range got {
					if got[i] != want[g%2+i] {
						errs <- fmt.Errorf("goroutine %d: reward %d = %v, serial %v", g, i, got[i], want[g%2+i])
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

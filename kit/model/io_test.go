package model

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/safetensors"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	m := tinyModel(t, 11)
	dir := t.TempDir()
	if err := m.Save(dir, safetensors.F32); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Config != m.Config {
		t.Errorf("config changed:\n%+v\n%+v", back.Config, m.Config)
	}
	for i, v := range m.Weights() {
		if back.Weights()[i] != v {
			t.Fatalf("F32 round trip changed weight %d", i)
		}
	}
	// config.json has what transformers needs to load a GPT2ForSequenceClassification.
	raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	var cj map[string]any
	if err := json.Unmarshal(raw, &cj); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"model_type", "architectures", "n_embd", "n_head", "n_layer", "n_positions", "n_ctx",
		"n_inner", "activation_function", "layer_norm_epsilon", "resid_pdrop", "embd_pdrop", "attn_pdrop",
		"initializer_range", "bos_token_id", "eos_token_id", "pad_token_id", "id2label", "label2id",
		"scale_attn_weights", "summary_type", "vocab_size", "torch_dtype", "transformers_version"} {
		if _, ok := cj[k]; !ok {
			t.Errorf("config.json lacks %q", k)
		}
	}
	if cj["resid_pdrop"] != 0.1 || cj["architectures"].([]any)[0] != ArchRewardModel {
		t.Errorf("config.json: resid_pdrop %v, architectures %v", cj["resid_pdrop"], cj["architectures"])
	}

	// BF16: rewards move by the rounding only.
	bdir := t.TempDir()
	if err := m.Save(bdir, safetensors.BF16); err != nil {
		t.Fatal(err)
	}
	bm, err := Load(bdir)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Weights() {
		if d := math.Abs(float64(bm.Weights()[i] - v)); d > math.Abs(float64(v))/256 {
			t.Fatalf("BF16 weight %d: %g vs %g", i, bm.Weights()[i], v)
		}
	}
}

// TestLoadOldNames: names without "transformer.", attn.bias buffers and a
// tied lm_head.weight load; an unknown tensor and a wrong shape do not.
func TestLoadOldNames(t *testing.T) {
	m := tinyModel(t, 12)
	m.AsLanguageModel()
	write := func(rename func(string) string, extra ...safetensors.Tensor) string {
		dir := t.TempDir()
		var ts []safetensors.Tensor
		for _, p := range m.Params {
			ts = append(ts, safetensors.Tensor{Name: rename(p.Name), Shape: p.Shape, Data: p.W})
		}
		ts = append(ts, extra...)
		if err := safetensors.SaveCheckpoint(dir, ts, safetensors.F32, nil, 0); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.json"), m.Config.HFConfigJSON(safetensors.F32), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	strip := func(s string) string { return strings.TrimPrefix(s, "transformer.") }
	T := m.Config.NPositions
	buf := safetensors.Tensor{Name: "h.0.attn.bias", Shape: []int{1, 1, T, T}, Data: make([]float32, T*T)}
	lm := safetensors.Tensor{Name: "lm_head.weight", Shape: m.wte.Shape, Data: m.wte.W}
	back, err := Load(write(strip, buf, lm))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Weights() {
		if back.Weights()[i] != v {
			t.Fatalf("weight %d differs", i)
		}
	}
	_, err = Load(write(strip, safetensors.Tensor{Name: "h.0.mlp.extra", Shape: []int{2}, Data: []float32{1, 2}}))
	if err == nil || !strings.Contains(err.Error(), "h.0.mlp.extra") {
		t.Errorf("unexpected tensor: got %v", err)
	}
	bad := func(s string) string {
		if s == "transformer.ln_f.bias" {
			return "ln_f.bias.x"
		}
		return s
	}
	if _, err := Load(write(bad)); err == nil || !strings.Contains(err.Error(), "transformer.ln_f.bias") {
		t.Errorf("missing tensor: got %v", err)
	}
}

func TestReadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	for _, c := range []struct{ json, want string }{
		{`{"model_type":"llama"}`, "model_type"},
		{`{"activation_function":"gelu"}`, "activation_function"},
		{`{"architectures":["GPT2ForSequenceClassification"],"num_labels":2}`, "num_labels"},
		{`{"n_embd":30,"n_head":4}`, "multiple"},
		{`{"n_embd":`, "config.json"},
	} {
		os.WriteFile(path, []byte(c.json), 0o644)
		_, err := ReadConfig(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming the file and %q", c.json, err, c.want)
		}
	}
}

// TestLoadF16: an F16 checkpoint (written by hand: header + data) loads,
// with weights equal to their F16 rounding.
func TestLoadF16(t *testing.T) {
	m := tinyModel(t, 13)
	dir := t.TempDir()
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data []byte
	for _, p := range m.Params {
		begin := len(data)
		data = safetensors.EncodeFloat32(data, p.W, safetensors.F16)
		header[p.Name] = map[string]any{"dtype": "F16", "shape": p.Shape, "data_offsets": []int{begin, len(data)}}
	}
	hj, _ := json.Marshal(header)
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	var file []byte
	file = append(file, byte(len(hj)), byte(len(hj)>>8), byte(len(hj)>>16), byte(len(hj)>>24), 0, 0, 0, 0)
	file = append(file, hj...)
	file = append(file, data...)
	os.WriteFile(filepath.Join(dir, "model.safetensors"), file, 0o644)
	os.WriteFile(filepath.Join(dir, "config.json"), m.Config.HFConfigJSON(safetensors.F16), 0o644)
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Weights() {
		want := safetensors.Float32FromF16(safetensors.F16FromFloat32(v))
		if back.Weights()[i] != want {
			t.Fatalf("weight %d: %g, want F16 %g", i, back.Weights()[i], want)
		}
	}
}

func TestAsRewardModelPad(t *testing.T) {
	c := tinyConfig()
	c.Architecture, c.PadTokenID, c.EOSTokenID = ArchLM, -1, 20
	m := New(c, 1)
	if m.HasRewardHead() {
		t.Fatal("LM has a reward head")
	}
	m.AsRewardModel(2)
	if !m.HasRewardHead() || m.Config.PadTokenID != 20 || m.Config.Architecture != ArchRewardModel {
		t.Fatalf("after AsRewardModel: head %v, config %+v", m.HasRewardHead(), m.Config)
	}
	w := m.Weights()
	old := append([]float32(nil), w[:len(w)-c.NEmbd]...)
	m.AsLanguageModel()
	if m.HasRewardHead() || !reflect.DeepEqual(m.Weights(), old) {
		t.Fatal("AsLanguageModel did not drop exactly the head")
	}
}

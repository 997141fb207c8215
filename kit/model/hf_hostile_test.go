package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/safetensors"
)

// TestLoadHostileConfig: a config.json whose sizes do not match the weight
// files is an error naming the tensor, never a huge allocation or a panic
// (n_embd 2^24 with n_head 1 used to panic in makeslice).
func TestLoadHostileConfig(t *testing.T) {
	m := tinyModel(t, 21)
	good := t.TempDir()
	if err := m.Save(good, safetensors.F32); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(good, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		set  map[string]any
		want string
	}{
		{"huge n_embd", map[string]any{"n_embd": 1 << 24, "n_head": 1}, "config.json implies"},
		{"huge vocab", map[string]any{"vocab_size": 1 << 40}, "config.json implies"},
		{"huge n_positions", map[string]any{"n_positions": 1 << 40, "n_ctx": 1 << 40}, "config.json implies"},
		{"huge n_layer", map[string]any{"n_layer": 1 << 40}, "n_layer"},
		{"one layer too many", map[string]any{"n_layer": m.Config.NLayer + 1}, "missing tensor"},
		{"huge n_inner", map[string]any{"n_inner": 1 << 50}, "config.json implies"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cj map[string]any
			if err := json.Unmarshal(raw, &cj); err != nil {
				t.Fatal(err)
			}
			for k, v := range c.set {
				cj[k] = v
			}
			dir := t.TempDir()
			b, _ := json.Marshal(cj)
			if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
				t.Fatal(err)
			}
			w, _ := os.ReadFile(filepath.Join(good, "model.safetensors"))
			if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), w, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("Load = %v, want an error naming %s and containing %q", err, dir, c.want)
			}
		})
	}
}

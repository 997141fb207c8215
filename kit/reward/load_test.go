package reward

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// LoadOptions reach the Llama loader: a Private model keeps scoring after
// its file is truncated, and Close releases it (later calls fail).
func TestLoadOptionsPrivate(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join("..", "llama", "testdata", "qwen3_rm_bf16", name))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	m, err := LoadOptions{Private: true, Finite: true}.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	seqs := [][]int{{1, 5, 9}, {7}}
	want, err := m.Rewards(seqs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, "model.safetensors"), 0); err != nil {
		t.Fatal(err)
	}
	got, err := m.Rewards(seqs)
	if err != nil || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("after truncation: %v %v, want %v", got, err, want)
	}
	if err := Close(m); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rewards(seqs); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Rewards after Close: %v, want a closed error", err)
	}
}

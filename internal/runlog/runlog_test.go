package runlog

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteJSONAtomicAndReadBack(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.json")
	if err := WriteJSON(p, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	var got map[string]int
	if err := ReadJSON(p, &got); err != nil || got["a"] != 1 {
		t.Fatalf("read back %v, %v", got, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temporary files left behind: %v", ents)
	}
	// An unencodable value fails before touching the old file.
	if err := WriteJSON(p, func() {}); err == nil {
		t.Fatal("encoded a func")
	}
	if err := ReadJSON(p, &got); err != nil || got["a"] != 1 {
		t.Fatal("a failed write damaged the previous file")
	}
	os.WriteFile(p, []byte("{bad"), 0o644)
	if err := ReadJSON(p, &got); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("malformed JSON error %v does not name the file", err)
	}
}

func TestMetricsAppend(t *testing.T) {
	p := filepath.Join(t.TempDir(), "metrics.jsonl")
	for i := 0; i < 2; i++ { // a resumed run appends
		m, err := OpenMetrics(p)
		if err != nil {
			t.Fatal(err)
		}
		m.Log(map[string]any{"step": i})
		m.Close()
	}
	b, _ := os.ReadFile(p)
	if got := string(b); got != "{\"step\":0}\n{\"step\":1}\n" {
		t.Fatalf("metrics file %q", got)
	}
}

func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, "train", "steps", 100, 50)
	p.Interval = 0
	p.Update(60, "loss 0.5")
	line := buf.String()
	for _, want := range []string{"train: 60/100 steps (60%)", "ETA", "loss 0.5"} {
		if !strings.Contains(line, want) {
			t.Fatalf("progress line %q lacks %q", line, want)
		}
	}
}

func TestTrimMetrics(t *testing.T) {
	p := filepath.Join(t.TempDir(), "metrics.jsonl")
	os.WriteFile(p, []byte("{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n{\"ste"), 0o644)
	if err := TrimMetrics(p, 2); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "{\"step\":1}\n{\"step\":2}\n" {
		t.Fatalf("trimmed to %q", b)
	}
	if err := TrimMetrics(filepath.Join(t.TempDir(), "none.jsonl"), 1); err != nil {
		t.Fatalf("missing file: %v", err)
	}
}

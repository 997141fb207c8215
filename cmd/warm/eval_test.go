package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/warm-rm/warm/kit/prefdata"
)

// TestEvalJSONLParquetSame is issue 15's acceptance: TRL-format rows as
// JSONL and the same rows as Parquet give identical `warm eval` numbers.
// The "independent" case uses prefdata's fixtures, whose Parquet files
// Apache Arrow JS / arrow-rs wrote next to their JSONL twins (explicit,
// empty, null and implicit prompts, margins, int ids); the "generated"
// case is 40 explicit-prompt rows with margins written by prefdata.
func TestEvalJSONLParquetSame(t *testing.T) {
	dir := t.TempDir()
	var gen []prefdata.Row
	for i := range 40 {
		gen = append(gen, prefdata.Row{ID: fmt.Sprint(i), Prompt: fmt.Sprintf("Review %d:", i),
			Chosen: fmt.Sprintf(" a lovely, kind and happy day number %d.", i), Rejected: fmt.Sprintf(" a sad, awful day %d.", i%7),
			Margin: prefdata.Float(float64(i % 3))})
	}
	genJSONL, genParquet := filepath.Join(dir, "gen.jsonl"), filepath.Join(dir, "gen.parquet")
	var jl bytes.Buffer
	for _, r := range gen {
		b, _ := json.Marshal(map[string]any{"id": r.ID, "prompt": r.Prompt, "chosen": r.Chosen, "rejected": r.Rejected, "margin": *r.Margin})
		jl.Write(append(b, '\n'))
	}
	if err := os.WriteFile(genJSONL, jl.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prefdata.WriteParquet(genParquet, gen); err != nil {
		t.Fatal(err)
	}
	fix := "../../kit/prefdata/testdata/"
	mdl := filepath.Join(scoreFixture, "hf_rm")
	for _, c := range []struct{ name, val, ood string }{
		{"independent", fix + "trl_standard", fix + "trl_implicit"},
		{"generated", filepath.Join(dir, "gen"), fix + "trl_implicit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var results [2][]byte
			for i, ext := range []string{".jsonl", ".parquet"} {
				out := filepath.Join(t.TempDir(), "eval")
				args := []string{"--data", dir, "--val", c.val + ext, "--ood", c.ood + ext, "-o", out, mdl, mdl}
				if code := runMain(append([]string{"eval"}, args...)); code != 0 {
					t.Fatalf("warm eval %v: exit %d", args, code)
				}
				b, err := os.ReadFile(filepath.Join(out, "eval.json"))
				if err != nil {
					t.Fatal(err)
				}
				results[i] = b
			}
			if !bytes.Equal(results[0], results[1]) {
				t.Fatalf("eval.json differs:\nJSONL:   %s\nParquet: %s", results[0], results[1])
			}
			var res struct {
				Entries []struct {
					Splits map[string]struct{ N int }
				}
			}
			if err := json.Unmarshal(results[0], &res); err != nil || len(res.Entries) == 0 || res.Entries[0].Splits["val"].N == 0 || res.Entries[0].Splits["ood"].N == 0 {
				t.Fatalf("eval.json has no val/ood numbers (%v): %s", err, results[0])
			}
		})
	}
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/tokenizer"
)

// TestPretrainAndDataEndToEnd runs `warm pretrain --preset tiny` and
// `warm data --preset tiny` on the embedded corpus sample, as CI does
// without scripts/setup, and checks that every output parses.
func TestPretrainAndDataEndToEnd(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "pretrain")
	// (pretrain's own tests check that 300 steps beat the unigram baseline.)
	if code := runMain([]string{"pretrain", "--preset", "tiny", "--sample", "--out", run, "--steps", "120"}); code != 0 {
		t.Fatalf("warm pretrain exited %d", code)
	}
	var ps struct {
		Checkpoints []string
		ValLoss     float64 `json:"val_loss"`
		ValPPL      float64 `json:"val_ppl"`
		UnigramPPL  float64 `json:"unigram_ppl"`
		Tokens      int64
		Seconds     float64
	}
	dataReadJSON(t, filepath.Join(run, "summary.json"), &ps)
	if len(ps.Checkpoints) != 3 || !(ps.ValPPL > 1) || !(ps.UnigramPPL > 1) || ps.Tokens != 120*8*64 || ps.Seconds <= 0 {
		t.Errorf("pretrain summary %+v", ps)
	}
	for _, c := range ps.Checkpoints {
		if _, err := model.Load(filepath.Join(run, c)); err != nil {
			t.Errorf("checkpoint %s: %v", c, err)
		}
		if _, err := tokenizer.Load(filepath.Join(run, c)); err != nil {
			t.Errorf("checkpoint %s tokenizer: %v", c, err)
		}
	}

	data := filepath.Join(dir, "data")
	// The tiny policy writes too few sentiment words for tie dropping.
	if code := runMain([]string{"data", "--preset", "tiny", "--sample", "--policy", filepath.Join(run, "final"),
		"--out", data, "--parquet", "--drop-ties=false"}); code != 0 {
		t.Fatalf("warm data exited %d", code)
	}
	sizes := map[string]int{"train": 96, "val": 32, "ood": 32}
	prompts := map[string]string{}
	for split, n := range sizes {
		rows, err := prefdata.ReadJSONL(filepath.Join(data, split+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		pq, err := prefdata.ReadParquet(filepath.Join(data, split+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		// Val and OOD are grouped at tiny (4 responses per prompt, every
		// pair among them): whole prompts, so up to 5 pairs over.
		if len(rows) != len(pq) || len(rows) < n || len(rows) > n+5 || (split == "train" && len(rows) != n) {
			t.Errorf("%s: %d JSONL and %d Parquet rows, want %d (val, ood: up to %d)", split, len(rows), len(pq), n, n+5)
		}
		corrupted := 0
		for _, r := range rows {
			if r.Split != split || r.GoldChosen == nil || r.GoldRejected == nil || r.Chosen == "" || r.Rejected == "" {
				t.Fatalf("%s row %+v", split, r)
			}
			if s, ok := prompts[r.Prompt]; ok && s != split {
				t.Fatalf("prompt %q in %s and %s", r.Prompt, s, split)
			}
			prompts[r.Prompt] = split
			if r.Corrupted {
				corrupted++
			}
		}
		if want := map[string]int{"train": 24}[split]; corrupted != want {
			t.Errorf("%s: %d corrupted rows, want %d", split, corrupted, want)
		}
	}
	var ds struct {
		Sizes map[string]int
		Train struct {
			GoldAgreement  float64 `json:"gold_agreement"`
			CorruptionRate float64 `json:"corruption_rate"`
			TieFraction    float64 `json:"tie_fraction"`
		}
	}
	dataReadJSON(t, filepath.Join(data, "summary.json"), &ds)
	if ds.Sizes["train"] != 96 || ds.Train.CorruptionRate != 0.25 || ds.Train.GoldAgreement <= 0 {
		t.Errorf("data summary %+v", ds)
	}

	// Bad input: a clear error, non-zero exit, nothing written.
	bad := filepath.Join(dir, "bad")
	if code := runMain([]string{"data", "--preset", "tiny", "--sample", "--policy", filepath.Join(dir, "nope"), "--out", bad}); code == 0 {
		t.Error("warm data with a missing policy exited 0")
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Error("failed warm data left an output directory")
	}
}

func dataReadJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

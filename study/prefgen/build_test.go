package prefgen

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/stats"
)

func testConfig() Config {
	var id, ood []string
	for i := range 3000 {
		id = append(id, fmt.Sprintf("held-out sentence %d begins", i))
	}
	for i := range 600 {
		ood = append(ood, fmt.Sprintf("a review, number %d, said", i))
	}
	// Two OOD openings equal to ID ones: they must not become OOD prompts.
	ood = append(ood, id[0], id[1])
	return Config{IDOpenings: id, OODOpenings: ood, Train: 1200, Val: 300, OOD: 300, PromptMinTok: 8, PromptMaxTok: 24,
		MinNew: 8, MaxNew: 16, Temperature: 1, OODTemperature: 1.5, BTTemperature: 0.25, Corrupt: 0.25, DropTies: true, Batch: 32, Seed: 9}
}

func TestBuildSplitsLabelsCorruption(t *testing.T) {
	cfg := testConfig()
	ds, err := Build(byteTok{}, wordPolicy(0.02), countJudge{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Train) != 1200 || len(ds.Val) != 300 || len(ds.OOD) != 300 {
		t.Fatalf("sizes %d/%d/%d", len(ds.Train), len(ds.Val), len(ds.OOD))
	}

	// No prompt appears in two splits (nor twice in one).
	seen := map[string]string{}
	for _, rows := range [][]prefdata.Row{ds.Train, ds.Val, ds.OOD} {
		for _, r := range rows {
			if s, ok := seen[r.Prompt]; ok {
				t.Fatalf("prompt %q in %s and %s", r.Prompt, s, r.Split)
			}
			seen[r.Prompt] = r.Split
		}
	}

	// The corruption fraction is exact, and only training rows are swapped.
	n := 0
	for _, r := range ds.Train {
		if r.Corrupted {
			n++
		}
	}
	if n != 300 {
		t.Errorf("%d of 1200 training labels corrupted, want exactly 300", n)
	}
	for _, r := range append(append([]prefdata.Row(nil), ds.Val...), ds.OOD...) {
		if r.Corrupted {
			t.Fatalf("%s row %s corrupted", r.Split, r.ID)
		}
	}
	if ds.Summary.Train.CorruptionRate != 0.25 || ds.Summary.Val.CorruptionRate != 0 {
		t.Errorf("summary corruption rates %v / %v", ds.Summary.Train.CorruptionRate, ds.Summary.Val.CorruptionRate)
	}

	// Labels agree with the gold judge at the rate Bradley-Terry at T
	// implies. Each clean row agrees with probability p_i = σ(|Δ_i|/T),
	// independently, so the count of agreeing rows has mean Σp_i and
	// variance Σp_i(1−p_i): the observed count must lie within 4 standard
	// deviations (a false alarm has probability < 1e-4).
	check := func(name string, rows []prefdata.Row, flip bool) {
		var agree, mean, variance float64
		for _, r := range rows {
			gc, gr := *r.GoldChosen, *r.GoldRejected
			if gc == gr {
				t.Fatalf("%s: tie kept with DropTies", name)
			}
			if flip && r.Corrupted {
				gc, gr = gr, gc // undo the swap: the BT label itself
			}
			if gc > gr {
				agree++
			}
			p := stats.Sigmoid(math.Abs(gc-gr) / cfg.BTTemperature)
			mean += p
			variance += p * (1 - p)
		}
		if d := math.Abs(agree - mean); d > 4*math.Sqrt(variance) {
			t.Errorf("%s: %v of %d labels agree with gold, BT implies %.1f ± %.1f", name, agree, len(rows), mean, math.Sqrt(variance))
		}
		if mean/float64(len(rows)) > 0.99 || mean/float64(len(rows)) < 0.6 {
			t.Errorf("%s: expected agreement %.3f: the test data does not exercise BT sampling", name, mean/float64(len(rows)))
		}
	}
	check("train (labels before corruption)", ds.Train, true)
	check("val", ds.Val, false)
	check("ood", ds.OOD, false)
	if d := ds.Summary.Val.GoldAgreement - ds.Summary.Val.ExpectedAgreement; math.Abs(d) > 0.06 {
		t.Errorf("val summary: agreement %.3f, expected %.3f", ds.Summary.Val.GoldAgreement, ds.Summary.Val.ExpectedAgreement)
	}
	// Corruption turns exactly the swapped rows' agreement around.
	var clean, after float64
	for _, r := range ds.Train {
		agree := *r.GoldChosen > *r.GoldRejected
		after += b2f(agree)
		clean += b2f(agree != r.Corrupted)
	}
	if n := float64(len(ds.Train)); clean/n != ds.Summary.Train.CleanAgreement || after/n != ds.Summary.Train.GoldAgreement || after >= clean {
		t.Errorf("train agreement %.4f after corruption, %.4f before; summary says %.4f, %.4f",
			after/n, clean/n, ds.Summary.Train.GoldAgreement, ds.Summary.Train.CleanAgreement)
	}

	// The OOD split is sampled at the shifted temperature (the fake policy
	// then writes more sentiment words: larger gold margins).
	if ds.Summary.OOD.MeanAbsGoldMargin <= ds.Summary.Val.MeanAbsGoldMargin {
		t.Errorf("OOD margin %.3f not above ID %.3f", ds.Summary.OOD.MeanAbsGoldMargin, ds.Summary.Val.MeanAbsGoldMargin)
	}
	if ds.Summary.Train.TieFraction <= 0 || ds.Summary.Train.Generation.DroppedTies == 0 {
		t.Errorf("ties not reported: %+v", ds.Summary.Train.Generation)
	}

	// Written files read back as the rows, with the summary last.
	out := t.TempDir()
	if err := Write(out, ds, true); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]prefdata.Row{"train": ds.Train, "val": ds.Val, "ood": ds.OOD} {
		got, err := prefdata.ReadJSONL(filepath.Join(out, name+".jsonl"))
		if err != nil || len(got) != len(want) {
			t.Fatalf("%s.jsonl: %d rows, %v", name, len(got), err)
		}
		if got[7].Prompt != want[7].Prompt || got[7].Chosen != want[7].Chosen || *got[7].GoldChosen != *want[7].GoldChosen || got[7].Corrupted != want[7].Corrupted {
			t.Errorf("%s row 7: %+v vs %+v", name, got[7], want[7])
		}
		pq, err := prefdata.ReadParquet(filepath.Join(out, name+".parquet"))
		if err != nil || len(pq) != len(want) {
			t.Errorf("%s.parquet: %d rows, %v", name, len(pq), err)
		}
	}
	var sum Summary
	b, _ := os.ReadFile(filepath.Join(out, "summary.json"))
	if err := json.Unmarshal(b, &sum); err != nil || sum.Sizes["train"] != 1200 || sum.Train.Count != 1200 {
		t.Errorf("summary.json: %v %+v", err, sum.Sizes)
	}
}

func TestBuildTooFewPrompts(t *testing.T) {
	cfg := testConfig()
	cfg.IDOpenings = cfg.IDOpenings[:1000]
	if _, err := Build(byteTok{}, wordPolicy(0.02), countJudge{}, cfg); err == nil {
		t.Error("1000 prompts for 1500 pairs accepted")
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// With few prompts, several pairs per prompt: still no prompt in two splits.
func TestBuildPairsPerPrompt(t *testing.T) {
	cfg := testConfig()
	cfg.IDOpenings = cfg.IDOpenings[:500]
	cfg.OODOpenings = cfg.OODOpenings[:150]
	cfg.MaxPairsPerPrompt = 6
	ds, err := Build(byteTok{}, wordPolicy(0.02), countJudge{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	split := map[string]string{}
	for _, rows := range [][]prefdata.Row{ds.Train, ds.Val, ds.OOD} {
		for _, r := range rows {
			if s, ok := split[r.Prompt]; ok && s != r.Split {
				t.Fatalf("prompt %q in %s and %s", r.Prompt, s, r.Split)
			}
			split[r.Prompt] = r.Split
		}
	}
	if ds.Summary.Train.UniquePrompts >= len(ds.Train) || ds.Summary.Train.Generation.Rounds < 2 {
		t.Errorf("train: %d rows, %d prompts, %d passes", len(ds.Train), ds.Summary.Train.UniquePrompts, ds.Summary.Train.Generation.Rounds)
	}
	cfg.MaxPairsPerPrompt = 1
	if _, err := Build(byteTok{}, wordPolicy(0.02), countJudge{}, cfg); err == nil {
		t.Error("500 prompts for 1500 pairs at one pair per prompt accepted")
	}
}

// The splits sampled two at a time are the splits sampled in turn: each
// has its own prompts and seeds.
func TestBuildStreamsSameData(t *testing.T) {
	one := testConfig()
	two := testConfig()
	two.Streams = 2
	a, err := Build(byteTok{}, wordPolicy(0.02), countJudge{}, one)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(byteTok{}, wordPolicy(0.02), countJudge{}, two)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		x, y []prefdata.Row
	}{{"train", a.Train, b.Train}, {"val", a.Val, b.Val}, {"ood", a.OOD, b.OOD}} {
		if !reflect.DeepEqual(c.x, c.y) {
			t.Fatalf("%s differs with two streams", c.name)
		}
	}
}

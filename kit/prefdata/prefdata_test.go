package prefdata

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadPairsLongLine(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 64 MB line")
	}
	path := filepath.Join(t.TempDir(), "long.jsonl")
	f, _ := os.Create(path)
	f.WriteString(`{"prompt":"a","chosen":"b","rejected":"c"}` + "\n" + `{"prompt":"`)
	f.WriteString(strings.Repeat("x", MaxLine))
	f.WriteString(`","chosen":"b","rejected":"c"}` + "\n")
	f.Close()
	_, err := ReadPairs(path)
	if err == nil || err.Error() != path+":2: line longer than 64 MB" {
		t.Errorf("error %v", err)
	}
}

func TestBTLabelDeterministic(t *testing.T) {
	if !BTLabel(0.5, 0.1, 0, nil) || BTLabel(0.1, 0.5, 0, nil) || !BTLabel(0.3, 0.3, 0, nil) {
		t.Error("T=0 must be argmax with ties to a")
	}
	if p := BTProb(1, 0, 1); math.Abs(p-1/(1+math.Exp(-1))) > 1e-15 {
		t.Errorf("BTProb(1,0,1) = %v", p)
	}
}

// TestBTLabelAgreementRate: with gold scores spread like VADER compounds,
// the fraction of labels that agree with the gold ordering must match the
// expectation Σσ(|Δ|/T)/n within 4 standard errors (sd from the Bernoulli
// variances, Σp(1−p)/n²), at several temperatures.
func TestBTLabelAgreementRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 20000
	ga, gb := make([]float64, n), make([]float64, n)
	for i := range ga {
		ga[i], gb[i] = rng.Float64()*2-1, rng.Float64()*2-1
	}
	for _, T := range []float64{0.05, 0.2, 0.5, 2} {
		agree, exp, v := 0.0, 0.0, 0.0
		for i := range ga {
			p := BTProb(math.Max(ga[i], gb[i]), math.Min(ga[i], gb[i]), T)
			exp += p
			v += p * (1 - p)
			if BTLabel(ga[i], gb[i], T, rng) == (ga[i] > gb[i]) {
				agree++
			}
		}
		obs, want, se := agree/n, exp/n, math.Sqrt(v)/n
		if math.Abs(obs-want) > 4*se {
			t.Errorf("T=%g: agreement %.4f, expected %.4f ± %.4f (4 se)", T, obs, want, 4*se)
		}
	}
}

func TestCorruptExact(t *testing.T) {
	for _, c := range []struct {
		n    int
		frac float64
		want int
	}{{1000, 0.25, 250}, {10, 0.25, 3}, {7, 0.5, 4}, {3, 0, 0}, {5, 1, 5}} {
		rows := make([]Row, c.n)
		for i := range rows {
			rows[i] = Row{Prompt: "p", Chosen: "good", Rejected: "bad", GoldChosen: Float(1), GoldRejected: Float(-1)}
		}
		got := Corrupt(rows, c.frac, rand.New(rand.NewPCG(3, uint64(c.n))))
		marked, swapped := 0, 0
		for _, r := range rows {
			if r.Corrupted {
				marked++
			}
			if r.Chosen == "bad" && *r.GoldChosen == -1 && r.Rejected == "good" && *r.GoldRejected == 1 {
				swapped++
			}
		}
		if got != c.want || marked != c.want || swapped != c.want {
			t.Errorf("n=%d frac=%g: returned %d, marked %d, swapped %d; want %d", c.n, c.frac, got, marked, swapped, c.want)
		}
		if s := Summarize(rows); c.n > 0 && math.Abs(s.CorruptionRate-float64(c.want)/float64(c.n)) > 1e-12 {
			t.Errorf("Summary.CorruptionRate %v", s.CorruptionRate)
		}
	}
}

func TestSplitByPrompt(t *testing.T) {
	var rows []Row
	for i := 0; i < 3000; i++ {
		// 1000 prompts, three pairs each, rows interleaved.
		rows = append(rows, Row{Prompt: "prompt " + string(rune('a'+i%1000%26)) + itoa(i%1000), Chosen: "c", Rejected: "r"})
	}
	if err := SplitByPrompt(rows, 9, Share{"train", 0.8}, Share{"val", 0.1}, Share{"test", 0.1}); err != nil {
		t.Fatal(err)
	}
	if o := PromptOverlap(rows); len(o) != 0 {
		t.Fatalf("prompts in two splits: %q", o)
	}
	s := Summarize(rows)
	if f := float64(s.Splits["train"]) / 3000; f < 0.75 || f > 0.85 {
		t.Errorf("train share %.3f, want 0.8 ± 0.05 (binomial sd over 1000 prompts: 0.013)", f)
	}
	if s.Splits["val"] == 0 || s.Splits["test"] == 0 || s.UniquePrompts != 1000 {
		t.Errorf("splits %v, unique prompts %d", s.Splits, s.UniquePrompts)
	}
	// PromptOverlap does catch a leak.
	rows[0].Split = "leak"
	if o := PromptOverlap(rows); len(o) != 1 || o[0] != rows[0].Prompt {
		t.Errorf("PromptOverlap missed a leak: %q", o)
	}
	if err := SplitByPrompt(rows, 9, Share{"train", 0.8}); err == nil {
		t.Error("fractions not adding up to 1: no error")
	}
}

func itoa(i int) string {
	s := ""
	for {
		s = string(rune('0'+i%10)) + s
		i /= 10
		if i == 0 {
			return s
		}
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize(sampleRows())
	if s.Count != 3 || s.WithGold != 2 || s.Corrupted != 1 || s.GoldTies != 1 {
		t.Fatalf("%+v", s)
	}
	if math.Abs(s.GoldAgreement-0.75) > 1e-12 || math.Abs(s.MeanGoldMargin-0.6) > 1e-12 {
		t.Errorf("agreement %v (want 0.75), margin %v (want 0.6)", s.GoldAgreement, s.MeanGoldMargin)
	}
	if !reflect.DeepEqual(s.SplitNames(), []string{"(none)", "train", "val"}) {
		t.Errorf("splits %v", s.SplitNames())
	}
}

func BenchmarkReadPairs(b *testing.B) {
	path := filepath.Join(b.TempDir(), "b.jsonl")
	rows := make([]Row, 10000)
	for i := range rows {
		rows[i] = Row{ID: itoa(i), Prompt: strings.Repeat("prompt words ", 8), Chosen: strings.Repeat("a chosen reply ", 10),
			Rejected: strings.Repeat("a rejected reply ", 10), GoldChosen: Float(0.5), GoldRejected: Float(-0.2), Split: "train"}
	}
	WriteJSONL(path, rows)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	for b.Loop() {
		if _, err := ReadPairs(path); err != nil {
			b.Fatal(err)
		}
	}
}

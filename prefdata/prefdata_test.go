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

func sampleRows() []Row {
	return []Row{
		{ID: "r0", Prompt: "The weather today", Chosen: " is lovely & warm <3", Rejected: " is awful.", Margin: Float(1.5), Subset: "id",
			GoldChosen: Float(0.8), GoldRejected: Float(-0.4), Split: "train"},
		{ID: "r1", Prompt: "", Chosen: "ünïcode ✓ \"quoted\"\nnewline", Rejected: "b", Corrupted: true, Split: "val"},
		{Prompt: "p", Chosen: "c", Rejected: "r", GoldChosen: Float(0), GoldRejected: Float(0)},
	}
}

func TestJSONLRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prefs.jsonl")
	rows := sampleRows()
	if err := WriteJSONL(path, rows); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSONL(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rows, back) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, rows)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "lovely & warm <3") || strings.Contains(string(b), `"margin":null`) {
		t.Errorf("JSONL should keep & < > readable and omit absent optionals:\n%s", b)
	}
	// No temp files left behind.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("%d files in the folder after WriteJSONL, want 1", len(ents))
	}
}

func TestReadJSONLErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		body string
		want string // substring of the error, after "file:line: "
		line int
	}{
		{`{"prompt":"a","chosen":"b","rejected":"c"}` + "\n" + `{"prompt":"a","chosen":"b"}`, `missing "rejected"`, 2},
		{`{"chosen":"b","rejected":"c"}`, `missing "prompt"`, 1},
		{"\n\n" + `{"prompt":"a","chosen":"","rejected":"c"}`, `"chosen" is empty`, 3},
		{`{"prompt":3,"chosen":"b","rejected":"c"}`, `"prompt" must be a string`, 1},
		{`{"prompt":"a","chosen":"b","rejected":"c","margin":"big"}`, `"margin" must be a number`, 1},
		{`{"prompt":"a","chosen":"b","rejected":"c","corrupted":"yes"}`, `"corrupted" must be true or false`, 1},
		{`{"prompt":"a","chosen":"b",`, `invalid JSON`, 1},
		{`["prompt","a"]`, `not a JSON object`, 1},
		{`{"prompt":"a","chosen":"b","rejected":null}`, `missing "rejected" (or null)`, 1},
		{`{"prompt":"a","chosen":"b","rejected":"c","gold_chosen":true}`, `"gold_chosen" must be a number, got bool`, 1},
	}
	for i, c := range cases {
		path := filepath.Join(dir, "bad.jsonl")
		os.WriteFile(path, []byte(c.body), 0o644)
		_, err := ReadJSONL(path)
		prefix := path + ":" + string(rune('0'+c.line)) + ": "
		if err == nil || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: error %v, want prefix %q and %q", i, err, prefix, c.want)
		}
	}
	// Unknown fields and blank lines are fine; null optionals are absent.
	path := filepath.Join(dir, "ok.jsonl")
	os.WriteFile(path, []byte("\n"+`{"prompt":"","chosen":"b","rejected":"c","extra":{"x":1},"margin":null,"id":null}`+"\n\n"), 0o644)
	rows, err := ReadJSONL(path)
	if err != nil || len(rows) != 1 || rows[0].Margin != nil {
		t.Errorf("lenient case: rows %+v, err %v", rows, err)
	}
	if _, err := ReadJSONL(filepath.Join(dir, "missing.jsonl")); err == nil || !strings.Contains(err.Error(), "missing.jsonl") {
		t.Errorf("missing file: error %v", err)
	}
}

func TestReadJSONLLongLine(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 64 MB line")
	}
	path := filepath.Join(t.TempDir(), "long.jsonl")
	f, _ := os.Create(path)
	f.WriteString(`{"prompt":"a","chosen":"b","rejected":"c"}` + "\n" + `{"prompt":"`)
	f.WriteString(strings.Repeat("x", MaxLine))
	f.WriteString(`","chosen":"b","rejected":"c"}` + "\n")
	f.Close()
	_, err := ReadJSONL(path)
	if err == nil || !strings.Contains(err.Error(), path+":2: line longer than 64 MB") {
		t.Errorf("error %v", err)
	}
}

func TestScoreRows(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.jsonl")
	rows := []ScoreRow{{ID: "a", Prompt: "Hi", Response: " there"}, {Prompt: "", Response: "x"}}
	if err := WriteScoreRows(path, rows); err != nil {
		t.Fatal(err)
	}
	back, err := ReadScoreRows(path)
	if err != nil || !reflect.DeepEqual(back, rows) {
		t.Fatalf("got %+v, %v", back, err)
	}
	os.WriteFile(path, []byte(`{"prompt":"a"}`), 0o644)
	if _, err := ReadScoreRows(path); err == nil || !strings.Contains(err.Error(), path+`:1: missing "response"`) {
		t.Errorf("error %v", err)
	}
}

func TestParquetRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prefs.parquet")
	rows := sampleRows()
	if err := WriteParquet(path, rows); err != nil {
		t.Fatal(err)
	}
	back, err := ReadParquet(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rows, back) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, rows)
	}
	b, _ := os.ReadFile(path)
	if string(b[:4]) != "PAR1" || string(b[len(b)-4:]) != "PAR1" {
		t.Error("not a Parquet file (magic)")
	}
	bad := filepath.Join(filepath.Dir(path), "bad.parquet")
	os.WriteFile(bad, []byte("not parquet at all"), 0o644)
	if _, err := ReadParquet(bad); err == nil || !strings.Contains(err.Error(), "bad.parquet") {
		t.Errorf("bad file: error %v", err)
	}
}

func TestBTLabelDeterministic(t *testing.T) {
	if !BTLabel(0.5, 0.1, 0, nil) || BTLabel(0.1, 0.5, 0, nil) || !BTLabel(0.3, 0.3, 0, nil) {
		t.Error("T=0 must be argmax with ties to a")
	}
	if p := BTProb(1, 0, 1); math.Abs(p-1/(1+math.Exp(-1))) > 1e-15 {
		t.Errorf("BTProb(1,0,1) = %v", p)
	}
	if p := Sigmoid(-800); p != 0 || Sigmoid(800) != 1 || math.IsNaN(Sigmoid(-800)) {
		t.Errorf("Sigmoid overflow: %v", p)
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

func BenchmarkReadJSONL(b *testing.B) {
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
		if _, err := ReadJSONL(path); err != nil {
			b.Fatal(err)
		}
	}
}

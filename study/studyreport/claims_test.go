package studyreport

import (
	"fmt"
	"github.com/warm-rm/warm/study/rl"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/study/report"
	"github.com/warm-rm/warm/study/rmeval"
)

// firstRight returns n pairs of which the first k are right.
func firstRight(n, k int) []float64 {
	v := make([]float64, n)
	for i := range k {
		v[i] = 1
	}
	return v
}

func find(t *testing.T, cs []report.Claim, name string) report.Claim {
	t.Helper()
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	t.Fatalf("no claim %q among:\n%s", name, strings.Join(names, "\n"))
	return report.Claim{}
}

func sampleEvidence() Evidence {
	const n = 3000
	val := map[string][]float64{
		"a": firstRight(n, 2100), "b": firstRight(n, 2040), "c": firstRight(n, 1980),
		"ENS M=3": firstRight(n, 2160), "WA M=3": firstRight(n, 2250), // WA − ENS = +3 points
	}
	ood := map[string][]float64{
		"a": firstRight(n, 1800), "b": firstRight(n, 1800), "c": firstRight(n, 1800),
		"ENS M=3": firstRight(n, 1800), "WA M=3": firstRight(n, 1800), // all identical: d = 0 exactly
	}
	corr := map[string][]float64{
		"a": firstRight(1000, 400), "b": firstRight(1000, 380), "c": firstRight(1000, 420),
		"ENS M=3": firstRight(1000, 350), "WA M=3": firstRight(1000, 300),
	}
	bonGold := map[string][]float64{}
	for _, r := range []string{"single", "ens3", "warm2", "warm3", "a", "b", "c"} {
		bonGold[r] = make([]float64, 400)
	}
	for i := range 400 {
		base := float64(i%7)/10 - 0.3
		bonGold["single"][i] = base
		// b is the median of the ranking and has the lowest BoN gold:
		// the median member is the ranking's (as RL's), not the BoN
		// gold's (c)
		bonGold["a"][i], bonGold["b"][i], bonGold["c"][i] = base, base-0.15, base-0.1
		bonGold["ens3"][i] = base + 0.02*float64(i%3) // mean +0.02, noisy
		bonGold["warm2"][i] = base + 0.1 + 0.05*float64(i%2)
		bonGold["warm3"][i] = base + 0.1 + 0.05*float64(i%2)
	}
	ga, gb := make([]float64, 500), make([]float64, 500)
	for i := range ga {
		ga[i] = 0.1 * float64(i%5)
		if i%4 != 0 {
			gb[i] = ga[i] - 0.1
		} else {
			gb[i] = ga[i] // a tie on every fourth prompt
		}
	}
	return Evidence{
		Preset: "quick", Members: []string{"a", "b", "c"},
		Correct: map[string]map[string][]float64{rmeval.Val: val, rmeval.OOD: ood, rmeval.TrainCorrupted: corr},
		Point:   map[string]map[string]float64{"human": {"WA M=3": 0.66, "ENS M=3": 0.65, "a": 0.6}},
		BoNN:    16, BoNGold: bonGold,
		Duels: []DuelEvidence{{A: "warm3", B: "single", GoldA: ga, GoldB: gb}},
		RL: map[string][]RLSeed{
			"single": {{PeakGold: 0.5, EndGold: 0.3, PeakKL: 2}, {PeakGold: 0.52, EndGold: 0.28, PeakKL: 2.2}, {PeakGold: 0.51, EndGold: 0.29, PeakKL: 2.1}},
			"warm3":  {{PeakGold: 0.6, EndGold: 0.58, PeakKL: 4}, {PeakGold: 0.63, EndGold: 0.6, PeakKL: 4.5}, {PeakGold: 0.615, EndGold: 0.59, PeakKL: 4.2}},
			"ens3":   {{PeakGold: 0.55, EndGold: 0.5, PeakKL: 3}},
		},
	}
}

// Each verdict follows from the numbers and the stated test; a missing
// interval is inconclusive, a missing stage not tested.
func TestClaimsVerdicts(t *testing.T) {
	ev := sampleEvidence()
	cs := Claims(ev)
	for _, c := range []struct{ name, verdict string }{
		{"WA ≥ ENS on ID validation", report.VerdictHolds},
		{"WA ≈ ENS on ID validation", report.VerdictFails}, // +3 points, interval above +1
		{"WA > the best member on ID validation", report.VerdictHolds},
		{"WA ≈ ENS on OOD pairs", report.VerdictHolds},
		{"WA ≥ ENS on OOD pairs", report.VerdictHolds},
		{"WA > the best member on OOD pairs", report.VerdictInconclusive}, // d = 0 exactly
		{"WA ≥ ENS on human-labelled pairs", report.VerdictInconclusive},  // point only
		{"WA memorises swapped training labels less than ENS", report.VerdictHolds},
		{"WA memorises swapped training labels less than the mean member", report.VerdictHolds},
		{"BoN: warm3 picks better responses than single RM (best member)", report.VerdictHolds},
		{"BoN: warm3 picks better responses than median member (b)", report.VerdictHolds},
		{"BoN: ens3 picks better responses than single RM (best member)", report.VerdictHolds},
		{"RL with a single RM: gold rises then falls (hacking)", report.VerdictHolds},
		{"WARM reaches a higher gold peak than the single RM", report.VerdictHolds},
		{"ENS hacks earlier than WARM", report.VerdictInconclusive}, // one ENS seed
		{"The warm3 policy beats the single policy head to head", report.VerdictHolds},
		{"LMC gain grows with diversity (last rung − first rung)", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.verdict == "" {
				return
			}
			got := find(t, cs, c.name)
			if got.Verdict != c.verdict {
				t.Errorf("verdict %q, want %q (estimate %s, test %s, note %s)", got.Verdict, c.verdict, got.Estimate, got.Test, got.Note)
			}
		})
	}
	val := find(t, cs, "WA ≥ ENS on ID validation")
	if val.Estimate != "+3.0\u00a0[+2.4,\u00a0+3.6]" || val.N != "3000 pairs" || val.Test != "d\u00a0>\u00a0-1.0" {
		t.Errorf("WA − ENS on val: %q over %q with test %q, want +3.0 [+2.4, +3.6] over 3000 pairs (half-width 1.96·√(0.03·0.97/3000) = 0.61)", val.Estimate, val.N, val.Test)
	}
	if val.Note != "discordant pairs 3.0%" {
		t.Errorf("note %q, want the discordant share 3.0%%", val.Note)
	}
	if h := find(t, cs, "WA ≥ ENS on human-labelled pairs"); h.Note != "no per-pair data" || h.Estimate != "+1.0 (no interval)" {
		t.Errorf("fallback row: %+v", h)
	}
	if e := find(t, cs, "ENS hacks earlier than WARM"); !strings.Contains(e.Note, "2 seeds") {
		t.Errorf("one-seed row does not say why: %+v", e)
	}
	if d := find(t, cs, "The warm3 policy beats the single policy head to head"); !strings.Contains(d.Note, "ties 25%") {
		t.Errorf("duel note %q does not show the ties", d.Note)
	}
	// Flip WA and ENS on val: non-inferiority now fails.
	ev.Correct[rmeval.Val]["WA M=3"], ev.Correct[rmeval.Val]["ENS M=3"] = ev.Correct[rmeval.Val]["ENS M=3"], ev.Correct[rmeval.Val]["WA M=3"]
	if got := find(t, Claims(ev), "WA ≥ ENS on ID validation"); got.Verdict != report.VerdictFails {
		t.Errorf("WA 3 points below ENS: %s %s", got.Verdict, got.Estimate)
	}
	// No stage at all: everything not tested, nothing decided.
	for _, c := range Claims(Evidence{}) {
		if c.Verdict != report.VerdictNotTested {
			t.Errorf("%s: %q with no evidence", c.Name, c.Verdict)
		}
	}
	// A setting without the ladder says where it ran.
	ev.LMC, ev.LadderIn = nil, "clean"
	if got := find(t, Claims(ev), "The LMC gain grows with diversity (last rung − first rung)"); got.Verdict != report.VerdictNotTested || !strings.Contains(got.Note, "clean setting only") {
		t.Errorf("no ladder here: %s, note %q", got.Verdict, got.Note)
	}
}

// A run directory with per-pair data in eval.json: the report shows the
// intervals and verdicts in words, the tiny banner, and a bad per-pair
// string is an error naming the file.
func TestWriteWithPerPair(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "eval"), 0o755); err != nil {
		t.Fatal(err)
	}
	ev := sampleEvidence()
	enc := stats.EncodeCorrect
	perPair := map[string]map[string]string{}
	for sp, m := range ev.Correct {
		perPair[sp] = map[string]string{}
		for k, v := range m {
			perPair[sp][k] = enc(v)
		}
	}
	res := map[string]any{"order": ev.Members, "per_pair": perPair, "summary": map[string]any{}, "entries": []any{}}
	if err := atomicfile.WriteJSON(filepath.Join(dir, "eval", "eval.json"), res); err != nil {
		t.Fatal(err)
	}
	// Training and validation pairs where "good" marks the chosen response:
	// the bag-of-words ceiling must find it (100% on val).
	for _, f := range []string{"train.jsonl", "val.jsonl"} {
		var rows strings.Builder
		for i := range 60 {
			fmt.Fprintf(&rows, `{"prompt":"p%d","chosen":"a good day %d","rejected":"a day %d"}`+"\n", i, i%5, i%7)
		}
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, "data", f), []byte(rows.String())); err != nil {
			t.Fatal(err)
		}
	}
	md, err := Write(dir, Options{Preset: "tiny", Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(md)
	page := string(b)
	for _, want := range []string{"Smoke test — verdicts mean nothing", "| val | 100.0 [94.0, 100.0] | 60 |", "### Accuracy with 95% intervals", "| WA M=3 | 30.0\u00a0[27.2,\u00a032.9] | 75.0\u00a0[73.4,\u00a076.5] |", "| WA ≥ ENS on ID validation | WA M=3 − ENS M=3, accuracy on val (pts) | +3.0\u00a0[+2.4,\u00a0+3.6] | d\u00a0>\u00a0-1.0 | 3000 pairs | holds |"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	h, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if !strings.Contains(string(h), `<td class="verdict holds">holds</td>`) || strings.Contains(string(h), "**") {
		t.Error("report.html: verdict cell missing or raw Markdown left")
	}
	perPair[rmeval.Val]["a"] = "10x"
	if err := atomicfile.WriteJSON(filepath.Join(dir, "eval", "eval.json"), res); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, Options{Preset: "quick"}); err == nil || !strings.Contains(err.Error(), "eval.json") || !strings.Contains(err.Error(), "pair 2") {
		t.Errorf("bad per-pair string: err = %v", err)
	}
	// A grouped split's rewards with a missing value: an error naming the
	// file, split and model, no report.
	perPair[rmeval.Val]["a"] = enc(ev.Correct[rmeval.Val]["a"])
	res["per_text"] = map[string]any{"human": map[string]any{"groups": []string{"imdb", "yelp"}, "chosen": map[string][]float32{"WA M=3": {1, 2}}, "rejected": map[string][]float32{"WA M=3": {0}}}}
	if err := atomicfile.WriteJSON(filepath.Join(dir, "eval", "eval.json"), res); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, Options{Preset: "quick"}); err == nil || !strings.Contains(err.Error(), "eval.json: per_text.human.rejected[\"WA M=3\"] has 1 rewards for 2 groups") {
		t.Errorf("bad per_text: err = %v", err)
	}
	// Prompt clusters that do not match the pairs: an error naming the
	// file and split.
	delete(res, "per_text")
	res["clusters"] = map[string][]int{rmeval.Val: {0, 0, 1}}
	if err := atomicfile.WriteJSON(filepath.Join(dir, "eval", "eval.json"), res); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, Options{Preset: "quick"}); err == nil || !strings.Contains(err.Error(), "eval.json: clusters.val has 3 prompt ids for the 3000 pairs") {
		t.Errorf("bad clusters: err = %v", err)
	}
}

// Gold at a matched KL: linear between the steps around the first
// crossing; the common KL is the smallest of the runs' largest KLs; the
// claim compares WARM and single there, over seeds.
func TestMatchedKL(t *testing.T) {
	r := RLSeed{KL: []float64{0, 1, 2, 1.5, 3}, Gold: []float64{0, 0.2, 0.6, 0.1, 0.3}}
	for _, c := range []struct{ kl, want float64 }{{0, 0}, {0.5, 0.1}, {1.5, 0.4}, {2, 0.6}, {2.5, 0.1 + 0.2*2/3}} {
		if got := r.GoldAtKL(c.kl); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("GoldAtKL(%g) = %g, want %g", c.kl, got, c.want)
		}
	}
	if got := r.GoldAtKL(4); !math.IsNaN(got) {
		t.Errorf("beyond the run's KL: %g, want NaN", got)
	}
	single := []RLSeed{{KL: []float64{0, 1, 2}, Gold: []float64{0, 0.5, 0.2}}, {KL: []float64{0, 1, 4}, Gold: []float64{0, 0.4, 0.1}}}
	warm := []RLSeed{{KL: []float64{0, 0.5, 1.5}, Gold: []float64{0, 0.6, 0.9}}, {KL: []float64{0, 1, 3}, Gold: []float64{0, 0.7, 0.8}}}
	if k := matchedKL(single, warm); k != 1.5 {
		t.Fatalf("matched KL %g, want 1.5", k)
	}
	cs := Claims(Evidence{Members: []string{"a", "b"}, RL: map[string][]RLSeed{"single": single, "warm2": warm}})
	c := find(t, cs, "At matched KL, the WARM policy has higher gold than the single-RM (best member) policy")
	// single at 1.5: 0.5 − 0.3/2 = 0.35 and 0.4 − 0.3/6 = 0.35; warm: 0.9
	// and 0.7 + 0.1/4 = 0.725: WARM − single = 0.8125 − 0.35 = 0.4625.
	if !strings.Contains(c.Quantity, "KL = 1.50") || !strings.HasPrefix(c.Estimate, "+0.46") {
		t.Errorf("matched-KL row: %q, estimate %q (want WARM − single = +0.4625 at KL 1.50)", c.Quantity, c.Estimate)
	}
	if matchedKL([]RLSeed{{}}) == matchedKL([]RLSeed{{}}) {
		t.Error("a run without a curve must leave the matched KL undefined (NaN)")
	}
}

// The hacking test's interval: on pure noise (no peak) it claims a drop
// in at most about 2.5% of runs (one-sided 95%; a peak picked and measured
// on the same steps would claim one far more often), and it finds a real
// rise-then-fall; a curve still rising at the end shows no drop.
func TestHackInterval(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	curve := func(f func(i int) float64) []RLSeed {
		g := make([]float64, 80)
		for i := range g {
			g[i] = f(i) + 0.05*rng.NormFloat64()
		}
		return []RLSeed{{RawGold: g}}
	}
	false_, naive := 0, 0
	const sims = 400
	for range sims {
		runs := curve(func(int) float64 { return 0.3 })
		if iv := hackInterval(runs); iv.Lo > 0 {
			false_++
		}
		// The same test with the peak picked on all steps (for contrast).
		sm := rl.SmoothFull(runs[0].RawGold, rl.SmoothWindow(80))
		if slices.Max(sm)-sm[len(sm)-1] > 0.02 {
			naive++
		}
	}
	if rate := float64(false_) / sims; rate > 0.05 {
		t.Errorf("no peak, yet a drop claimed in %.1f%% of runs", 100*rate)
	}
	t.Logf("pure noise: cross-fitted test claims a drop in %d/%d runs; the naive peak − end exceeds 0.02 in %d/%d", false_, sims, naive, sims)
	riseFall := curve(func(i int) float64 { return 0.5 - 0.01*math.Abs(float64(i-40)) })
	if iv := hackInterval(riseFall); !(iv.Lo > 0) || math.Abs(iv.Est-0.35) > 0.1 {
		t.Errorf("rise then fall by 0.4: %+v, want a drop of ≈ 0.35 with lo > 0", iv)
	}
	rising := curve(func(i int) float64 { return 0.01 * float64(i) })
	if iv := hackInterval(rising); iv.Lo > 0 {
		t.Errorf("still rising: %+v claims a drop", iv)
	}
	if iv := hackInterval([]RLSeed{{RawGold: []float64{1, 2, 3}}}); !math.IsNaN(iv.Est) {
		t.Errorf("a 3-step run: %+v, want no interval", iv)
	}
}

// On the human-labelled pairs (eval.json's per_text) the claims compare
// every positive with every negative of its source: the estimate is the
// difference of the all-pairs accuracies, the interval DeLong's, n the
// texts; WA − mean member subtracts the members' mean accuracy.
func TestClaimsHumanAllPairs(t *testing.T) {
	ev := sampleEvidence()
	n := 300
	tr := &rmeval.TextRewards{Groups: make([]string, n), Chosen: map[string][]float32{}, Rejected: map[string][]float32{}}
	for _, m := range []string{"a", "b", "c", "WA M=3", "ENS M=3"} {
		tr.Chosen[m], tr.Rejected[m] = make([]float32, n), make([]float32, n)
	}
	for i := range n {
		tr.Groups[i] = []string{"imdb", "yelp"}[i%2]
		for k, m := range []string{"a", "b", "c", "WA M=3", "ENS M=3"} {
			// Positives higher on average; WA less noisy than the rest.
			noise := float32((i*7+k*13)%11) / 11
			if m == "WA M=3" {
				noise /= 3
			}
			tr.Chosen[m][i] = 0.3 + noise
			tr.Rejected[m][i] = float32((i*5+k*3)%13) / 13
		}
	}
	ev.Texts = map[string]*rmeval.TextRewards{"human": tr}
	cs := Claims(ev)
	f := func(m string) ([]float64, []float64) {
		return stats.Float64s(tr.Chosen[m]), stats.Float64s(tr.Rejected[m])
	}
	wp, wn := f("WA M=3")
	ep, en := f("ENS M=3")
	want := stats.AllPairsCombo([][]float64{wp, ep}, [][]float64{wn, en}, tr.Groups, []float64{1, -1}).Scale(100)
	h := find(t, cs, "WA ≥ ENS on human-labelled pairs")
	if h.Estimate != fmt.Sprintf("%+.1f\u00a0[%+.1f,\u00a0%+.1f]", want.Est, want.Lo, want.Hi) || h.N != "600 texts" || !strings.Contains(h.Note, "DeLong") {
		t.Errorf("human row %+v, want %v over 600 texts with a DeLong note", h, want)
	}
	var mean float64
	for _, m := range []string{"a", "b", "c"} {
		p, q := f(m)
		a, _ := stats.AllPairsAccuracy(p, q, tr.Groups)
		mean += a / 3
	}
	wa, _ := stats.AllPairsAccuracy(wp, wn, tr.Groups)
	mm := find(t, cs, "WA > the mean member on human-labelled pairs")
	if !strings.HasPrefix(mm.Estimate, fmt.Sprintf("%+.1f\u00a0[", 100*(wa-mean))) {
		t.Errorf("WA − mean member %q, want %+.1f", mm.Estimate, 100*(wa-mean))
	}
	// Without a model's rewards the row falls back to the pairs.
	delete(tr.Chosen, "ENS M=3")
	if h := find(t, Claims(ev), "WA ≥ ENS on human-labelled pairs"); h.Note != "no per-pair data" {
		t.Errorf("fallback without ENS rewards: %+v", h)
	}
}

// Pairs that share prompts (a grouped split) are not independent: with
// eval.json's clusters the interval resamples prompts and is wider than
// the bootstrap over pairs when correctness is correlated within a prompt.
func TestClusteredIntervals(t *testing.T) {
	ev := sampleEvidence()
	name := "WA ≥ ENS on ID validation"
	plain := find(t, Claims(ev), name)
	// firstRight puts every right answer first: blocks of 30 consecutive
	// pairs are maximally alike, the worst case for independence.
	cl := make([]int, 3000)
	for i := range cl {
		cl[i] = i / 30
	}
	ev.Clusters = map[string][]int{rmeval.Val: cl}
	got := find(t, Claims(ev), name)
	width := func(c report.Claim) float64 {
		var est, lo, hi float64
		if _, err := fmt.Sscanf(strings.ReplaceAll(c.Estimate, "\u00a0", " "), "%f [%f, %f]", &est, &lo, &hi); err != nil {
			t.Fatalf("estimate %q: %v", c.Estimate, err)
		}
		return hi - lo
	}
	if width(got) <= 1.5*width(plain) || !strings.Contains(got.Note, "3000 pairs among the responses to 100 prompts; bootstrap over prompts") {
		t.Errorf("clustered row %+v (plain %+v): want a wider interval over 100 prompts", got, plain)
	}
}

package studyreport

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/warm-rm/warm/study/report"
	"github.com/warm-rm/warm/study/rmeval"
)

// byN builds per-N per-prompt gold: base noise shared by every reward,
// plus shift(n) for reward name at N = n.
func byN(ns []int, P int, shift map[string]func(n int) float64) map[string][][]float64 {
	rng := rand.New(rand.NewPCG(5, 6))
	base := make([][]float64, len(ns))
	for k := range ns {
		base[k] = make([]float64, P)
		for p := range P {
			base[k][p] = rng.NormFloat64() * 0.3
		}
	}
	out := map[string][][]float64{}
	for name, f := range shift {
		out[name] = make([][]float64, len(ns))
		for k, n := range ns {
			out[name][k] = make([]float64, P)
			for p := range P {
				// Prompt-level noise of 0.05 per reward keeps the
				// differences from being exact constants.
				out[name][k][p] = base[k][p] + f(n) + 0.05*rng.NormFloat64()
			}
		}
	}
	return out
}

func TestBoNClaimsEveryN(t *testing.T) {
	ns := []int{1, 2, 4, 8, 16}
	zero := func(int) float64 { return 0 }
	ev := sampleEvidence()
	ev.BoNNs = ns
	ev.BoNGoldByN = byN(ns, 400, map[string]func(int) float64{
		"single": zero, "a": zero, "b": zero, "c": zero,
		// warm3 ahead by 0.05 at every N ≥ 2 (0 at N = 1, as in BoN).
		"warm3": func(n int) float64 { return 0.05 * float64(min(n-1, 1)) },
		// ens3 ahead at large N but clearly behind at N = 2: "as N
		// grows" fails although the largest N alone would hold.
		"ens3": func(n int) float64 {
			if n == 2 {
				return -0.05
			}
			return 0.05 * float64(min(n-1, 1))
		},
		// warm2 ahead only at N = 16: inconclusive.
		"warm2": func(n int) float64 {
			if n == 16 {
				return 0.05
			}
			return 0
		},
	})
	cs := Claims(ev)
	for _, c := range []struct{ name, verdict, at string }{
		{"BoN: warm3 picks better responses than single RM (best member)", report.VerdictHolds, ""},
		{"BoN: ens3 picks better responses than single RM (best member)", report.VerdictFails, "N=2"},
		{"BoN: warm3 picks better responses than warm2", report.VerdictInconclusive, ""},
		{"BoN: warm3 picks better responses than ens3", report.VerdictInconclusive, ""}, // +0.1 at N = 2, 0 after
	} {
		t.Run(c.name, func(t *testing.T) {
			got := find(t, cs, c.name)
			if got.Verdict != c.verdict || !strings.HasSuffix(got.Estimate, c.at) || got.N != "400 prompts" ||
				!strings.Contains(got.Quantity, "at every N = 2, 4, 8, 16") || !strings.Contains(got.Note, "simultaneous") {
				t.Errorf("got %+v, want %s shown at %q", got, c.verdict, c.at)
			}
		})
	}
	// The largest N alone (the old test) would call the ens3 claim a hold:
	// the per-N test is what catches it.
	old := ev
	old.BoNGoldByN = nil
	if got := find(t, Claims(old), "BoN: ens3 picks better responses than single RM (best member)"); got.Verdict == report.VerdictFails || !strings.Contains(got.Note, "N = 16 only") {
		t.Errorf("fallback row %+v", got)
	}

	d := &report.Doc{}
	bonByNTable(d, ev)
	md := string(d.Markdown())
	for _, want := range []string{"N=2", "N=16", "warm3 − single", "ens3 − single", "| fails |", "simultaneous"} {
		if !strings.Contains(md, want) {
			t.Errorf("per-N table lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "N=1 ") || strings.Contains(md, "N=1|") {
		t.Errorf("per-N table shows N = 1:\n%s", md)
	}
}

func TestBestMemberSelection(t *testing.T) {
	name := "WA > the best member on ID validation"
	ev := sampleEvidence()
	// An eval.json from before the halving, ranked on val: the claim on
	// val is not decided, whatever the numbers say (they say "holds").
	ev.RankBy = rmeval.Val
	got := find(t, Claims(ev), name)
	if got.Verdict != report.VerdictInconclusive || !strings.Contains(got.Note, "winner's curse") {
		t.Errorf("legacy row %+v", got)
	}
	ev.RankBy = rmeval.ValSelect
	ev.Selection = &rmeval.Selection{Split: rmeval.Val, RankedOn: rmeval.ValSelect, SelectRows: make([]int, 2900), TestRows: make([]int, 3000)}
	got = find(t, Claims(ev), name)
	if got.Verdict != report.VerdictHolds || !strings.Contains(got.Note, "chosen on val_select (2900 pairs), scored on the other 3000") {
		t.Errorf("held-out row %+v", got)
	}
	// WA and ENS of all members do not depend on the ranking: with the
	// selection half's per-pair data they use both halves.
	sel := map[string][]float64{}
	for m, v := range ev.Correct[rmeval.Val] {
		sel[m] = v[:2900]
	}
	ev.Correct[rmeval.ValSelect] = sel
	cs := Claims(ev)
	if w := find(t, cs, "WA ≥ ENS on ID validation"); w.N != "5900 pairs" || !strings.Contains(w.Note, "both halves") {
		t.Errorf("WA − ENS row %+v, want both halves (5900 pairs)", w)
	}
	// The best member is cross-fitted: chosen on each half, scored on the
	// other, so it too uses every pair, and no pair judges the member it
	// chose.
	if b := find(t, cs, name); b.N != "5900 pairs" || !strings.Contains(b.Note, "cross-fitted") || strings.Contains(b.Note, "no ranking involved") {
		t.Errorf("best-member row %+v, want cross-fitted over both halves (5900 pairs)", b)
	}
	if o := find(t, Claims(ev), "WA > the best member on OOD pairs"); !strings.Contains(o.Note, "none of these pairs") {
		t.Errorf("OOD row %+v", o)
	}
}

// Cross-fitting by hand: m1 is ranked first (on the selection half) and is
// scored on the test half; m2, best on the test half, is scored on the
// selection half.
func TestCrossFitBest(t *testing.T) {
	wa := rmeval.WAName(2)
	ev := Evidence{Members: []string{"m1", "m2"}, RankBy: rmeval.ValSelect,
		Selection: &rmeval.Selection{Split: rmeval.Val, RankedOn: rmeval.ValSelect},
		Correct: map[string]map[string][]float64{
			rmeval.Val:       {wa: {1, 1, 0, 1}, "m1": {0, 1, 0, 0}, "m2": {1, 1, 1, 0}},
			rmeval.ValSelect: {wa: {1, 0, 1}, "m1": {1, 1, 1}, "m2": {0, 0, 1}},
		},
		Clusters: map[string][]int{rmeval.Val: {0, 0, 2, 2}, rmeval.ValSelect: {1, 1, 3}},
	}
	va, vb, cl, note, ok := crossFitBest(ev, rmeval.Val, wa)
	if !ok {
		t.Fatal("not cross-fitted")
	}
	// test half: WA − m1; selection half: WA − m2 (m2 is best on val).
	wantA, wantB, wantC := []float64{1, 1, 0, 1, 1, 0, 1}, []float64{0, 1, 0, 0, 0, 0, 1}, []int{0, 0, 2, 2, 1, 1, 3}
	for i := range wantA {
		if va[i] != wantA[i] || vb[i] != wantB[i] || cl[i] != wantC[i] {
			t.Fatalf("cross-fit %v − %v (clusters %v), want %v − %v (%v)", va, vb, cl, wantA, wantB, wantC)
		}
	}
	if !strings.Contains(note, "m1 (best on val_select) scored on val's 4 pairs, m2 (best on val) on val_select's 3") {
		t.Errorf("note %q", note)
	}
	// Without the selection half's data there is nothing to cross-fit.
	delete(ev.Correct, rmeval.ValSelect)
	if _, _, _, _, ok := crossFitBest(ev, rmeval.Val, wa); ok {
		t.Error("cross-fitted without the selection half")
	}
}

// Halves' prompts join end to end; a half without them gets fresh ids.
func TestJoinClusters(t *testing.T) {
	if got := joinClusters(nil, nil, 5); got != nil {
		t.Fatalf("no clusters: %v", got)
	}
	got := joinClusters([]int{4, 4, 7}, nil, 5)
	want := []int{4, 4, 7, 8, 9}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("joinClusters = %v, want %v", got, want)
		}
	}
	if got := joinClusters([]int{1}, []int{2}, 3); got != nil {
		t.Fatalf("lengths that do not add up: %v, want nil", got)
	}
}

// The WA-M − ENS-M table's row for every member uses both halves of val,
// as the claims row does (no ranking involved); smaller M, whose members
// the ranking chose, the test half only.
func TestWAEnsDiffHalves(t *testing.T) {
	ev := sampleEvidence()
	ev.Selection = &rmeval.Selection{Split: rmeval.Val, RankedOn: rmeval.ValSelect}
	sel := map[string][]float64{}
	for m, v := range ev.Correct[rmeval.Val] {
		sel[m] = v[:2900]
	}
	ev.Correct[rmeval.ValSelect] = sel
	ev.Correct[rmeval.Val]["WA M=2"], ev.Correct[rmeval.Val]["ENS M=2"] = firstRight(3000, 2100), firstRight(3000, 2040)
	all, ok := waEnsDiff(ev, rmeval.Val, 3)
	claim := find(t, Claims(ev), "WA ≥ ENS on ID validation")
	if !ok || all.N != 5900 || claim.N != "5900 pairs" || !strings.HasPrefix(claim.Estimate, fmt.Sprintf("%+.1f", all.Est)) {
		t.Errorf("M = all: %+v, claims row %+v: want both halves, the same estimate", all, claim)
	}
	two, ok := waEnsDiff(ev, rmeval.Val, 2)
	if !ok || two.N != 3000 {
		t.Errorf("M = 2: %+v, want the test half (3000 pairs)", two)
	}
}

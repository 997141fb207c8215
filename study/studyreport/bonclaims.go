package studyreport

import (
	"fmt"
	"math"
	"strings"

	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/study/report"
)

// selectionNote adds to a "WA > the best member" row on split which pairs
// chose the best member. A claim on the very pairs the members were
// ranked on (an eval.json from before the halving) is not decided: the
// best member's accuracy there is biased upwards (the winner's curse).
func selectionNote(c report.Claim, ev Evidence, split string) report.Claim {
	add := func(s string) {
		if c.Note != "" {
			c.Note += "; "
		}
		c.Note += s
	}
	switch sel := ev.Selection; {
	case sel != nil && sel.Split == split:
		add(fmt.Sprintf("best member chosen on %s (%d pairs), scored on the other %d", sel.RankedOn, len(sel.SelectRows), len(sel.TestRows)))
	case sel != nil:
		add(fmt.Sprintf("best member chosen on %s: none of these pairs", sel.RankedOn))
	case ev.RankBy == split:
		c.Verdict = report.VerdictInconclusive
		add("not decided: the members were ranked on these same pairs (winner's curse); rerun warm eval to rank on a held-out half")
	}
	return c
}

// withSelectionHalf is split's per-pair correctness by model, and its
// pairs' prompts (nil: independent pairs), with the pairs of split's
// selection half appended when split was halved to rank the members: for
// comparisons that do not involve the ranking (WA and ENS of every member,
// the mean member), whose numbers the ranking cannot bias, so the whole
// split's power is kept. Otherwise the split itself.
func withSelectionHalf(ev Evidence, split string) (map[string][]float64, []int) {
	per, cl := ev.Correct[split], ev.Clusters[split]
	sel := ev.Selection
	if sel == nil || sel.Split != split || per == nil {
		return per, cl
	}
	extra := ev.Correct[sel.RankedOn]
	if extra == nil {
		return per, cl
	}
	out := map[string][]float64{}
	n := -1
	for m, v := range per {
		if w, ok := extra[m]; ok {
			out[m] = append(append([]float64(nil), v...), w...)
			n = len(out[m])
		}
	}
	return out, joinClusters(cl, ev.Clusters[sel.RankedOn], n)
}

// joinClusters is the prompts of two halves' pairs put end to end (the
// halves split whole prompts, so their ids never collide); nil when
// neither half has any, fresh ids for the half that lacks them, and nil
// when the lengths do not add up to n.
func joinClusters(a, b []int, n int) []int {
	if a == nil && b == nil {
		return nil
	}
	next := 0
	for _, c := range append(append([]int(nil), a...), b...) {
		next = max(next, c+1)
	}
	fill := func(c []int, want int) []int {
		if c != nil {
			return c
		}
		out := make([]int, want)
		for i := range out {
			out[i] = next
			next++
		}
		return out
	}
	na := n - len(b)
	if b == nil {
		na = len(a)
	}
	if na < 0 {
		return nil
	}
	out := append(append([]int(nil), fill(a, na)...), fill(b, n-na)...)
	if len(out) != n {
		return nil
	}
	return out
}

// crossFitBest is WA − best member on the halved split (the rank-by
// split) with both halves: the member ranked best on the selection half
// is scored on the test half, and the member best on the test half is
// scored on the selection half. Each half is judged by a member it played
// no part in choosing, and every pair counts, halving the variance of the
// one-way comparison. It returns wa's and the chosen members' per-pair
// correctness end to end, their prompts, and a note naming both choices;
// ok is false when split was not halved or a half lacks the data.
func crossFitBest(ev Evidence, split, wa string) (va, vb []float64, cl []int, note string, ok bool) {
	sel := ev.Selection
	if sel == nil || sel.Split != split || len(ev.Members) == 0 {
		return nil, nil, nil, "", false
	}
	test, pick := ev.Correct[split], ev.Correct[sel.RankedOn]
	if test == nil || pick == nil || test[wa] == nil || pick[wa] == nil {
		return nil, nil, nil, "", false
	}
	bestSel := ev.Members[0] // ranked on the selection half
	bestTest, acc := "", -1.0
	for _, m := range ev.Members { // ties keep the ranking's order
		v := test[m]
		if v == nil || len(v) != len(test[wa]) || len(pick[m]) != len(pick[wa]) {
			return nil, nil, nil, "", false
		}
		if a := mean(v); a > acc {
			bestTest, acc = m, a
		}
	}
	va = append(append([]float64(nil), test[wa]...), pick[wa]...)
	vb = append(append([]float64(nil), test[bestSel]...), pick[bestTest]...)
	cl = joinClusters(ev.Clusters[split], ev.Clusters[sel.RankedOn], len(va))
	note = fmt.Sprintf("cross-fitted: %s (best on %s) scored on %s's %d pairs, %s (best on %s) on %s's %d", bestSel, sel.RankedOn, split, len(test[wa]), bestTest, split, sel.RankedOn, len(pick[wa]))
	return va, vb, cl, note, true
}

// bonCmp is one BoN comparison of the claims table: a − b in gold of the
// best-of-N pick. With per-N data, ivs[k] is the simultaneous band at
// N = ns[k] (every N ≥ 2 of the curve); else last is the interval at the
// largest N (or a point estimate).
type bonCmp struct {
	a, b, label string
	ns          []int
	ivs         []stats.Interval
	last        stats.Interval
	note        string
}

// bonHypothesis is the BoN claims' test: a's pick has higher gold.
var bonHypothesis = stats.Hypothesis{Dir: stats.Above, Bound: 0}

// bonComparisons are the BoN rows: WARM against the best member (single),
// ENS, WARM M=2 and the median member, and ENS against single.
func bonComparisons(ev Evidence) []bonCmp {
	M := len(ev.Members)
	warmM, ensM := fmt.Sprintf("warm%d", M), fmt.Sprintf("ens%d", M)
	// The median member: the median of the ranking (MedianMember), the
	// member RL's "median" reward uses too, so BoN and RL compare WARM
	// with the same member.
	median := ""
	if M > 0 {
		if m := ev.Members[MedianMember(M)]; ev.BoNGold[m] != nil {
			median = m
		}
	}
	cmps := []bonCmp{{a: warmM, b: "single", label: "single RM (best member)"}, {a: warmM, b: ensM, label: ensM}, {a: warmM, b: "warm2", label: "warm2"}, {a: ensM, b: "single", label: "single RM (best member)"}}
	if median != "" {
		cmps = append(cmps, bonCmp{a: warmM, b: median, label: "median member (" + median + ")"})
	}
	// The N values decided on: N = 1 picks a uniformly random sample
	// whatever the reward, so every difference there is exactly 0.
	var ks []int
	for k, n := range ev.BoNNs {
		if n >= 2 {
			ks = append(ks, k)
		}
	}
	for i := range cmps {
		x := &cmps[i]
		x.last = notTested
		if ya, yb := ev.BoNGoldByN[x.a], ev.BoNGoldByN[x.b]; len(ks) > 0 && len(ya) == len(ev.BoNNs) && len(yb) == len(ev.BoNNs) {
			var a, b [][]float64
			for _, k := range ks {
				a, b = append(a, ya[k]), append(b, yb[k])
				x.ns = append(x.ns, ev.BoNNs[k])
			}
			x.ivs = stats.PairedDiffBand(a, b, stats.Resamples, stats.BootstrapSeed)
			continue
		}
		ga, gb := ev.BoNGold[x.a], ev.BoNGold[x.b]
		switch {
		case ga != nil && gb != nil && len(ga) == len(gb):
			x.last = stats.PairedDiff(ga, gb, stats.Resamples, stats.BootstrapSeed)
			x.note = fmt.Sprintf("N = %d only (no per-N data)", ev.BoNN)
		default:
			pa, okA := ev.BoNPoint[x.a]
			pb, okB := ev.BoNPoint[x.b]
			if okA && okB {
				x.last = pointOnly(pa - pb)
				x.note = "no per-prompt data"
			}
		}
	}
	return cmps
}

func bonClaims(ev Evidence) []report.Claim {
	var cs []report.Claim
	for _, x := range bonComparisons(ev) {
		c := report.Claim{Name: fmt.Sprintf("BoN: %s picks better responses than %s", x.a, x.label), Paper: "WARM > ENS > single [Fig 6–7]"}
		if x.ivs == nil {
			c.Quantity = fmt.Sprintf("gold of the best-of-%d pick, %s − %s", ev.BoNN, x.a, x.b)
			c.Note = x.note
			cs = append(cs, decide(c, bonHypothesis, x.last, "%+.3f", "prompts"))
			continue
		}
		c.Quantity = fmt.Sprintf("gold of the best-of-N pick, %s − %s, at every N = %s", x.a, x.b, nList(x.ns))
		cs = append(cs, decideEvery(c, x))
	}
	return cs
}

// decideEvery fills a BoN row decided over every N: the verdict is
// stats.DecideEvery on the simultaneous band, and the estimate shown is
// the deciding point: for "fails" the N with the lowest upper bound, else
// the N with the lowest lower bound (the weakest N for the claim).
func decideEvery(c report.Claim, x bonCmp) report.Claim {
	c.Test = strings.ReplaceAll(bonHypothesis.Format("%+.3f")+" at every N", " ", nbsp)
	v := stats.DecideEvery(bonHypothesis, x.ivs)
	c.Verdict = v.String()
	at := 0
	for k, iv := range x.ivs {
		if v == stats.Fails && iv.Hi < x.ivs[at].Hi || v != stats.Fails && iv.Lo < x.ivs[at].Lo {
			at = k
		}
	}
	iv := x.ivs[at]
	if !iv.Valid() {
		c.Estimate = fmt.Sprintf("%+.3f (no interval)", iv.Est)
	} else {
		c.Estimate = fmt.Sprintf("%+.3f"+nbsp+"[%+.3f,"+nbsp+"%+.3f] at"+nbsp+"N=%d", iv.Est, iv.Lo, iv.Hi, x.ns[at])
	}
	c.N = count(iv.N, "prompts")
	which := "weakest N"
	if v == stats.Fails {
		which = "N where it fails"
	}
	c.Note = fmt.Sprintf("%s shown; 95%% band simultaneous over N = %s (per-N table in section 6)", which, nList(x.ns))
	return c
}

// nList writes N values as "2, 4, 8" (or "2…64" when there are many).
func nList(ns []int) string {
	if len(ns) > 4 {
		return fmt.Sprintf("%d…%d", ns[0], ns[len(ns)-1])
	}
	var s []string
	for _, n := range ns {
		s = append(s, fmt.Sprint(n))
	}
	return strings.Join(s, ", ")
}

// bonByNTable prints every BoN comparison at every N with its
// simultaneous band, and the verdict it gives; nothing without per-N
// data.
func bonByNTable(d *report.Doc, ev Evidence) {
	cmps := bonComparisons(ev)
	var ns []int
	for _, x := range cmps {
		if len(x.ns) > len(ns) {
			ns = x.ns
		}
	}
	if len(ns) == 0 {
		return
	}
	head := []string{"comparison (gold, a − b)"}
	for _, n := range ns {
		head = append(head, fmt.Sprintf("N=%d", n))
	}
	head = append(head, "verdict")
	var rows [][]string
	for _, x := range cmps {
		if x.ivs == nil {
			continue
		}
		row := []string{x.a + " − " + x.b}
		for _, iv := range x.ivs {
			if iv.Valid() {
				row = append(row, fmt.Sprintf("%+.3f"+nbsp+"[%+.3f,"+nbsp+"%+.3f]", iv.Est, iv.Lo, iv.Hi))
			} else if math.IsNaN(iv.Est) {
				row = append(row, "—")
			} else {
				row = append(row, fmt.Sprintf("%+.3f", iv.Est))
			}
		}
		rows = append(rows, append(row, stats.DecideEvery(bonHypothesis, x.ivs).String()))
	}
	d.Heading(3, "Best-of-N claims at every N")
	d.Table(head, rows)
	d.Para(fmt.Sprintf("Mean over prompts of the difference in expected gold of the two rewards' picks, with a 95%% band simultaneous over the N values (one bootstrap resample of the prompts shared by every N, sup-t critical value; %d resamples, fixed seed): the whole row lies inside its band with 95%% probability. A claim **holds** when the band is above 0 at every N, **fails** when it is below 0 at some N, and is **inconclusive** otherwise. N = 1 is left out: there every reward's pick is a uniformly random sample, so every difference is exactly 0.", stats.Resamples))
}

package studyreport

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/warm-rm/warm/internal/runlog"
	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/study/report"
	"github.com/warm-rm/warm/study/rl"
	"github.com/warm-rm/warm/study/rmeval"
)

// Margins of the claims table (docs/power.md explains the sizes that make
// intervals narrower than these).
const (
	// AccMargin is the non-inferiority / equivalence margin for accuracy
	// differences, in accuracy points: "WA ≥ ENS" holds when the interval
	// of WA − ENS lies above −1 point; "WA ≈ ENS" when it lies in (−1, +1).
	// One point is below the paper's smallest reported WA/ENS gap
	// (0.5–2 points) only at its upper end, so a holds here means "no
	// worse than one point", not "equal".
	AccMargin = 1.0
	// LMCMargin is how far (in points) the midpoint of an interpolation may
	// fall below the straight line and still count as "at or above it".
	LMCMargin = 1.0
)

// Evidence is everything the claims table reads, as plain data, so that
// any evaluation can feed it (docs/report.md gives the JSON it is read
// from). Missing parts are nil; their claims say "not tested".
type Evidence struct {
	Preset string
	// Members in the order ENS and WA take them (best first, ranked on
	// the validation split).
	Members []string
	// RankBy is the split the members were ranked on (eval.json's
	// rank_by), and Selection how it was halved so that the claims are
	// decided on pairs that played no part in the ranking (nil for an
	// eval.json written before the halving: then the best-member claim on
	// RankBy is not decided).
	RankBy    string
	Selection *rmeval.Selection
	// Correct[split][model] is the per-pair correctness of a model on a
	// split: 1 right, 0 wrong, ½ a tie; every model has the same pairs in
	// the same order. Model names are the members and "ENS M=k",
	// "WA M=k". Nil when eval.json has no per_pair field.
	Correct map[string]map[string][]float64
	// Clusters[split] is the prompt (cluster id) of each pair of
	// Correct[split] where pairs share prompts (eval.json's clusters: a
	// grouped split holds every pair among k responses to a prompt); nil
	// for independent pairs. Intervals on such a split resample prompts.
	Clusters map[string][]int
	// Texts[split] is every model's rewards on a grouped split (the
	// human-labelled pairs: eval.json's per_text): its accuracies and
	// differences are the within-group all-pairs ones with DeLong
	// intervals (stats.AllPairsCombo), not Correct's paired bootstrap.
	Texts map[string]*rmeval.TextRewards
	// Point[split][model] is the accuracy from eval.json's summary: the
	// fallback when there is no per-pair data (no interval, so
	// inconclusive).
	Point map[string]map[string]float64
	LMC   []LMCRung
	// LadderIn is the label setting that ran the diversity ladder when
	// this one did not (preset.LadderLabels); "" otherwise.
	LadderIn string
	// Pilot is the LMC pilot: the two members furthest apart in weight
	// space (eval/pilot.json); nil when not run.
	Pilot *LMCRung
	// BoNGold[reward] is the per-prompt expected gold of the best-of-N
	// pick at N = BoNN, the same prompts in the same order for every
	// reward; BoNPoint[reward] the mean when per-prompt data is missing.
	BoNN     int
	BoNGold  map[string][]float64
	BoNPoint map[string]float64
	// BoNNs and BoNGoldByN are the same at every N of the curve:
	// BoNGoldByN[reward][k][p] is prompt p at N = BoNNs[k]. The BoN claims
	// are decided over every N ≥ 2 when present (bonclaims.go), else at
	// BoNN only.
	BoNNs      []int
	BoNGoldByN map[string][][]float64
	Duels      []DuelEvidence
	// RL[reward] has one entry per seed (replicate run).
	RL map[string][]RLSeed
}

// LMCRung is one rung of the diversity ladder: per-pair correctness, per
// split, of the two endpoints (A at λ = 0, B at λ = 1) and of the weight
// average at λ = ½ (Mid); Point[split] the midpoint − line in accuracy
// when there is no per-pair data.
type LMCRung struct {
	Name      string
	A, Mid, B map[string][]float64
	Point     map[string]float64
	Clusters  map[string][]int // as Evidence.Clusters, for A, Mid and B
}

// DuelEvidence is one head-to-head of two policies: the mean gold of each
// policy's responses per prompt (averaged over that prompt's samples).
type DuelEvidence struct {
	A, B         string
	GoldA, GoldB []float64
	// MeanA, MeanB are the fallback means when there is no per-prompt data.
	MeanA, MeanB float64
}

// RLSeed is what one RL run (one seed) contributes: the peak of its
// smoothed gold curve, the smoothed gold at the end, and the KL at the peak.
type RLSeed struct {
	PeakGold, EndGold, PeakKL float64
	// KL and Gold are the run's smoothed curves (rl.SmoothFull, the
	// peak's window), step by step: the matched-KL comparison reads gold
	// where each run first reaches a common KL. RawGold is the per-step
	// gold before smoothing (the hacking test's units). Nil without
	// metrics.
	KL, Gold, RawGold []float64
}

// hackDrop is one run's cross-fitted drop from the gold peak to the end:
// the peak window is located on the even steps' smoothed gold, and the
// drop (peak window − end window) is measured on the odd steps, so the
// noise that picked the peak does not inflate the drop (no winner's
// curse). se is its standard error with the odd steps as independent
// units in each window. ok is false for runs shorter than 4 steps.
func hackDrop(raw []float64, w int) (d, se float64, ok bool) {
	m := len(raw) / 2
	if m < 2 {
		return 0, 0, false
	}
	even, odd := make([]float64, m), make([]float64, m)
	for j := range m {
		even[j], odd[j] = raw[2*j], raw[2*j+1]
	}
	hw := max(1, w/2) // w steps are w/2 even–odd pairs
	sm := rl.SmoothFull(even, hw)
	p := 0
	for j := range sm {
		if sm[j] >= sm[p] {
			p = j
		}
	}
	// The same windows as SmoothFull's at points p and m−1.
	h := min(hw/2, max(0, (m-1)/2))
	win := func(i int) []float64 {
		lo := min(max(0, i-h), max(0, m-2*h-1))
		return odd[lo : lo+2*h+1]
	}
	a, b := win(p), win(m-1)
	ma, va := stats.MeanStd(a)
	mb, vb := stats.MeanStd(b)
	if len(a) < 2 {
		va, vb = 0, 0
	}
	return ma - mb, math.Sqrt(va*va/float64(len(a)) + vb*vb/float64(len(b))), true
}

// hackInterval pools hackDrop over seeds: the mean drop with a normal
// 95% interval from the seeds' standard errors.
func hackInterval(runs []RLSeed) stats.Interval {
	var ds, v float64
	n := 0
	for _, r := range runs {
		d, se, ok := hackDrop(r.RawGold, rl.SmoothWindow(len(r.RawGold)))
		if !ok {
			continue
		}
		ds += d
		v += se * se
		n++
	}
	if n == 0 {
		return notTested
	}
	est, se := ds/float64(n), math.Sqrt(v)/float64(n)
	return stats.Interval{Est: est, Lo: est - stats.Z95*se, Hi: est + stats.Z95*se, N: n, Method: "cross-fitted peak, normal over steps"}
}

// GoldAtKL is the smoothed gold where the run's smoothed KL first reaches
// kl (linear between the two steps around the crossing); NaN when it
// never does.
func (r RLSeed) GoldAtKL(kl float64) float64 {
	for i, k := range r.KL {
		if k < kl {
			continue
		}
		if i == 0 || k == r.KL[i-1] {
			return r.Gold[i]
		}
		t := (kl - r.KL[i-1]) / (k - r.KL[i-1])
		return r.Gold[i-1] + t*(r.Gold[i]-r.Gold[i-1])
	}
	return math.NaN()
}

// matchedKL is the largest KL every run reaches (the smallest of the
// runs' largest smoothed KLs): the common budget at which the policies
// are compared. NaN when a run has no curve.
func matchedKL(groups ...[]RLSeed) float64 {
	m := math.Inf(1)
	for _, g := range groups {
		for _, r := range g {
			if len(r.KL) == 0 {
				return math.NaN()
			}
			m = min(m, slices.Max(r.KL))
		}
	}
	if math.IsInf(m, 1) {
		return math.NaN()
	}
	return m
}

// claims evaluates the paper's claims (WARM.md section 1) on this run.
func (s *study) claims() ([]report.Claim, error) {
	ev, err := s.evidence()
	if err != nil {
		return nil, err
	}
	return Claims(ev), nil
}

// Claims decides every claim of the paper on ev. Each row's verdict comes
// from stats.Decide on a 95% interval; rows without the data for an
// interval are inconclusive (or not tested when the stage did not run).
func Claims(ev Evidence) []report.Claim {
	var cs []report.Claim
	cs = append(cs, lmcClaims(ev)...)
	cs = append(cs, evalClaims(ev)...)
	cs = append(cs, bonClaims(ev)...)
	cs = append(cs, rlClaims(ev)...)
	return cs
}

// decide fills a claim's estimate, test, n and verdict from an interval
// in the claim's display units; format prints one number.
func decide(c report.Claim, h stats.Hypothesis, iv stats.Interval, format, unit string) report.Claim {
	// No-break spaces keep "d > -1.0" and "+0.4 [-0.3, +1.1]" on one line
	// in a narrow table cell.
	c.Test = strings.ReplaceAll(h.Format(format), " ", nbsp)
	if math.IsNaN(iv.Est) {
		c.Verdict = report.VerdictNotTested
		return c
	}
	c.Verdict = stats.Decide(h, iv).String()
	if iv.Valid() {
		c.Estimate = fmt.Sprintf(format+nbsp+"["+format+","+nbsp+format+"]", iv.Est, iv.Lo, iv.Hi)
		c.N = count(iv.N, unit)
	} else {
		c.Estimate = fmt.Sprintf(format+" (no interval)", iv.Est)
		if iv.N > 0 {
			c.N = count(iv.N, unit)
		}
	}
	return c
}

const nbsp = "\u00a0"

// count writes "1 seed", "3 seeds" (units are given in the plural).
func count(n int, unit string) string {
	if n == 1 {
		unit = strings.TrimSuffix(unit, "s")
	}
	return fmt.Sprintf("%d %s", n, unit)
}

// pointOnly is an interval-less estimate: inconclusive by construction.
func pointOnly(est float64) stats.Interval {
	return stats.Interval{Est: est, Lo: math.NaN(), Hi: math.NaN()}
}

var notTested = stats.Interval{Est: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}

// accDiff is a − b in accuracy points from per-pair correctness, with the
// paired bootstrap over pairs, or over prompts when cl gives the pairs'
// prompts (a grouped split).
func accDiff(a, b []float64, cl []int) stats.Interval {
	return stats.ClusterPairedAccuracyDiff(a, b, cl, stats.Resamples, stats.BootstrapSeed).Scale(100)
}

// clusterNote says what a grouped split's interval rests on ("" for
// independent pairs).
func clusterNote(cl []int) string {
	if cl == nil {
		return ""
	}
	return fmt.Sprintf("%d pairs among the responses to %d prompts; bootstrap over prompts", len(cl), stats.NumClusters(cl, len(cl)))
}

// joinNotes joins the non-empty notes with "; ".
func joinNotes(notes ...string) string {
	var out []string
	for _, n := range notes {
		if n != "" {
			out = append(out, n)
		}
	}
	return strings.Join(out, "; ")
}

// textCombo is Σ coef[model]·accuracy on a grouped split, in points:
// the within-group all-pairs estimate with DeLong's interval
// (stats.AllPairsCombo). ok is false when a model's rewards are missing.
func textCombo(t *rmeval.TextRewards, coef map[string]float64) (iv stats.Interval, ok bool) {
	names := make([]string, 0, len(coef))
	for m := range coef {
		names = append(names, m)
	}
	sort.Strings(names) // a fixed order: the same digits every time
	var pos, neg [][]float64
	var c []float64
	for _, m := range names {
		p, n := t.Chosen[m], t.Rejected[m]
		if p == nil || len(p) != len(t.Groups) || len(n) != len(t.Groups) {
			return iv, false
		}
		pos, neg, c = append(pos, stats.Float64s(p)), append(neg, stats.Float64s(n)), append(c, coef[m])
	}
	return stats.AllPairsCombo(pos, neg, t.Groups, c).Scale(100), true
}

// allPairsNote says what an all-pairs interval rests on, from the split's
// groups (not from the interval's Method text, which may change).
func allPairsNote(t *rmeval.TextRewards) string {
	groups := map[string]bool{}
	for _, g := range t.Groups {
		groups[g] = true
	}
	return fmt.Sprintf("every positive text against every negative one of its source (%d comparisons of %d texts in %d groups); DeLong interval",
		stats.AllPairsComparisons(t.Groups), 2*len(t.Groups), len(groups))
}

// memberMean is the per-pair mean correctness over the members: the
// "average individual RM" as one vector, so WA − mean member stays paired.
func memberMean(per map[string][]float64, members []string) []float64 {
	var out []float64
	k := 0
	for _, m := range members {
		v, ok := per[m]
		if !ok {
			continue
		}
		if out == nil {
			out = make([]float64, len(v))
		}
		for i := range v {
			out[i] += v[i]
		}
		k++
	}
	for i := range out {
		out[i] /= float64(k)
	}
	return out
}

// discordant is the fraction of pairs on which two models' correctness
// differs.
func discordant(a, b []float64) float64 {
	if len(a) == 0 {
		return math.NaN()
	}
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return float64(n) / float64(len(a))
}

// midGain is, per val pair, the weight average's midpoint correctness
// minus the mean of the endpoints', and its paired interval in points;
// without per-pair data, the point estimate (no interval) and a note.
func (r LMCRung) midGain() (g []float64, iv stats.Interval, note string) {
	if a, m, b := r.A[rmeval.Val], r.Mid[rmeval.Val], r.B[rmeval.Val]; a != nil && len(a) == len(m) && len(m) == len(b) {
		g = make([]float64, len(m))
		for k := range m {
			g[k] = m[k] - (a[k]+b[k])/2
		}
		iv = stats.ClusterBootstrapMean(g, r.Clusters[rmeval.Val], stats.Resamples, stats.BootstrapSeed).Scale(100)
		iv.Method = "paired " + iv.Method
		return g, iv, clusterNote(r.Clusters[rmeval.Val])
	}
	if p, ok := r.Point[rmeval.Val]; ok {
		return nil, pointOnly(100 * p), "no per-pair data"
	}
	return nil, notTested, ""
}

func lmcClaims(ev Evidence) []report.Claim {
	var cs []report.Claim
	const q = "accuracy at λ=½ − mean of the endpoints, val (pts)"
	if r := ev.Pilot; r != nil {
		c := report.Claim{Name: "LMC pilot (" + r.Name + "): the midpoint of the two most distant members is at or above the line", Quantity: q, Paper: "holds [Fig 3]"}
		var iv stats.Interval
		_, iv, c.Note = r.midGain()
		cs = append(cs, decide(c, stats.Hypothesis{Dir: stats.Above, Bound: -LMCMargin}, iv, "%+.1f", "pairs"))
	}
	gains := make([][]float64, len(ev.LMC))
	for i, r := range ev.LMC {
		c := report.Claim{Name: "LMC (" + r.Name + "): the weight-interpolation midpoint is at or above the straight line", Quantity: q, Paper: "holds for all rungs [Fig 3]"}
		var iv stats.Interval
		gains[i], iv, c.Note = r.midGain()
		cs = append(cs, decide(c, stats.Hypothesis{Dir: stats.Above, Bound: -LMCMargin}, iv, "%+.1f", "pairs"))
	}
	div := report.Claim{Name: "The LMC gain grows with diversity (last rung − first rung)", Quantity: "midpoint gain of the last rung − of the first, val (pts)", Paper: "holds [Fig 3]"}
	iv := notTested
	if n := len(ev.LMC); n >= 2 {
		first, last := gains[0], gains[n-1]
		if first != nil && last != nil && len(first) == len(last) {
			// Gains are differences, not correctness: the plain paired bootstrap.
			iv = stats.ClusterPairedDiff(last, first, ev.LMC[0].Clusters[rmeval.Val], stats.Resamples, stats.BootstrapSeed).Scale(100)
			div.Note = clusterNote(ev.LMC[0].Clusters[rmeval.Val])
		} else {
			iv = pointOnly(100 * (ev.LMC[n-1].Point[rmeval.Val] - ev.LMC[0].Point[rmeval.Val]))
			div.Note = "no per-pair data"
		}
		div.Name = fmt.Sprintf("The LMC gain grows with diversity (%s − %s)", ev.LMC[n-1].Name, ev.LMC[0].Name)
	} else if len(ev.LMC) == 0 && ev.LadderIn != "" {
		div.Note = "the diversity ladder runs in the " + ev.LadderIn + " setting only (time budget); the pilot above tests LMC here"
	}
	return append(cs, decide(div, stats.Hypothesis{Dir: stats.Above, Bound: 0}, iv, "%+.1f", "pairs"))
}

// accuracySplits are the splits on which WA is compared with ENS and the
// members, in report order; "human" is the human-labelled review pairs.
var accuracySplits = []string{rmeval.Val, rmeval.OOD, "human"}

var splitWords = map[string]string{rmeval.Val: "ID validation", rmeval.OOD: "OOD pairs", "human": "human-labelled pairs", rmeval.TrainCorrupted: "swapped training labels"}

func evalClaims(ev Evidence) []report.Claim {
	M := len(ev.Members)
	if M < 2 {
		return []report.Claim{{Name: "WA ≈ ENS, WA ≥ ENS, WA > members (accuracy)", Verdict: report.VerdictNotTested, Paper: "holds [Fig 3–5]"}}
	}
	wa, ens := rmeval.WAName(M), rmeval.ENSName(M)
	best := ev.Members[0]
	// diff is a − b on split in points: paired bootstrap when there is
	// per-pair data, all pairs within groups on a grouped split, else the
	// point estimate (inconclusive).
	diff := func(split, a, b string) (stats.Interval, string) {
		if t := ev.Texts[split]; t != nil {
			coef := map[string]float64{a: 1}
			if b == "mean member" {
				for _, m := range ev.Members {
					coef[m] -= 1 / float64(len(ev.Members))
				}
			} else {
				coef[b] = -1
			}
			if iv, ok := textCombo(t, coef); ok {
				return iv, allPairsNote(t)
			}
		}
		per, cl := ev.Correct[split], ev.Clusters[split]
		if b != best {
			// WA and ENS of all M members and the mean member do not
			// depend on the ranking: they may use the selection half too.
			per, cl = withSelectionHalf(ev, split)
		}
		if per != nil {
			va, vb := per[a], per[b]
			if b == "mean member" {
				vb = memberMean(per, ev.Members)
			}
			if va != nil && vb != nil && len(va) == len(vb) && (cl == nil || len(cl) == len(va)) {
				if b == "mean member" {
					// The mean member's per-pair value is a fraction,
					// not correctness: the plain paired bootstrap.
					return stats.ClusterPairedDiff(va, vb, cl, stats.Resamples, stats.BootstrapSeed).Scale(100), clusterNote(cl)
				}
				// The discordant share sets the interval's width
				// (docs/power.md); printing it lets a reader redo the
				// power calculation with this run's value.
				return accDiff(va, vb, cl), joinNotes(fmt.Sprintf("discordant pairs %.1f%%", 100*discordant(va, vb)), clusterNote(cl))
			}
		}
		pt := ev.Point[split]
		if pt == nil {
			return notTested, ""
		}
		pa, okA := pt[a]
		pb, okB := pt[b]
		if !okA || !okB {
			return notTested, ""
		}
		return pointOnly(100 * (pa - pb)), "no per-pair data"
	}
	row := func(name, split, a, b, paper string, h stats.Hypothesis) report.Claim {
		bName := b
		var iv stats.Interval
		var note string
		cross := false
		if b == best {
			bName = "best member (" + b + ")"
			// On the halved split the best member is cross-fitted.
			var va, vb []float64
			var cl []int
			if va, vb, cl, note, cross = crossFitBest(ev, split, a); cross {
				bName = "best member (cross-fitted)"
				iv = accDiff(va, vb, cl)
				note = joinNotes(fmt.Sprintf("discordant pairs %.1f%%", 100*discordant(va, vb)), clusterNote(cl), note)
			}
		}
		if !cross {
			iv, note = diff(split, a, b)
		}
		c := report.Claim{Name: name, Quantity: fmt.Sprintf("%s − %s, accuracy on %s (pts)", a, bName, split), Paper: paper, Note: note}
		unit := "pairs"
		if ev.Texts[split] != nil && iv.Valid() {
			unit = "texts"
		}
		c = decide(c, h, iv, "%+.1f", unit)
		if b == best {
			if !cross {
				c = selectionNote(c, ev, split)
			}
		} else if sel := ev.Selection; sel != nil && sel.Split == split && ev.Correct[sel.RankedOn] != nil && c.Estimate != "" {
			c.Note = strings.TrimPrefix(c.Note+"; both halves of "+split+": no ranking involved", "; ")
		}
		return c
	}
	nonInf := stats.Hypothesis{Dir: stats.Above, Bound: -AccMargin}
	equiv := stats.Hypothesis{Dir: stats.Within, Bound: AccMargin}
	sup := stats.Hypothesis{Dir: stats.Above, Bound: 0}
	less := stats.Hypothesis{Dir: stats.Below, Bound: 0}
	var cs []report.Claim
	for _, sp := range accuracySplits {
		if ev.Correct[sp] == nil && ev.Point[sp] == nil {
			if sp == "human" {
				continue // an optional split: no row rather than "not tested"
			}
		}
		w := splitWords[sp]
		cs = append(cs,
			row("WA ≈ ENS on "+w, sp, wa, ens, "WA ≈ ENS [Fig 3–4]", equiv),
			row("WA ≥ ENS on "+w, sp, wa, ens, "holds [Fig 4–5]", nonInf),
			row("WA > the best member on "+w, sp, wa, best, "holds [Fig 4–5]", sup),
			row("WA > the mean member on "+w, sp, wa, "mean member", "holds [Fig 4–5]", sup))
	}
	tc := rmeval.TrainCorrupted
	mem := []report.Claim{
		row("WA memorises swapped training labels less than ENS", tc, wa, ens, "holds [Fig 4(a)]", less),
		row("WA memorises swapped training labels less than the mean member", tc, wa, "mean member", "holds [Fig 4(a)]", less)}
	if ev.Correct[tc] == nil && ev.Point[tc] == nil {
		for i := range mem {
			mem[i].Note = "no swapped training labels in this run (clean-label setting)"
		}
	}
	return append(cs, mem...)
}

func rlClaims(ev Evidence) []report.Claim {
	M := len(ev.Members)
	single, ens, warm := ev.RL["single"], ev.RL[fmt.Sprintf("ens%d", M)], ev.RL[fmt.Sprintf("warm%d", M)]
	field := func(runs []RLSeed, f func(RLSeed) float64) []float64 {
		var out []float64
		for _, r := range runs {
			out = append(out, f(r))
		}
		return out
	}
	peak := func(r RLSeed) float64 { return r.PeakGold }
	kl := func(r RLSeed) float64 { return r.PeakKL }
	// seeds gives an interval over replicate runs, and says why there is
	// none with a single seed.
	welch := func(a, b []RLSeed, f func(RLSeed) float64) (stats.Interval, string) {
		if len(a) == 0 || len(b) == 0 {
			return notTested, ""
		}
		iv := stats.WelchDiff(field(a, f), field(b, f))
		if !iv.Valid() {
			return iv, "needs ≥ 2 seeds per reward"
		}
		return iv, ""
	}
	var cs []report.Claim

	hack := report.Claim{Name: "RL with a single RM: gold rises then falls (hacking)", Quantity: "peak − end of the smoothed gold curve, single RM", Paper: "holds [Fig 8]"}
	iv := notTested
	if len(single) > 0 {
		// With per-step gold, a cross-fitted interval that is valid for
		// one seed; else the t interval over seeds of peak − end.
		if iv = hackInterval(single); iv.Valid() {
			hack.Note = "peak located on even steps, drop measured on odd steps"
		} else if iv = stats.TInterval(field(single, func(r RLSeed) float64 { return r.PeakGold - r.EndGold })); !iv.Valid() {
			hack.Note = "needs ≥ 2 seeds"
		}
	}
	cs = append(cs, decide(hack, stats.Hypothesis{Dir: stats.Above, Bound: 0}, iv, "%+.3f", "seeds"))

	higher := report.Claim{Name: "WARM reaches a higher gold peak than the single RM", Quantity: "peak smoothed gold, WARM − single", Paper: "holds [Fig 8]"}
	iv, higher.Note = welch(warm, single, peak)
	cs = append(cs, decide(higher, stats.Hypothesis{Dir: stats.Above, Bound: 0}, iv, "%+.3f", "seeds"))

	delay := report.Claim{Name: "WARM delays the collapse (peaks at a larger KL than the single RM)", Quantity: "KL at the gold peak, WARM − single (nats)", Paper: "holds [Fig 8]"}
	iv, delay.Note = welch(warm, single, kl)
	cs = append(cs, decide(delay, stats.Hypothesis{Dir: stats.Above, Bound: 0}, iv, "%+.2f", "seeds"))

	early := report.Claim{Name: "ENS hacks earlier than WARM", Quantity: "KL at the gold peak, ENS − WARM (nats)", Paper: "holds [Fig 8]"}
	iv, early.Note = welch(ens, warm, kl)
	cs = append(cs, decide(early, stats.Hypothesis{Dir: stats.Below, Bound: 0}, iv, "%+.2f", "seeds"))

	// Policies at matched KL: a reward that lets the policy move further
	// is not better for that alone; compare gold at the largest KL every
	// run reached.
	for _, o := range []struct {
		name, label string
		runs        []RLSeed
	}{{"single", "single-RM (best member)", single}, {MedianReward, "median-member", ev.RL[MedianReward]}} {
		if len(o.runs) == 0 {
			continue
		}
		if k := matchedKL(o.runs, warm); !math.IsNaN(k) {
			at := func(r RLSeed) float64 { return r.GoldAtKL(k) }
			c := report.Claim{Name: "At matched KL, the WARM policy has higher gold than the " + o.label + " policy",
				Quantity: fmt.Sprintf("smoothed gold at KL = %.2f nats, WARM − %s", k, o.name), Paper: "holds [Fig 8]"}
			iv, c.Note = welch(warm, o.runs, at)
			cs = append(cs, decide(c, stats.Hypothesis{Dir: stats.Above, Bound: 0}, iv, "%+.3f", "seeds"))
		}
	}

	for _, d := range ev.Duels {
		c := report.Claim{Name: fmt.Sprintf("The %s policy beats the %s policy head to head", d.A, d.B),
			Quantity: fmt.Sprintf("mean gold per prompt, %s − %s", d.A, d.B)}
		if d.B == "single" {
			c.Paper = "79.4% win rate (WARM M=6 vs best single) [Fig 9]"
		}
		iv := notTested
		if d.GoldA != nil && len(d.GoldA) == len(d.GoldB) {
			iv = stats.PairedDiff(d.GoldA, d.GoldB, stats.Resamples, stats.BootstrapSeed)
			w, t, l := stats.WinTieLoss(d.GoldA, d.GoldB)
			c.Note = fmt.Sprintf("wins %s, ties %s, losses %s", pctIv(w), pctIv(t), pctIv(l))
		} else if !math.IsNaN(d.MeanA) {
			iv = pointOnly(d.MeanA - d.MeanB)
			c.Note = "no per-prompt data"
		}
		cs = append(cs, decide(c, stats.Hypothesis{Dir: stats.Above, Bound: 0}, iv, "%+.3f", "prompts"))
	}
	return cs
}

func pctIv(iv stats.Interval) string {
	return fmt.Sprintf("%.0f%% [%.0f, %.0f]", 100*iv.Est, 100*iv.Lo, 100*iv.Hi)
}

func mean(x []float64) float64 {
	m, _ := stats.MeanStd(x)
	return m
}

// ---- reading the evidence from a run directory ----

// perPairFile is the part of eval/eval.json the claims read beyond
// rmeval.Result: per split, per model, one character per pair.
type perPairFile struct {
	PerPair  map[string]map[string]string   `json:"per_pair"`
	PerText  map[string]*rmeval.TextRewards `json:"per_text"`
	Clusters map[string][]int               `json:"clusters"`
}

// lmcFile is the part of eval/lmc.json the claims read beyond
// rmeval.Curve: per split, the correctness strings of the endpoints
// ("a", "b") and of the weight average at λ = ½ ("mid").
type lmcFile struct {
	Name     string                       `json:"name"`
	PerPair  map[string]map[string]string `json:"per_pair"`
	Clusters map[string][]int             `json:"clusters"`
}

// bonFile is the part of bon/bon.json the claims read beyond bonResult.
type bonFile struct {
	PerPrompt *struct {
		N       int                    `json:"n"`
		Gold    map[string][]float64   `json:"gold"`
		Ns      []int                  `json:"ns"`
		GoldByN map[string][][]float64 `json:"gold_by_n"`
	} `json:"per_prompt"`
}

// duelFile is the part of a duel JSON the claims read.
type duelFile struct {
	MeanGoldA float64   `json:"mean_gold_a"`
	MeanGoldB float64   `json:"mean_gold_b"`
	GoldA     []float64 `json:"per_prompt_gold_a"`
	GoldB     []float64 `json:"per_prompt_gold_b"`
}

// rlFile is the part of an RL summary.json the claims read; end_gold (the
// smoothed gold at the last step) falls back to final.gold.
type rlFile struct {
	PeakGold float64  `json:"peak_gold"`
	PeakKL   float64  `json:"peak_gold_kl"`
	EndGold  *float64 `json:"end_gold"`
	Final    struct {
		Gold float64 `json:"gold"`
	} `json:"final"`
}

// decodeAll decodes every string of a split and checks they have one
// length (the same pairs).
func decodeAll(file, split string, in map[string]string) (map[string][]float64, error) {
	out := map[string][]float64{}
	n := -1
	for name, s := range in {
		v, err := stats.DecodeCorrect(s)
		if err != nil {
			return nil, fmt.Errorf("%s: per_pair.%s[%q]: %v", file, split, name, err)
		}
		if n >= 0 && len(v) != n {
			return nil, fmt.Errorf("%s: per_pair.%s[%q] has %d pairs, others %d", file, split, name, len(v), n)
		}
		n = len(v)
		out[name] = v
	}
	return out, nil
}

// checkClusters validates a file's clusters against its decoded per-pair
// data: one non-negative prompt id per pair of the split.
func checkClusters(file string, clusters map[string][]int, per map[string]map[string][]float64) error {
	for sp, cl := range clusters {
		for name, v := range per[sp] {
			if len(v) != len(cl) {
				return fmt.Errorf("%s: clusters.%s has %d prompt ids for the %d pairs of per_pair.%s[%q]", file, sp, len(cl), len(v), sp, name)
			}
			break
		}
		for i, c := range cl {
			if c < 0 {
				return fmt.Errorf("%s: clusters.%s[%d] = %d: want a prompt id ≥ 0", file, sp, i, c)
			}
		}
	}
	return nil
}

// checkTexts validates a grouped split's per_text: every model's rewards
// one per pair, finite (JSON cannot carry NaN, but a hand-edited file can
// hold a null or miss a value).
func checkTexts(file, split string, t *rmeval.TextRewards) error {
	if t == nil {
		return fmt.Errorf("%s: per_text.%s is null", file, split)
	}
	n := len(t.Groups)
	for _, side := range []struct {
		name string
		m    map[string][]float32
	}{{"chosen", t.Chosen}, {"rejected", t.Rejected}} {
		for model, v := range side.m {
			if len(v) != n {
				return fmt.Errorf("%s: per_text.%s.%s[%q] has %d rewards for %d groups", file, split, side.name, model, len(v), n)
			}
		}
	}
	return nil
}

// evidence is the claims' inputs, read from the run directory once per
// report (loadEvidence): the claims table, the accuracy intervals, the
// init diagnostics and the BoN table all read it, and decoding eval.json's
// per-pair strings is the report's largest read. Callers must not modify
// it.
func (s *study) evidence() (Evidence, error) {
	if !s.evLoaded {
		s.ev, s.evErr = s.loadEvidence()
		s.evLoaded = true
	}
	return s.ev, s.evErr
}

// loadEvidence gathers the claims' inputs from the run directory. Optional
// fields that are missing leave their part empty (the claims then say
// "no per-pair data"); a malformed per-pair string is an error naming
// the file, split and model.
func (s *study) loadEvidence() (Evidence, error) {
	ev := Evidence{Correct: map[string]map[string][]float64{}, Point: map[string]map[string]float64{}, RL: map[string][]RLSeed{}, LadderIn: s.ladderIn}
	if s.eval != nil {
		ev.Members = s.eval.Order
		ev.RankBy, ev.Selection = s.eval.RankBy, s.eval.Selection
		for _, e := range s.eval.Entries {
			for sp, m := range e.Splits {
				if ev.Point[sp] == nil {
					ev.Point[sp] = map[string]float64{}
				}
				ev.Point[sp][e.Name] = m.Acc
			}
		}
		for sp, sm := range s.eval.Summary {
			if ev.Point[sp] == nil {
				ev.Point[sp] = map[string]float64{}
			}
			ev.Point[sp]["mean member"] = sm.MemberMean
		}
		var pp perPairFile
		path := filepath.Join(s.dir, "eval", "eval.json")
		if runlog.ReadJSON(path, &pp) == nil {
			for sp, m := range pp.PerPair {
				v, err := decodeAll(path, sp, m)
				if err != nil {
					return ev, err
				}
				ev.Correct[sp] = v
			}
			for sp, t := range pp.PerText {
				if err := checkTexts(path, sp, t); err != nil {
					return ev, err
				}
			}
			ev.Texts = pp.PerText
			if err := checkClusters(path, pp.Clusters, ev.Correct); err != nil {
				return ev, err
			}
			ev.Clusters = pp.Clusters
		}
	}
	var lf []lmcFile
	lpath := filepath.Join(s.dir, "eval", "lmc.json")
	_ = runlog.ReadJSON(lpath, &lf) // optional: a missing file means no ladder
	for i, c := range s.lmc {
		r := LMCRung{Name: c.Name, A: map[string][]float64{}, Mid: map[string][]float64{}, B: map[string][]float64{}, Point: map[string]float64{}}
		for _, sp := range []string{rmeval.Val, rmeval.OOD} {
			if len(c.Points) > 0 {
				r.Point[sp], _ = c.Barrier(sp)
			}
		}
		if i < len(lf) && lf[i].Name == c.Name {
			per := map[string]map[string][]float64{}
			for sp, m := range lf[i].PerPair {
				v, err := decodeAll(lpath, sp, m)
				if err != nil {
					return ev, err
				}
				r.A[sp], r.Mid[sp], r.B[sp] = v["a"], v["mid"], v["b"]
				per[sp] = v
			}
			if err := checkClusters(lpath, lf[i].Clusters, per); err != nil {
				return ev, err
			}
			r.Clusters = lf[i].Clusters
		}
		ev.LMC = append(ev.LMC, r)
	}
	if c := s.pilot; c != nil {
		r := LMCRung{Name: c.Name, A: map[string][]float64{}, Mid: map[string][]float64{}, B: map[string][]float64{}, Point: map[string]float64{}}
		ppath := filepath.Join(s.dir, "eval", "pilot.json")
		per := map[string]map[string][]float64{}
		for sp, m := range c.PerPair {
			v, err := decodeAll(ppath, sp, m)
			if err != nil {
				return ev, err
			}
			r.A[sp], r.Mid[sp], r.B[sp] = v["a"], v["mid"], v["b"]
			per[sp] = v
		}
		if err := checkClusters(ppath, c.Clusters, per); err != nil {
			return ev, err
		}
		r.Clusters = c.Clusters
		if len(c.Points) > 0 {
			r.Point[rmeval.Val], _ = c.Barrier(rmeval.Val)
		}
		ev.Pilot = &r
	}
	if s.bon != nil {
		ev.BoNN = s.bon.NMax
		ev.BoNPoint = map[string]float64{}
		for _, c := range s.bon.Curves {
			if len(c.Gold) > 0 {
				ev.BoNPoint[c.Reward] = c.Gold[len(c.Gold)-1]
			}
		}
		var bf bonFile
		if runlog.ReadJSON(filepath.Join(s.dir, "bon", "bon.json"), &bf) == nil && bf.PerPrompt != nil {
			ev.BoNN = bf.PerPrompt.N
			ev.BoNGold = bf.PerPrompt.Gold
			ev.BoNNs, ev.BoNGoldByN = bf.PerPrompt.Ns, bf.PerPrompt.GoldByN
		}
	}
	for _, d := range s.duels {
		de := DuelEvidence{A: d.a, B: d.b, MeanA: d.d.MeanGoldA, MeanB: d.d.MeanGoldB}
		var df duelFile
		if runlog.ReadJSON(filepath.Join(s.dir, "duel-"+d.a+"-vs-"+d.b+".json"), &df) == nil && len(df.GoldA) == len(df.GoldB) && len(df.GoldA) > 0 {
			de.GoldA, de.GoldB = df.GoldA, df.GoldB
		}
		ev.Duels = append(ev.Duels, de)
	}
	for _, r := range s.rl {
		ev.RL[r.name] = readSeeds(s.dir, r.name)
	}
	return ev, nil
}

var seedDir = regexp.MustCompile(`^-seed[0-9]+$`)

// readSeeds reads the RL summaries of reward name: rl-NAME/ (the first
// seed) and rl-NAME-seedK/ (replicates), in name order.
func readSeeds(dir, name string) []RLSeed {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), "rl-"+name)
		if ok && e.IsDir() && (rest == "" || seedDir.MatchString(rest)) {
			names = append(names, e.Name())
		}
	}
	sort.Slice(names, func(i, j int) bool { return seedNumber(names[i]) < seedNumber(names[j]) })
	var out []RLSeed
	for _, n := range names {
		var f rlFile
		if runlog.ReadJSON(filepath.Join(dir, n, "summary.json"), &f) != nil {
			continue
		}
		end := f.Final.Gold
		if f.EndGold != nil {
			end = *f.EndGold
		}
		seed := RLSeed{PeakGold: f.PeakGold, EndGold: end, PeakKL: f.PeakKL}
		if steps, err := rl.ReadMetrics(filepath.Join(dir, n, "metrics.jsonl")); err == nil && len(steps) > 0 {
			g, k := make([]float64, len(steps)), make([]float64, len(steps))
			for i, st := range steps {
				g[i], k[i] = st.Gold, st.KL
			}
			w := rl.SmoothWindow(len(steps))
			seed.RawGold = slices.Clone(g)
			seed.Gold, seed.KL = rl.SmoothFull(g, w), rl.SmoothFull(k, w)
		}
		out = append(out, seed)
	}
	return out
}

func seedNumber(dir string) int {
	i := strings.LastIndex(dir, "-seed")
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(dir[i+len("-seed"):])
	if err != nil {
		return -1
	}
	return n
}

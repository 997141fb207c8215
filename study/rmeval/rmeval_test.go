package rmeval

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/model/modeltest"
	"github.com/warm-rm/warm/kit/reward"
)

// Score's counts against a hand-computed example: 5 pairs, 3 wins, 1 tie,
// 1 loss.
func TestScoreHandComputed(t *testing.T) {
	rc := []float32{2, 1, 0, 0.5, -1}
	rr := []float32{1, 0, 0, 1.5, -3}
	m := Score(rc, rr)
	if m.N != 5 {
		t.Fatalf("N %d", m.N)
	}
	if m.Acc != 3.5/5 || m.TieRate != 0.2 {
		t.Fatalf("acc %v tie %v, want 0.7 and 0.2", m.Acc, m.TieRate)
	}
	// margins 1, 1, 0, -1, 2 → mean 0.6
	if math.Abs(m.MeanMargin-0.6) > 1e-12 {
		t.Fatalf("margin %v, want 0.6", m.MeanMargin)
	}
	sp := func(x float64) float64 { return math.Log1p(math.Exp(-x)) }
	want := (sp(1) + sp(1) + sp(0) + sp(-1) + sp(2)) / 5
	if math.Abs(m.Loss-want) > 1e-12 {
		t.Fatalf("loss %v, want %v", m.Loss, want)
	}
	if math.Abs(m.MeanReward-(2+1+0+0.5-1+1+0+0+1.5-3)/10.0) > 1e-9 {
		t.Fatalf("mean reward %v", m.MeanReward)
	}
}

func tiny(seed uint64) *model.Model {
	return modeltest.RM(40, 16, 1, seed)
}

func pairs(n int) []reward.Pair {
	ps := make([]reward.Pair, n)
	for i := range ps {
		ps[i] = reward.Pair{Chosen: []int{i % 40, (i * 7) % 40, 3}, Rejected: []int{(i * 3) % 40, 5}}
	}
	return ps
}

// With identical members, every ENS and WA equals the member; members are
// ranked by the chosen split; the soup keeps what does not hurt.
func TestCompareIdenticalMembers(t *testing.T) {
	a := tiny(1)
	ms := []*model.Model{a, a.Clone(), a.Clone()}
	splits := []Split{{Name: Val, Pairs: pairs(30)}, {Name: OOD, Pairs: pairs(17)}}
	res, err := Compare(ms, []string{"a", "b", "c"}, splits, Val, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	base := res.Entries[0].Splits
	for _, e := range res.Entries {
		for s, m := range e.Splits {
			if math.Abs(m.Acc-base[s].Acc) > 1e-12 || math.Abs(m.Loss-base[s].Loss) > 1e-6 {
				t.Fatalf("%s on %s: acc %v loss %v, member %v %v", e.Name, s, m.Acc, m.Loss, base[s].Acc, base[s].Loss)
			}
		}
	}
	if len(res.Entries) != 3+2*2 {
		t.Fatalf("%d entries, want 3 members + ENS/WA for M=2,3", len(res.Entries))
	}
	if res.Summary[Val].MemberStd != 0 {
		t.Fatalf("std of identical members %v", res.Summary[Val].MemberStd)
	}
	soup, err := GreedySoup(ms, []string{"a", "b", "c"}, splits, Val)
	if err != nil {
		t.Fatal(err)
	}
	if len(soup.Ingredient) != 3 {
		t.Fatalf("greedy soup of identical members kept %v", soup.Ingredient)
	}
}

// Interpolation endpoints are the models themselves, for WA and ENS alike.
// interpolate reuses a's and b's rewards at λ = 0 and 1 instead of scoring
// the interpolated models: that rests on (1−0)·a + 0·b being a bit for bit,
// checked here on the rewards themselves.
func TestInterpolateEndpoints(t *testing.T) {
	a, b := tiny(1), tiny(2)
	splits := []Split{{Name: Val, Pairs: pairs(25)}}
	for l, want := range map[float64]*model.Model{0: a, 1: b} {
		m, err := reward.Interpolate(a, b, l)
		if err != nil {
			t.Fatal(err)
		}
		got, err := scoreSplits(m, splits)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := scoreSplits(want, splits)
		if err != nil {
			t.Fatal(err)
		}
		for side, pair := range [][2][]float32{{got[Val].C, ref[Val].C}, {got[Val].R, ref[Val].R}} {
			for i, v := range pair[0] {
				if v != pair[1][i] {
					t.Fatalf("λ=%v: reward %d of side %d is %v, the endpoint's %v", l, i, side, v, pair[1][i])
				}
			}
		}
	}
	c, err := Interpolate(a, b, splits, 5)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := evalSplits(a, splits)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := evalSplits(b, splits)
	if err != nil {
		t.Fatal(err)
	}
	ma, mb := ra[Val], rb[Val]
	p0, p1 := c.Points[0], c.Points[4]
	if p0.WA[Val].Acc != ma.Acc || p0.ENS[Val].Acc != ma.Acc || p1.WA[Val].Acc != mb.Acc || p1.ENS[Val].Acc != mb.Acc {
		t.Fatalf("endpoints %v/%v and %v/%v, models %v and %v", p0.WA[Val].Acc, p0.ENS[Val].Acc, p1.WA[Val].Acc, p1.ENS[Val].Acc, ma.Acc, mb.Acc)
	}
	if c.Points[2].Lambda != 0.5 {
		t.Fatalf("midpoint λ %v", c.Points[2].Lambda)
	}
}

// The soup and the pilot reuse what Compare scored: the results equal
// those scored afresh. Members differ, so the greedy soup keeps a strict
// subset or all; whole() puts the halved split back in its order.
func TestReuseMatchesRescoring(t *testing.T) {
	ms := []*model.Model{tiny(1), tiny(2), tiny(3), tiny(4)}
	names := []string{"a", "b", "c", "d"}
	whole := []Split{{Name: Val, Pairs: pairs(60), Keys: keys(60)}, {Name: OOD, Pairs: pairs(23)}}
	splits, sel, err := HoldOut(whole, Val, 7)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Compare(ms, names, splits, ValSelect, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	res.Selection = sel
	fresh, err := GreedySoup(ms, names, splits, ValSelect)
	if err != nil {
		t.Fatal(err)
	}
	reused, err := greedySoup(ms, names, splits, ValSelect, res.scored, res.scored["WA M=4"])
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(fresh.Ingredient) != fmt.Sprint(reused.Ingredient) || fresh.BestName != reused.BestName {
		t.Fatalf("ingredients %v / %v, best %s / %s", fresh.Ingredient, reused.Ingredient, fresh.BestName, reused.BestName)
	}
	for _, sp := range splits {
		for what, pair := range map[string][2]map[string]Metrics{"greedy": {fresh.Greedy, reused.Greedy}, "uniform": {fresh.Uniform, reused.Uniform}, "best": {fresh.Best, reused.Best}} {
			if d := math.Abs(pair[0][sp.Name].Acc - pair[1][sp.Name].Acc); d > 1e-12 {
				t.Fatalf("%s on %s: %v afresh, %v reused", what, sp.Name, pair[0][sp.Name].Acc, pair[1][sp.Name].Acc)
			}
		}
	}
	for _, n := range names {
		got := res.scoredOn(n, whole)
		if got == nil {
			t.Fatalf("%s: no rewards on the whole splits", n)
		}
		ref, err := scoreSplits(ms[slices.Index(names, n)], whole)
		if err != nil {
			t.Fatal(err)
		}
		for _, sp := range whole {
			if fmt.Sprint(got[sp.Name]) != fmt.Sprint(ref[sp.Name]) {
				t.Fatalf("%s on %s: rebuilt rewards differ from the whole split's", n, sp.Name)
			}
		}
	}
	if res.scoredOn("nobody", whole) != nil {
		t.Fatal("rewards for a model Compare did not score")
	}
}

func keys(n int) []string {
	k := make([]string, n)
	for i := range k {
		k[i] = fmt.Sprint("prompt ", i)
	}
	return k
}

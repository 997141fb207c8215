package rmeval

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/study/rmtrain"
)

// TestWinnersCurse simulates members of equal true accuracy p: the "best
// member" ranked and scored on the same pairs looks better than p (by
// about σ·E[max of K normals] = √(p(1−p)/n)·1.27 ≈ 1.8 points for K = 6,
// n = 1000), while ranked on the selection half and scored on the test
// half (HoldOut's split, rankOrder's ranking) it is unbiased.
func TestWinnersCurse(t *testing.T) {
	const K, n, reps, p = 6, 1000, 400, 0.7
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("prompt %d", i)
	}
	sel, test, err := stats.SplitHalves(keys, DefaultSelectSeed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	acc := func(c []float64, idx []int) float64 {
		var s float64
		for _, i := range idx {
			s += c[i]
		}
		return s / float64(len(idx))
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	var same, held float64
	for range reps {
		correct := make([][]float64, K)
		for k := range correct {
			correct[k] = make([]float64, n)
			for i := range correct[k] {
				if rng.Float64() < p {
					correct[k][i] = 1
				}
			}
		}
		accAll, accSel := make([]float64, K), make([]float64, K)
		for k := range correct {
			accAll[k], accSel[k] = acc(correct[k], all), acc(correct[k], sel)
		}
		same += accAll[rankOrder(accAll)[0]] - p
		held += acc(correct[rankOrder(accSel)[0]], test) - p
	}
	same, held = 100*same/reps, 100*held/reps
	t.Logf("best member's accuracy − true accuracy (points, mean of %d runs): same pairs %+.2f, held-out half %+.2f", reps, same, held)
	// Expected 1.84 with a Monte-Carlo SE of ≈ 0.05; the held-out bias is
	// 0 with an SE of √(0.21/500)/√400 ≈ 0.10 points.
	if same < 1.4 || same > 2.3 {
		t.Errorf("same-pairs bias %+.2f points, want ≈ +1.8", same)
	}
	if math.Abs(held) > 0.35 {
		t.Errorf("held-out bias %+.2f points, want ≈ 0", held)
	}
}

func TestHoldOut(t *testing.T) {
	mk := func(name string, n int) Split {
		s := Split{Name: name}
		for i := range n {
			s.Pairs = append(s.Pairs, reward.Pair{Chosen: []int{i}})
			s.Keys = append(s.Keys, fmt.Sprintf("p%d", i/2))
			s.Rows = append(s.Rows, 10+i)
		}
		return s
	}
	splits := []Split{mk(TrainClean, 4), mk(Val, 40), mk(OOD, 6)}
	out, sel, err := HoldOut(splits, Val, 3)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range out {
		names = append(names, s.Name)
	}
	if fmt.Sprint(names) != "[train_clean val_select val ood]" {
		t.Fatalf("splits %v", names)
	}
	a, b := out[1], out[2]
	if len(a.Pairs)+len(b.Pairs) != 40 || len(a.Pairs) != 20 || sel.RankedOn != ValSelect || sel.Seed != 3 {
		t.Fatalf("halves %d + %d, selection %+v", len(a.Pairs), len(b.Pairs), sel)
	}
	// Each half's rows are its pairs' rows, and the halves are disjoint.
	seen := map[int]bool{}
	for _, h := range []Split{a, b} {
		for k, pr := range h.Pairs {
			if h.Rows[k] != 10+pr.Chosen[0] || seen[h.Rows[k]] {
				t.Fatalf("%s pair %d: row %d for pair %d (seen %v)", h.Name, k, h.Rows[k], pr.Chosen[0], seen[h.Rows[k]])
			}
			seen[h.Rows[k]] = true
		}
	}
	if fmt.Sprint(sel.SelectRows) != fmt.Sprint(a.Rows) || fmt.Sprint(sel.TestRows) != fmt.Sprint(b.Rows) {
		t.Fatal("the selection record does not match the halves")
	}
	if _, _, err := HoldOut(splits, Human, 3); err == nil {
		t.Fatal("a missing split was halved")
	}
	// One prompt for every pair: the pairs themselves are split.
	one := []Split{{Name: Val, Pairs: make([]reward.Pair, 4), Keys: []string{"x", "x", "x", "x"}}}
	if o, sl, err := HoldOut(one, Val, 3); err != nil || len(o[0].Pairs) != 2 || len(o[1].Pairs) != 2 || !strings.Contains(sl.Method, "single prompt") {
		t.Fatalf("one-prompt split: %v %+v", err, sl)
	}
	single := []Split{{Name: Val, Pairs: make([]reward.Pair, 1), Keys: []string{"x"}}}
	if _, _, err := HoldOut(single, Val, 3); err == nil {
		t.Fatal("a one-pair split was halved")
	}
}

// warm train ranks its members on exactly the pairs HoldOut calls
// val_select, so that the member order the merge, BoN and RL stages read
// from its summary is eval's ranking and no decided pair played a part in
// it. Prompts repeat (4 pairs each) and one row has no prompt.
func TestTrainRanksOnValSelect(t *testing.T) {
	var rows []prefdata.Row
	for i := range 203 {
		rows = append(rows, prefdata.Row{Prompt: fmt.Sprintf("prompt %d", i/4), Chosen: fmt.Sprintf(" good %d", i), Rejected: fmt.Sprintf(" bad %d", i)})
	}
	rows = append(rows, prefdata.Row{Chosen: "yes", Rejected: "no"})
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = prefdata.UnitKey(r)
	}
	splits := []Split{{Name: Val, Pairs: make([]reward.Pair, len(rows)), Keys: keys}}
	_, sel, err := HoldOut(splits, Val, DefaultSelectSeed)
	if err != nil {
		t.Fatal(err)
	}
	kept := rmtrain.SelectionHalf(rows)
	if len(kept) != len(sel.SelectRows) || len(kept) == 0 || len(kept) == len(rows) {
		t.Fatalf("warm train keeps %d rows, eval's val_select has %d of %d", len(kept), len(sel.SelectRows), len(rows))
	}
	for k, r := range sel.SelectRows {
		if kept[k].Chosen != rows[r].Chosen {
			t.Fatalf("row %d of val_select is %+v, warm train ranks on %+v", k, rows[r], kept[k])
		}
	}
}

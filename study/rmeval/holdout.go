package rmeval

import (
	"fmt"

	"github.com/warm-rm/warm/kit/stats"
)

// SelectSuffix names the selection half of a split that members are
// ranked on: ranking by "val" ranks on "val_select" and scores "val" on
// the other half.
const SelectSuffix = "_select"

// ValSelect is the selection half of the validation split.
const ValSelect = Val + SelectSuffix

// DefaultSelectSeed is the seed of the selection/test split
// (stats.SplitHalves) when Options.SelectSeed is 0.
// warm train ranks its members on the same half (stats.DefaultHoldoutSeed).
const DefaultSelectSeed = stats.DefaultHoldoutSeed

// Selection records how the split the members were ranked on was halved
// (eval.json's "selection"): the members are ranked, the best member
// picked and the WA-M / ENS-M subsets chosen on RankedOn; the split's
// name then holds only the test half, on which every claim about it is
// decided. Ranking and scoring on the same pairs would bias the best
// member (and the chosen subsets) upwards: the winner's curse.
type Selection struct {
	Split    string `json:"split"`     // the split that was halved, e.g. "val"
	RankedOn string `json:"ranked_on"` // its selection half, e.g. "val_select"
	Seed     uint64 `json:"seed"`
	Method   string `json:"method"`
	// SelectRows and TestRows are the 0-based row numbers, in the split's
	// file, of the pairs in each half.
	SelectRows []int `json:"select_rows"`
	TestRows   []int `json:"test_rows"`

	// selPos and testPos are the halves' positions in the whole split,
	// to put rewards scored on the halves back together (whole).
	selPos, testPos []int
}

// whole returns rewards on the split that was halved, rebuilt from its two
// halves in r (false when r lacks one of them or they do not fit).
func (s *Selection) whole(r rewards) (splitRewards, bool) {
	a, okA := r[s.RankedOn]
	b, okB := r[s.Split]
	if !okA || !okB || len(a.C) != len(s.selPos) || len(b.C) != len(s.testPos) {
		return splitRewards{}, false
	}
	n := len(s.selPos) + len(s.testPos)
	out := splitRewards{C: make([]float32, n), R: make([]float32, n)}
	for k, p := range s.selPos {
		out.C[p], out.R[p] = a.C[k], a.R[k]
	}
	for k, p := range s.testPos {
		out.C[p], out.R[p] = b.C[k], b.R[k]
	}
	if a.Groups != nil && b.Groups != nil {
		out.Groups = make([]string, n)
		for k, p := range s.selPos {
			out.Groups[p] = a.Groups[k]
		}
		for k, p := range s.testPos {
			out.Groups[p] = b.Groups[k]
		}
	}
	return out, true
}

// HoldOut replaces the split named name by two: name+SelectSuffix (the
// selection half) right before name (the test half), halved by
// stats.SplitHalves on the pairs' keys with seed (on the row numbers when
// every pair has the same key). It fails when the split is missing or has
// fewer than two pairs.
func HoldOut(splits []Split, name string, seed uint64) ([]Split, *Selection, error) {
	for i, s := range splits {
		if s.Name != name {
			continue
		}
		if len(s.Keys) != len(s.Pairs) {
			return nil, nil, fmt.Errorf("split %s: %d keys for %d pairs", name, len(s.Keys), len(s.Pairs))
		}
		rows := s.Rows
		if rows == nil {
			rows = make([]int, len(s.Pairs))
			for k := range rows {
				rows[k] = k
			}
		}
		// Every pair of one prompt (a dataset with a fixed system prompt):
		// HoldoutHalves splits the pairs themselves, by row number.
		sel, test, method, err := stats.HoldoutHalves(s.Keys, rows, seed)
		if err != nil {
			return nil, nil, fmt.Errorf("ranking members on %s: %v", name, err)
		}
		half := func(suffix string, idx []int) Split {
			h := Split{Name: name + suffix, Pairs: stats.Pick(s.Pairs, idx), Keys: stats.Pick(s.Keys, idx), Rows: stats.Pick(rows, idx)}
			if s.Groups != nil {
				h.Groups = stats.Pick(s.Groups, idx)
			}
			if s.Clusters != nil {
				h.Clusters = stats.Pick(s.Clusters, idx)
			}
			return h
		}
		a, b := half(SelectSuffix, sel), half("", test)
		out := append(append(append([]Split(nil), splits[:i]...), a, b), splits[i+1:]...)
		return out, &Selection{Split: name, RankedOn: a.Name, Seed: seed,
			Method:     "stats.SplitHalves: " + method + ", the first half of the pairs to selection",
			SelectRows: a.Rows, TestRows: b.Rows, selPos: sel, testPos: test}, nil
	}
	return nil, nil, fmt.Errorf("cannot rank by split %q: not evaluated", name)
}

// rankOrder is the member indices ordered by accuracy, best first (ties
// keep the given order): how Compare and the greedy soup rank.
func rankOrder(acc []float64) []int {
	order := make([]int, len(acc))
	for i := range order {
		order[i] = i
	}
	sortByDesc(order, acc)
	return order
}

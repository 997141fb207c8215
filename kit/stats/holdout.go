package stats

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
)

// SplitHalves divides n units, identified by keys (one per unit), into a
// selection half and a test half, so that whatever is chosen on the
// selection half (the best member, the members WA-M averages) can be
// judged on pairs that played no part in choosing it: ranking and scoring
// on the same pairs biases the winner upwards (the winner's curse).
//
// Units with the same key (pairs of one prompt) always land in the same
// half, because they are not independent. Keys are ordered by
// sha256(seed as 8 little-endian bytes ‖ key), ties by the key itself;
// whole key groups are taken into the selection half in that order while
// it holds fewer than half of the units, and the last group always goes
// to the test half. The split therefore depends only on the keys and the
// seed (not on the file's order), and is close to an even split when
// groups are small. Both index lists are sorted ascending.
//
// It fails when there are fewer than two distinct keys (no split leaves
// both halves non-empty).
func SplitHalves(keys []string, seed uint64) (sel, test []int, err error) {
	groups := map[string][]int{}
	var order []string
	for i, k := range keys {
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	if len(order) < 2 {
		return nil, nil, fmt.Errorf("%d units with %d distinct keys: cannot split into a selection and a test half", len(keys), len(order))
	}
	hash := make(map[string]uint64, len(order))
	var s [8]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	for _, k := range order {
		h := sha256.New()
		h.Write(s[:])
		h.Write([]byte(k))
		hash[k] = binary.BigEndian.Uint64(h.Sum(nil)[:8])
	}
	sort.Slice(order, func(i, j int) bool {
		if hash[order[i]] != hash[order[j]] {
			return hash[order[i]] < hash[order[j]]
		}
		return order[i] < order[j]
	})
	n := len(keys)
	for gi, k := range order {
		if gi < len(order)-1 && 2*len(sel) < n {
			sel = append(sel, groups[k]...)
		} else {
			test = append(test, groups[k]...)
		}
	}
	sort.Ints(sel)
	sort.Ints(test)
	return sel, test, nil
}

// DefaultHoldoutSeed is the seed the study halves its validation split
// with (HoldoutHalves): warm train ranks its members on the selection half
// and warm eval decides on the other, so both must use the same seed.
const DefaultHoldoutSeed = 20240117

// HoldoutHalves is SplitHalves on the units' keys, or, when every unit has
// the same key (a dataset with one fixed prompt), on the units' row
// numbers rows[i] (nil: 0, 1, …). method says which, in words.
func HoldoutHalves(keys []string, rows []int, seed uint64) (sel, test []int, method string, err error) {
	seen := map[string]bool{}
	for _, k := range keys {
		seen[k] = true
	}
	method = "prompts ordered by sha256(seed ‖ prompt)"
	if len(seen) < 2 {
		method = "rows ordered by sha256(seed ‖ row number): the split has a single prompt"
		keys = make([]string, len(keys))
		for i := range keys {
			r := i
			if rows != nil {
				r = rows[i]
			}
			keys[i] = fmt.Sprint(r)
		}
	}
	sel, test, err = SplitHalves(keys, seed)
	return sel, test, method, err
}

// Pick returns x[idx[0]], x[idx[1]], …: one half of a split's per-unit
// values.
func Pick[T any](x []T, idx []int) []T {
	out := make([]T, len(idx))
	for k, i := range idx {
		out[k] = x[i]
	}
	return out
}

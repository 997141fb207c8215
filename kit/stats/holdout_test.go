package stats

import (
	"fmt"
	"slices"
	"testing"
)

func TestSplitHalves(t *testing.T) {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("prompt %d", i/2) // two pairs per prompt
	}
	sel, test, err := SplitHalves(keys, 7)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("partition", func(t *testing.T) {
		all := append(slices.Clone(sel), test...)
		slices.Sort(all)
		for i, v := range all {
			if v != i {
				t.Fatalf("halves are not a partition of 0..999: position %d holds %d", i, v)
			}
		}
		if len(sel) != 500 || len(test) != 500 {
			t.Fatalf("sizes %d/%d, want 500/500 (groups of 2, even count)", len(sel), len(test))
		}
	})
	t.Run("groups stay together", func(t *testing.T) {
		in := map[int]bool{}
		for _, i := range sel {
			in[i] = true
		}
		for i := 0; i < len(keys); i += 2 {
			if in[i] != in[i+1] {
				t.Fatalf("pairs %d and %d share a prompt but were split", i, i+1)
			}
		}
	})
	t.Run("order-free and seeded", func(t *testing.T) {
		rev := slices.Clone(keys)
		slices.Reverse(rev)
		s2, _, _ := SplitHalves(rev, 7)
		var back []int
		for _, i := range s2 {
			back = append(back, len(keys)-1-i)
		}
		slices.Sort(back)
		if !slices.Equal(back, sel) {
			t.Fatal("the split depends on the order of the units")
		}
		s3, _, _ := SplitHalves(keys, 8)
		if slices.Equal(s3, sel) {
			t.Fatal("another seed gave the same split")
		}
		// Not a split by position: both halves reach both ends.
		if sel[0] > 20 || test[0] > 20 || sel[len(sel)-1] < 979 || test[len(test)-1] < 979 {
			t.Fatalf("halves look positional: sel %d…%d, test %d…%d", sel[0], sel[len(sel)-1], test[0], test[len(test)-1])
		}
	})
	for _, c := range []struct {
		name string
		keys []string
		bad  bool
	}{
		{"one key", []string{"a", "a", "a"}, true},
		{"empty", nil, true},
		{"two keys", []string{"a", "b"}, false},
		{"big last group", []string{"a", "b", "b", "b", "b"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, te, err := SplitHalves(c.keys, 1)
			if (err != nil) != c.bad {
				t.Fatalf("error %v, want error %v", err, c.bad)
			}
			if !c.bad && (len(s) == 0 || len(te) == 0) {
				t.Fatalf("empty half: %v / %v", s, te)
			}
		})
	}
}

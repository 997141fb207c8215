package bowref

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/stats"
)

// One informative word: a pairs have "x" only in the chosen text, b pairs
// only in the rejected one. The penalised optimum solves
// −a·σ(−w) + b·σ(w) + nλw = 0, found here independently by bisection;
// with λ → 0 it is log(a/b). The shared word "y" never differs, so its
// weight stays 0.
func TestKnownOptimum(t *testing.T) {
	const a, b = 30, 10
	var pairs []Pair
	for range a {
		pairs = append(pairs, Pair{Chosen: "x y", Rejected: "y"})
	}
	for range b {
		pairs = append(pairs, Pair{Chosen: "y", Rejected: "X, y"})
	}
	for _, lam := range []float64{1e-9, 0.1} {
		t.Run(fmt.Sprint(lam), func(t *testing.T) {
			m, err := Fit(pairs, Options{L2: lam})
			if err != nil {
				t.Fatal(err)
			}
			n := float64(a + b)
			g := func(w float64) float64 { return -a*stats.Sigmoid(-w) + b*stats.Sigmoid(w) + n*lam*w }
			lo, hi := -10.0, 10.0
			for range 200 {
				if mid := (lo + hi) / 2; g(mid) > 0 {
					hi = mid
				} else {
					lo = mid
				}
			}
			want := (lo + hi) / 2
			if lam == 1e-9 && math.Abs(want-math.Log(3)) > 1e-6 {
				t.Fatalf("reference %v, want log 3", want)
			}
			if got := m.Weight[m.Vocab["x"]]; math.Abs(got-want) > 1e-4 {
				t.Errorf("θ_x = %.6f, want %.6f (tolerance 1e-4)", got, want)
			}
			if got := m.Weight[m.Vocab["y"]]; math.Abs(got) > 1e-9 {
				t.Errorf("θ_y = %v, want 0", got)
			}
			if acc := m.Accuracy(pairs); math.Abs(acc-0.75) > 1e-12 {
				t.Errorf("accuracy %v, want 30/40", acc)
			}
		})
	}
}

// synth draws pairs of 8-word texts over a 300-word vocabulary whose first
// 30 words are positive (+1) and next 30 negative (−1); the label follows
// Bradley-Terry on the true score difference (temperature 1), and a
// fraction swap of labels is then swapped.
func synth(rng *rand.Rand, n int, swap float64) (pairs []Pair, trueDiff []float64) {
	text := func() (string, float64) {
		var ws []string
		var s float64
		for range 8 {
			k := rng.IntN(300)
			ws = append(ws, fmt.Sprintf("w%d", k))
			switch {
			case k < 30:
				s++
			case k < 60:
				s--
			}
		}
		return strings.Join(ws, " "), s
	}
	for range n {
		a, sa := text()
		b, sb := text()
		if rng.Float64() >= stats.Sigmoid(sa-sb) {
			a, b, sa, sb = b, a, sb, sa
		}
		if rng.Float64() < swap {
			a, b, sa, sb = b, a, sb, sa
		}
		pairs = append(pairs, Pair{Chosen: a, Rejected: b})
		trueDiff = append(trueDiff, sa-sb)
	}
	return pairs, trueDiff
}

// On synthetic data with a known scorer, the fit gets within 3 points of
// the true scorer's accuracy on fresh pairs (the Bayes ceiling), with
// clean labels (8k pairs) and with 25% swapped training labels (swapping
// halves the signal, so it takes 4× the pairs: 32k), learns the right
// sign for the sentiment words, and is deterministic.
func TestSyntheticCeiling(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	test, diff := synth(rng, 4000, 0)
	var bayes float64
	for _, d := range diff {
		switch {
		case d > 0:
			bayes++
		case d == 0:
			bayes += 0.5
		}
	}
	bayes /= float64(len(diff))
	for _, c := range []struct {
		swap float64
		n    int
	}{{0, 8000}, {0.25, 32000}} {
		swap := c.swap
		t.Run(fmt.Sprintf("swap %.2f", swap), func(t *testing.T) {
			train, _ := synth(rng, c.n, swap)
			m, err := Ceiling(train, nil)
			if err != nil {
				t.Fatal(err)
			}
			acc := m.Accuracy(test)
			t.Logf("accuracy %.3f, Bayes %.3f, λ %g, %d iterations", acc, bayes, m.L2, m.Iter)
			if acc < bayes-0.03 || acc > bayes+0.02 {
				t.Errorf("accuracy %.3f, want within 3 points of the true scorer's %.3f", acc, bayes)
			}
			right := 0
			for k := range 60 {
				w := m.Weight[m.Vocab[fmt.Sprintf("w%d", k)]]
				if (k < 30) == (w > 0) {
					right++
				}
			}
			if right < 57 {
				t.Errorf("%d of 60 sentiment words have the right sign", right)
			}
			again, _ := Ceiling(train, nil)
			if !slices.Equal(again.Weight, m.Weight) {
				t.Error("two fits of the same pairs differ")
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	if _, err := Fit(nil, Options{}); err == nil {
		t.Error("no pairs: no error")
	}
	if _, err := Fit([]Pair{{"a", "b"}}, Options{L2: -1}); err == nil || !strings.Contains(err.Error(), "L2") {
		t.Errorf("negative L2: %v", err)
	}
	if _, err := Ceiling([]Pair{{"a", "b"}}, nil); err == nil {
		t.Error("Ceiling with one pair: no error")
	}
	// Words never seen MinCount times: no vocabulary, every pair a tie.
	m, err := Fit([]Pair{{"a", "b"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if acc := m.Accuracy([]Pair{{"a", "b"}}); acc != 0.5 {
		t.Errorf("empty vocabulary: accuracy %v, want 0.5", acc)
	}
}

func TestWords(t *testing.T) {
	if got := strings.Join(Words("It's GOOD, really-good!  42x"), "|"); got != "it's|good|really|good|42x" {
		t.Errorf("Words = %q", got)
	}
}

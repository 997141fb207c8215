// Package bowref is the study's reference reward model: a bag-of-words
// Bradley-Terry logistic regression trained on the same preference pairs
// as the reward models. Its accuracy is the label-noise ceiling the
// report prints next to the members: what a simple, fully trained
// linear model on word counts reaches from these labels. Members far
// below it are under-trained; members above it have learned more than
// word counts.
//
// Model: reward(text) = Σ_w θ_w · count_w(text). A pair (chosen c,
// rejected r) is right when reward(c) > reward(r), and the training
// loss is the Bradley-Terry loss with an L2 penalty,
//
//	L(θ) = (1/n) Σ_i log(1 + exp(−θ·Δ_i)) + (λ/2)‖θ‖²,  Δ_i = count(c_i) − count(r_i),
//
// minimised by L-BFGS (gonum/optimize; convex, deterministic: no random
// initialisation, no data order). There is no bias term: a reward offset
// cancels in every pair. The prompt, shared by both responses of a pair,
// cancels too, so pairs may carry it or not.
package bowref

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"

	"gonum.org/v1/gonum/optimize"

	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/stats"
)

// Pair is one preference: the chosen and the rejected text.
type Pair struct {
	Chosen, Rejected string
}

// PairsFromRows returns the responses of preference rows as pairs (the
// prompt cancels in Δ, so it is left out).
func PairsFromRows(rows []prefdata.Row) []Pair {
	out := make([]Pair, len(rows))
	for i, r := range rows {
		out[i] = Pair{Chosen: r.Chosen, Rejected: r.Rejected}
	}
	return out
}

// Options of Fit. Zero values take the defaults.
type Options struct {
	// L2 is λ, the penalty per pair (default 1e-3).
	L2 float64
	// MinCount drops words seen fewer times in the training texts
	// (default 2): a word seen once can only memorise its pair's label.
	MinCount int
	// MaxIter bounds L-BFGS iterations (default 500).
	MaxIter int
}

// Model is a fitted bag-of-words reward.
type Model struct {
	Vocab  map[string]int
	Weight []float64
	L2     float64
	Iter   int // L-BFGS iterations used
}

// Words splits text into lower-case words: maximal runs of letters,
// digits and apostrophes.
func Words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}

// sparse is a feature vector: sorted indices and their values.
type sparse struct {
	idx []int
	val []float64
}

func (m *Model) delta(p Pair) sparse {
	d := map[int]float64{}
	for _, w := range Words(p.Chosen) {
		if i, ok := m.Vocab[w]; ok {
			d[i]++
		}
	}
	for _, w := range Words(p.Rejected) {
		if i, ok := m.Vocab[w]; ok {
			d[i]--
		}
	}
	var s sparse
	for i, v := range d {
		if v != 0 {
			s.idx = append(s.idx, i)
		}
	}
	sort.Ints(s.idx)
	for _, i := range s.idx {
		s.val = append(s.val, d[i])
	}
	return s
}

func (s sparse) dot(w []float64) float64 {
	var z float64
	for k, i := range s.idx {
		z += w[i] * s.val[k]
	}
	return z
}

// Fit trains the model on pairs. It is an error to pass no pairs.
func Fit(pairs []Pair, o Options) (*Model, error) {
	if len(pairs) == 0 {
		return nil, errors.New("bowref: no training pairs")
	}
	if o.L2 == 0 {
		o.L2 = 1e-3
	}
	if o.MinCount == 0 {
		o.MinCount = 2
	}
	if o.MaxIter == 0 {
		o.MaxIter = 500
	}
	if o.L2 < 0 || o.MinCount < 0 || o.MaxIter < 0 {
		return nil, fmt.Errorf("bowref: options L2 %v, MinCount %d, MaxIter %d must not be negative", o.L2, o.MinCount, o.MaxIter)
	}
	counts := map[string]int{}
	for _, p := range pairs {
		for _, w := range Words(p.Chosen) {
			counts[w]++
		}
		for _, w := range Words(p.Rejected) {
			counts[w]++
		}
	}
	// Index words in sorted order so the model does not depend on map order.
	var words []string
	for w, c := range counts {
		if c >= o.MinCount {
			words = append(words, w)
		}
	}
	sort.Strings(words)
	m := &Model{Vocab: make(map[string]int, len(words)), L2: o.L2}
	for i, w := range words {
		m.Vocab[w] = i
	}
	xs := make([]sparse, len(pairs))
	for i, p := range pairs {
		xs[i] = m.delta(p)
	}
	n := float64(len(pairs))
	lam := o.L2
	// gonum asks for the value and the gradient at the same point in two
	// calls; the margins θ·Δ_i, the costly part, are kept for the last
	// point so the second call reuses them.
	var lastW, z []float64
	margins := func(w []float64) []float64 {
		if lastW != nil && slices.Equal(w, lastW) {
			return z
		}
		lastW = append(lastW[:0], w...)
		z = z[:0]
		for _, x := range xs {
			z = append(z, x.dot(w))
		}
		return z
	}
	prob := optimize.Problem{
		Func: func(w []float64) float64 {
			var f float64
			for _, zi := range margins(w) {
				f -= stats.LogSigmoid(zi)
			}
			var r float64
			for _, v := range w {
				r += v * v
			}
			return f/n + lam/2*r
		},
		Grad: func(g, w []float64) {
			z := margins(w)
			for i := range g {
				g[i] = lam * w[i]
			}
			for k, x := range xs {
				// d/dz −log σ(z) = −σ(−z)
				c := -stats.Sigmoid(-z[k]) / n
				for j, i := range x.idx {
					g[i] += c * x.val[j]
				}
			}
		},
	}
	w0 := make([]float64, len(words))
	if len(words) == 0 {
		m.Weight = w0
		return m, nil
	}
	res, err := optimize.Minimize(prob, w0, &optimize.Settings{
		GradientThreshold: 1e-5,
		MajorIterations:   o.MaxIter,
	}, &optimize.LBFGS{})
	if err != nil && res == nil {
		return nil, fmt.Errorf("bowref: L-BFGS: %v", err)
	}
	// Hitting the iteration limit still leaves a usable (near-optimal)
	// model; the report only needs accuracy to a fraction of a point.
	m.Weight = res.X
	m.Iter = res.Stats.MajorIterations
	return m, nil
}

// Score is the model's reward of a text.
func (m *Model) Score(text string) float64 {
	var s float64
	for _, w := range Words(text) {
		if i, ok := m.Vocab[w]; ok {
			s += m.Weight[i]
		}
	}
	return s
}

// Correct returns per-pair correctness: 1 when the chosen text scores
// higher, 0 lower, ½ on a tie (e.g. no known word differs), the same
// convention as stats.PairAccuracy.
func (m *Model) Correct(pairs []Pair) []float64 {
	out := make([]float64, len(pairs))
	for i, p := range pairs {
		d := m.delta(p).dot(m.Weight)
		switch {
		case d > 0:
			out[i] = 1
		case d == 0:
			out[i] = 0.5
		}
	}
	return out
}

// Accuracy is the mean of Correct; NaN for no pairs.
func (m *Model) Accuracy(pairs []Pair) float64 {
	if len(pairs) == 0 {
		return math.NaN()
	}
	acc, _ := stats.MeanStd(m.Correct(pairs))
	return acc
}

// Ceiling fits on train with each L2 in grid (nil: 1e-4, 1e-3, 1e-2),
// choosing λ on the last fifth of train held out, refits on all of
// train with the chosen λ and returns the fitted model. Choosing λ on
// held-out training pairs keeps the validation split untouched, so the
// ceiling's val accuracy is as honest as the members'.
func Ceiling(train []Pair, grid []float64) (*Model, error) {
	if len(grid) == 0 {
		grid = []float64{1e-4, 1e-3, 1e-2}
	}
	if len(train) < 10 {
		return nil, fmt.Errorf("bowref: %d training pairs, need at least 10 to choose the penalty", len(train))
	}
	cut := len(train) * 4 / 5
	fit, hold := train[:cut], train[cut:]
	best, bestAcc := grid[0], -1.0
	for _, l2 := range grid {
		m, err := Fit(fit, Options{L2: l2})
		if err != nil {
			return nil, err
		}
		if a := m.Accuracy(hold); a > bestAcc {
			best, bestAcc = l2, a
		}
	}
	return Fit(train, Options{L2: best})
}

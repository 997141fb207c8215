package pretrain

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/warm-rm/warm/internal/mix"
)

// stepRNG is the random source of one training step. Deriving it from
// (seed, step) instead of carrying one generator through the run makes a
// resumed run draw exactly the windows the uninterrupted run would have
// drawn: the step number is the whole RNG state.
func stepRNG(seed uint64, step int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, mix.Golden^uint64(step)))
}

// TrainWindows draws batch windows of length n uniformly from toks (starts
// in [0, len(toks)-n]). Documents are joined with <|endoftext|>, so a
// window may span a document boundary, as in GPT-2's pretraining.
func TrainWindows(toks []int32, n, batch int, rng *rand.Rand) ([][]int, error) {
	if len(toks) < n {
		return nil, fmt.Errorf("%w: %d tokens, a window needs %d", errNoTokens, len(toks), n)
	}
	out := make([][]int, batch)
	for b := range out {
		s := rng.IntN(len(toks) - n + 1)
		out[b] = widen(toks[s : s+n])
	}
	return out, nil
}

// ValWindows cuts up to count fixed windows of length n from toks, evenly
// spaced and non-overlapping when the split is long enough, so that every
// evaluation of a run (and of a resumed run) sees the same tokens.
func ValWindows(toks []int32, n, count int) ([][]int, error) {
	if len(toks) < n {
		return nil, fmt.Errorf("%w: %d held-out tokens, a window needs %d", errNoTokens, len(toks), n)
	}
	fit := (len(toks)-n)/n + 1 // non-overlapping windows that fit
	if count > fit {
		count = fit
	}
	stride := 0
	if count > 1 {
		stride = (len(toks) - n) / (count - 1)
	}
	out := make([][]int, count)
	for i := range out {
		out[i] = widen(toks[i*stride : i*stride+n])
	}
	return out, nil
}

func widen(t []int32) []int {
	w := make([]int, len(t))
	for i, v := range t {
		w[i] = int(v)
	}
	return w
}

// UnigramBaseline is the cross-entropy (nats per token) on the targets of
// windows (every token but the first of each window, the positions a
// language model is scored on) of a unigram model estimated from train with
// add-one smoothing over the vocabulary. A language model that does not
// beat it has learned nothing beyond token frequencies.
func UnigramBaseline(train []int32, windows [][]int, vocab int) float64 {
	counts := make([]float64, vocab)
	for _, t := range train {
		counts[t]++
	}
	total := float64(len(train)) + float64(vocab)
	var nll float64
	var n int
	for _, w := range windows {
		for _, t := range w[1:] {
			nll -= math.Log((counts[t] + 1) / total)
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return nll / float64(n)
}

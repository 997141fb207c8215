// Package gold holds the study's gold judges: the third-party scorers that
// stand in for human preference. The default, VADER, scores a response by
// the compound sentiment of its text (task: write a positive continuation).
package gold

import (
	"runtime"
	"sync"
)

// Judge scores a response to a prompt; higher is better. Implementations
// must be safe for concurrent use.
type Judge interface {
	Score(prompt, response string) float64
}

// Func adapts a plain function to a Judge.
type Func func(prompt, response string) float64

// Score calls f.
func (f Func) Score(prompt, response string) float64 { return f(prompt, response) }

// Batch scores prompts[i], responses[i] for every i on all CPUs (in one
// call for a Batcher) and returns the scores in order. It panics if the slices differ in length.
func Batch(j Judge, prompts, responses []string) []float64 {
	if len(prompts) != len(responses) {
		panic("gold.Batch: prompts and responses differ in length")
	}
	if b, ok := j.(Batcher); ok {
		if out, err := b.ScoreBatch(prompts, responses); err == nil {
			return out
		}
		// A batch that fails as a whole (one unscorable text) is scored
		// one by one below, so only the bad texts get the judge's NaN.
	}
	out := make([]float64, len(prompts))
	workers := runtime.GOMAXPROCS(0)
	if workers > len(out) {
		workers = len(out)
	}
	if workers <= 1 {
		for i := range out {
			out[i] = j.Score(prompts[i], responses[i])
		}
		return out
	}
	// Chunks of 64 keep scheduling cheap while balancing uneven lengths.
	const chunk = 64
	var next int64
	var mu sync.Mutex
	take := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		lo := int(next)
		if lo >= len(out) {
			return 0, 0
		}
		hi := min(lo+chunk, len(out))
		next = int64(hi)
		return lo, hi
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo, hi := take()
				if lo == hi {
					return
				}
				for i := lo; i < hi; i++ {
					out[i] = j.Score(prompts[i], responses[i])
				}
			}
		}()
	}
	wg.Wait()
	return out
}

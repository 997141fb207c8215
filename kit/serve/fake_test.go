package serve

import (
	"sync/atomic"
	"time"
)

// byteTok is a stand-in tokenizer: one token per byte.
type byteTok struct{}

func (byteTok) Encode(text string) []int {
	ids := make([]int, len(text))
	for i := 0; i < len(text); i++ {
		ids[i] = int(text[i])
	}
	return ids
}

// hashScorer gives every distinct sequence its own reward, so a reward
// delivered to the wrong item or computed on a padded/truncated sequence
// shows up as a mismatch. offset tells backends apart (reload tests and
// ensemble members).
type hashScorer struct {
	offset float32
	delay  time.Duration // per call, to let batches form under load
	calls  atomic.Int64
	maxLen atomic.Int64  // largest batch seen
	block  chan struct{} // if non-nil, each call waits for a receive
	panics bool
	nan    bool
}

func (h *hashScorer) Rewards(seqs [][]int) ([]float32, error) { return h.rewards(seqs), nil }

func (h *hashScorer) rewards(seqs [][]int) []float32 {
	h.calls.Add(1)
	for {
		m := h.maxLen.Load()
		if int64(len(seqs)) <= m || h.maxLen.CompareAndSwap(m, int64(len(seqs))) {
			break
		}
	}
	if h.block != nil {
		<-h.block
	}
	if h.delay > 0 {
		time.Sleep(h.delay)
	}
	if h.panics {
		panic("boom")
	}
	out := make([]float32, len(seqs))
	for i, s := range seqs {
		out[i] = refReward(s) + h.offset
		if h.nan {
			out[i] = float32(nan())
		}
	}
	return out
}

func nan() float64 { var z float64; return z / z }

// refReward is an FNV-1a hash of the ids mapped to [-4, 4).
func refReward(s []int) float32 {
	var x uint32 = 2166136261
	for _, id := range s {
		x ^= uint32(id)
		x *= 16777619
	}
	return float32(x%8000)/1000 - 4
}

func testBackend(sc Scorer, members ...Scorer) *Backend {
	return &Backend{Tok: byteTok{}, Main: sc, Members: members, MaxTokens: 64, Name: "fake"}
}

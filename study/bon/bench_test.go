package bon

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkCurves is the table of the quick preset for one reward: 128
// prompts × 64 samples, N = 1 … 64 (the unbiased estimator at every N).
func BenchmarkCurves(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	scores := map[string][][]float64{"rm": randomScores(rng, 128, 64, 0), "gold": randomScores(rng, 128, 64, 3)}
	ns := Ns(64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Curves(scores, []string{"rm"}, "gold", ns); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWinRate is the duel table at the same size (the expected win
// rate at every N).
func BenchmarkWinRate(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	scores := map[string][][]float64{"a": randomScores(rng, 128, 64, 0), "b": randomScores(rng, 128, 64, 0), "gold": randomScores(rng, 128, 64, 3)}
	ns := Ns(64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := WinRate(scores, "a", "b", "gold", ns); err != nil {
			b.Fatal(err)
		}
	}
}

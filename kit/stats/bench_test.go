package stats

import (
	"math/rand/v2"
	"testing"
)

// What warm bon does per prompt: M = 64 samples, n = 1, 2, 4, …, 64.
func BenchmarkBoNCurveM64(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	p, g := make([]float64, 64), make([]float64, 64)
	for i := range p {
		p[i], g[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	for b.Loop() {
		for n := 1; n <= 64; n *= 2 {
			BoNExpected(p, g, n)
		}
	}
}

package gemm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// benchShapes are 1024³ (the peer comparison) and the products the engine
// runs for the reference reward model (d=128, MLP 512, seq 128, 32
// sequences per step, vocab 8192). Names: m×n×k and the transposes.
var benchShapes = []struct {
	name           string
	transA, transB bool
	m, n, k        int
}{
	{"1024x1024x1024", false, false, 1024, 1024, 1024},
	{"qkv_4096x384x128", false, false, 4096, 384, 128},
	{"mlpup_4096x512x128", false, false, 4096, 512, 128},
	{"mlpdown_4096x128x512", false, false, 4096, 128, 512},
	{"dx_4096x128x384_NT", false, true, 4096, 128, 384},
	{"dw_128x384x4096_TN", true, false, 128, 384, 4096},
	{"lmhead_4096x8192x128_NT", false, true, 4096, 8192, 128},
	{"lmhead_4096x8192x128", false, false, 4096, 8192, 128},
}

// BenchmarkSgemm runs every shape on the kernel Sgemm picks ("simd" when it
// is an assembly kernel) and on the portable one, with GOMAXPROCS workers.
// Run: go test -run '^$' -bench Sgemm ./gemm  (-cpu 2 to pin the threads).
func BenchmarkSgemm(b *testing.B) {
	for _, s := range benchShapes {
		for _, kn := range []*kernel{active, portable} {
			label := "simd"
			if kn == portable {
				label = "portable"
				if active == portable {
					continue
				}
			}
			b.Run(fmt.Sprintf("%s/%s", s.name, label), func(b *testing.B) {
				benchOne(b, kn, runtime.GOMAXPROCS(0), s.transA, s.transB, s.m, s.n, s.k)
			})
		}
	}
}

// threadCPU, where the platform has one, reads the calling thread's CPU
// time; benchOne reports it for the timed loop when asked.
var threadCPU func() time.Duration

func benchOne(b *testing.B, kn *kernel, procs int, transA, transB bool, m, n, k int, cpu ...*time.Duration) {
	r := rand.New(rand.NewPCG(1, 1))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		return x
	}
	a, bb, c := fill(m*k), fill(k*n), fill(m*n)
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	var t0 time.Duration
	if len(cpu) > 0 {
		t0 = threadCPU()
	}
	b.ResetTimer()
	for b.Loop() {
		if kn == nil {
			sgemmRef(transA, transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
			continue
		}
		sgemm(kn, procs, transA, transB, m, n, k, 1, a, lda, bb, ldb, 0, c, n)
	}
	if len(cpu) > 0 {
		*cpu[0] = threadCPU() - t0
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSgemmSmall covers the per-head attention products (seq 128, head
// dim 32) and tiny sizes, where packing and dispatch overhead show; "ref"
// is the unblocked reference loop for scale.
func BenchmarkSgemmSmall(b *testing.B) {
	defer func(v int) { smallMNK = v }(smallMNK)
	smallMNK = 512 // TestMain turns the direct path off for the tests
	for _, s := range []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"scores_128x128x32_NT", false, true, 128, 128, 32},
		{"context_128x32x128", false, false, 128, 32, 128},
		{"16x16x16", false, false, 16, 16, 16},
		{"4x4x4", false, false, 4, 4, 4},
	} {
		b.Run(s.name+"/simd", func(b *testing.B) { benchOne(b, active, 1, s.transA, s.transB, s.m, s.n, s.k) })
		b.Run(s.name+"/ref", func(b *testing.B) { benchOne(b, nil, 1, s.transA, s.transB, s.m, s.n, s.k) })
	}
}

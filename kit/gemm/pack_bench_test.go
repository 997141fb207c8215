package gemm

import (
	"fmt"
	"testing"
)

// Packing throughput, in packed floats per second. Packing is pure data
// movement, so it dominates when one of m, n, k is small.
func BenchmarkPack(b *testing.B) {
	const kb, rows = 192, 168
	src := make([]float32, 4096*4096)
	dst := make([]float32, 4096*kb)
	for _, kn := range kernels() {
		for _, ld := range []int{512, 1024} {
			for _, tc := range []struct {
				name string
				f    func()
			}{
				{"A_N", func() { kn.packA(dst, false, src, ld, 0, rows, 0, kb, 1) }},
				{"A_T", func() { kn.packA(dst, true, src, ld, 0, rows, 0, kb, 1) }},
				{"B_N", func() { kn.packB(dst, false, src, ld, 0, kb, 0, 512) }},
				{"B_T", func() { kn.packB(dst, true, src, ld, 0, kb, 0, 512) }},
			} {
				b.Run(fmt.Sprintf("%s/%s/ld%d", kn.name, tc.name, ld), func(b *testing.B) {
					n := rows * kb
					if tc.name[0] == 'B' {
						n = 512 * kb
					}
					for b.Loop() {
						tc.f()
					}
					b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gfloat/s")
				})
			}
		}
	}
}

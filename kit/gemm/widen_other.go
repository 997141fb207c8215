//go:build !amd64 || purego

package gemm

import "math"

// widenBF16 converts src to float32 into dst[:len(src)].
func widenBF16(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = math.Float32frombits(uint32(h) << 16)
	}
}

//go:build goexperiment.simd && amd64

package merge

import "simd/archsimd"

// linear64Vec is the AVX-512 body of linear64 (GOEXPERIMENT=simd): 8 lanes
// widened to float64, the same products and the same left-to-right sums
// as the scalar loop (no fused multiply-add), so results are bit-identical.
// It returns how many leading elements it did (0 without AVX-512).
func linear64Vec(mode int, res []float32, acc []float64, x *[4][]float32, c *[4]float64) int {
	if !archsimd.X86.AVX512() {
		return 0
	}
	n := len(res) &^ 7
	x0, x1, x2, x3 := x[0][:n], x[1][:n], x[2][:n], x[3][:n]
	c0, c1 := archsimd.BroadcastFloat64x8(c[0]), archsimd.BroadcastFloat64x8(c[1])
	c2, c3 := archsimd.BroadcastFloat64x8(c[2]), archsimd.BroadcastFloat64x8(c[3])
	for k := 0; k < n; k += 8 {
		p0 := archsimd.LoadFloat32x8Slice(x0[k : k+8]).ConvertToFloat64().Mul(c0)
		p1 := archsimd.LoadFloat32x8Slice(x1[k : k+8]).ConvertToFloat64().Mul(c1)
		p2 := archsimd.LoadFloat32x8Slice(x2[k : k+8]).ConvertToFloat64().Mul(c2)
		p3 := archsimd.LoadFloat32x8Slice(x3[k : k+8]).ConvertToFloat64().Mul(c3)
		switch mode {
		case modeOnly:
			p0.Add(p1).Add(p2).Add(p3).ConvertToFloat32().StoreSlice(res[k : k+8])
		case modeFirst:
			p0.Add(p1).Add(p2).Add(p3).StoreSlice(acc[k : k+8])
		case modeLast:
			archsimd.LoadFloat64x8Slice(acc[k : k+8]).Add(p0).Add(p1).Add(p2).Add(p3).ConvertToFloat32().StoreSlice(res[k : k+8])
		default:
			archsimd.LoadFloat64x8Slice(acc[k : k+8]).Add(p0).Add(p1).Add(p2).Add(p3).StoreSlice(acc[k : k+8])
		}
	}
	return n
}

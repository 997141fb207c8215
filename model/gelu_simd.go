//go:build goexperiment.simd && amd64

package model

import "simd/archsimd"

// geluVec is the AVX-512 path of geluForward (GOEXPERIMENT=simd): the same
// formula and tanh approximation, 16 lanes at a time. It returns how many
// leading elements it did (0 without AVX-512); the scalar loop does the rest.
func geluVec(out, grad, x []float32) int {
	if !archsimd.X86.AVX512() {
		return 0
	}
	n := len(x) &^ 15
	s := archsimd.BroadcastFloat32x16(geluS)
	c := archsimd.BroadcastFloat32x16(0.044715)
	c3 := archsimd.BroadcastFloat32x16(3 * 0.044715)
	half := archsimd.BroadcastFloat32x16(0.5)
	one := archsimd.BroadcastFloat32x16(1)
	for i := 0; i < n; i += 16 {
		v := archsimd.LoadFloat32x16Slice(x[i : i+16])
		v2 := v.Mul(v)
		u := v2.MulAdd(c, one).Mul(v).Mul(s) // s·(v + c·v³)
		t := tanh16(u)
		hv := half.Mul(v)
		onePlusT := one.Add(t)
		hv.Mul(onePlusT).StoreSlice(out[i : i+16])
		if grad != nil {
			// 0.5(1+t) + 0.5v(1-t²)·s·(1+3c·v²)
			d := one.Sub(t.Mul(t)).Mul(hv).Mul(s).Mul(v2.MulAdd(c3, one))
			half.MulAdd(onePlusT, d).StoreSlice(grad[i : i+16])
		}
	}
	return n
}

// tanh16 is tanh32 on 16 lanes.
func tanh16(x archsimd.Float32x16) archsimd.Float32x16 {
	const clampV = 9.5 // past Eigen's 7.905 the fit stays within 1.4e-7 of tanh, and the result is clamped to ±1: saturates to exactly ±1 as torch's float32 tanh does
	x = x.Min(archsimd.BroadcastFloat32x16(clampV)).Max(archsimd.BroadcastFloat32x16(-clampV))
	x2 := x.Mul(x)
	b := archsimd.BroadcastFloat32x16
	p := x2.MulAdd(b(-2.76076847742355e-16), b(2.00018790482477e-13))
	p = x2.MulAdd(p, b(-8.60467152213735e-11))
	p = x2.MulAdd(p, b(5.12229709037114e-08))
	p = x2.MulAdd(p, b(1.48572235717979e-05))
	p = x2.MulAdd(p, b(6.37261928875436e-04))
	p = x2.MulAdd(p, b(4.89352455891786e-03))
	p = x.Mul(p)
	q := x2.MulAdd(b(1.19825839466702e-06), b(1.18534705686654e-04))
	q = x2.MulAdd(q, b(2.26843463243900e-03))
	q = x2.MulAdd(q, b(4.89352518554385e-03))
	return p.Div(q).Min(b(1)).Max(b(-1))
}

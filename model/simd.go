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

// expSumVec sets x[i] = exp(x[i] - shift) for every i and returns the sum
// (16 lanes at a time; the partial tail through SlicePart loads). ok is
// false without AVX-512, and then x is untouched.
func expSumVec(x []float32, shift float32) (sum float32, ok bool) {
	if !archsimd.X86.AVX512() {
		return 0, false
	}
	b := archsimd.BroadcastFloat32x16
	sh := b(shift)
	acc := b(0)
	n := len(x)
	for i := 0; i < n; i += 16 {
		if i+16 <= n {
			e := exp16(archsimd.LoadFloat32x16Slice(x[i : i+16]).Sub(sh))
			e.StoreSlice(x[i : i+16])
			acc = acc.Add(e)
		} else {
			e := exp16(archsimd.LoadFloat32x16SlicePart(x[i:]).Sub(sh))
			e.StoreSlicePart(x[i:])
			// Lanes past the end loaded as 0 and became exp(-shift): drop them.
			var lanes [16]float32
			e.StoreSlice(lanes[:])
			for _, v := range lanes[:n-i] {
				sum += v
			}
		}
	}
	var lanes [16]float32
	acc.StoreSlice(lanes[:])
	for _, v := range lanes {
		sum += v
	}
	return sum, true
}

// exp16 is exp32 on 16 lanes (inputs below -87.3 give ~1e-38, not 0).
func exp16(x archsimd.Float32x16) archsimd.Float32x16 {
	b := archsimd.BroadcastFloat32x16
	x = x.Max(b(-87.3)).Min(b(88.3))
	fx := x.Mul(b(1.44269504088896341)).RoundToEvenScaled(0)
	x = fx.MulAdd(b(-0.693359375), x)
	x = fx.MulAdd(b(2.12194440e-4), x)
	z := x.Mul(x)
	y := x.MulAdd(b(1.9875691500e-4), b(1.3981999507e-3))
	y = y.MulAdd(x, b(8.3334519073e-3))
	y = y.MulAdd(x, b(4.1665795894e-2))
	y = y.MulAdd(x, b(1.6666665459e-1))
	y = y.MulAdd(x, b(5.0000001201e-1))
	y = y.MulAdd(z, x.Add(b(1)))
	pow2 := fx.ConvertToInt32().Add(archsimd.BroadcastInt32x16(127)).ShiftAllLeft(23).AsFloat32x16()
	return y.Mul(pow2)
}

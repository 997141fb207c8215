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
	k := newExpConsts() // a value on the stack: no allocation per call
	sh := archsimd.BroadcastFloat32x16(shift)
	acc := archsimd.BroadcastFloat32x16(0)
	n := len(x)
	i := 0
	for ; i+16 <= n; i += 16 {
		e := k.exp(archsimd.LoadFloat32x16Slice(x[i : i+16]).Sub(sh))
		e.StoreSlice(x[i : i+16])
		acc = acc.Add(e)
	}
	var lanes [16]float32
	if i < n {
		e := k.exp(archsimd.LoadFloat32x16SlicePart(x[i:]).Sub(sh))
		e.StoreSlicePart(x[i:])
		// Lanes past the end loaded as 0 and became exp(-shift): drop them.
		e.StoreSlice(lanes[:])
		for _, v := range lanes[:n-i] {
			sum += v
		}
	}
	acc.StoreSlice(lanes[:])
	for _, v := range lanes {
		sum += v
	}
	return sum, true
}

// maxVec returns the largest element of x (len >= 1); ok is false without
// AVX-512.
func maxVec(x []float32) (float32, bool) {
	if !archsimd.X86.AVX512() || len(x) < 16 {
		return 0, false
	}
	acc := archsimd.LoadFloat32x16Slice(x[:16])
	i := 16
	for ; i+16 <= len(x); i += 16 {
		acc = acc.Max(archsimd.LoadFloat32x16Slice(x[i : i+16]))
	}
	var lanes [16]float32
	acc.StoreSlice(lanes[:])
	m := lanes[0]
	for _, v := range lanes[1:] {
		m = max(m, v)
	}
	for _, v := range x[i:] {
		m = max(m, v)
	}
	return m, true
}

// scaleVec multiplies x by s in place; ok is false without AVX-512.
func scaleVec(x []float32, s float32) bool {
	if !archsimd.X86.AVX512() {
		return false
	}
	sv := archsimd.BroadcastFloat32x16(s)
	i := 0
	for ; i+16 <= len(x); i += 16 {
		archsimd.LoadFloat32x16Slice(x[i : i+16]).Mul(sv).StoreSlice(x[i : i+16])
	}
	if i < len(x) {
		archsimd.LoadFloat32x16SlicePart(x[i:]).Mul(sv).StoreSlicePart(x[i:])
	}
	return true
}

// expConsts are exp16's constants, broadcast once per call of expSumVec
// rather than once per vector.
type expConsts struct {
	lo, hi, log2e, c1, c2, p0, p1, p2, p3, p4, p5, one archsimd.Float32x16
	bias                                               archsimd.Int32x16
}

func newExpConsts() expConsts {
	b := archsimd.BroadcastFloat32x16
	return expConsts{
		lo: b(-87.3), hi: b(88.3), log2e: b(1.44269504088896341),
		c1: b(-0.693359375), c2: b(2.12194440e-4),
		p0: b(1.9875691500e-4), p1: b(1.3981999507e-3), p2: b(8.3334519073e-3),
		p3: b(4.1665795894e-2), p4: b(1.6666665459e-1), p5: b(5.0000001201e-1),
		one: b(1), bias: archsimd.BroadcastInt32x16(127),
	}
}

// exp is exp32 on 16 lanes (inputs below -87.3 give ~1e-38, not 0).
func (k *expConsts) exp(x archsimd.Float32x16) archsimd.Float32x16 {
	x = x.Max(k.lo).Min(k.hi)
	fx := x.Mul(k.log2e).RoundToEvenScaled(0)
	x = fx.MulAdd(k.c1, x)
	x = fx.MulAdd(k.c2, x)
	z := x.Mul(x)
	y := x.MulAdd(k.p0, k.p1)
	y = y.MulAdd(x, k.p2)
	y = y.MulAdd(x, k.p3)
	y = y.MulAdd(x, k.p4)
	y = y.MulAdd(x, k.p5)
	y = y.MulAdd(z, x.Add(k.one))
	pow2 := fx.ConvertToInt32().Add(k.bias).ShiftAllLeft(23).AsFloat32x16()
	return y.Mul(pow2)
}

// addVec does dst += src (equal lengths); ok is false without AVX-512.
func addVec(dst, src []float32) bool {
	if !archsimd.X86.AVX512() {
		return false
	}
	i := 0
	for ; i+16 <= len(dst); i += 16 {
		d := archsimd.LoadFloat32x16Slice(dst[i : i+16])
		d.Add(archsimd.LoadFloat32x16Slice(src[i : i+16])).StoreSlice(dst[i : i+16])
	}
	for ; i < len(dst); i++ {
		dst[i] += src[i]
	}
	return true
}

// axpyVec does dst += a·src (equal lengths), a multiply then an add per
// element rather than a fused multiply-add, so that it equals the scalar
// loop bit for bit; ok is false without AVX-512.
func axpyVec(dst, src []float32, a float32) bool {
	if !archsimd.X86.AVX512() {
		return false
	}
	av := archsimd.BroadcastFloat32x16(a)
	src = src[:len(dst)]
	i := 0
	for ; i+16 <= len(dst); i += 16 {
		d := archsimd.LoadFloat32x16Slice(dst[i : i+16])
		d.Add(archsimd.LoadFloat32x16Slice(src[i : i+16]).Mul(av)).StoreSlice(dst[i : i+16])
	}
	if i < len(dst) {
		d := archsimd.LoadFloat32x16SlicePart(dst[i:])
		d.Add(archsimd.LoadFloat32x16SlicePart(src[i:]).Mul(av)).StoreSlicePart(dst[i:])
	}
	return true
}

// scoresVec sets s[t] = Σ_j q[j]·k[j·ld+t] for t < len(s) (keys stored
// transposed, one row of ld per dimension j), the sums in j order with a
// multiply then an add: the scalar loop's bits. Up to 64 positions stay in
// registers across j; ok is false without AVX-512.
func scoresVec(s, q, k []float32, ld int) bool {
	if !archsimd.X86.AVX512() {
		return false
	}
	T := len(s)
	for c := 0; c < T; c += 64 {
		n := min(64, T-c) // positions in this chunk
		var acc [4]archsimd.Float32x16
		nv := (n + 15) / 16
		for j, qj := range q {
			qv := archsimd.BroadcastFloat32x16(qj)
			row := k[j*ld+c : j*ld+c+n]
			for v := 0; v < nv; v++ {
				lo := v * 16
				var kv archsimd.Float32x16
				if lo+16 <= n {
					kv = archsimd.LoadFloat32x16Slice(row[lo : lo+16])
				} else {
					kv = archsimd.LoadFloat32x16SlicePart(row[lo:])
				}
				acc[v] = acc[v].Add(kv.Mul(qv))
			}
		}
		for v := 0; v < nv; v++ {
			lo := v * 16
			if lo+16 <= n {
				acc[v].StoreSlice(s[c+lo : c+lo+16])
			} else {
				acc[v].StoreSlicePart(s[c+lo : c+n])
			}
		}
	}
	return true
}

// mixVec sets y = Σ_t p[t]·v[t·ld : t·ld+len(y)] in t order, a multiply
// then an add per term (the scalar loop's bits), y in registers; for
// len(y) a multiple of 16 up to 64, else ok is false (as without AVX-512).
func mixVec(y, p, v []float32, ld int) bool {
	hd := len(y)
	if !archsimd.X86.AVX512() || hd%16 != 0 || hd > 64 {
		return false
	}
	nv := hd / 16
	var acc [4]archsimd.Float32x16
	for t, pt := range p {
		pv := archsimd.BroadcastFloat32x16(pt)
		row := v[t*ld : t*ld+hd]
		for i := 0; i < nv; i++ {
			acc[i] = acc[i].Add(archsimd.LoadFloat32x16Slice(row[i*16 : i*16+16]).Mul(pv))
		}
	}
	for i := 0; i < nv; i++ {
		acc[i].StoreSlice(y[i*16 : i*16+16])
	}
	return true
}

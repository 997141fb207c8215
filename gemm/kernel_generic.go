package gemm

// portable is the pure-Go kernel: no SIMD, used where no assembly kernel
// applies. 4×4 keeps the 16 accumulators in registers on 32-register
// machines (arm64); on amd64 some spill, which is still several times
// faster than an unblocked loop.
var portable = &kernel{
	name: "portable", mr: 4, nr: 4,
	mc: 128, kc: 256, nc: 2048,
	micro: microGeneric,
}

func microGeneric(kc int, a, b, c []float32, ldc int, beta float32, accumulate bool) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	a = a[:4*kc]
	b = b[:4*kc]
	for p := 0; p+3 < len(a) && p+3 < len(b); p += 4 {
		b0, b1, b2, b3 := b[p], b[p+1], b[p+2], b[p+3]
		a0 := a[p]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := a[p+1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := a[p+2]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := a[p+3]
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	store := func(ci []float32, x0, x1, x2, x3 float32) {
		ci = ci[:4]
		if accumulate {
			x0 += beta * ci[0]
			x1 += beta * ci[1]
			x2 += beta * ci[2]
			x3 += beta * ci[3]
		}
		ci[0], ci[1], ci[2], ci[3] = x0, x1, x2, x3
	}
	store(c[0:], c00, c01, c02, c03)
	store(c[ldc:], c10, c11, c12, c13)
	store(c[2*ldc:], c20, c21, c22, c23)
	store(c[3*ldc:], c30, c31, c32, c33)
}

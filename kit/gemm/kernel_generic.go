package gemm

// portable is the pure-Go kernel: no SIMD, used where no assembly kernel
// applies. The 2×4 tile keeps its 8 accumulators and 6 operands in the 15
// float registers amd64 Go code gets; a 4×4 tile spilled and ran at 4
// GFLOP/s per core against 6 for this one (docs/gemm.md).
var portable = &kernel{
	name: "portable", mr: 2, nr: 4,
	mc: 128, kc: 256, nc: 2048,
	micro: microGeneric,
}

func microGeneric(kc int, a, b, c []float32, ldc int, beta float32, accumulate bool) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	for p := range kc {
		// Full slice expressions let the compiler drop the bounds checks
		// of the element loads below.
		ap := a[p*2 : p*2+2 : p*2+2]
		bp := b[p*4 : p*4+4 : p*4+4]
		a0, a1 := ap[0], ap[1]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
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
}

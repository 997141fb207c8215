package gemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// bf16Operand builds a rows×cols bfloat16 matrix (row stride cols+pad,
// NaN in the padding) and its exact float32 widening.
func bf16Operand(r *rand.Rand, rows, cols, pad int) ([]uint16, []float32, int) {
	ld := max(1, cols+pad)
	h := make([]uint16, rows*ld)
	for i := range h {
		if i%ld >= cols {
			h[i] = 0x7fc0 // NaN: a read of the padding poisons C
			continue
		}
		h[i] = uint16(math.Float32bits(float32(r.NormFloat64())) >> 16)
	}
	f := make([]float32, len(h))
	widenBF16(f, h)
	return h, f, ld
}

// The BF16 path must give exactly the float32 path's C on the widened
// weights: widening is exact and the packed panels are identical, so any
// difference is a packing bug. Every kernel, production and tiny
// blocking (the latter has no assembly panel packer: the generic loops),
// both op(B), edge and full panels, serial and parallel.
func TestBF16MatchesF32(t *testing.T) {
	shapes := []problem{
		{m: 5, n: 7, k: 3, alpha: 1},
		{m: 37, n: 45, k: 23, alpha: 1, beta: 0.5, pad: 3},
		{m: 64, n: 64, k: 300, alpha: 1, pad: 1},
		{m: 70, n: 96, k: 257, alpha: -0.5, beta: 1, transA: true},
		{m: 301, n: 97, k: 150, alpha: 1},
		{m: 97, n: 301, k: 150, alpha: 1, beta: 0.25, pad: 2},
	}
	for _, kn := range testKernels() {
		t.Run(kn.name, func(t *testing.T) {
			for si, pr := range shapes {
				for _, transB := range []bool{false, true} {
					for _, procs := range []int{1, 3} {
						r := rand.New(rand.NewPCG(uint64(si), 9))
						ar, ac := pr.m, pr.k
						if pr.transA {
							ar, ac = ac, ar
						}
						br, bc := pr.k, pr.n
						if transB {
							br, bc = bc, br
						}
						a, lda := operand(r, ar, ac, pr.pad)
						bh, bf, ldb := bf16Operand(r, br, bc, pr.pad)
						c1, ldc := operand(r, pr.m, pr.n, pr.pad)
						c2 := append([]float32(nil), c1...)
						gemmB(kn, procs, pr.transA, pr.m, pr.n, pr.k, pr.alpha, a, lda, operandB{f32: bf, ld: ldb, trans: transB}, pr.beta, c1, ldc)
						gemmB(kn, procs, pr.transA, pr.m, pr.n, pr.k, pr.alpha, a, lda, operandB{bf16: bh, ld: ldb, trans: transB}, pr.beta, c2, ldc)
						for i := range c1 {
							if !same(c1[i], c2[i]) {
								t.Fatalf("%+v transB=%v procs=%d: BF16 C[%d] = %v, F32 %v", pr, transB, procs, i, c2[i], c1[i])
							}
						}
						for i := 0; i < pr.m; i++ {
							for j := 0; j < pr.n; j++ {
								if v := c2[i*ldc+j]; v != v {
									t.Fatalf("%+v transB=%v: NaN at C[%d,%d]: padding was read", pr, transB, i, j)
								}
							}
						}
					}
				}
			}
		})
	}
}

// The public entry point against the package reference on widened B,
// including the direct path for tiny products.
func TestSgemmBF16(t *testing.T) {
	defer func(v int) { smallMNK = v }(smallMNK)
	for _, small := range []int{0, 512} {
		smallMNK = small
		for _, sz := range [][3]int{{3, 4, 5}, {130, 200, 300}} {
			m, n, k := sz[0], sz[1], sz[2]
			for _, transB := range []bool{false, true} {
				r := rand.New(rand.NewPCG(uint64(m), 4))
				a, lda := operand(r, m, k, 0)
				br, bc := k, n
				if transB {
					br, bc = n, k
				}
				bh, bf, ldb := bf16Operand(r, br, bc, 1)
				c, ldc := operand(r, m, n, 0)
				want := append([]float32(nil), c...)
				SgemmBF16(false, transB, m, n, k, 0.5, a, lda, bh, ldb, -2, c, ldc)
				sgemmRef(false, transB, m, n, k, 0.5, a, lda, bf, ldb, -2, want, ldc)
				for i := range c {
					if d := math.Abs(float64(c[i] - want[i])); !(d <= 1e-3) {
						t.Fatalf("small=%d %v transB=%v: C[%d] = %v, ref %v", small, sz, transB, i, c[i], want[i])
					}
				}
			}
		}
	}
}

func TestSgemmBF16ShortBPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("short bfloat16 B: no panic")
		}
	}()
	SgemmBF16(false, true, 2, 3, 2, 1, make([]float32, 4), 2, make([]uint16, 5), 2, 0, make([]float32, 6), 3)
}

func TestSgemmSerialMatchesSgemm(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	m, n, k := 200, 150, 170
	a, lda := operand(r, m, k, 0)
	b, ldb := operand(r, n, k, 0)
	c1 := make([]float32, m*n)
	c2 := make([]float32, m*n)
	Sgemm(false, true, m, n, k, 1, a, lda, b, ldb, 0, c1, n)
	SgemmSerial(false, true, m, n, k, 1, a, lda, b, ldb, 0, c2, n)
	for i := range c1 {
		if c1[i] != c2[i] {
			t.Fatalf("C[%d]: serial %v, parallel %v", i, c2[i], c1[i])
		}
	}
}

// widenBF16 (AVX2 blocks of 16 plus a scalar tail) against the scalar
// definition, every length around the block size, every bit pattern class.
func TestWidenBF16(t *testing.T) {
	src := make([]uint16, 100)
	for i := range src {
		src[i] = uint16(i*2654435761>>7) ^ uint16(i)
	}
	src[3], src[20], src[40] = 0x7fc0, 0xff80, 0x8000 // NaN, -Inf, -0
	for n := 0; n <= len(src); n++ {
		dst := make([]float32, n+1)
		dst[n] = 42
		widenBF16(dst, src[:n])
		for i := 0; i < n; i++ {
			if math.Float32bits(dst[i]) != uint32(src[i])<<16 {
				t.Fatalf("n=%d: dst[%d] bits %08x, want %08x", n, i, math.Float32bits(dst[i]), uint32(src[i])<<16)
			}
		}
		if dst[n] != 42 {
			t.Fatalf("n=%d: wrote past the end", n)
		}
	}
}

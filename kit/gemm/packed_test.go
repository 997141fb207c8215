package gemm

import (
	"math/rand/v2"
	"testing"
)

// TestPackedMatchesSgemm: a product with a prepacked B gives Sgemm's bits,
// for every kernel (and its tiny-block twin, so that B spans many kc and
// nc blocks), both transposes, alpha/beta, edge tiles, one and several
// goroutines (both split directions), and the small path; a Packed serves
// several A's.
func TestPackedMatchesSgemm(t *testing.T) {
	shapes := []problem{
		{m: 32, n: 8192 / 16, k: 128, alpha: 1, beta: 0, transB: true}, // a decode step's LM head, scaled down
		{m: 7, n: 97, k: 150, alpha: 1, beta: 0},
		{m: 301, n: 97, k: 150, alpha: 1, beta: 0.5, transA: true},
		{m: 64, n: 530, k: 129, alpha: -1, beta: 1, transB: true, pad: 2},
		{m: 3, n: 5, k: 4, alpha: 2, beta: 0}, // below smallMNK
		{m: 1, n: 33, k: 17, alpha: 1, beta: 1, transA: true, transB: true},
	}
	for _, kn := range testKernels() {
		for _, pr := range shapes {
			r := rand.New(rand.NewPCG(5, uint64(pr.m)))
			br, bc := pr.k, pr.n
			if pr.transB {
				br, bc = bc, br
			}
			b, ldb := operand(r, br, bc, pr.pad)
			pk := packWith(kn, pr.transB, pr.k, pr.n, b, ldb)
			for rep := range 2 { // the same Packed for two A's
				ar, ac := pr.m, pr.k
				if pr.transA {
					ar, ac = ac, ar
				}
				a, lda := operand(r, ar, ac, pr.pad)
				c1, ldc := operand(r, pr.m, pr.n, pr.pad)
				for _, procs := range []int{1, 2, 3} {
					c2 := append([]float32(nil), c1...)
					want := append([]float32(nil), c1...)
					sgemm(kn, procs, pr.transA, pr.transB, pr.m, pr.n, pr.k, pr.alpha, a, lda, b, ldb, pr.beta, want, ldc)
					src := pk.src
					src.packed = pk
					gemmB(kn, procs, pr.transA, pr.m, pr.n, pr.k, pr.alpha, a, lda, src, pr.beta, c2, ldc)
					for i := range want {
						if !same(want[i], c2[i]) {
							t.Fatalf("%s %+v rep %d procs %d: packed C[%d] = %v, Sgemm %v", kn.name, pr, rep, procs, i, c2[i], want[i])
						}
					}
				}
			}
		}
	}
	// The exported pair on the active kernel.
	r := rand.New(rand.NewPCG(9, 9))
	b, ldb := operand(r, 300, 64, 0)
	a, lda := operand(r, 16, 64, 0)
	want, ldc := operand(r, 16, 300, 0)
	got := append([]float32(nil), want...)
	Sgemm(false, true, 16, 300, 64, 1, a, lda, b, ldb, 0, want, ldc)
	SgemmPacked(false, 16, 1, a, lda, PackB(true, 64, 300, b, ldb), 0, got, ldc)
	for i := range want {
		if !same(want[i], got[i]) {
			t.Fatalf("SgemmPacked C[%d] = %v, Sgemm %v", i, got[i], want[i])
		}
	}
}

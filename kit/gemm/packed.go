package gemm

import (
	"fmt"
	"runtime"
)

// Packed is op(B) packed once into the micro-panels of the kernel that
// will use it, for many products that share B and differ in A. A decode
// step multiplies a few rows (one per sequence) by every weight matrix:
// packing B afresh each time cost as much as the multiply (the LM head's
// 8192×128 matrix for 32 rows), and a Packed turns that into one pass per
// Generate call. Products with a Packed give the same bits as Sgemm: the
// panels are the ones Sgemm would pack.
type Packed struct {
	k, n int
	kern *kernel
	// blocks[pc/kc] is depth block pc for every column, in nr-wide panels
	// (panel of column j at j·kb), zero past n.
	blocks [][]float32
	// src is B as given, for the products too small to use panels.
	src operandB
}

// PackB packs op(B) (k×n; B stored n×k when transB) for SgemmPacked. B
// must not change while the Packed is used: small products read it
// directly. It panics on bad arguments as Sgemm does.
func PackB(transB bool, k, n int, b []float32, ldb int) *Packed {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("gemm: negative dimension n=%d k=%d", n, k))
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if ldb < max(1, bc) {
		panic(fmt.Sprintf("gemm: ldb=%d < %d columns", ldb, bc))
	}
	if br > 0 && bc > 0 && len(b) < (br-1)*ldb+bc {
		panic(fmt.Sprintf("gemm: len(b)=%d too short for %d×%d with ldb=%d", len(b), br, bc, ldb))
	}
	return packWith(active, transB, k, n, b, ldb)
}

// packWith is PackB for kernel kn (the tests' tiny-block kernels).
func packWith(kn *kernel, transB bool, k, n int, b []float32, ldb int) *Packed {
	p := &Packed{k: k, n: n, kern: kn, src: operandB{f32: b, ld: ldb, trans: transB}}
	width := (n + kn.nr - 1) / kn.nr * kn.nr
	for pc := 0; pc < k; pc += kn.kc {
		kb := min(kn.kc, k-pc)
		blk := make([]float32, width*kb)
		kn.packB(blk, transB, b, ldb, pc, kb, 0, n)
		p.blocks = append(p.blocks, blk)
	}
	return p
}

// SgemmPacked is Sgemm with op(B) from PackB: C = alpha·op(A)·op(B) +
// beta·C, op(A) m×k with k and n those of the Packed.
func SgemmPacked(transA bool, m int, alpha float32, a []float32, lda int, b *Packed, beta float32, c []float32, ldc int) {
	checkArgs(transA, b.src.trans, m, b.n, b.k, a, lda, len(b.src.f32), b.src.ld, c, ldc)
	src := b.src
	src.packed = b
	gemmB(b.kern, runtime.GOMAXPROCS(0), transA, m, b.n, b.k, alpha, a, lda, src, beta, c, ldc)
}

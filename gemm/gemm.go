// Package gemm is the single-precision matrix multiply every layer of the
// engine runs on. Matrices are row-major float32 slices with a leading
// dimension (row stride), as in CBLAS with CblasRowMajor.
package gemm

// Sgemm computes C = alpha*op(A)*op(B) + beta*C where op(X) is X or Xᵀ.
// op(A) is m×k, op(B) is k×n, C is m×n. lda, ldb, ldc are the row strides
// of A, B and C as stored (A is m×k when !transA, k×m when transA).
// With beta == 0, C is overwritten and its old contents (even NaN) ignored.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmRef is the obviously correct reference implementation.
func sgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
		} else if beta != 1 {
			for j := range ci {
				ci[j] *= beta
			}
		}
		for p := 0; p < k; p++ {
			var av float32
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			av *= alpha
			if transB {
				for j := range ci {
					ci[j] += av * b[j*ldb+p]
				}
			} else {
				bp := b[p*ldb : p*ldb+n]
				for j, bv := range bp {
					ci[j] += av * bv
				}
			}
		}
	}
}

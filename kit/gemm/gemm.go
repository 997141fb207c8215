// Package gemm is the single-precision matrix multiply every layer of the
// engine runs on. Matrices are row-major float32 slices with a leading
// dimension (row stride), as in CBLAS with CblasRowMajor.
//
// The implementation follows Goto/BLIS: op(B) is packed into kc×nc blocks of
// NR-wide micro-panels, op(A) into mc×kc blocks of MR-tall micro-panels (the
// packing absorbs transposes and alpha), and a register-blocked MR×NR
// micro-kernel runs over them. On amd64 the micro-kernels are generated Go
// assembly (AVX-512 14×32, AVX2+FMA 6×16) picked at start-up from CPUID; on
// other CPUs and architectures, or with the purego build tag, a pure-Go
// 2×4 kernel runs on the same blocking. See docs/gemm.md.
package gemm

import (
	"fmt"
	"runtime"
	"sync"
)

//go:generate go run gen_kernels.go

// Sgemm computes C = alpha*op(A)*op(B) + beta*C where op(X) is X or Xᵀ.
// op(A) is m×k, op(B) is k×n, C is m×n. lda, ldb, ldc are the row strides
// of A, B and C as stored (A is m×k when !transA, k×m when transA).
// With beta == 0, C is overwritten and its old contents (even NaN) ignored.
// It panics if a dimension is negative, a stride is too small or a slice
// too short, as BLAS implementations do. Large products run on up to
// GOMAXPROCS goroutines; C's result does not depend on their number.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, len(b), ldb, c, ldc)
	sgemm(active, runtime.GOMAXPROCS(0), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmSerial is Sgemm on the calling goroutine only, for callers that
// already run one product per core (e.g. attention heads in parallel).
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, len(b), ldb, c, ldc)
	sgemm(active, 1, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, lenB, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	// Stored shapes: rows × cols of each operand as laid out in memory.
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	check := func(name string, length, rows, cols, ld int) {
		if ld < max(1, cols) {
			panic(fmt.Sprintf("gemm: ld%s=%d < %d columns", name, ld, cols))
		}
		if rows > 0 && cols > 0 && length < (rows-1)*ld+cols {
			panic(fmt.Sprintf("gemm: len(%s)=%d too short for %d×%d with ld%s=%d", name, length, rows, cols, name, ld))
		}
	}
	if m > 0 && n > 0 && k > 0 {
		check("a", len(a), ar, ac, lda)
		check("b", lenB, br, bc, ldb)
	}
	check("c", len(c), m, n, ldc)
}

// Parallel thresholds. Below minParallelFlops a goroutine's start-up and
// the duplicated packing cost more than a second core saves; each extra
// worker must get at least flopsPerWorker of work.
const (
	minParallelFlops = 4e6
	flopsPerWorker   = 2e6
)

func sgemm(kern *kernel, procs int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmB(kern, procs, transA, m, n, k, alpha, a, lda, operandB{f32: b, ld: ldb, trans: transB}, beta, c, ldc)
}

// operandB is op(B) as stored: float32 (f32) or bfloat16 bit patterns
// (bf16, widened to float32 while packing), row stride ld, transposed
// when trans.
type operandB struct {
	f32   []float32
	bf16  []uint16
	ld    int
	trans bool
	// packed, when set, is op(B) already in panels (PackB): run uses
	// them instead of packing.
	packed *Packed
}

// at returns op(B)[p][j] as float32.
func (b operandB) at(p, j int) float32 {
	i := p*b.ld + j
	if b.trans {
		i = j*b.ld + p
	}
	if b.bf16 != nil {
		return bf16ToF32(b.bf16[i])
	}
	return b.f32[i]
}

// gemmB is the driver shared by the float32 and bfloat16 B operands.
func gemmB(kern *kernel, procs int, transA bool, m, n, k int, alpha float32, a []float32, lda int, b operandB, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	if m*n*k <= smallMNK {
		small(transA, m, n, k, alpha, a, lda, b, beta, c, ldc)
		return
	}
	flops := 2 * float64(m) * float64(n) * float64(k)
	workers := 1
	if flops >= minParallelFlops {
		workers = min(procs, int(flops/flopsPerWorker))
	}
	// Split C into slabs, one per worker, along the dimension whose
	// operand is cheaper to pack twice: every worker packs all of op(B)
	// when the rows of C are split (k×n floats), all of op(A) when the
	// columns are (m×k floats). Slabs are whole micro-tiles so no worker
	// runs edge tiles another could have avoided.
	splitRows := n <= m
	var tiles, tile int
	if splitRows {
		tile = kern.mr
		tiles = (m + tile - 1) / tile
	} else {
		tile = kern.nr
		tiles = (n + tile - 1) / tile
	}
	workers = max(1, min(workers, tiles))
	if workers == 1 {
		kern.run(transA, 0, m, 0, n, k, alpha, a, lda, b, beta, c, ldc)
		return
	}
	var wg sync.WaitGroup
	per := (tiles + workers - 1) / workers
	for w := range workers {
		lo := w * per * tile
		hi := min((w+1)*per*tile, m)
		if !splitRows {
			hi = min((w+1)*per*tile, n)
		}
		if lo >= hi {
			break
		}
		job := func() {
			if splitRows {
				kern.run(transA, lo, hi, 0, n, k, alpha, a, lda, b, beta, c, ldc)
			} else {
				kern.run(transA, 0, m, lo, hi, k, alpha, a, lda, b, beta, c, ldc)
			}
		}
		if w == workers-1 {
			job() // the caller's goroutine does the last slab
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); job() }()
	}
	wg.Wait()
}

// smallMNK is the largest m·n·k computed by small: below it, packing
// into padded tiles costs more than the multiply (a 4×4×4 product took
// 850 ns packed, 300 ns direct; at 16×16×16 packing already wins 3×).
// A variable so that tests can send tiny shapes through the kernels.
var smallMNK = 512

// small is the direct triple loop for tiny products.
func small(transA bool, m, n, k int, alpha float32, a []float32, lda int, b operandB, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				ai := i*lda + p
				if transA {
					ai = p*lda + i
				}
				s += a[ai] * b.at(p, j)
			}
			s *= alpha
			if beta != 0 {
				s += beta * c[i*ldc+j]
			}
			c[i*ldc+j] = s
		}
	}
}

// scale sets C = beta*C, treating beta == 0 as an overwrite with zeros.
func scale(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(ci)
		case 1:
		default:
			for j := range ci {
				ci[j] *= beta
			}
		}
	}
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

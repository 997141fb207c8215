package gemm

import (
	"math"
	"runtime"
)

// SgemmBF16 is Sgemm with B stored as bfloat16: b holds the raw bit
// patterns (the upper 16 bits of a float32, as safetensors BF16 stores
// them). Each B element is widened to float32 while op(B) is packed, so a
// BF16 weight matrix never exists in memory as float32 beyond one packed
// block; the arithmetic is then exactly Sgemm's on the widened values
// (widening is exact). Arguments and panics as Sgemm.
func SgemmBF16(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, len(b), ldb, c, ldc)
	gemmB(active, runtime.GOMAXPROCS(0), transA, m, n, k, alpha, a, lda, operandB{bf16: b, ld: ldb, trans: transB}, beta, c, ldc)
}

// bf16ToF32 widens one bfloat16 bit pattern: exact, NaN and Inf kept.
func bf16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// packBF16 is packB for a bfloat16 op(B): the same panel layout
// (dst[q*nr*kb + p*nr + j]), values widened to float32. For a stored B
// (B as stored is k×n) each depth step of a panel is nr contiguous
// elements, widened straight into place. For Bᵀ — a weight W[n][k] as
// nn.Linear stores it, the engine's usual case — the panel's nr stored
// rows are widened into wide (ld = kb) and handed to the kernel's
// assembly transpose; the generic loop covers edge panels and the
// portable kernel.
func (kn *kernel) packBF16(dst, wide []float32, transB bool, b []uint16, ldb, p0, kb, j0, nb int) {
	nr := kn.nr
	for jr := 0; jr < nb; jr += nr {
		cols := min(nr, nb-jr)
		panel := dst[jr*kb : jr*kb+nr*kb]
		if !transB {
			for p := 0; p < kb; p++ {
				d := panel[p*nr : p*nr+nr]
				widenBF16(d, b[(p0+p)*ldb+j0+jr:][:cols])
				clear(d[cols:])
			}
			continue
		}
		if cols == nr && kn.panelB != nil {
			w := wide[:nr*kb]
			for j := 0; j < nr; j++ {
				widenBF16(w[j*kb:(j+1)*kb], b[(j0+jr+j)*ldb+p0:][:kb])
			}
			if kn.panelB(true, kb, w, kb, panel) {
				continue
			}
		}
		for j := 0; j < cols; j++ {
			src := b[(j0+jr+j)*ldb+p0:][:kb]
			d := panel[j:]
			for p, h := range src {
				d[p*nr] = bf16ToF32(h)
			}
		}
		for j := cols; j < nr; j++ {
			for p := 0; p < kb; p++ {
				panel[p*nr+j] = 0
			}
		}
	}
}

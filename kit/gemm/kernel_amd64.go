//go:build amd64 && !purego

package gemm

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The assembly micro-kernels (kernAVX512…, kernAVX2…) and their row-count
// tables are declared in kernel_decl_amd64.go; gen_kernels.go writes both.

// Blocking: the kc×nr B micro-panel (32 KiB) is reused by every A panel of
// the block, the mc×kc A block (168 KiB) sits in L2, the kc×nc B block
// (2 MiB) in L3. Chosen by sweeping mc, kc, nc over 1024³ and the engine's
// shapes on this project's AMD EPYC (docs/gemm.md): kc=256 beat 192 by
// 3–8%; mc and nc within noise.
var avx512 = &kernel{
	name: "avx512", mr: mrAVX512, nr: 32,
	mc: 14 * 12, kc: 256, nc: 32 * 64,
	micro: func(kc int, a, b, c []float32, ldc int, beta float32, accumulate bool) {
		kernAVX512(kc, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, beta, b2i(accumulate))
	},
	rows: func(rows, kc int, a, b, c []float32, ldc int, beta float32, accumulate bool) {
		avx512Rows[rows](kc, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, beta, b2i(accumulate))
	},
	panelA: panelA14,
	panelB: panelB32,
}

//go:noescape
func packA14N(kb int, src *float32, idx *int32, dst *float32, alpha float32)

//go:noescape
func packA14T(kb int, src *float32, lda int, dst *float32, alpha float32)

//go:noescape
func packB32T(kb int, src *float32, idx *int32, ldb int, dst *float32)

//go:noescape
func packB32N(kb int, src *float32, ldb int, dst *float32)

// gatherIndex returns i*ld for i < 16, or false when a gather's 32-bit
// indices cannot hold them.
func gatherIndex(ld int) (idx [16]int32, ok bool) {
	if ld > (1<<31-1)/16 {
		return idx, false
	}
	for i := range idx {
		idx[i] = int32(i * ld)
	}
	return idx, true
}

// panelA14 packs a whole 14-row panel of op(A). The assembly reads through
// raw pointers, so the slice bounds are checked here first.
func panelA14(transA bool, kb int, src []float32, lda int, dst []float32, alpha float32) bool {
	_ = dst[14*kb-1]
	if transA {
		_ = src[(kb-1)*lda+13]
		packA14T(kb, &src[0], lda, &dst[0], alpha)
		return true
	}
	_ = src[13*lda+kb-1]
	idx, ok := gatherIndex(lda)
	if !ok {
		return false
	}
	packA14N(kb, &src[0], &idx[0], &dst[0], alpha)
	return true
}

// panelB32 packs a whole 32-column panel of op(B).
func panelB32(transB bool, kb int, src []float32, ldb int, dst []float32) bool {
	_ = dst[32*kb-1]
	if !transB {
		_ = src[(kb-1)*ldb+31]
		packB32N(kb, &src[0], ldb, &dst[0])
		return true
	}
	_ = src[31*ldb+kb-1]
	idx, ok := gatherIndex(ldb)
	if !ok {
		return false
	}
	packB32T(kb, &src[0], &idx[0], ldb, &dst[0])
	return true
}

//go:noescape
func packA6N(kb int, src *float32, lda int, dst *float32, alpha float32)

//go:noescape
func packA6T(kb int, src *float32, lda int, dst *float32, alpha float32)

//go:noescape
func packB16T(kb int, src *float32, ldb int, dst *float32)

//go:noescape
func packB16N(kb int, src *float32, ldb int, dst *float32)

// panelA6 packs a whole 6-row panel of op(A) with AVX2.
func panelA6(transA bool, kb int, src []float32, lda int, dst []float32, alpha float32) bool {
	_ = dst[6*kb-1]
	if transA {
		_ = src[(kb-1)*lda+5]
		packA6T(kb, &src[0], lda, &dst[0], alpha)
		return true
	}
	_ = src[5*lda+kb-1]
	packA6N(kb, &src[0], lda, &dst[0], alpha)
	return true
}

// panelB16 packs a whole 16-column panel of op(B) with AVX2.
func panelB16(transB bool, kb int, src []float32, ldb int, dst []float32) bool {
	_ = dst[16*kb-1]
	if !transB {
		_ = src[(kb-1)*ldb+15]
		packB16N(kb, &src[0], ldb, &dst[0])
		return true
	}
	_ = src[15*ldb+kb-1]
	packB16T(kb, &src[0], ldb, &dst[0])
	return true
}

var avx2 = &kernel{
	name: "avx2", mr: mrAVX2, nr: 16,
	mc: 6 * 24, kc: 256, nc: 16 * 128,
	micro: func(kc int, a, b, c []float32, ldc int, beta float32, accumulate bool) {
		kernAVX2(kc, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, beta, b2i(accumulate))
	},
	rows: func(rows, kc int, a, b, c []float32, ldc int, beta float32, accumulate bool) {
		avx2Rows[rows](kc, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, beta, b2i(accumulate))
	},
	panelA: panelA6,
	panelB: panelB16,
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}

// kernels lists the kernels this CPU can run, fastest first. x/sys/cpu
// checks both the CPUID bits and that the OS saves the wider registers.
func kernels() []*kernel {
	var ks []*kernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2)
	}
	return append(ks, portable)
}

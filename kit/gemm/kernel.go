package gemm

import "sync"

// kernel is one micro-kernel with the cache blocking tuned for it.
type kernel struct {
	name string
	// mr×nr is the register tile the micro-kernel computes.
	mr, nr int
	// kc: depth of a packed block; mc: rows of op(A) packed at a time (the
	// A block stays in L2); nc: columns of op(B) packed at a time (the B
	// block stays in L3). mc is a multiple of mr, nc of nr.
	mc, kc, nc int
	// micro computes the mr×nr tile from packed panels a (mr×kc, a[p*mr+i])
	// and b (kc×nr, b[p*nr+j]) and stores it to c (row stride ldc): C = acc
	// when !accumulate (C not read), else C = beta*C + acc. c must hold a
	// whole mr×nr tile.
	micro func(kc int, a, b, c []float32, ldc int, beta float32, accumulate bool)
	// rows, when set, is micro for the first rows < mr rows of the panel
	// only: an edge panel with full columns then costs what it computes
	// and writes straight to C.
	rows func(rows, kc int, a, b, c []float32, ldc int, beta float32, accumulate bool)
	// panelA and panelB, when set, pack one whole micro-panel faster than
	// the generic loops. src starts at the panel's first element (row i0+ir,
	// depth p0 of op(A); depth p0, column j0+jr of op(B)). They report
	// false when they cannot handle the strides, and the generic code runs.
	panelA func(transA bool, kb int, src []float32, lda int, dst []float32, alpha float32) bool
	panelB func(transB bool, kb int, src []float32, ldb int, dst []float32) bool

	pool sync.Pool // *workspace
}

// workspace holds one goroutine's packing buffers.
type workspace struct {
	a, b, tile []float32
	wide       []float32 // nr×kc: one bfloat16 panel widened, for panelB
}

func (kn *kernel) workspace() *workspace {
	if ws, ok := kn.pool.Get().(*workspace); ok {
		return ws
	}
	return &workspace{
		a:    make([]float32, kn.mc*kn.kc),
		b:    make([]float32, kn.kc*kn.nc),
		tile: make([]float32, kn.mr*kn.nr),
		wide: make([]float32, kn.nr*kn.kc),
	}
}

// run computes rows [i0,i1) × columns [j0,j1) of C on the calling
// goroutine. Loop order as in BLIS: jc (nc) → pc (kc) → pack B → ic (mc) →
// pack A → jr (nr) → ir (mr) → micro-kernel. The B micro-panel is reused
// by every A micro-panel of the block while it sits in L1.
func (kn *kernel) run(transA bool, i0, i1, j0, j1, k int, alpha float32, a []float32, lda int, b operandB, beta float32, c []float32, ldc int) {
	ws := kn.workspace()
	defer kn.pool.Put(ws)
	mr, nr := kn.mr, kn.nr
	for jc := j0; jc < j1; jc += kn.nc {
		nb := min(kn.nc, j1-jc)
		for pc := 0; pc < k; pc += kn.kc {
			kb := min(kn.kc, k-pc)
			bb := ws.b
			switch {
			case b.packed != nil:
				// Packed with every column from 0: this block's panels
				// start at column jc (a multiple of nr).
				bb = b.packed.blocks[pc/kn.kc][jc*kb:]
			case b.bf16 != nil:
				kn.packBF16(ws.b, ws.wide, b.trans, b.bf16, b.ld, pc, kb, jc, nb)
			default:
				kn.packB(ws.b, b.trans, b.f32, b.ld, pc, kb, jc, nb)
			}
			// The first k block applies beta; later ones add to C.
			accumulate, bet := beta != 0, beta
			if pc > 0 {
				accumulate, bet = true, 1
			}
			for ic := i0; ic < i1; ic += kn.mc {
				mb := min(kn.mc, i1-ic)
				kn.packA(ws.a, transA, a, lda, ic, mb, pc, kb, alpha)
				for jr := 0; jr < nb; jr += nr {
					bp := bb[jr*kb : jr*kb+nr*kb]
					cols := min(nr, nb-jr)
					for ir := 0; ir < mb; ir += mr {
						ap := ws.a[ir*kb : ir*kb+mr*kb]
						rows := min(mr, mb-ir)
						off := (ic+ir)*ldc + jc + jr
						if rows == mr && cols == nr {
							kn.micro(kb, ap, bp, c[off:], ldc, bet, accumulate)
							continue
						}
						if cols == nr && kn.rows != nil {
							kn.rows(rows, kb, ap, bp, c[off:], ldc, bet, accumulate)
							continue
						}
						// Edge tile: compute the whole tile into scratch,
						// then merge the part that lies inside C.
						kn.micro(kb, ap, bp, ws.tile, nr, 0, false)
						for i := 0; i < rows; i++ {
							ci := c[off+i*ldc : off+i*ldc+cols]
							ti := ws.tile[i*nr : i*nr+cols]
							if accumulate {
								for j, t := range ti {
									ci[j] = bet*ci[j] + t
								}
							} else {
								copy(ci, ti)
							}
						}
					}
				}
			}
		}
	}
}

// packA packs rows [i0,i0+mb) and depth [p0,p0+kb) of op(A), times alpha,
// into mr-tall micro-panels: panel q holds rows q*mr… as dst[q*mr*kb + p*mr + i].
// Rows past mb are zero.
func (kn *kernel) packA(dst []float32, transA bool, a []float32, lda, i0, mb, p0, kb int, alpha float32) {
	mr := kn.mr
	for ir := 0; ir < mb; ir += mr {
		rows := min(mr, mb-ir)
		panel := dst[ir*kb : ir*kb+mr*kb]
		if rows == mr && kn.panelA != nil {
			off := (i0+ir)*lda + p0
			if transA {
				off = p0*lda + i0 + ir
			}
			if kn.panelA(transA, kb, a[off:], lda, panel, alpha) {
				continue
			}
		}
		if transA {
			// op(A)[i][p] = a[p*lda+i]: each depth step is a contiguous run.
			for p := 0; p < kb; p++ {
				src := a[(p0+p)*lda+i0+ir:][:rows]
				d := panel[p*mr : p*mr+mr]
				for i, v := range src {
					d[i] = alpha * v
				}
				clear(d[rows:])
			}
			continue
		}
		for i := 0; i < rows; i++ {
			src := a[(i0+ir+i)*lda+p0:][:kb]
			d := panel[i:]
			for p, v := range src {
				d[p*mr] = alpha * v
			}
		}
		for i := rows; i < mr; i++ {
			for p := 0; p < kb; p++ {
				panel[p*mr+i] = 0
			}
		}
	}
}

// packB packs depth [p0,p0+kb) and columns [j0,j0+nb) of op(B) into
// nr-wide micro-panels: panel q holds columns q*nr… as dst[q*nr*kb + p*nr + j].
// Columns past nb are zero.
func (kn *kernel) packB(dst []float32, transB bool, b []float32, ldb, p0, kb, j0, nb int) {
	nr := kn.nr
	for jr := 0; jr < nb; jr += nr {
		cols := min(nr, nb-jr)
		panel := dst[jr*kb : jr*kb+nr*kb]
		if cols == nr && kn.panelB != nil {
			off := p0*ldb + j0 + jr
			if transB {
				off = (j0+jr)*ldb + p0
			}
			if kn.panelB(transB, kb, b[off:], ldb, panel) {
				continue
			}
		}
		if !transB {
			for p := 0; p < kb; p++ {
				d := panel[p*nr : p*nr+nr]
				copy(d, b[(p0+p)*ldb+j0+jr:][:cols])
				clear(d[cols:])
			}
			continue
		}
		// op(B)[p][j] = b[j*ldb+p]: read each stored row once, scatter it
		// down one column of the panel.
		for j := 0; j < cols; j++ {
			src := b[(j0+jr+j)*ldb+p0:][:kb]
			d := panel[j:]
			for p, v := range src {
				d[p*nr] = v
			}
		}
		for j := cols; j < nr; j++ {
			for p := 0; p < kb; p++ {
				panel[p*nr+j] = 0
			}
		}
	}
}

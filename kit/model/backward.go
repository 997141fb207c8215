package model

import (
	"fmt"
	"math"

	"github.com/warm-rm/warm/internal/parallel"
	"github.com/warm-rm/warm/kit/gemm"
)

// BackwardRewards accumulates into Param.G the gradient of a loss whose
// derivative with respect to each sequence's reward is dR[b].
func (p *Pass) BackwardRewards(dR []float32) { p.Backward(dR, nil) }

// BackwardLogProbs accumulates into Param.G the gradient of a loss whose
// derivative with respect to TokenLogProbs()[b][t] is dLP[b][t] (per-token
// weights, e.g. advantages for REINFORCE).
func (p *Pass) BackwardLogProbs(dLP [][]float32) { p.Backward(nil, dLP) }

// Backward does both heads in one body pass; either argument may be nil.
// Gradients accumulate (call Model.ZeroGrad between steps). Calling it
// twice on one Pass adds both gradients, as the body pass is linear in the
// head gradient.
func (p *Pass) Backward(dR []float32, dLP [][]float32) {
	m := p.m
	c := m.Config
	C, n := c.NEmbd, p.n
	if !p.keep {
		panic("model: Backward on an inference-only pass")
	}
	p.check()
	ws := &m.ws
	ws.dlnf = grow(ws.dlnf, n*C)
	clear(ws.dlnf)
	if dR != nil {
		if len(dR) != len(p.seqs) {
			panic(fmt.Sprintf("model: BackwardRewards got %d gradients for %d sequences", len(dR), len(p.seqs)))
		}
		if m.score == nil {
			panic("model: BackwardRewards on a model without score.weight")
		}
		for b, d := range dR {
			r := p.lastRow(b)
			h := ws.lnf[r*C : (r+1)*C]
			dh := ws.dlnf[r*C : (r+1)*C]
			for j := range h {
				m.score.G[j] += d * h[j]
				dh[j] += d * m.score.W[j]
			}
		}
	}
	if dLP != nil {
		p.lmHeadBackward(dLP)
	}
	if p.mode.HeadOnly {
		return
	}
	p.bodyBackward()
}

// lmHeadBackward recomputes the logits chunk by chunk: with
// LP = l[y] - logsumexp(l), dLP/dl_j = [j=y] - softmax(l)_j.
func (p *Pass) lmHeadBackward(dLP [][]float32) {
	m := p.m
	C, V := m.Config.NEmbd, m.Config.VocabSize
	if len(dLP) != len(p.seqs) {
		panic(fmt.Sprintf("model: BackwardLogProbs got %d rows for %d sequences", len(dLP), len(p.seqs)))
	}
	if p.lse == nil {
		p.TokenLogProbs()
	}
	g := make([]float32, p.n) // per packed row
	for b, s := range p.seqs {
		if len(dLP[b]) != len(s)-1 {
			panic(fmt.Sprintf("model: BackwardLogProbs row %d has %d values, want %d", b, len(dLP[b]), len(s)-1))
		}
		copy(g[p.offs[b]:], dLP[b])
	}
	next := p.nextTokens()
	it := p.mode.invTemp() // logits are scaled by 1/T (Mode.Temperature)
	ws := &m.ws
	// The rows TokenLogProbsFrom computed: only they can carry a
	// gradient, and only they are recomputed (with every row computed,
	// every row is, as before).
	from := p.lpFrom
	rows := p.lmRows(from)
	if from != nil {
		for b, s := range p.seqs {
			for t := 0; t < min(from[b], len(s)-1); t++ {
				if dLP[b][t] != 0 {
					panic(fmt.Sprintf("model: BackwardLogProbs: gradient at sequence %d position %d, below its TokenLogProbsFrom offset %d", b, t, from[b]))
				}
			}
		}
	}
	ws.logits = grow(ws.logits, lmChunk*V)
	ws.dlnSel = grow(ws.dlnSel, lmChunk*C)
	for k0 := 0; k0 < len(rows); k0 += lmChunk {
		sel := rows[k0:min(k0+lmChunk, len(rows))]
		R := len(sel)
		lg := ws.logits[:R*V]
		h, ld := p.gatherLnf(sel)
		gemm.Sgemm(false, true, R, V, C, it, h, ld, m.wte.W, C, 0, lg, V)
		parallel.Range(R, 8, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				row := lg[i*V : (i+1)*V]
				r := sel[i]
				gi, lse := g[r], p.lse[r]
				if gi == 0 {
					clear(row)
					continue
				}
				expSum(row, lse) // softmax probabilities
				for j, v := range row {
					row[j] = -gi * v
				}
				row[next[r]] += gi
			}
		})
		// dh += dlogits·wte ; dwte += dlogitsᵀ·h
		// z = it·h·wteᵀ: dh += it·dz·wte ; dwte += it·dzᵀ·h.
		if sel[R-1]-sel[0] == R-1 { // consecutive rows: accumulate in place
			gemm.Sgemm(false, false, R, C, V, it, lg, V, m.wte.W, C, 1, ws.dlnf[sel[0]*C:], C)
		} else {
			dh := ws.dlnSel[:R*C]
			gemm.Sgemm(false, false, R, C, V, it, lg, V, m.wte.W, C, 0, dh, C)
			for i, r := range sel {
				add(ws.dlnf[r*C:(r+1)*C], dh[i*C:(i+1)*C])
			}
		}
		gemm.Sgemm(true, false, V, C, R, it, lg, V, h, ld, 1, m.wte.G, C)
	}
}

// bodyBackward propagates ws.dlnf through ln_f, the blocks and the
// embeddings.
func (p *Pass) bodyBackward() {
	m := p.m
	c := m.Config
	C, F, L, n := c.NEmbd, c.Inner(), c.NLayer, p.n
	ws := &m.ws
	ws.dres = grow(ws.dres, n*C)
	ws.dtmp = grow(ws.dtmp, n*C)
	ws.dln = grow(ws.dln, n*C)
	ws.datty = grow(ws.datty, n*C)
	ws.dqkv = grow(ws.dqkv, n*3*C)
	ws.dfch = grow(ws.dfch, n*F)
	ws.lnPartial = grow(ws.lnPartial, lnPartialSize(n, C))
	train := p.mode.Train

	dres := ws.dres
	clear(dres)
	rows := n // rows of ln_f and of the last block's outputs
	if p.lastOnly {
		rows = len(p.seqs)
	}
	layerNormBackward(dres, m.lnfW.G, m.lnfB.G, ws.dlnf, ws.resid[L], m.lnfW.W, ws.lnfMean, ws.lnfRstd, rows, C, ws.lnPartial)
	for l := L - 1; l >= 0; l-- {
		la := &ws.layers[l]
		if p.lastOnly && l == L-1 {
			// The last block ran for the last rows only (lastBlock): its
			// output side backward on those B rows, the attention of the
			// last rows into every row's q, k, v, then the residual's
			// gradient spread back to the packed rows before c_attn's
			// and ln_1's backward, which cover every row.
			m.blockOutBackward(l, rows, dres, la, train)
			m.lastAttentionBackward(p, la)
			B := len(p.seqs)
			ws.dlast = grow(ws.dlast, B*C)
			copy(ws.dlast, dres[:B*C])
			clear(dres[:n*C])
			for b := range p.seqs {
				r := p.offs[b+1] - 1
				copy(dres[r*C:(r+1)*C], ws.dlast[b*C:(b+1)*C])
			}
			m.blockQKVBackward(l, n, dres, la)
			continue
		}
		m.blockOutBackward(l, n, dres, la, train)
		m.attentionBackward(p, la)
		m.blockQKVBackward(l, n, dres, la)
	}
	if train && c.EmbdPdrop > 0 {
		mulInto(dres, dres, ws.embMask)
	}
	// Embedding gradients: scatter-add by token and position. Columns are
	// split across workers so repeated tokens never race.
	parallel.Range(C, 16, func(lo, hi int) {
		for b, s := range p.seqs {
			for t, tok := range s {
				d := dres[(p.offs[b]+t)*C:]
				te := m.wte.G[tok*C:]
				pe := m.wpe.G[t*C:]
				for j := lo; j < hi; j++ {
					te[j] += d[j]
					pe[j] += d[j]
				}
			}
		}
	})
}

// blockOutBackward is blockOut's backward over n rows: from dres (the
// gradient at the block's output, rows 0…n-1) to ws.datty, with dres
// becoming the gradient at res2's residual input (accumulated).
func (m *Model) blockOutBackward(l, n int, dres []float32, la *layerActs, train bool) {
	c := m.Config
	C, F := c.NEmbd, c.Inner()
	ws, lp := &m.ws, &m.layers[l]
	// out = res2 + drop(fcProj(gelu(fc(ln2(res2)))))
	dproj := dres
	if train && c.ResidPdrop > 0 {
		mulInto(ws.dtmp[:n*C], dres[:n*C], la.mask2[:n*C])
		dproj = ws.dtmp
	}
	linearBackward(ws.dfch, lp.fcProjW.G, lp.fcProjB.G, dproj, la.fchGelu, lp.fcProjW.W, n, F, C)
	geluBackward(ws.dfch[:n*F], la.geluGrad[:n*F], ws.dfch[:n*F])
	linearBackward(ws.dln, lp.fcW.G, lp.fcB.G, ws.dfch, la.ln2, lp.fcW.W, n, C, F)
	layerNormBackward(dres, lp.ln2W.G, lp.ln2B.G, ws.dln, la.res2, lp.ln2W.W, la.ln2Mean, la.ln2Rstd, n, C, ws.lnPartial)
	// res2 = in + drop(attnProj(attn(ln1(in))))
	dproj = dres
	if train && c.ResidPdrop > 0 {
		mulInto(ws.dtmp[:n*C], dres[:n*C], la.mask1[:n*C])
		dproj = ws.dtmp
	}
	linearBackward(ws.datty, lp.attnProjW.G, lp.attnProjB.G, dproj, la.atty, lp.attnProjW.W, n, C, C)
}

// blockQKVBackward is blockQKV's backward over n rows: ws.dqkv through
// c_attn and ln_1, accumulated into dres.
func (m *Model) blockQKVBackward(l, n int, dres []float32, la *layerActs) {
	c := m.Config
	C := c.NEmbd
	ws, lp := &m.ws, &m.layers[l]
	linearBackward(ws.dln, lp.attnW.G, lp.attnB.G, ws.dqkv, la.ln1, lp.attnW.W, n, C, 3*C)
	layerNormBackward(dres, lp.ln1W.G, lp.ln1B.G, ws.dln, ws.resid[l], lp.ln1W.W, la.ln1Mean, la.ln1Rstd, n, C, ws.lnPartial)
}

// lastAttentionBackward is lastBlock's attention backward: ws.datty row b
// is the gradient at sequence b's last row; it writes ws.dqkv for every
// packed row (q only at the last rows, k and v wherever attended).
func (m *Model) lastAttentionBackward(p *Pass, la *layerActs) {
	c := m.Config
	C, H, hd := c.NEmbd, c.NHead, c.HeadDim()
	scale := float32(1 / math.Sqrt(float64(hd)))
	drop := p.mode.Train && c.AttnPdrop > 0
	maxT := 0
	for _, s := range p.seqs {
		maxT = max(maxT, len(s))
	}
	scratch := m.ws.scratchFor(2 * maxT)
	ws := &m.ws
	clear(ws.dqkv[:p.n*3*C])
	parallel.Jobs(len(p.seqs)*H, func(w, job int) {
		b, h := job/H, job%H
		T, off := len(p.seqs[b]), p.offs[b]
		base := off*3*C + h*hd
		last := base + (T-1)*3*C
		q, k, v := la.qkv[last:], la.qkv[base+C:], la.qkv[base+2*C:]
		dq, dk, dv := ws.dqkv[last:], ws.dqkv[base+C:], ws.dqkv[base+2*C:]
		dy := ws.datty[b*C+h*hd:]
		P := la.att[p.attOffs[b]+h*T*T+(T-1)*T : p.attOffs[b]+(h+1)*T*T]
		dP, Pd := scratch[w][:T], scratch[w][maxT:maxT+T]
		copy(Pd, P)
		var mask []float32
		if drop {
			mask = la.attMask[p.attOffs[b]+h*T*T+(T-1)*T : p.attOffs[b]+(h+1)*T*T]
			for j := range Pd {
				Pd[j] *= mask[j]
			}
		}
		// y = Pd·v: dPd = dy·vᵀ, dv = Pdᵀ·dy (a rank-1 update: one query)
		gemm.SgemmSerial(false, true, 1, T, hd, 1, dy, C, v, 3*C, 0, dP, T)
		gemm.SgemmSerial(true, false, T, hd, 1, 1, Pd, T, dy, C, 0, dv, 3*C)
		// softmax backward through the dropout mask:
		// dS_j = P_j (dP_j − Σ_k P_k dP_k)
		if drop {
			for j := range dP {
				dP[j] *= mask[j]
			}
		}
		var dot float32
		for j, pj := range P {
			dot += pj * dP[j]
		}
		for j, pj := range P {
			dP[j] = pj * (dP[j] - dot)
		}
		// S = scale·q·kᵀ: dq = scale·dS·k, dk = scale·dSᵀ·q
		gemm.SgemmSerial(false, false, 1, hd, T, scale, dP, T, k, 3*C, 0, dq, 3*C)
		gemm.SgemmSerial(true, false, T, hd, 1, scale, dP, T, q, 3*C, 0, dk, 3*C)
	})
}

// attentionBackward reads ws.datty and writes ws.dqkv (every element: each
// (sequence, head) job owns its rows and columns).
func (m *Model) attentionBackward(p *Pass, la *layerActs) {
	c := m.Config
	C, H, hd := c.NEmbd, c.NHead, c.HeadDim()
	scale := float32(1 / math.Sqrt(float64(hd)))
	drop := p.mode.Train && c.AttnPdrop > 0
	maxT := 0
	for _, s := range p.seqs {
		maxT = max(maxT, len(s))
	}
	scratch := m.ws.scratchFor(2 * maxT * maxT)
	ws := &m.ws
	parallel.Jobs(len(p.seqs)*H, func(w, job int) {
		b, h := job/H, job%H
		T, off := len(p.seqs[b]), p.offs[b]
		base := off*3*C + h*hd
		q, k, v := la.qkv[base:], la.qkv[base+C:], la.qkv[base+2*C:]
		dq, dk, dv := ws.dqkv[base:], ws.dqkv[base+C:], ws.dqkv[base+2*C:]
		dy := ws.datty[off*C+h*hd:]
		P := la.att[p.attOffs[b]+h*T*T : p.attOffs[b]+(h+1)*T*T]
		dP := scratch[w][:T*T]
		Pd := P
		var mask []float32
		if drop {
			mask = la.attMask[p.attOffs[b]+h*T*T : p.attOffs[b]+(h+1)*T*T]
			Pd = scratch[w][T*T : 2*T*T]
		}
		// dv and dk accumulate over row blocks.
		for t := 0; t < T; t++ {
			clear(dv[t*3*C : t*3*C+hd])
			clear(dk[t*3*C : t*3*C+hd])
		}
		for r0 := 0; r0 < T; r0 += attnBlock {
			r1 := min(r0+attnBlock, T)
			rb := r1 - r0
			if drop {
				for i := r0; i < r1; i++ {
					pr, mr, dr := P[i*T:i*T+i+1], mask[i*T:i*T+i+1], Pd[i*T:(i+1)*T]
					for j, v := range pr {
						dr[j] = v * mr[j]
					}
					clear(dr[i+1:])
				}
			}
			// y = Pd·v: dPd = dy·vᵀ, dv += Pdᵀ·dy
			gemm.Sgemm(false, true, rb, r1, hd, 1, dy[r0*C:], C, v, 3*C, 0, dP[r0*T:], T)
			gemm.Sgemm(true, false, r1, hd, rb, 1, Pd[r0*T:], T, dy[r0*C:], C, 1, dv, 3*C)
			// softmax backward (through the dropout mask), causal part only:
			// dS_ij = P_ij (dP_ij - Σ_k P_ik dP_ik)
			for i := r0; i < r1; i++ {
				pr, dr := P[i*T:(i+1)*T], dP[i*T:(i+1)*T]
				if drop {
					mr := mask[i*T : (i+1)*T]
					for j := 0; j <= i; j++ {
						dr[j] *= mr[j]
					}
				}
				var dot float32
				for j := 0; j <= i; j++ {
					dot += pr[j] * dr[j]
				}
				for j := 0; j <= i; j++ {
					dr[j] = pr[j] * (dr[j] - dot)
				}
				clear(dr[i+1 : r1])
			}
			// S = scale·q·kᵀ: dq = scale·dS·k, dk += scale·dSᵀ·q
			gemm.Sgemm(false, false, rb, hd, r1, scale, dP[r0*T:], T, k, 3*C, 0, dq[r0*3*C:], 3*C)
			gemm.Sgemm(true, false, r1, hd, rb, scale, dP[r0*T:], T, q[r0*3*C:], 3*C, 1, dk, 3*C)
		}
	})
}

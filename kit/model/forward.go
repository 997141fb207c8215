package model

import (
	"fmt"
	"math"
	"runtime"

	"github.com/warm-rm/warm/internal/parallel"
	"github.com/warm-rm/warm/kit/gemm"
)

// Mode selects training (dropout on, with masks drawn from Seed) or eval.
// HeadOnly makes the backward pass stop at the heads: the body gets no
// gradient and costs nothing (linear probing). RewardOnly says the pass
// serves the reward head only (Rewards, Features, BackwardRewards): the
// last block then runs past its keys and values for each sequence's last
// row only, the one row the head reads, forward and backward — about a
// fifth of the body's work at 4 layers, with the same rewards and
// gradients (the other rows' last-block outputs reach nothing). The LM
// head's methods panic on such a pass.
type Mode struct {
	Train      bool
	Seed       uint64
	HeadOnly   bool
	RewardOnly bool
	// Temperature, when > 0 and ≠ 1, divides the LM-head logits:
	// TokenLogProbs (and their backward) are log-softmax(logits/T), the
	// log-probabilities of sampling at temperature T (what RL at T needs
	// for its gradient and KL).
	Temperature float32
}

// invTemp is the factor on the LM-head logits (1/T, or 1).
func (md Mode) invTemp() float32 {
	if md.Temperature > 0 {
		return 1 / md.Temperature
	}
	return 1
}

// layerActs are one block's saved activations, [n, ·] row-major over the
// packed tokens.
type layerActs struct {
	ln1, ln1Mean, ln1Rstd []float32
	qkv                   []float32 // [n, 3C]: q | k | v, heads contiguous in each
	att                   []float32 // per (seq, head): T×T softmax probabilities (before dropout)
	attMask               []float32 // same layout: dropout keep-scales (train only)
	atty                  []float32 // [n, C] attention output before c_proj
	mask1                 []float32 // resid dropout after attn c_proj
	res2                  []float32 // residual stream after attention
	ln2, ln2Mean, ln2Rstd []float32
	fch, fchGelu          []float32 // [n, F]
	geluGrad              []float32 // [n, F] gelu'(fch), saved for backward
	mask2                 []float32 // resid dropout after mlp c_proj
	// packs, when set, are the layer's four weight matrices prepacked for
	// gemm (generation's decode steps: a few rows against every weight).
	packs *layerPacks
}

// layerPacks are one block's weights packed once for many small products:
// c_attn, attn c_proj, c_fc, mlp c_proj.
type layerPacks [4]*gemm.Packed

// packLayer packs block l's weights.
func (m *Model) packLayer(l int) *layerPacks {
	C, F := m.Config.NEmbd, m.Config.Inner()
	lp := &m.layers[l]
	return &layerPacks{
		gemm.PackB(false, C, 3*C, lp.attnW.W, 3*C),
		gemm.PackB(false, C, C, lp.attnProjW.W, C),
		gemm.PackB(false, C, F, lp.fcW.W, F),
		gemm.PackB(false, F, C, lp.fcProjW.W, C),
	}
}

// pack is weight i's Packed, nil without packs.
func (la *layerActs) pack(i int) *gemm.Packed {
	if la.packs == nil {
		return nil
	}
	return la.packs[i]
}

// workspace holds every buffer a pass needs, grown to the largest batch
// seen and then reused, so steady-state training does not allocate.
type workspace struct {
	gen      uint64      // forward passes so far: a Pass checks it is still current
	resid    [][]float32 // L+1 residual streams; resid[0] = embeddings
	embMask  []float32
	layers   []layerActs
	tmp      []float32 // [n, C] c_proj outputs before the residual add
	lnf      []float32
	lnSel    []float32 // LM head: selected lnf rows, gathered (gatherLnf)
	dlnSel   []float32 // their gradient, before the scatter into dlnf
	lastIn   []float32 // RewardOnly: the last block's input at the last rows
	dlast    []float32 // RewardOnly backward: the residual gradient at the last rows
	lnfMean  []float32
	lnfRstd  []float32
	rewards  []float32
	features [][]float32

	// backward
	dres, dtmp, dln, datty, dlnf []float32
	dqkv, dfch                   []float32
	lnPartial                    []float32
	scratch                      [][]float32 // per worker
	logits                       []float32   // LM head chunk
}

// Pass is one forward pass over a packed batch. It refers to the model's
// shared buffers: it is valid until the model's next Forward, Rewards,
// TokenLogProbs or Generate (using it later panics). Rewards and
// TokenLogProbs results, once computed, stay valid.
type Pass struct {
	m        *Model
	seqs     [][]int
	offs     []int // offs[b] is the first packed row of seq b; offs[B] = n
	attOffs  []int // start of seq b's H·T·T attention block
	n        int
	mode     Mode
	keep     bool   // activations of every block kept (backward possible)
	gen      uint64 // workspace generation this pass's activations live in
	rewards  []float32
	lse      []float32 // LM head: log-sum-exp per packed row (NaN where not computed)
	logprobs [][]float32
	lpFrom   []int // TokenLogProbsFrom's from (nil: every position)
	// parent (prefix-shared scoring, nil otherwise): parent[b] ≥ 0 makes
	// sequence b the continuation of sequence parent[b], whose rows are
	// its first positions: b's positions start after them and its
	// attention reads their keys and values (see rewardsShared).
	parent []int
	// lastOnly (Mode.RewardOnly): the last block's outputs and ln_f hold
	// each sequence's last row only, row b for sequence b.
	lastOnly bool
}

// lmChunk is how many rows of LM-head logits exist at once: the vocab ×
// rows matrix is the largest in the model and is recomputed in backward
// rather than stored.
const lmChunk = 256

// Forward runs the transformer body over seqs (each 1…n_positions token
// ids) and keeps what backward needs. Heads are computed on demand by the
// Pass methods. It panics on an empty or over-long sequence or an
// out-of-range token: callers validate data first.
func (m *Model) Forward(seqs [][]int, mode Mode) *Pass { return m.forward(seqs, mode, true, nil) }

// forward with keep=false is inference only: every block reuses one set of
// activation buffers and two residual streams, so memory does not grow
// with depth; such a Pass cannot run backward. onQKV, when set, sees each
// block's q|k|v rows as soon as they exist (the KV cache's prefill).
func (m *Model) forward(seqs [][]int, mode Mode, keep bool, onQKV func(l int, p *Pass, qkv []float32)) *Pass {
	return m.forwardShared(seqs, nil, mode, keep, onQKV)
}

// forwardShared is forward where parent (nil: none) lets sequences
// continue others: parent[b] = a < b makes seqs[b] the tokens after
// seqs[a] (which must have no parent itself), so a shared prompt's rows
// are computed once for all its continuations. Inference only.
func (m *Model) forwardShared(seqs [][]int, parent []int, mode Mode, keep bool, onQKV func(l int, p *Pass, qkv []float32)) *Pass {
	lastOnly := mode.RewardOnly
	c := m.Config
	C, F, H, L := c.NEmbd, c.Inner(), c.NHead, c.NLayer
	p := &Pass{m: m, seqs: seqs, mode: mode, keep: keep, parent: parent}
	if parent != nil && (mode.Train || keep || len(parent) != len(seqs)) {
		panic("model: prefix-shared passes are inference only, with one parent entry per sequence")
	}
	p.offs = make([]int, len(seqs)+1)
	p.attOffs = make([]int, len(seqs)+1)
	for b, s := range seqs {
		if len(s) == 0 || p.pos0(b)+len(s) > c.NPositions {
			panic(fmt.Sprintf("model.Forward: sequence %d has %d tokens after %d (want 1…%d in all)", b, len(s), p.pos0(b), c.NPositions))
		}
		if a := p.parentOf(b); a >= 0 && (a >= b || p.parentOf(a) >= 0) {
			panic(fmt.Sprintf("model.Forward: sequence %d continues %d, which is not an earlier root sequence", b, a))
		}
		for _, t := range s {
			if t < 0 || t >= c.VocabSize {
				panic(fmt.Sprintf("model.Forward: sequence %d has token %d outside vocab [0,%d)", b, t, c.VocabSize))
			}
		}
		p.offs[b+1] = p.offs[b] + len(s)
		p.attOffs[b+1] = p.attOffs[b] + H*len(s)*(p.pos0(b)+len(s))
	}
	n, na := p.offs[len(seqs)], p.attOffs[len(seqs)]
	p.n = n
	train := mode.Train
	ws := &m.ws
	ws.gen++
	p.gen = ws.gen

	// Embeddings: wte[token] + wpe[position], positions from 0 per sequence.
	if len(ws.resid) != L+1 {
		ws.resid = make([][]float32, L+1)
		ws.layers = make([]layerActs, L)
	}
	// resid[l] is block l's input; without keep, blocks alternate between
	// resid[0] and resid[1].
	residIdx := func(l int) int {
		if keep {
			return l
		}
		return l % 2
	}
	for i := range ws.resid {
		if keep || i < 2 {
			ws.resid[i] = grow(ws.resid[i], n*C)
		}
	}
	x := ws.resid[0]
	parallel.Jobs(len(seqs), func(_, b int) {
		p0 := p.pos0(b)
		for t, tok := range seqs[b] {
			xi := x[(p.offs[b]+t)*C : (p.offs[b]+t+1)*C]
			te := m.wte.W[tok*C : (tok+1)*C]
			pe := m.wpe.W[(p0+t)*C : (p0+t+1)*C]
			for j := range xi {
				xi[j] = te[j] + pe[j]
			}
		}
	})
	if train && c.EmbdPdrop > 0 {
		ws.embMask = grow(ws.embMask, n*C)
		fillDropout(ws.embMask, n, C, c.EmbdPdrop, mode.Seed, 1)
		mulInto(x, x, ws.embMask)
	}
	ws.tmp = grow(ws.tmp, n*C)
	for l := 0; l < L; l++ {
		la := &ws.layers[0]
		if keep {
			la = &ws.layers[l]
		}
		in := ws.resid[residIdx(l)]
		la.ln1 = grow(la.ln1, n*C)
		la.ln1Mean, la.ln1Rstd = grow(la.ln1Mean, n), grow(la.ln1Rstd, n)
		la.qkv = grow(la.qkv, n*3*C)
		la.att = grow(la.att, na)
		la.atty = grow(la.atty, n*C)
		la.res2 = grow(la.res2, n*C)
		la.ln2 = grow(la.ln2, n*C)
		la.ln2Mean, la.ln2Rstd = grow(la.ln2Mean, n), grow(la.ln2Rstd, n)
		la.fch, la.fchGelu = grow(la.fch, n*F), grow(la.fchGelu, n*F)
		var geluGrad []float32 // gelu' is only needed by backward
		if keep {
			la.geluGrad = grow(la.geluGrad, n*F)
			geluGrad = la.geluGrad
		}
		site := uint64(16 + 4*l)
		// Dropout masks are drawn per (seed, site, row): the order in which
		// they are filled does not matter.
		var mask1, mask2 []float32
		if train && c.ResidPdrop > 0 {
			la.mask1, la.mask2 = grow(la.mask1, n*C), grow(la.mask2, n*C)
			fillDropout(la.mask1, n, C, c.ResidPdrop, mode.Seed, site+1)
			fillDropout(la.mask2, n, C, c.ResidPdrop, mode.Seed, site+2)
			mask1, mask2 = la.mask1, la.mask2
		}
		if lastOnly && l == L-1 {
			m.lastBlock(p, la, in, ws.resid[residIdx(L)], geluGrad, mask1, mask2, site)
			break
		}
		m.block(l, n, in, ws.resid[residIdx(l+1)], ws.tmp, la, geluGrad, mask1, mask2, func() {
			if onQKV != nil {
				onQKV(l, p, la.qkv)
			}
			if train && c.AttnPdrop > 0 {
				la.attMask = grow(la.attMask, na)
			}
			m.attentionForward(p, la, site)
		})
	}
	rows := n
	if lastOnly {
		rows = len(seqs)
		p.lastOnly = true
	}
	ws.lnf = grow(ws.lnf, rows*C)
	ws.lnfMean, ws.lnfRstd = grow(ws.lnfMean, rows), grow(ws.lnfRstd, rows)
	layerNormForward(ws.lnf, ws.lnfMean, ws.lnfRstd, ws.resid[residIdx(L)], m.lnfW.W, m.lnfB.W, rows, C, c.LayerNormEps)
	return p
}

// lastBlock is the last block of a RewardOnly pass: ln_1 and c_attn for
// every row (the last rows attend to all keys and values), then attention,
// c_proj, MLP and residuals for each sequence's last row only, compacted:
// out row b (and la.atty, res2, ln2, fch rows b) is sequence b's last
// row. The dropout masks are drawn as for the full block (the same
// streams), and the last rows' are kept: attention's in P's last row,
// the residual ones compacted to rows b of mask1 and mask2.
func (m *Model) lastBlock(p *Pass, la *layerActs, in, out, geluGrad, mask1, mask2 []float32, site uint64) {
	c := m.Config
	C, H, hd, l := c.NEmbd, c.NHead, c.HeadDim(), c.NLayer-1
	B := len(p.seqs)
	m.blockQKV(l, p.n, in, la)
	scale := float32(1 / math.Sqrt(float64(hd)))
	dropP := float32(0)
	if p.mode.Train {
		dropP = c.AttnPdrop
	}
	if dropP > 0 {
		la.attMask = grow(la.attMask, p.attOffs[B])
	}
	maxT := 0
	for _, s := range p.seqs {
		maxT = max(maxT, len(s))
	}
	scr := m.ws.scratchFor(max(maxT, p.sharedScratch()))
	parallel.Jobs(B*H, func(w, job int) {
		b, h := job/H, job%H
		T, off := len(p.seqs[b]), p.offs[b]
		q := la.qkv[(off+T-1)*3*C+h*hd:]
		k := la.qkv[off*3*C+C+h*hd:]
		v := la.qkv[off*3*C+2*C+h*hd:]
		if P0 := p.pos0(b); P0 > 0 { // a continuation (inference only): see attendShared
			W := P0 + T
			kb, vb := p.sharedKV(la, b, h, scr[w])
			P := la.att[p.attOffs[b]+h*T*W+(T-1)*W : p.attOffs[b]+(h+1)*T*W]
			gemm.SgemmSerial(false, true, 1, W, hd, scale, q, 3*C, kb, hd, 0, P, W)
			softmaxCausalRow(P, W-1)
			gemm.SgemmSerial(false, false, 1, hd, W, 1, P, W, vb, hd, 0, la.atty[b*C+h*hd:], C)
			return
		}
		// P's last row holds the probabilities (backward reads them).
		P := la.att[p.attOffs[b]+h*T*T+(T-1)*T : p.attOffs[b]+(h+1)*T*T]
		gemm.SgemmSerial(false, true, 1, T, hd, scale, q, 3*C, k, 3*C, 0, P, T)
		softmaxCausalRow(P, T-1)
		src := P
		if dropP > 0 {
			mask := la.attMask[p.attOffs[b]+h*T*T : p.attOffs[b]+(h+1)*T*T]
			fillAttnDropout(mask, T, dropP, p.mode.Seed, site, uint64(job))
			src = scr[w][:T]
			for j, pv := range P {
				src[j] = pv * mask[(T-1)*T+j]
			}
		}
		gemm.SgemmSerial(false, false, 1, hd, T, 1, src, T, v, 3*C, 0, la.atty[b*C+h*hd:], C)
	})
	// The last rows' block inputs and residual masks, compacted (row b
	// comes from row lastRow(b) ≥ b: copying in order reads each source
	// before it is overwritten).
	m.ws.lastIn = grow(m.ws.lastIn, B*C)
	x := m.ws.lastIn
	for b := range p.seqs {
		r := p.offs[b+1] - 1
		copy(x[b*C:(b+1)*C], in[r*C:(r+1)*C])
		for _, mk := range [][]float32{mask1, mask2} {
			if mk != nil {
				copy(mk[b*C:(b+1)*C], mk[r*C:(r+1)*C])
			}
		}
	}
	m.blockOut(l, B, x, out, m.ws.tmp, la, geluGrad, mask1, mask2)
}

// block is transformer block l over n packed rows, the one implementation
// that training, scoring and generation share: in → out through la's
// buffers (each at least n rows; tmp n×C scratch). attend computes la.atty
// from la.qkv (full causal attention over packed sequences, or one new
// row against the KV cache). geluGrad (backward's gelu'), mask1 and mask2
// (residual dropout) may be nil. out may alias in, and la.res2 may alias
// both (generation updates the residual stream in place).
func (m *Model) block(l, n int, in, out, tmp []float32, la *layerActs, geluGrad, mask1, mask2 []float32, attend func()) {
	m.blockQKV(l, n, in, la)
	attend()
	m.blockOut(l, n, in, out, tmp, la, geluGrad, mask1, mask2)
}

// blockQKV is block l up to the attention: la.qkv = c_attn(ln_1(in)).
func (m *Model) blockQKV(l, n int, in []float32, la *layerActs) {
	c := m.Config
	C := c.NEmbd
	lp := &m.layers[l]
	layerNormForward(la.ln1, la.ln1Mean, la.ln1Rstd, in, lp.ln1W.W, lp.ln1B.W, n, C, c.LayerNormEps)
	linearForwardPacked(la.qkv, la.ln1, lp.attnW.W, lp.attnB.W, la.pack(0), n, C, 3*C)
}

// blockOut is block l after the attention, from la.atty and the block's
// input in to out.
func (m *Model) blockOut(l, n int, in, out, tmp []float32, la *layerActs, geluGrad, mask1, mask2 []float32) {
	c := m.Config
	C, F := c.NEmbd, c.Inner()
	lp := &m.layers[l]
	linearForwardPacked(tmp, la.atty, lp.attnProjW.W, lp.attnProjB.W, la.pack(1), n, C, C)
	residualAdd(la.res2[:n*C], in, tmp, mask1)
	layerNormForward(la.ln2, la.ln2Mean, la.ln2Rstd, la.res2, lp.ln2W.W, lp.ln2B.W, n, C, c.LayerNormEps)
	linearForwardPacked(la.fch, la.ln2, lp.fcW.W, lp.fcB.W, la.pack(2), n, C, F)
	geluForward(la.fchGelu[:n*F], geluGrad, la.fch[:n*F])
	linearForwardPacked(tmp, la.fchGelu, lp.fcProjW.W, lp.fcProjB.W, la.pack(3), n, F, C)
	residualAdd(out[:n*C], la.res2, tmp, mask2)
}

// scratchFor returns per-worker scratch of at least k floats each.
func (ws *workspace) scratchFor(k int) [][]float32 {
	w := runtime.GOMAXPROCS(0)
	for len(ws.scratch) < w {
		ws.scratch = append(ws.scratch, nil)
	}
	for i := 0; i < w; i++ {
		ws.scratch[i] = grow(ws.scratch[i], k)
	}
	return ws.scratch
}

// attentionForward: for every (sequence, head), S = q·kᵀ/sqrt(hd) with the
// causal mask, P = softmax(S) (saved), y = dropout(P)·v into atty.
func (m *Model) attentionForward(p *Pass, la *layerActs, site uint64) {
	c := m.Config
	C, H, hd := c.NEmbd, c.NHead, c.HeadDim()
	scale := float32(1 / math.Sqrt(float64(hd)))
	dropP := float32(0)
	if p.mode.Train {
		dropP = c.AttnPdrop
	}
	maxT := 0
	for _, s := range p.seqs {
		maxT = max(maxT, len(s))
	}
	var scratch [][]float32
	if dropP > 0 {
		scratch = m.ws.scratchFor(maxT * maxT)
	} else if p.parent != nil {
		scratch = m.ws.scratchFor(p.sharedScratch())
	}
	parallel.Jobs(len(p.seqs)*H, func(w, job int) {
		b, h := job/H, job%H
		T, off := len(p.seqs[b]), p.offs[b]
		q := la.qkv[off*3*C+h*hd:]
		k := la.qkv[off*3*C+C+h*hd:]
		v := la.qkv[off*3*C+2*C+h*hd:]
		if p.pos0(b) > 0 {
			p.attendShared(la, b, h, scale, scratch[w])
			return
		}
		P := la.att[p.attOffs[b]+h*T*T : p.attOffs[b]+(h+1)*T*T]
		y := la.atty[off*C+h*hd:]
		src := P
		var mask []float32
		if dropP > 0 {
			mask = la.attMask[p.attOffs[b]+h*T*T : p.attOffs[b]+(h+1)*T*T]
			fillAttnDropout(mask, T, dropP, p.mode.Seed, site, uint64(job))
			src = scratch[w][:T*T]
		}
		// Causal blocks of rows: rows r0:r1 only see keys 0:r1, so the
		// upper-right blocks are never computed (about 40% fewer flops).
		for r0 := 0; r0 < T; r0 += attnBlock {
			r1 := min(r0+attnBlock, T)
			gemm.Sgemm(false, true, r1-r0, r1, hd, scale, q[r0*3*C:], 3*C, k, 3*C, 0, P[r0*T:], T)
			for i := r0; i < r1; i++ {
				softmaxCausalRow(P[i*T:(i+1)*T], i)
			}
			if mask != nil {
				for i := r0; i < r1; i++ {
					pr, mr, dr := P[i*T:i*T+i+1], mask[i*T:i*T+i+1], src[i*T:(i+1)*T]
					for j, v := range pr {
						dr[j] = v * mr[j]
					}
					clear(dr[i+1:])
				}
			}
			gemm.Sgemm(false, false, r1-r0, hd, r1, 1, src[r0*T:], T, v, 3*C, 0, y[r0*C:], C)
		}
	})
}

// attendShared is attentionForward for continuation b (Pass.parent),
// head h: the products a full forward of parent + b would compute for
// b's rows, on the same operands — keys and values of the whole sequence
// copied contiguous (sharedKV), row blocks at the same absolute
// positions, each against the keys up to its end — so that a reward
// does not depend on the group it was scored in beyond the rounding a
// plain pass already has across batch compositions (test/chaos compares
// a server's answers under load exactly; splitting the sums at the
// prefix broke that).
func (p *Pass) attendShared(la *layerActs, b, h int, scale float32, scr []float32) {
	c := p.m.Config
	C, hd := c.NEmbd, c.HeadDim()
	T, off, P0 := len(p.seqs[b]), p.offs[b], p.pos0(b)
	W := P0 + T
	kb, vb := p.sharedKV(la, b, h, scr)
	q := la.qkv[off*3*C+h*hd:]
	P := la.att[p.attOffs[b]+h*T*W : p.attOffs[b]+(h+1)*T*W] // row i: b's row i, over all W keys
	y := la.atty[off*C+h*hd:]
	for r0 := P0 / attnBlock * attnBlock; r0 < W; r0 += attnBlock {
		r1 := min(r0+attnBlock, W)
		a0 := max(r0, P0) // b's first row in this block (absolute position)
		i0 := a0 - P0
		gemm.Sgemm(false, true, r1-a0, r1, hd, scale, q[i0*3*C:], 3*C, kb, hd, 0, P[i0*W:], W)
		for i := a0; i < r1; i++ {
			softmaxCausalRow(P[(i-P0)*W:(i-P0+1)*W], i)
		}
		gemm.Sgemm(false, false, r1-a0, hd, r1, 1, P[i0*W:], W, vb, hd, 0, y[i0*C:], C)
	}
}

// sharedKV copies head h's keys and values of continuation b's whole
// sequence (its parent's rows, then its own) into scr, contiguous: kb
// and vb, W×hd each.
func (p *Pass) sharedKV(la *layerActs, b, h int, scr []float32) (kb, vb []float32) {
	c := p.m.Config
	C, hd := c.NEmbd, c.HeadDim()
	P0, T := p.pos0(b), len(p.seqs[b])
	W := P0 + T
	kb, vb = scr[:W*hd], scr[W*hd:2*W*hd]
	rows := func(start, n, dst int) {
		for i := 0; i < n; i++ {
			src := la.qkv[(start+i)*3*C+h*hd:]
			copy(kb[(dst+i)*hd:(dst+i+1)*hd], src[C:C+hd])
			copy(vb[(dst+i)*hd:(dst+i+1)*hd], src[2*C:2*C+hd])
		}
	}
	rows(p.offs[p.parent[b]], P0, 0)
	rows(p.offs[b], T, P0)
	return kb, vb
}

// sharedScratch is the per-worker scratch sharedKV needs (0 without
// continuations).
func (p *Pass) sharedScratch() int {
	n := 0
	for b := range p.seqs {
		if P0 := p.pos0(b); P0 > 0 {
			n = max(n, 2*(P0+len(p.seqs[b]))*p.m.Config.HeadDim())
		}
	}
	return n
}

// attnBlock is the row-block size of the causal attention matmuls (a
// variable so tests can make blocks small enough to exercise several).
var attnBlock = 32

// softmaxCausalRow turns row i of the score matrix into probabilities over
// columns 0…i and zeroes the masked columns (HF fills them with the dtype
// minimum, whose exp is 0).
func softmaxCausalRow(row []float32, i int) {
	live := row[:i+1]
	mx, ok := maxVec(live)
	if !ok {
		mx = live[0]
		for _, v := range live[1:] {
			mx = max(mx, v)
		}
	}
	inv := 1 / expSum(live, mx)
	if !scaleVec(live, inv) {
		for j := range live {
			live[j] *= inv
		}
	}
	clear(row[i+1:])
}

// fillAttnDropout fills the causal part (j <= i) of one T×T attention
// block's mask from one stream; the rest is never read.
func fillAttnDropout(mask []float32, T int, p float32, seed, site, row uint64) {
	scale, thr := 1/(1-p), dropThreshold(p)
	r := newRNG(seed, site, row)
	for i := 0; i < T; i++ {
		fillKeep(mask[i*T:i*T+i+1], &r, thr, scale)
	}
}

// check panics when a newer pass has overwritten this one's activations:
// silently reading them would give another batch's numbers.
func (p *Pass) check() {
	if p.gen != p.m.ws.gen {
		panic("model: Pass used after a later Forward/Rewards/TokenLogProbs/Generate on the same model")
	}
}

// needAllRows panics when the pass ran with Mode.RewardOnly: what reads
// every position's state cannot use it.
func (p *Pass) needAllRows(what string) {
	if p.lastOnly {
		panic("model: " + what + " on a Mode.RewardOnly pass (it keeps each sequence's last row only)")
	}
}

// parentOf is the sequence b continues, or −1.
func (p *Pass) parentOf(b int) int {
	if p.parent == nil {
		return -1
	}
	return p.parent[b]
}

// pos0 is sequence b's first position: its parent's length, or 0.
func (p *Pass) pos0(b int) int {
	if a := p.parentOf(b); a >= 0 {
		return len(p.seqs[a])
	}
	return 0
}

// lastRow is the row of ln_f holding sequence b's last token: the reward
// is pooled there (HF pools at the last non-pad token). A RewardOnly pass
// keeps only those rows, row b for sequence b.
func (p *Pass) lastRow(b int) int {
	if p.lastOnly {
		return b
	}
	return p.offs[b+1] - 1
}

// Features returns, per sequence, the last token's hidden state after ln_f:
// what the reward head sees (for linear probing). Views into the pass's
// buffers: copy them to keep them past the next Forward.
func (p *Pass) Features() [][]float32 {
	p.check()
	C := p.m.Config.NEmbd
	out := make([][]float32, len(p.seqs))
	for b := range p.seqs {
		r := p.lastRow(b)
		out[b] = p.m.ws.lnf[r*C : (r+1)*C : (r+1)*C]
	}
	return out
}

// MeanFeatures returns, per sequence, the mean of its hidden states after
// ln_f over positions from..len−1 (all when from ≤ 0; the last one when
// from is past the end): a pooled readout of every token, where Features
// sees only the last (a diagnostic of what the body's token states hold;
// the reward head reads the last token, as HF's).
func (p *Pass) MeanFeatures(from []int) [][]float32 {
	p.check()
	p.needAllRows("MeanFeatures")
	C := p.m.Config.NEmbd
	out := make([][]float32, len(p.seqs))
	for b := range p.seqs {
		lo, hi := p.offs[b], p.offs[b+1]
		if b < len(from) && from[b] > 0 {
			lo = min(lo+from[b], hi-1)
		}
		f := make([]float32, C)
		for r := lo; r < hi; r++ {
			for j, v := range p.m.ws.lnf[r*C : (r+1)*C] {
				f[j] += v
			}
		}
		for j := range f {
			f[j] /= float32(hi - lo)
		}
		out[b] = f
	}
	return out
}

// Rewards returns score·h_last per sequence. It panics without a reward
// head.
func (p *Pass) Rewards() []float32 {
	if p.rewards != nil {
		return p.rewards
	}
	p.check()
	m := p.m
	if m.score == nil {
		panic("model: Rewards on a model without score.weight (call AsRewardModel)")
	}
	C := m.Config.NEmbd
	out := make([]float32, len(p.seqs))
	for b := range p.seqs {
		r := p.lastRow(b)
		h := m.ws.lnf[r*C : (r+1)*C]
		var s float32
		for j, v := range h {
			s += v * m.score.W[j]
		}
		out[b] = s
	}
	p.rewards = out
	return out
}

// TokenLogProbs returns out[b][t] = log p(seqs[b][t+1] | seqs[b][:t+1])
// under the tied LM head (logits = h·wteᵀ, divided by the pass's
// Mode.Temperature), len(seqs[b])-1 values per sequence.
func (p *Pass) TokenLogProbs() [][]float32 { return p.TokenLogProbsFrom(nil) }

// TokenLogProbsFrom is TokenLogProbs computed only at t ≥ from[b] for
// sequence b (0 below): RL needs the response's log-probs, and the
// prompt's rows cost a third of the LM head (the model's largest product)
// for nothing. from nil is every position. A Pass computes its log-probs
// once: a later call returns the first call's.
func (p *Pass) TokenLogProbsFrom(from []int) [][]float32 {
	if p.logprobs != nil {
		return p.logprobs
	}
	p.check()
	p.needAllRows("TokenLogProbs")
	if from != nil && len(from) != len(p.seqs) {
		panic(fmt.Sprintf("model: TokenLogProbsFrom got %d offsets for %d sequences", len(from), len(p.seqs)))
	}
	m := p.m
	C, V := m.Config.NEmbd, m.Config.VocabSize
	p.lse = make([]float32, p.n)
	p.lpFrom = from
	tgt := make([]float32, p.n) // logit of the next token (0 on last rows)
	next := p.nextTokens()
	rows := p.lmRows(from)
	for r := range p.lse {
		p.lse[r] = float32(math.NaN())
	}
	m.ws.logits = grow(m.ws.logits, lmChunk*V)
	for k0 := 0; k0 < len(rows); k0 += lmChunk {
		sel := rows[k0:min(k0+lmChunk, len(rows))]
		R := len(sel)
		lg := m.ws.logits[:R*V]
		h, ld := p.gatherLnf(sel)
		gemm.Sgemm(false, true, R, V, C, p.mode.invTemp(), h, ld, m.wte.W, C, 0, lg, V)
		parallel.Range(R, 8, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				r, row := sel[i], lg[i*V:(i+1)*V]
				if t := next[r]; t >= 0 {
					tgt[r] = row[t]
				}
				p.lse[r] = logSumExp(row) // overwrites row
			}
		})
	}
	out := make([][]float32, len(p.seqs))
	for b, s := range p.seqs {
		o := make([]float32, len(s)-1)
		for t := range o {
			if from != nil && t < from[b] {
				continue
			}
			r := p.offs[b] + t
			o[t] = tgt[r] - p.lse[r]
		}
		out[b] = o
	}
	p.logprobs = out
	return out
}

// lmRows lists the packed rows the LM head computes for TokenLogProbsFrom
// offsets from, in order: every row when from is nil (the chunks, and so
// the bits, of the full computation), else positions from[b] to the
// second-to-last of each sequence (the last predicts no token).
func (p *Pass) lmRows(from []int) []int {
	if from == nil {
		rows := make([]int, p.n)
		for r := range rows {
			rows[r] = r
		}
		return rows
	}
	var rows []int
	for b, s := range p.seqs {
		for t := max(0, from[b]); t < len(s)-1; t++ {
			rows = append(rows, p.offs[b]+t)
		}
	}
	return rows
}

// gatherLnf returns the final-LayerNorm rows sel as one matrix (row
// stride C): a view of the workspace when they are consecutive (every
// row selected: no copy), else a copy.
func (p *Pass) gatherLnf(sel []int) ([]float32, int) {
	ws := &p.m.ws
	C := p.m.Config.NEmbd
	if sel[len(sel)-1]-sel[0] == len(sel)-1 {
		return ws.lnf[sel[0]*C:], C
	}
	ws.lnSel = grow(ws.lnSel, len(sel)*C)
	for i, r := range sel {
		copy(ws.lnSel[i*C:(i+1)*C], ws.lnf[r*C:(r+1)*C])
	}
	return ws.lnSel, C
}

// nextTokens maps each packed row to the token that follows it, or -1 on a
// sequence's last row.
func (p *Pass) nextTokens() []int {
	next := make([]int, p.n)
	for b, s := range p.seqs {
		for t := range s {
			if t+1 < len(s) {
				next[p.offs[b]+t] = s[t+1]
			} else {
				next[p.offs[b]+t] = -1
			}
		}
	}
	return next
}

// logSumExp returns log Σ exp(row); row is overwritten with exp(row-max).
func logSumExp(row []float32) float32 {
	mx, ok := maxVec(row)
	if !ok {
		mx = row[0]
		for _, v := range row[1:] {
			mx = max(mx, v)
		}
	}
	return mx + float32(math.Log(float64(expSum(row, mx))))
}

// Logits returns the LM-head logits of sequence b after its token t
// (predicting token t+1): h·wteᵀ, a fresh slice of vocab_size.
func (p *Pass) Logits(b, t int) []float32 {
	p.check()
	p.needAllRows("Logits")
	m := p.m
	C, V := m.Config.NEmbd, m.Config.VocabSize
	r := p.offs[b] + t
	out := make([]float32, V)
	gemm.Sgemm(false, true, 1, V, C, 1, m.ws.lnf[r*C:], C, m.wte.W, C, 0, out, V)
	return out
}

// maxBatchTokens bounds the tokens in one internal inference batch, so
// activation memory stays modest whatever the caller passes (a variable
// for tests).
var maxBatchTokens = 8192

// chunks splits seqs into consecutive batches of at most maxBatchTokens.
func chunks(seqs [][]int) [][2]int {
	var out [][2]int
	lo, tok := 0, 0
	for i, s := range seqs {
		if tok+len(s) > maxBatchTokens && i > lo {
			out = append(out, [2]int{lo, i})
			lo, tok = i, 0
		}
		tok += len(s)
	}
	if lo < len(seqs) {
		out = append(out, [2]int{lo, len(seqs)})
	}
	return out
}

// Rewards scores seqs in eval mode (no dropout), batching internally. A
// sequence the model cannot take is an error (see CheckSeqs); so is a model
// without a reward head.
func (m *Model) Rewards(seqs [][]int) ([]float32, error) {
	if !m.HasRewardHead() {
		return nil, fmt.Errorf("model: not a reward model (no score.weight)")
	}
	if err := m.CheckSeqs(seqs); err != nil {
		return nil, err
	}
	// Sequences that start alike (responses to one prompt) share the
	// prefix's rows: prefix.go.
	return m.rewardsShared(seqs), nil
}

// TokenLogProbs is Pass.TokenLogProbs in eval mode, batched internally.
func (m *Model) TokenLogProbs(seqs [][]int) ([][]float32, error) {
	if err := m.CheckSeqs(seqs); err != nil {
		return nil, err
	}
	out := make([][]float32, 0, len(seqs))
	for _, c := range chunks(seqs) {
		out = append(out, m.forward(seqs[c[0]:c[1]], Mode{}, false, nil).TokenLogProbs()...)
	}
	return out, nil
}

package model

import (
	"container/heap"
	"fmt"
	"math"
	"sort"

	"github.com/warm-rm/warm/internal/parallel"
	"github.com/warm-rm/warm/kit/gemm"
)

// SampleOptions control Generate. Temperature <= 0 is greedy (argmax).
// TopK <= 0 and TopP outside (0,1) disable those filters; they apply in
// HF's order: temperature, top-k, then top-p (the smallest set of most
// likely tokens whose probability reaches TopP). StopToken >= 0 ends a row
// when sampled (the stop token is included in the output); -1 disables it.
// Rows are also cut at n_positions total tokens.
type SampleOptions struct {
	MaxNewTokens int
	Temperature  float32
	TopK         int
	TopP         float32
	Seed         uint64
	StopToken    int
}

// Generate samples continuations of each prompt with a KV cache, all rows
// batched, and returns only the new tokens. Row b draws from its own random
// stream (Seed, b): the same call gives the same tokens. (Other rows change
// a row's logits only in the last bits, through gemm's edge kernels.)
func (m *Model) Generate(prompts [][]int, opt SampleOptions) [][]int {
	c := m.Config
	C, F, H, L, V, hd := c.NEmbd, c.Inner(), c.NHead, c.NLayer, c.VocabSize, c.HeadDim()
	B := len(prompts)
	out := make([][]int, B)
	if B == 0 || opt.MaxNewTokens <= 0 {
		return out
	}
	maxLen := 0
	for b, pr := range prompts {
		if len(pr) == 0 {
			panic(fmt.Sprintf("model.Generate: prompt %d is empty", b))
		}
		maxLen = max(maxLen, len(pr))
	}
	P := min(c.NPositions, maxLen+opt.MaxNewTokens) // cache length per row
	// Prefill: packed inference passes over the prompts (in chunks of
	// bounded tokens, one set of block buffers); each block's k and v go
	// straight into the cache.
	// The keys are cached transposed, per row and head a hd×P block
	// (kT[l][((b·H+h)·hd+j)·P+t]), so that a decode step's scores for
	// all positions are hd vector multiply-adds over t; the values stay
	// [b][t][C]: the output is a sum of value rows. Both keep the scalar
	// loops' order of operations, so the vector path changes no bit.
	kT := make([][]float32, L)
	vc := make([][]float32, L)
	for l := 0; l < L; l++ {
		kT[l] = make([]float32, B*P*C)
		vc[l] = make([]float32, B*P*C)
	}
	putK := func(l, b, t int, k []float32) {
		base := b * H * hd * P
		for i, v := range k[:C] {
			kT[l][base+i*P+t] = v // i = h·hd + j
		}
	}
	logits := make([]float32, B*V)
	// Every weight is packed for gemm once here rather than in each of
	// the MaxNewTokens decode steps (and each prompt's first logits): with
	// a few rows per product, packing cost as much as multiplying.
	head := gemm.PackB(true, C, V, m.wte.W, C)
	packs := make([]*layerPacks, L)
	for l := range packs {
		packs[l] = m.packLayer(l)
	}
	for _, ch := range chunks(prompts) {
		b0 := ch[0]
		pass := m.forward(prompts[ch[0]:ch[1]], Mode{}, false, func(l int, p *Pass, qkv []float32) {
			for i, pr := range p.seqs {
				b := b0 + i
				for t := range pr {
					r := (p.offs[i] + t) * 3 * C
					putK(l, b, t, qkv[r+C:r+2*C])
					copy(vc[l][(b*P+t)*C:(b*P+t+1)*C], qkv[r+2*C:r+3*C])
				}
			}
		})
		for i := range pass.seqs {
			r := pass.lastRow(i)
			gemm.SgemmPacked(false, 1, 1, m.ws.lnf[r*C:], C, head, 0, logits[(b0+i)*V:], V)
		}
	}
	rngs := make([]rng, B)
	pos := make([]int, B) // position of the next token to feed
	for b := range rngs {
		rngs[b] = newRNG(opt.Seed, 0x53414d504c45, uint64(b)) // "SAMPLE"
		pos[b] = len(prompts[b])
	}
	act := make([]int, 0, B) // rows still generating
	toks := make([]int, B)
	sample := func(rows []int, lg func(i int) []float32) {
		parallel.Jobs(len(rows), func(_, i int) {
			b := rows[i]
			toks[b] = sampleToken(lg(i), opt, &rngs[b])
		})
	}
	all := make([]int, B)
	for b := range all {
		all[b] = b
	}
	sample(all, func(i int) []float32 { return logits[i*V : (i+1)*V] })
	for b := range prompts {
		if pos[b] >= c.NPositions {
			continue // prompt already fills the context
		}
		out[b] = append(out[b], toks[b])
		if toks[b] != opt.StopToken && len(out[b]) < opt.MaxNewTokens && pos[b]+1 < c.NPositions {
			act = append(act, b)
		}
	}
	// Decode buffers, sized for all rows.
	x := make([]float32, B*C)
	h := make([]float32, B*C)
	mean, rstd := make([]float32, B), make([]float32, B)
	qkv := make([]float32, B*3*C)
	y := make([]float32, B*C)
	tmp := make([]float32, B*C)
	f, fg := make([]float32, B*F), make([]float32, B*F)
	att := make([]float32, B*H*P)
	scale := float32(1 / math.Sqrt(float64(hd)))
	for len(act) > 0 {
		nb := len(act)
		for i, b := range act {
			tok, t := toks[b], pos[b]
			xi := x[i*C : (i+1)*C]
			for j := range xi {
				xi[j] = m.wte.W[tok*C+j] + m.wpe.W[t*C+j]
			}
		}
		la := layerActs{ln1: h, ln1Mean: mean, ln1Rstd: rstd, qkv: qkv, atty: y, res2: x,
			ln2: h, ln2Mean: mean, ln2Rstd: rstd, fch: f, fchGelu: fg}
		for l := 0; l < L; l++ {
			la.packs = packs[l]
			m.block(l, nb, x, x, tmp, &la, nil, nil, nil, func() {
				for i, b := range act {
					t := pos[b]
					putK(l, b, t, qkv[i*3*C+C:i*3*C+2*C])
					copy(vc[l][(b*P+t)*C:(b*P+t+1)*C], qkv[i*3*C+2*C:i*3*C+3*C])
				}
				parallel.Jobs(nb*H, func(_, job int) {
					i, hh := job/H, job%H
					b := act[i]
					T := pos[b] + 1
					q := qkv[i*3*C+hh*hd : i*3*C+(hh+1)*hd]
					s := att[job*P : job*P+T]
					kb := kT[l][(b*H+hh)*hd*P:]
					if !scoresVec(s, q, kb, P) {
						clear(s)
						for j, qj := range q {
							axpy(s, kb[j*P:j*P+T], qj) // s[t] += q[j]·k[t][j]
						}
					}
					if !scaleVec(s, scale) {
						for t := range s {
							s[t] *= scale
						}
					}
					softmaxCausalRow(s, T-1)
					yi := y[i*C+hh*hd : i*C+(hh+1)*hd]
					if !mixVec(yi, s, vc[l][b*P*C+hh*hd:], C) {
						clear(yi)
						for t, pt := range s {
							axpy(yi, vc[l][(b*P+t)*C+hh*hd:(b*P+t)*C+(hh+1)*hd], pt)
						}
					}
				})
			})
		}
		layerNormForward(h, mean, rstd, x, m.lnfW.W, m.lnfB.W, nb, C, c.LayerNormEps)
		gemm.SgemmPacked(false, nb, 1, h, C, head, 0, logits, V)
		for _, b := range act {
			pos[b]++
		}
		sample(act, func(i int) []float32 { return logits[i*V : (i+1)*V] })
		next := act[:0]
		for _, b := range act {
			out[b] = append(out[b], toks[b])
			if toks[b] != opt.StopToken && len(out[b]) < opt.MaxNewTokens && pos[b]+1 < c.NPositions {
				next = append(next, b)
			}
		}
		act = next
	}
	return out
}

// sampleToken draws one token from logits (modified in place).
func sampleToken(logits []float32, opt SampleOptions, r *rng) int {
	if opt.Temperature <= 0 {
		best := 0
		for j, v := range logits {
			if v > logits[best] {
				best = j
			}
		}
		return best
	}
	inv := 1 / opt.Temperature
	if !scaleVec(logits, inv) {
		for j := range logits {
			logits[j] *= inv
		}
	}
	V := len(logits)
	var cand []int
	if opt.TopK > 0 && opt.TopK < V {
		cand = topK(logits, opt.TopK)
	}
	mx := float32(math.Inf(-1))
	if cand == nil {
		var ok bool
		if mx, ok = maxVec(logits); !ok {
			mx = float32(math.Inf(-1))
			for _, v := range logits {
				mx = max(mx, v)
			}
		}
	} else {
		for _, j := range cand {
			mx = max(mx, logits[j])
		}
	}
	// Probabilities (unnormalised) over the candidates, in place.
	var sum float64
	if cand == nil {
		if _, ok := expSumVec(logits, mx); !ok {
			for j, v := range logits {
				logits[j] = exp32(v - mx)
			}
		}
		if !(opt.TopP > 0 && opt.TopP < 1) {
			// The sampler's hot path (the whole vocabulary, every token).
			return drawChunked(logits, r.float64())
		}
		for _, e := range logits {
			sum += float64(e)
		}
	} else {
		for _, j := range cand {
			e := exp32(logits[j] - mx)
			logits[j] = e
			sum += float64(e)
		}
	}
	if opt.TopP > 0 && opt.TopP < 1 {
		if cand == nil {
			// Only tokens above a threshold can be in the nucleus once the
			// mass above it reaches TopP; lower the threshold until it does,
			// then sort just those.
			for th := 1e-3 * sum; ; th *= 0.01 {
				cand = cand[:0]
				var s float64
				for j, e := range logits {
					if th < 1e-30*sum || float64(e) >= th {
						cand = append(cand, j)
						s += float64(e)
					}
				}
				if s >= float64(opt.TopP)*sum || th < 1e-30*sum {
					break
				}
			}
		}
		sort.Slice(cand, func(a, b int) bool {
			if logits[cand[a]] != logits[cand[b]] {
				return logits[cand[a]] > logits[cand[b]]
			}
			return cand[a] < cand[b]
		})
		var cum float64
		keep := 0
		for keep < len(cand) && cum < float64(opt.TopP)*sum {
			cum += float64(logits[cand[keep]])
			keep++
		}
		cand = cand[:keep]
		sum = cum
	}
	u := r.float64() * sum
	if cand == nil {
		var acc float64
		for j, e := range logits {
			acc += float64(e)
			if u < acc {
				return j
			}
		}
		return V - 1
	}
	var acc float64
	for _, j := range cand {
		acc += float64(logits[j])
		if u < acc {
			return j
		}
	}
	return cand[len(cand)-1]
}

// topK returns the indices of the k largest logits (ties: lower index).
func topK(logits []float32, k int) []int {
	h := &minHeap{l: logits}
	for j := range logits {
		if len(h.idx) < k {
			heap.Push(h, j)
		} else if h.less2(h.idx[0], j) {
			h.idx[0] = j
			heap.Fix(h, 0)
		}
	}
	return h.idx
}

type minHeap struct {
	l   []float32
	idx []int
}

// less2 orders by logit, then prefers the lower index as "larger".
func (h *minHeap) less2(a, b int) bool {
	if h.l[a] != h.l[b] {
		return h.l[a] < h.l[b]
	}
	return a > b
}
func (h *minHeap) Len() int           { return len(h.idx) }
func (h *minHeap) Less(i, j int) bool { return h.less2(h.idx[i], h.idx[j]) }
func (h *minHeap) Swap(i, j int)      { h.idx[i], h.idx[j] = h.idx[j], h.idx[i] }
func (h *minHeap) Push(x any)         { h.idx = append(h.idx, x.(int)) }
func (h *minHeap) Pop() any {
	x := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return x
}

// drawChunk is the chunk of drawChunked's first pass.
const drawChunk = 64

// drawChunked draws index j with probability w[j]/Σw for weights w ≥ 0
// (not all 0), u uniform in [0,1). A walk over every weight costs as much
// as the exponentials before it, so the walk goes over chunk sums first
// (each summed in float64, four lanes at a time) and then inside the one
// chunk where the cumulative sum passes u·Σw. The chunk sums are added in
// the walk's order, so that chunk exists; within it the running sum in
// float64 may miss the bound by rounding, and the chunk's last positive
// weight is taken then.
func drawChunked(w []float32, u float64) int {
	n := (len(w) + drawChunk - 1) / drawChunk
	var buf [8192/drawChunk + 1]float64
	sums := buf[:0]
	if n > len(buf) {
		sums = make([]float64, 0, n)
	}
	var total float64
	for c := 0; c < len(w); c += drawChunk {
		ch := w[c:min(c+drawChunk, len(w))]
		var s0, s1, s2, s3 float64
		i := 0
		for ; i+4 <= len(ch); i += 4 {
			s0 += float64(ch[i])
			s1 += float64(ch[i+1])
			s2 += float64(ch[i+2])
			s3 += float64(ch[i+3])
		}
		for ; i < len(ch); i++ {
			s0 += float64(ch[i])
		}
		s := (s0 + s1) + (s2 + s3)
		sums = append(sums, s)
		total += s
	}
	target := u * total
	var acc float64
	for k, s := range sums {
		if target >= acc+s && k < len(sums)-1 {
			acc += s
			continue
		}
		ch := w[k*drawChunk : min((k+1)*drawChunk, len(w))]
		last := -1
		for i, e := range ch {
			if e > 0 {
				last = i
			}
			acc += float64(e)
			if target < acc {
				return k*drawChunk + i
			}
		}
		if last >= 0 {
			return k*drawChunk + last
		}
	}
	// Rounding left the draw past every chunk with weight: the last
	// positive weight.
	for j := len(w) - 1; j > 0; j-- {
		if w[j] > 0 {
			return j
		}
	}
	return 0
}

package llama

import (
	"fmt"
	"math"
	"runtime"

	"github.com/warm-rm/warm/internal/parallel"
	"github.com/warm-rm/warm/kit/gemm"
)

// Memory bounds of one forward pass. Sequences are packed end to end (no
// padding is computed) into groups of at most groupTokens tokens (a
// longer sequence forms a group alone); the MLP's gate and up products
// together hold at most mlpFloats values (as many rows at a time as fit:
// fewer, shorter products would repack the weights more often); attention
// takes queryBlock query rows per job. An 8×512-token batch of a 1B model
// then needs about 400 MB of activations, a 0.6B one about 250 MB.
const (
	groupTokens = 4096
	mlpFloats   = 32 << 20
	queryBlock  = 128
	// logitFloats bounds one slice of LM-head logits (rows × vocab columns).
	logitFloats = 8 << 20
)

// mul computes out[m×rows] = x[m×cols]·Wᵀ + beta·out with the GEMM
// matching W's storage.
func (w *matrix) mul(m int, x []float32, out []float32, beta float32) {
	if w.bf16 != nil {
		gemm.SgemmBF16(false, true, m, w.rows, w.cols, 1, x, w.cols, w.bf16, w.cols, beta, out, w.rows)
		return
	}
	gemm.Sgemm(false, true, m, w.rows, w.cols, 1, x, w.cols, w.f32, w.cols, beta, out, w.rows)
}

// slice returns rows [r0, r1) of W.
func (w *matrix) slice(r0, r1 int) matrix {
	s := matrix{rows: r1 - r0, cols: w.cols}
	if w.bf16 != nil {
		s.bf16 = w.bf16[r0*w.cols : r1*w.cols]
	} else {
		s.f32 = w.f32[r0*w.cols : r1*w.cols]
	}
	return s
}

// row copies W[i] into dst as float32 (the embedding lookup).
func (w *matrix) row(i int, dst []float32) {
	if w.bf16 != nil {
		for j, h := range w.bf16[i*w.cols : (i+1)*w.cols] {
			dst[j] = math.Float32frombits(uint32(h) << 16)
		}
		return
	}
	copy(dst, w.f32[i*w.cols:(i+1)*w.cols])
}

// packed is a group of sequences laid end to end.
type packed struct {
	seqs   [][]int
	off    []int   // first row of each sequence
	pos    []int32 // position of each row within its sequence
	rows   int
	maxLen int
}

func pack(seqs [][]int) packed {
	p := packed{seqs: seqs, off: make([]int, len(seqs))}
	for i, s := range seqs {
		p.off[i] = p.rows
		p.rows += len(s)
		p.maxLen = max(p.maxLen, len(s))
	}
	p.pos = make([]int32, 0, p.rows)
	for _, s := range seqs {
		for t := range s {
			p.pos = append(p.pos, int32(t))
		}
	}
	return p
}

// validate checks every sequence before any work is done.
func (m *Model) validate(seqs [][]int) error {
	if m.closed.Load() {
		return fmt.Errorf("%s: model is closed", m.dir)
	}
	for i, s := range seqs {
		if len(s) == 0 {
			return fmt.Errorf("sequence %d is empty", i)
		}
		if len(s) > m.cfg.MaxPositionEmbeddings {
			return fmt.Errorf("sequence %d has %d tokens, more than max_position_embeddings %d", i, len(s), m.cfg.MaxPositionEmbeddings)
		}
		for t, id := range s {
			if id < 0 || id >= m.cfg.VocabSize {
				return fmt.Errorf("sequence %d, position %d: token id %d is outside the vocabulary [0, %d)", i, t, id, m.cfg.VocabSize)
			}
		}
	}
	return nil
}

// groups splits seqs (in order) into runs of at most groupTokens tokens.
func groups(seqs [][]int) [][2]int {
	var out [][2]int
	lo, n := 0, 0
	for i, s := range seqs {
		if i > lo && n+len(s) > groupTokens {
			out = append(out, [2]int{lo, i})
			lo, n = i, 0
		}
		n += len(s)
	}
	if lo < len(seqs) {
		out = append(out, [2]int{lo, len(seqs)})
	}
	return out
}

// workspace is one forward pass's activations, kept between calls (in
// Model.pool) so that repeated scoring does not leave the garbage
// collector a batch's worth of dead buffers each time.
type workspace struct {
	x, hn, q, k, v, att, gate, up []float32
}

// grow returns (*buf)[:n], reallocating when the capacity is short.
func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}

// forward runs the decoder over a packed group and returns the residual
// stream after the last layer (before the final norm), rows × hidden: a
// slice of ws, valid until ws is used again. With keep (ascending row
// indices) only those rows are returned, in that order: the last layer's
// output projection and MLP then run on them alone (a reward needs one
// row per sequence; every row still feeds the last layer's attention).
func (m *Model) forward(ws *workspace, p packed, keep []int) []float32 {
	c := m.cfg
	T, H, hd := p.rows, c.HiddenSize, c.HeadDim
	nq, nkv := c.NumHeads, c.NumKVHeads
	qd, kvd, I := nq*hd, nkv*hd, c.IntermediateSize

	mlpRows := max(1, min(T, mlpFloats/(2*I)))
	x := grow(&ws.x, T*H)
	hn := grow(&ws.hn, T*H)
	q := grow(&ws.q, T*qd)
	k := grow(&ws.k, T*kvd)
	v := grow(&ws.v, T*kvd)
	att := grow(&ws.att, T*qd)
	gate := grow(&ws.gate, mlpRows*I)
	up := grow(&ws.up, mlpRows*I)
	for r, s := range p.seqs {
		for t, id := range s {
			m.embed.row(id, x[(p.off[r]+t)*H:(p.off[r]+t+1)*H])
		}
	}
	cos, sin := m.rotaryTables(p.maxLen)
	eps := float32(c.RMSNormEps)

	for li := range m.layers {
		L := &m.layers[li]
		rmsNormRows(hn, x, L.inNorm, H, eps)
		L.q.mul(T, hn, q, 0)
		L.k.mul(T, hn, k, 0)
		L.v.mul(T, hn, v, 0)
		addBias(q, L.qBias)
		addBias(k, L.kBias)
		addBias(v, L.vBias)
		if L.qNorm != nil {
			// Qwen3: RMSNorm over each head's head_dim, before rotary.
			rmsNormRows(q, q, L.qNorm, hd, eps)
			rmsNormRows(k, k, L.kNorm, hd, eps)
		}
		rotate(q, nq, hd, p.pos, cos, sin)
		rotate(k, nkv, hd, p.pos, cos, sin)
		m.attention(p, q, k, v, att)
		if keep != nil && li == len(m.layers)-1 {
			// Rows move only towards the front (keep[j] ≥ j, ascending),
			// so no row is overwritten before it is read.
			for j, r := range keep {
				copy(att[j*qd:(j+1)*qd], att[r*qd:(r+1)*qd])
				copy(x[j*H:(j+1)*H], x[r*H:(r+1)*H])
			}
			T = len(keep)
			att, x, hn = att[:T*qd], x[:T*H], hn[:T*H]
		}
		L.o.mul(T, att, x, 1) // residual: x += attn·Woᵀ
		addBias(x, L.oBias)

		rmsNormRows(hn, x, L.postNorm, H, eps)
		for r0 := 0; r0 < T; r0 += mlpRows {
			n := min(mlpRows, T-r0)
			g, u := gate[:n*I], up[:n*I]
			L.gate.mul(n, hn[r0*H:(r0+n)*H], g, 0)
			L.up.mul(n, hn[r0*H:(r0+n)*H], u, 0)
			addBias(g, L.gateB)
			addBias(u, L.upB)
			parallel.Range(n*I, 1<<14, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					a := float64(g[i])
					g[i] = float32(a/(1+math.Exp(-a))) * u[i]
				}
			})
			L.down.mul(n, g, x[r0*H:(r0+n)*H], 1) // residual
			addBias(x[r0*H:(r0+n)*H], L.downBias)
		}
	}
	return x
}

// rotaryTables returns cos and sin of position·inv_freq for positions
// [0, n), n × head_dim/2 each, as transformers computes them (float32
// product, then cos/sin).
func (m *Model) rotaryTables(n int) (cos, sin []float32) {
	half := len(m.inv)
	cos = make([]float32, n*half)
	sin = make([]float32, n*half)
	parallel.Range(n, 64, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			for i, f := range m.inv {
				a := float64(float32(p) * f)
				cos[p*half+i] = float32(math.Cos(a))
				sin[p*half+i] = float32(math.Sin(a))
			}
		}
	})
	return cos, sin
}

// rotate applies rotary embeddings in place to rows of heads×hd values:
// the half-split form, x·cos + rotate_half(x)·sin with
// rotate_half(x) = (−x₂, x₁).
func rotate(x []float32, heads, hd int, pos []int32, cos, sin []float32) {
	half := hd / 2
	w := heads * hd
	parallel.Range(len(pos), 32, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			cs := cos[int(pos[r])*half : int(pos[r]+1)*half]
			sn := sin[int(pos[r])*half : int(pos[r]+1)*half]
			row := x[r*w : (r+1)*w]
			for h := 0; h < heads; h++ {
				a := row[h*hd : h*hd+half]
				b := row[h*hd+half : (h+1)*hd]
				for i := range a {
					a1, b1 := a[i], b[i]
					a[i] = a1*cs[i] - b1*sn[i]
					b[i] = b1*cs[i] + a1*sn[i]
				}
			}
		}
	})
}

// rmsNormRows normalises each n-wide row of x into out (which may be x):
// x·rsqrt(mean(x²)+eps)·w, in float32 with a float64 sum of squares.
func rmsNormRows(out, x, w []float32, n int, eps float32) {
	rows := len(x) / n
	parallel.Range(rows, 64, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, or := x[r*n:(r+1)*n], out[r*n:(r+1)*n]
			var ss float64
			for _, v := range xr {
				ss += float64(v) * float64(v)
			}
			inv := float32(1 / math.Sqrt(float64(float32(ss/float64(n))+eps)))
			for i, v := range xr {
				or[i] = w[i] * (v * inv)
			}
		}
	})
}

// addBias adds b to every len(b)-wide row of x; nil b is a no-op.
func addBias(x, b []float32) {
	if b == nil {
		return
	}
	n := len(b)
	parallel.Range(len(x)/n, 256, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := x[r*n : (r+1)*n]
			for i, v := range b {
				row[i] += v
			}
		}
	})
}

// attention computes causal (optionally sliding-window) grouped-query
// attention for every sequence of the group: softmax(q·kᵀ/√hd)·v per
// query head, the kv head shared by nq/nkv query heads. Jobs are
// (sequence, head, block of query rows), spread over the cores; each runs
// its two products on one goroutine.
func (m *Model) attention(p packed, q, k, v, out []float32) {
	c := m.cfg
	hd, nq, nkv := c.HeadDim, c.NumHeads, c.NumKVHeads
	qd, kvd := nq*hd, nkv*hd
	group := nq / nkv
	scale := float32(1 / math.Sqrt(float64(hd)))
	window := c.SlidingWindow
	type job struct{ seq, head, i0 int }
	var jobs []job
	for s, seq := range p.seqs {
		for h := 0; h < nq; h++ {
			for i0 := 0; i0 < len(seq); i0 += queryBlock {
				jobs = append(jobs, job{s, h, i0})
			}
		}
	}
	scratch := make([][]float32, runtime.GOMAXPROCS(0))
	parallel.Jobs(len(jobs), func(worker, j int) {
		jb := jobs[j]
		start, n := p.off[jb.seq], len(p.seqs[jb.seq])
		i0, i1 := jb.i0, min(n, jb.i0+queryBlock)
		rows := i1 - i0
		k0 := 0 // first key any row of the block may see
		if window > 0 {
			k0 = max(0, i0-window+1)
		}
		nk := i1 - k0
		if scratch[worker] == nil {
			scratch[worker] = make([]float32, queryBlock*p.maxLen)
		}
		S := scratch[worker][:rows*nk]
		g := jb.head / group
		gemm.SgemmSerial(false, true, rows, nk, hd, scale,
			q[(start+i0)*qd+jb.head*hd:], qd, k[(start+k0)*kvd+g*hd:], kvd, 0, S, nk)
		for r := 0; r < rows; r++ {
			i := i0 + r
			lo := k0
			if window > 0 {
				lo = max(lo, i-window+1)
			}
			softmaxRange(S[r*nk:(r+1)*nk], lo-k0, i-k0+1)
		}
		gemm.SgemmSerial(false, false, rows, hd, nk, 1, S, nk,
			v[(start+k0)*kvd+g*hd:], kvd, 0, out[(start+i0)*qd+jb.head*hd:], qd)
	})
}

// softmaxRange replaces row[lo:hi] by its softmax (float32 values, float64
// sum) and zeroes the rest of row: the masked keys.
func softmaxRange(row []float32, lo, hi int) {
	mx := float32(math.Inf(-1))
	for _, v := range row[lo:hi] {
		mx = max(mx, v)
	}
	var sum float64
	for i := lo; i < hi; i++ {
		e := math.Exp(float64(row[i] - mx))
		row[i] = float32(e)
		sum += e
	}
	inv := 1 / sum
	for i := lo; i < hi; i++ {
		row[i] = float32(float64(row[i]) * inv)
	}
	clear(row[:lo])
	clear(row[hi:])
}

package model

import (
	"math"

	"github.com/warm-rm/warm/internal/mix"
	"github.com/warm-rm/warm/internal/parallel"
	"github.com/warm-rm/warm/kit/gemm"
)

// This file holds the layer kernels: plain loops over row-major float32
// buffers, each forward paired with its backward, as in llm.c.

// grow returns buf resliced to n elements, reallocating only when its
// capacity is short, so buffers are reused across batches of similar shape.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// linearForward computes out[n,oc] = inp[n,ic]·w[ic,oc] + b (HF Conv1D
// layout: weights are [in, out]). The bias is written first so the gemm
// accumulates onto it (beta = 1) instead of taking a second pass.
func linearForward(out, inp, w, b []float32, n, ic, oc int) {
	linearForwardPacked(out, inp, w, b, nil, n, ic, oc)
}

// linearForwardPacked is linearForward with w prepacked in pk when pk is
// not nil (the same bits either way).
func linearForwardPacked(out, inp, w, b []float32, pk *gemm.Packed, n, ic, oc int) {
	var beta float32
	if b != nil {
		parallel.Range(n, 64, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				copy(out[i*oc:(i+1)*oc], b)
			}
		})
		beta = 1
	}
	if pk != nil {
		gemm.SgemmPacked(false, n, 1, inp, ic, pk, beta, out, oc)
		return
	}
	gemm.Sgemm(false, false, n, oc, ic, 1, inp, ic, w, oc, beta, out, oc)
}

// linearBackward: dinp = dout·wᵀ (overwritten), dw += inpᵀ·dout,
// db += column sums of dout. dinp may be nil (not needed).
func linearBackward(dinp, dw, db, dout, inp, w []float32, n, ic, oc int) {
	if dinp != nil {
		gemm.Sgemm(false, true, n, ic, oc, 1, dout, oc, w, oc, 0, dinp, ic)
	}
	if dw != nil {
		gemm.Sgemm(true, false, ic, oc, n, 1, inp, ic, dout, oc, 1, dw, oc)
	}
	if db != nil {
		// Columns split across workers: each owns a slice of db, no races.
		parallel.Range(oc, 64, func(lo, hi int) {
			acc := db[lo:hi]
			for i := 0; i < n; i++ {
				row := dout[i*oc+lo : i*oc+hi]
				add(acc, row)
			}
		})
	}
}

// layerNormForward normalises each row of x[n,c] with the biased variance
// (as torch.nn.LayerNorm) and saves mean and 1/std for the backward pass.
func layerNormForward(out, mean, rstd, x, w, b []float32, n, c int, eps float64) {
	parallel.Range(n, 32, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xi := x[i*c : (i+1)*c]
			var s float64
			for _, v := range xi {
				s += float64(v)
			}
			m := s / float64(c)
			var ss float64
			for _, v := range xi {
				d := float64(v) - m
				ss += d * d
			}
			rs := 1 / math.Sqrt(ss/float64(c)+eps)
			mf, rf := float32(m), float32(rs)
			oi := out[i*c : (i+1)*c]
			for j, v := range xi {
				oi[j] = (v-mf)*rf*w[j] + b[j]
			}
			mean[i], rstd[i] = mf, rf
		}
	})
}

// lnChunk is the row block of layerNormBackward's partial weight sums: a
// fixed size, so dw and db are summed in the same order whatever
// GOMAXPROCS is (bit-reproducible training).
const lnChunk = 64

// lnPartialSize is the scratch layerNormBackward needs for n rows.
func lnPartialSize(n, c int) int { return 2 * c * ((n + lnChunk - 1) / lnChunk) }

// layerNormBackward adds the input gradient into dx (dx += ...) and the
// weight/bias gradients into dw, db. Row blocks run in parallel, each with
// its own partial dw/db in partial (lnPartialSize floats), reduced in
// block order.
func layerNormBackward(dx, dw, db, dout, x, w, mean, rstd []float32, n, c int, partial []float32) {
	chunks := (n + lnChunk - 1) / lnChunk
	partial = partial[:2*c*chunks]
	parallel.Jobs(chunks, func(_, k int) {
		lo, hi := k*lnChunk, min((k+1)*lnChunk, n)
		pw := partial[2*c*k : 2*c*k+c]
		pb := partial[2*c*k+c : 2*c*(k+1)]
		clear(pw)
		clear(pb)
		for i := lo; i < hi; i++ {
			xi := x[i*c : (i+1)*c]
			di := dout[i*c : (i+1)*c]
			m, rs := mean[i], rstd[i]
			var dnMean, dnNormMean float32
			for j, d := range di {
				norm := (xi[j] - m) * rs
				dn := w[j] * d
				dnMean += dn
				dnNormMean += dn * norm
				pw[j] += d * norm
				pb[j] += d
			}
			dnMean /= float32(c)
			dnNormMean /= float32(c)
			dxi := dx[i*c : (i+1)*c]
			for j, d := range di {
				norm := (xi[j] - m) * rs
				dxi[j] += (w[j]*d - dnMean - norm*dnNormMean) * rs
			}
		}
	})
	for k := 0; k < chunks; k++ {
		pw := partial[2*c*k : 2*c*k+c]
		pb := partial[2*c*k+c : 2*c*(k+1)]
		for j := 0; j < c; j++ {
			dw[j] += pw[j]
			db[j] += pb[j]
		}
	}
}

const geluS = 0.7978845608028654 // sqrt(2/pi)

// geluForward is HF's gelu_new: 0.5x(1+tanh(sqrt(2/π)(x+0.044715x³))).
// The exact erf GELU differs by up to ~1e-3 in a reward, so this is not
// interchangeable. When grad is non-nil it also stores gelu'(x), which
// costs a few multiplies here instead of a second tanh in backward.
func geluForward(out, grad, x []float32) {
	parallel.Range(len(x), 4096, func(lo, hi int) {
		var g []float32
		if grad != nil {
			g = grad[lo:hi]
		}
		lo += geluVec(out[lo:hi], g, x[lo:hi])
		if grad == nil {
			for i := lo; i < hi; i++ {
				v := x[i]
				t := tanh32(geluS * (v + 0.044715*v*v*v))
				out[i] = 0.5 * v * (1 + t)
			}
			return
		}
		for i := lo; i < hi; i++ {
			v := x[i]
			t := tanh32(geluS * (v + 0.044715*v*v*v))
			out[i] = 0.5 * v * (1 + t)
			grad[i] = 0.5*(1+t) + 0.5*v*(1-t*t)*geluS*(1+3*0.044715*v*v)
		}
	})
}

// geluBackward overwrites dx with dout·gelu'(x), given the derivative
// saved by geluForward (dx may alias dout).
func geluBackward(dx, grad, dout []float32) { mulInto(dx, dout, grad) }

// exp32 is a float32 exp (Cephes expf: range reduction by ln 2 and a
// degree-6 polynomial, about 1 ulp). math.Exp through float64 was the
// single biggest cost of softmax and GELU.
func exp32(x float32) float32 {
	if x > 88.3 {
		return float32(math.Inf(1))
	}
	if x < -87.3 {
		return 0
	}
	// Round x/ln2 to the nearest integer without a call to math.Floor.
	t := x * 1.44269504088896341
	var k int32
	if t >= 0 {
		k = int32(t + 0.5)
	} else {
		k = int32(t - 0.5)
	}
	fx := float32(k)
	x = x - fx*0.693359375 + fx*2.12194440e-4
	z := x * x
	y := ((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x + 5.0000001201e-1
	y = y*z + x + 1
	return y * math.Float32frombits(uint32(k+127)<<23)
}

// expSum sets x[i] = exp(x[i] - shift) and returns their sum.
func expSum(x []float32, shift float32) float32 {
	if s, ok := expSumVec(x, shift); ok {
		return s
	}
	var s float32
	for i, v := range x {
		e := exp32(v - shift)
		x[i] = e
		s += e
	}
	return s
}

// tanh32 is a rational minimax approximation (Eigen's fast float tanh:
// odd degree-13 numerator over even degree-6 denominator), within a few
// float32 ulp. It replaced
// 1-2/(exp(2u)+1), which made GELU a third of a training step.
func tanh32(x float32) float32 {
	const clampV = 9.5 // past Eigen's 7.905 the fit stays within 1.4e-7 of tanh, and the result is clamped to ±1: saturates to exactly ±1 as torch's float32 tanh does
	if x > clampV {
		x = clampV
	} else if x < -clampV {
		x = -clampV
	}
	x2 := x * x
	p := x2*-2.76076847742355e-16 + 2.00018790482477e-13
	p = x2*p + -8.60467152213735e-11
	p = x2*p + 5.12229709037114e-08
	p = x2*p + 1.48572235717979e-05
	p = x2*p + 6.37261928875436e-04
	p = x2*p + 4.89352455891786e-03
	p = x * p
	q := x2*1.19825839466702e-06 + 1.18534705686654e-04
	q = x2*q + 2.26843463243900e-03
	q = x2*q + 4.89352518554385e-03
	return min(max(p/q, -1), 1)
}

// rng is a small deterministic generator (splitmix64 seeding, xorshift64*
// stream). Dropout masks and sampling draw one stream per (seed, site, row)
// so results do not depend on how work is split across goroutines.
type rng struct{ s uint64 }

func newRNG(seed, site, row uint64) rng {
	s := mix.SplitMix64(seed ^ mix.SplitMix64(site^mix.SplitMix64(row)))
	if s == 0 {
		s = 1
	}
	return rng{s}
}

func (r *rng) next() uint64 {
	r.s ^= r.s >> 12
	r.s ^= r.s << 25
	r.s ^= r.s >> 27
	return r.s * 2685821657736338717
}

// float32 returns a uniform value in [0, 1).
func (r *rng) float32() float32 { return float32(r.next()>>40) / (1 << 24) }

// float64 returns a uniform value in [0, 1).
func (r *rng) float64() float64 { return float64(r.next()>>11) / (1 << 53) }

// dropThreshold: an element is dropped when a uniform 32-bit draw is below
// it (probability p to within 2⁻³²).
func dropThreshold(p float32) uint32 { return uint32(float64(p) * (1 << 32)) }

// fillKeep fills mask with keep-scales from r, two 32-bit draws per 64-bit
// output of the generator.
func fillKeep(mask []float32, r *rng, thr uint32, scale float32) {
	i := 0
	for ; i+1 < len(mask); i += 2 {
		v := r.next()
		mask[i], mask[i+1] = scale, scale
		if uint32(v) < thr {
			mask[i] = 0
		}
		if uint32(v>>32) < thr {
			mask[i+1] = 0
		}
	}
	if i < len(mask) {
		mask[i] = scale
		if uint32(r.next()) < thr {
			mask[i] = 0
		}
	}
}

// fillDropout writes a dropout mask of keep-scales: 0 with probability p,
// else 1/(1-p) (inverted dropout, as torch). Row r of the mask uses the
// stream (seed, site, r), so masks do not depend on the worker split.
func fillDropout(mask []float32, rows, cols int, p float32, seed, site uint64) {
	scale, thr := 1/(1-p), dropThreshold(p)
	parallel.Range(rows, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r := newRNG(seed, site, uint64(i))
			fillKeep(mask[i*cols:(i+1)*cols], &r, thr, scale)
		}
	})
}

// residualAdd: out = in + f, or out = in + f*mask when mask != nil.
func residualAdd(out, in, f, mask []float32) {
	parallel.Range(len(out), 4096, func(lo, hi int) {
		if mask == nil {
			for i := lo; i < hi; i++ {
				out[i] = in[i] + f[i]
			}
			return
		}
		for i := lo; i < hi; i++ {
			out[i] = in[i] + f[i]*mask[i]
		}
	})
}

// mulInto: out = a*b elementwise.
func mulInto(out, a, b []float32) {
	parallel.Range(len(out), 4096, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = a[i] * b[i]
		}
	})
}

// add does dst += src (equal lengths), vectorised where the build allows.
func add(dst, src []float32) {
	if addVec(dst, src) {
		return
	}
	for j, v := range src {
		dst[j] += v
	}
}

// axpy does dst += a·src over dst's length, in the scalar loop's order.
func axpy(dst, src []float32, a float32) {
	if axpyVec(dst, src, a) {
		return
	}
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += a * v
	}
}

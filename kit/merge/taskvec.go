package merge

import "math"

// taskVectors is the kernel of mergekit's generalized task arithmetic with
// sparsification (ties, dare_*, breadcrumbs*), in float64: task vectors
// tv_i = x_i − base are sparsified (kept by magnitude rank, or by a
// Bernoulli draw and rescaled), weighted, then either summed or reduced to
// the elected sign (the sign of the weighted sum, 0 counting as +) and
// summed over the agreeing models; normalize divides by the sum of the
// contributing weights. out = base + λ·that.
type taskVectors struct {
	w         []float64 // per-model weights
	scale     []float64 // per-model rescale of kept entries (dare: 1/density)
	keep      []keepRule
	consensus bool // sign election (ties), else a plain sum
	norm      bool
	lambda    float64
}

// keepRule decides which entries of one task vector survive. The zero value
// keeps everything.
type keepRule struct {
	// By magnitude rank: keep |tv| ranked in [lo, hi) from the top, each
	// bound given as a threshold magnitude and, for entries equal to it, an
	// index bound (see topKThreshold). top is false when nothing is
	// excluded from above (ties); rank is false when no rank rule applies.
	rank  bool
	hiThr float32
	hiEnd int
	top   bool
	loThr float32
	loEnd int
	// By a Bernoulli draw: keep when mix(seed, model, key, element) < dropP
	// (dropP 0: no draw).
	dropP     uint64
	seed, key uint64
	model     uint64
}

// sparseSub is the kernel's sub-block: the K partial vectors of 1K
// elements stay in L1/L2.
const sparseSub = 1024

// chunk works model by model over sub-blocks, so the inner loops are
// simple.
func (t *taskVectors) chunk(res []float32, xs [][]float32, b []float32, off int, s *scratch) {
	const sub = sparseSub
	k := len(xs)
	sumW := 0.0
	for _, w := range t.w {
		sumW += w
	}
	if math.Abs(sumW) < 1e-8 {
		sumW = 1
	}
	for k0 := 0; k0 < len(res); k0 += sub {
		n := min(sub, len(res)-k0)
		bb := b[k0 : k0+n]
		sum := s.sum[:n]
		clear(sum)
		for i := range k {
			d := s.dm[i*sub : i*sub+n]
			x := xs[i][k0 : k0+n]
			ws := t.w[i] * t.scale[i]
			r := &t.keep[i]
			switch {
			case r.rank:
				th, te := r.hiThr, r.hiEnd-(off+k0) // index bounds relative to this sub-block
				lt, le := r.loThr, r.loEnd-(off+k0)
				top := r.top
				for e := range d {
					tv := x[e] - bb[e]
					a := math.Float32frombits(math.Float32bits(tv) &^ (1 << 31))
					// Branch-free: the keep decision is a coin flip at
					// density 0.5, which a branch predictor cannot learn.
					in := a > th || a == th && e < te
					out := top && (a > lt || a == lt && e < le)
					v := keepIf(ws*float64(tv), in && !out)
					d[e] = v
					sum[e] += v
				}
			case r.dropP != 0:
				p, seed, key, mi := r.dropP, r.seed, r.key, r.model
				for e := range d {
					v := keepIf(ws*float64(x[e]-bb[e]), mix(seed, mi, key, uint64(off+k0+e)) < p)
					d[e] = v
					sum[e] += v
				}
			default:
				for e := range d {
					d[e] = ws * float64(x[e]-bb[e])
					sum[e] += d[e]
				}
			}
		}
		out := res[k0 : k0+n]
		if !t.consensus {
			div := 1.0
			if t.norm {
				div = sumW
			}
			for e := range out {
				out[e] = float32(float64(bb[e]) + t.lambda*(sum[e]/div))
			}
			continue
		}
		mixed, div := s.mixed[:n], s.div[:n]
		clear(mixed)
		clear(div)
		for i := range k {
			d, w := s.dm[i*sub:i*sub+n], t.w[i]
			for e := range d {
				v := d[e]
				agree := v != 0 && (v > 0) == (sum[e] >= 0)
				mixed[e] += keepIf(v, agree)
				div[e] += keepIf(w, agree)
			}
		}
		for e := range out {
			m := mixed[e]
			if t.norm {
				dv := div[e]
				if dv == 0 {
					dv = 1
				}
				m /= dv
			}
			out[e] = float32(float64(bb[e]) + t.lambda*m)
		}
	}
}

// keepIf returns v when keep, else +0, without a branch (the bool becomes
// an all-ones or all-zeros mask over v's bits).
func keepIf(v float64, keep bool) float64 {
	var m uint64
	if keep {
		m = 1
	}
	return math.Float64frombits(math.Float64bits(v) & -m)
}

// mix hashes (seed, model, tensor, element) to a uniform 64-bit value
// (splitmix64 finaliser): dare's drop mask is a pure function of its
// coordinates, so it is the same whatever the chunking or worker count.
func mix(seed, model, tensor, elem uint64) uint64 {
	z := seed ^ model*0x9e3779b97f4a7c15 ^ tensor ^ elem*0xbf58476d1ce4e5b9
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	z += elem
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// rankKeep returns the rule keeping the entries of task vector x − base
// ranked [skip, skip+keep) by magnitude from the top (ties at a threshold
// broken by index). keep ≥ 1.
func rankKeep(c *tensorCtx, x *input, skip, keep int) keepRule {
	bits := c.bits(c.n)
	taskMagnitudes(bits, x, c.base, c.scratch)
	r := keepRule{rank: true}
	r.hiThr, r.hiEnd = topKThreshold(bits, skip+keep)
	if skip > 0 {
		r.top = true
		r.loThr, r.loEnd = topKThreshold(bits, skip)
	}
	return r
}

// taskMagnitudes writes the bits of |x − base| (float32) into bits.
func taskMagnitudes(bits []uint32, x, base *input, s *scratch) {
	for c := 0; c < len(bits); c += chunk {
		m := min(chunk, len(bits)-c)
		magBits(bits[c:c+m], view(x, c, c+m, s.dec[0]), view(base, c, c+m, s.base))
	}
}

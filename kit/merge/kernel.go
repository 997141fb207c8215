package merge

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/warm-rm/warm/kit/safetensors"
)

// chunk is the unit of work: 16K elements keep the accumulator (128 KB)
// and the inputs' slices in L2.
const chunk = 1 << 14

// input is one tensor of one checkpoint, still in its mapped bytes.
type input struct {
	data  []byte
	dtype safetensors.Dtype
	file  string // shard path, for error messages
}

// scratch is one worker's buffers.
type scratch struct {
	dec   [][]float32 // decoded input chunks (when not aliasable F32)
	base  []float32
	acc   []float64
	acc32 []float32
	// taskVectors' per-model partial vectors and per-element sums.
	dm, sum, mixed, div []float64
}

func newScratch(k int) *scratch {
	s := &scratch{dec: make([][]float32, k), base: make([]float32, chunk), acc: make([]float64, chunk), acc32: make([]float32, chunk),
		dm: make([]float64, k*sparseSub), sum: make([]float64, sparseSub), mixed: make([]float64, sparseSub), div: make([]float64, sparseSub)}
	for i := range s.dec {
		s.dec[i] = make([]float32, chunk)
	}
	return s
}

// view returns elements [lo, hi) of in as float32, aliasing the mapping
// when it is F32 on a little-endian host, else decoded into buf.
func view(in *input, lo, hi int, buf []float32) []float32 {
	size := in.dtype.Size()
	b := in.data[lo*size : hi*size]
	if in.dtype == safetensors.F32 {
		return safetensors.AsFloat32(b)
	}
	out := buf[:hi-lo]
	safetensors.DecodeFloat32(out, b, in.dtype)
	return out
}

// kernel is the per-element work of one prepared tensor. chunk computes
// res (elements off.. off+len(res) of the tensor) from the models' values
// xs and the base's b (nil without a base model).
type kernel interface {
	chunk(res []float32, xs [][]float32, b []float32, off int, s *scratch)
}

// job is one output tensor being computed.
type job struct {
	name  string
	n     int
	outDt safetensors.Dtype
	step
}

// run computes elements [lo, hi) of j into out (encoded as j.outDt, already
// offset to lo). It returns an error naming the input file when an input
// holds NaN or Inf, or naming the tensor when a value overflows F16.
func (j *job) run(lo, hi int, out []byte, s *scratch) error {
	osize := j.outDt.Size()
	xs := make([][]float32, len(j.xs))
	for c := lo; c < hi; c += chunk {
		m := min(chunk, hi-c)
		for i := range j.xs {
			xs[i] = view(&j.xs[i], c, c+m, s.dec[i])
		}
		var b []float32
		if j.base != nil {
			b = view(j.base, c, c+m, s.base)
		}
		ob := out[(c-lo)*osize : (c-lo+m)*osize]
		// The result goes straight into the output buffer when it is F32.
		aliased := j.outDt == safetensors.F32 && uintptr(unsafe.Pointer(&ob[0]))%4 == 0 && littleEndian
		var res []float32
		if aliased {
			res = unsafe.Slice((*float32)(unsafe.Pointer(&ob[0])), m)
		} else {
			res = s.acc32[:m]
		}
		j.k.chunk(res, xs, b, c, s)
		if !finite(res) {
			return j.nonFinite(c, c+m, xs, b)
		}
		if !aliased {
			if err := encode(ob, res, j.outDt); err != nil {
				return fmt.Errorf("tensor %q: %v", j.name, err)
			}
		}
	}
	return nil
}

// maxF16 is the largest finite IEEE half; values at or above 65520 round
// to Inf.
const maxF16 = 65504

// encode writes src as dt into dst. F16 is torch's cast (round to nearest
// even, via safetensors.F16FromFloat32); a value that would become ±Inf in
// F16 is an error rather than a silently infinite weight.
func encode(dst []byte, src []float32, dt safetensors.Dtype) error {
	switch dt {
	case safetensors.F16:
		dst = dst[:2*len(src)]
		for i, v := range src {
			h := safetensors.F16FromFloat32(v)
			if h&0x7c00 == 0x7c00 {
				return fmt.Errorf("value %g overflows float16 (largest %d); write bf16 or f32", v, maxF16)
			}
			dst[2*i], dst[2*i+1] = byte(h), byte(h>>8)
		}
	case safetensors.BF16:
		dst = dst[:2*len(src)]
		for i, v := range src {
			h := safetensors.BF16FromFloat32(v)
			dst[2*i], dst[2*i+1] = byte(h), byte(h>>8)
		}
	default:
		// dst has exactly the room needed, so append writes in place.
		safetensors.EncodeFloat32(dst[:0], src, dt)
	}
	return nil
}

// littleEndian is true when float32 values can alias output bytes.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// finite reports whether every value is finite: v*0 is 0 for finite v and
// NaN for ±Inf and NaN, so the sum is 0 exactly when all are finite.
func finite(v []float32) bool {
	var z float32
	for _, x := range v {
		z += x * 0
	}
	return z == 0
}

// nonFinite finds the input responsible for a NaN/Inf result.
func (j *job) nonFinite(lo, hi int, xs [][]float32, b []float32) error {
	check := func(v []float32, in *input) error {
		for k, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("%s: tensor %q: %g at element %d", in.file, j.name, x, lo+k)
			}
		}
		return nil
	}
	for i := range xs {
		if err := check(xs[i], &j.xs[i]); err != nil {
			return err
		}
	}
	if b != nil {
		if err := check(b, j.base); err != nil {
			return err
		}
	}
	return fmt.Errorf("tensor %q: merged values overflow to Inf (elements %d..%d); check the weights", j.name, lo, hi)
}

// weighted is the kernel of linear, slerp and task arithmetic:
// res = Σ coef_i·x_i, or b + Σ coef_i·(x_i − b) with a base.
type weighted struct {
	coef []float64
	f64  bool // float64 accumulator (linear64), else float32 (linear32)
}

func (w weighted) chunk(res []float32, xs [][]float32, b []float32, off int, s *scratch) {
	if w.f64 {
		linear64(res, xs, b, w.coef, s.acc[:len(res)])
	} else {
		linear32(res, xs, b, w.coef)
	}
}

// zeros pads an input group to four with a zero-coefficient vector of
// negative zeros: 0·(−0) = −0, and adding −0 leaves every partial sum
// unchanged, the sign of a zero included (+0 would turn −0 into +0).
var zeros = func() []float32 {
	z := make([]float32, chunk)
	for i := range z {
		z[i] = float32(math.Copysign(0, -1))
	}
	return z
}()

// group4 returns inputs [g, g+4) and their coefficients, padded.
func group4(xs [][]float32, coef []float64, g, n int) (x [4][]float32, c [4]float64) {
	for i := range 4 {
		if g+i < len(xs) {
			x[i], c[i] = xs[g+i][:n], coef[g+i]
		} else {
			x[i] = zeros[:n]
		}
	}
	return
}

// linear32 computes res = Σ c_i·x_i (or b + Σ c_i·(x_i − b)) in float32.
// Inputs are taken four at a time so each pass over the accumulator does
// four multiply-adds; the sum is still formed left to right in model
// order. The explicit conversions stop the compiler fusing into FMA, so
// results do not depend on the target.
func linear32(res []float32, xs [][]float32, b []float32, coef []float64) {
	n := len(res)
	if b == nil {
		for g := 0; g < len(xs); g += 4 {
			x, c64 := group4(xs, coef, g, n)
			c := [4]float32{float32(c64[0]), float32(c64[1]), float32(c64[2]), float32(c64[3])}
			x0, x1, x2, x3 := x[0], x[1], x[2], x[3]
			if g == 0 {
				for k := range res {
					res[k] = float32(c[0]*x0[k]) + float32(c[1]*x1[k]) + float32(c[2]*x2[k]) + float32(c[3]*x3[k])
				}
				continue
			}
			for k := range res {
				res[k] = res[k] + float32(c[0]*x0[k]) + float32(c[1]*x1[k]) + float32(c[2]*x2[k]) + float32(c[3]*x3[k])
			}
		}
		return
	}
	b = b[:n]
	d := res
	for k := range d {
		d[k] = 0
	}
	for i := range xs {
		c, x := float32(coef[i]), xs[i][:n]
		for k := range d {
			d[k] += float32(c * (x[k] - b[k]))
		}
	}
	for k := range res {
		res[k] = b[k] + d[k]
	}
}

// Passes of linear64 over a group of four inputs.
const (
	modeOnly   = iota // the only group: res = Σ
	modeFirst         // acc = Σ
	modeLast          // res = acc + Σ
	modeMiddle        // acc += Σ
)

// linear64 is linear32 with a float64 accumulator. Each float32 input is
// widened exactly, so the only roundings are the products and sums, and the
// result equals Σ c_i·x_i computed in float64 in model order, rounded once.
func linear64(res []float32, xs [][]float32, b []float32, coef []float64, acc []float64) {
	n := len(res)
	acc = acc[:n]
	if b == nil {
		for g := 0; g < len(xs); g += 4 {
			x, c := group4(xs, coef, g, n)
			x0, x1, x2, x3 := x[0], x[1], x[2], x[3]
			mode := modeMiddle
			switch first, last := g == 0, g+4 >= len(xs); {
			case first && last: // K ≤ 4: no accumulator pass at all
				mode = modeOnly
			case first:
				mode = modeFirst
			case last:
				mode = modeLast
			}
			s := linear64Vec(mode, res, acc, &x, &c)
			// The scalar loops do the rest (all of it without AVX-512).
			rr, aa := res[s:], acc[s:len(res)]
			y0, y1, y2, y3 := x0[s:n], x1[s:n], x2[s:n], x3[s:n]
			switch mode {
			case modeOnly:
				for k := range rr {
					rr[k] = float32(float64(c[0]*float64(y0[k])) + float64(c[1]*float64(y1[k])) + float64(c[2]*float64(y2[k])) + float64(c[3]*float64(y3[k])))
				}
			case modeFirst:
				for k := range rr {
					aa[k] = float64(c[0]*float64(y0[k])) + float64(c[1]*float64(y1[k])) + float64(c[2]*float64(y2[k])) + float64(c[3]*float64(y3[k]))
				}
			case modeLast:
				for k := range rr {
					rr[k] = float32(aa[k] + float64(c[0]*float64(y0[k])) + float64(c[1]*float64(y1[k])) + float64(c[2]*float64(y2[k])) + float64(c[3]*float64(y3[k])))
				}
			default:
				for k := range rr {
					aa[k] = aa[k] + float64(c[0]*float64(y0[k])) + float64(c[1]*float64(y1[k])) + float64(c[2]*float64(y2[k])) + float64(c[3]*float64(y3[k]))
				}
			}
		}
		return
	}
	b = b[:n]
	for k := range acc {
		acc[k] = 0
	}
	for i := range xs {
		c, x := coef[i], xs[i][:n]
		for k := range acc {
			acc[k] += float64(c * (float64(x[k]) - float64(b[k])))
		}
	}
	for k := range res {
		res[k] = float32(float64(b[k]) + acc[k])
	}
}

package merge

import (
	"fmt"
	"math"
)

// slerpMethod is spherical interpolation between two models, t = 0 giving
// the first (the base model when one is given) and t = 1 the second.
type slerpMethod struct{}

func (slerpMethod) params() []paramDef {
	return []paramDef{{name: "t", def: 0.5, lo: 0, hi: 1}}
}

func (slerpMethod) base() baseUse { return baseOptional }

func (slerpMethod) check(o *Options) error {
	n := len(o.Models)
	if o.Base != "" {
		n++
	}
	if n != 2 {
		return fmt.Errorf("slerp merges exactly two models (got %d, counting the base)", n)
	}
	return nil
}

func (slerpMethod) tensor(c *tensorCtx) (step, error) {
	a, b := c.xs[0], c.xs[len(c.xs)-1]
	if c.base != nil {
		a, b = *c.base, c.xs[0]
	}
	s0, s1 := slerpCoef(&a, &b, c.n, c.global("t"))
	return step{k: weighted{coef: []float64{s0, s1}, f64: c.accF64}, xs: []input{a, b}}, nil
}

// slerpCoef returns mergekit's SLERP coefficients for endpoints a (t=0) and
// b (t=1), computed over the whole tensor in float64: with the unit vectors'
// cosine dot, s0 = sin((1−t)θ)/sin θ and s1 = sin(tθ)/sin θ, applied to the
// original (unnormalised) tensors. Nearly colinear vectors (|dot| > 0.9995)
// fall back to lerp, as mergekit does.
func slerpCoef(a, b *input, n int, t float64) (float64, float64) {
	var dot, na, nb float64
	bufA, bufB := make([]float32, chunk), make([]float32, chunk)
	for c := 0; c < n; c += chunk {
		m := min(chunk, n-c)
		x, y := view(a, c, c+m, bufA), view(b, c, c+m, bufB)
		for k := range m {
			xa, yb := float64(x[k]), float64(y[k])
			dot += xa * yb
			na += xa * xa
			nb += yb * yb
		}
	}
	const eps = 1e-8
	na, nb = math.Sqrt(na), math.Sqrt(nb)
	if na > eps {
		dot /= na
	}
	if nb > eps {
		dot /= nb
	}
	if math.Abs(dot) > 0.9995 {
		return 1 - t, t
	}
	theta := math.Acos(dot)
	sin := math.Sin(theta)
	return math.Sin(theta-theta*t) / sin, math.Sin(theta*t) / sin
}

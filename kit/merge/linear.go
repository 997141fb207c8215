package merge

import "fmt"

// linear is the weighted average Σ w_i·θ_i, divided by Σ w_i when
// normalize is on (the default): with equal weights, WARM's uniform mean.
type linear struct{}

func (linear) params() []paramDef {
	return []paramDef{
		{name: "weight", perModel: true, def: 1},
		{name: "normalize", def: 1, boolean: true},
	}
}

func (linear) base() baseUse { return baseNone }

func (linear) check(o *Options) error { return nil }

func (m linear) tensor(c *tensorCtx) (step, error) {
	ws := c.perModel("weight")
	coef, err := weightCoefs(c, ws, c.flag("normalize"))
	if err != nil {
		return step{}, err
	}
	return step{k: weighted{coef: coef, f64: c.accF64}, xs: c.xs}, nil
}

// weightCoefs returns w_i, or w_i / Σ w when normalizing.
func weightCoefs(c *tensorCtx, ws []float64, normalize bool) ([]float64, error) {
	coef := append([]float64(nil), ws...)
	if !normalize {
		return coef, nil
	}
	sum := 0.0
	for _, w := range ws {
		sum += w
	}
	if sum == 0 {
		return nil, fmt.Errorf("tensor %q: weights sum to zero, cannot normalize", c.name)
	}
	for i := range coef {
		coef[i] /= sum
	}
	return coef, nil
}

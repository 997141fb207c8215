package merge

// taskArithmetic is base + λ·Σ w_i·(θ_i − base), divided by Σ w_i when
// normalize is on (off by default, as in mergekit).
type taskArithmetic struct{}

func (taskArithmetic) params() []paramDef { return gtaParams(false, false) }

func (taskArithmetic) base() baseUse { return baseRequired }

func (taskArithmetic) check(o *Options) error { return nil }

func (taskArithmetic) tensor(c *tensorCtx) (step, error) {
	coef, err := weightCoefs(c, c.perModel("weight"), c.flag("normalize"))
	if err != nil {
		return step{}, err
	}
	lambda := c.global("lambda")
	for i := range coef {
		coef[i] *= lambda
	}
	return step{k: weighted{coef: coef, f64: c.accF64}, xs: c.xs, base: c.base}, nil
}

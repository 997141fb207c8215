package merge

// ties is TIES-merging (Yadav et al. 2023) as mergekit computes it: each
// task vector θ_i − base is trimmed to its top density·n magnitudes, the
// sign of Σ w_i·τ_i is elected per element (0 counts as +), and the agreeing
// w_i·τ_i are summed, divided by the sum of their weights when normalize is
// on (the default).
type ties struct{}

func (ties) params() []paramDef { return gtaParams(true, false) }

func (ties) base() baseUse { return baseRequired }

func (ties) check(o *Options) error { return nil }

func (ties) tensor(c *tensorCtx) (step, error) {
	t := newTaskVectors(c, true)
	for i, d := range c.perModel("density") {
		if d < 1 {
			t.keep[i] = rankKeep(c, &c.xs[i], 0, keepCount(d, c.n))
		}
	}
	return step{k: t, xs: c.xs, base: c.base}, nil
}

// keepCount is mergekit's int(density·n), at least one element (mergekit
// refuses to zero a whole tensor).
func keepCount(density float64, n int) int {
	return max(1, int(density*float64(n)))
}

// newTaskVectors starts the kernel shared by the sparsified methods: the
// weights, λ and normalize for this tensor, keeping everything and
// rescaling nothing until the method says otherwise.
func newTaskVectors(c *tensorCtx, consensus bool) *taskVectors {
	k := len(c.xs)
	t := &taskVectors{
		w:         c.perModel("weight"),
		scale:     make([]float64, k),
		keep:      make([]keepRule, k),
		consensus: consensus,
		norm:      c.flag("normalize"),
		lambda:    c.global("lambda"),
	}
	for i := range t.scale {
		t.scale[i] = 1
	}
	return t
}

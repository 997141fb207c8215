package merge

// breadcrumbs is Model Breadcrumbs (Davari & Belilovsky 2023) as mergekit's
// magnitude_outliers sparsification: in each task vector the largest
// gamma·n magnitudes (outliers) are dropped and the next density·n kept;
// then the task vectors are summed (breadcrumbs) or combined by TIES' sign
// election (breadcrumbs_ties). Normalize is off by default for both.
//
// One departure: when gamma·n < 1, mergekit's slice indices[n_bot:-0]
// keeps nothing at all; here no outlier is dropped and density·n entries
// are kept.
type breadcrumbs struct{ consensus bool }

func (breadcrumbs) params() []paramDef {
	return append(gtaParams(false, false), paramDef{name: "gamma", perModel: true, def: 0.01, lo: 0, hi: 1})
}

func (breadcrumbs) base() baseUse { return baseRequired }

func (breadcrumbs) check(o *Options) error { return nil }

func (m breadcrumbs) tensor(c *tensorCtx) (step, error) {
	t := newTaskVectors(c, m.consensus)
	gamma := c.perModel("gamma")
	for i, d := range c.perModel("density") {
		if d >= 1 {
			continue
		}
		keep := keepCount(d, c.n)
		skip := min(int(gamma[i]*float64(c.n)), c.n-keep)
		t.keep[i] = rankKeep(c, &c.xs[i], skip, keep)
	}
	return step{k: t, xs: c.xs, base: c.base}, nil
}

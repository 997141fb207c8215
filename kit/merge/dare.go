package merge

import "hash/fnv"

// dare is DARE (Yu et al. 2023): each task-vector entry is dropped with
// probability 1 − density and the kept ones are rescaled by 1/density
// (rescale, on by default); then the task vectors are summed (dare_linear)
// or combined by TIES' sign election (dare_ties). Normalize is off by
// default for both, as in mergekit.
//
// The drop mask is a hash of (seed, model index, tensor name, element
// index): reproducible and independent of chunking and worker count, but
// not mergekit's torch RNG, so masks differ from mergekit's.
type dare struct{ consensus bool }

func (dare) params() []paramDef { return gtaParams(false, true) }

func (dare) base() baseUse { return baseRequired }

func (dare) check(o *Options) error { return nil }

func (m dare) tensor(c *tensorCtx) (step, error) {
	t := newTaskVectors(c, m.consensus)
	h := fnv.New64a()
	h.Write([]byte(c.name))
	key := h.Sum64()
	rescale := c.flag("rescale")
	for i, d := range c.perModel("density") {
		if d >= 1 {
			continue
		}
		t.keep[i] = keepRule{dropP: uint64(d * (1 << 64)), seed: c.opt.Seed, key: key, model: uint64(i)}
		if rescale {
			t.scale[i] = 1 / d
		}
	}
	return step{k: t, xs: c.xs, base: c.base}, nil
}

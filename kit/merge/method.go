package merge

import (
	"fmt"
	"slices"
	"strings"
)

// method is one merge method. Each lives in a file of its own (linear.go,
// slerp.go, ...), as in mergekit's merge_methods/; the hot loops they
// configure (kernel.go, taskvec.go) are shared.
type method interface {
	// params lists the parameters the method reads, with their defaults.
	params() []paramDef
	// base says whether a base model is required, optional or refused.
	base() baseUse
	// check validates what can be checked before any tensor is read.
	check(o *Options) error
	// tensor prepares one output tensor: the kernel and the inputs it reads.
	tensor(c *tensorCtx) (step, error)
}

type baseUse int

const (
	baseNone     baseUse = iota // linear: no base model
	baseOptional                // slerp: the base is the t = 0 end when given
	baseRequired                // task arithmetic and its sparsified kinds
)

// paramDef declares one parameter of a method.
type paramDef struct {
	name     string
	perModel bool    // read per model (weight, density); else global
	def      float64 // default when no setting gives it
	boolean  bool    // true/false in YAML
	// lo, hi bound every value (when lo < hi); loOpen excludes lo.
	lo, hi float64
	loOpen bool
}

// step is a prepared output tensor: kernel applied to xs (and base).
type step struct {
	k    kernel
	xs   []input
	base *input
}

// methods is the registry: mergekit's method names.
var methods = map[string]method{
	"linear":           linear{},
	"slerp":            slerpMethod{},
	"task_arithmetic":  taskArithmetic{},
	"ties":             ties{},
	"dare_linear":      dare{consensus: false},
	"dare_ties":        dare{consensus: true},
	"breadcrumbs":      breadcrumbs{consensus: false},
	"breadcrumbs_ties": breadcrumbs{consensus: true},
}

// MethodNames lists the merge methods, sorted.
func MethodNames() []string { return sortedKeys(methods) }

func lookupMethod(name string) (method, error) {
	if m, ok := methods[name]; ok {
		return m, nil
	}
	return nil, fmt.Errorf("unknown merge method %q (want %s)", name, strings.Join(MethodNames(), ", "))
}

// paramDefOf returns the definition of parameter name for m.
func paramDefOf(m method, name string) (paramDef, bool) {
	for _, p := range m.params() {
		if p.name == name {
			return p, true
		}
	}
	return paramDef{}, false
}

// knownParam reports whether any method takes parameter name.
func knownParam(name string) bool {
	for _, m := range methods {
		if _, ok := paramDefOf(m, name); ok {
			return true
		}
	}
	return false
}

// ignoredParams lists the parameters in o that o's method does not read.
func ignoredParams(o *Options) []string {
	m, err := lookupMethod(o.Method)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	for _, ps := range append([]Params{o.Params}, o.ModelParams...) {
		for name := range ps {
			if _, ok := paramDefOf(m, name); !ok {
				seen[name] = true
			}
		}
	}
	return sortedKeys(seen)
}

// paramNames lists m's parameters for messages.
func paramNames(m method, perModel bool) string {
	var n []string
	for _, p := range m.params() {
		if p.perModel == perModel {
			n = append(n, p.name)
		}
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

// gtaParams are the parameters of mergekit's generalized task arithmetic
// (task_arithmetic, ties, dare_*, breadcrumbs*), plus lambda, the scale of
// the merged task vector that mergekit's older releases take.
func gtaParams(normalize, rescale bool) []paramDef {
	return []paramDef{
		{name: "weight", perModel: true, def: 1},
		{name: "density", perModel: true, def: 1, lo: 0, hi: 1, loOpen: true},
		{name: "lambda", def: 1},
		{name: "normalize", def: b2f(normalize), boolean: true},
		{name: "rescale", def: b2f(rescale), boolean: true},
		{name: "int8_mask", def: 0, boolean: true},
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// checkParams validates that every setting in o names a parameter of m at
// the right level, and that every value it can take is in range.
func checkParams(m method, o *Options) error {
	chk := func(where, name string, s Setting, perModel bool) error {
		p, ok := paramDefOf(m, name)
		if !ok && knownParam(name) {
			return nil // another method's parameter: mergekit ignores it, and so do we (the card lists it)
		}
		if !ok {
			return fmt.Errorf("%sparameter %q is not one of %s's (it takes %s per model; %s globally)", where, name, o.Method, paramNames(m, true), paramNames(m, false))
		}
		if perModel && !p.perModel {
			return fmt.Errorf("%sparameter %q of %s is global: set it under the top-level parameters", where, name, o.Method)
		}
		if len(s.Cases) == 0 {
			return fmt.Errorf("%sparameter %q has no value", where, name)
		}
		for _, c := range s.Cases {
			if len(c.Values) == 0 {
				return fmt.Errorf("%sparameter %q: empty list", where, name)
			}
		}
		for _, v := range s.values() {
			if p.boolean && v != 0 && v != 1 {
				return fmt.Errorf("%sparameter %q: %s, want true or false", where, name, num(v))
			}
			if p.lo < p.hi && (v < p.lo || v > p.hi || p.loOpen && v == p.lo) {
				open := "["
				if p.loOpen {
					open = "("
				}
				return fmt.Errorf("%sparameter %q: %s outside %s%s, %s]", where, name, num(v), open, num(p.lo), num(p.hi))
			}
		}
		return nil
	}
	for _, name := range sortedKeys(o.Params) {
		if err := chk("", name, o.Params[name], false); err != nil {
			return err
		}
	}
	for i, mp := range o.ModelParams {
		for _, name := range sortedKeys(mp) {
			if err := chk(fmt.Sprintf("model %s: ", o.Models[i]), name, mp[name], true); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

// tensorCtx is what a method sees of one output tensor.
type tensorCtx struct {
	name   string
	n      int
	pos    float64 // layer position for gradients (see layerPos)
	xs     []input // the models
	base   *input  // nil without a base model
	opt    *Options
	m      method
	accF64 bool
	// bits is a reusable buffer of n uint32 (ties' magnitudes); scratch is
	// a worker's buffers, free while the tensor is being prepared.
	bits    func(n int) []uint32
	scratch *scratch
}

// global returns a global parameter for this tensor.
func (c *tensorCtx) global(name string) float64 {
	if s, ok := c.opt.Params[name]; ok {
		if v, ok := s.at(c.name, c.pos); ok {
			return v
		}
	}
	p, _ := paramDefOf(c.m, name)
	return p.def
}

// flag returns a boolean global parameter.
func (c *tensorCtx) flag(name string) bool { return c.global(name) != 0 }

// model returns model i's value of a per-model parameter: its own setting,
// else the global one, else the default (mergekit's lookup order).
func (c *tensorCtx) model(i int, name string) float64 {
	if i < len(c.opt.ModelParams) {
		if s, ok := c.opt.ModelParams[i][name]; ok {
			if v, ok := s.at(c.name, c.pos); ok {
				return v
			}
		}
	}
	return c.global(name)
}

// perModel returns a per-model parameter for every model.
func (c *tensorCtx) perModel(name string) []float64 {
	v := make([]float64, len(c.xs))
	for i := range v {
		v[i] = c.model(i, name)
	}
	return v
}

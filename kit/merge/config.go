package merge

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadConfig reads a mergekit YAML file into opt; what the file sets
// replaces opt's values. It accepts mergekit's keys for the methods warm
// has (merge_method, base_model, models or one slice, parameters with
// numbers, gradients and filters, dtype, out_dtype, tokenizer_source) and
// warm's seed and accum; any other key is an error naming it, the file and
// the line, and so are the mergekit features warm does not have (LoRA
// models, several slices, modules, tokenizer:, chat_template).
func LoadConfig(path string, opt *Options) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	p := &configParser{path: path}
	if len(doc.Content) == 0 {
		return fmt.Errorf("%s: empty config", path)
	}
	if err := p.top(doc.Content[0], opt); err != nil {
		return err
	}
	opt.Config, opt.ConfigPath = string(raw), path
	return nil
}

type configParser struct{ path string }

func (p *configParser) errf(n *yaml.Node, format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s", p.path, n.Line, fmt.Sprintf(format, a...))
}

// fields walks a mapping node, calling set for each key; a key not in
// known is an error naming it.
func (p *configParser) fields(n *yaml.Node, where string, known []string, set func(key string, v *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "%s: want a mapping", where)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(known, k.Value) {
			return p.errf(k, "unknown key %q in %s (known: %s)", k.Value, where, strings.Join(known, ", "))
		}
		if seen[k.Value] {
			return p.errf(k, "key %q given twice in %s", k.Value, where)
		}
		seen[k.Value] = true
		if err := set(k.Value, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *configParser) str(n *yaml.Node, key string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errf(n, "%s: want a string", key)
	}
	return n.Value, nil
}

// model reads a model reference; mergekit's "model+lora" form is refused.
func (p *configParser) model(n *yaml.Node, key string) (string, error) {
	s, err := p.str(n, key)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", p.errf(n, "%s: empty model path", key)
	}
	if strings.Contains(s, "+") && !fileExists(s) {
		return "", p.errf(n, "%s: %q: LoRA references (model+lora) are unsupported; merge the adapter into the model first", key, s)
	}
	return s, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

var topKeys = []string{"merge_method", "base_model", "models", "slices", "parameters", "dtype", "out_dtype",
	"tokenizer_source", "seed", "accum", "dare_then", "tokenizer", "chat_template", "modules"}

func (p *configParser) top(n *yaml.Node, opt *Options) error {
	var models []string
	var mparams []Params
	haveModels := false
	var globals, sliceParams Params
	var dtype, outDtype, dareThen string
	err := p.fields(n, "the config", topKeys, func(key string, v *yaml.Node) (err error) {
		switch key {
		case "merge_method":
			opt.Method, err = p.str(v, key)
		case "base_model":
			opt.Base, err = p.model(v, key)
		case "models":
			haveModels = true
			models, mparams, err = p.models(v)
		case "slices":
			haveModels = true
			models, mparams, sliceParams, err = p.slices(v, opt)
		case "parameters":
			globals, err = p.params(v, "parameters")
		case "dtype":
			dtype, err = p.dtype(v, key)
		case "out_dtype":
			outDtype, err = p.dtype(v, key)
		case "tokenizer_source":
			opt.TokenizerSource, err = p.str(v, key)
			if err == nil && opt.TokenizerSource != "base" && opt.TokenizerSource != "union" {
				err = p.errf(v, "tokenizer_source %q: unsupported (warm takes base or union; a model path would need mergekit's embedding permutation)", opt.TokenizerSource)
			}
		case "seed":
			var s string
			if s, err = p.str(v, key); err == nil {
				if opt.Seed, err = strconv.ParseUint(s, 10, 64); err != nil {
					err = p.errf(v, "seed %q: want a non-negative integer", s)
				}
			}
		case "accum":
			opt.Accum, err = p.str(v, key)
		case "dare_then":
			dareThen, err = p.str(v, key)
		case "tokenizer":
			err = p.errf(v, "tokenizer: unsupported (warm does not build merged vocabularies); use tokenizer_source: base with models that share a tokenizer")
		case "chat_template":
			err = p.errf(v, "chat_template: unsupported; the base model's tokenizer_config.json (with its template) is copied")
		case "modules":
			err = p.errf(v, "modules: unsupported (multi-module merges); use models:")
		}
		return err
	})
	if err != nil {
		return err
	}
	if haveModels {
		opt.Models, opt.ModelParams = models, mparams
	}
	// A slice's parameters come before the global ones: mergekit consults
	// the slice first and falls through to the globals when no case
	// matches, which concatenating the cases reproduces.
	if globals != nil || sliceParams != nil {
		opt.Params = Params{}
		for k, s := range globals {
			opt.Params[k] = s
		}
		for k, s := range sliceParams {
			opt.Params[k] = Setting{Cases: append(append([]Case(nil), s.Cases...), globals[k].Cases...)}
		}
	}
	if outDtype != "" {
		dtype = outDtype // mergekit: out_dtype is what is written
	}
	if dtype != "" {
		opt.Dtype = dtype
	}
	if dareThen != "" {
		if opt.Method != "dare" && opt.Method != "dare_linear" && opt.Method != "dare_ties" {
			return fmt.Errorf("%s: dare_then applies to dare only (merge_method is %q)", p.path, opt.Method)
		}
		opt.Method = "dare_" + dareThen
	}
	if opt.Method == "linear" {
		opt.Base = "" // mergekit's linear ignores base_model
	}
	m := opt.Method
	if m == "dare" {
		m = "dare_linear"
	}
	if _, err := lookupMethod(m); err != nil {
		return fmt.Errorf("%s: %v", p.path, err)
	}
	return nil
}

func (p *configParser) dtype(n *yaml.Node, key string) (string, error) {
	s, err := p.str(n, key)
	if err != nil {
		return "", err
	}
	d := parseDtype(s)
	if d == "" || d == "keep" && key == "out_dtype" {
		return "", p.errf(n, "%s %q: want float32, bfloat16 or float16", key, s)
	}
	return d, nil
}

// models reads models: [{model, parameters}].
func (p *configParser) models(n *yaml.Node) ([]string, []Params, error) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, nil, p.errf(n, "models: want a non-empty list of {model: PATH, parameters: {...}}")
	}
	var models []string
	var params []Params
	for i, e := range n.Content {
		where := fmt.Sprintf("models[%d]", i)
		m, ps, _, err := p.source(e, where, false)
		if err != nil {
			return nil, nil, err
		}
		models, params = append(models, m), append(params, ps)
	}
	return models, params, nil
}

// source reads one models: entry or slice source.
func (p *configParser) source(n *yaml.Node, where string, slice bool) (string, Params, []int, error) {
	var model string
	var ps Params
	var rng []int
	known := []string{"model", "parameters"}
	if slice {
		known = append(known, "layer_range")
	}
	err := p.fields(n, where, known, func(key string, v *yaml.Node) (err error) {
		switch key {
		case "model":
			model, err = p.model(v, where+".model")
		case "parameters":
			ps, err = p.params(v, where+".parameters")
		case "layer_range":
			if v.Kind != yaml.SequenceNode || len(v.Content) != 2 {
				return p.errf(v, "%s.layer_range: want [first, end]", where)
			}
			for _, x := range v.Content {
				i, err := strconv.Atoi(x.Value)
				if err != nil || i < 0 {
					return p.errf(x, "%s.layer_range: %q is not a layer index", where, x.Value)
				}
				rng = append(rng, i)
			}
		}
		return err
	})
	if err == nil && model == "" {
		err = p.errf(n, "%s has no model:", where)
	}
	if err == nil && slice && rng == nil {
		err = p.errf(n, "%s has no layer_range:", where)
	}
	return model, ps, rng, err
}

// slices reads slices: with one output slice whose sources all cover the
// same layer range: the same merge as models: (checked against the layer
// count when the models are open).
func (p *configParser) slices(n *yaml.Node, opt *Options) ([]string, []Params, Params, error) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return nil, nil, nil, p.errf(n, "slices: want a list of {sources: [...]}")
	}
	if len(n.Content) > 1 {
		return nil, nil, nil, p.errf(n, "slices: %d output slices: stacking layer ranges (passthrough, frankenmerges) is unsupported; warm merges whole models: one slice whose sources all have layer_range [0, number of layers]", len(n.Content))
	}
	var models []string
	var mparams []Params
	var sliceParams Params
	err := p.fields(n.Content[0], "slices[0]", []string{"sources", "parameters", "base_model", "residual_weight"}, func(key string, v *yaml.Node) (err error) {
		switch key {
		case "sources":
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				return p.errf(v, "slices[0].sources: want a non-empty list")
			}
			for i, e := range v.Content {
				where := fmt.Sprintf("slices[0].sources[%d]", i)
				m, ps, rng, err := p.source(e, where, true)
				if err != nil {
					return err
				}
				if opt.LayerRange == nil {
					opt.LayerRange = rng
				} else if !slices.Equal(rng, opt.LayerRange) {
					return p.errf(e, "%s.layer_range %v differs from %v: sources covering different layers are unsupported; every source must cover all layers", where, rng, opt.LayerRange)
				}
				models, mparams = append(models, m), append(mparams, ps)
			}
		case "parameters":
			sliceParams, err = p.params(v, "slices[0].parameters")
		case "base_model":
			opt.Base, err = p.model(v, "slices[0].base_model")
		case "residual_weight":
			err = p.errf(v, "slices[0].residual_weight: unsupported")
		}
		return err
	})
	return models, mparams, sliceParams, err
}

// params reads a parameters: mapping.
func (p *configParser) params(n *yaml.Node, where string) (Params, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "%s: want a mapping of name: value", where)
	}
	ps := Params{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := ps[k.Value]; dup {
			return nil, p.errf(k, "%s: %q given twice", where, k.Value)
		}
		s, err := p.setting(v, where+"."+k.Value)
		if err != nil {
			return nil, err
		}
		ps[k.Value] = s
	}
	return ps, nil
}

// setting reads a number, a boolean, a gradient list, a {filter, value}
// mapping or a list of those.
func (p *configParser) setting(n *yaml.Node, where string) (Setting, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		v, err := p.number(n, where)
		return Setting{Cases: []Case{{Values: []float64{v}}}}, err
	case yaml.MappingNode:
		c, err := p.conditional(n, where)
		return Setting{Cases: []Case{c}}, err
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return Setting{}, p.errf(n, "%s: empty list", where)
		}
		if n.Content[0].Kind == yaml.MappingNode {
			var s Setting
			for i, e := range n.Content {
				if e.Kind != yaml.MappingNode {
					return Setting{}, p.errf(e, "%s[%d]: want {filter: ..., value: ...} like the other entries", where, i)
				}
				c, err := p.conditional(e, fmt.Sprintf("%s[%d]", where, i))
				if err != nil {
					return Setting{}, err
				}
				s.Cases = append(s.Cases, c)
			}
			return s, nil
		}
		vals, err := p.numbers(n, where)
		return Setting{Cases: []Case{{Values: vals}}}, err
	}
	return Setting{}, p.errf(n, "%s: want a number, a list of numbers or {filter, value}", where)
}

func (p *configParser) conditional(n *yaml.Node, where string) (Case, error) {
	var c Case
	err := p.fields(n, where, []string{"filter", "value"}, func(key string, v *yaml.Node) (err error) {
		switch key {
		case "filter":
			c.Filter, err = p.str(v, where+".filter")
		case "value":
			if v.Kind == yaml.SequenceNode {
				c.Values, err = p.numbers(v, where+".value")
			} else {
				var x float64
				x, err = p.number(v, where+".value")
				c.Values = []float64{x}
			}
		}
		return err
	})
	if err == nil && c.Values == nil {
		err = p.errf(n, "%s has no value:", where)
	}
	return c, err
}

func (p *configParser) numbers(n *yaml.Node, where string) ([]float64, error) {
	if len(n.Content) == 0 {
		return nil, p.errf(n, "%s: empty list", where)
	}
	vals := make([]float64, len(n.Content))
	for i, e := range n.Content {
		v, err := p.number(e, fmt.Sprintf("%s[%d]", where, i))
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	return vals, nil
}

// number reads a YAML number or boolean (true = 1, false = 0).
func (p *configParser) number(n *yaml.Node, where string) (float64, error) {
	if n.Kind == yaml.ScalarNode {
		switch n.Tag {
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err == nil {
				return b2f(b), nil
			}
		case "!!int", "!!float":
			var f float64
			if err := n.Decode(&f); err == nil {
				return f, nil
			}
		}
	}
	return 0, p.errf(n, "%s: %q is not a number", where, n.Value)
}

package merge

import (
	"fmt"
	"strconv"
	"strings"
)

// Setting is one parameter value as mergekit's YAML writes it: a number, a
// gradient (a list of numbers interpolated over the layers), or a list of
// filtered alternatives of either kind. The first case whose filter matches
// the tensor name applies; when none matches, the parameter falls through
// to the next level (model → slice → global → the method's default), as in
// mergekit.
type Setting struct {
	Cases []Case
}

// Case is one alternative of a Setting.
type Case struct {
	// Filter selects tensors by substring of the name; "" and "*" match all.
	Filter string
	// Values: one value is a constant; several are a gradient.
	Values []float64
}

// Scalar is a constant setting.
func Scalar(v float64) Setting { return Setting{Cases: []Case{{Values: []float64{v}}}} }

// Gradient is a setting interpolated over the layers.
func Gradient(v ...float64) Setting { return Setting{Cases: []Case{{Values: v}}} }

// at evaluates s for tensor name at layer position t ∈ [0, 1]; ok is false
// when no case matches.
//
// Gradients follow mergekit's evaluate_setting: with values v_0..v_{m-1},
// x = t·(m−1), i = ⌊x⌋, and the value is (1−f)·v_i + f·v_{min(i+1, m−1)}
// with f = x − i: piecewise-linear, v_0 at the first layer, v_{m−1} at the
// last.
func (s Setting) at(name string, t float64) (float64, bool) {
	for _, c := range s.Cases {
		if c.Filter != "" && c.Filter != "*" && !strings.Contains(name, c.Filter) {
			continue
		}
		v := c.Values
		if len(v) == 1 {
			return v[0], true
		}
		x := t * float64(len(v)-1)
		i := int(x)
		j := min(len(v)-1, i+1)
		f := x - float64(i)
		return (1-f)*v[i] + f*v[j], true
	}
	return 0, false
}

// values returns every number s lists: interpolation stays between them,
// so range checks on these cover every tensor.
func (s Setting) values() []float64 {
	var out []float64
	for _, c := range s.Cases {
		out = append(out, c.Values...)
	}
	return out
}

// constant reports whether s is one unfiltered number.
func (s Setting) constant() (float64, bool) {
	if len(s.Cases) == 1 && (s.Cases[0].Filter == "" || s.Cases[0].Filter == "*") && len(s.Cases[0].Values) == 1 {
		return s.Cases[0].Values[0], true
	}
	return 0, false
}

// String renders s in mergekit's YAML (flow style).
func (s Setting) String() string {
	list := func(v []float64) string {
		if len(v) == 1 {
			return num(v[0])
		}
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = num(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	if len(s.Cases) == 1 && (s.Cases[0].Filter == "") {
		return list(s.Cases[0].Values)
	}
	parts := make([]string, len(s.Cases))
	for i, c := range s.Cases {
		if c.Filter == "" {
			parts[i] = "{value: " + list(c.Values) + "}"
		} else {
			parts[i] = fmt.Sprintf("{filter: %s, value: %s}", yamlString(c.Filter), list(c.Values))
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Params are parameter settings by mergekit name (weight, density, t,
// lambda, normalize, int8_mask, rescale).
type Params map[string]Setting

// layerPos returns where tensor name sits for gradients, as mergekit's
// planner places it: layer i of L (the first integer path component, as in
// model.layers.12.mlp or transformer.h.3.attn) gets i/(L−1) (1 when L = 1);
// tensors outside the layers get 0 when they are embeddings (mergekit's
// "pre" weights: embed_tokens, wte, wpe) and 1 otherwise (its "post"
// weights: the final norm, lm_head, score).
func layerPos(name string, layers int) float64 {
	if i, ok := layerIndex(name); ok {
		if layers <= 1 {
			return 1
		}
		return float64(i) / float64(layers-1)
	}
	if isEmbedding(name) {
		return 0
	}
	return 1
}

// layerIndex returns the first path component of name that is a decimal
// integer.
func layerIndex(name string) (int, bool) {
	for _, p := range strings.Split(name, ".") {
		if p == "" || len(p) > 6 {
			continue
		}
		if i, err := strconv.Atoi(p); err == nil && i >= 0 && p[0] != '+' {
			return i, true
		}
	}
	return 0, false
}

func isEmbedding(name string) bool {
	if strings.Contains(name, "embed") {
		return true
	}
	for _, p := range strings.Split(name, ".") {
		if p == "wte" || p == "wpe" {
			return true
		}
	}
	return false
}

// Package model is GPT-2 computed exactly as HuggingFace transformers'
// modeling_gpt2 does (gelu_new, biased-variance LayerNorm with the config's
// epsilon, attention scale 1/sqrt(head_dim), Conv1D weights [in, out],
// positions from 0), with explicit forward and backward passes over flat
// parameter and gradient buffers, in the style of llm.c.
//
// Batches are packed: sequences of different lengths are laid end to end
// and attention runs per (sequence, head), so no padding is ever computed.
// This equals HF with right padding and an attention mask: under causal
// attention a real token never sees the pads after it.
package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Architectures, as written in config.json.
const (
	ArchLM          = "GPT2LMHeadModel"
	ArchRewardModel = "GPT2ForSequenceClassification"
)

// Config is the subset of HF's GPT2Config the maths depends on.
type Config struct {
	VocabSize, NPositions, NEmbd, NLayer, NHead int
	NInner                                      int // 0: 4*NEmbd (HF's n_inner null)
	LayerNormEps                                float64
	ResidPdrop, EmbdPdrop, AttnPdrop            float32
	BOSTokenID, EOSTokenID, PadTokenID          int // -1: none
	Architecture                                string
}

// Inner is the MLP width.
func (c Config) Inner() int {
	if c.NInner > 0 {
		return c.NInner
	}
	return 4 * c.NEmbd
}

// HeadDim is NEmbd/NHead.
func (c Config) HeadDim() int { return c.NEmbd / c.NHead }

// Validate reports the first inconsistency in c.
func (c Config) Validate() error {
	switch {
	case c.VocabSize <= 0 || c.NPositions <= 0 || c.NEmbd <= 0 || c.NLayer <= 0 || c.NHead <= 0:
		return fmt.Errorf("vocab_size, n_positions, n_embd, n_layer, n_head must be positive (got %d, %d, %d, %d, %d)",
			c.VocabSize, c.NPositions, c.NEmbd, c.NLayer, c.NHead)
	case c.NEmbd%c.NHead != 0:
		return fmt.Errorf("n_embd %d is not a multiple of n_head %d", c.NEmbd, c.NHead)
	case c.NInner < 0:
		return fmt.Errorf("n_inner %d is negative", c.NInner)
	case !(c.LayerNormEps > 0):
		return fmt.Errorf("layer_norm_epsilon %g must be positive", c.LayerNormEps)
	case c.ResidPdrop < 0 || c.ResidPdrop >= 1 || c.EmbdPdrop < 0 || c.EmbdPdrop >= 1 || c.AttnPdrop < 0 || c.AttnPdrop >= 1:
		return fmt.Errorf("dropout probabilities must be in [0,1) (resid %g, embd %g, attn %g)", c.ResidPdrop, c.EmbdPdrop, c.AttnPdrop)
	case c.Architecture != ArchLM && c.Architecture != ArchRewardModel:
		return fmt.Errorf("architecture %q is not %s or %s", c.Architecture, ArchLM, ArchRewardModel)
	}
	return nil
}

// Param is one named tensor: HF name, shape, weights and gradient. W and G
// are views into the model's flat buffers.
type Param struct {
	Name  string
	Shape []int
	W, G  []float32
}

// Numel is the number of elements.
func (p *Param) Numel() int { return len(p.W) }

type layerParams struct {
	ln1W, ln1B, attnW, attnB, attnProjW, attnProjB *Param
	ln2W, ln2B, fcW, fcB, fcProjW, fcProjB         *Param
}

// Model is a GPT-2 with an optional reward head. Params are in HF order
// (wte, wpe, h.0 … h.{L-1}, ln_f, score). A Model is not safe for
// concurrent use: its activation buffers are shared by Forward calls; use
// Clone for parallel work.
type Model struct {
	Config Config
	Params []*Param

	w, g   []float32 // flat weights and gradients; Params slice into them
	byName map[string]*Param

	wte, wpe   *Param
	layers     []layerParams
	lnfW, lnfB *Param
	score      *Param // nil for a plain LM

	ws workspace
}

type spec struct {
	name  string
	shape []int
}

func specs(c Config, withScore bool) []spec {
	C, F := c.NEmbd, c.Inner()
	s := []spec{
		{"transformer.wte.weight", []int{c.VocabSize, C}},
		{"transformer.wpe.weight", []int{c.NPositions, C}},
	}
	for i := 0; i < c.NLayer; i++ {
		p := fmt.Sprintf("transformer.h.%d.", i)
		s = append(s,
			spec{p + "ln_1.weight", []int{C}},
			spec{p + "ln_1.bias", []int{C}},
			spec{p + "attn.c_attn.weight", []int{C, 3 * C}},
			spec{p + "attn.c_attn.bias", []int{3 * C}},
			spec{p + "attn.c_proj.weight", []int{C, C}},
			spec{p + "attn.c_proj.bias", []int{C}},
			spec{p + "ln_2.weight", []int{C}},
			spec{p + "ln_2.bias", []int{C}},
			spec{p + "mlp.c_fc.weight", []int{C, F}},
			spec{p + "mlp.c_fc.bias", []int{F}},
			spec{p + "mlp.c_proj.weight", []int{F, C}},
			spec{p + "mlp.c_proj.bias", []int{C}},
		)
	}
	s = append(s, spec{"transformer.ln_f.weight", []int{C}}, spec{"transformer.ln_f.bias", []int{C}})
	if withScore {
		s = append(s, spec{"score.weight", []int{1, C}})
	}
	return s
}

// alloc builds Params with zero weights for cfg (score head when the
// architecture is the reward model).
func alloc(cfg Config) *Model {
	m := &Model{Config: cfg}
	m.build(specs(cfg, cfg.Architecture == ArchRewardModel))
	return m
}

// build lays out the flat buffers for the given specs and wires the named
// handles. Old weights with the same name are carried over.
func (m *Model) build(ss []spec) {
	n := 0
	for _, s := range ss {
		n += numel(s.shape)
	}
	w, g := make([]float32, n), make([]float32, n)
	old := m.byName
	m.Params = m.Params[:0]
	m.byName = make(map[string]*Param, len(ss))
	off := 0
	for _, s := range ss {
		k := numel(s.shape)
		p := &Param{Name: s.name, Shape: append([]int(nil), s.shape...), W: w[off : off+k : off+k], G: g[off : off+k : off+k]}
		if o, ok := old[s.name]; ok {
			copy(p.W, o.W)
		}
		off += k
		m.Params = append(m.Params, p)
		m.byName[s.name] = p
	}
	m.w, m.g = w, g
	c := m.Config
	m.wte, m.wpe = m.byName["transformer.wte.weight"], m.byName["transformer.wpe.weight"]
	m.layers = make([]layerParams, c.NLayer)
	for i := range m.layers {
		p := func(s string) *Param { return m.byName[fmt.Sprintf("transformer.h.%d.%s", i, s)] }
		m.layers[i] = layerParams{
			ln1W: p("ln_1.weight"), ln1B: p("ln_1.bias"),
			attnW: p("attn.c_attn.weight"), attnB: p("attn.c_attn.bias"),
			attnProjW: p("attn.c_proj.weight"), attnProjB: p("attn.c_proj.bias"),
			ln2W: p("ln_2.weight"), ln2B: p("ln_2.bias"),
			fcW: p("mlp.c_fc.weight"), fcB: p("mlp.c_fc.bias"),
			fcProjW: p("mlp.c_proj.weight"), fcProjB: p("mlp.c_proj.bias"),
		}
	}
	m.lnfW, m.lnfB = m.byName["transformer.ln_f.weight"], m.byName["transformer.ln_f.bias"]
	m.score = m.byName["score.weight"]
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// New returns a model initialised as HF's GPT2PreTrainedModel._init_weights:
// weights N(0, 0.02), c_proj weights N(0, 0.02/sqrt(2·n_layer)), LayerNorm
// 1 and 0, biases 0; the score head N(0, 0.02). It panics on an invalid
// config.
func New(cfg Config, seed uint64) *Model {
	if err := cfg.Validate(); err != nil {
		panic("model.New: " + err.Error())
	}
	m := alloc(cfg)
	r := rand.New(rand.NewPCG(seed, 0x5741524d)) // "WARM"
	projStd := 0.02 / math.Sqrt(2*float64(cfg.NLayer))
	for _, p := range m.Params {
		switch {
		case hasSuffix(p.Name, "ln_1.weight"), hasSuffix(p.Name, "ln_2.weight"), hasSuffix(p.Name, "ln_f.weight"):
			fill(p.W, 1)
		case hasSuffix(p.Name, ".bias"):
			// zero
		case hasSuffix(p.Name, "c_proj.weight"):
			normal(r, p.W, projStd)
		default:
			normal(r, p.W, 0.02)
		}
	}
	return m
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

func fill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}

func normal(r *rand.Rand, x []float32, std float64) {
	for i := range x {
		x[i] = float32(r.NormFloat64() * std)
	}
}

// Clone returns a deep copy of the weights with zero gradients and fresh
// activation buffers.
func (m *Model) Clone() *Model {
	c := &Model{Config: m.Config}
	ss := make([]spec, len(m.Params))
	for i, p := range m.Params {
		ss[i] = spec{p.Name, p.Shape}
	}
	c.build(ss)
	copy(c.w, m.w)
	return c
}

// Param returns the parameter with that HF name, or nil.
func (m *Model) Param(name string) *Param { return m.byName[name] }

// ZeroGrad clears every gradient.
func (m *Model) ZeroGrad() { clear(m.g) }

// NumParams counts weights (the tied LM head is not counted twice).
func (m *Model) NumParams() int { return len(m.w) }

// Weights and Grads expose the flat buffers (all Params, HF order), for
// whole-model arithmetic such as weight averaging.
func (m *Model) Weights() []float32 { return m.w }
func (m *Model) Grads() []float32   { return m.g }

// HasRewardHead reports whether score.weight exists.
func (m *Model) HasRewardHead() bool { return m.score != nil }

// AsRewardModel turns the model into a GPT2ForSequenceClassification: it
// adds score.weight ([1, n_embd], no bias) initialised N(0, 0.02) from seed
// when missing (keeping it otherwise), and sets the architecture. A missing
// pad_token_id becomes eos_token_id, as TRL does: HF's
// GPT2ForSequenceClassification needs one to pool batches. Gradients are
// reset.
func (m *Model) AsRewardModel(seed uint64) {
	m.Config.Architecture = ArchRewardModel
	if m.Config.PadTokenID < 0 {
		m.Config.PadTokenID = m.Config.EOSTokenID
	}
	if m.score != nil {
		return
	}
	ss := specs(m.Config, true)
	m.build(ss)
	r := rand.New(rand.NewPCG(seed, 0x73636f7265)) // "score"
	normal(r, m.score.W, 0.02)
}

// AsLanguageModel drops the reward head and sets the architecture to
// GPT2LMHeadModel (the LM head is always wte, tied).
func (m *Model) AsLanguageModel() {
	m.Config.Architecture = ArchLM
	if m.score != nil {
		m.build(specs(m.Config, false))
	}
}

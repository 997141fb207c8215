// Package llama runs the Llama family of decoder-only transformers as
// HuggingFace transformers computes them, for inference: Llama 3.x,
// Qwen2/2.5, Qwen3 and Mistral checkpoints, either as reward models
// (*ForSequenceClassification: one scalar per sequence) or as causal LMs
// (*ForCausalLM: per-token log-probabilities). The four families differ
// only in config-driven details (q/k/v biases, per-head q/k RMSNorm,
// explicit head_dim, rope scaling, sliding window), so one forward pass
// serves them all. Weights stay memory-mapped; BF16 weights stay BF16 and
// are widened inside the matrix multiply (gemm.SgemmBF16). See docs/llama.md.
package llama

import (
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/warm-rm/warm/kit/safetensors"
)

// modelLayout is which optional tensors the config implies.
type modelLayout struct {
	qkvBias, oBias, mlpBias, qkNorm bool
}

// matrix is a weight W[rows][cols] as nn.Linear stores it (y = x·Wᵀ),
// either float32 or bfloat16 bit patterns, usually aliasing the mmap.
type matrix struct {
	rows, cols int
	f32        []float32
	bf16       []uint16
}

type layer struct {
	inNorm, postNorm     []float32
	q, k, v, o           matrix
	qBias, kBias, vBias  []float32
	oBias                []float32
	qNorm, kNorm         []float32
	gate, up, down       matrix
	gateB, upB, downBias []float32
}

// Model is a loaded checkpoint. Its methods may be called from several
// goroutines at once; each call uses its own scratch memory.
type Model struct {
	cfg    Config
	dir    string
	ckpt   *safetensors.Checkpoint
	embed  matrix // [vocab][hidden]
	layers []layer
	norm   []float32
	score  []float32 // [hidden], Reward only
	lmHead *matrix   // CausalLM only: lm_head or the tied embeddings
	inv    []float32 // rotary inverse frequencies, head_dim/2
	pool   sync.Pool // *workspace
}

// Config returns the parsed configuration.
func (m *Model) Config() Config { return m.cfg }

// Dir is the directory the model was loaded from.
func (m *Model) Dir() string { return m.dir }

// MaxLen is the longest sequence accepted: max_position_embeddings.
func (m *Model) MaxLen() int { return m.cfg.MaxPositionEmbeddings }

// Close unmaps the weights; the model must not be used afterwards.
func (m *Model) Close() error {
	if m == nil || m.ckpt == nil {
		return nil
	}
	err := m.ckpt.Close()
	m.ckpt = nil
	return err
}

// Load opens a HuggingFace model directory: config.json plus
// model.safetensors or model.safetensors.index.json and its shards.
// Every tensor's shape is checked against config.json before anything
// sized by the config is allocated.
func Load(dir string) (*Model, error) {
	cfgPath := filepath.Join(dir, "config.json")
	cfg, lay, err := readConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	ckpt, err := safetensors.OpenCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, dir: dir, ckpt: ckpt}
	if err := m.bind(lay); err != nil {
		ckpt.Close()
		return nil, err
	}
	m.inv = invFreq(cfg)
	m.pool.New = func() any { return new(workspace) }
	return m, nil
}

// binder fetches tensors by name, checking shape and dtype, and records
// which names were used so that leftovers can be reported.
type binder struct {
	m    *Model
	used map[string]bool
	err  error
}

func (b *binder) fail(format string, a ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("%s: %s", b.m.dir, fmt.Sprintf(format, a...))
	}
}

func (b *binder) info(name string, shape ...int) (safetensors.TensorInfo, bool) {
	if b.err != nil {
		return safetensors.TensorInfo{}, false
	}
	t, ok := b.m.ckpt.Info(name)
	if !ok {
		b.fail("tensor %q is missing (config.json: model_type %s, %s)", name, b.m.cfg.ModelType, b.m.cfg.Architecture)
		return t, false
	}
	b.used[name] = true
	same := len(t.Shape) == len(shape)
	for i := 0; same && i < len(shape); i++ {
		same = t.Shape[i] == shape[i]
	}
	if !same {
		b.fail("tensor %q has shape %v, config.json implies %v", name, t.Shape, shape)
		return t, false
	}
	switch t.Dtype {
	case safetensors.F32, safetensors.BF16, safetensors.F16:
	default:
		b.fail("tensor %q has dtype %s (want F32, BF16 or F16)", name, t.Dtype)
		return t, false
	}
	return t, true
}

// matrix binds a 2-D weight without copying when it is F32 or BF16 and
// aligned; F16 (rare for these families) is widened to a float32 copy.
func (b *binder) matrix(name string, rows, cols int) matrix {
	t, ok := b.info(name, rows, cols)
	if !ok {
		return matrix{}
	}
	raw, err := b.m.ckpt.Bytes(name)
	if err != nil {
		b.fail("%v", err)
		return matrix{}
	}
	w := matrix{rows: rows, cols: cols}
	switch {
	case t.Dtype == safetensors.BF16:
		w.bf16 = asUint16(raw)
	case t.Dtype == safetensors.F32:
		w.f32 = safetensors.AsFloat32(raw)
	default:
		w.f32 = make([]float32, rows*cols)
		safetensors.DecodeFloat32(w.f32, raw, t.Dtype)
	}
	return w
}

// vector reads a 1-D tensor (norm weights, biases) into float32.
func (b *binder) vector(name string, n int) []float32 {
	if _, ok := b.info(name, n); !ok {
		return nil
	}
	v, err := b.m.ckpt.Float32(name)
	if err != nil {
		b.fail("%v", err)
	}
	return v
}

func (m *Model) bind(lay modelLayout) error {
	c := m.cfg
	b := &binder{m: m, used: map[string]bool{}}
	h, hd := c.HiddenSize, c.HeadDim
	qd, kvd := c.NumHeads*hd, c.NumKVHeads*hd
	m.embed = b.matrix("model.embed_tokens.weight", c.VocabSize, h)
	m.layers = make([]layer, 0, min(c.NumLayers, 4096))
	for i := 0; i < c.NumLayers && b.err == nil; i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		var L layer
		L.inNorm = b.vector(p+"input_layernorm.weight", h)
		L.postNorm = b.vector(p+"post_attention_layernorm.weight", h)
		L.q = b.matrix(p+"self_attn.q_proj.weight", qd, h)
		L.k = b.matrix(p+"self_attn.k_proj.weight", kvd, h)
		L.v = b.matrix(p+"self_attn.v_proj.weight", kvd, h)
		L.o = b.matrix(p+"self_attn.o_proj.weight", h, qd)
		if lay.qkvBias {
			L.qBias = b.vector(p+"self_attn.q_proj.bias", qd)
			L.kBias = b.vector(p+"self_attn.k_proj.bias", kvd)
			L.vBias = b.vector(p+"self_attn.v_proj.bias", kvd)
		}
		if lay.oBias {
			L.oBias = b.vector(p+"self_attn.o_proj.bias", h)
		}
		if lay.qkNorm {
			L.qNorm = b.vector(p+"self_attn.q_norm.weight", hd)
			L.kNorm = b.vector(p+"self_attn.k_norm.weight", hd)
		}
		L.gate = b.matrix(p+"mlp.gate_proj.weight", c.IntermediateSize, h)
		L.up = b.matrix(p+"mlp.up_proj.weight", c.IntermediateSize, h)
		L.down = b.matrix(p+"mlp.down_proj.weight", h, c.IntermediateSize)
		if lay.mlpBias {
			L.gateB = b.vector(p+"mlp.gate_proj.bias", c.IntermediateSize)
			L.upB = b.vector(p+"mlp.up_proj.bias", c.IntermediateSize)
			L.downBias = b.vector(p+"mlp.down_proj.bias", h)
		}
		m.layers = append(m.layers, L)
	}
	m.norm = b.vector("model.norm.weight", h)
	switch c.Task {
	case Reward:
		// score is nn.Linear(hidden, num_labels, bias=False).
		if _, ok := b.info("score.weight", 1, h); ok {
			m.score, b.err = m.ckpt.Float32("score.weight")
		}
	case CausalLM:
		if _, ok := m.ckpt.Info("lm_head.weight"); ok || !c.TieWordEmbeddings {
			w := b.matrix("lm_head.weight", c.VocabSize, h)
			m.lmHead = &w
		} else {
			m.lmHead = &m.embed
		}
	}
	if b.err != nil {
		return b.err
	}
	// Anything left over means the config and the weights disagree (a
	// bias the config did not announce, a different architecture).
	// Old Llama checkpoints carry rotary inv_freq buffers: recomputed here.
	for _, name := range m.ckpt.Names() {
		if b.used[name] || filepath.Ext(name) == ".inv_freq" {
			continue
		}
		if c.Task == Reward && name == "lm_head.weight" {
			continue // a causal LM's head left in a reward checkpoint is unused
		}
		return fmt.Errorf("%s: tensor %q is not used by %s (config.json: model_type %s); config and weights disagree",
			m.dir, name, c.Architecture, c.ModelType)
	}
	return nil
}

// littleEndian is true on hosts whose byte order matches safetensors'.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// asUint16 reinterprets little-endian 16-bit elements without a copy when
// the host is little-endian and b is 2-byte aligned; otherwise it copies.
func asUint16(b []byte) []uint16 {
	n := len(b) / 2
	if n == 0 {
		return nil
	}
	if littleEndian && uintptr(unsafe.Pointer(&b[0]))%2 == 0 {
		return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]uint16, n)
	for i := range out {
		out[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return out
}

// invFreq is transformers' rotary inverse frequencies, in float32 as torch
// computes them: 1/theta^(2i/d), then the rope_scaling rescaling.
func invFreq(c Config) []float32 {
	d := c.HeadDim
	inv := make([]float32, d/2)
	for i := range inv {
		e := float32(2*i) / float32(d)
		inv[i] = 1 / float32(math.Pow(c.RopeTheta, float64(e)))
	}
	rs := c.RopeScaling
	if rs == nil {
		return inv
	}
	factor := float32(rs.Factor)
	switch rs.Type {
	case "linear":
		for i := range inv {
			inv[i] /= factor
		}
	case "llama3":
		// Wavelengths longer than the original context divided by low_freq_factor
		// are slowed by factor; shorter than it divided by high_freq_factor are
		// kept; in between, a linear blend in 1/wavelength.
		old := float32(rs.OriginalMaxPositionEmbeddings)
		lowF, highF := float32(rs.LowFreqFactor), float32(rs.HighFreqFactor)
		lowWave, highWave := old/lowF, old/highF
		for i, f := range inv {
			wave := float32(2*math.Pi) * (1 / f)
			scaled := f
			if wave > lowWave {
				scaled = f / factor
			}
			if !(wave < highWave) && !(wave > lowWave) {
				smooth := (old/wave - lowF) / (highF - lowF)
				scaled = (1-smooth)*scaled/factor + smooth*scaled
			}
			inv[i] = scaled
		}
	}
	return inv
}

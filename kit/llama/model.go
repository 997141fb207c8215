// Package llama runs the Llama family of decoder-only transformers as
// HuggingFace transformers computes them, for inference: Llama 3.x,
// Qwen2/2.5, Qwen3 and Mistral checkpoints, either as reward models
// (*ForSequenceClassification: one scalar per sequence) or as causal LMs
// (*ForCausalLM: per-token log-probabilities). The four families differ
// only in config-driven details (q/k/v biases, per-head q/k RMSNorm,
// explicit head_dim, rope scaling, sliding window), so one forward pass
// serves them all. Weights stay memory-mapped (Load) or are read into
// private memory (LoadWith, Options.Private, for long-running servers);
// either way BF16 weights stay BF16 and are widened inside the matrix
// multiply (gemm.SgemmBF16). See docs/llama.md.
package llama

import (
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/warm-rm/warm/kit/safetensors"
)

// modelLayout is which optional tensors the config implies.
type modelLayout struct {
	qkvBias, oBias, mlpBias, qkNorm bool
}

// matrix is a weight W[rows][cols] as nn.Linear stores it (y = x·Wᵀ),
// either float32 or bfloat16 bit patterns, aliasing the mmap (Load) or in
// the model's own memory (Options.Private).
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
	ckpt   *safetensors.Checkpoint // nil once closed, and after a private load
	closed atomic.Bool
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

// Close releases the weights: it unmaps the files of a mapped model (its
// weight slices die with the mapping) and marks the model closed, so later
// calls return an error. It must not run while a call is in progress
// (a mapped model's call would read unmapped memory): callers that share a
// model, such as the server's reload, close it once nothing uses it. A
// private model's memory is the garbage collector's once the model is
// unreachable. Close is idempotent.
func (m *Model) Close() error {
	if m == nil || m.closed.Swap(true) || m.ckpt == nil {
		return nil
	}
	err := m.ckpt.Close()
	m.ckpt = nil
	return err
}

// Options choose how the weights are held.
type Options struct {
	// Private reads every tensor with pread into memory the model owns
	// instead of aliasing a mapping of the files: BF16 stays BF16 and F32
	// stays F32 (a byte-for-byte copy; F16 is widened as in mapped mode),
	// each file's size is checked before and after every read, and the
	// files are closed before LoadWith returns. A file truncated or
	// rewritten in place during the load is then an error naming it, never
	// SIGBUS (which Go cannot recover), and the loaded model does not care
	// what happens to its files afterwards. RSS is the weights' size from
	// the start (a mapped model grows into it as pages are touched); it is
	// what a server that hot-reloads files others may rewrite needs.
	Private bool
	// Finite refuses a checkpoint holding a NaN or Inf weight, naming the
	// tensor and element. It reads every weight once (for a mapped model,
	// every page of the files).
	Finite bool
}

// Load opens a HuggingFace model directory: config.json plus
// model.safetensors or model.safetensors.index.json and its shards.
// Every tensor's shape is checked against config.json before anything
// sized by the config is allocated. The weights stay memory-mapped: the
// files must not shrink while the model is open (see Options.Private).
func Load(dir string) (*Model, error) { return LoadWith(dir, Options{}) }

// LoadWith is Load with options.
func LoadWith(dir string, opt Options) (*Model, error) {
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
	if err := m.bind(lay, opt.Private); err != nil {
		ckpt.Close()
		return nil, err
	}
	if opt.Private {
		// Everything is in the model's memory: no file handle outlives
		// the load.
		err := ckpt.Close()
		m.ckpt = nil
		if err != nil {
			return nil, err
		}
	}
	if opt.Finite {
		if err := m.checkFinite(); err != nil {
			m.Close()
			return nil, err
		}
	}
	m.inv = invFreq(cfg)
	m.pool.New = func() any { return new(workspace) }
	return m, nil
}

// binder fetches tensors by name, checking shape and dtype, and records
// which names were used so that leftovers can be reported.
type binder struct {
	m       *Model
	private bool // read into the model's memory (Options.Private)
	used    map[string]bool
	err     error
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
// With private set, F32 and BF16 are read as stored into new slices.
func (b *binder) matrix(name string, rows, cols int) matrix {
	t, ok := b.info(name, rows, cols)
	if !ok {
		return matrix{}
	}
	if b.private {
		return b.privateMatrix(name, t, rows, cols)
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

// privateMatrix reads a 2-D weight with pread into new memory, keeping
// its dtype: the bytes land straight in the typed slice (no staging copy)
// on little-endian hosts, so the peak is the weight's own size.
func (b *binder) privateMatrix(name string, t safetensors.TensorInfo, rows, cols int) matrix {
	w := matrix{rows: rows, cols: cols}
	var err error
	switch {
	case t.Dtype == safetensors.BF16 && littleEndian:
		w.bf16 = make([]uint16, rows*cols)
		err = b.m.ckpt.ReadBytes(name, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w.bf16))), 2*len(w.bf16)))
	case t.Dtype == safetensors.BF16:
		raw := make([]byte, 2*rows*cols)
		if err = b.m.ckpt.ReadBytes(name, raw); err == nil {
			w.bf16 = asUint16(raw)
		}
	case t.Dtype == safetensors.F32 && littleEndian:
		w.f32 = make([]float32, rows*cols)
		err = b.m.ckpt.ReadBytes(name, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w.f32))), 4*len(w.f32)))
	default: // F16, or F32 on a big-endian host: decoded while read
		w.f32 = make([]float32, rows*cols)
		err = b.m.ckpt.ReadFloat32(name, w.f32)
	}
	if err != nil {
		b.fail("%v", err)
		return matrix{}
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

func (m *Model) bind(lay modelLayout, private bool) error {
	c := m.cfg
	b := &binder{m: m, private: private, used: map[string]bool{}}
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

// checkFinite fails on the first NaN or Inf weight, naming the tensor.
func (m *Model) checkFinite() error {
	check := func(name string, f32 []float32, bf16 []uint16) error {
		for i, v := range f32 {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%s: tensor %q element %d is %v: refusing a model with non-finite weights", m.dir, name, i, v)
			}
		}
		for i, h := range bf16 {
			if h&0x7f80 == 0x7f80 { // exponent all ones: Inf or NaN
				return fmt.Errorf("%s: tensor %q element %d is %v: refusing a model with non-finite weights", m.dir, name, i, safetensors.Float32FromBF16(h))
			}
		}
		return nil
	}
	mat := func(name string, w matrix) error { return check(name, w.f32, w.bf16) }
	vec := func(name string, v []float32) error { return check(name, v, nil) }
	if err := mat("model.embed_tokens.weight", m.embed); err != nil {
		return err
	}
	for i, L := range m.layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		for _, e := range []error{
			vec(p+"input_layernorm.weight", L.inNorm), vec(p+"post_attention_layernorm.weight", L.postNorm),
			mat(p+"self_attn.q_proj.weight", L.q), mat(p+"self_attn.k_proj.weight", L.k),
			mat(p+"self_attn.v_proj.weight", L.v), mat(p+"self_attn.o_proj.weight", L.o),
			vec(p+"self_attn.q_proj.bias", L.qBias), vec(p+"self_attn.k_proj.bias", L.kBias),
			vec(p+"self_attn.v_proj.bias", L.vBias), vec(p+"self_attn.o_proj.bias", L.oBias),
			vec(p+"self_attn.q_norm.weight", L.qNorm), vec(p+"self_attn.k_norm.weight", L.kNorm),
			mat(p+"mlp.gate_proj.weight", L.gate), mat(p+"mlp.up_proj.weight", L.up),
			mat(p+"mlp.down_proj.weight", L.down), vec(p+"mlp.gate_proj.bias", L.gateB),
			vec(p+"mlp.up_proj.bias", L.upB), vec(p+"mlp.down_proj.bias", L.downBias),
		} {
			if e != nil {
				return e
			}
		}
	}
	if err := vec("model.norm.weight", m.norm); err != nil {
		return err
	}
	if err := vec("score.weight", m.score); err != nil {
		return err
	}
	if m.lmHead != nil && m.lmHead != &m.embed {
		return mat("lm_head.weight", *m.lmHead)
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

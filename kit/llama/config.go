package llama

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
)

// Task is what a checkpoint's head computes.
type Task int

const (
	// Reward is *ForSequenceClassification: a `score` head read at the
	// last non-pad token.
	Reward Task = iota
	// CausalLM is *ForCausalLM: an `lm_head` (or tied embeddings) giving
	// next-token log-probabilities.
	CausalLM
)

func (t Task) String() string {
	if t == CausalLM {
		return "causal-lm"
	}
	return "reward"
}

// RopeScaling is config.json's rope_scaling (or transformers 5's
// rope_parameters) for the rope types implemented here.
type RopeScaling struct {
	Type   string  // "llama3" or "linear"
	Factor float64 // both types
	// llama3 only.
	LowFreqFactor, HighFreqFactor float64
	OriginalMaxPositionEmbeddings float64
}

// Config is the part of config.json the forward pass uses, with each
// family's defaults filled in as transformers' config classes do.
type Config struct {
	ModelType    string // llama, qwen2, qwen3, mistral
	Architecture string // e.g. Qwen3ForSequenceClassification
	Task         Task

	VocabSize, HiddenSize, NumLayers int
	NumHeads, NumKVHeads, HeadDim    int
	IntermediateSize                 int
	MaxPositionEmbeddings            int
	RMSNormEps                       float64
	RopeTheta                        float64
	RopeScaling                      *RopeScaling // nil: plain RoPE
	TieWordEmbeddings                bool
	// SlidingWindow > 0 limits attention to the last SlidingWindow keys
	// (Mistral with sliding_window set); 0 is full causal attention.
	SlidingWindow int
	NumLabels     int
	// PadTokenID is nil when config.json has none: the reward is then read
	// at the last token, as transformers does for a batch of one.
	PadTokenID  *int
	BOSTokenID  *int
	EOSTokenIDs []int
}

// rawConfig is config.json as written by transformers. Fields that may be
// an int, a list or null stay raw.
type rawConfig struct {
	ModelType             string          `json:"model_type"`
	Architectures         []string        `json:"architectures"`
	VocabSize             int             `json:"vocab_size"`
	HiddenSize            int             `json:"hidden_size"`
	NumHiddenLayers       int             `json:"num_hidden_layers"`
	NumAttentionHeads     int             `json:"num_attention_heads"`
	NumKeyValueHeads      *int            `json:"num_key_value_heads"`
	HeadDim               *int            `json:"head_dim"`
	IntermediateSize      int             `json:"intermediate_size"`
	MaxPositionEmbeddings *int            `json:"max_position_embeddings"`
	RMSNormEps            *float64        `json:"rms_norm_eps"`
	RopeTheta             *float64        `json:"rope_theta"`
	RopeScaling           json.RawMessage `json:"rope_scaling"`
	RopeParameters        json.RawMessage `json:"rope_parameters"`
	PartialRotaryFactor   *float64        `json:"partial_rotary_factor"`
	HiddenAct             *string         `json:"hidden_act"`
	TieWordEmbeddings     *bool           `json:"tie_word_embeddings"`
	AttentionBias         *bool           `json:"attention_bias"`
	MLPBias               *bool           `json:"mlp_bias"`
	UseSlidingWindow      *bool           `json:"use_sliding_window"`
	SlidingWindow         *int            `json:"sliding_window"`
	LayerTypes            []string        `json:"layer_types"`
	NumLabels             *int            `json:"num_labels"`
	ID2Label              map[string]any  `json:"id2label"`
	PadTokenID            json.RawMessage `json:"pad_token_id"`
	BOSTokenID            json.RawMessage `json:"bos_token_id"`
	EOSTokenID            json.RawMessage `json:"eos_token_id"`
}

// families maps model_type to the architecture prefix and the defaults of
// its transformers config class that differ between families.
var families = map[string]struct {
	prefix      string
	headDim     int  // default head_dim when absent; 0 = hidden/heads
	qkvBias     bool // q/k/v projections always carry a bias (Qwen2)
	qkNorm      bool // per-head q_norm/k_norm (Qwen3)
	maxPosition int
}{
	"llama":   {prefix: "Llama", maxPosition: 2048},
	"mistral": {prefix: "Mistral", maxPosition: 4096 * 32},
	"qwen2":   {prefix: "Qwen2", qkvBias: true, maxPosition: 32768},
	"qwen3":   {prefix: "Qwen3", headDim: 128, qkNorm: true, maxPosition: 32768},
}

// readConfig parses and validates dir's config.json. Shapes are checked
// against the weights later (Load), before anything is allocated.
func readConfig(path string) (Config, modelLayout, error) {
	var cfg Config
	var lay modelLayout
	raw, err := os.ReadFile(path)
	if err != nil {
		return cfg, lay, err
	}
	var rc rawConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&rc); err != nil {
		return cfg, lay, fmt.Errorf("%s: %v", path, err)
	}
	bad := func(format string, a ...any) (Config, modelLayout, error) {
		return cfg, lay, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, a...))
	}
	fam, ok := families[rc.ModelType]
	if !ok {
		return bad("model_type %q is not supported (want llama, qwen2, qwen3 or mistral)", rc.ModelType)
	}
	cfg.ModelType = rc.ModelType
	switch len(rc.Architectures) {
	case 0:
		return bad("architectures is missing: want %sForSequenceClassification or %sForCausalLM", fam.prefix, fam.prefix)
	case 1:
	default:
		return bad("architectures lists %d entries %v, want one", len(rc.Architectures), rc.Architectures)
	}
	cfg.Architecture = rc.Architectures[0]
	switch cfg.Architecture {
	case fam.prefix + "ForSequenceClassification":
		cfg.Task = Reward
	case fam.prefix + "ForCausalLM":
		cfg.Task = CausalLM
	default:
		return bad("architectures %q is not supported for model_type %q (want %sForSequenceClassification or %sForCausalLM)",
			cfg.Architecture, rc.ModelType, fam.prefix, fam.prefix)
	}

	for _, f := range []struct {
		name string
		v    int
	}{
		{"vocab_size", rc.VocabSize}, {"hidden_size", rc.HiddenSize}, {"num_hidden_layers", rc.NumHiddenLayers},
		{"num_attention_heads", rc.NumAttentionHeads}, {"intermediate_size", rc.IntermediateSize},
	} {
		if f.v <= 0 {
			return bad("%s is %d, want a positive integer", f.name, f.v)
		}
	}
	cfg.VocabSize, cfg.HiddenSize, cfg.NumLayers = rc.VocabSize, rc.HiddenSize, rc.NumHiddenLayers
	cfg.NumHeads, cfg.IntermediateSize = rc.NumAttentionHeads, rc.IntermediateSize
	cfg.NumKVHeads = cfg.NumHeads
	if rc.NumKeyValueHeads != nil {
		cfg.NumKVHeads = *rc.NumKeyValueHeads
	}
	if cfg.NumKVHeads <= 0 || cfg.NumHeads%cfg.NumKVHeads != 0 {
		return bad("num_key_value_heads %d does not divide num_attention_heads %d", cfg.NumKVHeads, cfg.NumHeads)
	}
	switch {
	case rc.HeadDim != nil:
		cfg.HeadDim = *rc.HeadDim
	case fam.headDim > 0:
		cfg.HeadDim = fam.headDim
	default:
		cfg.HeadDim = cfg.HiddenSize / cfg.NumHeads
	}
	if cfg.HeadDim <= 0 || cfg.HeadDim%2 != 0 {
		return bad("head_dim %d must be positive and even (rotary embeddings rotate halves)", cfg.HeadDim)
	}
	if rc.PartialRotaryFactor != nil && *rc.PartialRotaryFactor != 1 {
		return bad("partial_rotary_factor %v is not supported (only 1)", *rc.PartialRotaryFactor)
	}
	if rc.HiddenAct != nil && *rc.HiddenAct != "silu" {
		return bad("hidden_act %q is not supported (only silu)", *rc.HiddenAct)
	}
	cfg.MaxPositionEmbeddings = fam.maxPosition
	if rc.MaxPositionEmbeddings != nil {
		cfg.MaxPositionEmbeddings = *rc.MaxPositionEmbeddings
	}
	if cfg.MaxPositionEmbeddings <= 0 {
		return bad("max_position_embeddings %d must be positive", cfg.MaxPositionEmbeddings)
	}
	cfg.RMSNormEps = 1e-6
	if rc.RMSNormEps != nil {
		cfg.RMSNormEps = *rc.RMSNormEps
	}
	if !(cfg.RMSNormEps >= 0) {
		return bad("rms_norm_eps %v must be ≥ 0", cfg.RMSNormEps)
	}
	if rc.TieWordEmbeddings != nil {
		cfg.TieWordEmbeddings = *rc.TieWordEmbeddings
	}

	// Rotary embeddings: transformers ≤ 4 writes rope_theta + rope_scaling,
	// transformers 5 writes rope_parameters holding both.
	cfg.RopeTheta = 10000
	if rc.RopeTheta != nil {
		cfg.RopeTheta = *rc.RopeTheta
	}
	scaling, field := rc.RopeScaling, "rope_scaling"
	if isSet(rc.RopeParameters) {
		scaling, field = rc.RopeParameters, "rope_parameters"
	}
	if isSet(scaling) {
		rs, theta, err := parseRope(scaling, field)
		if err != nil {
			return bad("%v", err)
		}
		cfg.RopeScaling = rs
		if theta != 0 {
			cfg.RopeTheta = theta
		}
	}
	if !(cfg.RopeTheta > 0) {
		return bad("rope_theta %v must be positive", cfg.RopeTheta)
	}

	// Attention variants.
	if rc.UseSlidingWindow != nil && *rc.UseSlidingWindow && rc.ModelType != "mistral" {
		return bad("use_sliding_window true is not supported")
	}
	for i, lt := range rc.LayerTypes {
		if lt != "full_attention" {
			return bad("layer_types[%d] %q is not supported (only full_attention)", i, lt)
		}
	}
	if rc.ModelType == "mistral" && rc.SlidingWindow != nil {
		if *rc.SlidingWindow <= 0 {
			return bad("sliding_window %d must be positive or null", *rc.SlidingWindow)
		}
		cfg.SlidingWindow = *rc.SlidingWindow
	}
	// Biases: Qwen2 always has q/k/v biases and no o_proj bias; Llama's
	// and Qwen3's attention_bias covers all four projections; Llama's
	// mlp_bias the three MLP projections; Mistral has none.
	lay.qkvBias = fam.qkvBias
	if (rc.ModelType == "llama" || rc.ModelType == "qwen3") && rc.AttentionBias != nil && *rc.AttentionBias {
		lay.qkvBias, lay.oBias = true, true
	}
	lay.mlpBias = rc.ModelType == "llama" && rc.MLPBias != nil && *rc.MLPBias
	lay.qkNorm = fam.qkNorm

	// Head.
	cfg.NumLabels = 2 // PretrainedConfig's default
	if rc.ID2Label != nil {
		cfg.NumLabels = len(rc.ID2Label)
	}
	if rc.NumLabels != nil {
		cfg.NumLabels = *rc.NumLabels
	}
	if cfg.Task == Reward && cfg.NumLabels != 1 {
		return bad("num_labels is %d: a reward model has one label", cfg.NumLabels)
	}
	ids := []struct {
		name string
		raw  json.RawMessage
		dst  **int
	}{{"pad_token_id", rc.PadTokenID, &cfg.PadTokenID}, {"bos_token_id", rc.BOSTokenID, &cfg.BOSTokenID}}
	for _, f := range ids {
		v, err := tokenIDs(f.raw)
		if err != nil || len(v) > 1 {
			return bad("%s %s: want an integer or null", f.name, strings.TrimSpace(string(f.raw)))
		}
		if len(v) == 1 {
			*f.dst = &v[0]
		}
	}
	if cfg.EOSTokenIDs, err = tokenIDs(rc.EOSTokenID); err != nil {
		return bad("eos_token_id %s: want an integer, a list of integers or null", strings.TrimSpace(string(rc.EOSTokenID)))
	}
	return cfg, lay, nil
}

func isSet(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null"
}

// parseRope reads a rope_scaling / rope_parameters object. It returns the
// scaling (nil for the default rope type) and rope_theta when the object
// carries it (rope_parameters does).
func parseRope(raw json.RawMessage, field string) (*RopeScaling, float64, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, 0, fmt.Errorf("%s: %v", field, err)
	}
	num := func(key string) (float64, error) {
		v, ok := m[key].(float64)
		if !ok || math.IsNaN(v) {
			return 0, fmt.Errorf("%s.%s is missing or not a number", field, key)
		}
		return v, nil
	}
	var theta float64
	if _, ok := m["rope_theta"]; ok {
		t, err := num("rope_theta")
		if err != nil {
			return nil, 0, err
		}
		theta = t
	}
	typ, _ := m["rope_type"].(string)
	if typ == "" {
		typ, _ = m["type"].(string)
	}
	switch typ {
	case "", "default":
		return nil, theta, nil
	case "linear":
		f, err := num("factor")
		if err != nil {
			return nil, 0, err
		}
		if !(f > 0) {
			return nil, 0, fmt.Errorf("%s.factor %v must be positive", field, f)
		}
		return &RopeScaling{Type: typ, Factor: f}, theta, nil
	case "llama3":
		rs := &RopeScaling{Type: typ}
		var err error
		for _, p := range []struct {
			key string
			dst *float64
		}{{"factor", &rs.Factor}, {"low_freq_factor", &rs.LowFreqFactor}, {"high_freq_factor", &rs.HighFreqFactor},
			{"original_max_position_embeddings", &rs.OriginalMaxPositionEmbeddings}} {
			if *p.dst, err = num(p.key); err != nil {
				return nil, 0, err
			}
			if !(*p.dst > 0) {
				return nil, 0, fmt.Errorf("%s.%s %v must be positive", field, p.key, *p.dst)
			}
		}
		if rs.HighFreqFactor <= rs.LowFreqFactor {
			return nil, 0, fmt.Errorf("%s: high_freq_factor %v must exceed low_freq_factor %v", field, rs.HighFreqFactor, rs.LowFreqFactor)
		}
		return rs, theta, nil
	default:
		return nil, 0, fmt.Errorf("%s rope_type %q is not supported (default, linear or llama3)", field, typ)
	}
}

// tokenIDs reads null, an integer or a list of integers.
func tokenIDs(raw json.RawMessage) ([]int, error) {
	if !isSet(raw) {
		return nil, nil
	}
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int{one}, nil
	}
	var many []int
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, err
	}
	return many, nil
}

// ReadConfig parses and validates a config.json (path to the file) as Load
// does, without opening the weights: for callers choosing a loader.
func ReadConfig(path string) (Config, error) {
	cfg, _, err := readConfig(path)
	return cfg, err
}

// Supports reports whether model_type is one this package runs
// (llama, qwen2, qwen3, mistral).
func Supports(modelType string) bool {
	_, ok := families[modelType]
	return ok
}

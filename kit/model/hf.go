package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/kit/safetensors"
)

// transformersVersion is stamped into config.json; the format has been
// stable for GPT-2 across 4.x.
const transformersVersion = "4.46.3"

// hfConfig is config.json as transformers writes a GPT2Config (keys in
// transformers' sorted order). Pointers are the fields that may be null or
// absent.
type hfConfig struct {
	ActivationFunction         string            `json:"activation_function"`
	Architectures              []string          `json:"architectures"`
	AttnPdrop                  float64           `json:"attn_pdrop"`
	BOSTokenID                 *int              `json:"bos_token_id"`
	EmbdPdrop                  float64           `json:"embd_pdrop"`
	EOSTokenID                 *int              `json:"eos_token_id"`
	ID2Label                   map[string]string `json:"id2label,omitempty"`
	InitializerRange           float64           `json:"initializer_range"`
	Label2ID                   map[string]int    `json:"label2id,omitempty"`
	LayerNormEpsilon           float64           `json:"layer_norm_epsilon"`
	ModelType                  string            `json:"model_type"`
	NCtx                       int               `json:"n_ctx"`
	NEmbd                      int               `json:"n_embd"`
	NHead                      int               `json:"n_head"`
	NInner                     *int              `json:"n_inner"`
	NLayer                     int               `json:"n_layer"`
	NPositions                 int               `json:"n_positions"`
	PadTokenID                 *int              `json:"pad_token_id,omitempty"`
	ReorderAndUpcastAttn       bool              `json:"reorder_and_upcast_attn"`
	ResidPdrop                 float64           `json:"resid_pdrop"`
	ScaleAttnByInverseLayerIdx bool              `json:"scale_attn_by_inverse_layer_idx"`
	ScaleAttnWeights           bool              `json:"scale_attn_weights"`
	SummaryActivation          *string           `json:"summary_activation"`
	SummaryFirstDropout        float64           `json:"summary_first_dropout"`
	SummaryProjToLabels        bool              `json:"summary_proj_to_labels"`
	SummaryType                string            `json:"summary_type"`
	SummaryUseProj             bool              `json:"summary_use_proj"`
	TorchDtype                 string            `json:"torch_dtype"`
	TransformersVersion        string            `json:"transformers_version"`
	UseCache                   bool              `json:"use_cache"`
	VocabSize                  int               `json:"vocab_size"`
}

// hfConfigIn is what Load reads: every field optional, so defaults follow
// GPT2Config's.
type hfConfigIn struct {
	ModelType                  *string           `json:"model_type"`
	Architectures              []string          `json:"architectures"`
	ActivationFunction         *string           `json:"activation_function"`
	VocabSize                  *int              `json:"vocab_size"`
	NPositions                 *int              `json:"n_positions"`
	NCtx                       *int              `json:"n_ctx"`
	NEmbd                      *int              `json:"n_embd"`
	NLayer                     *int              `json:"n_layer"`
	NHead                      *int              `json:"n_head"`
	NInner                     *int              `json:"n_inner"`
	LayerNormEpsilon           *float64          `json:"layer_norm_epsilon"`
	ResidPdrop                 *float64          `json:"resid_pdrop"`
	EmbdPdrop                  *float64          `json:"embd_pdrop"`
	AttnPdrop                  *float64          `json:"attn_pdrop"`
	BOSTokenID                 *int              `json:"bos_token_id"`
	EOSTokenID                 *int              `json:"eos_token_id"`
	PadTokenID                 *int              `json:"pad_token_id"`
	NumLabels                  *int              `json:"num_labels"`
	ID2Label                   map[string]string `json:"id2label"`
	ScaleAttnWeights           *bool             `json:"scale_attn_weights"`
	ScaleAttnByInverseLayerIdx *bool             `json:"scale_attn_by_inverse_layer_idx"`
	TieWordEmbeddings          *bool             `json:"tie_word_embeddings"`
}

func intOr(p *int, d int) int {
	if p == nil {
		return d
	}
	return *p
}

func floatOr(p *float64, d float64) float64 {
	if p == nil {
		return d
	}
	return *p
}

// ReadConfig parses a HF GPT-2 config.json, rejecting settings whose maths
// this package does not implement.
func ReadConfig(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	var in hfConfigIn
	if err := json.Unmarshal(raw, &in); err != nil {
		return Config{}, fmt.Errorf("%s: %v", path, err)
	}
	bad := func(format string, a ...any) (Config, error) {
		return Config{}, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, a...))
	}
	if in.ModelType != nil && *in.ModelType != "gpt2" {
		return bad("model_type %q is not gpt2", *in.ModelType)
	}
	if in.ActivationFunction != nil && *in.ActivationFunction != "gelu_new" && *in.ActivationFunction != "gelu_pytorch_tanh" {
		return bad("activation_function %q is not supported (only gelu_new / gelu_pytorch_tanh)", *in.ActivationFunction)
	}
	if in.ScaleAttnWeights != nil && !*in.ScaleAttnWeights {
		return bad("scale_attn_weights false is not supported")
	}
	if in.ScaleAttnByInverseLayerIdx != nil && *in.ScaleAttnByInverseLayerIdx {
		return bad("scale_attn_by_inverse_layer_idx true is not supported")
	}
	if in.TieWordEmbeddings != nil && !*in.TieWordEmbeddings {
		return bad("tie_word_embeddings false is not supported (the LM head is wte)")
	}
	c := Config{
		VocabSize:    intOr(in.VocabSize, 50257),
		NPositions:   intOr(in.NPositions, intOr(in.NCtx, 1024)),
		NEmbd:        intOr(in.NEmbd, 768),
		NLayer:       intOr(in.NLayer, 12),
		NHead:        intOr(in.NHead, 12),
		NInner:       intOr(in.NInner, 0),
		LayerNormEps: floatOr(in.LayerNormEpsilon, 1e-5),
		ResidPdrop:   float32(floatOr(in.ResidPdrop, 0.1)),
		EmbdPdrop:    float32(floatOr(in.EmbdPdrop, 0.1)),
		AttnPdrop:    float32(floatOr(in.AttnPdrop, 0.1)),
		BOSTokenID:   intOr(in.BOSTokenID, 50256),
		EOSTokenID:   intOr(in.EOSTokenID, 50256),
		PadTokenID:   intOr(in.PadTokenID, -1),
		Architecture: ArchLM,
	}
	for _, a := range in.Architectures {
		if a == ArchRewardModel {
			c.Architecture = ArchRewardModel
		}
	}
	if c.Architecture == ArchRewardModel {
		labels := intOr(in.NumLabels, len(in.ID2Label))
		if labels == 0 {
			labels = 2 // PretrainedConfig's default
		}
		if labels != 1 {
			return bad("num_labels %d: only a scalar reward head (num_labels 1) is supported", labels)
		}
	}
	if err := c.Validate(); err != nil {
		return bad("%v", err)
	}
	return c, nil
}

// Load reads a HF GPT2LMHeadModel or GPT2ForSequenceClassification
// directory: config.json plus model.safetensors or an index and shards,
// in F32, F16, BF16 or F64. Tensor names may lack the "transformer."
// prefix (old hub checkpoints); attn.bias / attn.masked_bias buffers and a
// tied lm_head.weight are ignored; any other unexpected tensor is an error.
func Load(dir string) (*Model, error) {
	cfg, err := ReadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	ck, err := safetensors.OpenCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	// Resolve and check every tensor the config implies against the file
	// headers before allocating anything: sizes in config.json are
	// untrusted, and a wrong one must be an error, not a huge allocation.
	names, err := resolveTensors(dir, cfg, ck)
	if err != nil {
		return nil, err
	}
	m := alloc(cfg)
	used := map[string]bool{}
	for i, p := range m.Params {
		// pread into the model's own memory, never through a mapping: a
		// file rewritten in place while it loads is an error, not SIGBUS.
		if err := ck.ReadFloat32(names[i], p.W); err != nil {
			return nil, err
		}
		used[names[i]] = true
	}
	var extra []string
	for _, name := range ck.Names() {
		if used[name] || strings.HasSuffix(name, ".attn.bias") || strings.HasSuffix(name, ".attn.masked_bias") || name == "lm_head.weight" {
			continue
		}
		if name == "score.weight" && cfg.Architecture == ArchLM {
			continue // HF ignores a head the architecture does not have
		}
		extra = append(extra, name)
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return nil, fmt.Errorf("%s: unexpected tensors %s", dir, strings.Join(extra, ", "))
	}
	return m, nil
}

// resolveTensors maps each parameter the config implies (in alloc order) to
// its tensor name in ck, checking presence, shape and dtype from the
// headers alone.
func resolveTensors(dir string, cfg Config, ck *safetensors.Checkpoint) ([]string, error) {
	// specs has 12 entries per layer: bound n_layer by the file before
	// building them.
	if cfg.NLayer > len(ck.Names())/12+1 {
		return nil, fmt.Errorf("%s: config.json says n_layer %d but the weights hold %d tensors", dir, cfg.NLayer, len(ck.Names()))
	}
	ss := specs(cfg, cfg.Architecture == ArchRewardModel)
	names := make([]string, len(ss))
	for i, sp := range ss {
		name := sp.name
		info, ok := ck.Info(name)
		if !ok {
			if short, cut := strings.CutPrefix(name, "transformer."); cut {
				if info, ok = ck.Info(short); ok {
					name = short
				}
			}
		}
		if !ok && sp.name == "transformer.wte.weight" {
			if info, ok = ck.Info("lm_head.weight"); ok {
				name = "lm_head.weight"
			}
		}
		if !ok {
			return nil, fmt.Errorf("%s: missing tensor %q", dir, sp.name)
		}
		if !slices.Equal(info.Shape, sp.shape) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, config.json implies %v", dir, name, info.Shape, sp.shape)
		}
		if !info.Dtype.IsFloat() {
			return nil, fmt.Errorf("%s: tensor %q has dtype %s, want F32, F16 or BF16", dir, name, info.Dtype)
		}
		names[i] = name
	}
	return names, nil
}

// f32 renders a float32 config value as its shortest decimal (0.1, not
// 0.10000000149011612).
func f32(x float32) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
	return v
}

func optInt(v int) *int {
	if v < 0 {
		return nil
	}
	return &v
}

// HFConfigJSON renders the config as transformers' GPT2Config.to_json_string
// would for this model, with torch_dtype for the saved dtype.
func (c Config) HFConfigJSON(dtype safetensors.Dtype) []byte {
	torchDtype := "float32"
	switch dtype {
	case safetensors.BF16:
		torchDtype = "bfloat16"
	case safetensors.F16:
		torchDtype = "float16"
	}
	hc := hfConfig{
		ActivationFunction:  "gelu_new",
		Architectures:       []string{c.Architecture},
		AttnPdrop:           f32(c.AttnPdrop),
		BOSTokenID:          optInt(c.BOSTokenID),
		EmbdPdrop:           f32(c.EmbdPdrop),
		EOSTokenID:          optInt(c.EOSTokenID),
		InitializerRange:    0.02,
		LayerNormEpsilon:    c.LayerNormEps,
		ModelType:           "gpt2",
		NCtx:                c.NPositions,
		NEmbd:               c.NEmbd,
		NHead:               c.NHead,
		NLayer:              c.NLayer,
		NPositions:          c.NPositions,
		PadTokenID:          optInt(c.PadTokenID),
		ResidPdrop:          f32(c.ResidPdrop),
		ScaleAttnWeights:    true,
		SummaryFirstDropout: 0.1,
		SummaryProjToLabels: true,
		SummaryType:         "cls_index",
		SummaryUseProj:      true,
		TorchDtype:          torchDtype,
		TransformersVersion: transformersVersion,
		UseCache:            true,
		VocabSize:           c.VocabSize,
	}
	if c.NInner > 0 {
		hc.NInner = &c.NInner
	}
	if c.Architecture == ArchRewardModel {
		hc.ID2Label = map[string]string{"0": "LABEL_0"}
		hc.Label2ID = map[string]int{"LABEL_0": 0}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(hc); err != nil {
		panic(err) // plain struct: cannot fail
	}
	return buf.Bytes()
}

// Save writes dir/config.json and dir/model.safetensors (sharded past 5 GB
// as HF does) in dtype F32 or BF16 (round to nearest even), with HF's
// names: "transformer.*" plus score.weight for the reward model; the tied
// lm_head is not written, as HF does not. The weights are written first
// and config.json last, each through a temporary file and a rename.
// Tokenizer files are the caller's.
func (m *Model) Save(dir string, dtype safetensors.Dtype) error {
	if err := m.Config.Validate(); err != nil {
		return fmt.Errorf("%s: %v", dir, err)
	}
	if m.Config.Architecture == ArchRewardModel && m.score == nil {
		return fmt.Errorf("%s: reward model without score.weight", dir)
	}
	var ts []safetensors.Tensor
	for _, p := range m.Params {
		if p == m.score && m.Config.Architecture != ArchRewardModel {
			continue
		}
		ts = append(ts, safetensors.Tensor{Name: p.Name, Shape: p.Shape, Data: p.W})
	}
	if err := safetensors.SaveCheckpoint(dir, ts, dtype, map[string]string{"format": "pt"}, safetensors.DefaultShardSize); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, "config.json"), m.Config.HFConfigJSON(dtype))
}

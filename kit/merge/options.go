// Package merge combines K checkpoints of one architecture into one, tensor
// by tensor, streamed: linear averaging (uniform = WARM), SLERP, task
// arithmetic, TIES, DARE and Model Breadcrumbs, with mergekit's method
// names, parameters and YAML.
//
// Each method is a small type of its own (linear.go, slerp.go, ...) that,
// for every tensor, reads its parameters and configures one of two shared
// kernels: a weighted sum (kernel.go) or sparsified task vectors
// (taskvec.go). Inputs are memory-mapped; each output tensor is computed in
// chunks of 16K elements straight from the mapped bytes into the output
// buffer, so memory stays at a few megabytes whatever the model size (the
// rank-based sparsifiers need one uint32 per element of the largest
// tensor).
package merge

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/warm-rm/warm/kit/safetensors"
)

// Options describe one merge. Start from Defaults().
type Options struct {
	// Method is a mergekit method name: linear, slerp, task_arithmetic,
	// ties, dare_linear, dare_ties, breadcrumbs, breadcrumbs_ties.
	Method string
	Models []string // HF model directories or .safetensors files
	// Base is the base model (task arithmetic and its sparsified kinds;
	// slerp's t = 0 end). Models equal to it are dropped from Models, as
	// mergekit lists the base among the models.
	Base string
	// Params are the global parameters and ModelParams the per-model ones
	// (parallel to Models, or nil), by mergekit name. A per-model parameter
	// missing for a model falls back to Params, then to the method's
	// default (weight 1, density 1, lambda 1, t 0.5, normalize on for
	// linear and ties).
	Params      Params
	ModelParams []Params
	Seed        uint64 // dare's drop mask
	Accum       string // "f32" or "f64" accumulator for the weighted sum (the sparsified kinds always use f64)
	// Dtype is the output dtype of float tensors: "keep" (each tensor's own
	// dtype in the first model), "F32", "BF16" or "F16". Computation is
	// always float32/float64 whatever the dtype.
	Dtype string
	// TokenizerSource is mergekit's tokenizer_source: "" copies the base
	// model's (else the first model's) tokenizer files unchecked; "base"
	// and "union" check that every input has the same vocabulary first
	// (union is supported only then, when it equals base).
	TokenizerSource string
	// LayerRange, from a slices: config, is the layer_range every source
	// covers; the merge checks it is [0, number of layers].
	LayerRange []int
	// Config and ConfigPath are the mergekit YAML the options came from,
	// embedded in the model card.
	Config, ConfigPath string

	ShardSize int64  // output shard size in bytes; <= 0: one file
	Version   string // tool version recorded in the model card
	// Progress receives progress lines; nil is silent. Lines start after
	// one second unless ProgressNow.
	Progress    io.Writer
	ProgressNow bool
	Workers     int    // goroutines for the chunk work; 0: 2
	Overwrite   bool   // replace an existing output
	Command     string // the command line, recorded in the model card
	// HashCache caches the inputs' sha256 digests (see DefaultHashCache);
	// "" hashes every time.
	HashCache string
	NoSync    bool // skip fsync of the output (benchmarks)
	// Context, when set, cancels the merge between blocks (Ctrl-C in the
	// CLI); the staged output is removed as for any failure.
	Context context.Context
}

// Defaults returns a linear merge with a float64 accumulator, each tensor's
// own dtype and 5 GB shards.
func Defaults() Options {
	return Options{Method: "linear", Accum: "f64", Dtype: "keep", ShardSize: 5_000_000_000}
}

// Set sets a global parameter to a constant.
func (o *Options) Set(name string, v float64) {
	if o.Params == nil {
		o.Params = Params{}
	}
	o.Params[name] = Scalar(v)
}

// SetModel sets model i's parameter to a constant.
func (o *Options) SetModel(i int, name string, v float64) {
	for len(o.ModelParams) < len(o.Models) {
		o.ModelParams = append(o.ModelParams, nil)
	}
	if o.ModelParams[i] == nil {
		o.ModelParams[i] = Params{}
	}
	o.ModelParams[i][name] = Scalar(v)
}

// dtypes maps the names the CLI and mergekit's YAML use to safetensors dtypes.
var dtypes = map[string]string{
	"keep": "keep",
	"f32":  "F32", "float32": "F32", "float": "F32",
	"bf16": "BF16", "bfloat16": "BF16",
	"f16": "F16", "float16": "F16", "half": "F16",
}

// parseDtype normalises a dtype name ("" for an unknown one).
func parseDtype(s string) string { return dtypes[strings.ToLower(s)] }

// outDtype is the written dtype of a tensor stored as dt in the first model.
func (o *Options) outDtype(dt safetensors.Dtype) safetensors.Dtype {
	if !dt.IsFloat() || o.Dtype == "keep" {
		return dt
	}
	return safetensors.Dtype(o.Dtype)
}

// normalize resolves aliases and drops models that are the base model.
// Merge calls it; it is idempotent.
func (o *Options) normalize() error {
	if o.Method == "" {
		o.Method = "linear"
	}
	if o.Method == "dare" {
		o.Method = "dare_linear"
	}
	if d := parseDtype(o.Dtype); d != "" {
		o.Dtype = d
	} else if o.Dtype == "" {
		o.Dtype = "keep"
	}
	if o.Base == "" || o.Method == "linear" {
		return nil
	}
	keep := o.Models[:0:0]
	var keepP []Params
	for i, m := range o.Models {
		if samePath(m, o.Base) {
			continue // mergekit lists the base among the models
		}
		keep = append(keep, m)
		if i < len(o.ModelParams) {
			keepP = append(keepP, o.ModelParams[i])
		}
	}
	o.Models = keep
	if o.ModelParams != nil {
		o.ModelParams = keepP
	}
	return nil
}

// Validate checks the options without reading any tensor.
func (o *Options) Validate() error {
	if err := o.normalize(); err != nil {
		return err
	}
	m, err := lookupMethod(o.Method)
	if err != nil {
		return err
	}
	if len(o.Models) == 0 {
		return fmt.Errorf("no input models")
	}
	switch m.base() {
	case baseRequired:
		if o.Base == "" {
			return fmt.Errorf("method %s needs a base model (--base, or base_model: in the config)", o.Method)
		}
	case baseNone:
		if o.Base != "" {
			return fmt.Errorf("method %s takes no base model; list it among the models", o.Method)
		}
	}
	for i, a := range o.Models {
		for j := i + 1; j < len(o.Models); j++ {
			if samePath(a, o.Models[j]) {
				return fmt.Errorf("model %s is listed twice (models %d and %d); give it a larger weight instead", o.Models[j], i+1, j+1)
			}
		}
	}
	if o.ModelParams != nil && len(o.ModelParams) != len(o.Models) {
		return fmt.Errorf("%d per-model parameter sets for %d models", len(o.ModelParams), len(o.Models))
	}
	if err := checkParams(m, o); err != nil {
		return err
	}
	if o.Accum != "f32" && o.Accum != "f64" {
		return fmt.Errorf("accum %q: want f32 or f64", o.Accum)
	}
	if parseDtype(o.Dtype) == "" {
		return fmt.Errorf("dtype %q: want keep, float32, bfloat16 or float16", o.Dtype)
	}
	switch o.TokenizerSource {
	case "", "base", "union":
	default:
		return fmt.Errorf("tokenizer_source %q: want base or union (a model path is unsupported: warm copies the tokenizer of the base model, or else the first)", o.TokenizerSource)
	}
	if o.LayerRange != nil && len(o.LayerRange) != 2 {
		return fmt.Errorf("layer_range %v: want [first, end]", o.LayerRange)
	}
	return m.check(o)
}

// samePath reports whether a and b name the same file or directory.
func samePath(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	return sameFile(a, b)
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// Package merge combines K checkpoints of one architecture into one, tensor
// by tensor, streamed: linear averaging (uniform = WARM), SLERP, task
// arithmetic, TIES and DARE, with the parameter conventions of mergekit.
//
// Inputs are memory-mapped; each output tensor is computed in chunks of
// 64K elements straight from the mapped bytes into the output buffer, so
// memory stays at a few megabytes whatever the model size (TIES needs one
// float32 copy of the largest tensor for its top-k trim).
package merge

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Method is a merge method.
type Method string

// The merge methods.
const (
	Linear         Method = "linear"
	SLERP          Method = "slerp"
	TaskArithmetic Method = "task_arithmetic"
	TIES           Method = "ties"
	DARE           Method = "dare"
)

// Options describe one merge. Start from Defaults().
type Options struct {
	Method Method
	Models []string // HF model directories or .safetensors files
	// Weights are per-model weights; nil means equal weights. For linear,
	// equal weights with Normalize give the uniform mean (WARM).
	Weights []float64
	// Densities are per-model densities for ties/dare; nil means Density.
	Densities []float64
	// Normalize divides by the sum of weights (per element, over the
	// models that agree in sign, for ties). Nil means the method's default,
	// as in mergekit: on for linear and ties, off for task_arithmetic and dare.
	Normalize *bool
	Base      string  // base model for task_arithmetic, ties, dare (and slerp's first endpoint)
	T         float64 // slerp: 0 gives the first model, 1 the second
	Lambda    float64 // task vector scale
	Density   float64 // fraction of each task vector kept by ties/dare
	Seed      uint64  // dare's drop mask
	DareThen  Method  // dare: Linear or TIES after drop-and-rescale
	Accum     string  // "f32" or "f64" accumulator (ties/dare always use f64)
	Dtype     string  // "keep" (the first model's dtype per tensor), "F32" or "BF16"
	ShardSize int64   // output shard size in bytes; <= 0: one file
	Version   string  // tool version recorded in the model card
	// Progress receives progress lines; nil is silent. Lines start after
	// ProgressDelay unless ProgressNow.
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
	// CLI); the temporary output is removed as for any failure.
	Context context.Context
}

// Defaults returns mergekit's defaults: linear, t 0.5, lambda 1, density 0.5.
func Defaults() Options {
	return Options{Method: Linear, T: 0.5, Lambda: 1, Density: 0.5, DareThen: Linear, Accum: "f64", Dtype: "keep", ShardSize: 5_000_000_000}
}

func (o *Options) normalize() bool {
	if o.Normalize != nil {
		return *o.Normalize
	}
	return o.Method == Linear || o.Method == TIES
}

// weights returns one weight per model.
func (o *Options) weights() []float64 {
	if o.Weights != nil {
		return o.Weights
	}
	w := make([]float64, len(o.Models))
	for i := range w {
		w[i] = 1
	}
	return w
}

func (o *Options) densities() []float64 {
	if o.Densities != nil {
		return o.Densities
	}
	d := make([]float64, len(o.Models))
	for i := range d {
		d[i] = o.Density
	}
	return d
}

// Validate checks the options without touching the files.
func (o *Options) Validate() error {
	switch o.Method {
	case Linear, SLERP, TaskArithmetic, TIES, DARE:
	default:
		return fmt.Errorf("unknown method %q (want linear, slerp, task_arithmetic, ties or dare)", o.Method)
	}
	if len(o.Models) == 0 {
		return fmt.Errorf("no input models")
	}
	needBase := o.Method == TaskArithmetic || o.Method == TIES || o.Method == DARE
	if needBase && o.Base == "" {
		return fmt.Errorf("method %s needs a base model (--base)", o.Method)
	}
	if o.Method == SLERP {
		n := len(o.Models)
		if o.Base != "" {
			n++
		}
		if n != 2 {
			return fmt.Errorf("slerp merges exactly two models (got %d, counting --base)", n)
		}
		if o.T < 0 || o.T > 1 {
			return fmt.Errorf("slerp t=%g outside [0, 1]", o.T)
		}
	} else if o.Method == Linear && o.Base != "" {
		return fmt.Errorf("linear takes no base model; list it among the models")
	}
	if o.Weights != nil {
		if len(o.Weights) != len(o.Models) {
			return fmt.Errorf("%d weights for %d models", len(o.Weights), len(o.Models))
		}
		sum := 0.0
		for _, w := range o.Weights {
			sum += w
		}
		if o.normalize() && sum == 0 {
			return fmt.Errorf("weights sum to zero, cannot normalize")
		}
	}
	if o.Densities != nil && len(o.Densities) != len(o.Models) {
		return fmt.Errorf("%d densities for %d models", len(o.Densities), len(o.Models))
	}
	if o.Method == TIES || o.Method == DARE {
		for _, d := range o.densities() {
			if !(d > 0 && d <= 1) {
				return fmt.Errorf("density %g outside (0, 1]", d)
			}
		}
	}
	if o.Method == DARE && o.DareThen != Linear && o.DareThen != TIES {
		return fmt.Errorf("dare-then %q: want linear or ties", o.DareThen)
	}
	if o.Accum != "f32" && o.Accum != "f64" {
		return fmt.Errorf("accum %q: want f32 or f64", o.Accum)
	}
	switch strings.ToUpper(o.Dtype) {
	case "KEEP", "F32", "BF16":
	default:
		return fmt.Errorf("dtype %q: want keep, f32 or bf16", o.Dtype)
	}
	return nil
}

// Config is mergekit's YAML merge configuration (the subset warm uses).
type Config struct {
	MergeMethod string        `yaml:"merge_method"`
	BaseModel   string        `yaml:"base_model"`
	Models      []ConfigModel `yaml:"models"`
	Parameters  ConfigParams  `yaml:"parameters"`
	Dtype       string        `yaml:"dtype"`
	Seed        *uint64       `yaml:"seed"`
	DareThen    string        `yaml:"dare_then"`
	Accum       string        `yaml:"accum"`
}

// ConfigModel is one entry of models:.
type ConfigModel struct {
	Model      string `yaml:"model"`
	Parameters struct {
		Weight  *float64 `yaml:"weight"`
		Density *float64 `yaml:"density"`
	} `yaml:"parameters"`
}

// ConfigParams are the global parameters:.
type ConfigParams struct {
	T         *float64 `yaml:"t"`
	Lambda    *float64 `yaml:"lambda"`
	Density   *float64 `yaml:"density"`
	Normalize *bool    `yaml:"normalize"`
	Weight    *float64 `yaml:"weight"`
}

// LoadConfig reads a mergekit-style YAML file into opt (fields the file
// sets override opt's). mergekit's method names dare_linear / dare_ties
// map to dare with DareThen; model entries equal to base_model are dropped,
// since mergekit lists the base among the models.
func LoadConfig(path string, opt *Options) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && err != io.EOF {
		return fmt.Errorf("%s: %v", path, err)
	}
	switch c.MergeMethod {
	case "":
	case "dare_linear":
		opt.Method, opt.DareThen = DARE, Linear
	case "dare_ties":
		opt.Method, opt.DareThen = DARE, TIES
	default:
		opt.Method = Method(c.MergeMethod)
	}
	if c.BaseModel != "" {
		opt.Base = c.BaseModel
	}
	if c.Dtype != "" {
		switch strings.ToLower(c.Dtype) {
		case "float32", "f32":
			opt.Dtype = "F32"
		case "bfloat16", "bf16":
			opt.Dtype = "BF16"
		case "keep":
			opt.Dtype = "keep"
		default:
			return fmt.Errorf("%s: dtype %q: want float32, bfloat16 or keep", path, c.Dtype)
		}
	}
	if c.Seed != nil {
		opt.Seed = *c.Seed
	}
	if c.DareThen != "" {
		opt.DareThen = Method(c.DareThen)
	}
	if c.Accum != "" {
		opt.Accum = c.Accum
	}
	p := c.Parameters
	if p.T != nil {
		opt.T = *p.T
	}
	if p.Lambda != nil {
		opt.Lambda = *p.Lambda
	}
	if p.Density != nil {
		opt.Density = *p.Density
	}
	if p.Normalize != nil {
		opt.Normalize = p.Normalize
	}
	if opt.Method == Linear {
		opt.Base = "" // mergekit's linear ignores base_model
	}
	if len(c.Models) > 0 {
		opt.Models, opt.Weights, opt.Densities = nil, nil, nil
		var ws, ds []float64
		anyW, anyD := false, false
		for i, m := range c.Models {
			if m.Model == "" {
				return fmt.Errorf("%s: models[%d] has no model:", path, i)
			}
			if m.Model == opt.Base && opt.Method != Linear {
				continue // mergekit lists the base among the models
			}
			opt.Models = append(opt.Models, m.Model)
			w := 1.0
			if p.Weight != nil {
				w = *p.Weight
			}
			if m.Parameters.Weight != nil {
				w, anyW = *m.Parameters.Weight, true
			}
			ws = append(ws, w)
			d := opt.Density
			if m.Parameters.Density != nil {
				d, anyD = *m.Parameters.Density, true
			}
			ds = append(ds, d)
		}
		if anyW || p.Weight != nil {
			opt.Weights = ws
		}
		if anyD {
			opt.Densities = ds
		}
	}
	return nil
}

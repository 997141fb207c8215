package merge

import (
	"fmt"
	"maps"
)

// Overrides are settings from the command line. Zero values (nil, "") were
// not given and leave the config file's value, or the default.
type Overrides struct {
	Models   []string // replace the config's models (and their per-model parameters)
	Method   string   // a method name, or "dare" (see DareThen)
	DareThen string   // with dare: "linear" or "ties"
	Base     *string
	// Weights and Densities are per-model values, one per model.
	Weights, Densities []float64
	T, Lambda, Density *float64
	Normalize          *bool
	Seed               *uint64
	Accum, Dtype       string
}

// Resolve builds the options of a merge: run settings (output, progress,
// workers, ...) from run, then the recipe of the mergekit YAML at config
// (when not ""), then the overrides.
func Resolve(config string, ov Overrides, run Options) (Options, error) {
	opt := run
	// Copies: Set and SetModel below must not write into run's maps.
	opt.Params = maps.Clone(run.Params)
	opt.ModelParams = nil
	for _, p := range run.ModelParams {
		opt.ModelParams = append(opt.ModelParams, maps.Clone(p))
	}
	if config != "" {
		if err := LoadConfig(config, &opt); err != nil {
			return opt, err
		}
	}
	if len(ov.Models) > 0 {
		opt.Models, opt.ModelParams = ov.Models, nil
	}
	if ov.Method != "" {
		opt.Method = ov.Method
	}
	if ov.DareThen != "" {
		switch opt.Method {
		case "dare", "dare_linear", "dare_ties":
			opt.Method = "dare_" + ov.DareThen
		default:
			return opt, fmt.Errorf("--dare-then applies to --method dare only (method is %s)", opt.Method)
		}
		if opt.Method != "dare_linear" && opt.Method != "dare_ties" {
			return opt, fmt.Errorf("--dare-then %q: want linear or ties", ov.DareThen)
		}
	}
	if ov.Base != nil {
		opt.Base = *ov.Base
	}
	if err := opt.normalize(); err != nil { // drop the base from the models before counting them
		return opt, err
	}
	perModel := func(flag, name string, vals []float64) error {
		if vals == nil {
			return nil
		}
		if len(vals) != len(opt.Models) {
			return fmt.Errorf("--%s: %d values for %d models", flag, len(vals), len(opt.Models))
		}
		for i, v := range vals {
			opt.SetModel(i, name, v)
		}
		return nil
	}
	if err := perModel("weights", "weight", ov.Weights); err != nil {
		return opt, err
	}
	if err := perModel("densities", "density", ov.Densities); err != nil {
		return opt, err
	}
	for name, v := range map[string]*float64{"t": ov.T, "lambda": ov.Lambda, "density": ov.Density} {
		if v != nil {
			opt.Set(name, *v)
		}
	}
	if ov.Normalize != nil {
		opt.Set("normalize", b2f(*ov.Normalize))
	}
	if ov.Seed != nil {
		opt.Seed = *ov.Seed
	}
	if ov.Accum != "" {
		opt.Accum = ov.Accum
	}
	if ov.Dtype != "" {
		opt.Dtype = ov.Dtype
	}
	return opt, opt.Validate()
}

// Run resolves the options (see Resolve) and merges into out.
func Run(out, config string, ov Overrides, run Options) (*Result, error) {
	opt, err := Resolve(config, ov, run)
	if err != nil {
		return nil, err
	}
	return Merge(out, opt)
}

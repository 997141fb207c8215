package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/warm-rm/warm/merge"
)

func init() {
	register(&command{name: "merge", summary: "merge reward models by weight averaging (WARM), slerp, task arithmetic, ties, dare", run: runMerge})
}

// triBool is a bool flag that remembers whether it was set.
type triBool struct{ v *bool }

func (t *triBool) String() string {
	if t.v == nil {
		return "method default"
	}
	return strconv.FormatBool(*t.v)
}
func (t *triBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	t.v = &b
	return nil
}
func (t *triBool) IsBoolFlag() bool { return true }

func runMerge(args []string) error {
	fs := newFlagSet("merge", "[flags] -o OUT MODEL...\n\nMerges HF model directories or .safetensors files tensor by tensor, streamed.\nThe default is the uniform weight average of WARM (Ramé et al. 2024).")
	def := merge.Defaults()
	method := fs.String("method", string(def.Method), "linear, slerp, task_arithmetic, ties or dare")
	weights := fs.String("weights", "", "comma-separated per-model weights (default equal)")
	densities := fs.String("densities", "", "comma-separated per-model densities for ties/dare (default --density)")
	var norm triBool
	fs.Var(&norm, "normalize", "divide by the sum of weights (default: on for linear and ties, off otherwise)")
	base := fs.String("base", "", "base model (task_arithmetic, ties, dare; slerp's t=0 endpoint)")
	t := fs.Float64("t", def.T, "slerp interpolation factor: 0 = first model, 1 = second")
	lambda := fs.Float64("lambda", def.Lambda, "scale of the merged task vector")
	density := fs.Float64("density", def.Density, "fraction of each task vector kept (ties, dare)")
	seed := fs.Uint64("seed", 0, "dare drop-mask seed")
	dareThen := fs.String("dare-then", string(def.DareThen), "after dare's drop and rescale: linear or ties")
	accum := fs.String("accum", def.Accum, "accumulator: f32 or f64")
	dtype := fs.String("dtype", def.Dtype, "output dtype: keep (the first model's), f32 or bf16")
	config := fs.String("config", "", "mergekit-style YAML config (merge_method, models, base_model, parameters, dtype); flags given too override it")
	out := fs.String("o", "", "output: a directory (HF layout) or a .safetensors file")
	shard := fs.String("shard-size", "5GB", "split the output into shards of at most this size (e.g. 2GB, 500MB; 0: never)")
	quiet := fs.Bool("quiet", false, "no progress or summary on stderr")
	force := fs.Bool("force", false, "replace an existing output")
	workers := fs.Int("workers", 2, "goroutines for the chunk work")
	noSync := fs.Bool("no-sync", false, "skip fsync of the output (benchmarks)")
	hashCache := fs.String("hash-cache", merge.DefaultHashCache(), "cache of input sha256 digests for the model card, keyed by path, size and mtime (\"\": always hash)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	opt := def
	if *config != "" {
		if err := merge.LoadConfig(*config, &opt); err != nil {
			return err
		}
	}
	if len(pos) > 0 {
		opt.Models, opt.Weights, opt.Densities = pos, nil, nil
	}
	if set["method"] {
		opt.Method = merge.Method(*method)
		switch *method { // mergekit's names
		case "dare_linear":
			opt.Method, opt.DareThen = merge.DARE, merge.Linear
		case "dare_ties":
			opt.Method, opt.DareThen = merge.DARE, merge.TIES
		}
	}
	if set["weights"] {
		if opt.Weights, err = parseFloats(*weights); err != nil {
			return fmt.Errorf("--weights: %v", err)
		}
	}
	if set["densities"] {
		if opt.Densities, err = parseFloats(*densities); err != nil {
			return fmt.Errorf("--densities: %v", err)
		}
	}
	if norm.v != nil {
		opt.Normalize = norm.v
	}
	if set["base"] {
		opt.Base = *base
	}
	if set["t"] {
		opt.T = *t
	}
	if set["lambda"] {
		opt.Lambda = *lambda
	}
	if set["density"] {
		opt.Density = *density
	}
	if set["seed"] {
		opt.Seed = *seed
	}
	if set["dare-then"] {
		opt.DareThen = merge.Method(*dareThen)
	}
	if set["accum"] {
		opt.Accum = *accum
	}
	if set["dtype"] {
		opt.Dtype = *dtype
	}
	if opt.ShardSize, err = parseSize(*shard); err != nil {
		return fmt.Errorf("--shard-size: %v", err)
	}
	if *out == "" {
		fmt.Fprintln(os.Stderr, "warm merge: -o OUT is required")
		fs.Usage()
		return errUsage
	}
	if len(opt.Models) == 0 {
		fmt.Fprintln(os.Stderr, "warm merge: no models to merge")
		fs.Usage()
		return errUsage
	}
	opt.Version = version
	opt.Overwrite = *force
	opt.Workers = *workers
	opt.NoSync = *noSync
	opt.HashCache = *hashCache
	opt.Command = "warm merge " + strings.Join(args, " ")
	if !*quiet {
		opt.Progress = os.Stderr
		if st, err := os.Stderr.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			opt.ProgressNow = true
		}
	}
	// Ctrl-C or SIGTERM stops between blocks and removes the partial output.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opt.Context = ctx
	res, err := merge.Merge(*out, opt)
	if err != nil {
		return err
	}
	if !*quiet {
		sec := res.Elapsed.Seconds()
		fmt.Fprintf(os.Stderr, "warm merge: %s of %d models -> %s: %d tensors, %.2f GB read + %.2f GB written in %.2fs (%.2f GB/s)\n",
			opt.Method, len(opt.Models), res.Out, res.Tensors, float64(res.BytesRead)/1e9, float64(res.BytesWritten)/1e9, sec,
			float64(res.BytesRead+res.BytesWritten)/1e9/max(sec, 1e-9))
		for _, d := range res.Dropped {
			fmt.Fprintf(os.Stderr, "warm merge: dropped buffer %s (not in every input)\n", d)
		}
	}
	return nil
}

func parseFloats(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// parseSize reads 5GB, 500MB, 2GiB, 1000 (bytes). Units are decimal as in
// HF's max_shard_size; the *iB forms are binary.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}} {
		if strings.HasSuffix(s, u.suf) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suf)), u.m
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(v * float64(mult)), nil
}

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

	"github.com/warm-rm/warm/kit/merge"
)

func init() {
	register(&command{name: "merge", summary: "merge reward models by weight averaging (WARM), slerp, task arithmetic, ties, dare", run: runMerge})
}

// mergeFlags defines the recipe flags: each writes into ov only when given,
// so that a --config file's values stand otherwise.
func mergeFlags(fs *flag.FlagSet, ov *merge.Overrides) {
	str := func(name, usage string, dst *string) {
		fs.Func(name, usage, func(s string) error { *dst = s; return nil })
	}
	num := func(name, usage string, dst **float64) {
		fs.Func(name, usage, func(s string) error {
			v, err := strconv.ParseFloat(s, 64)
			*dst = &v
			return err
		})
	}
	list := func(name, usage string, dst *[]float64) {
		fs.Func(name, usage, func(s string) (err error) { *dst, err = parseFloats(s); return err })
	}
	str("method", "linear (default), slerp, task_arithmetic, ties, dare (see --dare-then), dare_linear, dare_ties, breadcrumbs or breadcrumbs_ties", &ov.Method)
	list("weights", "comma-separated per-model weights (default equal)", &ov.Weights)
	list("densities", "comma-separated per-model densities (default --density)", &ov.Densities)
	fs.BoolFunc("normalize", "divide by the sum of weights (default: on for linear and ties, off otherwise)", func(s string) error {
		b, err := strconv.ParseBool(s)
		ov.Normalize = &b
		return err
	})
	fs.Func("base", "base model (task_arithmetic, ties, dare, breadcrumbs; slerp's t=0 end)", func(s string) error { ov.Base = &s; return nil })
	num("t", "slerp interpolation factor: 0 = first model, 1 = second (default 0.5)", &ov.T)
	num("lambda", "scale of the merged task vector (default 1)", &ov.Lambda)
	num("density", "fraction of each task vector kept by ties, dare, breadcrumbs (default 1, as in mergekit)", &ov.Density)
	fs.Func("seed", "dare drop-mask seed (default 0)", func(s string) error {
		v, err := strconv.ParseUint(s, 10, 64)
		ov.Seed = &v
		return err
	})
	str("dare-then", "with --method dare: linear (default) or ties", &ov.DareThen)
	str("accum", "accumulator: f32 or f64 (default f64)", &ov.Accum)
	str("dtype", "output dtype: keep (each tensor's own, the default), f32, bf16 or f16", &ov.Dtype)
}

func runMerge(args []string) error {
	fs := newFlagSet("merge", "[flags] -o OUT MODEL...\n\nMerges HF model directories or .safetensors files tensor by tensor, streamed.\nThe default is the uniform weight average of WARM (Ramé et al. 2024).")
	var ov merge.Overrides
	mergeFlags(fs, &ov)
	config := fs.String("config", "", "mergekit YAML config (docs/merge.md); flags given too override it")
	out := fs.String("out", "", "output: a directory (HF layout) or a .safetensors file")
	shard := fs.String("shard-size", "5GB", "split the output into shards of at most this size (e.g. 2GB, 500MB; 0: never)")
	quiet := fs.Bool("quiet", false, "no progress or summary on stderr")
	force := fs.Bool("force", false, "replace an existing output (kept until the new one is in place)")
	workers := fs.Int("workers", 2, "goroutines for the chunk work")
	noSync := fs.Bool("no-sync", false, "skip fsync of the output (benchmarks)")
	hashCache := fs.String("hash-cache", merge.DefaultHashCache(), "cache of input sha256 digests for the model card, keyed by path, size and mtime (\"\": always hash; default: $XDG_CACHE_HOME/warm/sha256, ~/.cache/warm/sha256 on Linux)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: -o/--out OUT is required", errUsage)
	}
	if len(pos) == 0 && *config == "" {
		return fmt.Errorf("%w: no models: give MODEL directories or --config FILE", errUsage)
	}
	ov.Models = pos
	run := merge.Defaults()
	if run.ShardSize, err = parseSize(*shard); err != nil {
		return fmt.Errorf("--shard-size: %v", err)
	}
	run.Version, run.Overwrite, run.Workers, run.NoSync, run.HashCache = version, *force, *workers, *noSync, *hashCache
	run.Command = "warm merge " + strings.Join(args, " ")
	if !*quiet {
		run.Progress = os.Stderr
		st, err := os.Stderr.Stat()
		run.ProgressNow = err == nil && st.Mode()&os.ModeCharDevice != 0
	}
	// Ctrl-C or SIGTERM stops between blocks and removes the partial output.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	run.Context = ctx
	res, err := merge.Run(*out, *config, ov, run)
	if err != nil || *quiet {
		return err
	}
	sec := res.Elapsed.Seconds()
	fmt.Fprintf(os.Stderr, "warm merge: %s of %d models -> %s: %d tensors, %.2f GB read + %.2f GB written in %.2fs (%.2f GB/s)\n",
		res.Method, res.Models, res.Out, res.Tensors, float64(res.BytesRead)/1e9, float64(res.BytesWritten)/1e9, sec,
		float64(res.BytesRead+res.BytesWritten)/1e9/max(sec, 1e-9))
	for _, d := range res.Dropped {
		fmt.Fprintf(os.Stderr, "warm merge: dropped buffer %s (not in every input)\n", d)
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

// mergeArgs is the uniform weight average (WARM) that repro's merge stage
// asks for: the library call of `warm merge --method linear --quiet -o Out
// Models...`.
type mergeArgs struct {
	verbIO          // where its report and progress go (repro: the setting's)
	Out    string   `json:"out"`
	Models []string `json:"models"`
}

func (a mergeArgs) run() error {
	run := merge.Defaults()
	run.Version = version
	run.Command = "warm repro (merge stage)"
	_, err := merge.Run(a.Out, "", merge.Overrides{Models: a.Models, Method: "linear"}, run)
	return err
}

package main

import (
	"cmp"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/warm-rm/warm/study/preset"
	"github.com/warm-rm/warm/study/rmtrain"
)

func init() {
	register(&command{name: "train", summary: "fine-tune M diverse reward models from one shared init (WARM members)", run: runTrain})
}

func runTrain(args []string) error {
	fs := newFlagSet("train", "[flags]\n\nLinear-probes one shared scalar head on the frozen pretrained body, then fine-tunes\nM members from it with the Bradley-Terry loss, each with its own seed/data order,\nlearning rate, dropout and (Baklava) body checkpoint. Finished members are kept,\nan interrupted member resumes, and a larger --num-members extends the run.\nRun members as separate jobs with --member i (see docs/warm-train.md).")
	a := newTrainArgs(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected arguments %v", errUsage, pos)
	}
	return a.run()
}

// trainArgs is the verb's flags as one value: the verb binds them, repro
// fills them directly.
type trainArgs struct {
	verbIO                                         // where its report and progress go (repro: the setting's)
	Preset, PretrainDir, InitDir, Baklava, DataDir string
	Diversity, LRs, Dropouts, Dtype                string
	O                                              rmtrain.Options
}

// newTrainArgs returns the defaults, bound to fs's flags when fs is not
// nil (the one place the defaults are written).
func newTrainArgs(fs *flag.FlagSet) *trainArgs {
	if fs == nil {
		fs = flag.NewFlagSet("train", flag.ContinueOnError)
	}
	a := &trainArgs{}
	o := &a.O
	fs.StringVar(&a.Preset, "preset", "quick", "study preset for the defaults: "+strings.Join(preset.Names(), ", "))
	fs.StringVar(&a.PretrainDir, "pretrain", "runs/pretrain", "warm pretrain run: init = its final checkpoint, Baklava bodies = its checkpoints")
	fs.StringVar(&a.InitDir, "init", "", "shared init (HF GPT-2 directory); overrides --pretrain's final checkpoint")
	fs.StringVar(&a.Baklava, "baklava", "", "comma-separated body checkpoints for Baklava; overrides --pretrain's")
	fs.StringVar(&a.DataDir, "data", "runs/data", "directory with train.jsonl and val.jsonl (from warm data)")
	fs.StringVar(&o.Train, "train", "", "training pairs, JSONL or Parquet (default DATA/train.jsonl)")
	fs.StringVar(&o.Val, "val", "", "validation pairs, JSONL or Parquet, for monitoring (default DATA/val.jsonl if present)")
	fs.StringVar(&o.Out, "out", "runs/rm", "output directory: probe/, member-NN/, summary.json")
	fs.IntVar(&o.Members, "num-members", 0, "number of members M (default: preset)")
	alias(fs, "members", "num-members")
	fs.IntVar(&o.Only, "member", -1, "train only member `I` (for separate jobs; the probe is recomputed identically or reused; default: all)")
	fs.StringVar(&a.Diversity, "diversity", "order,lr,dropout,baklava", "sources of diversity between members (comma list of order, lr, dropout, baklava; 'none' for identical runs)")
	fs.StringVar(&a.LRs, "lrs", "", "member learning-rate set (default: the paper's {1e-5,4e-5,1e-4} scaled to the preset, see docs)")
	fs.StringVar(&a.Dropouts, "dropouts", "", "member dropout set (default 0.05,0.1)")
	fs.Uint64Var(&o.Seed, "seed", 1, "base seed")
	fs.BoolVar(&o.Ladder, "ladder", false, "also train the LMC diversity-ladder runs (ladder-order, ladder-lr, ladder-baklava)")
	fs.IntVar(&o.MaxLen, "max-len", 0, "truncate texts to their last N tokens (default n_positions)")
	trainFTFlags(fs, o)
	fs.StringVar(&a.Dtype, "dtype", "f32", "saved weights: f32 or bf16")
	return a
}

// run resolves the inits, data files and preset defaults and trains.
func (a trainArgs) run() error {
	o := a.O
	ps, err := preset.Get(a.Preset)
	if err != nil {
		return fmt.Errorf("%w: --preset: %v", errUsage, err)
	}
	o.Log = a.progress()
	if o.Init, o.Baklava, err = rmtrain.ResolveInits(a.PretrainDir, a.InitDir, splitList(a.Baklava)); err != nil {
		return err
	}
	o.Train = cmp.Or(o.Train, filepath.Join(a.DataDir, "train.jsonl"))
	if p := filepath.Join(a.DataDir, "val.jsonl"); o.Val == "" && fileExists(p) {
		o.Val = p
	}
	o.Members = cmp.Or(o.Members, ps.Members)
	if o.LRs, err = floatList(a.LRs, ps.RMLearningRates()); err != nil {
		return fmt.Errorf("--lrs: %w", err)
	}
	if o.Dropouts, err = floatList(a.Dropouts, ps.RMDropout); err != nil {
		return fmt.Errorf("--dropouts: %w", err)
	}
	if o.Div, err = rmtrain.ParseDiversity(a.Diversity); err != nil {
		return err
	}
	if o.Div.Baklava && len(o.Baklava) < 2 {
		fmt.Fprintf(a.progress(), "warm train: fewer than 2 Baklava checkpoints; members share the init body\n")
		o.Div.Baklava = false
	}
	if o.FT.Dtype, err = rmtrain.ParseDtype(a.Dtype); err != nil {
		return err
	}
	o.FT.Epochs, o.FT.Batch = cmp.Or(o.FT.Epochs, ps.FTEpochs), cmp.Or(o.FT.Batch, ps.RMBatch)
	o.Probe.Epochs = cmp.Or(o.Probe.Epochs, ps.LPEpochs)
	o.Probe.Center, o.Probe.Seed = o.FT.Center, o.Seed
	sum, err := rmtrain.Run(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.out(), "probe: train acc %.3f, val acc %.3f\n", sum.ProbeTrainAcc, sum.ProbeValAcc)
	fmt.Fprintf(a.out(), "%-16s %9s %8s %6s %10s %9s\n", "member", "lr", "dropout", "seed", "train acc", "val acc")
	for _, r := range append(sum.Members, sum.Ladder...) {
		fmt.Fprintf(a.out(), "%-16s %9.2g %8.2g %6d %10.3f %9.3f\n", r.Member.Name, r.Member.LR, r.Member.Dropout, r.Member.Seed, r.TrainAcc, r.ValAcc)
	}
	return nil
}

// trainFTFlags declares the probe and fine-tuning flags on o's fields.
func trainFTFlags(fs *flag.FlagSet, o *rmtrain.Options) {
	o.Probe = rmtrain.ProbeOptions{Batch: 64, WeightDecay: 1e-3}
	fs.IntVar(&o.FT.Batch, "batch", 0, "pairs per step (default: preset)")
	fs.Float64Var(&o.FT.Epochs, "epochs", 0, "fine-tuning epochs (default: preset)")
	fs.IntVar(&o.Probe.Epochs, "lp-epochs", 0, "linear-probe epochs (on cached features: cheap; default: preset)")
	fs.Float64Var(&o.Probe.LR, "lp-lr", 1e-2, "linear-probe learning rate")
	fs.Float64Var(&o.FT.Warmup, "warmup", 0.05, "fraction of steps of linear warm-up")
	fs.StringVar(&o.FT.Schedule, "schedule", "cosine", "learning-rate schedule after warm-up: cosine, linear, constant")
	fs.Float64Var(&o.FT.WeightDecay, "weight-decay", 0, "AdamW weight decay (matrices only)")
	fs.Float64Var(&o.FT.Clip, "clip", 1, "global gradient-norm clip (0: off)")
	fs.Float64Var(&o.FT.Center, "center", 0, "reward-centering coefficient (TRL center_rewards_coefficient)")
	fs.BoolVar(&o.FT.UseMargin, "margin", false, "use the rows' margin field in the loss (TRL)")
	fs.IntVar(&o.FT.CkptEvery, "ckpt-every", 50, "steps between resume checkpoints")
}

// floatList parses a comma-separated list, or returns def for "".
func floatList(s string, def []float64) ([]float64, error) {
	if s == "" {
		return def, nil
	}
	return parseFloats(s)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/warm-rm/warm/preset"
	"github.com/warm-rm/warm/rmtrain"
	"github.com/warm-rm/warm/runlog"
	"github.com/warm-rm/warm/safetensors"
)

func init() {
	register(&command{name: "train", summary: "fine-tune M diverse reward models from one shared init (WARM members)", run: runTrain})
}

func runTrain(args []string) error {
	fs := newFlagSet("train", "[flags]\n\nLinear-probes one shared scalar head on the frozen pretrained body, then fine-tunes\nM members from it with the Bradley-Terry loss, each with its own seed/data order,\nlearning rate, dropout and (Baklava) body checkpoint. Finished members are kept,\nan interrupted member resumes, and a larger --members extends the run.\nRun members as separate jobs with --member i (see docs/warm-train.md).")
	presetName := fs.String("preset", "quick", "study preset for the defaults: "+strings.Join(preset.Names(), ", "))
	pretrainDir := fs.String("pretrain", "runs/pretrain", "warm pretrain run: init = its final checkpoint, Baklava bodies = its checkpoints")
	initDir := fs.String("init", "", "shared init (HF GPT-2 directory); overrides --pretrain's final checkpoint")
	baklava := fs.String("baklava", "", "comma-separated body checkpoints for Baklava; overrides --pretrain's")
	dataDir := fs.String("data", "runs/data", "directory with train.jsonl and val.jsonl (from warm data)")
	trainPath := fs.String("train", "", "training pairs JSONL (default DATA/train.jsonl)")
	valPath := fs.String("val", "", "validation pairs JSONL for monitoring (default DATA/val.jsonl if present)")
	out := fs.String("out", "runs/rm", "output directory: probe/, member-NN/, summary.json")
	members := fs.Int("members", 0, "number of members M (default: preset)")
	member := fs.Int("member", -1, "train only member i (for separate jobs; the probe is recomputed identically or reused)")
	diversity := fs.String("diversity", "order,lr,dropout,baklava", "sources of diversity between members (comma list of order, lr, dropout, baklava; 'none' for identical runs)")
	lrs := fs.String("lrs", "", "member learning-rate set (default: the paper's {1e-5,4e-5,1e-4} scaled to the preset, see docs)")
	dropouts := fs.String("dropouts", "", "member dropout set (default 0.05,0.1)")
	seed := fs.Uint64("seed", 1, "base seed")
	batch := fs.Int("batch", 0, "pairs per step (default: preset)")
	epochs := fs.Float64("epochs", 0, "fine-tuning epochs (default: preset)")
	lpEpochs := fs.Int("lp-epochs", 20, "linear-probe epochs (on cached features: cheap)")
	lpLR := fs.Float64("lp-lr", 1e-2, "linear-probe learning rate")
	warmup := fs.Float64("warmup", 0.05, "fraction of steps of linear warm-up")
	sched := fs.String("schedule", "cosine", "learning-rate schedule after warm-up: cosine, linear, constant")
	wd := fs.Float64("weight-decay", 0, "AdamW weight decay (matrices only)")
	clip := fs.Float64("clip", 1, "global gradient-norm clip (0: off)")
	center := fs.Float64("center", 0, "reward-centering coefficient (TRL center_rewards_coefficient)")
	margin := fs.Bool("margin", false, "use the rows' margin field in the loss (TRL)")
	ckptEvery := fs.Int("ckpt-every", 50, "steps between resume checkpoints")
	ladder := fs.Bool("ladder", false, "also train the LMC diversity-ladder runs (ladder-order, ladder-lr, ladder-baklava)")
	dtype := fs.String("dtype", "f32", "saved weights: f32 or bf16")
	maxLen := fs.Int("max-len", 0, "truncate texts to their last N tokens (default n_positions)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected arguments %v", errUsage, pos)
	}
	ps, err := preset.Get(*presetName)
	if err != nil {
		return err
	}
	o := rmtrain.Options{Out: *out, Seed: *seed, Only: *member, Ladder: *ladder, MaxLen: *maxLen, Log: os.Stderr}
	o.Init, o.Baklava, err = resolveInits(*pretrainDir, *initDir, *baklava)
	if err != nil {
		return err
	}
	o.Train = orDefault(*trainPath, filepath.Join(*dataDir, "train.jsonl"))
	o.Val = *valPath
	if o.Val == "" {
		if p := filepath.Join(*dataDir, "val.jsonl"); fileExists(p) {
			o.Val = p
		}
	}
	o.Members = orDefault(*members, ps.Members)
	if o.LRs, err = floatList(*lrs, ps.RMLearningRates()); err != nil {
		return fmt.Errorf("--lrs: %w", err)
	}
	if o.Dropouts, err = floatList(*dropouts, ps.RMDropout); err != nil {
		return fmt.Errorf("--dropouts: %w", err)
	}
	if o.Div, err = parseDiversity(*diversity); err != nil {
		return err
	}
	if o.Div.Baklava && len(o.Baklava) < 2 {
		fmt.Fprintf(os.Stderr, "warm train: fewer than 2 Baklava checkpoints; members share the init body\n")
		o.Div.Baklava = false
	}
	var dt safetensors.Dtype
	switch *dtype {
	case "f32", "F32":
		dt = safetensors.F32
	case "bf16", "BF16":
		dt = safetensors.BF16
	default:
		return fmt.Errorf("--dtype %q: want f32 or bf16", *dtype)
	}
	o.Probe = rmtrain.ProbeOptions{Epochs: *lpEpochs, Batch: 64, LR: *lpLR, WeightDecay: 1e-3, Center: *center, Seed: *seed}
	o.FT = rmtrain.FTOptions{Epochs: orDefault(*epochs, ps.FTEpochs), Batch: orDefault(*batch, ps.RMBatch), Warmup: *warmup,
		Schedule: *sched, WeightDecay: *wd, Clip: *clip, Center: *center, UseMargin: *margin, CkptEvery: *ckptEvery, Dtype: dt}
	sum, err := rmtrain.Run(o)
	if err != nil {
		return err
	}
	fmt.Printf("probe: train acc %.3f, val acc %.3f\n", sum.ProbeTrainAcc, sum.ProbeValAcc)
	fmt.Printf("%-16s %9s %8s %6s %10s %9s\n", "member", "lr", "dropout", "seed", "train acc", "val acc")
	for _, r := range append(sum.Members, sum.Ladder...) {
		fmt.Printf("%-16s %9.2g %8.2g %6d %10.3f %9.3f\n", r.Member.Name, r.Member.LR, r.Member.Dropout, r.Member.Seed, r.TrainAcc, r.ValAcc)
	}
	return nil
}

// resolveInits finds the shared init and the Baklava bodies: explicit flags
// win; otherwise the pretraining run's summary.json lists its checkpoints
// (the last is the final one).
func resolveInits(pretrainDir, initDir, baklava string) (string, []string, error) {
	var ckpts []string
	if baklava != "" {
		ckpts = strings.Split(baklava, ",")
	}
	if initDir != "" && baklava != "" {
		return initDir, ckpts, nil
	}
	var sum struct {
		Checkpoints []string `json:"checkpoints"`
	}
	if err := runlog.ReadJSON(filepath.Join(pretrainDir, "summary.json"), &sum); err != nil {
		if initDir != "" {
			return initDir, ckpts, nil
		}
		return "", nil, fmt.Errorf("no --init given and no pretraining run at %s: %w", pretrainDir, err)
	}
	for i, c := range sum.Checkpoints {
		if !filepath.IsAbs(c) && !fileExists(c) {
			sum.Checkpoints[i] = filepath.Join(pretrainDir, c)
		}
	}
	if initDir == "" {
		if len(sum.Checkpoints) == 0 {
			return "", nil, fmt.Errorf("%s/summary.json lists no checkpoints", pretrainDir)
		}
		initDir = sum.Checkpoints[len(sum.Checkpoints)-1]
	}
	if ckpts == nil {
		ckpts = sum.Checkpoints
	}
	return initDir, ckpts, nil
}

func parseDiversity(s string) (rmtrain.Diversity, error) {
	var d rmtrain.Diversity
	if s == "none" || s == "" {
		return d, nil
	}
	for _, f := range strings.Split(s, ",") {
		switch strings.TrimSpace(f) {
		case "order":
			d.Order = true
		case "lr":
			d.LR = true
		case "dropout":
			d.Dropout = true
		case "baklava":
			d.Baklava = true
		default:
			return d, fmt.Errorf("--diversity: unknown source %q (want order, lr, dropout, baklava or none)", f)
		}
	}
	return d, nil
}

// floatList parses a comma-separated list, or returns def for "".
func floatList(s string, def []float64) ([]float64, error) {
	if s == "" {
		return def, nil
	}
	return parseFloats(s)
}

// orDefault returns v unless it is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v != zero {
		return v
	}
	return def
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

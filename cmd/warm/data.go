package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/warm-rm/warm/study/gold"
	"github.com/warm-rm/warm/study/prefgen"
	"github.com/warm-rm/warm/study/preset"
)

func init() {
	register(&command{
		name:    "data",
		summary: "sample preference pairs from the policy, judge them (VADER), label and corrupt them",
		run:     runData,
	})
}

func runData(args []string) error {
	fs := newFlagSet("data", "[--preset quick|full|tiny] [--corpus data/ | --sample] [--policy runs/pretrain/final] [-o runs/data] [overrides]")
	a := newDataArgs()
	a.bind(fs)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	return a.run()
}

// run resolves the preset and calls the library.
func (a dataArgs) run() error {
	st, err := preset.Get(a.Preset)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg := prefgen.Config{
		Train: st.TrainPairs, Val: st.ValPairs, OOD: st.OODPairs, PromptMinTok: a.PromptMin, PromptMaxTok: a.PromptMax,
		MinNew: st.MinNew, MaxNew: st.MaxNew, Temperature: a.Temp, OODTemperature: st.OODTemperature,
		BTTemperature: st.BTTemperature, Corrupt: st.Corrupt, DropTies: a.DropTies, Batch: a.Batch, MaxPairsPerPrompt: a.PerPrompt, Seed: a.Seed, Progress: a.progress(),
		EvalResponses: st.EvalResponses,
	}
	if a.EvalResponses < 0 || a.EvalResponses == 1 {
		return fmt.Errorf("%w: --eval-responses %d: want 2 or more (0: the preset's)", errUsage, a.EvalResponses)
	}
	if a.EvalResponses > 0 {
		cfg.EvalResponses = a.EvalResponses
	}
	set := func(dst *int, v int) {
		if v > 0 {
			*dst = v
		}
	}
	set(&cfg.Train, a.NTrain)
	set(&cfg.Val, a.NVal)
	set(&cfg.OOD, a.NOOD)
	set(&cfg.MinNew, a.MinNew)
	set(&cfg.MaxNew, a.MaxNew)
	if a.OodTemp > 0 {
		cfg.OODTemperature = a.OodTemp
	}
	if a.BtTemp >= 0 {
		cfg.BTTemperature = a.BtTemp
	}
	if a.Corrupt >= 0 {
		cfg.Corrupt = a.Corrupt
	}
	if err := cfg.Check(); err != nil {
		return err
	}
	judge, judgeName, err := gold.Parse(a.Gold)
	if err != nil {
		return err
	}
	ds, err := prefgen.RunStudy(prefgen.StudyOptions{Config: cfg, Policy: a.PolicyDir, Sample: a.Sample, DataDir: a.DataDir, Sources: splitList(a.Sources),
		ValFrac: a.ValFrac, SplitSeed: a.SplitSeed, Out: a.Out, Parquet: a.Parquet, Log: a.progress(),
		HumanPairs: st.HumanPairs, Judge: judge, JudgeName: judgeName})
	if err != nil {
		return err
	}
	printData(a.out(), ds.Summary, a.Out, cfg.DropTies)
	return nil
}

// dataArgs holds the verb's flags as one value: the verb binds them, repro
// fills them directly.
type dataArgs struct {
	verbIO    // where its report and progress go (repro: the setting's)
	Preset    string
	DataDir   string
	Sample    bool
	Sources   string
	PolicyDir string
	Out       string
	NTrain    int
	NVal      int
	NOOD      int
	MinNew    int
	MaxNew    int
	PromptMin int
	PromptMax int
	Temp      float64
	OodTemp   float64
	BtTemp    float64
	Corrupt   float64
	DropTies  bool
	Parquet   bool
	Seed      uint64
	Batch     int
	PerPrompt int
	// EvalResponses > 0 overrides the preset's responses per val/OOD
	// prompt (2: one pair per prompt).
	EvalResponses int
	ValFrac       float64
	SplitSeed     uint64
	Gold          string
}

// newDataArgs returns the verb's defaults.
func newDataArgs() dataArgs {
	return dataArgs{Preset: "quick", DataDir: "data", PolicyDir: "runs/pretrain/final", Out: "runs/data", PromptMin: 8, PromptMax: 24, Temp: 1.0, BtTemp: -1, Corrupt: -1, DropTies: true, Seed: 1, Batch: 32, PerPrompt: 4, Gold: "vader"}
}

// bind declares the flags on a's fields, a's values as their defaults.
func (a *dataArgs) bind(fs *flag.FlagSet) {
	fs.StringVar(&a.Preset, "preset", a.Preset, "size preset: "+strings.Join(preset.Names(), ", "))
	fs.StringVar(&a.DataDir, "corpus", a.DataDir, "corpus folder filled by scripts/setup")
	alias(fs, "data", "corpus")
	fs.BoolVar(&a.Sample, "sample", a.Sample, "take prompts from the corpus sample embedded in the binary (no setup needed; OOD prompts then come from its train-split documents)")
	fs.StringVar(&a.Sources, "sources", a.Sources, "comma-separated corpus sources (default: all); must match warm pretrain's")
	fs.StringVar(&a.PolicyDir, "policy", a.PolicyDir, "policy: an HF GPT2LMHeadModel directory with tokenizer files")
	fs.StringVar(&a.Out, "out", a.Out, "output directory")
	fs.IntVar(&a.NTrain, "num-train", a.NTrain, "training pairs (default: preset)")
	fs.IntVar(&a.NVal, "num-val", a.NVal, "ID validation pairs (default: preset)")
	fs.IntVar(&a.NOOD, "num-ood", a.NOOD, "OOD pairs (default: preset)")
	alias(fs, "train", "num-train")
	alias(fs, "val", "num-val")
	alias(fs, "ood", "num-ood")
	fs.IntVar(&a.MinNew, "min-new", a.MinNew, "shortest response in new tokens (default: preset)")
	fs.IntVar(&a.MaxNew, "max-new", a.MaxNew, "longest response in new tokens (default: preset)")
	fs.IntVar(&a.PromptMin, "prompt-min", a.PromptMin, "shortest prompt in tokens")
	fs.IntVar(&a.PromptMax, "prompt-max", a.PromptMax, "longest prompt in tokens")
	fs.Float64Var(&a.Temp, "temperature", a.Temp, "policy sampling temperature (train and val)")
	fs.Float64Var(&a.OodTemp, "ood-temperature", a.OodTemp, "the shifted policy's sampling temperature (default: preset)")
	fs.Float64Var(&a.BtTemp, "bt-temperature", a.BtTemp, "Bradley-Terry labelling temperature on gold differences (0: argmax; default: preset)")
	fs.Float64Var(&a.Corrupt, "corrupt", a.Corrupt, "fraction of training labels swapped (default: preset)")
	fs.BoolVar(&a.DropTies, "drop-ties", a.DropTies, "drop pairs whose two responses get exactly the same gold score")
	fs.BoolVar(&a.Parquet, "parquet", a.Parquet, "also write train/val/ood.parquet")
	fs.Uint64Var(&a.Seed, "seed", a.Seed, "seed of prompt order, sampling and labels")
	fs.IntVar(&a.Batch, "batch", a.Batch, "prompts per generation batch (each sampled twice)")
	fs.IntVar(&a.EvalResponses, "eval-responses", a.EvalResponses, "responses sampled per val and OOD prompt, every pair among them kept (default: preset; 2: one pair per prompt)")
	fs.IntVar(&a.PerPrompt, "pairs-per-prompt", a.PerPrompt, "most pairs one prompt may carry within a split, used only when the split's prompts run short (1: each prompt once)")
	fs.Float64Var(&a.ValFrac, "val-frac", a.ValFrac, "held-out fraction of the corpus split (default: the policy's pretraining run, else 0.1)")
	fs.StringVar(&a.Gold, "gold", a.Gold, "gold judge: vader, or rm:DIR (a reward model as the judge, as Gao et al. 2022)")
	fs.Uint64Var(&a.SplitSeed, "split-seed", a.SplitSeed, "seed of the corpus split (default: the policy's pretraining run, else 1)")
}

func printData(w io.Writer, s prefgen.Summary, out string, dropTies bool) {
	fmt.Fprintf(w, "data: %d train, %d val, %d OOD pairs in %s (%.0fs, %.1f sequences/s)\n", s.Sizes["train"], s.Sizes["val"], s.Sizes["ood"], out, s.Seconds, s.SeqPerSecond)
	for _, x := range []struct {
		name string
		s    prefgen.SplitSummary
	}{{"train", s.Train}, {"val", s.Val}, {"ood", s.OOD}} {
		fmt.Fprintf(w, "  %-5s gold agreement %.3f (BT implies %.3f before corruption; observed %.3f), corrupted %.3f, mean |gold margin| %.3f, ties %.1f%% of sampled pairs%s\n",
			x.name, x.s.GoldAgreement, x.s.ExpectedAgreement, x.s.CleanAgreement, x.s.CorruptionRate, x.s.MeanAbsGoldMargin, 100*x.s.TieFraction,
			map[bool]string{true: " (dropped)", false: " (kept)"}[dropTies])
	}
}

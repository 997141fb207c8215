package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/warm-rm/warm/prefgen"
	"github.com/warm-rm/warm/preset"
)

func init() {
	register(&command{
		name:    "data",
		summary: "sample preference pairs from the policy, judge them (VADER), label and corrupt them",
		run:     runData,
	})
}

func runData(args []string) error {
	fs := newFlagSet("data", "[--preset quick|full|tiny] [--data data/ | --sample] [--policy runs/pretrain/final] [--out runs/data] [overrides]")
	presetName := fs.String("preset", "quick", "size preset: "+strings.Join(preset.Names(), ", "))
	dataDir := fs.String("data", "data", "data folder filled by scripts/setup")
	sample := fs.Bool("sample", false, "take prompts from the corpus sample embedded in the binary (no setup needed; OOD prompts then come from its train-split documents)")
	sources := fs.String("sources", "", "comma-separated corpus sources (default: all); must match warm pretrain's")
	policyDir := fs.String("policy", "runs/pretrain/final", "policy: an HF GPT2LMHeadModel directory with tokenizer files")
	out := fs.String("out", "runs/data", "output directory")
	nTrain := fs.Int("train", 0, "training pairs (default: preset)")
	nVal := fs.Int("val", 0, "ID validation pairs (default: preset)")
	nOOD := fs.Int("ood", 0, "OOD pairs (default: preset)")
	minNew := fs.Int("min-new", 0, "shortest response in new tokens (default: preset)")
	maxNew := fs.Int("max-new", 0, "longest response in new tokens (default: preset)")
	promptMin := fs.Int("prompt-min", 8, "shortest prompt in tokens")
	promptMax := fs.Int("prompt-max", 24, "longest prompt in tokens")
	temp := fs.Float64("temperature", 1.0, "policy sampling temperature (train and val)")
	oodTemp := fs.Float64("ood-temperature", 0, "the shifted policy's sampling temperature (default: preset)")
	btTemp := fs.Float64("bt-temperature", -1, "Bradley-Terry labelling temperature on gold differences (0: argmax; default: preset)")
	corrupt := fs.Float64("corrupt", -1, "fraction of training labels swapped (default: preset)")
	dropTies := fs.Bool("drop-ties", true, "drop pairs whose two responses get exactly the same gold score")
	parquet := fs.Bool("parquet", false, "also write train/val/ood.parquet")
	seed := fs.Uint64("seed", 1, "seed of prompt order, sampling and labels")
	batch := fs.Int("batch", 32, "prompts per generation batch (each sampled twice)")
	perPrompt := fs.Int("pairs-per-prompt", 4, "most pairs one prompt may carry within a split, used only when the split's prompts run short (1: each prompt once)")
	valFrac := fs.Float64("val-frac", 0, "held-out fraction of the corpus split (default: the policy's pretraining run, else 0.1)")
	splitSeed := fs.Uint64("split-seed", 0, "seed of the corpus split (default: the policy's pretraining run, else 1)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := preset.Get(*presetName)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg := prefgen.Config{
		Train: st.TrainPairs, Val: st.ValPairs, OOD: st.OODPairs, PromptMinTok: *promptMin, PromptMaxTok: *promptMax,
		MinNew: st.MinNew, MaxNew: st.MaxNew, Temperature: *temp, OODTemperature: st.OODTemperature,
		BTTemperature: st.BTTemperature, Corrupt: st.Corrupt, DropTies: *dropTies, Batch: *batch, MaxPairsPerPrompt: *perPrompt, Seed: *seed, Progress: os.Stderr,
	}
	set := func(dst *int, v int) {
		if v > 0 {
			*dst = v
		}
	}
	set(&cfg.Train, *nTrain)
	set(&cfg.Val, *nVal)
	set(&cfg.OOD, *nOOD)
	set(&cfg.MinNew, *minNew)
	set(&cfg.MaxNew, *maxNew)
	if *oodTemp > 0 {
		cfg.OODTemperature = *oodTemp
	}
	if *btTemp >= 0 {
		cfg.BTTemperature = *btTemp
	}
	if *corrupt >= 0 {
		cfg.Corrupt = *corrupt
	}
	if err := cfg.Check(); err != nil {
		return err
	}
	ds, err := prefgen.RunStudy(prefgen.StudyOptions{Config: cfg, Policy: *policyDir, Sample: *sample, DataDir: *dataDir, Sources: splitList(*sources),
		ValFrac: *valFrac, SplitSeed: *splitSeed, Out: *out, Parquet: *parquet, Log: os.Stderr})
	if err != nil {
		return err
	}
	printData(ds.Summary, *out, cfg.DropTies)
	return nil
}

func printData(s prefgen.Summary, out string, dropTies bool) {
	fmt.Printf("data: %d train, %d val, %d OOD pairs in %s (%.0fs, %.1f sequences/s)\n", s.Sizes["train"], s.Sizes["val"], s.Sizes["ood"], out, s.Seconds, s.SeqPerSecond)
	for _, x := range []struct {
		name string
		s    prefgen.SplitSummary
	}{{"train", s.Train}, {"val", s.Val}, {"ood", s.OOD}} {
		fmt.Printf("  %-5s gold agreement %.3f (BT implies %.3f before corruption; observed %.3f), corrupted %.3f, mean |gold margin| %.3f, ties %.1f%% of sampled pairs%s\n",
			x.name, x.s.GoldAgreement, x.s.ExpectedAgreement, x.s.CleanAgreement, x.s.CorruptionRate, x.s.MeanAbsGoldMargin, 100*x.s.TieFraction,
			map[bool]string{true: " (dropped)", false: " (kept)"}[dropTies])
	}
}

package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/warm-rm/warm/corpus"
	"github.com/warm-rm/warm/preset"
	"github.com/warm-rm/warm/pretrain"
)

func init() {
	register(&command{
		name:    "pretrain",
		summary: "train the study's tokenizer and small GPT-2 policy on the corpus",
		run:     runPretrain,
	})
}

// samplePrompts are continued by the final model, as a look at what it
// learned (printed and stored in summary.json).
var samplePrompts = []string{"The people of the United States", "It was a cold night, and the", "I have always thought that"}

func runPretrain(args []string) error {
	fs := newFlagSet("pretrain", "[--preset quick|full|tiny] [--data data/ | --sample] [--out runs/pretrain] [overrides]")
	presetName := fs.String("preset", "quick", "size preset: "+strings.Join(preset.Names(), ", "))
	dataDir := fs.String("data", "data", "data folder filled by scripts/setup")
	sample := fs.Bool("sample", false, "train on the small corpus sample embedded in the binary (no setup needed; for tests and demos)")
	sources := fs.String("sources", "", "comma-separated corpus sources (default: all of "+strings.Join(corpus.Sources, ", ")+")")
	out := fs.String("out", "runs/pretrain", "run directory")
	restart := fs.Bool("restart", false, "ignore a resume checkpoint in the run directory and start over")
	seed := fs.Uint64("seed", 1, "seed of the split, tokenizer sample, initialisation and batches")
	valFrac := fs.Float64("val-frac", 0, "fraction of documents held out, where warm data also takes prompts from (default 0.1; 0.4 with --sample, whose 15 documents are few)")
	tokMB := fs.Float64("tokenizer-mb", 5, "MB of training text the tokenizer is trained on (0: all)")
	// Overrides of single preset knobs (0: the preset's value).
	vocab := fs.Int("vocab", 0, "tokenizer vocabulary size")
	nEmbd := fs.Int("n-embd", 0, "model width")
	nLayer := fs.Int("n-layer", 0, "transformer blocks")
	nHead := fs.Int("n-head", 0, "attention heads")
	nPos := fs.Int("n-positions", 0, "context length (tokens per training window)")
	tokens := fs.Int64("tokens", 0, "training tokens (steps = tokens / (batch × n-positions))")
	steps := fs.Int("steps", 0, "training steps (overrides --tokens)")
	batch := fs.Int("batch", 0, "windows per step")
	lr := fs.Float64("lr", 0, "peak learning rate")
	corpusMB := fs.Float64("corpus-mb", -1, "cap on training text in MB (0: all)")
	warmup := fs.Int("warmup", 0, "warm-up steps (default: 5% of steps)")
	wd := fs.Float64("weight-decay", 0.1, "AdamW weight decay on matrices")
	clip := fs.Float64("clip", 1.0, "gradient clipping norm")
	logEvery := fs.Int("log-every", 0, "steps between metrics lines (default: 1% of steps)")
	evalEvery := fs.Int("eval-every", 0, "steps between held-out evaluations (default: 10% of steps)")
	saveEvery := fs.Int("save-every", 0, "steps between resume checkpoints (default: 10% of steps)")
	valWindows := fs.Int("val-windows", 64, "held-out windows per evaluation")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := preset.Get(*presetName)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	for _, o := range []struct {
		dst *int
		v   int
	}{{&st.VocabSize, *vocab}, {&st.NEmbd, *nEmbd}, {&st.NLayer, *nLayer}, {&st.NHead, *nHead}, {&st.NPositions, *nPos}, {&st.PretrainBS, *batch}} {
		*o.dst = cmp.Or(max(o.v, 0), *o.dst)
	}
	st.PretrainToks = cmp.Or(max(*tokens, 0), st.PretrainToks)
	st.PretrainLR = cmp.Or(max(*lr, 0), st.PretrainLR)
	if *corpusMB >= 0 {
		st.CorpusMB = *corpusMB
	}
	nSteps := cmp.Or(max(*steps, 0), int(st.PretrainToks/int64(st.PretrainBS*st.NPositions)))
	if nSteps < 1 {
		return fmt.Errorf("%d tokens make no step of %d × %d tokens", st.PretrainToks, st.PretrainBS, st.NPositions)
	}
	if *valFrac == 0 {
		*valFrac = map[bool]float64{false: 0.1, true: 0.4}[*sample]
	}
	if *valFrac <= 0 || *valFrac >= 1 {
		return fmt.Errorf("--val-frac %g must be in (0, 1)", *valFrac)
	}
	docs, err := corpus.Open(*sample, *dataDir, splitList(*sources))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := pretrain.RunStudy(ctx, pretrain.StudyOptions{Docs: docs, VocabSize: st.VocabSize, ValFrac: *valFrac, CorpusMB: st.CorpusMB, TokenizerMB: *tokMB,
		Config: pretrain.Config{
			Out: *out, NEmbd: st.NEmbd, NLayer: st.NLayer, NHead: st.NHead, NPositions: st.NPositions,
			Steps: nSteps, Batch: st.PretrainBS, LR: st.PretrainLR, Warmup: cmp.Or(max(*warmup, 0), max(1, nSteps/20)), WeightDecay: *wd, ClipNorm: *clip,
			Seed: *seed, LogEvery: *logEvery, EvalEvery: *evalEvery, ValWindows: *valWindows, SaveEvery: *saveEvery,
			Restart: *restart, Samples: samplePrompts, SampleLen: 40, Log: os.Stderr,
		}})
	if err != nil {
		return err
	}
	printPretrain(sum, *out)
	return nil
}

func printPretrain(sum *pretrain.Summary, out string) {
	fmt.Printf("pretrain: %d steps, %d tokens in %.0fs (+%.0fs tokenizer and data), %.0f tokens/s\n",
		sum.Steps, sum.Tokens, sum.Seconds, sum.PrepSeconds, sum.TokensPerSec)
	fmt.Printf("held-out loss %.3f nats/token, perplexity %.1f (unigram baseline %.1f)\n", sum.ValLoss, sum.ValPPL, sum.UnigramPPL)
	fmt.Printf("checkpoints: %s (in %s)\n", strings.Join(sum.Checkpoints, ", "), out)
	fmt.Println("samples from the final model:")
	for _, s := range sum.Samples {
		fmt.Printf("  %q\n", s)
	}
}

// splitList splits a comma-separated flag value ("" is none).
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

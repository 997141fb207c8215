package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/warm-rm/warm/internal/runlog"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/study/corpus"
	"github.com/warm-rm/warm/study/preset"
	"github.com/warm-rm/warm/study/pretrain"
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
	fs := newFlagSet("pretrain", "[--preset quick|full|tiny] [--corpus data/ | --sample] [-o runs/pretrain] [overrides]")
	a := newPretrainArgs()
	a.bind(fs)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	return a.run()
}

// run resolves the preset and calls the library.
func (a pretrainArgs) run() error {
	st, err := preset.Get(a.Preset)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	for _, o := range []struct {
		dst *int
		v   int
	}{{&st.VocabSize, a.Vocab}, {&st.NEmbd, a.NEmbd}, {&st.NLayer, a.NLayer}, {&st.NHead, a.NHead}, {&st.NPositions, a.NPos}, {&st.PretrainBS, a.Batch}} {
		*o.dst = cmp.Or(max(o.v, 0), *o.dst)
	}
	st.PretrainToks = cmp.Or(max(a.Tokens, 0), st.PretrainToks)
	st.PretrainLR = cmp.Or(max(a.Lr, 0), st.PretrainLR)
	if a.CorpusMB >= 0 {
		st.CorpusMB = a.CorpusMB
	}
	nSteps := cmp.Or(max(a.Steps, 0), int(st.PretrainToks/int64(st.PretrainBS*st.NPositions)))
	if nSteps < 1 {
		return fmt.Errorf("%d tokens make no step of %d × %d tokens", st.PretrainToks, st.PretrainBS, st.NPositions)
	}
	if a.ValFrac == 0 {
		a.ValFrac = map[bool]float64{false: 0.1, true: 0.4}[a.Sample]
	}
	if a.ValFrac <= 0 || a.ValFrac >= 1 {
		return fmt.Errorf("%w: --val-frac %g must be in (0, 1)", errUsage, a.ValFrac)
	}
	docs, err := corpus.Open(a.Sample, a.DataDir, splitList(a.Sources))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := pretrain.Config{
		Out: a.Out, NEmbd: st.NEmbd, NLayer: st.NLayer, NHead: st.NHead, NPositions: st.NPositions,
		Steps: nSteps, Batch: st.PretrainBS, LR: st.PretrainLR, Warmup: cmp.Or(max(a.Warmup, 0), max(1, nSteps/20)), WeightDecay: a.Wd, ClipNorm: a.Clip,
		Seed: a.Seed, CheckpointSteps: st.BaklavaSteps(nSteps), LogEvery: a.LogEvery, EvalEvery: a.EvalEvery, ValWindows: a.ValWindows, SaveEvery: a.SaveEvery,
		Restart: a.Restart, Samples: samplePrompts, SampleLen: 40, Log: a.progress(),
	}
	var sum *pretrain.Summary
	if a.ContinueFrom == "" {
		sum, err = pretrain.RunStudy(ctx, pretrain.StudyOptions{Docs: docs, VocabSize: st.VocabSize, ValFrac: a.ValFrac, CorpusMB: st.CorpusMB, TokenizerMB: a.TokMB, Config: cfg})
	} else {
		sum, err = a.runContinue(ctx, cfg, docs)
	}
	if err != nil {
		return err
	}
	printPretrain(a.out(), sum, a.Out)
	return nil
}

// pretrainArgs holds the verb's flags as one value: the verb binds them, repro
// fills them directly.
type pretrainArgs struct {
	verbIO     // where its report and progress go (repro: the setting's)
	Preset     string
	DataDir    string
	Sample     bool
	Sources    string
	Out        string
	Restart    bool
	Seed       uint64
	ValFrac    float64
	TokMB      float64
	Vocab      int
	NEmbd      int
	NLayer     int
	NHead      int
	NPos       int
	Tokens     int64
	Steps      int
	Batch      int
	Lr         float64
	CorpusMB   float64
	Warmup     int
	Wd         float64
	Clip       float64
	LogEvery   int
	EvalEvery  int
	SaveEvery  int
	ValWindows int
	// ContinueFrom and SFTReviews make the run a continuation (the SFT
	// stage): from a pretrained model, with a share of each batch's
	// windows from the review sentences' text.
	ContinueFrom string
	SFTReviews   float64
}

// newPretrainArgs returns the verb's defaults.
func newPretrainArgs() pretrainArgs {
	return pretrainArgs{Preset: "quick", DataDir: "data", Out: "runs/pretrain", Seed: 1, TokMB: 5, CorpusMB: -1, Wd: 0.1, Clip: 1.0, ValWindows: 64}
}

// bind declares the flags on a's fields, a's values as their defaults.
func (a *pretrainArgs) bind(fs *flag.FlagSet) {
	fs.StringVar(&a.Preset, "preset", a.Preset, "size preset: "+strings.Join(preset.Names(), ", "))
	fs.StringVar(&a.DataDir, "corpus", a.DataDir, "corpus folder filled by scripts/setup")
	alias(fs, "data", "corpus")
	fs.BoolVar(&a.Sample, "sample", a.Sample, "train on the small corpus sample embedded in the binary (no setup needed; for tests and demos)")
	fs.StringVar(&a.Sources, "sources", a.Sources, "comma-separated corpus sources (default: all of "+strings.Join(corpus.Sources, ", ")+")")
	fs.StringVar(&a.Out, "out", a.Out, "run directory")
	fs.BoolVar(&a.Restart, "restart", a.Restart, "ignore a resume checkpoint in the run directory and start over")
	fs.Uint64Var(&a.Seed, "seed", a.Seed, "seed of the split, tokenizer sample, initialisation and batches")
	fs.Float64Var(&a.ValFrac, "val-frac", a.ValFrac, "fraction of documents held out, where warm data also takes prompts from (default 0.1; 0.4 with --sample, whose 15 documents are few)")
	fs.Float64Var(&a.TokMB, "tokenizer-mb", a.TokMB, "MB of training text the tokenizer is trained on (0: all)")
	fs.IntVar(&a.Vocab, "vocab", a.Vocab, "tokenizer vocabulary size (default: preset)")
	fs.IntVar(&a.NEmbd, "n-embd", a.NEmbd, "model width (default: preset)")
	fs.IntVar(&a.NLayer, "n-layer", a.NLayer, "transformer blocks (default: preset)")
	fs.IntVar(&a.NHead, "n-head", a.NHead, "attention heads (default: preset)")
	fs.IntVar(&a.NPos, "n-positions", a.NPos, "context length (tokens per training window) (default: preset)")
	fs.Int64Var(&a.Tokens, "tokens", a.Tokens, "training tokens (steps = tokens / (batch × n-positions); default: preset)")
	fs.IntVar(&a.Steps, "steps", a.Steps, "training steps (default: from --tokens)")
	fs.IntVar(&a.Batch, "batch", a.Batch, "windows per step (default: preset)")
	fs.Float64Var(&a.Lr, "lr", a.Lr, "peak learning rate (default: preset)")
	fs.Float64Var(&a.CorpusMB, "corpus-mb", a.CorpusMB, "cap on training text in MB (0: all; default: preset)")
	fs.IntVar(&a.Warmup, "warmup", a.Warmup, "warm-up steps (default: 5% of steps)")
	fs.Float64Var(&a.Wd, "weight-decay", a.Wd, "AdamW weight decay on matrices")
	fs.Float64Var(&a.Clip, "clip", a.Clip, "gradient clipping norm")
	fs.IntVar(&a.LogEvery, "log-every", a.LogEvery, "steps between metrics lines (default: 1% of steps)")
	fs.IntVar(&a.EvalEvery, "eval-every", a.EvalEvery, "steps between held-out evaluations (default: 10% of steps)")
	fs.IntVar(&a.SaveEvery, "ckpt-every", a.SaveEvery, "steps between resume checkpoints (default: 10% of steps)")
	alias(fs, "save-every", "ckpt-every")
	fs.IntVar(&a.ValWindows, "val-windows", a.ValWindows, "held-out windows per evaluation")
	fs.StringVar(&a.ContinueFrom, "continue-from", a.ContinueFrom, "continue training the pretrained model in `DIR` (an HF GPT-2 LM directory with tokenizer files; the SFT stage): its shape and tokenizer, the same corpus split, fresh optimiser and schedule")
	fs.Float64Var(&a.SFTReviews, "sft-reviews", a.SFTReviews, "with --continue-from: share of each step's windows taken from the review sentences' text (labels unused), the rest from the corpus")
}

// runContinue is the SFT stage: the corpus split as pretraining made it,
// the model and tokenizer of --continue-from, the review sentences as the
// in-domain extra text.
func (a pretrainArgs) runContinue(ctx context.Context, cfg pretrain.Config, docs []corpus.Doc) (*pretrain.Summary, error) {
	mc, err := model.ReadConfig(filepath.Join(a.ContinueFrom, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("--continue-from: %w", err)
	}
	cfg.NEmbd, cfg.NLayer, cfg.NHead, cfg.NPositions, cfg.From = mc.NEmbd, mc.NLayer, mc.NHead, mc.NPositions, a.ContinueFrom
	if a.SFTReviews < 0 || a.SFTReviews > 1 {
		return nil, fmt.Errorf("%w: --sft-reviews %g must be in [0, 1]", errUsage, a.SFTReviews)
	}
	cfg.ExtraFrac = a.SFTReviews
	var extra []string
	if a.SFTReviews > 0 {
		sents, err := corpus.ReviewSentences(a.DataDir)
		if err != nil {
			return nil, fmt.Errorf("--sft-reviews: %w", err)
		}
		for _, s := range sents {
			extra = append(extra, s.Text)
		}
	}
	var prep pretrain.Prep
	if err := runlog.ReadJSON(filepath.Join(filepath.Dir(filepath.Clean(a.ContinueFrom)), "prep.json"), &prep); err != nil {
		return nil, fmt.Errorf("--continue-from %s: the pretraining run's prep.json (its corpus split): %w", a.ContinueFrom, err)
	}
	data, err := pretrain.ContinueData(a.ContinueFrom, docs, extra, a.Out, prep.ValFrac, prep.CorpusMB, prep.Seed)
	if err != nil {
		return nil, err
	}
	return pretrain.Run(ctx, cfg, data, 0)
}

func printPretrain(w io.Writer, sum *pretrain.Summary, out string) {
	fmt.Fprintf(w, "pretrain: %d steps, %d tokens in %.0fs (+%.0fs tokenizer and data), %.0f tokens/s\n",
		sum.Steps, sum.Tokens, sum.Seconds, sum.PrepSeconds, sum.TokensPerSec)
	fmt.Fprintf(w, "held-out loss %.3f nats/token, perplexity %.1f (unigram baseline %.1f)\n", sum.ValLoss, sum.ValPPL, sum.UnigramPPL)
	fmt.Fprintf(w, "checkpoints: %s (in %s)\n", strings.Join(sum.Checkpoints, ", "), out)
	fmt.Fprintln(w, "samples from the final model:")
	for _, s := range sum.Samples {
		fmt.Fprintf(w, "  %q\n", s)
	}
}

// splitList splits a comma-separated flag value ("" is none).
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

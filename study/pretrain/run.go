// Package pretrain trains the study's small GPT-2 language model from
// scratch: a byte-level BPE tokenizer on the corpus, then next-token
// prediction on random windows of the tokenized corpus, with held-out
// perplexity, a unigram baseline, HF checkpoints along the run (the SFT
// checkpoints Baklava reward models start from) and a resume checkpoint.
package pretrain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/internal/runlog"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/optim"
	"github.com/warm-rm/warm/kit/safetensors"
	"github.com/warm-rm/warm/study/corpus"
)

// Config is one pretraining run.
type Config struct {
	Out string // run directory

	// Model.
	NEmbd, NLayer, NHead, NPositions int

	// Optimisation. Steps of Batch windows of NPositions tokens.
	Steps       int
	Batch       int
	LR          float64 // peak; linear warm-up, then cosine to 0
	Warmup      int
	WeightDecay float64 // on matrices (wte, wpe and the Conv1D weights)
	ClipNorm    float64
	Seed        uint64
	// CheckpointSteps are the steps whose models are kept as Baklava
	// bodies (ckpt-STEP), besides final (nil: 2/3 and 5/6 of Steps; the
	// study passes preset.Study.BaklavaSteps).
	CheckpointSteps []int
	// From is an HF GPT2LMHeadModel directory whose weights start the run
	// instead of a fresh initialisation: a continuation (the study's SFT
	// stage, ContinueData). Its shape must match the Config's and the
	// tokenizer's vocabulary. Empty: a fresh model.
	From string
	// ExtraFrac is the share of each step's windows drawn from Data.Extra
	// (the in-domain text of a continuation), the rest from Data.Train.
	ExtraFrac float64

	// Bookkeeping.
	LogEvery   int // metrics.jsonl line and progress every LogEvery steps
	EvalEvery  int // held-out loss every EvalEvery steps (and at the end)
	ValWindows int // fixed held-out windows per evaluation
	SaveEvery  int // resume checkpoint every SaveEvery steps (and on interrupt)
	Restart    bool
	Samples    []string // prompts sampled from the final model
	SampleLen  int

	Log io.Writer // progress; nil: os.Stderr

	afterStep func(step int) // test hook, called after each step
}

// Summary is out/summary.json.
type Summary struct {
	Checkpoints  []string `json:"checkpoints"` // HF GPT2LMHeadModel directories, relative to the run directory, in training order
	ValLoss      float64  `json:"val_loss"`    // nats/token on the held-out windows
	ValPPL       float64  `json:"val_ppl"`
	UnigramLoss  float64  `json:"unigram_loss"` // the same windows under a smoothed unigram model of the train split
	UnigramPPL   float64  `json:"unigram_ppl"`
	TrainLoss    float64  `json:"train_loss"` // mean over the last logging interval
	Tokens       int64    `json:"tokens"`     // training tokens seen
	Seconds      float64  `json:"seconds"`    // training wall time, summed over resumed parts (tokenizer excluded)
	PrepSeconds  float64  `json:"prep_seconds"`
	Steps        int      `json:"steps"`
	Params       int      `json:"params"`
	TokensPerSec float64  `json:"tokens_per_second"`
	TrainTokens  int      `json:"train_split_tokens"`
	ValTokens    int      `json:"val_split_tokens"`
	VocabSize    int      `json:"vocab_size"`
	Samples      []string `json:"samples"`
	Prep         Prep     `json:"data"`
}

// ErrInterrupted is returned when the context is cancelled (SIGINT or
// SIGTERM); the resume checkpoint has been written by then.
var ErrInterrupted = errors.New("interrupted")

// Checkpoint steps: the SFT checkpoints Baklava members start from, at 2/3
// and 5/6 of the run (the paper's 8k/10k of 12k steps) and at the end.
func checkpointSteps(total int) []int {
	a, b := int(math.Round(float64(total)*2/3)), int(math.Round(float64(total)*5/6))
	var out []int
	for _, s := range []int{a, b} {
		if s > 0 && s < total && (len(out) == 0 || out[len(out)-1] != s) {
			out = append(out, s)
		}
	}
	return out
}

// Run trains (or resumes) the model described by cfg on data and writes
// the run directory.
func Run(ctx context.Context, cfg Config, data *Data, prepSeconds float64) (*Summary, error) {
	log := cfg.Log
	if log == nil {
		log = os.Stderr
	}
	if cfg.Steps < 1 || cfg.Batch < 1 {
		return nil, fmt.Errorf("steps (%d) and batch (%d) must be positive", cfg.Steps, cfg.Batch)
	}
	fill := func(p *int, v int) {
		if *p <= 0 {
			*p = max(1, v)
		}
	}
	fill(&cfg.LogEvery, cfg.Steps/100)
	fill(&cfg.EvalEvery, cfg.Steps/10)
	fill(&cfg.SaveEvery, cfg.Steps/10)
	fill(&cfg.ValWindows, 64)
	fill(&cfg.SampleLen, 48)

	tok := data.Tok
	mcfg := model.Config{
		VocabSize: tok.VocabSize(), NPositions: cfg.NPositions, NEmbd: cfg.NEmbd, NLayer: cfg.NLayer, NHead: cfg.NHead,
		LayerNormEps: 1e-5, BOSTokenID: tok.EOT(), EOSTokenID: tok.EOT(), PadTokenID: -1, Architecture: model.ArchLM,
	}
	if err := mcfg.Validate(); err != nil {
		return nil, err
	}
	valWin, err := ValWindows(data.Val, cfg.NPositions, cfg.ValWindows)
	if err != nil {
		return nil, fmt.Errorf("held-out split: %w", err)
	}
	if len(data.Train) < cfg.NPositions {
		return nil, fmt.Errorf("train split: %w: %d tokens, a window needs %d", errNoTokens, len(data.Train), cfg.NPositions)
	}
	uniLoss := UnigramBaseline(data.Train, valWin, tok.VocabSize())
	nExtra := int(math.Round(cfg.ExtraFrac * float64(cfg.Batch)))
	if cfg.ExtraFrac < 0 || cfg.ExtraFrac > 1 {
		return nil, fmt.Errorf("extra-text fraction %g: want 0..1", cfg.ExtraFrac)
	}
	if nExtra > 0 && len(data.Extra) < cfg.NPositions {
		return nil, fmt.Errorf("extra text: %w: %d tokens, a window needs %d", errNoTokens, len(data.Extra), cfg.NPositions)
	}

	// Model and optimiser: fresh, or from the resume checkpoint.
	resumeDir := filepath.Join(cfg.Out, "resume")
	if cfg.Restart {
		for _, d := range []string{resumeDir, resumeDir + ".old", resumeDir + ".tmp"} {
			if err := os.RemoveAll(d); err != nil {
				return nil, err
			}
		}
		os.Remove(filepath.Join(cfg.Out, "metrics.jsonl"))
	}
	var m *model.Model
	st := state{}
	from := findResume(cfg.Out)
	if from != "" {
		if m, st, err = loadResume(from); err != nil {
			return nil, err
		}
		if st.Steps != cfg.Steps || st.Batch != cfg.Batch || st.Seed != cfg.Seed || st.LR != cfg.LR || st.Warmup != cfg.Warmup || m.Config != mcfg {
			return nil, fmt.Errorf("%s holds a run of %d steps × batch %d (seed %d, lr %g, warm-up %d, model %+v); asked for %d × %d (seed %d, lr %g, warm-up %d, model %+v): use the same settings, or --restart",
				from, st.Steps, st.Batch, st.Seed, st.LR, st.Warmup, m.Config, cfg.Steps, cfg.Batch, cfg.Seed, cfg.LR, cfg.Warmup, mcfg)
		}
	} else if cfg.From != "" {
		if m, err = model.Load(cfg.From); err != nil {
			return nil, fmt.Errorf("continue from %s: %w", cfg.From, err)
		}
		if m.Config != mcfg {
			return nil, fmt.Errorf("continue from %s: its model %+v is not the run's %+v (shape flags must match the model continued)", cfg.From, m.Config, mcfg)
		}
	} else {
		m = model.New(mcfg, cfg.Seed)
	}
	groups, err := optim.Groups(m, optim.TrainAll, cfg.WeightDecay)
	if err != nil {
		return nil, err
	}
	opt := optim.NewAdamW(groups...)
	opt.Beta2 = 0.95 // GPT-style pretraining: faster-adapting second moment
	if from != "" {
		if err := opt.LoadState(filepath.Join(from, optimFile)); err != nil {
			return nil, fmt.Errorf("resume checkpoint: %w (use --restart to start over)", err)
		}
		fmt.Fprintf(log, "pretrain: resuming at step %d/%d from %s\n", st.Step, cfg.Steps, from)
	}
	st.Steps, st.Batch, st.Seed, st.LR, st.Warmup = cfg.Steps, cfg.Batch, cfg.Seed, cfg.LR, cfg.Warmup
	if err := runlog.TrimMetrics(filepath.Join(cfg.Out, "metrics.jsonl"), st.Step); err != nil {
		return nil, err
	}
	metrics, err := runlog.OpenMetrics(filepath.Join(cfg.Out, "metrics.jsonl"))
	if err != nil {
		return nil, err
	}
	defer metrics.Close()

	sched := optim.Schedule{Peak: cfg.LR, Warmup: cfg.Warmup, Total: cfg.Steps, Kind: "cosine"}
	ckptAt := cfg.CheckpointSteps
	if ckptAt == nil {
		ckptAt = checkpointSteps(cfg.Steps)
	}
	for i, c := range ckptAt {
		if c < 1 || c >= cfg.Steps || (i > 0 && c <= ckptAt[i-1]) {
			return nil, fmt.Errorf("pretrain: checkpoint steps %v: want increasing steps in 1..%d", ckptAt, cfg.Steps-1)
		}
	}
	tokensPerStep := int64(cfg.Batch) * int64(cfg.NPositions)
	fmt.Fprintf(log, "pretrain: %d params, %d steps × %d windows × %d tokens = %d tokens; unigram baseline %.3f nats (ppl %.1f)\n",
		m.NumParams(), cfg.Steps, cfg.Batch, cfg.NPositions, int64(cfg.Steps)*tokensPerStep, uniLoss, math.Exp(uniLoss))
	prog := runlog.NewProgress(log, "pretrain", "steps", cfg.Steps, st.Step)
	prog.Interval = 5 * time.Second

	runStart := time.Now()
	secondsBefore := st.Seconds
	elapsed := func() float64 { return secondsBefore + time.Since(runStart).Seconds() }
	var lossSum float64
	var lossN int
	save := func() error {
		st.Seconds = elapsed()
		st.LossSum, st.LossN = lossSum, lossN
		return saveResume(cfg.Out, m, opt, st)
	}
	lossSum, lossN = st.LossSum, st.LossN
	lastTime, lastStep := time.Now(), st.Step
	valLoss := math.NaN()

	for st.Step < cfg.Steps {
		if ctx.Err() != nil {
			if err := save(); err != nil {
				return nil, fmt.Errorf("interrupted at step %d, and saving the resume checkpoint failed: %w", st.Step, err)
			}
			fmt.Fprintf(log, "pretrain: interrupted at step %d/%d; resume checkpoint in %s (run the same command to continue)\n", st.Step, cfg.Steps, resumeDir)
			return nil, ErrInterrupted
		}
		step := st.Step
		rng := stepRNG(cfg.Seed, step)
		wins, _ := TrainWindows(data.Train, cfg.NPositions, cfg.Batch-nExtra, rng)
		if nExtra > 0 {
			ex, _ := TrainWindows(data.Extra, cfg.NPositions, nExtra, rng)
			wins = append(wins, ex...)
		}
		lr := sched.LR(step)
		loss, gnorm := trainStep(m, opt, wins, lr, cfg.ClipNorm, cfg.Seed^uint64(step))
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, fmt.Errorf("step %d: loss is %v (lr %.3g): lower --lr", step, loss, lr)
		}
		st.Step++
		st.Tokens += tokensPerStep
		lossSum += loss
		lossN++

		rec := map[string]any(nil)
		if st.Step%cfg.LogEvery == 0 || st.Step == cfg.Steps {
			now := time.Now()
			rate := float64(int64(st.Step-lastStep)*tokensPerStep) / now.Sub(lastTime).Seconds()
			lastTime, lastStep = now, st.Step
			st.TrainLoss = lossSum / float64(lossN)
			lossSum, lossN = 0, 0
			rec = map[string]any{"step": st.Step, "lr": lr, "loss": st.TrainLoss, "grad_norm": gnorm,
				"tokens": st.Tokens, "tokens_per_second": rate, "seconds": elapsed()}
		}
		if st.Step%cfg.EvalEvery == 0 || st.Step == cfg.Steps {
			if valLoss, err = evalLoss(m, valWin, cfg.Batch); err != nil {
				return nil, err
			}
			if rec == nil {
				rec = map[string]any{"step": st.Step, "tokens": st.Tokens, "seconds": elapsed()}
			}
			rec["val_loss"], rec["val_ppl"] = valLoss, math.Exp(valLoss)
		}
		if rec != nil {
			if err := metrics.Log(rec); err != nil {
				return nil, err
			}
			extra := fmt.Sprintf("loss %.3f", st.TrainLoss)
			if v, ok := rec["val_loss"]; ok {
				extra += fmt.Sprintf(" val %.3f (ppl %.1f)", v, math.Exp(v.(float64)))
			}
			if r, ok := rec["tokens_per_second"]; ok {
				extra += fmt.Sprintf(" %.0f tok/s", r)
			}
			prog.Update(st.Step, extra)
		}
		if cfg.afterStep != nil {
			cfg.afterStep(st.Step)
		}
		for _, c := range ckptAt {
			if st.Step == c {
				dir := fmt.Sprintf("ckpt-%d", c)
				if err := saveHF(m, tok, filepath.Join(cfg.Out, dir), cfg.NPositions); err != nil {
					return nil, err
				}
				fmt.Fprintf(log, "pretrain: saved %s\n", filepath.Join(cfg.Out, dir))
			}
		}
		if st.Step%cfg.SaveEvery == 0 && st.Step < cfg.Steps {
			if err := save(); err != nil {
				return nil, err
			}
		}
	}
	if math.IsNaN(valLoss) { // resumed at the very end
		if valLoss, err = evalLoss(m, valWin, cfg.Batch); err != nil {
			return nil, err
		}
	}
	if err := saveHF(m, tok, filepath.Join(cfg.Out, "final"), cfg.NPositions); err != nil {
		return nil, err
	}
	if err := save(); err != nil { // a rerun then finds the run complete
		return nil, err
	}

	sum := &Summary{
		ValLoss: valLoss, ValPPL: math.Exp(valLoss), UnigramLoss: uniLoss, UnigramPPL: math.Exp(uniLoss),
		TrainLoss: st.TrainLoss, Tokens: st.Tokens, Seconds: st.Seconds, PrepSeconds: prepSeconds, Steps: cfg.Steps,
		Params: m.NumParams(), TrainTokens: len(data.Train), ValTokens: len(data.Val), VocabSize: tok.VocabSize(), Prep: data.Prep,
	}
	if st.Seconds > 0 {
		sum.TokensPerSec = float64(st.Tokens) / st.Seconds
	}
	for _, c := range ckptAt {
		sum.Checkpoints = append(sum.Checkpoints, fmt.Sprintf("ckpt-%d", c))
	}
	sum.Checkpoints = append(sum.Checkpoints, "final")
	sum.Samples = Samples(m, tok, cfg.Samples, cfg.SampleLen, cfg.Seed)
	if err := atomicfile.WriteJSON(filepath.Join(cfg.Out, "summary.json"), sum); err != nil {
		return nil, err
	}
	return sum, nil
}

// trainStep runs one optimiser step on windows and returns the mean
// next-token loss (nats) and the gradient norm before clipping.
func trainStep(m *model.Model, opt *optim.AdamW, wins [][]int, lr, clip float64, seed uint64) (float64, float64) {
	m.ZeroGrad()
	pass := m.Forward(wins, model.Mode{Train: true, Seed: seed})
	lp := pass.TokenLogProbs()
	n := 0
	for _, r := range lp {
		n += len(r)
	}
	var loss float64
	d := make([][]float32, len(lp))
	g := float32(-1 / float64(n))
	for i, r := range lp {
		d[i] = make([]float32, len(r))
		for t, v := range r {
			loss -= float64(v)
			d[i][t] = g
		}
	}
	pass.BackwardLogProbs(d)
	norm := optim.ClipGradNorm(m.Params, clip)
	opt.Step(lr)
	return loss / float64(n), norm
}

// evalLoss is the mean next-token loss over fixed windows, in eval mode.
func evalLoss(m *model.Model, wins [][]int, batch int) (float64, error) {
	var nll float64
	n := 0
	for lo := 0; lo < len(wins); lo += batch {
		lp, err := m.TokenLogProbs(wins[lo:min(lo+batch, len(wins))])
		if err != nil {
			return 0, fmt.Errorf("validation windows: %w", err)
		}
		for _, r := range lp {
			for _, v := range r {
				nll -= float64(v)
				n++
			}
		}
	}
	return nll / float64(n), nil
}

// saveHF writes an HF GPT2LMHeadModel directory (F32 weights and the
// tokenizer files) atomically (atomicfile), replacing an older one.
func saveHF(m *model.Model, tok interface {
	Save(dir string, modelMaxLength int) error
}, dir string, nPositions int) error {
	d, err := atomicfile.NewDir(dir)
	if err != nil {
		return err
	}
	defer d.Abort()
	if err := m.Save(d.Path, safetensors.F32); err != nil {
		return err
	}
	if err := tok.Save(d.Path, nPositions); err != nil {
		return err
	}
	return d.Commit(true)
}

// Samples continues each prompt with the model (temperature 1, no top-k or
// top-p, at most n new tokens, stopping at <|endoftext|>) and returns
// prompt+continuation texts.
func Samples(m *model.Model, tok interface {
	Encode(string) []int
	Decode([]int) string
	EOT() int
}, prompts []string, n int, seed uint64) []string {
	var ids [][]int
	var kept []string
	for _, p := range prompts {
		if e := tok.Encode(p); len(e) > 0 && len(e) < m.Config.NPositions-1 {
			ids = append(ids, e)
			kept = append(kept, p)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	// Every row must run the same number of steps (see below): keep all
	// inside the context.
	longest := 0
	for _, e := range ids {
		longest = max(longest, len(e))
	}
	n = min(n, m.Config.NPositions-1-longest)
	if n < 1 {
		return nil
	}
	// No StopToken, cut at <|endoftext|> here: model.Generate at HEAD
	// panics when some rows of a batch stop before others.
	outs := m.Generate(ids, model.SampleOptions{MaxNewTokens: n, Temperature: 1, Seed: seed, StopToken: -1})
	res := make([]string, len(outs))
	for i, o := range outs {
		for k, id := range o {
			if id == tok.EOT() {
				o = o[:k]
				break
			}
		}
		res[i] = kept[i] + tok.Decode(o)
	}
	return res
}

// StudyOptions are one `warm pretrain` run: the corpus, the tokenizer and
// data preparation, and the training Config.
type StudyOptions struct {
	Docs        []corpus.Doc
	VocabSize   int
	ValFrac     float64 // documents held out (where warm data takes prompts)
	CorpusMB    float64 // cap on training text (0: all)
	TokenizerMB float64 // training text the tokenizer sees (0: all)
	Config      Config
}

// RunStudy prepares the tokenizer and token files in o.Config.Out, then
// trains (resuming a checkpoint there).
func RunStudy(ctx context.Context, o StudyOptions) (*Summary, error) {
	c := o.Config
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return nil, err
	}
	t0 := time.Now()
	data, err := PrepareData(o.Docs, c.Out, o.VocabSize, o.ValFrac, o.CorpusMB, o.TokenizerMB, c.NPositions, c.Seed, c.Log)
	if err != nil {
		return nil, err
	}
	return Run(ctx, c, data, time.Since(t0).Seconds())
}

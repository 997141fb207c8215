package main

import (
	"cmp"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/study/gold"
	"github.com/warm-rm/warm/study/prefgen"
	"github.com/warm-rm/warm/study/preset"
	"github.com/warm-rm/warm/study/rl"
	"github.com/warm-rm/warm/study/studyreport"
)

func init() {
	register(&command{name: "rl", summary: "RL (RLOO + KL penalty) of the policy against a reward; plots reward hacking", run: runRL})
}

func runRL(args []string) error {
	fs := newFlagSet("rl", `--policy DIR (--members RM_RUN --reward NAME | --rm NAME=[ens:|wa:]DIR[,DIR...]) [--data DIR | --prompts FILE] -o DIR
       warm rl --plot RUN... [--names a,b,...] -o DIR

Optimises the policy against the reward with REINFORCE and a leave-one-out baseline (RLOO),
reward = RM(x, y) − α·KL(π‖π_ref) per sequence, logging proxy and gold reward, KL, entropy and
length per step to OUT/metrics.jsonl. Checkpoints OUT/ckpt-STEP (HF dir + optimizer state);
a rerun with the same flags resumes from the last one. --plot puts several runs on one plot.
Rewards from --members: single (best-ranked member), ensM, warmM (M from --m, default 2 and all), gold.`)
	a := newRLArgs(fs)
	out := &a.Out
	plot := fs.Bool("plot", false, "plot the runs given as arguments on one set of curves into --out")
	names := fs.String("names", "", "with --plot: comma-separated run labels")
	sft := fs.String("sft", "", "with --plot: also sample the SFT policy DIR and each run at the same KL into OUT/samples.json")
	samplePrompts := fs.String("sample-prompts", "", "with --sft: rows whose first 3 prompts are sampled (JSONL or Parquet)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	if *plot {
		return rlPlotArgs{Runs: pos, Names: *names, SFT: *sft, SamplePrompts: *samplePrompts, Out: *out}.run()
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected arguments %v (runs are plotted with --plot)", errUsage, pos)
	}
	return a.run()
}

// rlArgs is the verb's flags (but --plot's) as one value: the verb binds
// them, repro fills them directly.
type rlArgs struct {
	verbIO                                                                   // where its report and progress go (repro: the setting's)
	Preset, PolicyDir, DataDir, Split, PromptsFile, Members, Ms, Reward, Out string
	Gold                                                                     string
	RMs                                                                      rmFlags
	KLCoef, LR                                                               float64
	Clean                                                                    bool
	Cfg                                                                      rl.Config
}

// newRLArgs returns the defaults, bound to fs's flags when fs is not nil
// (the one place the defaults are written).
func newRLArgs(fs *flag.FlagSet) *rlArgs {
	if fs == nil {
		fs = flag.NewFlagSet("rl", flag.ContinueOnError)
	}
	a := &rlArgs{}
	fs.StringVar(&a.Preset, "preset", "quick", "size preset: "+strings.Join(preset.Names(), ", "))
	fs.StringVar(&a.PolicyDir, "policy", "runs/pretrain/final", "starting (SFT) policy: HF GPT2LMHeadModel directory with tokenizer files")
	fs.StringVar(&a.DataDir, "data", "runs/data", "warm data output: prompts come from SPLIT.jsonl")
	fs.StringVar(&a.Split, "split", "val", "split whose prompts are used")
	fs.StringVar(&a.PromptsFile, "prompts", "", "rows with a \"prompt\" (or preference pairs), JSONL or Parquet (instead of --data)")
	fs.StringVar(&a.Members, "members", "", "warm train run: rewards single, ensM, warmM")
	fs.StringVar(&a.Ms, "m", "", "M values for ensM/warmM with --members (default 2 and all)")
	fs.Var(&a.RMs, "rm", "a reward NAME=[ens:|wa:]DIR[,DIR...]; pick one with --reward (repeatable)")
	fs.StringVar(&a.Reward, "reward", "", "reward to optimise, by name (e.g. single, ens6, warm6, gold)")
	fs.StringVar(&a.Out, "out", "", "run directory (required)")
	fs.StringVar(&a.Gold, "gold", "vader", "gold judge: vader, or rm:DIR (a reward model as the judge)")
	rlConfigFlags(fs, &a.Cfg, &a.KLCoef, &a.Clean, &a.LR)
	return a
}

// run resolves the preset defaults, picks the reward and trains the policy.
func (a rlArgs) run() error {
	if a.Out == "" {
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	cfg := a.Cfg
	st, err := preset.Get(a.Preset)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg.Steps, cfg.Prompts, cfg.K = cmp.Or(cfg.Steps, st.RLSteps), cmp.Or(cfg.Prompts, st.RLPrompts), cmp.Or(cfg.K, st.RLSamples)
	cfg.MaxNew, cfg.LR = cmp.Or(cfg.MaxNew, st.MaxNew), st.RLLR
	if a.LR > 0 {
		cfg.LR = a.LR
	}
	// α from the preset's label setting (the paper's 0.01 corrupted,
	// 0.003 clean, applied to the standardised reward).
	if a.Clean {
		if st, err = st.WithLabels(preset.LabelsClean); err != nil {
			return err
		}
	}
	cfg.KLCoef = st.RLKLCoef
	if a.KLCoef >= 0 {
		cfg.KLCoef = a.KLCoef
	}
	if cfg.Baseline != "mean" {
		cfg.BaselineDecay = 0
	}
	if err := checkRewardName(a.Reward, a.Members, a.RMs); err != nil {
		return err
	}
	specs, err := collectSpecs(a.Members, a.Ms, a.RMs, false)
	if err != nil {
		return err
	}
	spec, err := pickReward(specs, a.Reward, len(a.RMs) == 1 && a.Members == "")
	if err != nil {
		return err
	}
	src, err := prefgen.PromptFile(a.PromptsFile, a.DataDir, a.Split)
	if err != nil {
		return err
	}
	judge, _, err := gold.Parse(a.Gold)
	if err != nil {
		return err
	}
	sum, err := rl.RunStudy(rl.StudyOptions{Policy: a.PolicyDir, Reward: spec, PromptFile: src, Config: cfg, Out: a.Out, Log: a.progress(), Gold: judge})
	if err != nil {
		return err
	}
	if err := studyreport.PlotRL(a.Out); err != nil {
		return err
	}
	fmt.Fprintf(a.out(), "rl %s (reward %s): %d steps in %.0fs; final proxy %.4f gold %.4f KL %.3f length %.1f; gold peak %.4f at step %d (KL %.3f)\n",
		a.Out, spec.Name, sum.Steps, sum.Seconds, sum.Final.Proxy, sum.Final.Gold, sum.Final.KL, sum.Final.Length, sum.PeakGold, sum.PeakStep, sum.PeakKL)
	fmt.Fprintf(a.out(), "final policy: %s; curves: %s\n", sum.FinalDir, filepath.Join(a.Out, "gold_vs_kl.png"))
	return nil
}

// pickReward finds the reward named name; with name empty and only one
// --rm given, that one.
func pickReward(specs []reward.Spec, name string, onlyRM bool) (reward.Spec, error) {
	var have []string
	for _, s := range specs {
		if s.Name == name || (name == "" && onlyRM && s.Kind != reward.KindGold) {
			return s, nil
		}
		have = append(have, s.Name)
	}
	if name != "" {
		return reward.Spec{}, fmt.Errorf("%w: --reward %q: no such reward (have %s)", errUsage, name, strings.Join(have, ", "))
	}
	return reward.Spec{}, fmt.Errorf("%w: pick the reward with --reward NAME (have %s)", errUsage, strings.Join(have, ", "))
}

// checkRewardName checks --reward against the --rm names before any model
// directory is read, so a wrong or missing name is a usage error (with
// --members the names come from the run, and pickReward checks them).
func checkRewardName(name, members string, rms rmFlags) error {
	if members != "" {
		return nil
	}
	var specs []reward.Spec
	for _, r := range rms {
		n, dir, _ := strings.Cut(r, "=")
		kind := reward.KindSingle
		if dir == "gold" {
			kind = reward.KindGold
		}
		specs = append(specs, reward.Spec{Name: n, Kind: kind})
	}
	if !slices.ContainsFunc(specs, func(s reward.Spec) bool { return s.Name == "gold" || s.Kind == reward.KindGold }) {
		specs = append(specs, reward.Spec{Name: "gold", Kind: reward.KindGold})
	}
	_, err := pickReward(specs, name, len(rms) == 1)
	return err
}

// rlConfigFlags declares the flags that set rl.Config fields (0: the
// preset's value where one exists), and --kl-coef, --clean-labels and --lr,
// which need the preset.
func rlConfigFlags(fs *flag.FlagSet, cfg *rl.Config, klCoef *float64, clean *bool, lr *float64) {
	fs.IntVar(&cfg.Steps, "steps", 0, "RL steps (default: preset RLSteps)")
	fs.IntVar(&cfg.Prompts, "prompts-per-step", 0, "prompts per step (default: preset RLPrompts)")
	fs.IntVar(&cfg.K, "k", 0, "samples per prompt, the RLOO group (default: preset RLSamples)")
	fs.Float64Var(lr, "lr", 0, "AdamW learning rate (default: preset RLLR)")
	fs.IntVar(&cfg.Warmup, "warmup", 0, "linear learning-rate warm-up steps")
	fs.Float64Var(klCoef, "kl-coef", -1, "α, the KL penalty (default 0.01: the study's labels are 25% corrupted; 0.003 with --clean-labels)")
	fs.BoolVar(clean, "clean-labels", false, "the reward models were trained on clean labels: default α = 0.003")
	fs.Float64Var(&cfg.Temperature, "temperature", 0.9, "sampling temperature")
	fs.IntVar(&cfg.MaxNew, "max-new", 0, "longest response in tokens (default: preset MaxNew)")
	fs.StringVar(&cfg.Baseline, "baseline", "rloo", "rloo (leave-one-out over the k samples of a prompt) or mean (running mean of the reward)")
	fs.Float64Var(&cfg.BaselineDecay, "baseline-decay", 0.9, "decay of the running-mean baseline")
	fs.Float64Var(&cfg.EMAAnchor, "ema-anchor", 0, "WARP EMA anchor: the KL reference becomes an EMA of the policy with this rate (0: the SFT policy)")
	fs.Float64Var(&cfg.ClipNorm, "clip", 1, "gradient-norm clipping (0: none)")
	fs.Float64Var(&cfg.WeightDecay, "weight-decay", 0, "AdamW weight decay")
	fs.IntVar(&cfg.CkptEvery, "ckpt-every", 10, "checkpoint every this many steps (and at the end)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of prompt order and sampling")
	fs.IntVar(&cfg.StandardizePool, "standardize", 256, "z-score the reward on this many samples of the initial policy before RL (0: raw reward)")
}

// rlPlotArgs is warm rl --plot: several runs on one set of curves, and
// with SFT their samples at the same KL (OUT/samples.json).
type rlPlotArgs struct {
	verbIO                         // where its report and progress go (repro: the setting's)
	Runs                           []string
	Names, SFT, SamplePrompts, Out string
}

func (a rlPlotArgs) run() error {
	runs, names, out, sft, promptFile := a.Runs, a.Names, a.Out, a.SFT, a.SamplePrompts
	if len(runs) == 0 {
		return fmt.Errorf("%w: --plot needs run directories", errUsage)
	}
	files, err := studyreport.PlotRLRuns(runs, splitList(names), out)
	if err != nil {
		return err
	}
	if sft != "" {
		labels := splitList(names)
		if labels == nil {
			for _, r := range runs {
				labels = append(labels, filepath.Base(r))
			}
		}
		ps, err := prefdata.ReadPrompts(promptFile)
		if err != nil {
			return fmt.Errorf("--sample-prompts: %w", err)
		}
		s, err := rl.SamplesAtSameKL(sft, runs, labels, prefdata.PromptTexts(prefdata.UniquePrompts(ps, 3)))
		if err != nil {
			return err
		}
		path := filepath.Join(out, "samples.json")
		if err := atomicfile.WriteJSON(path, s); err != nil {
			return err
		}
		files = append(files, path)
	}
	fmt.Fprintln(a.out(), strings.Join(files, "\n"))
	return nil
}

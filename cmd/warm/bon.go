package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/study/bon"
	"github.com/warm-rm/warm/study/gold"
	"github.com/warm-rm/warm/study/prefgen"
	"github.com/warm-rm/warm/study/preset"
	"github.com/warm-rm/warm/study/rmtrain"
	"github.com/warm-rm/warm/study/studyreport"
)

func init() {
	register(&command{name: "bon", summary: "best-of-N with single, ENS and WARM rewards, judged by gold (reward vs KL)", run: runBoN})
}

// rmFlags collects repeated --rm NAME=[KIND:]DIR[,DIR...] flags.
type rmFlags []string

func (r *rmFlags) String() string     { return strings.Join(*r, " ") }
func (r *rmFlags) Set(s string) error { *r = append(*r, s); return nil }

// collectSpecs puts a training run's automatic rewards (--members, --m)
// and the --rm rewards together, with gold always present.
func collectSpecs(members, ms string, rms rmFlags, perMember bool) ([]reward.Spec, error) {
	var auto []reward.Spec
	if members != "" {
		m, err := reward.ParseInts(ms)
		if err != nil {
			return nil, fmt.Errorf("--m: %v", err)
		}
		dirs, err := rmtrain.MemberDirs(members)
		if err != nil {
			return nil, err
		}
		if auto, err = reward.AutoSpecs(dirs, m, perMember); err != nil {
			return nil, fmt.Errorf("%s: %w", members, err)
		}
	}
	return reward.CollectSpecs(auto, rms)
}

func runBoN(args []string) error {
	fs := newFlagSet("bon", `--policy DIR (--members RM_RUN [-m 2,6] | --rm NAME=[ens:|wa:]DIR[,DIR...] ...) [--data DIR | --prompts FILE] -o DIR

Samples N_max responses per prompt once (cached in OUT/samples.jsonl with their scores),
picks the best by each reward for N = 1, 2, 4, ..., N_max (unbiased estimator over subsets),
and reports proxy and gold reward against KL_bon = log N − (N−1)/N.
"gold" (VADER on the response) is always scored.`)
	a := newBonArgs()
	a.bind(fs)
	fs.Var(&a.RMs, "rm", "a reward NAME=[ens:|wa:]DIR[,DIR...]; NAME=gold for the judge (repeatable)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	return a.run()
}

// run compares the rewards by best-of-N, plots and prints the curves.
func (a bonArgs) run() error {
	if a.Out == "" {
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	st, err := preset.Get(a.Preset)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	specs, err := collectSpecs(a.Members, a.Ms, a.RMs, true)
	if err != nil {
		return err
	}
	if len(specs) == 1 {
		return fmt.Errorf("%w: no reward models: give --members RM_RUN or --rm NAME=DIR", errUsage)
	}
	src, err := prefgen.PromptFile(a.PromptsFile, a.DataDir, a.Split)
	if err != nil {
		return err
	}
	judge, judgeName, err := gold.Parse(a.Gold)
	if err != nil {
		return err
	}
	res, err := bon.Run(bon.RunOptions{Judge: judge, JudgeName: judgeName, Policy: a.PolicyDir, PromptFile: src, Specs: specs,
		Prompts: cmp.Or(a.NPrompts, st.BoNPrompts), N: cmp.Or(a.NMax, st.BoNMaxN), MinNew: cmp.Or(a.MinNew, st.MinNew), MaxNew: cmp.Or(a.MaxNew, st.MaxNew),
		Temperature: a.Temp, Seed: a.Seed, Vs: a.Vs, Out: a.Out, PoolDir: a.Pool, Log: a.progress()})
	if err != nil {
		return err
	}
	if err := studyreport.PlotBoN(a.Out, res.Curves, res.Gold); err != nil {
		return err
	}
	printBoN(a.out(), res.Curves, res.Duels, res.Prompts)
	fmt.Fprintf(a.progress(), "warm bon: wrote %s/bon.json, bon_gold_vs_kl.png, bon_proxy_vs_kl.png, samples.jsonl (%.0fs)\n", a.Out, res.Seconds)
	return nil
}

// bonArgs holds the verb's flags as one value: the verb binds them, repro
// fills them directly.
type bonArgs struct {
	verbIO              // where its report and progress go (repro: the setting's)
	RMs         rmFlags // --rm, repeatable
	Preset      string
	PolicyDir   string
	DataDir     string
	Split       string
	PromptsFile string
	Members     string
	Ms          string
	NPrompts    int
	NMax        int
	MinNew      int
	MaxNew      int
	Temp        float64
	Seed        uint64
	Vs          string
	Out         string
	Gold        string
	Pool        string
}

// newBonArgs returns the verb's defaults.
func newBonArgs() bonArgs {
	return bonArgs{Preset: "quick", PolicyDir: "runs/pretrain/final", DataDir: "runs/data", Split: "val", Temp: 1.0, Seed: 1, Gold: "vader"}
}

// bind declares the flags on a's fields, a's values as their defaults.
func (a *bonArgs) bind(fs *flag.FlagSet) {
	fs.StringVar(&a.Preset, "preset", a.Preset, "size preset: "+strings.Join(preset.Names(), ", "))
	fs.StringVar(&a.PolicyDir, "policy", a.PolicyDir, "policy: an HF GPT2LMHeadModel directory with tokenizer files")
	fs.StringVar(&a.DataDir, "data", a.DataDir, "warm data output: prompts come from SPLIT.jsonl")
	fs.StringVar(&a.Split, "split", a.Split, "split whose prompts are used")
	fs.StringVar(&a.PromptsFile, "prompts", a.PromptsFile, "rows with a \"prompt\" (or preference pairs), JSONL or Parquet (instead of --data)")
	fs.StringVar(&a.Members, "members", a.Members, "warm train run: rewards single (best-ranked member), each member, ensM and warmM")
	fs.StringVar(&a.Ms, "m", a.Ms, "M values for ensM/warmM with --members (default 2 and all)")
	fs.IntVar(&a.NPrompts, "num-prompts", a.NPrompts, "prompts (default: preset BoNPrompts)")
	fs.IntVar(&a.NMax, "n", a.NMax, "N_max, samples per prompt (default: preset BoNMaxN)")
	fs.IntVar(&a.MinNew, "min-new", a.MinNew, "shortest response budget in tokens (default: preset)")
	fs.IntVar(&a.MaxNew, "max-new", a.MaxNew, "longest response in tokens (default: preset)")
	fs.Float64Var(&a.Temp, "temperature", a.Temp, "sampling temperature")
	fs.Uint64Var(&a.Seed, "seed", a.Seed, "sampling seed")
	fs.StringVar(&a.Vs, "vs", a.Vs, "win rates A:B[,A:B...] judged by gold (default: warmM for the largest M against single)")
	fs.StringVar(&a.Out, "out", a.Out, "output directory (required)")
	fs.StringVar(&a.Gold, "gold", a.Gold, "gold judge: vader, or rm:DIR (a reward model as the judge)")
	fs.StringVar(&a.Pool, "pool", a.Pool, "cache the sample pool (samples.jsonl) in this directory instead of --out, to share it between runs")
}

func printBoN(w io.Writer, curves []bon.Curve, duels []bon.Duel, prompts int) {
	if len(curves) == 0 {
		return
	}
	fmt.Fprintf(w, "Best-of-N over %d prompts: gold reward of the pick (mean ± s.e.)\n", prompts)
	fmt.Fprintf(w, "%-12s", "N")
	for _, n := range curves[0].N {
		fmt.Fprintf(w, " %14d", n)
	}
	fmt.Fprintf(w, "\n%-12s", "KL_bon")
	for _, k := range curves[0].KL {
		fmt.Fprintf(w, " %14.3f", k)
	}
	fmt.Fprintln(w)
	for _, c := range curves {
		fmt.Fprintf(w, "%-12s", c.Reward)
		for i := range c.Gold {
			fmt.Fprintf(w, " %7.4f±%.4f", c.Gold[i], c.GoldErr[i])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nproxy reward of the pick (own scale; z = standardised on the samples)\n")
	for _, c := range curves {
		fmt.Fprintf(w, "%-12s", c.Reward)
		for i := range c.Proxy {
			fmt.Fprintf(w, " %6.3f z%+5.2f", c.Proxy[i], c.ProxyZ[i])
		}
		fmt.Fprintln(w)
	}
	for _, d := range duels {
		fmt.Fprintf(w, "\nwin rate of %s's pick over %s's (gold; ties half) at N=%d: %.3f [95%% CI %.3f, %.3f] over %d prompts\n",
			d.A, d.B, d.Ns[len(d.Ns)-1], d.Rate, d.Lo, d.Hi, d.Prompts)
		fmt.Fprintf(w, "expected win rate (independent N-subsets) by N:")
		for i, n := range d.Ns {
			fmt.Fprintf(w, " %d:%.3f", n, d.Expected[i])
		}
		fmt.Fprintln(w)
	}
}

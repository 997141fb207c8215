package main

import (
	"cmp"
	"fmt"
	"os"
	"strings"

	"github.com/warm-rm/warm/bon"
	"github.com/warm-rm/warm/prefgen"
	"github.com/warm-rm/warm/preset"
	"github.com/warm-rm/warm/reward"
	"github.com/warm-rm/warm/rmtrain"
	"github.com/warm-rm/warm/studyreport"
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
	fs := newFlagSet("bon", `--policy DIR (--members RM_RUN [--m 2,6] | --rm NAME=[ens:|wa:]DIR[,DIR...] ...) [--data DIR | --prompts FILE] --out DIR

Samples N_max responses per prompt once (cached in OUT/samples.jsonl with their scores),
picks the best by each reward for N = 1, 2, 4, ..., N_max (unbiased estimator over subsets),
and reports proxy and gold reward against KL_bon = log N − (N−1)/N.
"gold" (VADER on the response) is always scored.`)
	presetName := fs.String("preset", "quick", "size preset: "+strings.Join(preset.Names(), ", "))
	policyDir := fs.String("policy", "runs/pretrain/final", "policy: an HF GPT2LMHeadModel directory with tokenizer files")
	dataDir := fs.String("data", "runs/data", "warm data output: prompts come from SPLIT.jsonl")
	split := fs.String("split", "val", "split whose prompts are used")
	promptsFile := fs.String("prompts", "", "JSONL file with a \"prompt\" field per row (instead of --data)")
	members := fs.String("members", "", "warm train run: rewards single (best-ranked member), each member, ensM and warmM")
	ms := fs.String("m", "", "M values for ensM/warmM with --members (default 2 and all)")
	var rms rmFlags
	fs.Var(&rms, "rm", "a reward NAME=[ens:|wa:]DIR[,DIR...] (repeatable); NAME=gold for the judge")
	nPrompts := fs.Int("num-prompts", 0, "prompts (default: preset BoNPrompts)")
	nMax := fs.Int("n", 0, "N_max, samples per prompt (default: preset BoNMaxN)")
	minNew := fs.Int("min-new", 0, "shortest response budget in tokens (default: preset)")
	maxNew := fs.Int("max-new", 0, "longest response in tokens (default: preset)")
	temp := fs.Float64("temperature", 1.0, "sampling temperature")
	seed := fs.Uint64("seed", 1, "sampling seed")
	vs := fs.String("vs", "", "win rates A:B[,A:B...] judged by gold (default: warmM for the largest M against single)")
	out := fs.String("out", "", "output directory (required)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	st, err := preset.Get(*presetName)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	specs, err := collectSpecs(*members, *ms, rms, true)
	if err != nil {
		return err
	}
	if len(specs) == 1 {
		return fmt.Errorf("%w: no reward models: give --members RM_RUN or --rm NAME=DIR", errUsage)
	}
	src, err := prefgen.PromptFile(*promptsFile, *dataDir, *split)
	if err != nil {
		return err
	}
	res, err := bon.Run(bon.RunOptions{Policy: *policyDir, PromptFile: src, Specs: specs,
		Prompts: cmp.Or(*nPrompts, st.BoNPrompts), N: cmp.Or(*nMax, st.BoNMaxN), MinNew: cmp.Or(*minNew, st.MinNew), MaxNew: cmp.Or(*maxNew, st.MaxNew),
		Temperature: *temp, Seed: *seed, Vs: *vs, Out: *out, Log: os.Stderr})
	if err != nil {
		return err
	}
	if err := studyreport.PlotBoN(*out, res.Curves, res.Gold); err != nil {
		return err
	}
	printBoN(res.Curves, res.Duels, res.Prompts)
	fmt.Fprintf(os.Stderr, "warm bon: wrote %s/bon.json, bon_gold_vs_kl.png, bon_proxy_vs_kl.png, samples.jsonl (%.0fs)\n", *out, res.Seconds)
	return nil
}

func printBoN(curves []bon.Curve, duels []bon.Duel, prompts int) {
	if len(curves) == 0 {
		return
	}
	fmt.Printf("Best-of-N over %d prompts: gold reward of the pick (mean ± s.e.)\n", prompts)
	fmt.Printf("%-12s", "N")
	for _, n := range curves[0].N {
		fmt.Printf(" %14d", n)
	}
	fmt.Printf("\n%-12s", "KL_bon")
	for _, k := range curves[0].KL {
		fmt.Printf(" %14.3f", k)
	}
	fmt.Println()
	for _, c := range curves {
		fmt.Printf("%-12s", c.Reward)
		for i := range c.Gold {
			fmt.Printf(" %7.4f±%.4f", c.Gold[i], c.GoldErr[i])
		}
		fmt.Println()
	}
	fmt.Printf("\nproxy reward of the pick (own scale; z = standardised on the samples)\n")
	for _, c := range curves {
		fmt.Printf("%-12s", c.Reward)
		for i := range c.Proxy {
			fmt.Printf(" %6.3f z%+5.2f", c.Proxy[i], c.ProxyZ[i])
		}
		fmt.Println()
	}
	for _, d := range duels {
		fmt.Printf("\nwin rate of %s's pick over %s's (gold; ties half) at N=%d: %.3f [95%% CI %.3f, %.3f] over %d prompts\n",
			d.A, d.B, d.Ns[len(d.Ns)-1], d.Rate, d.Lo, d.Hi, d.Prompts)
		fmt.Printf("expected win rate (independent N-subsets) by N:")
		for i, n := range d.Ns {
			fmt.Printf(" %d:%.3f", n, d.Expected[i])
		}
		fmt.Println()
	}
}

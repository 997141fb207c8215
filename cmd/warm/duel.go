package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/warm-rm/warm/study/gold"
	"github.com/warm-rm/warm/study/prefgen"
	"github.com/warm-rm/warm/study/preset"
	"github.com/warm-rm/warm/study/rl"
)

func init() {
	register(&command{name: "duel", summary: "head-to-head gold win rate of policy A over policy B on held-out prompts", run: runPolicyDuel})
}

// runPolicyDuel is `warm duel A B` and `warm eval --policies A B --judge
// gold`: one response per held-out prompt from each policy, judged by gold;
// ties count half; 95% Wilson interval.
func runPolicyDuel(args []string) error {
	fs := newFlagSet("duel", `A B [--data DIR | --prompts FILE] [--num-prompts 256] [-o FILE.json]

Samples one response per held-out prompt from policy A and from policy B (same seeds),
judges both with gold (VADER), and prints A's win rate (ties half) with a 95% Wilson interval.`)
	fs.Bool("policies", false, hiddenUsage+"policies") // warm eval --policies A B lands here
	a := newDuelArgs()
	a.bind(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: want two policy directories A B, got %d", errUsage, len(pos))
	}
	a.A, a.B = pos[0], pos[1]
	return a.run()
}

// run samples both policies and prints A's gold win rate.
func (a duelArgs) run() error {
	if a.JudgeName != "gold" {
		return fmt.Errorf("%w: --judge %q: only gold is available", errUsage, a.JudgeName)
	}
	st, err := preset.Get(a.Preset)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if a.MaxNew <= 0 {
		a.MaxNew = st.MaxNew
	}
	src, err := prefgen.PromptFile(a.PromptsFile, a.DataDir, a.Split)
	if err != nil {
		return err
	}
	judge, _, err := gold.Parse(a.Gold)
	if err != nil {
		return err
	}
	d, err := rl.DuelStudy(rl.DuelStudyOptions{Gold: judge, A: a.A, B: a.B, PromptFile: src, N: a.N, Samples: a.Samples, MaxNew: a.MaxNew,
		Temperature: a.Temp, Seed: a.Seed, Out: a.Out, Log: a.progress()})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.out(), "A = %s\nB = %s\n", a.A, a.B)
	fmt.Fprintf(a.out(), "gold win rate of A over B: %.3f [95%% CI %.3f, %.3f] over %d prompts from %s (wins %d, ties %d, losses %d; mean gold A %.4f, B %.4f)\n",
		d.Rate, d.Lo, d.Hi, d.Prompts, src, d.Wins, d.Ties, d.Losses, d.MeanGoldA, d.MeanGoldB)
	return nil
}

// duelArgs holds the verb's flags as one value: the verb binds them, repro
// fills them directly.
type duelArgs struct {
	verbIO             // where its report and progress go (repro: the setting's)
	A, B        string // the two policy directories (positional)
	JudgeName   string
	Preset      string
	DataDir     string
	Split       string
	PromptsFile string
	N           int
	Samples     int
	MaxNew      int
	Temp        float64
	Seed        uint64
	Out         string
	Gold        string
}

// newDuelArgs returns the verb's defaults.
func newDuelArgs() duelArgs {
	return duelArgs{JudgeName: "gold", Preset: "quick", DataDir: "runs/data", Split: "ood", N: 256, Temp: 0.9, Seed: 7, Gold: "vader"}
}

// bind declares the flags on a's fields, a's values as their defaults.
func (a *duelArgs) bind(fs *flag.FlagSet) {
	fs.StringVar(&a.JudgeName, "judge", a.JudgeName, "judge: gold (VADER compound of the response)")
	fs.StringVar(&a.Preset, "preset", a.Preset, "size preset (response length): "+strings.Join(preset.Names(), ", "))
	fs.StringVar(&a.DataDir, "data", a.DataDir, "warm data output: held-out prompts come from SPLIT.jsonl")
	fs.StringVar(&a.Split, "split", a.Split, "split of the held-out prompts (ood, or val)")
	fs.StringVar(&a.PromptsFile, "prompts", a.PromptsFile, "rows with a \"prompt\" (or preference pairs), JSONL or Parquet (instead of --data)")
	fs.IntVar(&a.N, "num-prompts", a.N, "prompts at most")
	alias(fs, "n", "num-prompts")
	fs.IntVar(&a.Samples, "samples", a.Samples, "responses per prompt and policy, averaged per prompt")
	fs.IntVar(&a.MaxNew, "max-new", a.MaxNew, "longest response in tokens (default: preset MaxNew)")
	fs.Float64Var(&a.Temp, "temperature", a.Temp, "sampling temperature (the RL runs')")
	fs.Uint64Var(&a.Seed, "seed", a.Seed, "sampling seed (the same for both policies)")
	fs.StringVar(&a.Out, "out", a.Out, "also write the result as JSON to this `FILE`")
	fs.StringVar(&a.Gold, "gold", a.Gold, "gold judge: vader, or rm:DIR (a reward model as the judge)")
}

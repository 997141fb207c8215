package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/warm-rm/warm/prefgen"
	"github.com/warm-rm/warm/preset"
	"github.com/warm-rm/warm/rl"
)

func init() {
	register(&command{name: "duel", summary: "head-to-head gold win rate of policy A over policy B on held-out prompts", run: runPolicyDuel})
}

// runPolicyDuel is `warm duel A B` and `warm eval --policies A B --judge
// gold`: one response per held-out prompt from each policy, judged by gold;
// ties count half; 95% Wilson interval.
func runPolicyDuel(args []string) error {
	fs := newFlagSet("duel", `A B [--data DIR | --prompts FILE] [-n 256] [--out FILE.json]

Samples one response per held-out prompt from policy A and from policy B (same seeds),
judges both with gold (VADER), and prints A's win rate (ties half) with a 95% Wilson interval.`)
	fs.Bool("policies", false, "(accepted for warm eval --policies A B)")
	judgeName := fs.String("judge", "gold", "judge: gold (VADER compound of the response)")
	presetName := fs.String("preset", "quick", "size preset (response length): "+strings.Join(preset.Names(), ", "))
	dataDir := fs.String("data", "runs/data", "warm data output: held-out prompts come from SPLIT.jsonl")
	split := fs.String("split", "ood", "split of the held-out prompts (ood, or val)")
	promptsFile := fs.String("prompts", "", "JSONL file with a \"prompt\" field per row (instead of --data)")
	n := fs.Int("n", 256, "prompts at most")
	maxNew := fs.Int("max-new", 0, "longest response in tokens (default: preset MaxNew)")
	temp := fs.Float64("temperature", 0.9, "sampling temperature (the RL runs' by default)")
	seed := fs.Uint64("seed", 7, "sampling seed (the same for both policies)")
	out := fs.String("out", "", "also write the result as JSON to this file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: want two policy directories A B, got %d", errUsage, len(pos))
	}
	if *judgeName != "gold" {
		return fmt.Errorf("%w: --judge %q: only gold is available", errUsage, *judgeName)
	}
	st, err := preset.Get(*presetName)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *maxNew <= 0 {
		*maxNew = st.MaxNew
	}
	src, err := prefgen.PromptFile(*promptsFile, *dataDir, *split)
	if err != nil {
		return err
	}
	d, err := rl.DuelStudy(rl.DuelStudyOptions{A: pos[0], B: pos[1], PromptFile: src, N: *n, MaxNew: *maxNew,
		Temperature: *temp, Seed: *seed, Out: *out, Log: os.Stderr})
	if err != nil {
		return err
	}
	fmt.Printf("A = %s\nB = %s\n", pos[0], pos[1])
	fmt.Printf("gold win rate of A over B: %.3f [95%% CI %.3f, %.3f] over %d prompts from %s (wins %d, ties %d, losses %d; mean gold A %.4f, B %.4f)\n",
		d.Rate, d.Lo, d.Hi, d.Prompts, src, d.Wins, d.Ties, d.Losses, d.MeanGoldA, d.MeanGoldB)
	return nil
}

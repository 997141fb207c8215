package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/rmeval"
	"github.com/warm-rm/warm/runlog"
	"github.com/warm-rm/warm/tokenizer"
)

func init() {
	register(&command{name: "eval", summary: "accuracy of members, ENS and WA on four splits; LMC interpolation; greedy soup", run: runEval})
}

const evalSynopsis = `[flags] [MODEL_DIR...]

Modes:
  warm eval --data runs/data --rm runs/rm [--soup]      members, ENS and WA for M = 2..M
  warm eval --data runs/data --interpolate A B          accuracy along (1−λ)·A + λ·B
  warm eval --data runs/data --ladder runs/rm           the LMC diversity ladder of a warm train --ladder run
  warm eval --policies A B --judge gold                 head-to-head win rate of two policies`

func runEval(args []string) error {
	for _, a := range args {
		if a == "--policies" || a == "-policies" {
			return runPolicyDuel(args)
		}
	}
	fs := newFlagSet("eval", evalSynopsis)
	dataDir := fs.String("data", "runs/data", "directory with train.jsonl, val.jsonl, ood.jsonl (from warm data)")
	trainPath := fs.String("train", "", "training pairs (default DATA/train.jsonl); split into clean and corrupted by their flags")
	valPath := fs.String("val", "", "ID validation pairs (default DATA/val.jsonl)")
	oodPath := fs.String("ood", "", "OOD pairs (default DATA/ood.jsonl)")
	rmDir := fs.String("rm", "", "warm train run: evaluate its member-NN directories")
	out := fs.String("out", "", "output directory for eval.json and plots (default: print only)")
	rankBy := fs.String("rank-by", "val", "order members by accuracy on this split before taking the first M (val, ood, or none)")
	maxTrain := fs.Int("max-train", 2000, "score at most this many training pairs per part (0: all)")
	soup := fs.Bool("soup", false, "also build a greedy soup (ranked and accepted on --rank-by)")
	interp := fs.Bool("interpolate", false, "interpolate the two MODEL_DIRs")
	ladder := fs.String("ladder", "", "warm train run with --ladder: evaluate the diversity ladder")
	steps := fs.Int("steps", 11, "interpolation points in [0, 1]")
	ms := fs.String("m", "", "M values for the summary table (default 2 and all)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	models := pos
	if *rmDir != "" {
		found, err := filepath.Glob(filepath.Join(*rmDir, "member-*"))
		if err != nil {
			return err
		}
		for _, f := range found {
			if !strings.HasSuffix(f, ".partial") {
				models = append(models, f)
			}
		}
		sort.Strings(models)
		if len(models) == 0 {
			return fmt.Errorf("no member-* directories in %s", *rmDir)
		}
	}
	if *ladder != "" {
		models = []string{filepath.Join(*ladder, "member-00")}
	}
	if len(models) == 0 {
		return fmt.Errorf("%w: no models (give MODEL_DIRs, --rm or --ladder)", errUsage)
	}
	if *interp && len(models) != 2 {
		return fmt.Errorf("--interpolate needs exactly two models, got %d", len(models))
	}
	tok, err := tokenizer.Load(models[0])
	if err != nil {
		return err
	}
	cfg, err := model.ReadConfig(filepath.Join(models[0], "config.json"))
	if err != nil {
		return err
	}
	def := func(flag, name string) string {
		if flag != "" {
			return flag
		}
		if p := filepath.Join(*dataDir, name); fileExists(p) {
			return p
		}
		return ""
	}
	trainFile := def(*trainPath, "train.jsonl")
	if (*interp || *ladder != "") && *trainPath == "" {
		// An interpolation scores every split at every λ: by default only
		// the held-out splits, where connectivity is the question.
		trainFile = ""
	}
	splits, err := rmeval.LoadSplits(tok, cfg.NPositions, trainFile, def(*valPath, "val.jsonl"), def(*oodPath, "ood.jsonl"), *maxTrain)
	if err != nil {
		return err
	}
	if len(splits) == 0 {
		return fmt.Errorf("no evaluation data found (looked in %s)", *dataDir)
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
	}
	logf := func(s string) { fmt.Fprintln(os.Stderr, "warm eval:", s) }

	if *interp || *ladder != "" {
		var pairs [][3]string // name, a, b
		if *interp {
			pairs = [][3]string{{"a-b", models[0], models[1]}}
		} else {
			pairs = ladderPairs(*ladder)
		}
		var curves []*rmeval.Curve
		for _, p := range pairs {
			a, err := model.Load(p[1])
			if err != nil {
				return err
			}
			b, err := model.Load(p[2])
			if err != nil {
				return err
			}
			logf("interpolating " + p[0])
			c, err := rmeval.Interpolate(a, b, splits, *steps)
			if err != nil {
				return err
			}
			c.Name, c.A, c.B = p[0], p[1], p[2]
			curves = append(curves, c)
		}
		for _, c := range curves {
			fmt.Printf("%s: %s ↔ %s\n", c.Name, c.A, c.B)
			fmt.Printf("  %6s", "λ")
			for _, s := range splits {
				fmt.Printf(" %14s %14s", s.Name+" WA", s.Name+" ENS")
			}
			fmt.Println()
			for _, p := range c.Points {
				fmt.Printf("  %6.2f", p.Lambda)
				for _, s := range splits {
					fmt.Printf(" %14.1f %14.1f", 100*p.WA[s.Name].Acc, 100*p.ENS[s.Name].Acc)
				}
				fmt.Println()
			}
			for _, s := range splits {
				wa, ens := c.Barrier(s.Name)
				fmt.Printf("  %s: midpoint − endpoint mean: WA %+.1f, ENS %+.1f points\n", s.Name, 100*wa, 100*ens)
			}
		}
		if *out != "" {
			if err := runlog.WriteJSON(filepath.Join(*out, "lmc.json"), curves); err != nil {
				return err
			}
			for _, s := range splits {
				if s.Name == rmeval.Val || s.Name == rmeval.OOD {
					if err := rmeval.PlotCurves(filepath.Join(*out, "lmc_"+s.Name+".png"), s.Name, curves); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}

	var ms2 []*model.Model
	var names []string
	for _, d := range models {
		m, err := model.Load(d)
		if err != nil {
			return err
		}
		if !m.HasRewardHead() {
			return fmt.Errorf("%s: not a reward model (no score.weight)", d)
		}
		ms2 = append(ms2, m)
		names = append(names, filepath.Base(d))
	}
	rb := *rankBy
	if rb == "none" {
		rb = ""
	}
	res, err := rmeval.Compare(ms2, names, splits, rb, logf)
	if err != nil {
		return err
	}
	if *soup && len(ms2) > 1 {
		by := rb
		if by == "" {
			by = rmeval.Val
		}
		if res.Soup, err = rmeval.GreedySoup(ms2, names, splits, by); err != nil {
			return err
		}
	}
	mlist := []int{2, len(ms2)}
	if *ms != "" {
		mlist = nil
		for _, f := range strings.Split(*ms, ",") {
			v, err := strconv.Atoi(f)
			if err != nil || v < 2 || v > len(ms2) {
				return fmt.Errorf("--m %q: want M values in 2..%d", f, len(ms2))
			}
			mlist = append(mlist, v)
		}
	}
	if len(ms2) < 2 {
		mlist = nil
	} else if len(ms2) == 2 {
		mlist = []int{2}
	}
	res.WriteTable(os.Stdout)
	fmt.Println()
	res.WriteSummary(os.Stdout, mlist)
	if res.Soup != nil {
		fmt.Printf("greedy soup (%s): kept %v\n", res.Soup.RankBy, res.Soup.Ingredient)
		for _, s := range rmeval.SplitOrder {
			if g, ok := res.Soup.Greedy[s]; ok {
				fmt.Printf("  %-16s uniform %5.1f  greedy %5.1f  best single (%s) %5.1f\n", s, 100*res.Soup.Uniform[s].Acc, 100*g.Acc, res.Soup.BestName, 100*res.Soup.Best[s].Acc)
			}
		}
	}
	if *out != "" {
		if err := runlog.WriteJSON(filepath.Join(*out, "eval.json"), res); err != nil {
			return err
		}
		if len(mlist) > 0 {
			if err := res.PlotAccuracy(filepath.Join(*out, "accuracy.png"), mlist); err != nil {
				return err
			}
		}
	}
	return nil
}

// ladderPairs lists the rungs of the diversity ladder found in a warm
// train --ladder run, each paired with member-00.
func ladderPairs(run string) [][3]string {
	base := filepath.Join(run, "member-00")
	var out [][3]string
	if mid := filepath.Join(base, "mid"); fileExists(filepath.Join(mid, "config.json")) {
		out = append(out, [3]string{"same run", mid, base})
	}
	for _, r := range []struct{ name, dir string }{{"data order", "ladder-order"}, {"+ learning rate", "ladder-lr"}, {"+ Baklava", "ladder-baklava"}} {
		if d := filepath.Join(run, r.dir); fileExists(filepath.Join(d, "config.json")) {
			out = append(out, [3]string{r.name, base, d})
		}
	}
	return out
}

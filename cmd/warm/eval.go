package main

import (
	"flag"
	"fmt"
	"path/filepath"

	"github.com/warm-rm/warm/study/rmeval"
	"github.com/warm-rm/warm/study/studyreport"
)

func init() {
	register(&command{name: "eval", summary: "accuracy of members, ENS and WA on four splits; LMC interpolation; greedy soup", run: runEval})
}

const evalSynopsis = `[flags] [MODEL_DIR...]

Modes:
  warm eval --data runs/data --members runs/rm [--soup] members, ENS and WA for M = 2..M
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
	a := newEvalArgs()
	a.bind(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	a.Models = pos
	return a.run()
}

// run evaluates and prints; with Out, it writes eval.json / lmc.json and
// the plots.
func (a evalArgs) run() error {
	if len(a.Models) == 0 && a.RmDir == "" && a.Ladder == "" {
		return fmt.Errorf("%w: no models: give MODEL_DIRs, --members RUN or --ladder RUN", errUsage)
	}
	res, err := rmeval.Run(rmeval.Options{Models: a.Models, Run: a.RmDir, Ladder: a.Ladder, Interpolate: a.Interp, Steps: a.Steps,
		DataDir: a.DataDir, Train: a.TrainPath, Val: a.ValPath, OOD: a.OodPath, Human: a.HumanPath, MaxTrain: a.MaxTrain, Init: a.Init,
		RankBy: a.RankBy, Soup: a.Soup, Ms: a.Ms, Out: a.Out, Log: a.progress()})
	if err != nil {
		return err
	}
	if res.Curves != nil {
		rmeval.WriteCurves(a.out(), res.Curves, res.Splits)
	} else {
		res.Result.WriteTable(a.out())
		fmt.Fprintln(a.out())
		res.Result.WriteSummary(a.out(), res.Ms)
		res.Result.WriteSoup(a.out())
	}
	if a.Out == "" {
		return nil
	}
	return plotEval(a.Out, res)
}

// evalArgs holds the verb's flags as one value: the verb binds them, repro
// fills them directly.
type evalArgs struct {
	verbIO             // where its report and progress go (repro: the setting's)
	Models    []string // positional MODEL_DIRs
	DataDir   string
	TrainPath string
	ValPath   string
	OodPath   string
	HumanPath string
	Init      string
	RmDir     string
	Out       string
	RankBy    string
	MaxTrain  int
	Soup      bool
	Interp    bool
	Ladder    string
	Steps     int
	Ms        string
}

// newEvalArgs returns the verb's defaults.
func newEvalArgs() evalArgs {
	return evalArgs{DataDir: "runs/data", RankBy: "val", MaxTrain: 2000, Steps: 11}
}

// bind declares the flags on a's fields, a's values as their defaults.
func (a *evalArgs) bind(fs *flag.FlagSet) {
	fs.StringVar(&a.DataDir, "data", a.DataDir, "directory with train.jsonl, val.jsonl, ood.jsonl (from warm data)")
	fs.StringVar(&a.TrainPath, "train", a.TrainPath, "training pairs, JSONL or Parquet (default DATA/train.jsonl); split into clean and corrupted by their flags")
	fs.StringVar(&a.ValPath, "val", a.ValPath, "ID validation pairs, JSONL or Parquet (default DATA/val.jsonl)")
	fs.StringVar(&a.OodPath, "ood", a.OodPath, "OOD pairs, JSONL or Parquet (default DATA/ood.jsonl)")
	fs.StringVar(&a.HumanPath, "human", a.HumanPath, "human-labelled pairs, JSONL or Parquet (default DATA/human.jsonl if present; an interpolation scores it only when given)")
	fs.StringVar(&a.Init, "init", a.Init, "with --members: the shared init the members were fine-tuned from; adds probe accuracy, member distances and the LMC pilot")
	fs.StringVar(&a.RmDir, "members", a.RmDir, "warm train run: evaluate its member-NN directories")
	alias(fs, "rm", "members")
	fs.StringVar(&a.Out, "out", a.Out, "output directory for eval.json and plots (default: print only)")
	fs.StringVar(&a.RankBy, "rank-by", a.RankBy, "order members by accuracy on this split before taking the first M (val, ood, or none)")
	fs.IntVar(&a.MaxTrain, "max-train", a.MaxTrain, "score at most this many training pairs per part (0: all)")
	fs.BoolVar(&a.Soup, "soup", a.Soup, "also build a greedy soup (ranked and accepted on --rank-by)")
	fs.BoolVar(&a.Interp, "interpolate", a.Interp, "interpolate the two MODEL_DIRs")
	fs.StringVar(&a.Ladder, "ladder", a.Ladder, "warm train run with --ladder: evaluate the diversity ladder")
	fs.IntVar(&a.Steps, "points", a.Steps, "interpolation points in [0, 1]")
	alias(fs, "steps", "points")
	fs.StringVar(&a.Ms, "m", a.Ms, "M values for the summary table (default 2 and all)")
}

// plotEval draws the LMC curves on val and OOD, or the accuracy bars.
func plotEval(out string, res *rmeval.Outcome) error {
	if res.Curves == nil {
		if len(res.Ms) == 0 {
			return nil
		}
		return studyreport.PlotAccuracy(filepath.Join(out, "accuracy.png"), res.Result, res.Ms)
	}
	for _, s := range res.Splits {
		if s.Name == rmeval.Val || s.Name == rmeval.OOD {
			if err := studyreport.PlotLMC(filepath.Join(out, "lmc_"+s.Name+".png"), s.Name, res.Curves); err != nil {
				return err
			}
		}
	}
	return nil
}

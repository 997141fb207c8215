package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/warm-rm/warm/rmeval"
	"github.com/warm-rm/warm/studyreport"
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
	if len(pos) == 0 && *rmDir == "" && *ladder == "" {
		return fmt.Errorf("%w: no models (give MODEL_DIRs, --rm or --ladder)", errUsage)
	}
	res, err := rmeval.Run(rmeval.Options{Models: pos, Run: *rmDir, Ladder: *ladder, Interpolate: *interp, Steps: *steps,
		DataDir: *dataDir, Train: *trainPath, Val: *valPath, OOD: *oodPath, MaxTrain: *maxTrain,
		RankBy: *rankBy, Soup: *soup, Ms: *ms, Out: *out, Log: os.Stderr})
	if err != nil {
		return err
	}
	if res.Curves != nil {
		rmeval.WriteCurves(os.Stdout, res.Curves, res.Splits)
	} else {
		res.Result.WriteTable(os.Stdout)
		fmt.Println()
		res.Result.WriteSummary(os.Stdout, res.Ms)
		res.Result.WriteSoup(os.Stdout)
	}
	if *out == "" {
		return nil
	}
	return plotEval(*out, res)
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

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/preset"
	"github.com/warm-rm/warm/rmtrain"
	"github.com/warm-rm/warm/runlog"
	"github.com/warm-rm/warm/studyreport"
)

func init() {
	register(&command{name: "repro", summary: "the whole WARM study in one command, with a report that checks each claim", run: runRepro})
}

// reproStage is one step of the study: library calls whose options may
// depend on what earlier stages wrote (so they are built when the stage
// runs).
type reproStage struct {
	name  string
	steps func(r *reproRun) ([]reproStep, error)
	// knobs are the preset values the stage's calls read: part of the
	// stage's hash, so editing a preset reruns exactly what it affects.
	knobs func(p preset.Study) []any
	// outs are the stage's outputs, removed before it reruns with other
	// inputs (the library refuses to resume a directory made with other
	// settings).
	outs []string
}

// reproStep is one call of a stage: the verb it stands for and its
// options, recorded in stages.json and hashed, and the call itself.
type reproStep struct {
	Verb string `json:"verb"`
	Args any    `json:"args"`
	run  func() error
}

type reproRun struct {
	out, data, preset string
	sample            bool
	ps                preset.Study
}

func (r *reproRun) dir(parts ...string) string {
	return filepath.Join(append([]string{r.out}, parts...)...)
}

// stageRecord is what stages.json keeps per stage.
type stageRecord struct {
	Hash    string      `json:"hash"`
	Steps   []reproStep `json:"steps"`
	Seconds float64     `json:"seconds"`
	Done    bool        `json:"done"`
	When    string      `json:"when"`
}

func step(verb string, args interface{ run() error }) reproStep {
	return reproStep{Verb: verb, Args: args, run: args.run}
}

func reproStages() []reproStage {
	return []reproStage{
		{"pretrain", func(r *reproRun) ([]reproStep, error) {
			a := newPretrainArgs()
			a.Preset, a.DataDir, a.Sample, a.Out = r.preset, r.data, r.sample, r.dir("pretrain")
			return []reproStep{step("pretrain", a)}, nil
		}, func(p preset.Study) []any {
			return []any{p.VocabSize, p.NEmbd, p.NLayer, p.NHead, p.NPositions, p.PretrainToks, p.PretrainBS, p.PretrainLR, p.CorpusMB}
		}, []string{"pretrain"}},
		{"data", func(r *reproRun) ([]reproStep, error) {
			a := newDataArgs()
			a.Preset, a.DataDir, a.Sample, a.PolicyDir, a.Out = r.preset, r.data, r.sample, r.dir("pretrain", "final"), r.dir("data")
			// The tiny policy's text is mostly neutral to VADER: keep tied
			// pairs rather than run out of prompts.
			a.DropTies = r.preset != "tiny"
			return []reproStep{step("data", a)}, nil
		}, func(p preset.Study) []any {
			return []any{p.TrainPairs, p.ValPairs, p.OODPairs, p.MinNew, p.MaxNew, p.BTTemperature, p.Corrupt, p.OODTemperature}
		}, []string{"data"}},
		{"train", func(r *reproRun) ([]reproStep, error) {
			a := newTrainArgs(nil)
			a.Preset, a.PretrainDir, a.DataDir, a.O.Out, a.O.Ladder = r.preset, r.dir("pretrain"), r.dir("data"), r.dir("rm"), true
			return []reproStep{step("train", a)}, nil
		}, func(p preset.Study) []any {
			return []any{p.Members, p.RMBatch, p.LPEpochs, p.FTEpochs, p.RMBaseLR, p.RMDropout}
		}, []string{"rm"}},
		{"merge", func(r *reproRun) ([]reproStep, error) {
			order, err := rmtrain.MemberDirs(r.dir("rm"))
			if err != nil {
				return nil, err
			}
			var steps []reproStep
			for _, m := range studyreport.WARMSizes(len(order)) {
				a := mergeArgs{Out: r.dir(fmt.Sprintf("warm-m%d", m)), Models: order[:m]}
				steps = append(steps, step("merge", a))
			}
			return steps, nil
		}, nil, nil},
		{"eval", func(r *reproRun) ([]reproStep, error) {
			a, b := newEvalArgs(), newEvalArgs()
			a.DataDir, a.RmDir, a.Soup, a.Out = r.dir("data"), r.dir("rm"), true, r.dir("eval")
			b.DataDir, b.Ladder, b.Out = r.dir("data"), r.dir("rm"), r.dir("eval")
			return []reproStep{step("eval", a), step("eval", b)}, nil
		}, nil, []string{"eval"}},
		{"bon", func(r *reproRun) ([]reproStep, error) {
			a := newBonArgs()
			a.Preset, a.PolicyDir, a.DataDir, a.Members, a.Out = r.preset, r.dir("pretrain", "final"), r.dir("data"), r.dir("rm"), r.dir("bon")
			return []reproStep{step("bon", a)}, nil
		}, func(p preset.Study) []any { return []any{p.BoNPrompts, p.BoNMaxN, p.MinNew, p.MaxNew} }, []string{"bon"}},
		{"rl", func(r *reproRun) ([]reproStep, error) {
			var steps []reproStep
			names := studyreport.RLRewards(r.ps.Members)
			var dirs []string
			for _, name := range names {
				a := newRLArgs(nil)
				a.Preset, a.PolicyDir, a.DataDir, a.Members, a.Reward, a.Out = r.preset, r.dir("pretrain", "final"), r.dir("data"), r.dir("rm"), name, r.dir("rl-"+name)
				dirs = append(dirs, a.Out)
				steps = append(steps, step("rl", a))
			}
			p := rlPlotArgs{Runs: dirs, Names: strings.Join(names, ","), SFT: r.dir("pretrain", "final"),
				SamplePrompts: r.dir("data", "ood.jsonl"), Out: r.dir("rl-plots")}
			return append(steps, step("rl --plot", p)), nil
		}, func(p preset.Study) []any { return []any{p.RLSteps, p.RLPrompts, p.RLSamples, p.RLLR, p.MaxNew} }, nil},
		{"duel", func(r *reproRun) ([]reproStep, error) {
			names := studyreport.RLRewards(r.ps.Members)
			warm := names[len(names)-1]
			var steps []reproStep
			for _, other := range names[:len(names)-1] {
				a := newDuelArgs()
				a.A, a.B, a.Preset, a.DataDir, a.Split = r.dir("rl-"+warm, "final"), r.dir("rl-"+other, "final"), r.preset, r.dir("data"), "ood"
				a.Out = r.dir("duel-" + warm + "-vs-" + other + ".json")
				steps = append(steps, step("duel", a))
			}
			return steps, nil
		}, func(p preset.Study) []any { return []any{p.MaxNew} }, nil},
	}
}

func runRepro(args []string) error {
	fs := newFlagSet("repro", "[flags]\n\nRuns the default WARM study end to end: pretrain, data, M diverse reward models, merge,\neval (four splits, LMC ladder, greedy soup), best-of-N, RL for single / ENS / WARM rewards,\nhead-to-head win rates, and DIR/report.md + report.html with the claims table.\nEach stage is cached by the hash of its inputs: a killed run resumes where it stopped.")
	presetName := fs.String("preset", "quick", "study size: "+strings.Join(preset.Names(), ", "))
	out := fs.String("out", "", "run directory (default runs/PRESET)")
	dataDir := fs.String("corpus", "data", "corpus folder filled by scripts/setup")
	alias(fs, "data", "corpus")
	sample := fs.Bool("sample", false, "use the corpus sample embedded in the binary instead of data/ (no setup needed)")
	from := fs.String("from", "", "rerun from this stage on (one of "+strings.Join(stageNames(), ", ")+")")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected arguments %v", errUsage, pos)
	}
	ps, err := preset.Get(*presetName)
	if err != nil {
		return fmt.Errorf("%w: --preset: %v", errUsage, err)
	}
	if _, err := stageIndex(reproStages(), *from); err != nil {
		return err
	}
	r := &reproRun{out: *out, data: *dataDir, preset: *presetName, sample: *sample, ps: ps}
	if r.out == "" {
		r.out = filepath.Join("runs", *presetName)
	}
	if !r.sample {
		if _, err := os.Stat(filepath.Join(r.data, "CHECKSUMS")); err != nil {
			return fmt.Errorf("set-up check: no study data in %s (run scripts/setup first, or pass --sample)", r.data)
		}
	}
	if err := os.MkdirAll(r.out, 0o755); err != nil {
		return err
	}
	stages := reproStages()
	fromIdx, err := stageIndex(stages, *from)
	if err != nil {
		return err
	}
	recPath := r.dir("stages.json")
	recs := map[string]*stageRecord{}
	runlog.ReadJSON(recPath, &recs)
	t0 := time.Now()
	prev := version + "|" + *presetName + "|" + strconv.FormatBool(r.sample)
	for i, st := range stages {
		cmds, err := st.steps(r)
		if err != nil {
			return fmt.Errorf("stage %s: %w", st.name, err)
		}
		hash := st.hash(prev, cmds, ps)
		prev = hash
		if rec := recs[st.name]; rec != nil && rec.Done && rec.Hash == hash && i < fromIdx {
			fmt.Fprintf(os.Stderr, "== repro: stage %s cached (%.0fs when run)\n", st.name, rec.Seconds)
			continue
		}
		fmt.Fprintf(os.Stderr, "== repro: stage %d/%d %s\n", i+1, len(stages), st.name)
		if rec := recs[st.name]; rec != nil && (rec.Hash != hash || i >= fromIdx) {
			// Other inputs than the outputs on disk were made with (or a
			// forced rerun): start the stage afresh. Same inputs but not
			// done means a killed run, which the verbs resume.
			for _, o := range st.removeOuts(r) {
				if err := os.RemoveAll(o); err != nil {
					return err
				}
			}
		}
		if recs[st.name], err = st.run(cmds, hash); err != nil {
			return err
		}
		if err := atomicfile.WriteJSON(recPath, recs); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "== repro: writing the report\n")
	timings := map[string]float64{}
	for k, v := range recs {
		timings[k] = v.Seconds
	}
	rep, err := studyreport.Write(r.out, studyreport.Options{Preset: *presetName, Version: version, StageSeconds: timings})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	fmt.Fprintf(os.Stderr, "== repro: done in %s (this invocation); report: %s\n", time.Since(t0).Round(time.Second), rep)
	return nil
}

// run runs the stage's calls and returns its record.
func (st reproStage) run(steps []reproStep, hash string) (*stageRecord, error) {
	ts := time.Now()
	for _, c := range steps {
		fmt.Fprintf(os.Stderr, "== warm %s\n", c.Verb)
		if err := c.run(); err != nil {
			return nil, fmt.Errorf("stage %s: warm %s: %w", st.name, c.Verb, err)
		}
	}
	return &stageRecord{Hash: hash, Steps: steps, Seconds: time.Since(ts).Seconds(), Done: true, When: time.Now().UTC().Format(time.RFC3339)}, nil
}

// hash identifies the stage's inputs: the previous stage's hash (so a
// changed upstream reruns everything after it), its calls' options and
// the preset knobs it reads.
func (st reproStage) hash(prev string, steps []reproStep, ps preset.Study) string {
	h := sha256.New()
	js, err := json.Marshal(steps)
	if err != nil { // options are plain data; keep the hash deterministic anyway
		js = []byte(err.Error())
	}
	fmt.Fprintf(h, "%s|%s|%s", prev, st.name, js)
	if st.knobs != nil {
		fmt.Fprintf(h, "|%v", st.knobs(ps))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// removeOuts lists what a rerun of the stage deletes first.
func (st reproStage) removeOuts(r *reproRun) []string {
	var out []string
	for _, o := range st.outs {
		out = append(out, r.dir(o))
	}
	switch st.name {
	case "rl":
		for _, n := range studyreport.RLRewards(r.ps.Members) {
			out = append(out, r.dir("rl-"+n))
		}
		out = append(out, r.dir("rl-plots"))
	case "merge":
		for _, m := range studyreport.WARMSizes(r.ps.Members) {
			out = append(out, r.dir(fmt.Sprintf("warm-m%d", m)))
		}
	}
	return out
}

// stageIndex is the index of the stage named from (len(stages) for "").
func stageIndex(stages []reproStage, from string) (int, error) {
	if from == "" {
		return len(stages), nil
	}
	for i, s := range stages {
		if s.name == from {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: --from %q: no such stage (have %s)", errUsage, from, strings.Join(stageNames(), ", "))
}

func stageNames() []string {
	var n []string
	for _, s := range reproStages() {
		n = append(n, s.name)
	}
	return n
}

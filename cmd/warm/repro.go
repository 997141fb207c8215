package main

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/internal/parallel"
	"github.com/warm-rm/warm/internal/runlog"
	"github.com/warm-rm/warm/study/prefgen"
	"github.com/warm-rm/warm/study/preset"
	"github.com/warm-rm/warm/study/rmtrain"
	"github.com/warm-rm/warm/study/studyreport"
)

func init() {
	register(&command{name: "repro", summary: "the whole WARM study in one command, with a report that checks each claim", run: runRepro})
}

// reproStage is one step of the study: library calls whose options may
// depend on what earlier stages wrote (so they are built when the stage
// runs).
type reproStage struct {
	name string
	// shared stages (pretrain, data) run once; the others once per label
	// setting, under OUT/SETTING/.
	shared bool
	steps  func(r *reproRun) ([]reproStep, error)
	// knobs are the preset values the stage's calls read: part of the
	// stage's hash, so editing a preset reruns exactly what it affects.
	knobs func(p preset.Study) []any
	// outs are the stage's outputs, removed before it reruns with other
	// inputs (the library refuses to resume a directory made with other
	// settings).
	outs []string
	// independent: the stage's calls (but those marked waits) may run
	// two at a time when a stream is free (see stageBook.streams).
	independent bool
}

// reproStep is one call of a stage: the verb it stands for and its
// options, recorded in stages.json and hashed, and the call itself.
type reproStep struct {
	Verb string `json:"verb"`
	Args any    `json:"args"`
	run  func(stdout, stderr io.Writer) error
	// tag names the call in its lines when calls run at once; waits: it
	// reads the other calls' outputs, so it runs after them.
	tag   string
	waits bool
}

type reproRun struct {
	out, data, preset string
	sample            bool
	ps                preset.Study // in the run's label setting
	// setting is the label setting of the per-setting stages ("" for the
	// shared ones): their outputs go under OUT/SETTING/.
	setting string
	// io is where the verbs' report and progress go: the process's
	// streams, or the setting's prefixed ones when settings run side by
	// side.
	io verbIO
}

// dir is a path in the run's own directory: OUT/SETTING/... for a label
// setting, OUT/... for the shared stages.
func (r *reproRun) dir(parts ...string) string {
	return filepath.Join(append([]string{r.out, r.setting}, parts...)...)
}

// shared is a path of the shared stages (pretrain, data): OUT/....
func (r *reproRun) shared(parts ...string) string {
	return filepath.Join(append([]string{r.out}, parts...)...)
}

// trainFile is the setting's training pairs: the corrupted labels as
// written, or the clean copy the data stage wrote beside them.
func (r *reproRun) trainFile() string {
	if r.ps.Labels == preset.LabelsClean {
		return r.shared("data", prefgen.CleanTrainFile)
	}
	return r.shared("data", "train.jsonl")
}

// rlDir is reward name's RL run of seed k (1-based): rl-NAME for the
// first seed, rl-NAME-seedK for the replicates (what studyreport reads).
func rlDir(name string, k int) string {
	if k <= 1 {
		return "rl-" + name
	}
	return fmt.Sprintf("rl-%s-seed%d", name, k)
}

// stageRecord is what stages.json keeps per stage.
type stageRecord struct {
	Hash    string      `json:"hash"`
	Steps   []reproStep `json:"steps"`
	Seconds float64     `json:"seconds"`
	Done    bool        `json:"done"`
	When    string      `json:"when"`
}

// step makes a repro step of a verb's args (a pointer: the step points its
// embedded verbIO at the setting's streams before it runs).
func step(verb string, args interface {
	run() error
	setIO(stdout, stderr io.Writer)
}) reproStep {
	return reproStep{Verb: verb, Args: args, run: func(stdout, stderr io.Writer) error {
		args.setIO(stdout, stderr)
		return args.run()
	}}
}

func reproStages() []reproStage {
	return []reproStage{
		{name: "pretrain", shared: true, steps: func(r *reproRun) ([]reproStep, error) {
			a := newPretrainArgs()
			a.Preset, a.DataDir, a.Sample, a.Out = r.preset, r.data, r.sample, r.shared("pretrain")
			if r.ps.SFTSteps <= 0 {
				return []reproStep{step("pretrain", &a)}, nil
			}
			// The SFT stage: pretrain into pretrain-base, continue into
			// pretrain, whose final model and checkpoints every later
			// stage reads (the policy, the shared init, the Baklava bodies).
			a.Out = r.shared("pretrain-base")
			c := newPretrainArgs()
			c.Preset, c.DataDir, c.Sample, c.Out = r.preset, r.data, r.sample, r.shared("pretrain")
			c.ContinueFrom, c.Steps, c.Lr, c.SFTReviews = r.shared("pretrain-base", "final"), r.ps.SFTSteps, r.ps.SFTLR, r.ps.SFTReviews
			if r.sample { // the embedded sample has no review sentences
				c.SFTReviews = 0
			}
			return []reproStep{step("pretrain", &a), step("pretrain", &c)}, nil
		}, knobs: func(p preset.Study) []any {
			k := []any{p.VocabSize, p.NEmbd, p.NLayer, p.NHead, p.NPositions, p.PretrainToks, p.PretrainBS, p.PretrainLR, p.CorpusMB, p.BaklavaAt}
			if p.SFTSteps > 0 { // runs without an SFT stage keep their hash
				k = append(k, p.SFTSteps, p.SFTLR, p.SFTReviews)
			}
			return k
		}, outs: []string{"pretrain", "pretrain-base"}},
		{name: "data", shared: true, steps: func(r *reproRun) ([]reproStep, error) {
			a := newDataArgs()
			a.Preset, a.DataDir, a.Sample, a.PolicyDir, a.Out = r.preset, r.data, r.sample, r.shared("pretrain", "final"), r.shared("data")
			// The tiny policy's text is mostly neutral to VADER: keep tied
			// pairs rather than run out of prompts.
			a.DropTies = r.preset != "tiny"
			if r.ps.PairsPerPrompt > 0 {
				a.PerPrompt = r.ps.PairsPerPrompt
			}
			return []reproStep{step("data", &a)}, nil
		}, knobs: func(p preset.Study) []any {
			k := []any{p.TrainPairs, p.ValPairs, p.OODPairs, p.HumanPairs, p.MinNew, p.MaxNew, p.BTTemperature, p.SwapRate, p.Corrupt, p.OODTemperature}
			if p.PairsPerPrompt > 0 { // presets without it keep their hash
				k = append(k, p.PairsPerPrompt)
			}
			if p.EvalResponses > 0 {
				k = append(k, "eval-responses", p.EvalResponses)
			}
			return k
		}, outs: []string{"data"}},
		{name: "train", steps: func(r *reproRun) ([]reproStep, error) {
			a := newTrainArgs(nil)
			a.Preset, a.PretrainDir, a.DataDir, a.O.Out, a.O.Ladder = r.preset, r.shared("pretrain"), r.shared("data"), r.dir("rm"), r.ps.Ladder()
			a.O.Train = r.trainFile()
			a.O.FT.Epochs = r.ps.Epochs()
			return []reproStep{step("train", a)}, nil
		}, knobs: func(p preset.Study) []any {
			k := []any{p.Labels, p.Members, p.RMBatch, p.LPEpochs, p.Epochs(), p.RMLearningRates(), p.RMDropout, p.BaklavaAt}
			if p.LadderLabels != "" { // runs with the ladder everywhere keep their hash
				k = append(k, p.Ladder())
			}
			return k
		}, outs: []string{"rm"}},
		{name: "merge", steps: mergeSteps},
		{name: "eval", steps: evalSteps, outs: []string{"eval"}},
		{name: "bon", steps: bonSteps, knobs: func(p preset.Study) []any { return []any{p.BoNPrompts, p.BoNMaxN, p.MinNew, p.MaxNew} }, outs: []string{"bon"}},
		{name: "rl", steps: rlSteps, independent: true, knobs: func(p preset.Study) []any {
			return []any{p.RLSteps, p.RLPrompts, p.RLSamples, p.RLLR, p.MaxNew, p.RLSeeds, p.RLKLCoef}
		}},
		{name: "duel", steps: duelSteps, independent: true, knobs: func(p preset.Study) []any { return []any{p.MaxNew, p.DuelPrompts, p.DuelSamples} }},
	}
}

// mergeSteps lists the calls of the merge stage.
func mergeSteps(r *reproRun) ([]reproStep, error) {
	order, err := rmtrain.MemberDirs(r.dir("rm"))
	if err != nil {
		return nil, err
	}
	var steps []reproStep
	for _, m := range studyreport.WARMSizes(len(order)) {
		a := mergeArgs{Out: r.dir(fmt.Sprintf("warm-m%d", m)), Models: order[:m]}
		steps = append(steps, step("merge", &a))
	}
	return steps, nil
}

// evalSteps lists the calls of the eval stage.
func evalSteps(r *reproRun) ([]reproStep, error) {
	a, b := newEvalArgs(), newEvalArgs()
	a.DataDir, a.TrainPath, a.RmDir, a.Soup, a.Out = r.shared("data"), r.trainFile(), r.dir("rm"), true, r.dir("eval")
	// The diagnostics of the shared init (probe, distances, the
	// LMC pilot of the two most distant members).
	a.Init = r.shared("pretrain", "final")
	b.DataDir, b.Ladder, b.Out = r.shared("data"), r.dir("rm"), r.dir("eval")
	// The LMC claims read λ = 0, ½ and 1 only: 3 points instead of
	// 11 cut the ladder's scoring from ≈ 15 to ≈ 4 min (loaded) per
	// setting; the plots lose the curves' shape, no verdict loses
	// power (docs/study-design.md §8).
	b.Steps = 3
	if !r.ps.Ladder() {
		return []reproStep{step("eval", &a)}, nil
	}
	return []reproStep{step("eval", &a), step("eval", &b)}, nil
}

// bonSteps lists the calls of the bon stage.
func bonSteps(r *reproRun) ([]reproStep, error) {
	a := newBonArgs()
	a.Preset, a.PolicyDir, a.DataDir, a.Members, a.Out = r.preset, r.shared("pretrain", "final"), r.shared("data"), r.dir("rm"), r.dir("bon")
	// Prompts in no preference pair: the members are ranked on val,
	// so val prompts would favour the best-ranked one.
	a.PromptsFile = r.shared("data", prefgen.HeldoutPromptFile)
	// One sample pool for every label setting (same policy and
	// prompts); each setting scores it with its own rewards.
	a.Pool = r.shared("bon-pool")
	return []reproStep{step("bon", &a)}, nil
}

// rlSteps lists the calls of the rl stage.
func rlSteps(r *reproRun) ([]reproStep, error) {
	var steps []reproStep
	names := studyreport.RLRewards(r.ps.Members)
	order, err := rmtrain.MemberDirs(r.dir("rm"))
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, name := range names {
		for k := 1; k <= max(1, r.ps.RLSeeds); k++ {
			a := newRLArgs(nil)
			a.Preset, a.PolicyDir, a.DataDir, a.Members, a.Reward, a.Out = r.preset, r.shared("pretrain", "final"), r.shared("data"), r.dir("rm"), name, r.dir(rlDir(name, k))
			if name == studyreport.MedianReward {
				// WARM against the median member too, not only
				// against the best one (issue 12.5).
				a.Members, a.RMs = "", rmFlags{name + "=" + order[studyreport.MedianMember(len(order))]}
			}
			a.PromptsFile = r.shared("data", prefgen.RLPromptFile)
			a.KLCoef, a.Cfg.Seed = r.ps.RLKLCoef, uint64(k)
			if k == 1 {
				dirs = append(dirs, a.Out)
			}
			s := step("rl", a)
			s.tag = filepath.Base(a.Out)
			steps = append(steps, s)
		}
	}
	p := rlPlotArgs{Runs: dirs, Names: strings.Join(names, ","), SFT: r.shared("pretrain", "final"),
		SamplePrompts: r.shared("data", prefgen.HeldoutPromptFile), Out: r.dir("rl-plots")}
	plot := step("rl --plot", &p)
	plot.waits = true
	return append(steps, plot), nil
}

// duelSteps lists the calls of the duel stage.
func duelSteps(r *reproRun) ([]reproStep, error) {
	names := studyreport.RLRewards(r.ps.Members)
	warm := names[len(names)-1]
	var steps []reproStep
	for _, other := range names[:len(names)-1] {
		a := newDuelArgs()
		a.A, a.B, a.Preset, a.DataDir = r.dir("rl-"+warm, "final"), r.dir("rl-"+other, "final"), r.preset, r.shared("data")
		// Held-out prompts: neither RL run trained on them.
		a.PromptsFile = r.shared("data", prefgen.HeldoutPromptFile)
		a.N, a.Samples = r.ps.DuelPrompts, r.ps.DuelSamples
		a.Out = r.dir("duel-" + warm + "-vs-" + other + ".json")
		s := step("duel", &a)
		s.tag = strings.TrimSuffix(filepath.Base(a.Out), ".json")
		steps = append(steps, s)
	}
	return steps, nil
}

func runRepro(args []string) error {
	fs := newFlagSet("repro", "[flags]\n\nRuns the default WARM study end to end: pretrain, data, M diverse reward models, merge,\neval (four splits, LMC ladder, greedy soup), best-of-N, RL for single / ENS / WARM rewards,\nhead-to-head win rates, and DIR/report.md + report.html with the claims table.\nEach stage is cached by the hash of its inputs: a killed run resumes where it stopped.")
	o := reproOptions{}
	fs.StringVar(&o.Preset, "preset", "quick", "study size: "+strings.Join(preset.Names(), ", "))
	fs.StringVar(&o.Out, "out", "", "run directory (default runs/PRESET)")
	fs.StringVar(&o.Corpus, "corpus", "data", "corpus folder filled by scripts/setup")
	alias(fs, "data", "corpus")
	fs.BoolVar(&o.Sample, "sample", false, "use the corpus sample embedded in the binary instead of data/ (no setup needed)")
	labels := fs.String("labels", "", "comma-separated label settings: clean, corrupt (default: both; tiny: corrupt); each runs the stages after data under OUT/SETTING/")
	fs.BoolVar(&o.Serial, "serial", false, "run the label settings one after the other instead of side by side (same results; side by side is faster on a machine the engine's kernels leave partly idle)")
	fs.StringVar(&o.From, "from", "", "rerun from this stage on (one of "+strings.Join(stageNames(), ", ")+")")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected arguments %v", errUsage, pos)
	}
	o.Labels = splitList(*labels)
	return o.run()
}

// reproOptions is what `warm repro` is asked to do.
type reproOptions struct {
	Preset, Out, Corpus, From string
	Sample                    bool
	Serial                    bool     // label settings one after the other, not side by side
	Labels                    []string // label settings; nil: the preset's default
}

// settings resolves and checks the label settings.
func (o reproOptions) settings(ps preset.Study) ([]string, error) {
	settings := o.Labels
	if len(settings) == 0 {
		settings = []string{preset.LabelsCorrupt}
		if o.Preset != "tiny" {
			settings = preset.LabelSettings()
		}
	}
	for i, s := range settings {
		if _, err := ps.WithLabels(s); err != nil {
			return nil, fmt.Errorf("%w: --labels: %v", errUsage, err)
		}
		if slices.Contains(settings[:i], s) {
			return nil, fmt.Errorf("%w: --labels: %s given twice", errUsage, s)
		}
	}
	return settings, nil
}

// run runs the study: the shared stages once, then the per-setting stages
// and report of each label setting, then the index report.
func (o reproOptions) run() error {
	ps, err := preset.Get(o.Preset)
	if err != nil {
		return fmt.Errorf("%w: --preset: %v", errUsage, err)
	}
	stages := reproStages()
	fromIdx, err := stageIndex(stages, o.From)
	if err != nil {
		return err
	}
	settings, err := o.settings(ps)
	if err != nil {
		return err
	}
	r := &reproRun{out: cmp.Or(o.Out, filepath.Join("runs", o.Preset)), data: o.Corpus, preset: o.Preset, sample: o.Sample, ps: ps}
	if !r.sample {
		if _, err := os.Stat(filepath.Join(r.data, "CHECKSUMS")); err != nil {
			return fmt.Errorf("set-up check: no study data in %s (run scripts/setup first, or pass --sample)", r.data)
		}
	}
	if err := os.MkdirAll(r.out, 0o755); err != nil {
		return err
	}
	book := &stageBook{path: r.shared("stages.json"), recs: map[string]*stageRecord{}, from: fromIdx, total: len(stages), streams: make(chan struct{}, maxStreams)}
	runlog.ReadJSON(book.path, &book.recs)
	t0 := time.Now()
	prev := version + "|" + o.Preset + "|" + strconv.FormatBool(r.sample)
	for i, st := range stages {
		if st.shared {
			if prev, err = book.run(i, st, r, st.name, prev); err != nil {
				return err
			}
		}
	}
	sections, err := o.runSettings(book, stages, r, settings, prev)
	if err != nil {
		return err
	}
	rep, err := studyreport.WriteIndex(r.out, studyreport.Options{Preset: o.Preset, Version: version}, sections)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	fmt.Fprintf(os.Stderr, "== repro: done in %s (this invocation); report: %s\n", time.Since(t0).Round(time.Second), rep)
	return nil
}

// runSettings runs the label settings: one after the other with Serial,
// else side by side. The settings share nothing after the data stage but
// the BoN sample pool (the first BoN stage samples it, the other waits
// for it: bon.Run's pool lock), and the engine's kernels keep
// both cores only ≈ 70–85 % busy at the study's model size (barriers
// between small matrix products, the token-by-token decode of sampling),
// so two settings interleaved finish sooner than in turn. Each setting's
// lines are prefixed with its name. Results do not depend on it: the
// kernels split work by GOMAXPROCS, not by timing. A setting that fails
// does not stop the other; the errors are returned together.
func (o reproOptions) runSettings(book *stageBook, stages []reproStage, r *reproRun, settings []string, prev string) ([]studyreport.Setting, error) {
	sections := make([]studyreport.Setting, len(settings))
	if o.Serial || len(settings) < 2 {
		for i, setting := range settings {
			var err error
			if sections[i], err = o.runSetting(book, stages, r, setting, prev, verbIO{}); err != nil {
				return nil, err
			}
		}
		return sections, nil
	}
	fmt.Fprintf(os.Stderr, "== repro: label settings %s side by side (--serial: one after the other)\n", strings.Join(settings, ", "))
	var mu sync.Mutex // one per stream: lines of two settings never mix
	var wg sync.WaitGroup
	errs := make([]error, len(settings))
	for i, setting := range settings {
		pre := "[" + setting + "] "
		out, errw := newPrefixWriter(&mu, os.Stdout, pre), newPrefixWriter(&mu, os.Stderr, pre)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer out.Flush()
			defer errw.Flush()
			sections[i], errs[i] = o.runSetting(book, stages, r, setting, prev, verbIO{out, errw})
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%s labels: %w", setting, errs[i])
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return sections, nil
}

// runSetting runs the per-setting stages of one label setting under
// OUT/SETTING/ and writes its report; the verbs write to vio.
func (o reproOptions) runSetting(book *stageBook, stages []reproStage, r *reproRun, setting, prev string, vio verbIO) (studyreport.Setting, error) {
	sp, _ := r.ps.WithLabels(setting)
	rs := &reproRun{out: r.out, data: r.data, preset: r.preset, sample: r.sample, ps: sp, setting: setting, io: vio}
	if err := os.MkdirAll(rs.dir(), 0o755); err != nil {
		return studyreport.Setting{}, err
	}
	h := prev + "|" + setting
	book.streams <- struct{}{}
	defer func() { <-book.streams }()
	var err error
	for i, st := range stages {
		if !st.shared {
			if h, err = book.run(i, st, rs, st.name+"/"+setting, h); err != nil {
				return studyreport.Setting{}, err
			}
		}
	}
	tm := book.seconds(setting)
	fmt.Fprintf(rs.io.progress(), "== repro: writing the %s-label report\n", setting)
	opt := studyreport.Options{Preset: o.Preset, Version: version, StageSeconds: tm, Labels: setting, SharedDir: r.out, TrainFile: rs.trainFile()}
	if !rs.ps.Ladder() {
		opt.LadderIn = rs.ps.LadderLabels
	}
	rep, err := studyreport.Write(rs.dir(), opt)
	if err != nil {
		return studyreport.Setting{}, fmt.Errorf("report (%s labels): %w", setting, err)
	}
	return studyreport.Setting{Labels: setting, Dir: setting, Report: rep, Opt: opt}, nil
}

// stageBook is stages.json: which stage ran with which input hash. Its
// methods may be called from both settings at once.
type stageBook struct {
	path  string
	recs  map[string]*stageRecord
	from  int // stages at or after this index rerun (--from)
	total int

	mu sync.Mutex // recs and the file
	// streams holds a token per stream of work running: each label
	// setting takes one for its stages, and a stage with independent
	// calls takes a second when one is free (the other setting is done,
	// or they run in turn) to run two calls at once. Two streams: one
	// stream keeps two cores 70–86 % busy at the study's shapes, a second
	// fills the rest (docs/study-design.md §8); more would only share it.
	streams chan struct{}
}

// maxStreams is how many streams of work repro runs at once.
const maxStreams = 2

// seconds is each stage's recorded time for a label setting (the shared
// stages' included), by stage name.
func (b *stageBook) seconds(setting string) map[string]float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	tm := map[string]float64{}
	for k, v := range b.recs {
		name, s, ok := strings.Cut(k, "/")
		if !ok || s == setting {
			tm[name] = v.Seconds
		}
	}
	return tm
}

func (b *stageBook) record(key string) *stageRecord {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.recs[key]
}

// run runs (or finds cached) stage i for run rr, recorded under key, and
// returns its hash.
func (b *stageBook) run(i int, st reproStage, rr *reproRun, key, prev string) (string, error) {
	cmds, err := st.steps(rr)
	if err != nil {
		return "", fmt.Errorf("stage %s: %w", key, err)
	}
	hash := st.hash(prev, cmds, rr.ps)
	log := rr.io.progress()
	if rec := b.record(key); rec != nil && rec.Done && rec.Hash == hash && i < b.from {
		fmt.Fprintf(log, "== repro: stage %s cached (%.0fs when run)\n", key, rec.Seconds)
		return hash, nil
	}
	fmt.Fprintf(log, "== repro: stage %d/%d %s\n", i+1, b.total, key)
	if rec := b.record(key); rec != nil && (rec.Hash != hash || i >= b.from) {
		// Other inputs than the outputs on disk were made with (or a
		// forced rerun): start the stage afresh. Same inputs but not
		// done means a killed run, which the verbs resume.
		for _, o := range st.removeOuts(rr) {
			if err := os.RemoveAll(o); err != nil {
				return "", err
			}
		}
	}
	rec, err := st.run(cmds, hash, rr.io, b.streams)
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.recs[key] = rec
	return hash, atomicfile.WriteJSON(b.path, b.recs)
}

// run runs the stage's calls and returns its record. An independent stage
// runs its calls two at a time when it can take a
// free token from streams, each call's lines prefixed with its
// tag; the calls that wait run after them, in order. The outputs are the
// same either way: each call has its own seed and directory.
func (st reproStage) run(steps []reproStep, hash string, vio verbIO, streams chan struct{}) (*stageRecord, error) {
	ts := time.Now()
	var free, waits []reproStep
	for _, c := range steps {
		if c.waits {
			waits = append(waits, c)
		} else {
			free = append(free, c)
		}
	}
	one := func(c reproStep, out, errw io.Writer) error {
		fmt.Fprintf(errw, "== warm %s\n", c.Verb)
		if err := c.run(out, errw); err != nil {
			return fmt.Errorf("stage %s: warm %s: %w", st.name, c.Verb, err)
		}
		return nil
	}
	two := false
	if st.independent && len(free) > 1 {
		select {
		case streams <- struct{}{}:
			two = true
			defer func() { <-streams }()
		default:
		}
	}
	if two {
		fmt.Fprintf(vio.progress(), "== repro: %s: %d calls two at a time (a stream is free)\n", st.name, len(free))
		var mu sync.Mutex
		errs := make([]error, len(free))
		parallel.JobsN(2, len(free), func(_, j int) {
			c := free[j]
			out, errw := newPrefixWriter(&mu, vio.out(), c.tag+": "), newPrefixWriter(&mu, vio.progress(), c.tag+": ")
			errs[j] = one(c, out, errw)
			out.Flush()
			errw.Flush()
		})
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	} else {
		for _, c := range free {
			if err := one(c, vio.out(), vio.progress()); err != nil {
				return nil, err
			}
		}
	}
	for _, c := range waits {
		if err := one(c, vio.out(), vio.progress()); err != nil {
			return nil, err
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
		if st.shared {
			out = append(out, r.shared(o))
		} else {
			out = append(out, r.dir(o))
		}
	}
	switch st.name {
	case "rl":
		for _, n := range studyreport.RLRewards(r.ps.Members) {
			for k := 1; k <= max(1, r.ps.RLSeeds); k++ {
				out = append(out, r.dir(rlDir(n, k)))
			}
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

// Package studyreport reads the outputs of a `warm repro` run directory and
// writes report.md and a self-contained report.html: what each stage
// produced, the plots, and the claims table of the WARM paper with our
// numbers next to the paper's and whether each claim holds on this run.
package studyreport

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/warm-rm/warm/internal/runlog"
	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/study/prefgen"
	"github.com/warm-rm/warm/study/pretrain"
	"github.com/warm-rm/warm/study/report"
	"github.com/warm-rm/warm/study/rmeval"
	"github.com/warm-rm/warm/study/rmtrain"
)

// Options describe the run for the report's header.
type Options struct {
	Preset       string
	Version      string
	StageSeconds map[string]float64
	// Labels is the run's label setting ("clean" or "corrupt"; "" for a
	// run made before the settings).
	Labels string
	// SharedDir holds the stages the label settings share (pretrain/,
	// data/); "" means the run directory itself.
	SharedDir string
	// TrainFile is the setting's training pairs (the bag-of-words
	// ceiling is fitted on them; "": SHARED/data/train.jsonl).
	TrainFile string
	// LadderIn, when not "", is the label setting that trains the LMC
	// diversity ladder when this one does not (preset.LadderLabels): the
	// report says where to find it instead of a bare "not run".
	LadderIn string
}

// WARMSizes are the M values the study merges and compares: 2 and all
// members (the paper's M=2 and M=6 with 6 members).
func WARMSizes(members int) []int {
	switch {
	case members >= 3:
		return []int{2, members}
	case members == 2:
		return []int{2}
	}
	return nil
}

// study is everything the report reads; a missing part is nil and its
// section says so.
type study struct {
	dir      string
	shared   string // holds pretrain/ and data/
	train    string // the setting's training pairs
	labels   string
	ladderIn string
	pretrain *pretrain.Summary
	data     *prefgen.Summary
	rm       *rmtrain.Summary
	eval     *rmeval.Result
	lmc      []*rmeval.Curve
	pilot    *rmeval.Curve // the LMC pilot: the two most distant members
	bon      *bonResult
	rl       []*rlRun
	duels    []duel

	// The claims' inputs, loaded on first use (evidence).
	ev       Evidence
	evErr    error
	evLoaded bool
}

func load[T any](path string) (*T, error) {
	var v T
	if err := runlog.ReadJSON(path, &v); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	return &v, nil
}

func read(dir string, o Options) (*study, error) {
	s := &study{dir: dir, shared: o.SharedDir, train: o.TrainFile, labels: o.Labels, ladderIn: o.LadderIn}
	if s.shared == "" {
		s.shared = dir
	}
	if s.train == "" {
		s.train = filepath.Join(s.shared, "data", "train.jsonl")
	}
	var err error
	if s.pretrain, err = load[pretrain.Summary](filepath.Join(s.shared, "pretrain", "summary.json")); err != nil {
		return nil, err
	}
	if s.data, err = load[prefgen.Summary](filepath.Join(s.shared, "data", "summary.json")); err != nil {
		return nil, err
	}
	if s.rm, err = load[rmtrain.Summary](filepath.Join(dir, "rm", "summary.json")); err != nil {
		return nil, err
	}
	if s.eval, err = load[rmeval.Result](filepath.Join(dir, "eval", "eval.json")); err != nil {
		return nil, err
	}
	lmc, err := load[[]*rmeval.Curve](filepath.Join(dir, "eval", "lmc.json"))
	if err != nil {
		return nil, err
	}
	if lmc != nil {
		s.lmc = *lmc
	}
	if s.pilot, err = load[rmeval.Curve](filepath.Join(dir, "eval", "pilot.json")); err != nil {
		return nil, err
	}
	members := 0
	if s.rm != nil {
		members = len(s.rm.Members)
	}
	if err := s.readUse(members); err != nil {
		return nil, err
	}
	return s, nil
}

// Write builds DIR/report.md and DIR/report.html from the run in dir and
// returns the Markdown path.
func Write(dir string, o Options) (string, error) {
	s, err := read(dir, o)
	if err != nil {
		return "", err
	}
	d := &report.Doc{}
	d.Heading(1, "WARM study report"+labelWords(o.Labels, " — "))
	d.Para(fmt.Sprintf("Preset `%s`, warm %s, written %s. Weight Averaged Reward Models (Ramé et al., ICML 2024, arXiv 2401.12187) reproduced at laptop scale: a small GPT-2 pretrained here, preference pairs judged by a gold judge (%s), %s, M reward models fine-tuned from one shared init, and their weight average (WA/WARM) compared with the prediction ensemble (ENS) and single members.",
		o.Preset, o.Version, time.Now().UTC().Format("2006-01-02 15:04 UTC"), s.judge(), s.labelSentence()))

	if o.Preset == "tiny" {
		d.Para("> **Smoke test — verdicts mean nothing.** The `tiny` preset only checks that every stage runs end to end; its splits are far too small to decide any claim, whatever the table below says. Run the `quick` or `full` preset for numbers.")
	}
	claims, err := s.claims()
	if err != nil {
		return "", err
	}
	d.Heading(2, "Claims of the paper, tested on this run")
	d.Claims(claims)
	d.Para(fmt.Sprintf("Each claim is a statement about a quantity d, decided on its 95%% interval: **holds** when the whole interval satisfies the test, **fails** when none of it does, **inconclusive** otherwise (or when there is no interval: per-pair data missing, a single seed); **not tested** when the stage did not run. Accuracy differences are in points, with a paired bootstrap over pairs (%d resamples, fixed seed); BoN claims are decided at every N ≥ 2 of the curve at once, on a paired bootstrap band over prompts that is simultaneous over N (section 6 has the per-N table), and duels on a paired bootstrap over prompts; the validation claims are decided on the half of the validation pairs that was not used to rank the members; RL compares seeds (t / Welch intervals). Margins: WA ≥ ENS is non-inferiority within %.0f point, WA ≈ ENS equivalence within ±%.0f point, LMC allows the midpoint %.0f point below the line. The paper's numbers are from its figures, at PaLM-XXS scale on TL;DR, so only the direction is comparable.",
		stats.Resamples, AccMargin, AccMargin, LMCMargin))

	s.timings(d, o.StageSeconds)
	s.pretrainSection(d)
	s.dataSection(d)
	s.rmSection(d)
	if err := s.ceilingSection(d); err != nil {
		return "", err
	}
	s.evalSection(d)
	if err := s.accuracyIntervals(d); err != nil {
		return "", err
	}
	s.lmcSection(d)
	s.diagnosticsSection(d)
	s.bonSection(d)
	if s.bon != nil {
		ev, err := s.evidence()
		if err != nil {
			return "", err
		}
		bonByNTable(d, ev)
	}
	s.rlSection(d)
	if err := s.samplesSection(d); err != nil {
		return "", err
	}

	md := filepath.Join(dir, "report.md")
	if err := d.WriteMarkdown(md); err != nil {
		return "", err
	}
	if err := d.WriteHTML(filepath.Join(dir, "report.html")); err != nil {
		return "", err
	}
	return md, nil
}

func (s *study) timings(d *report.Doc, sec map[string]float64) {
	if len(sec) == 0 {
		return
	}
	d.Heading(2, "Stages and time")
	var names []string
	var total float64
	for k, v := range sec {
		names = append(names, k)
		total += v
	}
	sort.Slice(names, func(i, j int) bool { return stageIndex(names[i]) < stageIndex(names[j]) })
	var rows [][]string
	for _, n := range names {
		rows = append(rows, []string{n, fmtDur(sec[n])})
	}
	rows = append(rows, []string{"**total**", fmtDur(total)})
	d.Table([]string{"stage", "time (when last run)"}, rows)
}

var stageOrder = []string{"pretrain", "data", "train", "merge", "eval", "bon", "rl", "duel"}

func stageIndex(n string) int {
	for i, s := range stageOrder {
		if s == n {
			return i
		}
	}
	return len(stageOrder)
}

func fmtDur(s float64) string {
	return (time.Duration(s) * time.Second).Round(time.Second).String()
}

func (s *study) pretrainSection(d *report.Doc) {
	d.Heading(2, "1. Pretrained policy (the shared init)")
	p := s.pretrain
	if p == nil {
		d.Para("Not run.")
		return
	}
	d.Table([]string{"params", "training tokens", "held-out perplexity", "unigram baseline", "tokens/s", "checkpoints"},
		[][]string{{fmt.Sprint(p.Params), fmt.Sprint(p.Tokens), fmt.Sprintf("%.1f", p.ValPPL), fmt.Sprintf("%.1f", p.UnigramPPL),
			fmt.Sprintf("%.0f", p.TokensPerSec), strings.Join(p.Checkpoints, ", ")}})
	if len(p.Samples) > 0 {
		d.Para("Samples from the final checkpoint:")
		d.Code(strings.Join(p.Samples, "\n\n"))
	}
}

func (s *study) dataSection(d *report.Doc) {
	d.Heading(2, "2. Preference data")
	p := s.data
	if p == nil {
		d.Para("Not run.")
		return
	}
	row := func(name string, x prefgen.SplitSummary) []string {
		return []string{name, fmt.Sprint(x.Count), pct(x.GoldAgreement), pct(x.CorruptionRate), fmt.Sprintf("%.3f", x.MeanGoldMargin), fmt.Sprintf("%.2f", x.Temperature)}
	}
	rows := [][]string{row("train", p.Train), row("val (ID)", p.Val), row("ood", p.OOD)}
	if s.labels == "clean" {
		rows[0] = []string{"train (clean labels)", fmt.Sprint(p.Train.Count), pct(p.Train.CleanAgreement), "0.0", fmt.Sprintf("%.3f", p.Train.MeanGoldMargin), fmt.Sprintf("%.2f", p.Train.Temperature)}
	}
	d.Table([]string{"split", "pairs", "gold agreement %", "corrupted %", "mean |gold margin|", "sampling T"}, rows)
	swapped := fmt.Sprintf("then %.0f%% of training labels swapped", 100*p.Corrupt)
	if s.labels == "clean" {
		swapped = "training labels kept clean in this setting (the corrupted setting swaps " + fmt.Sprintf("%.0f%%", 100*p.Corrupt) + " of them)"
	}
	d.Para(fmt.Sprintf("Labels: Bradley-Terry sampling on the gold difference at temperature %.2f; %s. OOD: responses sampled at a higher temperature from prompts of another source.", p.BTTemperature, swapped))
	if h := p.Human; h != nil {
		agree := ""
		if h.GoldAgreement != nil {
			agree = fmt.Sprintf("; the gold judge agrees with the human label on %s%%", pct(*h.GoldAgreement))
		}
		d.Para(fmt.Sprintf("Human-labelled pairs: %d pairs of review sentences (a positive sentence chosen over a negative one, empty prompt); the longer sentence is the chosen one in %s%% of pairs%s.", h.Pairs, pct(h.LongerChosen), agree))
	} else if p.HumanNote != "" {
		d.Para("Human-labelled pairs: " + p.HumanNote + ".")
	}
	if n := p.PolicyPrompts; n != nil {
		d.Para(fmt.Sprintf("Policy prompts (in no preference pair): %d for RL, %d held out for best-of-N and the duels.", n["rl"], n["heldout"]))
	}
}

func (s *study) rmSection(d *report.Doc) {
	d.Heading(2, "3. Reward models: linear probe, then M diverse fine-tunings")
	r := s.rm
	if r == nil {
		d.Para("Not run.")
		return
	}
	d.Para(fmt.Sprintf("Linear probe on frozen features: train accuracy %s%%, validation %s%%.", pct(r.ProbeTrainAcc), pct(r.ProbeValAcc)))
	var rows [][]string
	for _, m := range append(append([]*rmtrain.MemberResult(nil), r.Members...), r.Ladder...) {
		rows = append(rows, []string{m.Member.Name, fmt.Sprintf("%.2g", m.Member.LR), fmt.Sprintf("%.2g", m.Member.Dropout),
			filepath.Base(m.Member.Init), fmt.Sprint(m.Member.Seed), pct(m.ValAcc), fmt.Sprintf("%.0f", m.TokensPS)})
	}
	d.Table([]string{"member", "lr", "dropout", "init", "seed", "val_select acc %", "tokens/s"}, rows)
}

func (s *study) evalSection(d *report.Doc) {
	d.Heading(2, "4. Single members vs ENS vs WA")
	e := s.eval
	if e == nil {
		d.Para("Not run.")
		return
	}
	ms := WARMSizes(len(e.Order))
	h, rows := e.SummaryRows(ms)
	d.Table(h, rows)
	d.Para("Accuracy (%) on each split. `train_corrupted` is accuracy against the swapped labels, i.e. how much each model memorised the corruption: lower is better. Members are ranked by validation accuracy before taking the first M." + s.selectionWords())
	if fileExists(filepath.Join(s.dir, "eval", "accuracy.png")) {
		d.Image("accuracy by split", "eval/accuracy.png")
	}
	if sp := e.Soup; sp != nil {
		var rows [][]string
		for _, name := range rmeval.SplitOrder {
			if g, ok := sp.Greedy[name]; ok {
				rows = append(rows, []string{name, pct(sp.Uniform[name].Acc), pct(g.Acc), pct(sp.Best[name].Acc)})
			}
		}
		d.Heading(3, "Greedy soup")
		d.Para(fmt.Sprintf("Members added in order of %s accuracy, each kept only if it does not lower it: kept %s.", sp.RankBy, strings.Join(sp.Ingredient, ", ")))
		d.Table([]string{"split", "uniform WA", "greedy soup", "best single (" + sp.BestName + ")"}, rows)
	}
}

// selectionWords says which validation pairs ranked the members.
func (s *study) selectionWords() string {
	sel := s.eval.Selection
	if sel == nil {
		return ""
	}
	return fmt.Sprintf(" They are ranked on `%s`, %d of the %d %s pairs chosen by prompt hash (seed %d); `%s` here and in the claims is the other %d pairs, which played no part in the ranking, so the best member's accuracy there is not inflated by having been picked on it (the winner's curse). OOD and human pairs are not used for ranking at all.",
		sel.RankedOn, len(sel.SelectRows), len(sel.SelectRows)+len(sel.TestRows), sel.Split, sel.Seed, sel.Split, len(sel.TestRows))
}

func (s *study) lmcSection(d *report.Doc) {
	d.Heading(2, "5. Linear mode connectivity and the diversity ladder")
	if len(s.lmc) == 0 {
		if s.ladderIn != "" {
			d.Para(fmt.Sprintf("Not run in this label setting: to fit the preset's time budget the diversity ladder (its extra fine-tunings and their interpolation) is trained in the %s setting only, and its report has it. Here the LMC pilot (section 5b) tests connectivity between the two most distant members.", s.ladderIn))
			return
		}
		d.Para("Not run.")
		return
	}
	var rows [][]string
	for _, c := range s.lmc {
		row := []string{c.Name}
		for _, sp := range []string{rmeval.Val, rmeval.OOD} {
			wa, ens := c.Barrier(sp)
			row = append(row, fmt.Sprintf("%+.1f", 100*wa), fmt.Sprintf("%+.1f", 100*ens))
		}
		rows = append(rows, row)
	}
	d.Table([]string{"rung", "val: WA mid − line", "val: ENS mid − line", "ood: WA mid − line", "ood: ENS mid − line"}, rows)
	d.Para("Accuracy at λ = 0.5 minus the mean of the two endpoints, in points: ≥ 0 means the interpolation stays at or above the straight line (the paper's Fig. 3). Rungs add diversity cumulatively: same run (mid-training vs final checkpoint), data order, + learning rate, + Baklava init.")
	for _, sp := range []string{rmeval.Val, rmeval.OOD} {
		if p := filepath.Join("eval", "lmc_"+sp+".png"); fileExists(filepath.Join(s.dir, p)) {
			d.Image("LMC "+sp, p)
		}
	}
}

func pct(x float64) string { return fmt.Sprintf("%.1f", 100*x) }

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// RLRewards names the rewards the study's RL runs optimise, WARM last:
// the best single member, the median member (by validation rank; from 3
// members on), ENS of all members and WARM of all members. All but
// "median" are names warm rl --members understands; repro passes the
// median member as --rm median=DIR.
func RLRewards(members int) []string {
	names := []string{"single"}
	if members >= 3 {
		names = append(names, MedianReward)
	}
	return append(names, fmt.Sprintf("ens%d", members), fmt.Sprintf("warm%d", members))
}

// MedianReward is the RL reward name of the median member.
const MedianReward = "median"

// MedianMember is the index, in the ranking best first, of the median
// member (the lower median for an even count).
func MedianMember(members int) int { return (members - 1) / 2 }

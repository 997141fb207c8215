package rmeval

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/study/rmtrain"
)

// Options are one `warm eval` run. Models come from Models, the member-*
// directories of Run, or (Ladder) a --ladder training run's rungs.
type Options struct {
	Models      []string // reward-model directories
	Run         string   // a training run: its member-* directories are added
	Ladder      string   // a --ladder training run: interpolate its rungs
	Interpolate bool     // interpolate the two Models
	Steps       int      // interpolation points in [0, 1]

	DataDir                string // train.jsonl, val.jsonl, ood.jsonl, human.jsonl (used when the files below are "")
	Train, Val, OOD, Human string
	MaxTrain               int // training pairs scored per part at most (0: all)

	// RankBy is the split ranking the members ("" or "none": the given
	// order). With two or more models Run halves it (HoldOut): members are
	// ranked on RankBy+"_select" and RankBy keeps the other half, so that
	// no number reported on it was used to choose.
	RankBy     string
	SelectSeed uint64 // seed of that halving (0: DefaultSelectSeed)
	Soup       bool   // also a greedy soup
	Ms         string // M values for the summary, e.g. "2,6" ("": 2 and all)

	// Init is the shared init (the pretrained LM) the members were
	// fine-tuned from: with Run, eval.json gains the diagnostics of issue
	// 16.1 (probe accuracy of the init, member distances) and OUT/pilot.json
	// the interpolation of the two members furthest apart (the LMC pilot,
	// PilotSteps points on val and OOD).
	Init       string
	PilotSteps int // 0: 3 (λ = 0, ½, 1)

	Out string    // directory for eval.json / lmc.json ("": write nothing)
	Log io.Writer // progress; nil: quiet
}

// Outcome is what Run computed: Curves for an interpolation or ladder,
// else Result with the M values of its summary.
type Outcome struct {
	Splits []Split
	Curves []*Curve
	Result *Result
	Ms     []int
}

// MemberModels lists a training run's member-* directories (unfinished
// .partial ones left out), sorted by name.
func MemberModels(run string) ([]string, error) {
	found, err := filepath.Glob(filepath.Join(run, "member-*"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range found {
		if !strings.HasSuffix(f, ".partial") {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no member-* directories in %s", run)
	}
	return out, nil
}

// Rung is one pair of the diversity ladder: Name, and the models A and B.
type Rung struct{ Name, A, B string }

// LadderRungs lists the rungs of the diversity ladder found in a warm
// train --ladder run, each paired with member-00.
func LadderRungs(run string) []Rung {
	base := filepath.Join(run, "member-00")
	var out []Rung
	exists := func(d string) bool { _, err := os.Stat(filepath.Join(d, "config.json")); return err == nil }
	if mid := filepath.Join(base, "mid"); exists(mid) {
		out = append(out, Rung{"same run", mid, base})
	}
	// A rung run that a member of the design already is (rmtrain's
	// same_as) is that member's directory.
	same := map[string]string{}
	if sum, err := rmtrain.ReadSummary(run); err == nil {
		for _, l := range sum.Ladder {
			if l.SameAs != "" {
				same[l.Member.Name] = filepath.Join(run, l.SameAs)
			}
		}
	}
	for _, r := range []struct{ name, dir string }{{"data order", "ladder-order"}, {"+ learning rate", "ladder-lr"}, {"+ Baklava", "ladder-baklava"}} {
		d := filepath.Join(run, r.dir)
		if s, ok := same[r.dir]; ok {
			d = s
		}
		if exists(d) {
			out = append(out, Rung{r.name, base, d})
		}
	}
	return out
}

func (o Options) models() ([]string, error) {
	models := append([]string(nil), o.Models...)
	if o.Run != "" {
		found, err := MemberModels(o.Run)
		if err != nil {
			return nil, err
		}
		models = append(models, found...)
		sort.Strings(models)
	}
	if o.Ladder != "" {
		models = []string{filepath.Join(o.Ladder, "member-00")}
	}
	if len(models) == 0 {
		return nil, fmt.Errorf("no models (give MODEL_DIRs, --rm or --ladder)")
	}
	if o.Interpolate && len(models) != 2 {
		return nil, fmt.Errorf("--interpolate needs exactly two models, got %d", len(models))
	}
	return models, nil
}

// splits loads the evaluation data with the first model's tokenizer.
func (o Options) splits(first string) ([]Split, error) {
	tok, maxLen, err := reward.LoadInput(first)
	if err != nil {
		return nil, err
	}
	def := func(flag, name string) string {
		if flag != "" {
			return flag
		}
		if p := filepath.Join(o.DataDir, name); fileExists(p) {
			return p
		}
		return ""
	}
	trainFile := def(o.Train, "train.jsonl")
	humanFile := def(o.Human, "human.jsonl")
	if o.Interpolate || o.Ladder != "" {
		// An interpolation scores every split at every λ: by default only
		// val and OOD, where connectivity is the question (the LMC
		// claims and plots read those two); --train and --human add
		// theirs.
		if o.Train == "" {
			trainFile = ""
		}
		if o.Human == "" {
			humanFile = ""
		}
	}
	splits, err := LoadSplits(tok, maxLen, trainFile, def(o.Val, "val.jsonl"), def(o.OOD, "ood.jsonl"), humanFile, o.MaxTrain)
	if err != nil {
		return nil, err
	}
	if len(splits) == 0 {
		return nil, fmt.Errorf("no evaluation data found (looked in %s)", o.DataDir)
	}
	return splits, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (o Options) logf(s string) {
	if o.Log != nil {
		fmt.Fprintln(o.Log, "warm eval:", s)
	}
}

// Run evaluates as o says and writes OUT/lmc.json (interpolation, ladder)
// or OUT/eval.json (members, ENS, WA, soup).
func Run(o Options) (*Outcome, error) {
	models, err := o.models()
	if err != nil {
		return nil, err
	}
	splits, err := o.splits(models[0])
	if err != nil {
		return nil, err
	}
	if o.Out != "" {
		if err := os.MkdirAll(o.Out, 0o755); err != nil {
			return nil, err
		}
	}
	if o.Interpolate || o.Ladder != "" {
		var rungs []Rung
		if o.Interpolate {
			rungs = []Rung{{"a-b", models[0], models[1]}}
		} else {
			rungs = LadderRungs(o.Ladder)
		}
		curves, err := o.interpolate(rungs, splits)
		if err != nil {
			return nil, err
		}
		if o.Out != "" {
			if err := atomicfile.WriteJSON(filepath.Join(o.Out, "lmc.json"), curves); err != nil {
				return nil, err
			}
		}
		return &Outcome{Splits: splits, Curves: curves}, nil
	}
	whole := splits // the diagnostics choose nothing: they use whole splits
	var sel *Selection
	if rb := o.rankBy(); rb != "" && len(models) > 1 {
		seed := o.SelectSeed
		if seed == 0 {
			seed = DefaultSelectSeed
		}
		if splits, sel, err = HoldOut(splits, rb, seed); err != nil {
			return nil, err
		}
		o.RankBy = sel.RankedOn
		o.logf(fmt.Sprintf("ranking members on %s (%d pairs); %s keeps the other %d", sel.RankedOn, len(sel.SelectRows), rb, len(sel.TestRows)))
	}
	res, ms, err := o.compare(models, splits)
	if err != nil {
		return nil, err
	}
	res.Selection = sel
	if o.Init != "" && o.Run != "" {
		if err := o.diagnostics(res, models, whole); err != nil {
			return nil, err
		}
	}
	if o.Out != "" {
		if err := atomicfile.WriteJSON(filepath.Join(o.Out, "eval.json"), res); err != nil {
			return nil, err
		}
	}
	return &Outcome{Splits: splits, Result: res, Ms: ms}, nil
}

func (o Options) interpolate(rungs []Rung, splits []Split) ([]*Curve, error) {
	// The ladder's rungs share endpoints (member-00 is on every rung):
	// each endpoint is loaded and scored once.
	type scoredModel struct {
		m *model.Model
		r rewards
	}
	seen := map[string]scoredModel{}
	load := func(dir string) (scoredModel, error) {
		if s, ok := seen[dir]; ok {
			return s, nil
		}
		m, err := model.Load(dir)
		if err != nil {
			return scoredModel{}, err
		}
		o.logf("scoring " + dir)
		r, err := scoreSplits(m, splits)
		if err != nil {
			return scoredModel{}, fmt.Errorf("%s: %w", dir, err)
		}
		seen[dir] = scoredModel{m, r}
		return seen[dir], nil
	}
	var curves []*Curve
	for _, p := range rungs {
		a, err := load(p.A)
		if err != nil {
			return nil, err
		}
		b, err := load(p.B)
		if err != nil {
			return nil, err
		}
		o.logf("interpolating " + p.Name)
		c, err := interpolate(a.m, b.m, a.r, b.r, splits, o.Steps)
		if err != nil {
			return nil, err
		}
		c.Name, c.A, c.B = p.Name, p.A, p.B
		curves = append(curves, c)
	}
	return curves, nil
}

func (o Options) compare(models []string, splits []Split) (*Result, []int, error) {
	var ms []model.RewardModel
	var names []string
	for _, d := range models {
		m, err := reward.Load(d)
		if err != nil {
			return nil, nil, err
		}
		ms = append(ms, m)
		names = append(names, filepath.Base(d))
	}
	rb := o.rankBy()
	res, err := Compare(ms, names, splits, rb, o.logf)
	if err != nil {
		return nil, nil, err
	}
	if o.Soup && len(ms) > 1 {
		by := rb
		if by == "" {
			by = Val
		}
		gs := make([]*model.Model, len(ms))
		for i, m := range ms {
			g, ok := m.(*model.Model)
			if !ok {
				return nil, nil, fmt.Errorf("--soup: %s is not a GPT-2 model; soups of other families are not supported (merge with warm merge)", models[i])
			}
			gs[i] = g
		}
		uniform := res.scored[WAName(len(ms))] // every member, averaged
		if res.Soup, err = greedySoup(gs, names, splits, by, res.scored, uniform); err != nil {
			return nil, nil, err
		}
	}
	mlist, err := summaryMs(o.Ms, len(ms))
	return res, mlist, err
}

// rankBy is the split to rank on, "" for none.
func (o Options) rankBy() string {
	if o.RankBy == "none" {
		return ""
	}
	return o.RankBy
}

// summaryMs parses the M values of the summary ("": 2 and all).
func summaryMs(s string, n int) ([]int, error) {
	mlist := []int{2, n}
	if s != "" {
		mlist = nil
		for _, f := range strings.Split(s, ",") {
			v, err := strconv.Atoi(f)
			if err != nil || v < 2 || v > n {
				return nil, fmt.Errorf("--m %q: want M values in 2..%d", f, n)
			}
			mlist = append(mlist, v)
		}
	}
	if n < 2 {
		mlist = nil
	} else if n == 2 {
		mlist = []int{2}
	}
	return mlist, nil
}

// diagnostics fills res.Diagnostics and, with Out, writes the LMC pilot
// (the two members furthest apart, interpolated on val and OOD) to
// OUT/pilot.json.
func (o Options) diagnostics(res *Result, dirs []string, splits []Split) error {
	byName := map[string]string{}
	for _, d := range dirs {
		byName[filepath.Base(d)] = d
	}
	var ms []*model.Model
	var names, ordered []string
	for _, n := range res.Order {
		m, err := model.Load(byName[n])
		if err != nil {
			return err
		}
		ms = append(ms, m)
		names = append(names, n)
		ordered = append(ordered, byName[n])
	}
	d, err := diagnose(o.Init, o.Run, ordered, names, ms, splits, o.logf)
	if err != nil {
		return err
	}
	res.Diagnostics = d
	if d.Pilot == nil || o.Out == "" {
		return nil
	}
	var held []Split
	for _, s := range splits {
		if s.Name == Val || s.Name == OOD {
			held = append(held, s)
		}
	}
	steps := o.PilotSteps
	if steps < 3 {
		steps = 3
	}
	idx := map[string]int{}
	for i, n := range names {
		idx[n] = i
	}
	o.logf(fmt.Sprintf("LMC pilot: %s ↔ %s (distance %.3g)", d.Pilot.A, d.Pilot.B, d.Pilot.Distance))
	c, err := interpolate(ms[idx[d.Pilot.A]], ms[idx[d.Pilot.B]], res.scoredOn(d.Pilot.A, held), res.scoredOn(d.Pilot.B, held), held, steps)
	if err != nil {
		return err
	}
	c.Name, c.A, c.B = d.Pilot.A+" ↔ "+d.Pilot.B, byName[d.Pilot.A], byName[d.Pilot.B]
	return atomicfile.WriteJSON(filepath.Join(o.Out, "pilot.json"), c)
}

// scoredOn is the rewards Compare scored for entry name, on the whole
// splits given (the halved rank-by split put back together), or nil when
// it did not score all of them.
func (r *Result) scoredOn(name string, splits []Split) rewards {
	sc := r.scored[name]
	if sc == nil {
		return nil
	}
	out := rewards{}
	for _, s := range splits {
		if r.Selection != nil && r.Selection.Split == s.Name {
			v, ok := r.Selection.whole(sc)
			if !ok {
				return nil
			}
			out[s.Name] = v
			continue
		}
		v, ok := sc[s.Name]
		if !ok || len(v.C) != len(s.Pairs) {
			return nil
		}
		out[s.Name] = v
	}
	return out
}

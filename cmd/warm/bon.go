package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/warm-rm/warm/bon"
	"github.com/warm-rm/warm/gold"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/preset"
	"github.com/warm-rm/warm/report"
	"github.com/warm-rm/warm/reward"
	"github.com/warm-rm/warm/runlog"
	"github.com/warm-rm/warm/tokenizer"
)

func init() {
	register(&command{name: "bon", summary: "best-of-N with single, ENS and WARM rewards, judged by gold (reward vs KL)", run: runBoN})
}

// rmSpec is one reward on the command line: a single reward model, the
// prediction ensemble (ens) or the weight average (wa) of several, or the
// gold judge.
type rmSpec struct {
	Name string
	Kind string   // "single", "ens", "wa", "gold"
	Dirs []string // absolute
}

// canon is the spec as a cache key: kind and absolute directories.
func (s rmSpec) canon() string { return s.Kind + ":" + strings.Join(s.Dirs, ",") }

// rmFlags collects repeated --rm NAME=[KIND:]DIR[,DIR...] flags.
type rmFlags []string

func (r *rmFlags) String() string     { return strings.Join(*r, " ") }
func (r *rmFlags) Set(s string) error { *r = append(*r, s); return nil }

// parseRMSpec reads NAME=[single:|ens:|wa:]DIR[,DIR...]; "gold" names the
// gold judge. Relative DIRs after the first are taken relative to the
// first's parent when they do not exist as given (wa:runs/rm/member-00,member-01).
func parseRMSpec(s string) (rmSpec, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" || rest == "" {
		return rmSpec{}, fmt.Errorf("--rm %q: want NAME=[ens:|wa:]DIR[,DIR...]", s)
	}
	sp := rmSpec{Name: name, Kind: "single"}
	if rest == "gold" {
		sp.Kind = "gold"
		return sp, nil
	}
	for _, k := range []string{"single", "ens", "wa"} {
		if r, ok := strings.CutPrefix(rest, k+":"); ok {
			sp.Kind, rest = k, r
		}
	}
	parts := strings.Split(rest, ",")
	for i, d := range parts {
		if d == "" {
			return rmSpec{}, fmt.Errorf("--rm %q: empty directory", s)
		}
		if i > 0 && !fileExists(d) && !filepath.IsAbs(d) {
			if alt := filepath.Join(filepath.Dir(parts[0]), d); fileExists(alt) {
				d = alt
			}
		}
		if !fileExists(filepath.Join(d, "config.json")) {
			return rmSpec{}, fmt.Errorf("--rm %s: %s is not a model directory (no config.json)", name, d)
		}
		abs, err := filepath.Abs(d)
		if err != nil {
			return rmSpec{}, err
		}
		sp.Dirs = append(sp.Dirs, abs)
	}
	if sp.Kind == "single" && len(sp.Dirs) != 1 {
		return rmSpec{}, fmt.Errorf("--rm %s: a single reward model takes one directory (use ens: or wa: for %d)", name, len(sp.Dirs))
	}
	return sp, nil
}

// memberDirs lists a warm train run's members, best first by validation
// accuracy when its summary.json has them (the order warm eval and warm
// repro use), else by name.
func memberDirs(rm string) ([]string, error) {
	var sum struct {
		Members []struct {
			Member struct {
				Name string `json:"name"`
			} `json:"member"`
			ValAcc float64 `json:"val_acc"`
		} `json:"members"`
	}
	if runlog.ReadJSON(filepath.Join(rm, "summary.json"), &sum) == nil && len(sum.Members) > 0 {
		sort.SliceStable(sum.Members, func(i, j int) bool { return sum.Members[i].ValAcc > sum.Members[j].ValAcc })
		var dirs []string
		for _, m := range sum.Members {
			if !strings.HasPrefix(m.Member.Name, "member-") {
				continue // a --ladder run's extra models are not WARM members
			}
			d := filepath.Join(rm, m.Member.Name)
			if !fileExists(filepath.Join(d, "config.json")) {
				return nil, fmt.Errorf("%s/summary.json lists %s, which is not a model directory", rm, m.Member.Name)
			}
			dirs = append(dirs, d)
		}
		if len(dirs) > 0 {
			return dirs, nil
		}
	}
	found, err := filepath.Glob(filepath.Join(rm, "member-*"))
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, f := range found {
		if fileExists(filepath.Join(f, "config.json")) {
			dirs = append(dirs, f)
		}
	}
	sort.Strings(dirs)
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%s: no member-* model directories (run warm train first)", rm)
	}
	return dirs, nil
}

// autoSpecs builds the study's rewards from a warm train run: "single"
// (the best-ranked member), with perMember every member by its directory
// name too (the best one's scores are shared, not recomputed), and for
// each M in ms the ensemble "ensM" and the weight average "warmM" of the
// M best-ranked members. ms empty: 2 and all.
func autoSpecs(rm string, ms []int, perMember bool) ([]rmSpec, error) {
	dirs, err := memberDirs(rm)
	if err != nil {
		return nil, err
	}
	for i, d := range dirs {
		if dirs[i], err = filepath.Abs(d); err != nil {
			return nil, err
		}
	}
	if len(ms) == 0 {
		ms = []int{2, len(dirs)}
		if len(dirs) <= 2 {
			ms = []int{len(dirs)}
		}
	}
	specs := []rmSpec{{Name: "single", Kind: "single", Dirs: dirs[:1]}}
	if perMember {
		for _, d := range dirs {
			specs = append(specs, rmSpec{Name: filepath.Base(d), Kind: "single", Dirs: []string{d}})
		}
	}
	for _, m := range ms {
		if m < 1 || m > len(dirs) {
			return nil, fmt.Errorf("--m %d: %s has %d members", m, rm, len(dirs))
		}
		if m < 2 {
			continue
		}
		specs = append(specs,
			rmSpec{Name: fmt.Sprintf("ens%d", m), Kind: "ens", Dirs: dirs[:m]},
			rmSpec{Name: fmt.Sprintf("warm%d", m), Kind: "wa", Dirs: dirs[:m]})
	}
	return specs, nil
}

// parseInts reads "2,6".
func parseInts(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer list", s)
		}
		out = append(out, v)
	}
	return out, nil
}

// collectSpecs merges --members/--m and --rm flags, with gold always
// present; names must be unique.
func collectSpecs(members, ms string, rms rmFlags, perMember bool) ([]rmSpec, error) {
	var specs []rmSpec
	if members != "" {
		m, err := parseInts(ms)
		if err != nil {
			return nil, fmt.Errorf("--m: %v", err)
		}
		if specs, err = autoSpecs(members, m, perMember); err != nil {
			return nil, err
		}
	}
	for _, s := range rms {
		sp, err := parseRMSpec(s)
		if err != nil {
			return nil, err
		}
		specs = append(specs, sp)
	}
	seen := map[string]bool{}
	hasGold := false
	for _, s := range specs {
		if seen[s.Name] {
			return nil, fmt.Errorf("reward name %q given twice", s.Name)
		}
		seen[s.Name] = true
		hasGold = hasGold || s.Kind == "gold"
	}
	if !hasGold && !seen["gold"] {
		specs = append(specs, rmSpec{Name: "gold", Kind: "gold"})
	}
	return specs, nil
}

// modelCache loads each reward-model directory once.
type modelCache map[string]*model.Model

func (c modelCache) get(dir string) (*model.Model, error) {
	if m, ok := c[dir]; ok {
		return m, nil
	}
	m, err := model.Load(dir)
	if err != nil {
		return nil, err
	}
	if !m.HasRewardHead() {
		return nil, fmt.Errorf("%s is not a reward model (no score.weight)", dir)
	}
	c[dir] = m
	return m, nil
}

// scorer builds a spec's reward model: the model, an Ensemble, or the
// weight average (one model).
func (c modelCache) scorer(s rmSpec) (reward.Scorer, error) {
	var ms []*model.Model
	for _, d := range s.Dirs {
		m, err := c.get(d)
		if err != nil {
			return nil, fmt.Errorf("reward %s: %w", s.Name, err)
		}
		ms = append(ms, m)
	}
	switch s.Kind {
	case "single":
		return ms[0], nil
	case "ens":
		return reward.Ensemble(ms), nil
	case "wa":
		avg, err := reward.Average(ms, nil)
		if err != nil {
			return nil, fmt.Errorf("reward %s: %w", s.Name, err)
		}
		return avg, nil
	}
	return nil, fmt.Errorf("reward %s: kind %q has no model", s.Name, s.Kind)
}

// loadPrompts returns prompts from a JSONL file of {"prompt": ...} rows
// (preference rows qualify), deduplicated in file order; limit > 0 keeps
// the first limit.
func loadPrompts(path string, limit int) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var row struct {
			Prompt *string `json:"prompt"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		if row.Prompt == nil {
			return nil, fmt.Errorf("%s:%d: no \"prompt\" field", path, line)
		}
		p := *row.Prompt
		if strings.TrimSpace(p) == "" || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no prompts", path)
	}
	return out, nil
}

// promptSource resolves --prompts FILE or DATA/SPLIT.jsonl.
func promptSource(file, dataDir, split string) (string, error) {
	if file != "" {
		return file, nil
	}
	p := filepath.Join(dataDir, split+".jsonl")
	if !fileExists(p) {
		return "", fmt.Errorf("no prompts: %s does not exist (run warm data, or give --prompts FILE)", p)
	}
	return p, nil
}

// fitPrompts drops prompts that leave no room for maxNew tokens in the
// policy's context, saying how many.
func fitPrompts(tok *tokenizer.Tokenizer, prompts []string, ctx, maxNew int, verb string) []string {
	var out []string
	for _, p := range prompts {
		if n := len(tok.Encode(p)); n > 0 && n+maxNew <= ctx {
			out = append(out, p)
		}
	}
	if d := len(prompts) - len(out); d > 0 {
		fmt.Fprintf(os.Stderr, "warm %s: skipped %d prompts too long for %d new tokens in a context of %d\n", verb, d, maxNew, ctx)
	}
	return out
}

// bonMeta identifies a sample pool, so that a rerun reuses it only when
// nothing that shaped it changed.
type bonMeta struct {
	Policy      string            `json:"policy"`
	PolicyStamp string            `json:"policy_stamp"`
	Prompts     string            `json:"prompts_sha256"`
	N           int               `json:"n_max"`
	MinNew      int               `json:"min_new"`
	MaxNew      int               `json:"max_new"`
	Temperature float64           `json:"temperature"`
	Seed        uint64            `json:"seed"`
	Rewards     map[string]string `json:"rewards"` // name → canonical spec of the cached scores
}

func (m bonMeta) samePool(o bonMeta) bool {
	return m.Policy == o.Policy && m.PolicyStamp == o.PolicyStamp && m.Prompts == o.Prompts && m.N == o.N &&
		m.MinNew == o.MinNew && m.MaxNew == o.MaxNew && m.Temperature == o.Temperature && m.Seed == o.Seed
}

// stamp is a cheap identity of a model directory's weights: size and
// modification time of its safetensors files.
func stamp(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	h := sha256.New()
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			fmt.Fprintf(h, "%s %d %d\n", filepath.Base(f), st.Size(), st.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func hashStrings(xs []string) string {
	h := sha256.New()
	for _, x := range xs {
		fmt.Fprintf(h, "%d:%s", len(x), x)
	}
	return hex.EncodeToString(h.Sum(nil))
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
	or := func(v, d int) int {
		if v > 0 {
			return v
		}
		return d
	}
	P, N, lo, hi := or(*nPrompts, st.BoNPrompts), or(*nMax, st.BoNMaxN), or(*minNew, st.MinNew), or(*maxNew, st.MaxNew)
	specs, err := collectSpecs(*members, *ms, rms, true)
	if err != nil {
		return err
	}
	if len(specs) == 1 {
		return fmt.Errorf("%w: no reward models: give --members RM_RUN or --rm NAME=DIR", errUsage)
	}
	src, err := promptSource(*promptsFile, *dataDir, *split)
	if err != nil {
		return err
	}
	policyAbs, err := filepath.Abs(*policyDir)
	if err != nil {
		return err
	}
	tok, err := tokenizer.Load(*policyDir)
	if err != nil {
		return fmt.Errorf("policy tokenizer: %w", err)
	}
	policyCfg, err := model.ReadConfig(filepath.Join(*policyDir, "config.json"))
	if err != nil {
		return err
	}
	prompts, err := loadPrompts(src, 0)
	if err != nil {
		return err
	}
	prompts = fitPrompts(tok, prompts, policyCfg.NPositions, hi, "bon")
	if len(prompts) > P {
		prompts = prompts[:P]
	}
	if len(prompts) == 0 {
		return fmt.Errorf("%s: no usable prompts", src)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	start := time.Now()
	meta := bonMeta{Policy: policyAbs, PolicyStamp: stamp(policyAbs), Prompts: hashStrings(prompts), N: N, MinNew: lo, MaxNew: hi,
		Temperature: *temp, Seed: *seed, Rewards: map[string]string{}}
	samplesPath, metaPath := filepath.Join(*out, "samples.jsonl"), filepath.Join(*out, "samples.meta.json")
	var pool *bon.Pool
	scores := map[string][][]float64{}
	var old bonMeta
	if runlog.ReadJSON(metaPath, &old) == nil && old.samePool(meta) {
		if p, s, err := bon.ReadSamples(samplesPath); err == nil && len(p.Prompts) == len(prompts) {
			pool = p
			for name, canon := range old.Rewards {
				if s[name] != nil {
					scores[name] = s[name]
					meta.Rewards[name] = canon
				}
			}
			fmt.Fprintf(os.Stderr, "warm bon: reusing %d×%d samples from %s (%d cached reward scores)\n", len(p.Prompts), N, samplesPath, len(scores))
		}
	}
	if pool == nil {
		policy, err := model.Load(*policyDir)
		if err != nil {
			return err
		}
		if policy.HasRewardHead() {
			return fmt.Errorf("%s is a reward model, not a policy", *policyDir)
		}
		fmt.Fprintf(os.Stderr, "warm bon: sampling %d responses for each of %d prompts (%d–%d tokens, temperature %g)\n", N, len(prompts), lo, hi, *temp)
		pool, err = bon.Sample(policy, tok, prompts, bon.SampleOptions{N: N, MinNew: lo, MaxNew: hi, Temperature: *temp, Seed: *seed, Progress: os.Stderr})
		if err != nil {
			return err
		}
	}
	// Score: the ENS of members reuses the members' tables (the mean of
	// their rewards), so each model runs once.
	cache := modelCache{}
	byCanon := map[string][][]float64{}
	for name, canon := range meta.Rewards {
		byCanon[canon] = scores[name]
	}
	var scoreSpec func(s rmSpec) ([][]float64, error)
	scoreSpec = func(s rmSpec) ([][]float64, error) {
		if t, ok := byCanon[s.canon()]; ok {
			return t, nil
		}
		t0 := time.Now()
		var t [][]float64
		switch s.Kind {
		case "gold":
			t = bon.ScoreJudge(gold.NewVADER(), pool)
		case "ens":
			var parts [][][]float64
			for _, d := range s.Dirs {
				pt, err := scoreSpec(rmSpec{Name: s.Name + "/" + filepath.Base(d), Kind: "single", Dirs: []string{d}})
				if err != nil {
					return nil, err
				}
				parts = append(parts, pt)
			}
			t = bon.Mean(parts...)
		default:
			sc, err := cache.scorer(s)
			if err != nil {
				return nil, err
			}
			m, _ := cache.get(s.Dirs[0])
			t = bon.ScoreModel(sc, tok, pool, m.Config.NPositions)
		}
		byCanon[s.canon()] = t
		fmt.Fprintf(os.Stderr, "warm bon: scored %s (%s, %d models) in %.1fs\n", s.Name, s.Kind, len(s.Dirs), time.Since(t0).Seconds())
		return t, nil
	}
	var names []string
	goldName := ""
	for _, s := range specs {
		t, err := scoreSpec(s)
		if err != nil {
			return err
		}
		scores[s.Name] = t
		meta.Rewards[s.Name] = s.canon()
		names = append(names, s.Name)
		if s.Kind == "gold" && goldName == "" {
			goldName = s.Name
		}
	}
	if err := bon.WriteSamples(samplesPath, pool, scores); err != nil {
		return err
	}
	if err := runlog.WriteJSON(metaPath, meta); err != nil {
		return err
	}
	ns := bon.Ns(N)
	curves, err := bon.Curves(scores, names, goldName, ns)
	if err != nil {
		return err
	}
	pairs, err := duelPairs(*vs, specs)
	if err != nil {
		return err
	}
	var duels []bon.Duel
	for _, p := range pairs {
		d, err := bon.WinRate(scores, p[0], p[1], goldName, ns)
		if err != nil {
			return err
		}
		duels = append(duels, d)
	}
	res := struct {
		Policy  string            `json:"policy"`
		Prompts int               `json:"prompts"`
		NMax    int               `json:"n_max"`
		MinNew  int               `json:"min_new"`
		MaxNew  int               `json:"max_new"`
		Temp    float64           `json:"temperature"`
		Seed    uint64            `json:"seed"`
		Gold    string            `json:"gold"`
		Rewards map[string]string `json:"rewards"`
		Curves  []bon.Curve       `json:"curves"`
		Duels   []bon.Duel        `json:"win_rates"`
		Seconds float64           `json:"seconds"`
	}{policyAbs, len(pool.Prompts), N, lo, hi, *temp, *seed, goldName, meta.Rewards, curves, duels, time.Since(start).Seconds()}
	if err := runlog.WriteJSON(filepath.Join(*out, "bon.json"), res); err != nil {
		return err
	}
	if err := plotBoN(*out, curves, goldName); err != nil {
		return err
	}
	printBoN(curves, duels, len(pool.Prompts))
	fmt.Fprintf(os.Stderr, "warm bon: wrote %s/bon.json, bon_gold_vs_kl.png, bon_proxy_vs_kl.png, samples.jsonl (%.0fs)\n", *out, time.Since(start).Seconds())
	return nil
}

// duelPairs parses --vs, or picks the largest warmM against single.
func duelPairs(vs string, specs []rmSpec) ([][2]string, error) {
	have := map[string]bool{}
	for _, s := range specs {
		have[s.Name] = true
	}
	var out [][2]string
	if vs == "" {
		best, bestM := "", 0
		for _, s := range specs {
			if m, err := strconv.Atoi(strings.TrimPrefix(s.Name, "warm")); err == nil && strings.HasPrefix(s.Name, "warm") && m > bestM {
				best, bestM = s.Name, m
			}
		}
		if best != "" && have["single"] {
			out = append(out, [2]string{best, "single"})
		}
		return out, nil
	}
	for _, p := range strings.Split(vs, ",") {
		a, b, ok := strings.Cut(p, ":")
		if !ok || !have[a] || !have[b] {
			return nil, fmt.Errorf("--vs %q: want A:B with both reward names given", p)
		}
		out = append(out, [2]string{a, b})
	}
	return out, nil
}

// plotBoN draws gold vs KL and standardised proxy vs KL. Members other
// than "single", and gold as its own proxy (the oracle: an upper bound
// several times higher, which would flatten the other curves), are left
// out of the plots; they are in bon.json and the table.
func plotBoN(out string, curves []bon.Curve, goldName string) error {
	var gs, ps []report.Series
	for _, c := range curves {
		if strings.HasPrefix(c.Reward, "member-") || c.Reward == goldName {
			continue
		}
		gs = append(gs, report.Series{Name: c.Reward, X: c.KL, Y: c.Gold, Err: c.GoldErr})
		ps = append(ps, report.Series{Name: c.Reward, X: c.KL, Y: finiteOr0(c.ProxyZ), Err: finiteOr0(c.ProxyZErr)})
	}
	if len(gs) == 0 {
		return nil
	}
	if err := report.LinePlot(filepath.Join(out, "bon_gold_vs_kl.png"), "Best-of-N: gold reward of the pick (mean ± s.e. over prompts)",
		"KL_bon = log N − (N−1)/N (nats)", "gold reward (VADER compound)", gs); err != nil {
		return err
	}
	return report.LinePlot(filepath.Join(out, "bon_proxy_vs_kl.png"), "Best-of-N: proxy reward of the pick, standardised per reward on the samples",
		"KL_bon = log N − (N−1)/N (nats)", "proxy reward (z-score)", ps)
}

func finiteOr0(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		if v == v && v-v == 0 {
			out[i] = v
		}
	}
	return out
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

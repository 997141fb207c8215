package bon

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/internal/runlog"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/kit/tokenizer"
	"github.com/warm-rm/warm/study/gold"
	"github.com/warm-rm/warm/study/prefgen"
)

// RunOptions are one `warm bon` run's settings.
type RunOptions struct {
	Policy      string        // policy directory (HF GPT2LMHeadModel with tokenizer files)
	PromptFile  string        // JSONL with a "prompt" per row
	Specs       []reward.Spec // rewards to compare; one should be gold
	Prompts     int           // prompts at most
	N           int           // N_max: samples per prompt
	MinNew      int           // response length range in tokens
	MaxNew      int
	Temperature float64
	Seed        uint64
	Vs          string     // win rates "A:B[,A:B...]"; "": the largest warmM against single
	Judge       gold.Judge // the gold judge scoring the "gold" reward (nil: VADER)
	JudgeName   string     // identifies Judge in the score cache (gold.Parse's description)
	Out         string     // output directory
	// PoolDir caches the sample pool and its scores (samples.jsonl,
	// samples.meta.json; "": Out). Runs with the same policy, prompts and
	// sampling settings share it: the label settings of a study sample
	// once.
	PoolDir string
	Log     io.Writer // progress; nil: quiet
}

// Result is OUT/bon.json.
type Result struct {
	Policy  string            `json:"policy"`
	Prompts int               `json:"prompts"`
	NMax    int               `json:"n_max"`
	MinNew  int               `json:"min_new"`
	MaxNew  int               `json:"max_new"`
	Temp    float64           `json:"temperature"`
	Seed    uint64            `json:"seed"`
	Gold    string            `json:"gold"`
	Rewards map[string]string `json:"rewards"`
	Curves  []Curve           `json:"curves"`
	Duels   []Duel            `json:"win_rates"`
	// PerPrompt is, per reward and per prompt (the pool's order), the
	// expected gold of the best-of-N pick at N = NMax: the paired unit of
	// the claims table's BoN rows.
	PerPrompt *PerPrompt `json:"per_prompt,omitempty"`
	Seconds   float64    `json:"seconds"`
}

// PerPrompt is bon.json's per_prompt field.
type PerPrompt struct {
	N    int                  `json:"n"`
	Gold map[string][]float64 `json:"gold"`
	// Ns and GoldByN are the same at every N of the curve:
	// GoldByN[reward][k][p] is prompt p's expected gold at N = Ns[k]
	// (the claims decide "as N grows" over all of them at once).
	Ns      []int                  `json:"ns,omitempty"`
	GoldByN map[string][][]float64 `json:"gold_by_n,omitempty"`
}

// meta identifies a sample pool, so that a rerun reuses it only when
// nothing that shaped it changed.
type meta struct {
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

func (m meta) samePool(o meta) bool {
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

func logf(w io.Writer, format string, a ...any) {
	if w != nil {
		fmt.Fprintf(w, format, a...)
	}
}

// Run samples N_max responses per prompt once (cached in OUT/samples.jsonl
// with their scores; reused when the policy, prompts and sampling settings
// are unchanged), scores them with every reward, and writes the curves and
// win rates to OUT/bon.json.
func Run(o RunOptions) (*Result, error) {
	start := time.Now()
	policyAbs, err := filepath.Abs(o.Policy)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(o.Policy)
	if err != nil {
		return nil, fmt.Errorf("policy tokenizer: %w", err)
	}
	policyCfg, err := model.ReadConfig(filepath.Join(o.Policy, "config.json"))
	if err != nil {
		return nil, err
	}
	ps, err := prefdata.ReadPrompts(o.PromptFile)
	if err != nil {
		return nil, err
	}
	prompts := prefdata.PromptTexts(prefdata.UniquePrompts(ps, 0))
	prompts, dropped := prefgen.FitPrompts(tok, prompts, policyCfg.NPositions, o.MaxNew)
	if dropped > 0 {
		logf(o.Log, "warm bon: skipped %d prompts too long for %d new tokens in a context of %d\n", dropped, o.MaxNew, policyCfg.NPositions)
	}
	if len(prompts) > o.Prompts {
		prompts = prompts[:o.Prompts]
	}
	if len(prompts) == 0 {
		return nil, fmt.Errorf("%s: no usable prompts", o.PromptFile)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	mt := meta{Policy: policyAbs, PolicyStamp: stamp(policyAbs), Prompts: hashStrings(prompts), N: o.N, MinNew: o.MinNew, MaxNew: o.MaxNew,
		Temperature: o.Temperature, Seed: o.Seed, Rewards: map[string]string{}}
	poolDir := o.PoolDir
	if poolDir == "" {
		poolDir = o.Out
	} else if err := os.MkdirAll(poolDir, 0o755); err != nil {
		return nil, err
	}
	samplesPath, metaPath := filepath.Join(poolDir, "samples.jsonl"), filepath.Join(poolDir, "samples.meta.json")
	// Runs in one process that share a pool (warm repro's label settings,
	// side by side) take turns on it: the first samples and writes the
	// pool at once, the others wait for it instead of sampling their own,
	// then each scores with its own models concurrently.
	unlock := lockPool(poolDir)
	pool, scores := reusePool(o, mt, prompts, samplesPath, metaPath)
	if pool == nil {
		if pool, err = samplePool(o, tok, prompts); err == nil {
			err = writePool(samplesPath, metaPath, pool, scores, mt)
		}
	}
	unlock()
	if err != nil {
		return nil, err
	}
	names, goldName, err := scoreAll(o, tok, pool, scores, mt.Rewards)
	if err != nil {
		return nil, err
	}
	unlock = lockPool(poolDir)
	err = writePool(samplesPath, metaPath, pool, scores, mt)
	unlock()
	if err != nil {
		return nil, err
	}
	ns := Ns(o.N)
	curves, err := Curves(scores, names, goldName, ns)
	if err != nil {
		return nil, err
	}
	pairs, err := DuelPairs(o.Vs, names)
	if err != nil {
		return nil, err
	}
	var duels []Duel
	for _, p := range pairs {
		d, err := WinRate(scores, p[0], p[1], goldName, ns)
		if err != nil {
			return nil, err
		}
		duels = append(duels, d)
	}
	pp, err := PromptGold(scores, names, goldName, o.N)
	if err != nil {
		return nil, err
	}
	res := &Result{policyAbs, len(pool.Prompts), o.N, o.MinNew, o.MaxNew, o.Temperature, o.Seed, goldName, mt.Rewards, curves, duels, pp, time.Since(start).Seconds()}
	return res, atomicfile.WriteJSON(filepath.Join(o.Out, "bon.json"), res)
}

// poolLocks holds a mutex per pool directory (lockPool).
var poolLocks sync.Map

// lockPool locks the pool in dir for this process and returns the unlock.
func lockPool(dir string) func() {
	key, err := filepath.Abs(dir)
	if err != nil {
		key = filepath.Clean(dir)
	}
	mu, _ := poolLocks.LoadOrStore(key, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	return mu.(*sync.Mutex).Unlock
}

// writePool writes the pool with the scores it has and the metadata that
// names them: the samples first, so that metadata never names scores
// the samples file lacks (reusePool checks each name against it).
func writePool(samplesPath, metaPath string, pool *Pool, scores map[string][][]float64, mt meta) error {
	if err := WriteSamples(samplesPath, pool, scores); err != nil {
		return err
	}
	return atomicfile.WriteJSON(metaPath, mt)
}

// reusePool returns the cached pool and the scores whose rewards are
// unchanged, or nil when the cache does not match.
func reusePool(o RunOptions, mt meta, prompts []string, samplesPath, metaPath string) (*Pool, map[string][][]float64) {
	scores := map[string][][]float64{}
	var old meta
	if runlog.ReadJSON(metaPath, &old) != nil || !old.samePool(mt) {
		return nil, scores
	}
	p, s, err := ReadSamples(samplesPath)
	if err != nil || len(p.Prompts) != len(prompts) {
		return nil, scores
	}
	for name, canon := range old.Rewards {
		if s[name] != nil {
			scores[name] = s[name]
			mt.Rewards[name] = canon
		}
	}
	logf(o.Log, "warm bon: reusing %d×%d samples from %s (%d cached reward scores)\n", len(p.Prompts), o.N, samplesPath, len(scores))
	return p, scores
}

func samplePool(o RunOptions, tok *tokenizer.Tokenizer, prompts []string) (*Pool, error) {
	policy, err := model.Load(o.Policy)
	if err != nil {
		return nil, err
	}
	if policy.HasRewardHead() {
		return nil, fmt.Errorf("%s is a reward model, not a policy", o.Policy)
	}
	logf(o.Log, "warm bon: sampling %d responses for each of %d prompts (%d–%d tokens, temperature %g)\n", o.N, len(prompts), o.MinNew, o.MaxNew, o.Temperature)
	var progress io.Writer
	if o.Log != nil {
		progress = o.Log
	}
	return Sample(policy, tok, prompts, SampleOptions{N: o.N, MinNew: o.MinNew, MaxNew: o.MaxNew, Temperature: o.Temperature, Seed: o.Seed, Progress: progress})
}

// scoreAll scores the pool with every spec (cached tables reused; the ENS
// of members reuses the members' tables, the mean of their rewards, so
// each model runs once), filling scores and canon (name → canonical spec).
func scoreAll(o RunOptions, tok *tokenizer.Tokenizer, pool *Pool, scores map[string][][]float64, canon map[string]string) (names []string, goldName string, err error) {
	cache := reward.Cache{}
	byCanon := map[string][][]float64{}
	for name, c := range canon {
		byCanon[c] = scores[name]
	}
	// key identifies a reward's scores in the cache: its canonical spec,
	// and for the gold judge which judge it is (a pool scored by VADER
	// must not serve a run judged by a reward model).
	key := func(s reward.Spec) string {
		if s.Kind == reward.KindGold {
			return s.Canon() + "|" + o.JudgeName
		}
		return s.Canon()
	}
	var scoreSpec func(s reward.Spec) ([][]float64, error)
	scoreSpec = func(s reward.Spec) ([][]float64, error) {
		if t, ok := byCanon[key(s)]; ok {
			return t, nil
		}
		t0 := time.Now()
		var t [][]float64
		switch s.Kind {
		case reward.KindGold:
			j := o.Judge
			if j == nil {
				j = gold.NewVADER()
			}
			t = ScoreJudge(j, pool)
		case reward.KindENS:
			var parts [][][]float64
			for _, d := range s.Dirs {
				pt, err := scoreSpec(reward.Spec{Name: s.Name + "/" + filepath.Base(d), Kind: reward.KindSingle, Dirs: []string{d}})
				if err != nil {
					return nil, err
				}
				parts = append(parts, pt)
			}
			t = Mean(parts...)
		default:
			m, err := cache.Model(s)
			if err != nil {
				return nil, err
			}
			if t, err = ScoreModel(reward.TextScorer{Model: m, Tok: tok}, pool); err != nil {
				return nil, fmt.Errorf("reward %s: %w", s.Name, err)
			}
		}
		byCanon[key(s)] = t
		logf(o.Log, "warm bon: scored %s (%s, %d models) in %.1fs\n", s.Name, s.Kind, len(s.Dirs), time.Since(t0).Seconds())
		return t, nil
	}
	for _, s := range o.Specs {
		t, err := scoreSpec(s)
		if err != nil {
			return nil, "", err
		}
		scores[s.Name] = t
		canon[s.Name] = key(s)
		names = append(names, s.Name)
		if s.Kind == reward.KindGold && goldName == "" {
			goldName = s.Name
		}
	}
	return names, goldName, nil
}

// DuelPairs parses vs ("A:B[,A:B...]", both names among names), or, when
// vs is empty, picks the largest warmM against single.
func DuelPairs(vs string, names []string) ([][2]string, error) {
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	var out [][2]string
	if vs == "" {
		best, bestM := "", 0
		for _, n := range names {
			if m, err := strconv.Atoi(strings.TrimPrefix(n, "warm")); err == nil && strings.HasPrefix(n, "warm") && m > bestM {
				best, bestM = n, m
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

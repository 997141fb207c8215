// Package rl optimises a policy against a reward model with a KL penalty to
// a reference policy (WARM paper §5, Fig 8–9): REINFORCE with a
// leave-one-out baseline (RLOO, Ahmadian et al. 2024) on the sequence-level
// reward
//
//	R(x, y) = RM(x, y) − α · Σ_t [log π(y_t|x,y_<t) − log π_ref(y_t|x,y_<t)],
//
// logging the gold judge alongside, so that reward hacking (proxy up, gold
// down as KL grows) is visible. The reference is the starting (SFT) policy,
// or, with EMAAnchor > 0, an exponential moving average of the policy
// (WARP's EMA anchor, arXiv 2406.16768).
package rl

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/internal/mix"
	"github.com/warm-rm/warm/internal/runlog"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/optim"
	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/kit/safetensors"
	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/kit/tokenizer"
	"github.com/warm-rm/warm/study/gold"
)

// Judge scores a response to a prompt (gold.Judge satisfies it).
type Judge interface {
	Score(prompt, response string) float64
}

// Reward scores responses to prompts, as text. The text is what a reward
// model was trained on (prompt+response, no stop token), so that a policy
// is scored exactly like the preference data: reward.TextScorer is one.
type Reward interface {
	Responses(prompts, responses []string) ([]float64, error)
}

// JudgeReward is a judge as a Reward (the gold judge as proxy: an upper
// bound, nothing to hack), scored in parallel.
type JudgeReward struct{ Judge Judge }

// Responses implements Reward.
func (j JudgeReward) Responses(prompts, responses []string) ([]float64, error) {
	return gold.Batch(j.Judge, prompts, responses), nil
}

// Config is one RL run's settings. The random state of step s is derived
// from (Seed, s) alone, so a resumed run repeats the steps it lost exactly.
type Config struct {
	Steps       int     `json:"steps"`
	Prompts     int     `json:"prompts_per_step"`
	K           int     `json:"samples_per_prompt"` // RLOO k (≥ 2 for the rloo baseline)
	LR          float64 `json:"lr"`
	Warmup      int     `json:"warmup"` // linear warm-up steps, then constant
	WeightDecay float64 `json:"weight_decay"`
	ClipNorm    float64 `json:"clip_norm"` // 0: no clipping
	KLCoef      float64 `json:"kl_coef"`   // α
	Temperature float64 `json:"temperature"`
	MaxNew      int     `json:"max_new"` // response tokens at most (the stop token ends one earlier)
	// Baseline is "rloo" (mean reward of the other k−1 samples of the same
	// prompt) or "mean" (a running mean of the batch reward, decay
	// BaselineDecay: works with k = 1).
	Baseline      string  `json:"baseline"`
	BaselineDecay float64 `json:"baseline_decay"`
	EMAAnchor     float64 `json:"ema_anchor"` // 0: reference = the initial policy
	CkptEvery     int     `json:"ckpt_every"` // 0: only at the end
	Seed          uint64  `json:"seed"`
	// StandardizePool is the number of samples of the initial policy on
	// which RunStudy z-scores the proxy reward before RL (0: raw reward),
	// so that α and lr mean the same for rewards of different scales
	// (single, ENS, WA). The pool is fixed: the same prompts and seed for
	// every reward.
	StandardizePool int `json:"standardize_pool"`
}

// Validate checks the settings.
func (c Config) Validate() error {
	switch {
	case c.Steps < 1 || c.Prompts < 1 || c.K < 1:
		return fmt.Errorf("rl: steps, prompts per step and samples per prompt must be ≥ 1 (got %d, %d, %d)", c.Steps, c.Prompts, c.K)
	case c.Baseline != "rloo" && c.Baseline != "mean":
		return fmt.Errorf("rl: baseline %q is not rloo or mean", c.Baseline)
	case c.Baseline == "rloo" && c.K < 2:
		return fmt.Errorf("rl: the rloo baseline needs ≥ 2 samples per prompt (got %d); use the mean baseline", c.K)
	case c.Baseline == "mean" && !(c.BaselineDecay >= 0 && c.BaselineDecay < 1):
		return fmt.Errorf("rl: baseline decay %g outside [0, 1)", c.BaselineDecay)
	case !(c.LR > 0) || c.KLCoef < 0 || !(c.Temperature > 0) || c.MaxNew < 1:
		return fmt.Errorf("rl: need lr > 0, kl coef ≥ 0, temperature > 0, max new ≥ 1 (got %g, %g, %g, %d)", c.LR, c.KLCoef, c.Temperature, c.MaxNew)
	case c.EMAAnchor < 0 || c.EMAAnchor > 1:
		return fmt.Errorf("rl: EMA anchor rate %g outside [0, 1]", c.EMAAnchor)
	}
	return nil
}

// Run is one RL run: the policy (trained in place), its tokenizer, the
// prompt pool, the proxy reward it optimises and the gold judge it is
// measured by (nil: not measured).
type Run struct {
	Policy   *model.Model
	Tok      *tokenizer.Tokenizer
	Prompts  []string
	Proxy    Reward
	Gold     Judge
	Config   Config
	Out      string    // run directory: metrics.jsonl, ckpt-STEP/, final/, summary.json
	Progress io.Writer // nil: quiet

	// StopAfter, when > 0, ends Train after that many steps of this call,
	// without a final checkpoint: a kill, for tests.
	StopAfter int
}

// Step is one line of metrics.jsonl.
type Step struct {
	Step     int     `json:"step"`
	Proxy    float64 `json:"proxy"`   // mean RM reward of the step's samples
	Gold     float64 `json:"gold"`    // mean gold score (NaN-free: 0 without a judge)
	KL       float64 `json:"kl"`      // mean sequence KL(π‖π_ref): k3 summed over tokens (≥ 0, unbiased)
	KLk1     float64 `json:"kl_k1"`   // the same with k1 = log π − log π_ref (unbiased, can be < 0)
	Reward   float64 `json:"reward"`  // mean shaped reward proxy − α·KL
	Entropy  float64 `json:"entropy"` // mean −log π(y_t) per response token
	Length   float64 `json:"length"`  // mean response tokens (stop token included)
	LR       float64 `json:"lr"`
	GradNorm float64 `json:"grad_norm"` // before clipping
	Seconds  float64 `json:"seconds"`   // this step's wall time
}

// Summary is summary.json.
type Summary struct {
	Config   Config  `json:"config"`
	Steps    int     `json:"steps_done"`
	Final    Step    `json:"final"`
	PeakGold float64 `json:"peak_gold"` // of the smoothed gold curve
	PeakStep int     `json:"peak_gold_step"`
	PeakKL   float64 `json:"peak_gold_kl"`
	EndGold  float64 `json:"end_gold"` // smoothed gold at the last step (same window as the peak)
	Seconds  float64 `json:"seconds"`
	Resumed  int     `json:"resumed_from_step"`
	// RewardMean and RewardStd are the proxy's mean and standard deviation
	// on the standardisation pool (0 and 1 without one).
	RewardMean float64 `json:"reward_mean"`
	RewardStd  float64 `json:"reward_std"`
	FinalDir   string  `json:"final_policy"`
	PromptsN   int     `json:"prompt_pool"`
	Completed  bool    `json:"completed"`
}

// state is a checkpoint's non-tensor state.
type state struct {
	Step     int     `json:"step"` // steps done
	Baseline float64 `json:"baseline"`
	HasBase  bool    `json:"has_baseline"`
	Seconds  float64 `json:"seconds"`
}

const (
	optimFile  = "optimizer.safetensors"
	stateFile  = "state.json"
	anchorDir  = "anchor"
	configFile = "config.json"
)

// Train runs (or resumes) the RL loop. If r.Out holds checkpoints of a run
// with the same settings, it continues from the last one.
func Train(r Run) (*Summary, error) {
	cfg := r.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(r.Prompts) == 0 {
		return nil, fmt.Errorf("rl: no prompts")
	}
	if r.Policy.HasRewardHead() {
		return nil, fmt.Errorf("rl: the policy has a reward head (a reward model, not a language model)")
	}
	if err := os.MkdirAll(r.Out, 0o755); err != nil {
		return nil, err
	}
	promptIDs := make([][]int, len(r.Prompts))
	for i, p := range r.Prompts {
		promptIDs[i] = r.Tok.Encode(p)
		if len(promptIDs[i]) == 0 {
			return nil, fmt.Errorf("rl: prompt %d is empty", i+1)
		}
		if len(promptIDs[i])+cfg.MaxNew > r.Policy.Config.NPositions {
			return nil, fmt.Errorf("rl: prompt %d has %d tokens: with %d new ones it exceeds the policy's context of %d", i+1, len(promptIDs[i]), cfg.MaxNew, r.Policy.Config.NPositions)
		}
	}
	cfgPath := filepath.Join(r.Out, "rl_config.json")
	var st state
	policy := r.Policy
	ref := policy.Clone()
	groups, err := optim.Groups(policy, optim.TrainAll, cfg.WeightDecay)
	if err != nil {
		return nil, err
	}
	opt := optim.NewAdamW(groups...)
	metricsPath := filepath.Join(r.Out, "metrics.jsonl")
	if dir, step := LastCheckpoint(r.Out); dir != "" {
		var old Config
		if err := runlog.ReadJSON(cfgPath, &old); err != nil {
			return nil, fmt.Errorf("rl: %s has checkpoints but no readable settings: %w (use a new output directory)", r.Out, err)
		}
		if old != cfg {
			return nil, fmt.Errorf("rl: %s holds a run with other settings (%+v); use a new output directory or the same flags", r.Out, old)
		}
		if err := runlog.ReadJSON(filepath.Join(dir, stateFile), &st); err != nil {
			return nil, err
		}
		m, err := model.Load(dir)
		if err != nil {
			return nil, fmt.Errorf("rl: resume from %s: %w", dir, err)
		}
		if err := reward.Compatible(policy, m); err != nil {
			return nil, fmt.Errorf("rl: resume from %s: checkpoint does not match the policy: %w", dir, err)
		}
		copy(policy.Weights(), m.Weights())
		if err := opt.LoadState(filepath.Join(dir, optimFile)); err != nil {
			return nil, fmt.Errorf("rl: resume: %w", err)
		}
		if cfg.EMAAnchor > 0 {
			a, err := model.Load(filepath.Join(dir, anchorDir))
			if err != nil {
				return nil, fmt.Errorf("rl: resume anchor: %w", err)
			}
			copy(ref.Weights(), a.Weights())
		}
		if err := runlog.TrimMetrics(metricsPath, step); err != nil {
			return nil, err
		}
		if r.Progress != nil {
			fmt.Fprintf(r.Progress, "rl: resuming from %s (step %d of %d)\n", dir, step, cfg.Steps)
		}
	} else {
		if err := os.Remove(metricsPath); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		if err := atomicfile.WriteJSON(cfgPath, cfg); err != nil {
			return nil, err
		}
	}
	resumed := st.Step
	metrics, err := runlog.OpenMetrics(metricsPath)
	if err != nil {
		return nil, err
	}
	defer metrics.Close()
	sched := optim.Schedule{Peak: cfg.LR, Warmup: cfg.Warmup, Total: cfg.Steps, Kind: "constant"}
	prog := runlog.NewProgress(r.Progress, "rl", "steps", cfg.Steps, st.Step)
	var last Step
	for step := st.Step; step < cfg.Steps; step++ {
		if r.StopAfter > 0 && step-resumed >= r.StopAfter {
			return nil, ErrStopped
		}
		t0 := time.Now()
		rec, err := trainStep(&r, policy, ref, opt, promptIDs, step, &st, sched.LR(step))
		if err != nil {
			return nil, err
		}
		rec.Seconds = time.Since(t0).Seconds()
		st.Step = step + 1
		st.Seconds += rec.Seconds
		if err := metrics.Log(stepMap(rec)); err != nil {
			return nil, err
		}
		last = rec
		prog.Update(st.Step, fmt.Sprintf("proxy %.3f gold %.3f kl %.2f len %.1f", rec.Proxy, rec.Gold, rec.KL, rec.Length))
		if st.Step == cfg.Steps || (cfg.CkptEvery > 0 && st.Step%cfg.CkptEvery == 0) {
			if err := saveCheckpoint(r.Out, policy, ref, opt, r.Tok, st, cfg.EMAAnchor > 0); err != nil {
				return nil, err
			}
		}
	}
	prog.Done("")
	final := filepath.Join(r.Out, "final")
	if err := saveModel(final, policy, r.Tok); err != nil {
		return nil, err
	}
	steps, err := ReadMetrics(metricsPath)
	if err != nil {
		return nil, err
	}
	if len(steps) > 0 {
		last = steps[len(steps)-1]
	}
	sum := &Summary{Config: cfg, Steps: st.Step, Final: last, Seconds: st.Seconds, Resumed: resumed,
		FinalDir: final, PromptsN: len(r.Prompts), Completed: true}
	sum.PeakStep, sum.PeakGold, sum.PeakKL = Peak(steps, SmoothWindow(len(steps)))
	sum.EndGold = EndGold(steps, SmoothWindow(len(steps)))
	if err := atomicfile.WriteJSON(filepath.Join(r.Out, "summary.json"), sum); err != nil {
		return nil, err
	}
	return sum, nil
}

// ErrStopped is returned when Run.StopAfter ends a run early.
var ErrStopped = fmt.Errorf("rl: stopped early (StopAfter)")

// promptBatch returns the prompt indices of a step: passes over a seeded
// shuffle of the pool, reshuffled each epoch, so that a step's prompts
// depend on (seed, step) only.
func promptBatch(n, per int, seed uint64, step int) []int {
	out := make([]int, per)
	var perm []int
	epoch := -1
	for i := range out {
		g := step*per + i
		if e := g / n; e != epoch {
			epoch = e
			perm = rand.New(rand.NewPCG(seed, uint64(e)+0x5eed)).Perm(n)
		}
		out[i] = perm[g%n]
	}
	return out
}

func trainStep(r *Run, policy, ref *model.Model, opt *optim.AdamW, promptIDs [][]int, step int, st *state, lr float64) (Step, error) {
	cfg := r.Config
	eot := r.Tok.EOT()
	idx := promptBatch(len(promptIDs), cfg.Prompts, cfg.Seed, step)
	B := cfg.Prompts * cfg.K
	rows := make([][]int, 0, B)
	prompts := make([]string, 0, B)
	for _, i := range idx {
		for k := 0; k < cfg.K; k++ {
			rows = append(rows, promptIDs[i])
			prompts = append(prompts, r.Prompts[i])
		}
	}
	outs := generate(policy, rows, cfg.MaxNew, cfg.Temperature, cfg.Seed^(uint64(step)+1)*mix.Golden, eot)
	seqs := make([][]int, B)
	responses := make([]string, B)
	for b := range rows {
		resp := outs[b]
		if len(resp) == 0 {
			return Step{}, fmt.Errorf("rl: step %d: the policy produced no token for row %d", step+1, b)
		}
		seqs[b] = append(append(make([]int, 0, len(rows[b])+len(resp)), rows[b]...), resp...)
		text := resp
		if text[len(text)-1] == eot {
			text = text[:len(text)-1]
		}
		responses[b] = r.Tok.Decode(text)
	}
	// Reference log-probs first: ref is another model, so the policy's
	// pass below stays valid for the backward.
	// Log-probabilities at the sampling temperature, for the policy and
	// the reference alike: the samples come from softmax(logits/T), so
	// the policy gradient and the KL are those of that distribution.
	mode := model.Mode{Temperature: float32(cfg.Temperature)}
	if err := ref.CheckSeqs(seqs); err != nil {
		return Step{}, err
	}
	// Only the response's log-probs enter the KL, the entropy and the
	// gradient: the LM head skips the prompt's rows.
	from := make([]int, B)
	for b := range rows {
		from[b] = len(rows[b]) - 1
	}
	refLP := ref.Forward(seqs, mode).TokenLogProbsFrom(from)
	proxy, err := r.Proxy.Responses(prompts, responses)
	if err != nil {
		return Step{}, err
	}
	var goldR []float64
	if r.Gold != nil {
		goldR = gold.Batch(r.Gold, prompts, responses)
	}
	policy.ZeroGrad()
	pass := policy.Forward(seqs, mode)
	lp := pass.TokenLogProbsFrom(from)
	kl, lpSum, ntoks := SeqKL(lp, refLP, rows)
	k3 := SeqKLk3(lp, refLP, rows)
	R := make([]float64, B)
	var rec Step
	var entSum float64
	var ntok int
	for b := range seqs {
		entSum -= lpSum[b]
		ntok += ntoks[b]
		R[b] = proxy[b] - cfg.KLCoef*kl[b]
		rec.Proxy += proxy[b] / float64(B)
		rec.KL += k3[b] / float64(B)
		rec.KLk1 += kl[b] / float64(B)
		rec.Reward += R[b] / float64(B)
		rec.Length += float64(ntoks[b]) / float64(B)
		if goldR != nil {
			rec.Gold += goldR[b] / float64(B)
		}
	}
	rec.Entropy = entSum / float64(max(1, ntok))
	adv := Advantages(R, cfg.K, cfg.Baseline, cfg.BaselineDecay, &st.Baseline, &st.HasBase)
	// Loss = −(1/B) Σ_b A_b Σ_t log π(y_t): dLoss/dlogπ(y_t) = −A_b/B on
	// response tokens, 0 on the prompt.
	dLP := make([][]float32, B)
	for b := range seqs {
		dLP[b] = make([]float32, len(lp[b]))
		g := float32(-adv[b] / float64(B))
		for t := len(rows[b]) - 1; t < len(lp[b]); t++ {
			dLP[b][t] = g
		}
	}
	pass.BackwardLogProbs(dLP)
	if cfg.ClipNorm > 0 {
		rec.GradNorm = optim.ClipGradNorm(opt.Params(), cfg.ClipNorm)
	} else {
		rec.GradNorm = optim.ClipGradNorm(opt.Params(), math.Inf(1))
	}
	opt.Step(lr)
	rec.LR = lr
	if cfg.EMAAnchor > 0 {
		mu := float32(cfg.EMAAnchor)
		pw := policy.Weights()
		for i, w := range ref.Weights() {
			ref.Weights()[i] = w + mu*(pw[i]-w)
		}
	}
	rec.Step = step + 1
	for _, v := range []float64{rec.Proxy, rec.KL, rec.GradNorm} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return rec, fmt.Errorf("rl: step %d: non-finite value (proxy %g, kl %g, grad norm %g); lower the learning rate", step+1, rec.Proxy, rec.KL, rec.GradNorm)
		}
	}
	return rec, nil
}

// SeqKL returns, per sequence, the k1 estimate of the sequence-level
// KL(π‖π_ref) from one sample, Σ_t log π(y_t) − log π_ref(y_t) over the
// response tokens, with the response's log-probability Σ_t log π(y_t) and
// its token count. lp and refLP are TokenLogProbs of prompt+response; the
// response starts after prompts[b] (only its length is used).
func SeqKL(lp, refLP [][]float32, prompts [][]int) (kl, logp []float64, n []int) {
	kl, logp, n = make([]float64, len(lp)), make([]float64, len(lp)), make([]int, len(lp))
	for b := range lp {
		var a, r float64
		for t := len(prompts[b]) - 1; t < len(lp[b]); t++ {
			a += float64(lp[b][t])
			r += float64(refLP[b][t])
		}
		kl[b], logp[b], n[b] = a-r, a, len(lp[b])-len(prompts[b])+1
	}
	return kl, logp, n
}

// SeqKLk3 is the k3 estimate of the sequence-level KL(π‖π_ref) from one
// sample: Σ_t (r_t − 1) − log r_t with r_t = π_ref(y_t)/π(y_t) over the
// response tokens. Each term is ≥ 0 and, given the prefix, unbiased for
// the token's KL (Schulman 2020), so the sum is an unbiased, non-negative
// estimate of the sequence KL with less variance than k1 near π_ref.
func SeqKLk3(lp, refLP [][]float32, prompts [][]int) []float64 {
	out := make([]float64, len(lp))
	for b := range lp {
		for t := len(prompts[b]) - 1; t < len(lp[b]); t++ {
			lr := float64(refLP[b][t]) - float64(lp[b][t])
			out[b] += math.Expm1(lr) - lr
		}
	}
	return out
}

// Advantages returns A_b = R_b − baseline_b. "rloo": R is k samples per
// prompt, consecutive; the baseline of a sample is the mean reward of the
// other k−1 samples of its prompt (unbiased: it does not depend on the
// sample itself). "mean": a running mean of the batch's mean reward,
// updated after use (its first value is the first batch's mean).
func Advantages(R []float64, k int, kind string, decay float64, base *float64, has *bool) []float64 {
	adv := make([]float64, len(R))
	switch kind {
	case "rloo":
		for g := 0; g+k <= len(R); g += k {
			var s float64
			for _, v := range R[g : g+k] {
				s += v
			}
			for i := g; i < g+k; i++ {
				adv[i] = R[i] - (s-R[i])/float64(k-1)
			}
		}
	default:
		m, _ := stats.MeanStd(R)
		if !*has {
			*base, *has = m, true
		}
		for i, v := range R {
			adv[i] = v - *base
		}
		*base = decay**base + (1-decay)*m
	}
	return adv
}

func stepMap(s Step) map[string]any {
	return map[string]any{"step": s.Step, "proxy": s.Proxy, "gold": s.Gold, "kl": s.KL, "kl_k1": s.KLk1, "reward": s.Reward,
		"entropy": s.Entropy, "length": s.Length, "lr": s.LR, "grad_norm": s.GradNorm, "seconds": s.Seconds}
}

// saveModel writes an HF directory (weights F32, config, tokenizer)
// atomically (atomicfile).
func saveModel(dir string, m *model.Model, tok *tokenizer.Tokenizer) error {
	d, err := atomicfile.NewDir(dir)
	if err != nil {
		return err
	}
	defer d.Abort()
	if err := m.Save(d.Path, safetensors.F32); err != nil {
		return err
	}
	if err := tok.Save(d.Path, m.Config.NPositions); err != nil {
		return err
	}
	return d.Commit(true)
}

// generate samples up to maxNew tokens per row, each row ending after its
// first stop token (kept). The cut is repeated here so that the result
// does not depend on how Generate treats rows that stop early.
func generate(m *model.Model, rows [][]int, maxNew int, temperature float64, seed uint64, stop int) [][]int {
	outs := m.Generate(rows, model.SampleOptions{MaxNewTokens: maxNew, Temperature: float32(temperature), Seed: seed, StopToken: stop})
	for b, o := range outs {
		for i, t := range o {
			if t == stop {
				outs[b] = o[:i+1]
				break
			}
		}
	}
	return outs
}

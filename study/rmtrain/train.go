package rmtrain

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/internal/runlog"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/optim"
	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/kit/safetensors"
	"github.com/warm-rm/warm/kit/stats"
)

// FTOptions are the fine-tuning hyperparameters shared by all members (the
// per-member ones — lr, dropout, seed, init — are in Member).
type FTOptions struct {
	Epochs      float64 // passes over the training pairs
	Batch       int     // pairs per step
	Warmup      float64 // fraction of steps of linear warm-up
	Schedule    string  // "cosine", "linear" or "constant" after warm-up
	WeightDecay float64
	Clip        float64 // global gradient-norm clip (0: none)
	Center      float64 // reward-centering coefficient
	UseMargin   bool    // subtract the rows' margins in the loss
	CkptEvery   int     // steps between resume checkpoints (0: never)
	MidCkpt     bool    // also save the model at half the run (the "same run" LMC rung)
	Dtype       safetensors.Dtype
}

// stopAt, when positive, makes FineTune fail after that many steps, as if
// killed: the resume test's hook.
var stopAt int

// memberState is what a resume needs besides the model and optimiser.
type memberState struct {
	Step   int    `json:"step"`
	Steps  int    `json:"steps"`
	Member Member `json:"member"`
}

// MemberResult is written to DIR/train.json when a member is done.
type MemberResult struct {
	Member    Member  `json:"member"`
	Steps     int     `json:"steps"`
	TrainLoss float64 `json:"train_loss"` // mean over the last 10% of steps
	TrainAcc  float64 `json:"train_acc"`  // same window, on the (noisy) training labels
	ValAcc    float64 `json:"val_acc,omitempty"`
	Seconds   float64 `json:"seconds"`
	TokensPS  float64 `json:"tokens_per_second"`
	Done      bool    `json:"done"`
	// SameAs, on a ladder run, names the member it is: a member of the
	// design already has the run's learning rate, dropout and body (only
	// its data order differs, which every rung varies), so it was not
	// trained again (Run).
	SameAs string `json:"same_as,omitempty"`
}

// FineTune trains one member from its body init and the shared probed head,
// writing an HF GPT2ForSequenceClassification directory to dir. Work in
// progress lives in dir+".partial" (model, optimiser state, step), so a
// killed run resumes from its last checkpoint; dir appears only when the
// member is done. copyFiles copies tokenizer files into a model directory.
func FineTune(mb Member, head []float32, pairs, val []reward.Pair, o FTOptions, dir string, copyFiles func(dst string) error, log io.Writer) (*MemberResult, error) {
	if len(pairs) == 0 {
		return nil, fmt.Errorf("no training pairs")
	}
	if log == nil {
		log = io.Discard
	}
	partial := dir + ".partial"
	steps := int(math.Ceil(o.Epochs * float64(len(pairs)) / float64(o.Batch)))
	var m *model.Model
	var err error
	start := 0
	var st memberState
	resumed := runlog.ReadJSON(filepath.Join(partial, "state.json"), &st) == nil && st.Member == mb && st.Steps == steps
	if resumed {
		m, err = model.Load(filepath.Join(partial, "model"))
	} else {
		m, err = model.Load(mb.Init)
	}
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", mb.Name, err)
	}
	if !resumed {
		m.AsRewardModel(mb.Seed)
		copy(m.Param("score.weight").W, head)
	}
	m.Config.ResidPdrop = float32(mb.Dropout)
	m.Config.AttnPdrop = float32(mb.Dropout)
	m.Config.EmbdPdrop = float32(mb.Dropout)
	groups, err := optim.Groups(m, optim.TrainAll, o.WeightDecay)
	if err != nil {
		return nil, err
	}
	opt := optim.NewAdamW(groups...)
	if resumed {
		if err := opt.LoadState(filepath.Join(partial, "optim.safetensors")); err != nil {
			return nil, fmt.Errorf("member %s: resume: %w", mb.Name, err)
		}
		start = st.Step
		fmt.Fprintf(log, "%s: resuming at step %d/%d\n", mb.Name, start, steps)
	} else {
		os.RemoveAll(partial)
	}
	if err := os.MkdirAll(partial, 0o755); err != nil {
		return nil, err
	}
	if resumed {
		if err := runlog.TrimMetrics(filepath.Join(partial, "metrics.jsonl"), start); err != nil {
			return nil, err
		}
	}
	metrics, err := runlog.OpenMetrics(filepath.Join(partial, "metrics.jsonl"))
	if err != nil {
		return nil, err
	}
	defer metrics.Close()

	sched := optim.Schedule{Peak: mb.LR, Warmup: int(o.Warmup * float64(steps)), Total: steps, Kind: o.Schedule}
	if err := sched.Validate(); err != nil {
		return nil, err
	}
	order := dataOrder(len(pairs), steps*o.Batch, mb.Seed)
	prog := runlog.NewProgress(log, mb.Name, "steps", steps, start)
	t0 := time.Now()
	var tokens int
	var tailLoss, tailAcc float64
	var tailN int
	params := opt.Params()
	for s := start; s < steps; s++ {
		idx := order[s*o.Batch : (s+1)*o.Batch]
		seqs := make([][]int, 0, 2*len(idx))
		for _, i := range idx {
			seqs = append(seqs, pairs[i].Chosen)
		}
		for _, i := range idx {
			seqs = append(seqs, pairs[i].Rejected)
		}
		var margin []float32
		if o.UseMargin {
			margin = make([]float32, len(idx))
			for k, i := range idx {
				margin[k] = pairs[i].Margin
			}
		}
		for _, q := range seqs {
			tokens += len(q)
		}
		m.ZeroGrad()
		// RewardOnly: the loss reads each sequence's last row only, so the
		// last block runs for those rows (kit/model: same gradients).
		pass := m.Forward(seqs, model.Mode{Train: mb.Dropout > 0, Seed: mb.Seed*1_000_003 + uint64(s), RewardOnly: true})
		r := pass.Rewards()
		B := len(idx)
		loss, dc, dr, acc := BTLoss(r[:B], r[B:], margin, o.Center)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, fmt.Errorf("member %s: loss is %v at step %d (lr %g too high?)", mb.Name, loss, s, mb.LR)
		}
		pass.BackwardRewards(append(dc, dr...))
		gnorm := optim.ClipGradNorm(params, o.Clip)
		lr := sched.LR(s)
		opt.Step(lr)
		if s >= steps-max(1, steps/10) {
			tailLoss += loss
			tailAcc += acc
			tailN++
		}
		if s%10 == 0 || s == steps-1 {
			el := time.Since(t0).Seconds()
			metrics.Log(map[string]any{"step": s + 1, "loss": loss, "acc": acc, "lr": lr, "grad_norm": gnorm, "tokens_per_second": float64(tokens) / el})
			prog.Update(s+1, fmt.Sprintf("loss %.4f acc %.2f lr %.2e", loss, acc, lr))
		}
		if o.MidCkpt && s+1 == steps/2 {
			if err := saveModel(m, filepath.Join(partial, "mid"), o.Dtype, copyFiles); err != nil {
				return nil, err
			}
		}
		if stopAt > 0 && s+1 == stopAt {
			return nil, fmt.Errorf("stopped at step %d", stopAt)
		}
		if o.CkptEvery > 0 && (s+1)%o.CkptEvery == 0 && s+1 < steps {
			if err := checkpoint(m, opt, partial, memberState{Step: s + 1, Steps: steps, Member: mb}, copyFiles); err != nil {
				return nil, err
			}
		}
	}
	el := time.Since(t0).Seconds()
	res := &MemberResult{Member: mb, Steps: steps, Seconds: el, TokensPS: float64(tokens) / el, Done: true}
	if tailN > 0 {
		res.TrainLoss, res.TrainAcc = tailLoss/float64(tailN), tailAcc/float64(tailN)
	}
	if len(val) > 0 {
		if res.ValAcc, err = Accuracy(m, val); err != nil {
			return nil, err
		}
	}
	prog.Done(fmt.Sprintf("val acc %.3f", res.ValAcc))
	// Dropout is a training setting: the saved model keeps the member's p
	// in config.json (as HF would), which eval ignores.
	if err := saveModel(m, filepath.Join(partial, "final"), o.Dtype, copyFiles); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteJSON(filepath.Join(partial, "final", "train.json"), res); err != nil {
		return nil, err
	}
	metrics.Close()
	if err := os.Rename(filepath.Join(partial, "metrics.jsonl"), filepath.Join(partial, "final", "metrics.jsonl")); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(partial, "mid")); err == nil {
		if err := os.Rename(filepath.Join(partial, "mid"), filepath.Join(partial, "final", "mid")); err != nil {
			return nil, err
		}
	}
	if err := atomicfile.ReplaceDir(filepath.Join(partial, "final"), dir, true); err != nil {
		return nil, err
	}
	os.RemoveAll(partial)
	return res, nil
}

// dataOrder is the sequence of pair indices the steps consume: epoch after
// epoch of seeded permutations, so a resumed run sees the same order.
func dataOrder(n, total int, seed uint64) []int {
	r := rand.New(rand.NewPCG(seed, 0x6f72646572)) // "order"
	out := make([]int, 0, total+n)
	for len(out) < total {
		out = append(out, r.Perm(n)...)
	}
	return out[:total]
}

func saveModel(m *model.Model, dir string, dtype safetensors.Dtype, copyFiles func(string) error) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := m.Save(dir, dtype); err != nil {
		return err
	}
	if copyFiles != nil {
		return copyFiles(dir)
	}
	return nil
}

// checkpoint writes the resume state: model first, optimiser second, the
// step file last, so a kill in between leaves the previous state valid
// only if state.json still names it (it is rewritten atomically last).
func checkpoint(m *model.Model, opt *optim.AdamW, partial string, st memberState, copyFiles func(string) error) error {
	os.Remove(filepath.Join(partial, "state.json"))
	if err := saveModel(m, filepath.Join(partial, "model"), safetensors.F32, copyFiles); err != nil {
		return err
	}
	if err := opt.SaveState(filepath.Join(partial, "optim.safetensors")); err != nil {
		return err
	}
	return atomicfile.WriteJSON(filepath.Join(partial, "state.json"), st)
}

// Accuracy is the pairwise accuracy of m on pairs (a tie counts half).
func Accuracy(m model.RewardModel, pairs []reward.Pair) (float64, error) {
	rc, rr, err := reward.PairRewards(m, pairs)
	if err != nil {
		return 0, err
	}
	acc, _ := stats.PairAccuracy(stats.Float64s(rc), stats.Float64s(rr))
	return acc, nil
}

package rmtrain

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/kit/safetensors"
	"github.com/warm-rm/warm/kit/stats"
)

// Features runs the frozen body once over every distinct text of pairs
// (reward.UniqueSeqs: pairs that share a text, as in a grouped split, share
// its features; texts that share a prompt share its rows,
// model.LastFeatures) and returns the pooled last-token features (after
// ln_f) of chosen and rejected texts: with the body frozen and no dropout
// they never change, so linear probing needs only this one pass. The
// returned rows may alias one another and must not be modified.
func Features(m *model.Model, pairs []reward.Pair) (fc, fr [][]float32, err error) {
	seqs, ci, ri := reward.UniqueSeqs(pairs)
	feat, err := m.LastFeatures(seqs)
	if err != nil {
		return nil, nil, err
	}
	fc, fr = make([][]float32, len(pairs)), make([][]float32, len(pairs))
	for i := range pairs {
		fc[i], fr[i] = feat[ci[i]], feat[ri[i]]
	}
	return fc, fr, nil
}

// ProbeOptions are the linear-probing hyperparameters.
type ProbeOptions struct {
	Epochs      int
	Batch       int
	LR          float64
	WeightDecay float64 // L2 on the head, keeps it finite on separable data
	Center      float64 // reward-centering coefficient (as in BTLoss)
	Seed        uint64
}

// Probe fits the scalar head w (r = w·f) on frozen features with the
// Bradley-Terry loss and Adam, starting from w0. It returns the head and
// the final training loss and accuracy.
func Probe(fc, fr [][]float32, margin []float32, w0 []float32, o ProbeOptions) (w []float32, loss, acc float64) {
	n, d := len(fc), len(w0)
	w = append([]float32(nil), w0...)
	m1 := make([]float64, d)
	m2 := make([]float64, d)
	g := make([]float64, d)
	r := rand.New(rand.NewPCG(o.Seed, 0x70726f6265)) // "probe"
	t := 0
	for e := 0; e < o.Epochs; e++ {
		perm := r.Perm(n)
		for lo := 0; lo < n; lo += o.Batch {
			idx := perm[lo:min(lo+o.Batch, n)]
			rc, rr := make([]float32, len(idx)), make([]float32, len(idx))
			var mg []float32
			if margin != nil {
				mg = make([]float32, len(idx))
			}
			for k, i := range idx {
				rc[k], rr[k] = dot(w, fc[i]), dot(w, fr[i])
				if margin != nil {
					mg[k] = margin[i]
				}
			}
			_, dc, dr, _ := BTLoss(rc, rr, mg, o.Center)
			clear(g)
			for k, i := range idx {
				for j := range g {
					g[j] += float64(dc[k])*float64(fc[i][j]) + float64(dr[k])*float64(fr[i][j])
				}
			}
			t++
			adam(w, g, m1, m2, t, o.LR, o.WeightDecay)
		}
	}
	rc, rr := make([]float32, n), make([]float32, n)
	for i := range fc {
		rc[i], rr[i] = dot(w, fc[i]), dot(w, fr[i])
	}
	loss, _, _, acc = BTLoss(rc, rr, margin, o.Center)
	return w, loss, acc
}

// adam is one AdamW step on a single small vector in float64 (the probe's
// head has n_embd weights; the model-sized optimiser is package optim).
func adam(w []float32, g, m1, m2 []float64, t int, lr, wd float64) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	c1 := 1 - pow(b1, t)
	c2 := 1 - pow(b2, t)
	for j := range w {
		m1[j] = b1*m1[j] + (1-b1)*g[j]
		m2[j] = b2*m2[j] + (1-b2)*g[j]*g[j]
		wj := float64(w[j]) * (1 - lr*wd)
		w[j] = float32(wj - lr*(m1[j]/c1)/(sqrt(m2[j]/c2)+eps))
	}
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// HeadAccuracy is the pairwise accuracy of the linear head w on
// precomputed features (r = w·f; a tie counts half).
func HeadAccuracy(w []float32, fc, fr [][]float32) float64 {
	if len(fc) == 0 {
		return 0
	}
	m, _ := stats.MeanStd(HeadCorrect(w, fc, fr))
	return m
}

// HeadCorrect is the head's per-pair correctness on features: 1 when the
// chosen text scores above the rejected one, 0 below, ½ on a tie.
func HeadCorrect(w []float32, fc, fr [][]float32) []float64 {
	out := make([]float64, len(fc))
	for i := range fc {
		switch rc, rr := dot(w, fc[i]), dot(w, fr[i]); {
		case rc > rr:
			out[i] = 1
		case rc == rr:
			out[i] = 0.5
		}
	}
	return out
}

// ProbeAccuracy is the accuracy of the shared head on body's frozen
// features (last token after ln_f, no dropout) over pairs: with body the
// shared init it is the "probe accuracy of the init" the study reports
// (how much of the task the init's features already carry); with a
// Baklava body it says how well the one shared head fits that body before
// fine-tuning. body may be a language model or a reward model: only its
// transformer is used, and it is not modified.
func ProbeAccuracy(body *model.Model, head []float32, pairs []reward.Pair) (float64, error) {
	c, err := ProbeCorrect(body, head, pairs)
	if err != nil {
		return 0, err
	}
	m, _ := stats.MeanStd(c)
	return m, nil
}

// ProbeCorrect is ProbeAccuracy's per-pair correctness (HeadCorrect), for
// an interval over pairs or prompts.
func ProbeCorrect(body *model.Model, head []float32, pairs []reward.Pair) ([]float64, error) {
	if len(head) != body.Config.NEmbd {
		return nil, fmt.Errorf("probe head has %d weights, the body's width is %d", len(head), body.Config.NEmbd)
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("probe accuracy: no pairs")
	}
	fc, fr, err := Features(body, pairs)
	if err != nil {
		return nil, err
	}
	return HeadCorrect(head, fc, fr), nil
}

// LoadHead reads the shared probed head a training run saved
// (RMDIR/probe/head.safetensors, tensor score.weight [1, n_embd]), for
// ProbeAccuracy in eval.
func LoadHead(rmDir string) ([]float32, error) {
	path := filepath.Join(rmDir, "probe", "head.safetensors")
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, fmt.Errorf("probe head: %w", err)
	}
	defer f.Close()
	w, err := f.Float32("score.weight")
	if err != nil {
		return nil, fmt.Errorf("probe head %s: %w", path, err)
	}
	return w, nil
}

// Package optim trains model parameters: AdamW exactly as
// torch.optim.AdamW (bias correction, decoupled weight decay), global-norm
// gradient clipping as torch.nn.utils.clip_grad_norm_, and warm-up +
// cosine/constant/linear learning-rate schedules as HF transformers'
// get_*_schedule_with_warmup.
//
// It works on *model.Param (weights W and gradients G). Parameter groups
// decide what trains: a frozen body is simply absent from every group.
package optim

import (
	"fmt"
	"math"
	"strings"

	"github.com/warm-rm/warm/internal/parallel"
	"github.com/warm-rm/warm/kit/model"
)

// Group is a set of parameters sharing weight decay and a learning-rate
// multiplier (LRScale 0 means 1).
type Group struct {
	Params      []*model.Param
	WeightDecay float64
	LRScale     float64
}

// AdamW holds the moment estimates for its groups' parameters.
type AdamW struct {
	Groups       []Group
	Beta1, Beta2 float64
	Eps          float64
	step         int
	m, v         map[*model.Param][]float32
}

// NewAdamW uses torch's defaults for the betas and eps (0.9, 0.999, 1e-8).
func NewAdamW(groups ...Group) *AdamW {
	return &AdamW{Groups: groups, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8,
		m: map[*model.Param][]float32{}, v: map[*model.Param][]float32{}}
}

// Steps is how many updates have been taken.
func (o *AdamW) Steps() int { return o.step }

// Step applies one update with learning rate lr (times each group's
// LRScale), as torch.optim.AdamW:
//
//	w ← w·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//	w ← w − lr/(1−β1ᵗ) · m / (sqrt(v)/sqrt(1−β2ᵗ) + eps)
func (o *AdamW) Step(lr float64) {
	o.step++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.step))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.step))
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	for _, g := range o.Groups {
		glr := lr
		if g.LRScale != 0 {
			glr *= g.LRScale
		}
		decay := float32(1 - glr*g.WeightDecay)
		stepSize := float32(glr / bc1)
		rbc2 := float32(1 / math.Sqrt(bc2))
		eps := float32(o.Eps)
		for _, p := range g.Params {
			m, v := o.m[p], o.v[p]
			if m == nil {
				m, v = make([]float32, len(p.W)), make([]float32, len(p.W))
				o.m[p], o.v[p] = m, v
			}
			w, gr := p.W, p.G
			// Elementwise and independent: big tensors (wte) are split
			// across CPUs.
			parallel.Range(len(w), 1<<15, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					gi := gr[i]
					mi := b1*m[i] + (1-b1)*gi
					vi := b2*v[i] + (1-b2)*gi*gi
					m[i], v[i] = mi, vi
					w[i] = w[i]*decay - stepSize*mi/(sqrt32(vi)*rbc2+eps)
				}
			})
		}
	}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// Params lists every parameter of every group.
func (o *AdamW) Params() []*model.Param {
	var ps []*model.Param
	for _, g := range o.Groups {
		ps = append(ps, g.Params...)
	}
	return ps
}

// ClipGradNorm scales the gradients of params so that their global L2 norm
// is at most maxNorm, as torch's clip_grad_norm_ (coefficient
// maxNorm/(norm+1e-6), applied only when below 1). It returns the norm
// before clipping. maxNorm <= 0 only measures.
func ClipGradNorm(params []*model.Param, maxNorm float64) float64 {
	var ss float64
	for _, p := range params {
		for _, g := range p.G {
			ss += float64(g) * float64(g)
		}
	}
	norm := math.Sqrt(ss)
	if maxNorm > 0 {
		if c := maxNorm / (norm + 1e-6); c < 1 {
			cf := float32(c)
			for _, p := range params {
				for i := range p.G {
					p.G[i] *= cf
				}
			}
		}
	}
	return norm
}

// NoDecay reports whether a parameter is excluded from weight decay by
// default: biases and LayerNorm weights (HF Trainer's rule).
func NoDecay(name string) bool {
	return strings.HasSuffix(name, ".bias") || strings.Contains(name, "ln_")
}

// What selects the parameters a run trains.
const (
	TrainAll  = "all"  // fine-tuning: body and head
	TrainHead = "head" // linear probing: score.weight only
)

// Groups builds the usual two groups (decayed, not decayed) over the
// parameters that `what` selects.
func Groups(m model.Trainable, what string, weightDecay float64) ([]Group, error) {
	dec := Group{WeightDecay: weightDecay}
	nod := Group{}
	for _, p := range m.Parameters() {
		switch what {
		case TrainAll:
		case TrainHead:
			if p.Name != "score.weight" {
				continue
			}
		default:
			return nil, fmt.Errorf("optim: unknown parameter selection %q (want %q or %q)", what, TrainAll, TrainHead)
		}
		if NoDecay(p.Name) {
			nod.Params = append(nod.Params, p)
		} else {
			dec.Params = append(dec.Params, p)
		}
	}
	var gs []Group
	for _, g := range []Group{dec, nod} {
		if len(g.Params) > 0 {
			gs = append(gs, g)
		}
	}
	if len(gs) == 0 {
		return nil, fmt.Errorf("optim: selection %q matches no parameters", what)
	}
	return gs, nil
}

// Schedule is a learning-rate schedule: linear warm-up from 0 to Peak over
// Warmup steps, then Kind: "constant", "cosine" (to 0 at Total, as HF's
// get_cosine_schedule_with_warmup) or "linear" (to 0 at Total).
type Schedule struct {
	Peak          float64
	Warmup, Total int
	Kind          string
}

// LR is the learning rate for the update with 0-based index step.
func (s Schedule) LR(step int) float64 {
	if step < s.Warmup {
		return s.Peak * float64(step) / float64(max(1, s.Warmup))
	}
	progress := float64(step-s.Warmup) / float64(max(1, s.Total-s.Warmup))
	progress = math.Min(progress, 1)
	switch s.Kind {
	case "cosine":
		return s.Peak * 0.5 * (1 + math.Cos(math.Pi*progress))
	case "linear":
		return s.Peak * (1 - progress)
	default:
		return s.Peak
	}
}

// Validate checks the schedule's kind and lengths.
func (s Schedule) Validate() error {
	switch s.Kind {
	case "cosine", "linear", "constant":
	default:
		return fmt.Errorf("schedule kind %q is not cosine, linear or constant", s.Kind)
	}
	if s.Warmup < 0 || s.Total < 0 || !(s.Peak >= 0) {
		return fmt.Errorf("schedule needs peak >= 0, warmup >= 0, total >= 0 (got %g, %d, %d)", s.Peak, s.Warmup, s.Total)
	}
	return nil
}

package rmtrain

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/warm-rm/warm/kit/model"
)

// Distance is how far a member's body moved from a reference body (the
// shared init θ₀): Abs = ‖θ − θ₀‖₂ and Rel = Abs / ‖θ₀‖₂ over the
// transformer's weights (embeddings, blocks, final LayerNorm). Heads are
// left out: the LM head is tied to the embeddings and the reward head does
// not exist in the init. A small Rel is the regime where averaging weights
// behaves like averaging predictions (issue 16); a member that travelled
// far is a warning for WA ≈ ENS.
type Distance struct {
	Abs     float64 `json:"abs"`
	Rel     float64 `json:"rel"`
	RefNorm float64 `json:"ref_norm"` // ‖θ₀‖₂ over the same tensors
	Tensors int     `json:"tensors"`  // tensors compared
}

// BodyDistance compares the transformer weights of m with those of ref,
// tensor by tensor by HF name; sums are in float64. The two must have the
// same body (names and shapes): a member and the init it was fine-tuned
// from, or two members.
func BodyDistance(m, ref *model.Model) (Distance, error) {
	var d Distance
	var diff2, ref2 float64
	body := func(name string) bool { return strings.HasPrefix(name, "transformer.") }
	for _, p := range ref.Params {
		if !body(p.Name) {
			continue
		}
		q := m.Param(p.Name)
		if q == nil {
			return d, fmt.Errorf("body distance: %s is missing from the member", p.Name)
		}
		if !slices.Equal(q.Shape, p.Shape) {
			return d, fmt.Errorf("body distance: %s has shape %v, the reference %v", p.Name, q.Shape, p.Shape)
		}
		for i, w := range p.W {
			e := float64(q.W[i]) - float64(w)
			diff2 += e * e
			ref2 += float64(w) * float64(w)
		}
		d.Tensors++
	}
	for _, q := range m.Params {
		if body(q.Name) && ref.Param(q.Name) == nil {
			return d, fmt.Errorf("body distance: %s is missing from the reference", q.Name)
		}
	}
	if d.Tensors == 0 {
		return d, fmt.Errorf("body distance: no transformer.* tensors in the reference")
	}
	d.Abs, d.RefNorm = math.Sqrt(diff2), math.Sqrt(ref2)
	if d.RefNorm > 0 {
		d.Rel = d.Abs / d.RefNorm
	}
	return d, nil
}

// MemberDistance loads a member directory and the reference (init)
// directory and returns BodyDistance between them.
func MemberDistance(memberDir, initDir string) (Distance, error) {
	m, err := model.Load(memberDir)
	if err != nil {
		return Distance{}, err
	}
	ref, err := model.Load(initDir)
	if err != nil {
		return Distance{}, err
	}
	d, err := BodyDistance(m, ref)
	if err != nil {
		return d, fmt.Errorf("%s vs %s: %w", memberDir, initDir, err)
	}
	return d, nil
}

package rmeval

import (
	"fmt"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/reward"
)

// Point is one λ of an interpolation: the weight interpolation (WA) and the
// prediction interpolation (ENS with weights 1−λ, λ), per split.
type Point struct {
	Lambda float64            `json:"lambda"`
	WA     map[string]Metrics `json:"wa"`
	ENS    map[string]Metrics `json:"ens"`
}

// Curve is a linear-mode-connectivity curve between two models.
type Curve struct {
	Name   string  `json:"name"`
	A      string  `json:"a"`
	B      string  `json:"b"`
	Points []Point `json:"points"`
	// PerPair[split] holds the per-pair correctness strings (Correct) of
	// the weight interpolation at λ = 0 ("a"), at the middle point ("mid",
	// λ = ½ for an odd number of points) and at λ = 1 ("b"): the paired
	// interval of the LMC claim is computed from them.
	PerPair map[string]map[string]string `json:"per_pair,omitempty"`
	// Clusters[split] is the prompt of each of those pairs where pairs
	// share prompts (Split.Clusters; Result.Clusters explains).
	Clusters map[string][]int `json:"clusters,omitempty"`
}

// Interpolate evaluates (1−λ)·a + λ·b and the ENS (1−λ)·r_a + λ·r_b for
// steps values of λ evenly spaced in [0, 1].
func Interpolate(a, b *model.Model, splits []Split, steps int) (*Curve, error) {
	return interpolate(a, b, nil, nil, splits, steps)
}

// interpolate is Interpolate given the endpoints' rewards on splits when
// they were scored before (nil: score them here). The weight interpolation
// at λ = 0 and λ = 1 is a and b themselves ((1−0)·a + 0·b = a exactly), so
// only the interior points are scored: 1 model of 3 on a pilot whose
// members the comparison scored, instead of 5.
func interpolate(a, b *model.Model, ra, rb rewards, splits []Split, steps int) (*Curve, error) {
	if steps < 2 {
		return nil, fmt.Errorf("interpolation needs at least 2 steps, got %d", steps)
	}
	if err := reward.Compatible(a, b); err != nil {
		return nil, fmt.Errorf("models are not interpolable: %w", err)
	}
	var err error
	if ra == nil {
		if ra, err = scoreSplits(a, splits); err != nil {
			return nil, err
		}
	}
	if rb == nil {
		if rb, err = scoreSplits(b, splits); err != nil {
			return nil, err
		}
	}
	c := &Curve{PerPair: map[string]map[string]string{}, Clusters: clustersOf(splits)}
	for k := 0; k < steps; k++ {
		l := float64(k) / float64(steps-1)
		ens := rewards{}
		for name, va := range ra {
			vb := rb[name]
			ens[name] = splitRewards{mix(va.C, vb.C, l), mix(va.R, vb.R, l), va.Groups}
		}
		var waR rewards
		switch k {
		case 0:
			waR = ra
		case steps - 1:
			waR = rb
		default:
			m, err := reward.Interpolate(a, b, l)
			if err != nil {
				return nil, err
			}
			if waR, err = scoreSplits(m, splits); err != nil {
				return nil, err
			}
		}
		key := map[int]string{0: "a", steps / 2: "mid", steps - 1: "b"}[k]
		if key != "" {
			for name, v := range waR {
				if c.PerPair[name] == nil {
					c.PerPair[name] = map[string]string{}
				}
				c.PerPair[name][key] = Correct(v.C, v.R)
			}
		}
		c.Points = append(c.Points, Point{Lambda: l, WA: metricsOf(waR), ENS: metricsOf(ens)})
	}
	return c, nil
}

func mix(a, b []float32, l float64) []float32 {
	out := make([]float32, len(a))
	for i := range a {
		out[i] = float32((1-l)*float64(a[i]) + l*float64(b[i]))
	}
	return out
}

// Barrier summarises a curve on one split: the midpoint accuracy minus the
// mean of the endpoints' (positive: the midpoint is better than the
// straight line, the paper's Fig. 3 observation), for WA and for ENS.
func (c *Curve) Barrier(split string) (wa, ens float64) {
	p := c.Points
	mid := p[len(p)/2]
	line := (p[0].WA[split].Acc + p[len(p)-1].WA[split].Acc) / 2
	return mid.WA[split].Acc - line, mid.ENS[split].Acc - line
}

// SoupResult compares the uniform average of all members, a greedy soup
// and the best single member.
type SoupResult struct {
	RankBy     string             `json:"rank_by"`
	Ingredient []string           `json:"ingredients"` // members the greedy soup kept
	Uniform    map[string]Metrics `json:"uniform"`
	Greedy     map[string]Metrics `json:"greedy"`
	Best       map[string]Metrics `json:"best"`
	BestName   string             `json:"best_name"`
}

// GreedySoup orders the members by accuracy on the split named by, then
// adds each to the soup only if the soup's accuracy on that split does not
// drop (Wortsman et al. 2022).
func GreedySoup(members []*model.Model, names []string, splits []Split, by string) (*SoupResult, error) {
	return greedySoup(members, names, splits, by, nil, nil)
}

// greedySoup is GreedySoup reusing rewards scored before on splits:
// known[name] are the members' (nil: score them), uniform the uniform
// soup's (the WA of every member; nil: score it). Only the candidate
// soups, on the one split, and the greedy soup when it is neither a
// single member nor all of them, are scored here.
func greedySoup(members []*model.Model, names []string, splits []Split, by string, known map[string]rewards, uniform rewards) (*SoupResult, error) {
	var sel *Split
	for i := range splits {
		if splits[i].Name == by {
			sel = &splits[i]
		}
	}
	if sel == nil {
		return nil, fmt.Errorf("greedy soup: split %q not evaluated", by)
	}
	one := []Split{*sel}
	// known[name], or m scored on splits when it was not.
	scored := func(name string, m *model.Model, splits []Split) (rewards, error) {
		if r, ok := known[name]; ok {
			return r, nil
		}
		return scoreSplits(m, splits)
	}
	accs := make([]float64, len(members))
	order := make([]int, len(members))
	for i, m := range members {
		r, err := scored(names[i], m, one)
		if err != nil {
			return nil, err
		}
		accs[i] = metricsOf(rewards{by: r[by]})[by].Acc
		order[i] = i
	}
	sortByDesc(order, accs)
	soup := []*model.Model{members[order[0]]}
	res := &SoupResult{RankBy: by, Ingredient: []string{names[order[0]]}, BestName: names[order[0]]}
	best := accs[order[0]]
	for _, i := range order[1:] {
		cand, err := reward.Average(append(soup, members[i]), nil)
		if err != nil {
			return nil, err
		}
		r, err := evalSplits(cand, one)
		if err != nil {
			return nil, err
		}
		if a := r[by].Acc; a >= best {
			best = a
			soup = append(soup, members[i])
			res.Ingredient = append(res.Ingredient, names[i])
		}
	}
	bestR, err := scored(names[order[0]], members[order[0]], splits)
	if err != nil {
		return nil, err
	}
	if uniform == nil {
		u, err := reward.Average(members, nil)
		if err != nil {
			return nil, err
		}
		if uniform, err = scoreSplits(u, splits); err != nil {
			return nil, err
		}
	}
	var greedy rewards
	switch len(soup) {
	case 1:
		greedy = bestR
	case len(members):
		greedy = uniform
	default:
		g, err := reward.Average(soup, nil)
		if err != nil {
			return nil, err
		}
		if greedy, err = scoreSplits(g, splits); err != nil {
			return nil, err
		}
	}
	res.Greedy, res.Uniform, res.Best = metricsOf(greedy), metricsOf(uniform), metricsOf(bestR)
	return res, nil
}

// sortByDesc orders idx by key descending, stable.
func sortByDesc(idx []int, key []float64) {
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && key[idx[j]] > key[idx[j-1]]; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
}

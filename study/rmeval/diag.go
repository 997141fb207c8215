package rmeval

import (
	"fmt"
	"path/filepath"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/study/rmtrain"
)

// Diagnostics say whether the shared init is worth averaging around
// (issue 16.1): how much of the task its frozen features already carry,
// how far each member travelled from it, and whether the two members
// furthest apart are still linearly connected (the LMC pilot).
type Diagnostics struct {
	Init string `json:"init"`
	// Probe[split] is the accuracy of the shared probed head
	// (RUN/probe/head.safetensors) on the init's frozen features.
	Probe map[string]ProbeAcc `json:"probe"`
	// BodyFit[body] is the same head on each Baklava body's features,
	// validation split: how well the one shared head meets every body
	// before fine-tuning.
	BodyFit map[string]ProbeAcc `json:"body_fit,omitempty"`
	// Distances are the members' distances from the shared init and from
	// their own body, in the order of Result.Order.
	Distances []MemberDistance `json:"distances"`
	// Pilot names the two members furthest apart in weight space; their
	// interpolation is OUT/pilot.json.
	Pilot *PilotPair `json:"pilot,omitempty"`
}

// ProbeAcc is one probe accuracy with its 95% Wilson interval.
type ProbeAcc struct {
	Acc float64 `json:"acc"`
	Lo  float64 `json:"lo"`
	Hi  float64 `json:"hi"`
	N   int     `json:"n"`
}

// MemberDistance is one member's ‖θ_i − θ₀‖ from the shared init and from
// its own (Baklava) body.
type MemberDistance struct {
	Name     string           `json:"name"`
	Body     string           `json:"body"`
	FromInit rmtrain.Distance `json:"from_init"`
	FromBody rmtrain.Distance `json:"from_body"`
}

// PilotPair is the LMC pilot's pair of members and their distance.
type PilotPair struct {
	A        string  `json:"a"`
	B        string  `json:"b"`
	Distance float64 `json:"distance"` // ‖θ_a − θ_b‖₂ over the transformer
}

// probeAcc is the probe's accuracy from per-pair correctness with its 95%
// interval: Wilson's over independent pairs, a bootstrap over prompts on
// a grouped split (clusters non-nil).
func probeAcc(correct []float64, clusters []int) ProbeAcc {
	iv := stats.ClusterAccuracyInterval(correct, clusters)
	return ProbeAcc{Acc: iv.Est, Lo: iv.Lo, Hi: iv.Hi, N: len(correct)}
}

// diagnose fills the diagnostics of members (loaded from dirs, named
// names) around the shared init initDir, with the probe head of the
// training run.
func diagnose(initDir, run string, dirs, names []string, members []*model.Model, splits []Split, log func(string)) (*Diagnostics, error) {
	init, err := model.Load(initDir)
	if err != nil {
		return nil, fmt.Errorf("diagnostics: init: %w", err)
	}
	head, err := rmtrain.LoadHead(run)
	if err != nil {
		return nil, fmt.Errorf("diagnostics: %w", err)
	}
	d := &Diagnostics{Init: initDir, Probe: map[string]ProbeAcc{}, BodyFit: map[string]ProbeAcc{}}
	log("diagnostics: probe accuracy of the shared init")
	var val []Split
	for _, s := range splits {
		if s.Name != Val && s.Name != OOD && s.Name != Human {
			continue
		}
		c, err := rmtrain.ProbeCorrect(init, head, s.Pairs)
		if err != nil {
			return nil, fmt.Errorf("diagnostics: split %s: %w", s.Name, err)
		}
		d.Probe[s.Name] = probeAcc(c, s.Clusters)
		if s.Name == Val {
			val = append(val, s)
		}
	}
	bodies := map[string]string{} // member name → body directory
	if sum, err := rmtrain.ReadSummary(run); err == nil {
		for _, m := range sum.Members {
			bodies[m.Member.Name] = m.Member.Init
		}
	}
	loaded := map[string]*model.Model{filepath.Clean(initDir): init}
	body := func(dir string) (*model.Model, error) {
		dir = filepath.Clean(dir)
		if m, ok := loaded[dir]; ok {
			return m, nil
		}
		m, err := model.Load(dir)
		if err != nil {
			return nil, err
		}
		loaded[dir] = m
		if len(val) > 0 {
			c, err := rmtrain.ProbeCorrect(m, head, val[0].Pairs)
			if err != nil {
				return nil, err
			}
			d.BodyFit[filepath.Base(dir)] = probeAcc(c, val[0].Clusters)
		}
		return m, nil
	}
	if len(val) > 0 {
		d.BodyFit[filepath.Base(initDir)] = d.Probe[Val]
	}
	for i, m := range members {
		md := MemberDistance{Name: names[i], Body: filepath.Base(initDir)}
		if md.FromInit, err = rmtrain.BodyDistance(m, init); err != nil {
			return nil, fmt.Errorf("diagnostics: %s: %w", dirs[i], err)
		}
		md.FromBody = md.FromInit
		if b := bodies[names[i]]; b != "" && filepath.Clean(b) != filepath.Clean(initDir) {
			bm, err := body(b)
			if err != nil {
				return nil, fmt.Errorf("diagnostics: body of %s: %w", names[i], err)
			}
			md.Body = filepath.Base(b)
			if md.FromBody, err = rmtrain.BodyDistance(m, bm); err != nil {
				return nil, fmt.Errorf("diagnostics: %s: %w", dirs[i], err)
			}
		}
		d.Distances = append(d.Distances, md)
	}
	if len(members) >= 2 {
		best := PilotPair{Distance: -1}
		for i := range members {
			for j := i + 1; j < len(members); j++ {
				dd, err := rmtrain.BodyDistance(members[i], members[j])
				if err != nil {
					return nil, err
				}
				if dd.Abs > best.Distance {
					best = PilotPair{A: names[i], B: names[j], Distance: dd.Abs}
				}
			}
		}
		d.Pilot = &best
	}
	return d, nil
}

package studyreport

import (
	"fmt"
	"math"
	"strings"

	"github.com/warm-rm/warm/report"
	"github.com/warm-rm/warm/rmeval"
)

// lmcTolerance is how far (in accuracy) the interpolation's midpoint may
// fall below the straight line and still count as "at or above it": about
// one validation pair in a few hundred, below the split's sampling noise.
const lmcTolerance = 0.005

func holds(b bool) *bool { return &b }

// claims evaluates the paper's claims (WARM.md section 1) on this run.
func (s *study) claims() []report.Claim {
	var cs []report.Claim
	cs = append(cs, s.lmcClaims()...)
	cs = append(cs, s.evalClaims()...)
	cs = append(cs, s.bonClaims()...)
	cs = append(cs, s.rlClaims()...)
	return cs
}

func (s *study) lmcClaims() []report.Claim {
	lmc := report.Claim{Name: "LMC: accuracy along (1−λ)φ₁ + λφ₂ stays at or above the straight line", Paper: "holds for all rungs [Fig 3]"}
	div := report.Claim{Name: "LMC gain grows with diversity (same run < data order < lr < Baklava)", Paper: "holds [Fig 3]"}
	if len(s.lmc) == 0 {
		return []report.Claim{lmc, div}
	}
	ok := true
	ours := ""
	var gains []float64
	for _, c := range s.lmc {
		wa, _ := c.Barrier(rmeval.Val)
		if wa < -lmcTolerance {
			ok = false
		}
		gains = append(gains, wa)
		ours += fmt.Sprintf("%s %+.1f; ", c.Name, 100*wa)
	}
	lmc.Ours = "val, midpoint − line (pts): " + ours
	lmc.Holds = holds(ok)
	lmc.Note = fmt.Sprintf("tolerance %.1f pts", 100*lmcTolerance)
	div.Ours = lmc.Ours
	if len(gains) >= 2 {
		inc := true
		for i := 1; i < len(gains); i++ {
			if gains[i] < gains[i-1]-lmcTolerance {
				inc = false
			}
		}
		div.Holds = holds(inc)
		div.Note = "non-decreasing within tolerance along the rungs"
	}
	return []report.Claim{lmc, div}
}

func (s *study) evalClaims() []report.Claim {
	approx := report.Claim{Name: "Weight averaging ≈ prediction ensembling (WA M vs ENS M)", Paper: "WA ≈ ENS [Fig 3, 4]"}
	mem := report.Claim{Name: "With 25% swapped labels, WA memorises corrupted labels less than ENS and than individual RMs", Paper: "holds [Fig 4(a)]"}
	id := report.Claim{Name: "WA ≥ ENS on ID validation", Paper: "holds [Fig 4(b)]"}
	ood := report.Claim{Name: "WA ≥ ENS on OOD pairs", Paper: "holds [Fig 4(c), 5]"}
	e := s.eval
	if e == nil || len(e.Order) < 2 {
		return []report.Claim{approx, mem, id, ood}
	}
	M := len(e.Order)
	get := func(split string) (wa, ens, indiv float64, ok bool) {
		sm, ok := e.Summary[split]
		if !ok {
			return 0, 0, 0, false
		}
		return sm.WA[M], sm.ENS[M], sm.MemberMean, true
	}
	if wa, ens, _, ok := get(rmeval.OOD); ok {
		wv, ev, _, _ := get(rmeval.Val)
		d := math.Max(math.Abs(wa-ens), math.Abs(wv-ev))
		approx.Ours = fmt.Sprintf("M=%d: val WA %s vs ENS %s; ood WA %s vs ENS %s", M, pct(wv), pct(ev), pct(wa), pct(ens))
		approx.Holds = holds(d <= 0.02)
		approx.Note = "within 2 points"
	}
	if wa, ens, indiv, ok := get(rmeval.TrainCorrupted); ok {
		mem.Ours = fmt.Sprintf("M=%d: acc on swapped labels WA %s, ENS %s, individual mean %s", M, pct(wa), pct(ens), pct(indiv))
		mem.Holds = holds(wa < ens && wa < indiv)
		mem.Note = "lower is better"
	}
	if wa, ens, _, ok := get(rmeval.Val); ok {
		id.Ours = fmt.Sprintf("M=%d: WA %s, ENS %s", M, pct(wa), pct(ens))
		id.Holds = holds(wa >= ens)
	}
	if wa, ens, _, ok := get(rmeval.OOD); ok {
		ood.Ours = fmt.Sprintf("M=%d: WA %s, ENS %s", M, pct(wa), pct(ens))
		ood.Holds = holds(wa >= ens)
	}
	return []report.Claim{approx, mem, id, ood}
}

func (s *study) bonClaims() []report.Claim {
	c := report.Claim{Name: "BoN: gold reward of the pick ranks WARM M=all > WARM M=2 > ENS > single RM as N grows", Paper: "holds [Fig 6–7]"}
	if s.bon == nil || s.rm == nil {
		return []report.Claim{c}
	}
	M := len(s.rm.Members)
	at := map[string]float64{}
	for _, cv := range s.bon.Curves {
		at[cv.Reward] = cv.Gold[len(cv.Gold)-1]
	}
	names := []string{fmt.Sprintf("warm%d", M), "warm2", fmt.Sprintf("ens%d", M), "single"}
	ok := true
	var parts []string
	for i, n := range names {
		v, found := at[n]
		if !found {
			return []report.Claim{c}
		}
		parts = append(parts, fmt.Sprintf("%s %.4f", n, v))
		if i > 0 && at[names[i-1]] <= v {
			ok = false
		}
	}
	c.Ours = fmt.Sprintf("gold at N=%d: %s", s.bon.NMax, join(parts))
	c.Holds = holds(ok)
	return []report.Claim{c}
}

func (s *study) rlClaims() []report.Claim {
	hack := report.Claim{Name: "RL with a single RM: gold rises then collapses as KL grows (hacking)", Paper: "holds [Fig 8]"}
	delay := report.Claim{Name: "WARM delays the collapse and reaches a higher gold peak than the single RM", Paper: "holds [Fig 8–9]"}
	ens := report.Claim{Name: "ENS hacks earlier than WARM", Paper: "holds [Fig 8]"}
	win := report.Claim{Name: "The WARM policy beats the single-RM policy head to head", Paper: "79.4% win rate (M=6 vs best single) [Fig 9]"}
	runs := map[string]*rlRun{}
	for _, r := range s.rl {
		runs[r.name] = r
	}
	single := runs["single"]
	var warm, en *rlRun
	for _, r := range s.rl {
		switch {
		case strings.HasPrefix(r.name, "warm"):
			warm = r
		case strings.HasPrefix(r.name, "ens"):
			en = r
		}
	}
	if single != nil {
		drop := single.sum.PeakGold - single.sum.Final.Gold
		hack.Ours = fmt.Sprintf("peak %.4f at step %d (KL %.2f), final %.4f at KL %.2f", single.sum.PeakGold, single.sum.PeakStep, single.sum.PeakKL, single.sum.Final.Gold, single.sum.Final.KL)
		hack.Holds = holds(single.sum.PeakStep < single.sum.Steps && drop > 0)
		hack.Note = "peak of the smoothed gold curve before the last step and a lower final value"
	}
	if single != nil && warm != nil {
		delay.Ours = fmt.Sprintf("peak step %d vs %d; peak gold %.4f vs %.4f (WARM vs single)", warm.sum.PeakStep, single.sum.PeakStep, warm.sum.PeakGold, single.sum.PeakGold)
		delay.Holds = holds(warm.sum.PeakStep >= single.sum.PeakStep && warm.sum.PeakGold > single.sum.PeakGold)
	}
	if en != nil && warm != nil {
		ens.Ours = fmt.Sprintf("peak step ENS %d vs WARM %d", en.sum.PeakStep, warm.sum.PeakStep)
		ens.Holds = holds(en.sum.PeakStep < warm.sum.PeakStep)
	}
	for _, d := range s.duels {
		if d.b == "single" {
			win.Ours = fmt.Sprintf("%s vs single: %.1f%% (95%% CI %.1f–%.1f%%, %d prompts)", d.a, 100*d.d.Rate, 100*d.d.Lo, 100*d.d.Hi, d.d.Prompts)
			win.Holds = holds(d.d.Lo > 0.5)
			win.Note = "holds when the 95% CI is above 50%"
		}
	}
	return []report.Claim{hack, delay, ens, win}
}

func join(p []string) string { return strings.Join(p, " > ") }

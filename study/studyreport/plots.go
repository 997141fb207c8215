package studyreport

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/warm-rm/warm/study/bon"
	"github.com/warm-rm/warm/study/report"
	"github.com/warm-rm/warm/study/rl"
	"github.com/warm-rm/warm/study/rmeval"
)

// The figures of the study's stages are drawn here, in the report layer,
// from what the stages computed: training and evaluation code does not
// import the plotting package.

// PlotBoN draws gold vs KL and standardised proxy vs KL into dir. Members
// other than "single", and gold as its own proxy (the oracle: an upper
// bound several times higher, which would flatten the other curves), are
// left out of the plots; they are in bon.json and the table.
func PlotBoN(dir string, curves []bon.Curve, goldName string) error {
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
	if err := report.LinePlot(filepath.Join(dir, "bon_gold_vs_kl.png"), "Best-of-N: gold reward of the pick (mean ± s.e. over prompts)",
		"KL_bon = log N − (N−1)/N (nats)", "gold reward (VADER compound)", gs); err != nil {
		return err
	}
	return report.LinePlot(filepath.Join(dir, "bon_proxy_vs_kl.png"), "Best-of-N: proxy reward of the pick, standardised per reward on the samples",
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

// curves turns metrics into smoothed (KL, gold), (KL, proxy) and
// (step, gold) series.
func rlCurves(name string, steps []rl.Step) (gold, proxy, byStep report.Series) {
	n := len(steps)
	w := rl.SmoothWindow(n)
	kl, g, p, x := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i, s := range steps {
		kl[i], g[i], p[i], x[i] = s.KL, s.Gold, s.Proxy, float64(s.Step)
	}
	kl, g, p = rl.Smooth(kl, w), rl.Smooth(g, w), rl.Smooth(p, w)
	return report.Series{Name: name, X: kl, Y: g}, report.Series{Name: name, X: kl, Y: p}, report.Series{Name: name, X: x, Y: g}
}

// PlotRL draws one RL run's curves into its directory from its
// metrics.jsonl: gold_vs_kl.png, proxy_vs_kl.png, gold_vs_step.png.
func PlotRL(out string) error {
	steps, err := rl.ReadMetrics(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		return err
	}
	if len(steps) == 0 {
		return nil
	}
	g, p, s := rlCurves(filepath.Base(out), steps)
	sub := fmt.Sprintf(" (centred moving average of %d steps)", rl.SmoothWindow(len(steps))/2*2+1)
	if err := report.LinePlot(filepath.Join(out, "gold_vs_kl.png"), "RL: gold reward vs KL"+sub, "KL(π‖π_ref) (nats)", "gold reward", []report.Series{g}); err != nil {
		return err
	}
	if err := report.LinePlot(filepath.Join(out, "proxy_vs_kl.png"), "RL: proxy reward vs KL"+sub, "KL(π‖π_ref) (nats)", "proxy (RM) reward", []report.Series{p}); err != nil {
		return err
	}
	return report.LinePlot(filepath.Join(out, "gold_vs_step.png"), "RL: gold reward by step"+sub, "step", "gold reward", []report.Series{s})
}

// PlotRLRuns puts several runs (e.g. the single-RM and WARM policies) on one
// set of plots in outDir: rl_gold_vs_kl.png, rl_proxy_vs_kl.png (each run
// on its own reward model's scale) and rl_gold_vs_step.png. names label
// the runs (nil: the directories' base names). It returns the files
// written.
func PlotRLRuns(runs []string, names []string, outDir string) ([]string, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("rl: no runs to plot")
	}
	if names != nil && len(names) != len(runs) {
		return nil, fmt.Errorf("rl: %d names for %d runs", len(names), len(runs))
	}
	var gs, ps, ss []report.Series
	for i, run := range runs {
		steps, err := rl.ReadMetrics(filepath.Join(run, "metrics.jsonl"))
		if err != nil {
			return nil, err
		}
		if len(steps) == 0 {
			return nil, fmt.Errorf("rl: %s: no steps logged", run)
		}
		name := filepath.Base(run)
		if names != nil {
			name = names[i]
		}
		g, p, s := rlCurves(name, steps)
		gs, ps, ss = append(gs, g), append(ps, p), append(ss, s)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	files := []string{filepath.Join(outDir, "rl_gold_vs_kl.png"), filepath.Join(outDir, "rl_proxy_vs_kl.png"), filepath.Join(outDir, "rl_gold_vs_step.png")}
	if err := report.LinePlot(files[0], "RL: gold reward vs KL (reward hacking: gold falls as KL grows)", "KL(π‖π_ref) (nats)", "gold reward", gs); err != nil {
		return nil, err
	}
	if err := report.LinePlot(files[1], "RL: proxy reward vs KL (each run on its RM's scale)", "KL(π‖π_ref) (nats)", "proxy reward", ps); err != nil {
		return nil, err
	}
	if err := report.LinePlot(files[2], "RL: gold reward by step", "step", "gold reward", ss); err != nil {
		return nil, err
	}
	return files, nil
}

// PlotAccuracy draws warm eval's grouped bars: per split, the mean member (± std), the
// best member, ENS and WA at each M in ms.
func PlotAccuracy(path string, r *rmeval.Result, ms []int) error {
	sp := r.Splits()
	mean := report.BarSeries{Name: "individual (mean ± std)"}
	best := report.BarSeries{Name: "best individual"}
	for _, s := range sp {
		sum := r.Summary[s]
		mean.Values = append(mean.Values, 100*sum.MemberMean)
		mean.Err = append(mean.Err, 100*sum.MemberStd)
		best.Values = append(best.Values, 100*sum.BestMember)
	}
	series := []report.BarSeries{mean, best}
	for _, kind := range []string{"ENS", "WA"} {
		for _, M := range ms {
			bs := report.BarSeries{Name: fmt.Sprintf("%s M=%d", kind, M)}
			for _, s := range sp {
				v := r.Summary[s].ENS
				if kind == "WA" {
					v = r.Summary[s].WA
				}
				bs.Values = append(bs.Values, 100*v[M])
			}
			series = append(series, bs)
		}
	}
	return report.BarPlot(path, "Pairwise accuracy by split", "accuracy (%)", sp, series)
}

// PlotLMC draws accuracy on split against λ for each curve: WA solid,
// ENS as a second series.
func PlotLMC(path, split string, curves []*rmeval.Curve) error {
	var series []report.Series
	for _, c := range curves {
		wa := report.Series{Name: c.Name + " (WA)"}
		ens := report.Series{Name: c.Name + " (ENS)"}
		for _, p := range c.Points {
			wa.X = append(wa.X, p.Lambda)
			wa.Y = append(wa.Y, 100*p.WA[split].Acc)
			ens.X = append(ens.X, p.Lambda)
			ens.Y = append(ens.Y, 100*p.ENS[split].Acc)
		}
		series = append(series, wa, ens)
	}
	return report.LinePlot(path, "Linear mode connectivity ("+split+")", "λ  (weights (1−λ)·a + λ·b)", "accuracy (%)", series)
}

package rmeval

import (
	"fmt"

	"github.com/warm-rm/warm/report"
)

// PlotAccuracy draws grouped bars: per split, the mean member (± std), the
// best member, ENS and WA at each M in ms.
func (r *Result) PlotAccuracy(path string, ms []int) error {
	sp := r.splitsOf()
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

// PlotCurves draws accuracy on split against λ for each curve: WA solid,
// ENS as a second series.
func PlotCurves(path, split string, curves []*Curve) error {
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

package report

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// niceTicks labels an axis every 1, 2 or 5 × 10^k, choosing the step that
// gives about 7 labelled ticks, with unlabelled minor ticks in between.
// gonum's DefaultTicks often labels only 3 values, too few to read
// accuracy differences of a percent off the plot.
type niceTicks struct{}

func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	// Of the 1-2-5 steps near range/7, take the one whose label count is
	// closest to 7 (ties go to the finer step).
	mag := math.Pow(10, math.Floor(math.Log10((hi-lo)/7)))
	step, best := mag, math.Inf(1)
	for _, m := range []float64{0.5, 1, 2, 5, 10, 20} {
		s := m * mag
		n := math.Floor(hi/s+1e-9) - math.Ceil(lo/s-1e-9) + 1
		if d := math.Abs(n - 7); d < best {
			step, best = s, d
		}
	}
	mag = math.Pow(10, math.Floor(math.Log10(step)+1e-9))
	minor := step / 5
	if math.Abs(step/mag-2) < 1e-9 {
		minor = step / 4
	}
	// Label precision: enough decimals to show the step.
	prec := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	var ticks []plot.Tick
	first := math.Ceil(lo/minor-1e-9) * minor
	for k := 0; ; k++ {
		v := first + float64(k)*minor
		if v > hi+minor*1e-9 {
			break
		}
		t := plot.Tick{Value: v}
		if r := v / step; math.Abs(r-math.Round(r)) < 1e-6 {
			if math.Abs(v) < step*1e-9 {
				v = 0 // avoid "-0.00"
			}
			t.Label = strconv.FormatFloat(v, 'f', prec, 64)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

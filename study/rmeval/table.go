package rmeval

import (
	"fmt"
	"io"
	"strings"
)

// SplitOrder is the order splits are shown in.
var SplitOrder = []string{TrainClean, TrainCorrupted, ValSelect, Val, OOD + SelectSuffix, OOD, Human}

// Splits lists the evaluated splits in SplitOrder.
func (r *Result) Splits() []string {
	var out []string
	for _, s := range SplitOrder {
		if _, ok := r.Summary[s]; ok {
			out = append(out, s)
		}
	}
	return out
}

// WriteTable prints every entry's accuracy (%) per split, then ECE on val.
func (r *Result) WriteTable(w io.Writer) {
	sp := r.Splits()
	fmt.Fprintf(w, "%-22s", "model")
	for _, s := range sp {
		fmt.Fprintf(w, " %16s", s)
	}
	fmt.Fprintf(w, " %8s\n", "ECE val")
	for _, e := range r.Entries {
		fmt.Fprintf(w, "%-22s", e.Name)
		for _, s := range sp {
			m := e.Splits[s]
			fmt.Fprintf(w, " %16s", pct(m.Acc))
		}
		if m, ok := e.Splits[Val]; ok {
			fmt.Fprintf(w, " %8.3f", m.ECE)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "(accuracy %%, ties count half; %s is accuracy on the swapped labels: memorisation, lower is better)\n", TrainCorrupted)
	if s := r.Selection; s != nil {
		fmt.Fprintf(w, "(members ranked on %s: %d pairs of %s chosen by prompt hash, seed %d; %s is the other %d pairs, never used to choose)\n",
			s.RankedOn, len(s.SelectRows), s.Split, s.Seed, s.Split, len(s.TestRows))
	}
}

// SummaryRows is the paper-style comparison: rows individual (mean ± std),
// best individual, ENS M, WA M for the given Ms; columns the splits.
func (r *Result) SummaryRows(ms []int) (header []string, rows [][]string) {
	sp := r.Splits()
	header = append([]string{""}, sp...)
	line := func(name string, f func(Summary) string) {
		row := []string{name}
		for _, s := range sp {
			row = append(row, f(r.Summary[s]))
		}
		rows = append(rows, row)
	}
	line("individual (mean ± std)", func(s Summary) string {
		return fmt.Sprintf("%s ± %s", pct(s.MemberMean), pct(s.MemberStd))
	})
	line("best individual", func(s Summary) string { return pct(s.BestMember) })
	for _, M := range ms {
		line(ENSName(M), func(s Summary) string { return pctOK(s.ENS, M) })
	}
	for _, M := range ms {
		line(WAName(M), func(s Summary) string { return pctOK(s.WA, M) })
	}
	return header, rows
}

func pctOK(m map[int]float64, k int) string {
	v, ok := m[k]
	if !ok {
		return "—"
	}
	return pct(v)
}

// WriteSummary prints SummaryRows as an aligned table.
func (r *Result) WriteSummary(w io.Writer, ms []int) {
	h, rows := r.SummaryRows(ms)
	fmt.Fprintf(w, "%-24s", h[0])
	for _, c := range h[1:] {
		fmt.Fprintf(w, " %16s", c)
	}
	fmt.Fprintln(w)
	for _, row := range rows {
		fmt.Fprintf(w, "%-24s", row[0])
		for _, c := range row[1:] {
			fmt.Fprintf(w, " %16s", c)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, strings.Repeat("-", 24+17*len(h[1:])))
}

// WriteCurves prints interpolation curves: accuracy of WA and ENS per λ
// on each split, and the midpoint barrier.
func WriteCurves(w io.Writer, curves []*Curve, splits []Split) {
	for _, c := range curves {
		fmt.Fprintf(w, "%s: %s ↔ %s\n", c.Name, c.A, c.B)
		fmt.Fprintf(w, "  %6s", "λ")
		for _, s := range splits {
			fmt.Fprintf(w, " %14s %14s", s.Name+" WA", s.Name+" ENS")
		}
		fmt.Fprintln(w)
		for _, p := range c.Points {
			fmt.Fprintf(w, "  %6.2f", p.Lambda)
			for _, s := range splits {
				fmt.Fprintf(w, " %14.1f %14.1f", 100*p.WA[s.Name].Acc, 100*p.ENS[s.Name].Acc)
			}
			fmt.Fprintln(w)
		}
		for _, s := range splits {
			wa, ens := c.Barrier(s.Name)
			fmt.Fprintf(w, "  %s: midpoint − endpoint mean: WA %+.1f, ENS %+.1f points\n", s.Name, 100*wa, 100*ens)
		}
	}
}

// WriteSoup prints the greedy soup's ingredients and accuracies (nothing
// without a soup).
func (r *Result) WriteSoup(w io.Writer) {
	if r.Soup == nil {
		return
	}
	fmt.Fprintf(w, "greedy soup (%s): kept %v\n", r.Soup.RankBy, r.Soup.Ingredient)
	for _, s := range SplitOrder {
		if g, ok := r.Soup.Greedy[s]; ok {
			fmt.Fprintf(w, "  %-16s uniform %5.1f  greedy %5.1f  best single (%s) %5.1f\n", s, 100*r.Soup.Uniform[s].Acc, 100*g.Acc, r.Soup.BestName, 100*r.Soup.Best[s].Acc)
		}
	}
}

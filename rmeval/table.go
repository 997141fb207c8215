package rmeval

import (
	"fmt"
	"io"
	"strings"
)

// SplitOrder is the order splits are shown in.
var SplitOrder = []string{TrainClean, TrainCorrupted, Val, OOD}

// splitsOf lists the evaluated splits in SplitOrder.
func (r *Result) splitsOf() []string {
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
	sp := r.splitsOf()
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
}

// SummaryRows is the paper-style comparison: rows individual (mean ± std),
// best individual, ENS M, WA M for the given Ms; columns the splits.
func (r *Result) SummaryRows(ms []int) (header []string, rows [][]string) {
	sp := r.splitsOf()
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
		line(fmt.Sprintf("ENS M=%d", M), func(s Summary) string { return pctOK(s.ENS, M) })
	}
	for _, M := range ms {
		line(fmt.Sprintf("WA M=%d", M), func(s Summary) string { return pctOK(s.WA, M) })
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

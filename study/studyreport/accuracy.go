package studyreport

import (
	"fmt"
	"sort"
	"strings"

	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/study/report"
	"github.com/warm-rm/warm/study/rmeval"
)

// accuracyIntervals prints every model's accuracy on every split with its
// 95% Wilson interval, from eval.json's per-pair data; without that data
// it prints nothing (the summary table above has the point values).
func (s *study) accuracyIntervals(d *report.Doc) error {
	ev, err := s.evidence()
	if err != nil {
		return err
	}
	var splits []string
	for _, sp := range rmeval.SplitOrder {
		if ev.Correct[sp] != nil {
			splits = append(splits, sp)
		}
	}
	if len(splits) == 0 {
		return nil
	}
	// Members in rank order, then ENS and WA by M.
	models := append([]string(nil), ev.Members...)
	var combos []string
	seen := map[string]bool{}
	for _, m := range models {
		seen[m] = true
	}
	for _, sp := range splits {
		for name := range ev.Correct[sp] {
			if !seen[name] {
				seen[name] = true
				combos = append(combos, name)
			}
		}
	}
	sort.Strings(combos)
	models = append(models, combos...)
	var rows [][]string
	for _, m := range models {
		row := []string{m}
		for _, sp := range splits {
			v := ev.Correct[sp][m]
			iv, ok := stats.Interval{}, false
			if t := ev.Texts[sp]; t != nil {
				iv, ok = textCombo(t, map[string]float64{m: 1})
			}
			if !ok && v != nil {
				iv, ok = stats.ClusterAccuracyInterval(v, ev.Clusters[sp]).Scale(100), true
			}
			if !ok {
				row = append(row, "—")
				continue
			}
			row = append(row, fmt.Sprintf("%.1f"+nbsp+"[%.1f,"+nbsp+"%.1f]", iv.Est, iv.Lo, iv.Hi))
		}
		rows = append(rows, row)
	}
	n := []string{}
	for _, sp := range splits {
		for _, v := range ev.Correct[sp] {
			if cl := ev.Clusters[sp]; cl != nil {
				n = append(n, fmt.Sprintf("%s %d (of %d prompts)", sp, len(v), stats.NumClusters(cl, len(cl))))
			} else {
				n = append(n, fmt.Sprintf("%s %d", sp, len(v)))
			}
			break
		}
	}
	d.Heading(3, "Accuracy with 95% intervals")
	d.Table(append([]string{"model"}, splits...), rows)
	grouped := ""
	for _, sp := range splits {
		if t := ev.Texts[sp]; t != nil {
			grouped = fmt.Sprintf(" On %s every positive text is compared with every negative one of its source (%d comparisons; DeLong intervals).", sp, stats.AllPairsComparisons(t.Groups))
		}
	}
	d.Para(fmt.Sprintf("Wilson score intervals (a bootstrap over prompts where a split holds several pairs per prompt), ties counted half; pairs per split: %s.%s Differences between models are paired and much tighter than these intervals suggest: see the claims table.", strings.Join(n, ", "), grouped))
	return nil
}

package studyreport

import (
	"fmt"
	"path/filepath"

	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/study/bowref"
	"github.com/warm-rm/warm/study/report"
)

// ceilingSection prints the label-noise ceiling next to the members: the
// accuracy of a bag-of-words logistic regression (package bowref) trained
// on the same training pairs, and the gold agreement of the labels. It
// costs a few seconds of CPU and reads only data/*.jsonl, so it is
// computed here rather than stored by a stage.
func (s *study) ceilingSection(d *report.Doc) error {
	trainPath := s.train
	if !fileExists(trainPath) {
		return nil
	}
	train, err := prefdata.ReadJSONL(trainPath)
	if err != nil {
		return err
	}
	m, err := bowref.Ceiling(bowref.PairsFromRows(train), nil)
	if err != nil {
		return fmt.Errorf("%s: %w", trainPath, err)
	}
	d.Heading(3, "Label-noise ceiling: a bag-of-words reference model")
	var rows [][]string
	for _, sp := range []struct{ name, file string }{{"val", "val.jsonl"}, {"ood", "ood.jsonl"}, {"human", "human.jsonl"}} {
		p := filepath.Join(s.shared, "data", sp.file)
		if !fileExists(p) {
			continue
		}
		r, err := prefdata.ReadJSONL(p)
		if err != nil {
			return err
		}
		keys := make([]string, len(r))
		for i, row := range r {
			keys[i] = prefdata.UnitKey(row)
		}
		cl := stats.ClusterIDs(keys) // a grouped split: several pairs per prompt
		iv := stats.ClusterAccuracyInterval(m.Correct(bowref.PairsFromRows(r)), cl).Scale(100)
		n := fmt.Sprint(iv.N)
		if cl != nil {
			n = fmt.Sprintf("%d (of %d prompts)", iv.N, stats.NumClusters(cl, len(cl)))
		}
		if sp.name == "human" {
			// As the reward models' accuracy there (rmeval.Split.Groups):
			// every positive against every negative of its source.
			pos, neg, groups := make([]float64, len(r)), make([]float64, len(r)), make([]string, len(r))
			for i, row := range r {
				pos[i], neg[i], groups[i] = m.Score(row.Chosen), m.Score(row.Rejected), row.Subset
			}
			iv = stats.AllPairsCombo([][]float64{pos}, [][]float64{neg}, groups, []float64{1}).Scale(100)
			n = fmt.Sprintf("%d (all %d within-source comparisons)", len(r), stats.AllPairsComparisons(groups))
		}
		row := []string{sp.name, fmt.Sprintf("%.1f [%.1f, %.1f]", iv.Est, iv.Lo, iv.Hi), n}
		best := "—"
		if sp.name == "val" && s.rm != nil && len(s.rm.Members) > 0 {
			b := 0.0
			for _, mr := range s.rm.Members {
				b = max(b, mr.ValAcc)
			}
			best = fmt.Sprintf("%.1f (%.0f%% of the ceiling)", 100*b, 100*b/(iv.Est/100))
		}
		rows = append(rows, append(row, best))
	}
	d.Table([]string{"split", "bag-of-words accuracy % [95% CI]", "pairs", "best member %"}, rows)
	agree := ""
	if s.data != nil {
		a := s.data.Train.GoldAgreement
		if s.labels == "clean" {
			a = s.data.Train.CleanAgreement
		}
		agree = fmt.Sprintf(" The training labels agree with the gold judge on %s%% of pairs.", pct(a))
	}
	d.Para(fmt.Sprintf("Bradley-Terry logistic regression on word counts (chosen − rejected), %d training pairs, vocabulary %d words, L2 %g chosen on held-out training pairs.%s Members well below this line are under-trained for these labels; the ceiling itself is bounded by the label noise.",
		len(train), len(m.Vocab), m.L2, agree))
	return nil
}

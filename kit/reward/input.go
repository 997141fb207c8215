package reward

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/prefdata"
)

// This file is the one home of reward-model input: how a prompt and a
// response become the token ids a reward model scores, and how many of
// them are scored at once. Training, evaluation, best-of-N, RL, `warm
// score` and the server all go through it, so a reward is computed the
// same way wherever it is read.
//
// The text scored is prompt + response, concatenated as is, encoded as
// plain text (no special tokens added, none recognised): the preference
// data was built that way, and HF's reward trainers do the same for a
// model without a chat template.

// Truncation says what happens to a text longer than the model's context.
type Truncation int

const (
	// KeepLast drops the start and keeps the last tokens: the reward is
	// read at the last token, so the end of the response must survive.
	KeepLast Truncation = iota
	// KeepFirst drops the end (HF tokenizers' default truncation side).
	KeepFirst
	// Refuse makes an over-long text an error.
	Refuse
)

// ParseTruncation reads the command-line names left (KeepLast), right
// (KeepFirst) and error (Refuse).
func ParseTruncation(s string) (Truncation, error) {
	switch s {
	case "left":
		return KeepLast, nil
	case "right":
		return KeepFirst, nil
	case "error":
		return Refuse, nil
	}
	return 0, fmt.Errorf("truncation %q: want error, left or right", s)
}

// ErrEmptyText is returned (wrapped) for a text that encodes to no tokens.
var ErrEmptyText = errors.New("empty text, nothing to score")

// ErrTooLong matches (errors.Is) the TooLongError returned under Refuse.
var ErrTooLong = errors.New("text longer than the model's context")

// TooLongError is a text of N tokens for a model that takes at most Max.
type TooLongError struct{ N, Max int }

func (e *TooLongError) Error() string {
	return fmt.Sprintf("text has %d tokens, more than the model's n_positions %d", e.N, e.Max)
}

// Is makes errors.Is(err, ErrTooLong) true.
func (e *TooLongError) Is(target error) bool { return target == ErrTooLong }

// Encoder turns plain text into token ids, adding no special tokens, as
// (*tokenizer.Tokenizer).Encode does.
type Encoder interface {
	Encode(text string) []int
}

// Encode tokenizes text as plain text and keeps at most the last maxLen ids.
func Encode(tok Encoder, text string, maxLen int) []int {
	ids, _ := EncodeText(tok, text, maxLen, KeepLast)
	return ids
}

// EncodeText tokenizes text as plain text and fits it into maxLen tokens
// as trunc says. An empty result is ErrEmptyText; an over-long text under
// Refuse is a *TooLongError (errors.Is(err, ErrTooLong)).
func EncodeText(tok Encoder, text string, maxLen int, trunc Truncation) ([]int, error) {
	return Fit(tok.Encode(text), maxLen, trunc)
}

// Fit fits token ids into maxLen as trunc says (EncodeText after the
// encoding): no ids is ErrEmptyText, too many under Refuse a *TooLongError.
func Fit(ids []int, maxLen int, trunc Truncation) ([]int, error) {
	if len(ids) == 0 {
		return nil, ErrEmptyText
	}
	if len(ids) > maxLen {
		switch trunc {
		case KeepLast:
			ids = ids[len(ids)-maxLen:]
		case KeepFirst:
			ids = ids[:maxLen]
		default:
			return nil, &TooLongError{N: len(ids), Max: maxLen}
		}
	}
	return ids, nil
}

// Pair is one tokenized preference pair: the ids of prompt+chosen and
// prompt+rejected.
type Pair struct {
	Chosen, Rejected []int
	Margin           float32
	Corrupted        bool
}

// TokenizePairs encodes preference rows as the reward model sees them
// (KeepLast truncation to maxLen). It fails on an empty text, naming the
// row.
func TokenizePairs(tok Encoder, rows []prefdata.Row, maxLen int) ([]Pair, error) {
	ps := make([]Pair, len(rows))
	for i, r := range rows {
		c, err := pairSide(tok, &r, r.Chosen, r.ChosenMessages, maxLen)
		if err != nil {
			return nil, fmt.Errorf("row %d (id %q): chosen: %w", i+1, r.ID, err)
		}
		rj, err := pairSide(tok, &r, r.Rejected, r.RejectedMessages, maxLen)
		if err != nil {
			return nil, fmt.Errorf("row %d (id %q): rejected: %w", i+1, r.ID, err)
		}
		ps[i] = Pair{Chosen: c, Rejected: rj, Corrupted: r.Corrupted}
		if r.Margin != nil {
			ps[i].Margin = float32(*r.Margin)
		}
	}
	return ps, nil
}

// pairSide encodes prompt + one response of a row: through the row's
// messages when tok is a SideEncoder, else as plain text; KeepLast.
func pairSide(tok Encoder, r *prefdata.Row, text string, msgs []prefdata.Message, maxLen int) ([]int, error) {
	if se, ok := tok.(SideEncoder); ok {
		ids, err := se.Side(r.Prompt, text, r.PromptMessages, msgs)
		if err != nil {
			return nil, err
		}
		return Fit(ids, maxLen, KeepLast)
	}
	return EncodeText(tok, r.Prompt+text, maxLen, KeepLast)
}

// PairRewards scores the chosen and rejected texts of pairs in one call.
// A text that several pairs share (every pair among k responses to one
// prompt, as prefgen's grouped splits hold) is scored once: the model is
// deterministic in eval mode, so its reward is the same wherever it
// appears.
func PairRewards(m model.RewardModel, pairs []Pair) (rc, rr []float32, err error) {
	seqs, ci, ri := UniqueSeqs(pairs)
	r, err := m.Rewards(seqs)
	if err != nil {
		return nil, nil, err
	}
	if len(r) != len(seqs) {
		return nil, nil, fmt.Errorf("reward: model returned %d rewards for %d sequences", len(r), len(seqs))
	}
	rc, rr = make([]float32, len(pairs)), make([]float32, len(pairs))
	for i := range pairs {
		rc[i], rr[i] = r[ci[i]], r[ri[i]]
	}
	return rc, rr, nil
}

// UniqueSeqs lists the distinct token sequences of pairs (chosen texts
// first, in order of first appearance) and, for each pair, the index of
// its chosen (ci) and rejected (ri) text in that list: whatever runs a
// frozen model over pairs (rewards, probe features) runs it once per
// distinct text.
func UniqueSeqs(pairs []Pair) (seqs [][]int, ci, ri []int) {
	at := make(map[string]int, 2*len(pairs))
	index := func(s []int) int {
		k := seqKey(s)
		i, ok := at[k]
		if !ok {
			i = len(seqs)
			at[k] = i
			seqs = append(seqs, s)
		}
		return i
	}
	ci, ri = make([]int, len(pairs)), make([]int, len(pairs))
	for i, p := range pairs {
		ci[i] = index(p.Chosen)
	}
	for i, p := range pairs {
		ri[i] = index(p.Rejected)
	}
	return seqs, ci, ri
}

// seqKey is a map key for a token sequence: its ids as 4-byte words.
func seqKey(s []int) string {
	b := make([]byte, 4*len(s))
	for i, t := range s {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(t))
	}
	return string(b)
}

// TextScorer scores texts with a reward model: it encodes them (see
// EncodeText) and batches the forward passes.
type TextScorer struct {
	Model model.RewardModel
	Tok   Encoder
	// Truncate is applied at Model.MaxLen() (zero value: KeepLast).
	Truncate Truncation
	// Batch > 0 scores that many sequences per Rewards call, longest first
	// (similar lengths balance the attention jobs); 0 passes everything in
	// one call (the model bounds its own activation memory).
	Batch int
	// Progress, when set, is called after each batch with the sequences
	// scored so far and the total.
	Progress func(done, total int)
}

// Encode is EncodeText with the scorer's tokenizer, context and truncation.
func (s TextScorer) Encode(text string) ([]int, error) {
	return EncodeText(s.Tok, text, s.Model.MaxLen(), s.Truncate)
}

// encodeSide encodes text k of an item: through its messages (or the
// template mode) when the scorer's Tok is a SideEncoder, else as the plain
// text Prompt + text.
func (s TextScorer) encodeSide(it Item, k int, text string) ([]int, error) {
	se, ok := s.Tok.(SideEncoder)
	if !ok {
		return s.Encode(it.Prompt + text)
	}
	var pm, rm []prefdata.Message
	if it.TextMessages != nil {
		pm, rm = it.PromptMessages, it.TextMessages[k]
	}
	ids, err := se.Side(it.Prompt, text, pm, rm)
	if err != nil {
		return nil, err
	}
	return Fit(ids, s.Model.MaxLen(), s.Truncate)
}

// Seqs scores token sequences, batched as s.Batch says; the result is in
// the order of seqs.
func (s TextScorer) Seqs(seqs [][]int) ([]float32, error) {
	if s.Batch <= 0 {
		r, err := s.Model.Rewards(seqs)
		if err == nil && s.Progress != nil {
			s.Progress(len(seqs), len(seqs))
		}
		return r, err
	}
	order := make([]int, len(seqs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(seqs[order[a]]) > len(seqs[order[b]]) })
	out := make([]float32, len(seqs))
	batch := make([][]int, 0, s.Batch)
	for lo := 0; lo < len(order); lo += s.Batch {
		hi := min(lo+s.Batch, len(order))
		batch = batch[:0]
		for _, i := range order[lo:hi] {
			batch = append(batch, seqs[i])
		}
		r, err := s.Model.Rewards(batch)
		if err != nil {
			return nil, err
		}
		for k, v := range r {
			out[order[lo+k]] = v
		}
		if s.Progress != nil {
			s.Progress(hi, len(order))
		}
	}
	return out, nil
}

// Texts scores whole texts; the first text that cannot be encoded is an
// error naming its index.
func (s TextScorer) Texts(texts []string) ([]float32, error) {
	seqs := make([][]int, len(texts))
	for i, t := range texts {
		ids, err := s.Encode(t)
		if err != nil {
			return nil, fmt.Errorf("text %d: %w", i, err)
		}
		seqs[i] = ids
	}
	return s.Seqs(seqs)
}

// Responses scores prompt[i]+responses[i], as float64 (what best-of-N and
// RL compute with).
func (s TextScorer) Responses(prompts, responses []string) ([]float64, error) {
	if len(prompts) != len(responses) {
		return nil, fmt.Errorf("reward: %d prompts, %d responses", len(prompts), len(responses))
	}
	texts := make([]string, len(prompts))
	for i := range prompts {
		texts[i] = prompts[i] + responses[i]
	}
	r, err := s.Texts(texts)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(r))
	for i, v := range r {
		out[i] = float64(v)
	}
	return out, nil
}

// Package serve is an HTTP reward-model server for RL loops: it tokenizes
// prompt+response texts, batches items from concurrent requests into one
// forward pass (sorted by length to limit padding), and answers with one
// scalar reward per item. With ensemble members loaded next to the main
// (WARM) model it also returns the members' disagreement (std), the ENS
// uncertainty signal.
//
// The package knows nothing about the engine: a Backend holds anything that
// can encode text (Tokenizer) and score token sequences (Scorer). The warm
// CLI (cmd/warm/serve.go) fills it with reward.Load's models and a
// reward.Input.
package serve

import (
	"errors"
	"fmt"

	"github.com/warm-rm/warm/kit/reward"
)

// Scorer scores token sequences: one reward per sequence. It is the
// signature of the engine's (*model.Model).Rewards, so a model is a Scorer
// as is. Implementations must be safe for concurrent use when the server runs
// more than one batch worker, and must not keep the slices they are given.
type Scorer interface {
	Rewards(seqs [][]int) ([]float32, error)
}

// Tokenizer turns plain text into token ids (no special tokens added), as
// (*tokenizer.Tokenizer).Encode does. It is called concurrently from request
// goroutines.
type Tokenizer interface {
	Encode(text string) []int
}

// ChatTokenizer is a Tokenizer that also renders a conversation with the
// model's chat template and tokenizes it (for /v1/score items given as
// "messages"). An error says why it cannot (e.g. no template).
type ChatTokenizer interface {
	Tokenizer
	EncodeChat(msgs []Message) ([]int, error)
}

// Backend is everything needed to score text: one tokenizer shared by all
// models, the main model and optional ensemble members. A Backend is
// immutable once handed to a Server; hot reload builds a new one and swaps it
// in atomically.
type Backend struct {
	Tok  Tokenizer
	Main Scorer
	// Members, when non-empty, are scored on every item too; their
	// population standard deviation is returned as "std".
	Members []Scorer
	// MaxTokens is the longest sequence the models accept (n_positions).
	MaxTokens int
	// Name describes the backend in logs and /healthz (e.g. the model dir).
	Name string
	// Close, when set, releases the models (mapped files, handles). A
	// Server calls it exactly once: after a reload (or Swap, or shutdown)
	// has replaced the backend and the last request scoring on it has been
	// answered, or at once when a reloaded backend fails its checks. It is
	// never called while a batch runs on the backend. A backend with Close
	// must be handed to a Server once (Config.Load builds a fresh one per
	// reload), since each hand-over is closed on its own.
	Close func() error
}

// Validate reports a backend that cannot serve.
func (b *Backend) Validate() error {
	switch {
	case b == nil:
		return errors.New("serve: nil backend")
	case b.Tok == nil:
		return errors.New("serve: backend has no tokenizer")
	case b.Main == nil:
		return errors.New("serve: backend has no main model")
	case b.MaxTokens <= 0:
		return fmt.Errorf("serve: backend MaxTokens must be > 0, got %d", b.MaxTokens)
	}
	for i, m := range b.Members {
		if m == nil {
			return fmt.Errorf("serve: backend member %d is nil", i)
		}
	}
	return nil
}

// Score scores seqs with the main model and, when members are present,
// returns the per-item standard deviation of the members' rewards (nil
// otherwise). It is what the server computes for every batch, exposed so that
// tests and tools can produce the serial reference.
func (b *Backend) Score(seqs [][]int) (rewards, std []float32, err error) {
	if rewards, err = b.Main.Rewards(seqs); err != nil {
		return nil, nil, err
	}
	if len(rewards) != len(seqs) {
		return nil, nil, fmt.Errorf("model returned %d rewards for %d sequences", len(rewards), len(seqs))
	}
	if len(b.Members) == 0 {
		return rewards, nil, nil
	}
	all := make([][]float32, len(b.Members))
	for i, m := range b.Members {
		r, err := m.Rewards(seqs)
		if err != nil {
			return nil, nil, fmt.Errorf("member %d: %w", i, err)
		}
		if len(r) != len(seqs) {
			return nil, nil, fmt.Errorf("member %d returned %d rewards for %d sequences", i, len(r), len(seqs))
		}
		all[i] = r
	}
	_, std = reward.MeanStd(all)
	return rewards, std, nil
}

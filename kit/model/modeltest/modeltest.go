// Package modeltest builds the tiny GPT-2 models and tokenizers tests use,
// so that every package's tests share one fixture instead of rewriting it.
package modeltest

import (
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/tokenizer"
)

// Config is a tiny GPT-2 config: vocab tokens, n_positions ctx, width 16,
// 2 heads, the given layers, no special tokens, no dropout.
func Config(vocab, ctx, layers int) model.Config {
	return model.Config{VocabSize: vocab, NPositions: ctx, NEmbd: 16, NLayer: layers, NHead: 2,
		LayerNormEps: 1e-5, PadTokenID: -1, BOSTokenID: -1, EOSTokenID: -1, Architecture: model.ArchLM}
}

// LM is a random tiny language model.
func LM(vocab, ctx, layers int, seed uint64) *model.Model {
	return model.New(Config(vocab, ctx, layers), seed)
}

// RM is a random tiny reward model (the head seeded by seed too).
func RM(vocab, ctx, layers int, seed uint64) *model.Model {
	m := LM(vocab, ctx, layers, seed)
	m.AsRewardModel(seed)
	return m
}

// Tokenizer is a byte-level BPE of 300 tokens (stop token <|endoftext|>)
// trained on a short repeated English text.
func Tokenizer(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	text := strings.Repeat("the good cat sat on a happy mat and the bad dog ran away from it. ", 20)
	tok, err := tokenizer.Train([]string{text}, 300, []string{"<|endoftext|>"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Policy is a random tiny language model over tok's vocabulary whose
// BOS/EOS is tok's stop token.
func Policy(tok *tokenizer.Tokenizer, ctx int, seed uint64) *model.Model {
	cfg := Config(tok.VocabSize(), ctx, 1)
	cfg.BOSTokenID, cfg.EOSTokenID = tok.EOT(), tok.EOT()
	return model.New(cfg, seed)
}

// Rewards scores seqs, failing the test on an error.
func Rewards(t testing.TB, m model.RewardModel, seqs [][]int) []float32 {
	t.Helper()
	r, err := m.Rewards(seqs)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// LogProbs is TokenLogProbs, failing the test on an error.
func LogProbs(t testing.TB, m model.CausalLM, seqs [][]int) [][]float32 {
	t.Helper()
	lp, err := m.TokenLogProbs(seqs)
	if err != nil {
		t.Fatal(err)
	}
	return lp
}

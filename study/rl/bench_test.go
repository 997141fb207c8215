package rl

import (
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/optim"
	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/kit/tokenizer"
	"github.com/warm-rm/warm/study/corpus"
)

// benchSetup builds the quick preset's shapes (vocab 8192, d 128, 4 layers,
// 4 heads, context 128) from random weights: a policy, a reward model and
// 16-token prompts cut from the corpus sample. rl/testdata/bench_peer.py
// times the same step in PyTorch.
func benchSetup(b *testing.B) (*tokenizer.Tokenizer, *model.Model, *model.Model, []string) {
	b.Helper()
	var texts []string
	for _, d := range corpus.LoadSample() {
		texts = append(texts, d.Text)
	}
	tok, err := tokenizer.Train(texts, 8192, []string{"<|endoftext|>"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	cfg := model.Config{VocabSize: tok.VocabSize(), NPositions: 128, NEmbd: 128, NLayer: 4, NHead: 4,
		LayerNormEps: 1e-5, BOSTokenID: tok.EOT(), EOSTokenID: tok.EOT(), PadTokenID: -1, Architecture: model.ArchLM}
	pol := model.New(cfg, 1)
	rcfg := cfg
	rcfg.Architecture = model.ArchRewardModel
	rm := model.New(rcfg, 2)
	var prompts []string
	for _, s := range strings.Split(texts[0], ". ") {
		ids := tok.Encode(s)
		if len(ids) >= 16 {
			prompts = append(prompts, tok.Decode(ids[:16]))
		}
		if len(prompts) == 64 {
			break
		}
	}
	return tok, pol, rm, prompts
}

// BenchmarkRLStep is one RLOO step at the quick preset's sizes: 8 prompts ×
// 4 samples, 32 new tokens at temperature 0.9, reference log-probs, reward
// model, policy forward + backward, clipping and AdamW.
func BenchmarkRLStep(b *testing.B) {
	tok, pol, rm, prompts := benchSetup(b)
	cfg := Config{Steps: 1 << 30, Prompts: 8, K: 4, LR: 1e-5, ClipNorm: 1, KLCoef: 0.01, Temperature: 0.9, MaxNew: 32, Baseline: "rloo", Seed: 1}
	r := Run{Policy: pol, Tok: tok, Prompts: prompts, Proxy: reward.TextScorer{Model: rm, Tok: tok}, Config: cfg}
	ids := make([][]int, len(prompts))
	for i, p := range prompts {
		ids[i] = tok.Encode(p)
	}
	groups, _ := optim.Groups(pol, optim.TrainAll, 0)
	opt := optim.NewAdamW(groups...)
	ref := pol.Clone()
	var st state
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := trainStep(&r, pol, ref, opt, ids, i, &st, cfg.LR); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*cfg.Prompts*cfg.K)/b.Elapsed().Seconds(), "seqs/s")
}

// BenchmarkDuelSample is the sampling side of BoN and the duel: 256 rows of
// 16-token prompts, 32 new tokens each at temperature 1.
func BenchmarkDuelSample(b *testing.B) {
	tok, pol, _, prompts := benchSetup(b)
	rows := make([]string, 256)
	for i := range rows {
		rows[i] = prompts[i%len(prompts)]
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := sampleAll(pol, tok, rows, DuelOptions{MaxNew: 32, Temperature: 1, Seed: uint64(i), Batch: 256}, "A"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "seqs/s")
}

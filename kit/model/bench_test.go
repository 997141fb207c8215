package model_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/optim"
)

// The reference RM config of WARM.md §5 (peer: model/bench/peer.py):
// vocab 8192, d 128, 4 heads, 2 layers, MLP 512, sequences of 128.
func benchConfig() model.Config {
	return model.Config{VocabSize: 8192, NPositions: 128, NEmbd: 128, NLayer: 2, NHead: 4, NInner: 512,
		LayerNormEps: 1e-5, ResidPdrop: 0.1, EmbdPdrop: 0.1, AttnPdrop: 0.1,
		BOSTokenID: 0, EOSTokenID: 0, PadTokenID: 0, Architecture: model.ArchRewardModel}
}

func randSeqs(n, T, V int) [][]int {
	r := rand.New(rand.NewPCG(1, 2))
	s := make([][]int, n)
	for i := range s {
		s[i] = make([]int, T)
		for j := range s[i] {
			s[i][j] = r.IntN(V)
		}
	}
	return s
}

// BenchmarkTrainStep: one Bradley-Terry step on 16 pairs × 128 tokens with
// dropout, gradient clipping and AdamW (the peer's step has no clipping).
func BenchmarkTrainStep(b *testing.B) {
	m := model.New(benchConfig(), 1)
	groups, _ := optim.Groups(m, optim.TrainAll, 0.01)
	opt := optim.NewAdamW(groups...)
	seqs := randSeqs(32, 128, 8192)
	dR := make([]float32, 32)
	step := func(i int) {
		m.ZeroGrad()
		p := m.Forward(seqs, model.Mode{Train: true, Seed: uint64(i)})
		r := p.Rewards()
		for k := 0; k < 32; k += 2 {
			s := float32(1/(1+math.Exp(float64(r[k]-r[k+1])))) / 16
			dR[k], dR[k+1] = -s, s
		}
		p.BackwardRewards(dR)
		optim.ClipGradNorm(opt.Params(), 1)
		opt.Step(1e-4)
	}
	step(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step(i + 1)
	}
	b.ReportMetric(float64(b.N*32*128)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkInference: rewards for a batch of 64 × 128 tokens.
func BenchmarkInference(b *testing.B) {
	m := model.New(benchConfig(), 1)
	seqs := randSeqs(64, 128, 8192)
	m.Rewards(seqs)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Rewards(seqs)
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "seqs/s")
}

// BenchmarkGenerate: 16 prompts of 32 tokens, 32 new tokens each, top-k 50.
func BenchmarkGenerate(b *testing.B) {
	m := model.New(benchConfig(), 1)
	m.AsLanguageModel()
	prompts := randSeqs(16, 32, 8192)
	opt := model.SampleOptions{MaxNewTokens: 32, Temperature: 1, TopK: 50, StopToken: -1}
	for i := 0; i < b.N; i++ {
		opt.Seed = uint64(i)
		m.Generate(prompts, opt)
	}
	b.ReportMetric(float64(b.N*16*32)/b.Elapsed().Seconds(), "newtokens/s")
}

// BenchmarkGenerateStudy: the study's sampling shape (quick preset, an RL
// step): 4 layers, 32 prompts of 13 tokens, 32 new tokens at T = 0.9, no
// top-k (the full softmax over the vocabulary each token).
func BenchmarkGenerateStudy(b *testing.B) {
	c := benchConfig()
	c.NLayer = 4
	m := model.New(c, 1)
	m.AsLanguageModel()
	prompts := randSeqs(32, 13, 8192)
	opt := model.SampleOptions{MaxNewTokens: 32, Temperature: 0.9, StopToken: -1}
	for i := 0; i < b.N; i++ {
		opt.Seed = uint64(i)
		m.Generate(prompts, opt)
	}
	b.ReportMetric(float64(b.N*32*32)/b.Elapsed().Seconds(), "newtokens/s")
}

// studySeqs are 32 sequences of 38-56 tokens: a quick member step's 16
// pairs (prompt 8-24 tokens + response 24-32).
func studySeqs() [][]int {
	r := rand.New(rand.NewPCG(3, 4))
	s := make([][]int, 32)
	for i := range s {
		s[i] = make([]int, 38+r.IntN(19))
		for j := range s[i] {
			s[i][j] = r.IntN(8192)
		}
	}
	return s
}

// BenchmarkTrainStepStudy: BenchmarkTrainStep at the quick preset's shape
// (4 layers, studySeqs), as warm train runs it (Mode.RewardOnly) and with
// every row through the last block.
func BenchmarkTrainStepStudy(b *testing.B) {
	for _, ro := range []bool{true, false} {
		b.Run(map[bool]string{true: "reward-only", false: "all-rows"}[ro], func(b *testing.B) { trainStepStudy(b, ro) })
	}
}

func trainStepStudy(b *testing.B, rewardOnly bool) {
	c := benchConfig()
	c.NLayer = 4
	m := model.New(c, 1)
	groups, _ := optim.Groups(m, optim.TrainAll, 0.01)
	opt := optim.NewAdamW(groups...)
	seqs := studySeqs()
	dR := make([]float32, 32)
	ntok := 0
	for _, s := range seqs {
		ntok += len(s)
	}
	step := func(i int) {
		m.ZeroGrad()
		p := m.Forward(seqs, model.Mode{Train: true, Seed: uint64(i), RewardOnly: rewardOnly})
		r := p.Rewards()
		for k := 0; k < 32; k += 2 {
			s := float32(1/(1+math.Exp(float64(r[k]-r[k+1])))) / 16
			dR[k], dR[k+1] = -s, s
		}
		p.BackwardRewards(dR)
		optim.ClipGradNorm(opt.Params(), 1)
		opt.Step(1e-4)
	}
	step(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step(i + 1)
	}
	b.ReportMetric(float64(b.N*ntok)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkInferenceStudy: rewards of 512 studySeqs-shaped sequences
// (eval's and best-of-N's scoring).
func BenchmarkInferenceStudy(b *testing.B) {
	c := benchConfig()
	c.NLayer = 4
	m := model.New(c, 1)
	var seqs [][]int
	for c := range 16 {
		// Each copy's first token differs: no two sequences share a
		// prefix, as in eval's distinct texts (Rewards computes a shared
		// prefix once; BenchmarkInferenceStudyGroups measures that).
		for _, s := range studySeqs() {
			s[0] = (s[0] + c) % 8192
			seqs = append(seqs, s)
		}
	}
	m.Rewards(seqs)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Rewards(seqs)
	}
	b.ReportMetric(float64(b.N*len(seqs))/b.Elapsed().Seconds(), "seqs/s")
}

// BenchmarkInferenceStudyGroups: rewards of 512 sequences shaped as the
// study's val and OOD splits (prompts of 8–24 tokens, 6 responses of
// 24–32 each), once with the responses of a prompt sharing it ("shared":
// Rewards computes each prompt once) and once with every prompt drawn
// afresh ("distinct": the same lengths, nothing to share).
func BenchmarkInferenceStudyGroups(b *testing.B) {
	c := benchConfig()
	c.NLayer = 4
	m := model.New(c, 1)
	for _, share := range []bool{true, false} {
		r := rand.New(rand.NewPCG(5, 6))
		tok := func(n int) []int {
			s := make([]int, n)
			for i := range s {
				s[i] = r.IntN(8192)
			}
			return s
		}
		var seqs [][]int
		for len(seqs) < 512 {
			prompt := tok(8 + r.IntN(17))
			for range 6 {
				p := prompt
				if !share {
					p = tok(len(prompt))
				}
				seqs = append(seqs, append(append([]int(nil), p...), tok(24+r.IntN(9))...))
			}
		}
		b.Run(map[bool]string{true: "shared", false: "distinct"}[share], func(b *testing.B) {
			m.Rewards(seqs)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.Rewards(seqs)
			}
			b.ReportMetric(float64(b.N*len(seqs))/b.Elapsed().Seconds(), "seqs/s")
		})
	}
}

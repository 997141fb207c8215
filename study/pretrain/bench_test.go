package pretrain

import (
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/optim"
)

// BenchmarkPretrainStep is one training step of preset quick's language
// model (vocab 8192, d 128, 4 layers, 4 heads, 128 positions, 16 windows):
// forward, log-softmax over the vocabulary, backward, clipping, AdamW.
// pretrain/bench/peer.py is the same step in PyTorch.
func BenchmarkPretrainStep(b *testing.B) {
	cfg := model.Config{VocabSize: 8192, NPositions: 128, NEmbd: 128, NLayer: 4, NHead: 4, LayerNormEps: 1e-5,
		BOSTokenID: 8191, EOSTokenID: 8191, PadTokenID: -1, Architecture: model.ArchLM}
	m := model.New(cfg, 1)
	groups, _ := optim.Groups(m, optim.TrainAll, 0.1)
	opt := optim.NewAdamW(groups...)
	toks := make([]int32, 1<<16)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range toks {
		toks[i] = int32(r.IntN(8192))
	}
	wins, _ := TrainWindows(toks, 128, 16, r)
	trainStep(m, opt, wins, 1e-4, 1, 0) // warm the buffers
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		trainStep(m, opt, wins, 1e-4, 1, uint64(i))
	}
	b.ReportMetric(float64(b.N*16*128)/b.Elapsed().Seconds(), "tokens/s")
	// Tokens per CPU-second: on a shared, overloaded machine wall time
	// measures the neighbours; CPU time still measures the work.
	b.ReportMetric(float64(b.N*16*128)/(cpuSeconds()-cpu0), "tokens/cpu-s")
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

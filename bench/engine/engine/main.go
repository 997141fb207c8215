// Command engine times the engine (packages model, optim, gemm) on the
// reference reward-model config of WARM.md section 5, the same work that
// bench/engine/torch_engine.py gives PyTorch:
//
//	train  one WARM member step: forward with dropout 0.1, Bradley-Terry
//	       loss, backward, global-norm clip 1, AdamW (full fine-tuning);
//	       16 pairs = 32 sequences × 128 tokens            → tokens/s
//	infer  rewards in eval mode, batch 64 × 128             → sequences/s
//	gen    sampling at temperature 1 with the KV cache, batch 16, 16-token
//	       prompts, 64 new tokens (no stop token)           → new tokens/s
//	gemm   gemm.Sgemm 1024³, NN                             → GFLOP/s
//
// and at the end the process's peak RSS (VmHWM). Results go to stdout as
// "ours <metric> <value>" lines, so run.sh can join them with the peer's:
// each rate twice, per wall-clock second and, as "<metric>_cpu", per
// CPU-second of the process (see Result.CPURate); progress goes to stderr.
//
//	GOEXPERIMENT=simd go run ./bench/engine/engine -secs 5
//
// -check DIR writes the reward model (HF safetensors) and its rewards on a
// fixed padded batch, for torch_engine.py --check DIR to recompute: that is
// how we know the peer does the same maths, not just the same amount.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/warm-rm/warm/kit/gemm"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/optim"
	"github.com/warm-rm/warm/kit/safetensors"
)

// Shape of every workload. Keep in sync with torch_engine.py.
type Shape struct {
	Cfg        model.Config
	TrainPairs int // pairs per step; 2× sequences of SeqLen tokens
	SeqLen     int
	InferBatch int
	GenBatch   int
	GenPrompt  int
	GenNew     int
	GemmN      int
	LR, WD     float64
	Clip       float64
}

// Reference is WARM.md section 5: vocab 8192, d 128, 4 heads, 2 layers,
// MLP 512, seq 128, dropout 0.1 as a member trains with.
func Reference() Shape {
	return Shape{
		Cfg: model.Config{
			VocabSize: 8192, NPositions: 128, NEmbd: 128, NLayer: 2, NHead: 4, NInner: 512,
			LayerNormEps: 1e-5, ResidPdrop: 0.1, EmbdPdrop: 0.1, AttnPdrop: 0.1,
			BOSTokenID: 0, EOSTokenID: 0, PadTokenID: 0, Architecture: model.ArchRewardModel,
		},
		TrainPairs: 16, SeqLen: 128, InferBatch: 64,
		GenBatch: 16, GenPrompt: 16, GenNew: 64,
		GemmN: 1024, LR: 1e-5, WD: 0.01, Clip: 1,
	}
}

// Result is one timed workload: Work units in Seconds of wall time and
// CPUSeconds of process CPU time (user+sys, all threads), over Iters timed
// iterations (warm-up excluded).
type Result struct {
	Metric     string
	Iters      int
	Work       float64
	Seconds    float64
	CPUSeconds float64
	Note       string
}

func (r Result) Rate() float64 { return r.Work / r.Seconds }

// CPURate is work per CPU-second. On a machine shared with other jobs the
// wall-clock rate depends on the share of the cores the process gets; this
// does not, so it compares efficiency when the load is high.
func (r Result) CPURate() float64 { return r.Work / r.CPUSeconds }

// cpuSeconds is this process's user+sys CPU time so far (0 if unknown).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// timeIt runs fn warm times untimed, then at least minIters times and until
// secs have passed; fn returns the work it did (tokens, sequences, flops).
func timeIt(metric string, warm, minIters int, secs float64, fn func(i int) float64) Result {
	for i := 0; i < warm; i++ {
		fn(-1 - i)
	}
	r := Result{Metric: metric}
	t0, c0 := time.Now(), cpuSeconds()
	for r.Iters < minIters || time.Since(t0).Seconds() < secs {
		r.Work += fn(r.Iters)
		r.Iters++
	}
	r.Seconds, r.CPUSeconds = time.Since(t0).Seconds(), cpuSeconds()-c0
	return r
}

func randSeqs(r *rand.Rand, n, length, vocab int) [][]int {
	s := make([][]int, n)
	for i := range s {
		s[i] = make([]int, length)
		for t := range s[i] {
			s[i][t] = r.IntN(vocab)
		}
	}
	return s
}

// btStep is one member training step on seqs = chosen ‖ rejected; it
// returns the loss before the update.
func btStep(m *model.Model, opt *optim.AdamW, sh Shape, seqs [][]int, seed uint64) float64 {
	B := len(seqs) / 2
	m.ZeroGrad()
	p := m.Forward(seqs, model.Mode{Train: true, Seed: seed})
	r := p.Rewards()
	dR := make([]float32, len(r))
	var loss float64
	for i := 0; i < B; i++ {
		d := float64(r[i] - r[B+i])                   // chosen − rejected
		loss += math.Log1p(math.Exp(-d)) / float64(B) // −log σ(d)
		s := float32(1 / (1 + math.Exp(d)) / float64(B))
		dR[i], dR[B+i] = -s, s
	}
	p.BackwardRewards(dR)
	optim.ClipGradNorm(opt.Params(), sh.Clip)
	opt.Step(sh.LR)
	return loss
}

// Train times member steps on one fixed batch (the step's cost does not
// depend on the data, and a fixed batch lets the loss show that the steps
// really learn: it must fall).
func Train(sh Shape, warm, minIters int, secs float64) Result {
	m := model.New(sh.Cfg, 1)
	groups, err := optim.Groups(m, optim.TrainAll, sh.WD)
	if err != nil {
		panic(err)
	}
	opt := optim.NewAdamW(groups...)
	seqs := randSeqs(rand.New(rand.NewPCG(1, 2)), 2*sh.TrainPairs, sh.SeqLen, sh.Cfg.VocabSize)
	var first, last float64
	res := timeIt("train_tokens_per_s", warm, minIters, secs, func(i int) float64 {
		l := btStep(m, opt, sh, seqs, uint64(1000+i))
		if i == -1 {
			first = l
		}
		last = l
		return float64(len(seqs) * sh.SeqLen)
	})
	res.Note = fmt.Sprintf("BT loss %.4f -> %.4f over %d steps", first, last, warm+res.Iters)
	return res
}

// Infer times eval-mode rewards of one batch.
func Infer(sh Shape, warm, minIters int, secs float64) Result {
	m := model.New(sh.Cfg, 1)
	seqs := randSeqs(rand.New(rand.NewPCG(3, 4)), sh.InferBatch, sh.SeqLen, sh.Cfg.VocabSize)
	var sum float32
	res := timeIt("infer_seqs_per_s", warm, minIters, secs, func(int) float64 {
		r, err := m.Rewards(seqs)
		if err != nil {
			panic(err) // random sequences drawn inside the model's limits
		}
		sum = r[0]
		return float64(len(r))
	})
	res.Note = fmt.Sprintf("reward[0] %.5f", sum)
	return res
}

// Gen times sampling from the same body as a language model (tied head).
func Gen(sh Shape, warm, minIters int, secs float64) Result {
	cfg := sh.Cfg
	cfg.Architecture = model.ArchLM
	m := model.New(cfg, 1)
	prompts := randSeqs(rand.New(rand.NewPCG(5, 6)), sh.GenBatch, sh.GenPrompt, cfg.VocabSize)
	var n int
	res := timeIt("gen_tokens_per_s", warm, minIters, secs, func(i int) float64 {
		out := m.Generate(prompts, model.SampleOptions{MaxNewTokens: sh.GenNew, Temperature: 1, Seed: uint64(7 + i), StopToken: -1})
		n = 0
		for _, o := range out {
			n += len(o)
		}
		return float64(n)
	})
	res.Note = fmt.Sprintf("%d new tokens per call", n)
	return res
}

// Gemm times one square product C = A·B.
func Gemm(sh Shape, warm, minIters int, secs float64) Result {
	n := sh.GemmN
	r := rand.New(rand.NewPCG(7, 8))
	fill := func() []float32 {
		x := make([]float32, n*n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		return x
	}
	a, b, c := fill(), fill(), make([]float32, n*n)
	return timeIt("gemm_gflops", warm, minIters, secs, func(int) float64 {
		gemm.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
		return 2 * float64(n) * float64(n) * float64(n) / 1e9
	})
}

// PeakRSSMB is VmHWM from /proc/self/status in MiB (0 where unavailable).
func PeakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb float64
		if _, err := fmt.Sscanf(sc.Text(), "VmHWM: %f kB", &kb); err == nil {
			return kb / 1024
		}
	}
	return 0
}

// checkCase is what -check writes next to the model for the peer.
type checkCase struct {
	Seqs    [][]int   `json:"seqs"`
	Rewards []float32 `json:"rewards"`
	Prompts [][]int   `json:"prompts"`
	Greedy  [][]int   `json:"greedy"` // Generate at temperature 0 (argmax), KV cache
}

// WriteCheck saves a reward model with non-trivial weights (HF init is so
// small that most maths would hide), its eval rewards on a padded batch of
// mixed lengths and greedy continuations (tied LM head, KV cache) of a few
// prompts, atomically into dir.
func WriteCheck(sh Shape, dir string) error {
	m := model.New(sh.Cfg, 11)
	r := rand.New(rand.NewPCG(9, 10))
	for _, p := range m.Params {
		for i := range p.W {
			p.W[i] += float32(0.1 * r.NormFloat64())
		}
	}
	var seqs [][]int
	for _, n := range []int{1, 7, 128, 40, 99, 128, 3, 64} {
		seqs = append(seqs, randSeqs(r, 1, min(n, sh.Cfg.NPositions), sh.Cfg.VocabSize)[0])
	}
	rw, err := m.Rewards(seqs)
	if err != nil {
		panic(err) // random sequences drawn inside the model's limits
	}
	cc := checkCase{Seqs: seqs, Rewards: rw}
	for _, n := range []int{1, 5, 16} {
		cc.Prompts = append(cc.Prompts, randSeqs(r, 1, n, sh.Cfg.VocabSize)[0])
	}
	cc.Greedy = m.Generate(cc.Prompts, model.SampleOptions{MaxNewTokens: 12, StopToken: -1})
	if err := m.Save(dir, safetensors.F32); err != nil {
		return err
	}
	data, err := json.Marshal(cc)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".check.json.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "check.json"))
}

func main() {
	log := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "engine: "+format+"\n", a...) }
	only := flag.String("only", "train,infer,gen,gemm", "comma-separated workloads: train, infer, gen, gemm")
	secs := flag.Float64("secs", 4, "seconds to time each workload (after warm-up)")
	warm := flag.Int("warmup", 1, "untimed warm-up iterations per workload")
	minIters := flag.Int("min-iters", 1, "timed iterations at least")
	threads := flag.Int("threads", 2, "GOMAXPROCS (the peer uses 2 threads)")
	cpuprof := flag.String("cpuprofile", "", "write a CPU profile of the timed workloads to this file")
	check := flag.String("check", "", "write the peer check model + rewards to this directory and exit")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "engine: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	runtime.GOMAXPROCS(*threads)
	sh := Reference()
	if *check != "" {
		if err := WriteCheck(sh, *check); err != nil {
			fmt.Fprintf(os.Stderr, "engine: -check %s: %v\n", *check, err)
			os.Exit(1)
		}
		return
	}
	works := map[string]func(Shape, int, int, float64) Result{"train": Train, "infer": Infer, "gen": Gen, "gemm": Gemm}
	var todo []string
	for _, w := range strings.Split(*only, ",") {
		if works[w] == nil {
			fmt.Fprintf(os.Stderr, "engine: -only: unknown workload %q (want train, infer, gen, gemm)\n", w)
			os.Exit(2)
		}
		todo = append(todo, w)
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			fmt.Fprintf(os.Stderr, "engine: %v\n", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	for _, w := range todo {
		log("%s: %d warm-up, then %.1fs ...", w, *warm, *secs)
		r := works[w](sh, *warm, *minIters, *secs)
		log("%s: %.1f in %d iterations, %.2fs (%.2f CPU-s) %s", r.Metric, r.Rate(), r.Iters, r.Seconds, r.CPUSeconds, r.Note)
		fmt.Printf("ours %s %.2f\n", r.Metric, r.Rate())
		fmt.Printf("ours %s_cpu %.2f\n", r.Metric, r.CPURate())
	}
	fmt.Printf("ours peak_rss_mb %.1f\n", PeakRSSMB())
}

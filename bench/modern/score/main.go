// Command score is bench/modern's Go side: it loads a llama-family reward
// model, scores one batch of deterministic token ids and prints one JSON
// line (seconds, tokens/s, peak RSS, rewards), like peer.py.
//
//	go run ./bench/modern/score -model DIR -seqs 8 -len 512
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/warm-rm/warm/kit/llama"
)

func main() {
	dir := flag.String("model", "", "model directory")
	nseq := flag.Int("seqs", 8, "sequences per batch")
	seqLen := flag.Int("len", 512, "tokens per sequence")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the timed batch here")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			fmt.Fprintln(os.Stderr, "score:", err)
			os.Exit(1)
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*dir, *nseq, *seqLen); err != nil {
		fmt.Fprintln(os.Stderr, "score:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(dir string, nseq, seqLen int) error {
	m, err := llama.Load(dir)
	if err != nil {
		return err
	}
	defer m.Close()
	vocab := m.Config().VocabSize
	seqs := make([][]int, nseq)
	for i := range seqs {
		seqs[i] = make([]int, seqLen)
		for t := range seqs[i] {
			seqs[i][t] = (i*1000003 + t*7919 + 12345) % vocab
		}
	}
	// Warm-up as the peer does: one short sequence.
	if _, err := m.Rewards([][]int{seqs[0][:min(16, seqLen)]}); err != nil {
		return err
	}
	t, c := time.Now(), cpuSeconds()
	r, err := m.Rewards(seqs)
	if err != nil {
		return err
	}
	sec, cpu := time.Since(t).Seconds(), cpuSeconds()-c
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"impl": "warm", "threads": runtime.GOMAXPROCS(0), "seconds": sec, "cpu_seconds": cpu,
		"tokens_per_s": float64(nseq*seqLen) / sec, "peak_rss_mb": peakRSSMB(), "rewards": r,
	})
}

// cpuSeconds is the process's user + system CPU time.
func cpuSeconds() float64 {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano()).Seconds()
}

// peakRSSMB is VmHWM: the peak resident set, mapped weight pages included.
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// Command initprobe asks whether a shared init "knows" the study's task
// (issue 16): the accuracy on val of a linear probe fitted on frozen
// last-token features (what warm train's shared head sees), with the
// response as it is and with a judgement suffix appended ("… Overall, it
// was"), whose last-token state is where a language model keeps its guess
// of the next word (good / bad); and of the LM itself as a zero-shot judge,
// logit(" good") − logit(" bad") after the suffix, which needs no training.
//
//	go run ./docs/results/initprobe -init runs/quick/pretrain/final -data runs/quick/data
//
// Each probe is fitted on the clean training pairs with the study's probe
// (rmtrain.Probe with warm train's settings: 20 epochs, lr 0.01, batch 64, L2 1e-3) and scored on val with a
// Wilson 95 % interval. Results: docs/results/init.md §7.
package main

import (
	"flag"
	"fmt"
	"log"
	"path/filepath"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/kit/tokenizer"
	"github.com/warm-rm/warm/study/rmtrain"
)

// probeOpts are warm train's probe settings (cmd/warm/train.go, quick's 20
// epochs): the first row reproduces the study's probe.
var probeOpts = rmtrain.ProbeOptions{Epochs: 20, Batch: 64, LR: 0.01, WeightDecay: 1e-3, Seed: 1}

// The judgement suffixes tried (each ends where the next word is a verdict).
var suffixes = []string{"", " Overall, it was", ". It was", "\nIn a word, it was"}

func main() {
	initDir := flag.String("init", "runs/quick/pretrain/final", "the shared init (HF GPT-2 directory)")
	data := flag.String("data", "runs/quick/data", "warm data output (train-clean.jsonl, val.jsonl)")
	maxTrain := flag.Int("max-train", 6000, "training pairs for the probe")
	only := flag.Bool("no-suffix", false, "skip the suffix rows (the last-token probe without one stays)")
	flag.Parse()
	m, err := model.Load(*initDir)
	if err != nil {
		log.Fatal(err)
	}
	tok, err := tokenizer.Load(*initDir)
	if err != nil {
		log.Fatal(err)
	}
	train, err := prefdata.ReadPairs(filepath.Join(*data, "train-clean.jsonl"))
	if err != nil {
		log.Fatal(err)
	}
	train = train[:min(len(train), *maxTrain)]
	val, err := prefdata.ReadPairs(filepath.Join(*data, "val.jsonl"))
	if err != nil {
		log.Fatal(err)
	}
	word := func(w string) int {
		ids := tok.Encode(w)
		if len(ids) != 1 {
			log.Fatalf("%q is %d tokens, want 1", w, len(ids))
		}
		return ids[0]
	}
	good, bad := word(" good"), word(" bad")
	fmt.Printf("init %s, %d training pairs, %d val pairs\n\n", *initDir, len(train), len(val))
	fmt.Println("| input | probe train | probe val [95 %] | zero-shot LM judge val [95 %] |")
	fmt.Println("|---|---:|---:|---:|")
	if *only {
		suffixes = suffixes[:1]
	}
	for _, suffix := range suffixes {
		tp, err := pairs(tok, train, suffix, m.Config.NPositions)
		if err != nil {
			log.Fatal(err)
		}
		vp, err := pairs(tok, val, suffix, m.Config.NPositions)
		if err != nil {
			log.Fatal(err)
		}
		fc, fr, err := rmtrain.Features(m, tp)
		if err != nil {
			log.Fatal(err)
		}
		w, _, trainAcc := rmtrain.Probe(fc, fr, nil, make([]float32, m.Config.NEmbd), probeOpts)
		vc, vr, err := rmtrain.Features(m, vp)
		if err != nil {
			log.Fatal(err)
		}
		acc := rmtrain.HeadAccuracy(w, vc, vr)
		zs := "—"
		if suffix != "" {
			zs = wilson(zeroShot(m, vp, good, bad), len(vp))
		}
		fmt.Printf("| response%s, last token | %.1f | %s | %s |\n", map[bool]string{true: "", false: fmt.Sprintf(" + %q", suffix)}[suffix == ""], 100*trainAcc, wilson(acc, len(vp)), zs)
	}
	// The same probe on the mean of the token states: does the body hold
	// the task anywhere, or only not at the last token?
	for _, resp := range []bool{false, true} {
		tp, err := pairs(tok, train, "", m.Config.NPositions)
		if err != nil {
			log.Fatal(err)
		}
		vp, err := pairs(tok, val, "", m.Config.NPositions)
		if err != nil {
			log.Fatal(err)
		}
		fc, fr := meanFeatures(m, tok, train, tp, resp)
		w, _, trainAcc := rmtrain.Probe(fc, fr, nil, make([]float32, m.Config.NEmbd), probeOpts)
		vc, vr := meanFeatures(m, tok, val, vp, resp)
		what := map[bool]string{false: "mean over all tokens", true: "mean over the response's tokens"}[resp]
		fmt.Printf("| response, %s | %.1f | %s | — |\n", what, 100*trainAcc, wilson(rmtrain.HeadAccuracy(w, vc, vr), len(vp)))
	}
}

// meanFeatures is Pass.MeanFeatures of both sides of every pair, from the
// first response token when resp (the prompt's token count), else from 0.
func meanFeatures(m *model.Model, tok *tokenizer.Tokenizer, rows []prefdata.Row, ps []reward.Pair, resp bool) (fc, fr [][]float32) {
	for lo := 0; lo < len(ps); lo += 64 {
		hi := min(lo+64, len(ps))
		var seqs [][]int
		var from []int
		for k, p := range ps[lo:hi] {
			n := 0
			if resp {
				// KeepLast truncation drops the prompt's first tokens first
				n = max(1, len(tok.Encode(rows[lo+k].Prompt))-max(0, len(tok.Encode(rows[lo+k].Prompt+rows[lo+k].Chosen))-len(p.Chosen)))
			}
			seqs, from = append(seqs, p.Chosen), append(from, n)
		}
		for k, p := range ps[lo:hi] {
			n := 0
			if resp {
				n = max(1, len(tok.Encode(rows[lo+k].Prompt))-max(0, len(tok.Encode(rows[lo+k].Prompt+rows[lo+k].Rejected))-len(p.Rejected)))
			}
			seqs, from = append(seqs, p.Rejected), append(from, n)
		}
		f := m.Forward(seqs, model.Mode{}).MeanFeatures(from)
		fc, fr = append(fc, f[:hi-lo]...), append(fr, f[hi-lo:]...)
	}
	return fc, fr
}

// pairs tokenizes rows with suffix appended to both responses (the
// prompt's tokens are dropped first if the text is too long).
func pairs(tok *tokenizer.Tokenizer, rows []prefdata.Row, suffix string, maxLen int) ([]reward.Pair, error) {
	rs := make([]prefdata.Row, len(rows))
	for i, r := range rows {
		r.Chosen += suffix
		r.Rejected += suffix
		rs[i] = r
	}
	return reward.TokenizePairs(tok, rs, maxLen)
}

// zeroShot is the accuracy of logit(good) − logit(bad) at the last token
// as a reward (ties count half).
func zeroShot(m *model.Model, ps []reward.Pair, good, bad int) float64 {
	score := func(seqs [][]int) []float64 {
		out := make([]float64, 0, len(seqs))
		for lo := 0; lo < len(seqs); lo += 128 {
			hi := min(lo+128, len(seqs))
			p := m.Forward(seqs[lo:hi], model.Mode{})
			for b := range hi - lo {
				l := p.Logits(b, len(seqs[lo+b])-1)
				out = append(out, float64(l[good]-l[bad]))
			}
		}
		return out
	}
	var c, r [][]int
	for _, p := range ps {
		c, r = append(c, p.Chosen), append(r, p.Rejected)
	}
	acc, _ := stats.PairAccuracy(score(c), score(r))
	return acc
}

func wilson(acc float64, n int) string {
	lo, hi := stats.Wilson(acc, float64(n), 1.96)
	return fmt.Sprintf("%.1f [%.1f, %.1f]", 100*acc, 100*lo, 100*hi)
}

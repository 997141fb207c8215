package rl

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/warm-rm/warm/internal/runlog"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/tokenizer"
	"github.com/warm-rm/warm/study/gold"
)

// SameKL is responses of the SFT policy and of each RL policy at (about)
// the same KL: each run's checkpoint whose logged KL is nearest the
// smallest final KL among the runs. The report shows it as read.
type SameKL struct {
	TargetKL float64     `json:"target_kl"`
	Rows     []SampleRow `json:"rows"`
}

// SampleRow is one policy's response to one prompt, judged by gold.
type SampleRow struct {
	Policy   string  `json:"policy"` // e.g. "SFT (pretrained) (KL 0)", "warm3 RL (step 3, KL 0.01)"
	Prompt   string  `json:"prompt"`
	Response string  `json:"response"`
	Gold     float64 `json:"gold"`
}

// SamplesAtSameKL samples 32 tokens at temperature 0.9 (the same seed for
// every policy) for each prompt from the SFT policy sft and, per run
// (names label them), the checkpoint nearest the target KL.
func SamplesAtSameKL(sft string, runs, names, prompts []string) (*SameKL, error) {
	if len(names) != len(runs) {
		return nil, fmt.Errorf("rl: %d names for %d runs", len(names), len(runs))
	}
	out := &SameKL{TargetKL: math.Inf(1)}
	kls := make([]map[int]float64, len(runs))
	for i, run := range runs {
		var sum Summary
		if err := runlog.ReadJSON(filepath.Join(run, "summary.json"), &sum); err != nil {
			return nil, err
		}
		out.TargetKL = math.Min(out.TargetKL, sum.Final.KL)
		kls[i] = readKL(filepath.Join(run, "metrics.jsonl"))
	}
	type pol struct{ name, dir string }
	pols := []pol{{"SFT (pretrained) (KL 0)", sft}}
	for i, run := range runs {
		step, dir := nearestCheckpoint(run, kls[i], out.TargetKL)
		if dir != "" {
			pols = append(pols, pol{fmt.Sprintf("%s RL (step %d, KL %.2f)", names[i], step, kls[i][step]), dir})
		}
	}
	judge := gold.NewVADER()
	for _, p := range pols {
		m, err := model.Load(p.dir)
		if err != nil {
			return nil, err
		}
		tok, err := tokenizer.Load(p.dir)
		if err != nil {
			return nil, err
		}
		ids := make([][]int, len(prompts))
		for i, t := range prompts {
			ids[i] = tok.Encode(t)
		}
		gen := m.Generate(ids, model.SampleOptions{MaxNewTokens: 32, Temperature: 0.9, Seed: 11, StopToken: tok.EOT()})
		for i, o := range gen {
			if n := len(o); n > 0 && o[n-1] == tok.EOT() {
				o = o[:n-1]
			}
			text := tok.Decode(o)
			out.Rows = append(out.Rows, SampleRow{Policy: p.name, Prompt: prompts[i], Response: text, Gold: judge.Score(prompts[i], text)})
		}
	}
	return out, nil
}

// readKL maps each logged step to its KL; a missing or bad file gives an
// empty map (no checkpoint is then picked).
func readKL(path string) map[int]float64 {
	out := map[int]float64{}
	steps, err := ReadMetrics(path)
	if err != nil {
		return out
	}
	for _, st := range steps {
		out[st.Step] = st.KL
	}
	return out
}

// nearestCheckpoint picks the run's ckpt-STEP directory whose logged KL is
// nearest target.
func nearestCheckpoint(run string, kl map[int]float64, target float64) (int, string) {
	ents, err := os.ReadDir(run)
	if err != nil {
		return 0, ""
	}
	var steps []int
	for _, e := range ents {
		if st, ok := strings.CutPrefix(e.Name(), "ckpt-"); ok && e.IsDir() {
			if n, err := strconv.Atoi(st); err == nil {
				if _, ok := kl[n]; ok {
					steps = append(steps, n)
				}
			}
		}
	}
	if len(steps) == 0 {
		return 0, ""
	}
	sort.Slice(steps, func(i, j int) bool {
		return math.Abs(kl[steps[i]]-target) < math.Abs(kl[steps[j]]-target)
	})
	return steps[0], filepath.Join(run, fmt.Sprintf("ckpt-%d", steps[0]))
}

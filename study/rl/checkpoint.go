package rl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/optim"
	"github.com/warm-rm/warm/kit/safetensors"
	"github.com/warm-rm/warm/kit/tokenizer"
)

// A checkpoint is the directory out/ckpt-STEP: the policy as an HF
// directory with its tokenizer (loadable by transformers and by every warm
// verb), optimizer.safetensors (AdamW moments), anchor/ (the EMA reference,
// when used) and state.json, written last. It is staged and renamed into
// place by atomicfile, so a kill leaves only complete checkpoints.
func saveCheckpoint(out string, policy, ref *model.Model, opt *optim.AdamW, tok *tokenizer.Tokenizer, st state, anchor bool) error {
	dir := filepath.Join(out, "ckpt-"+strconv.Itoa(st.Step))
	d, err := atomicfile.NewDir(dir)
	if err != nil {
		return err
	}
	defer d.Abort()
	tmp := d.Path
	if err := policy.Save(tmp, safetensors.F32); err != nil {
		return err
	}
	if err := tok.Save(tmp, policy.Config.NPositions); err != nil {
		return err
	}
	if err := opt.SaveState(filepath.Join(tmp, optimFile)); err != nil {
		return err
	}
	if anchor {
		if err := ref.Save(filepath.Join(tmp, anchorDir), safetensors.F32); err != nil {
			return err
		}
	}
	if err := atomicfile.WriteJSON(filepath.Join(tmp, stateFile), st); err != nil {
		return err
	}
	return d.Commit(true)
}

// LastCheckpoint returns the complete checkpoint of the highest step in
// out, or "" and 0.
func LastCheckpoint(out string) (string, int) {
	ents, err := os.ReadDir(out)
	if err != nil {
		return "", 0
	}
	best, bestStep := "", 0
	for _, e := range ents {
		s, ok := strings.CutPrefix(e.Name(), "ckpt-")
		if !ok || !e.IsDir() {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= bestStep {
			continue
		}
		dir := filepath.Join(out, e.Name())
		if _, err := os.Stat(filepath.Join(dir, stateFile)); err != nil {
			continue
		}
		best, bestStep = dir, n
	}
	return best, bestStep
}

// ReadMetrics reads a run's metrics.jsonl.
func ReadMetrics(path string) ([]Step, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Step
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var s Step
		if err := json.Unmarshal(line, &s); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// SmoothWindow is the moving-average window used for curves and the peak:
// per-step means over a few dozen samples are noisy (a gold standard error
// of about 0.05 per step in the quick preset), so about a sixth of the run
// is averaged.
func SmoothWindow(n int) int { return max(1, n/6) }

// Smooth is a centred moving average over w points (2·⌊w/2⌋+1 of them,
// fewer at the ends): centred, so that a peak is not shifted to later steps.
func Smooth(x []float64, w int) []float64 {
	h := w / 2
	out := make([]float64, len(x))
	for i := range x {
		lo, hi := max(0, i-h), min(len(x), i+h+1)
		var s float64
		for _, v := range x[lo:hi] {
			s += v
		}
		out[i] = s / float64(hi-lo)
	}
	return out
}

// SmoothFull is a moving average in which every point averages the same
// number of steps, 2·h+1 with h = ⌊w/2⌋ (fewer only when the run is
// shorter): centred where it can be, shifted inward at the two ends. So
// the first and last points are as smooth as the middle ones and the end
// of a run can be compared with its peak on equal terms.
func SmoothFull(x []float64, w int) []float64 {
	n := len(x)
	h := min(w/2, max(0, (n-1)/2))
	out := make([]float64, n)
	for i := range x {
		lo := min(max(0, i-h), max(0, n-2*h-1))
		hi := lo + 2*h + 1
		var s float64
		for _, v := range x[lo:hi] {
			s += v
		}
		out[i] = s / float64(hi-lo)
	}
	return out
}

// Peak returns the step, value and KL at which the gold curve, smoothed
// over w steps (SmoothFull: every point averages as many steps), is
// highest. Every step competes, the last included: a run whose gold is
// still rising peaks at its last step (ties go to the later step, so a
// flat end counts as the end). The smoothed gold at the last step is
// EndGold.
func Peak(steps []Step, w int) (step int, gold, kl float64) {
	if len(steps) == 0 {
		return 0, math.NaN(), math.NaN()
	}
	g, k := make([]float64, len(steps)), make([]float64, len(steps))
	for i, s := range steps {
		g[i], k[i] = s.Gold, s.KL
	}
	g, k = SmoothFull(g, w), SmoothFull(k, w)
	best := 0
	for i := range g {
		if g[i] >= g[best] {
			best = i
		}
	}
	return steps[best].Step, g[best], k[best]
}

// EndGold is the smoothed gold (SmoothFull over w steps) at the last
// step: the "end" the hacking claim compares with the peak.
func EndGold(steps []Step, w int) float64 {
	if len(steps) == 0 {
		return math.NaN()
	}
	g := make([]float64, len(steps))
	for i, s := range steps {
		g[i] = s.Gold
	}
	return SmoothFull(g, w)[len(g)-1]
}

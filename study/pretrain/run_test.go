package pretrain

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/tokenizer"
	"github.com/warm-rm/warm/study/corpus"
)

// tinyConfig is preset tiny's model with enough steps to leave the
// unigram plateau (on the sample the loss sits at the unigram level for
// ~130 steps, then falls).
func tinyConfig(out string) Config {
	return Config{Out: out, NEmbd: 32, NLayer: 2, NHead: 2, NPositions: 64, Steps: 300, Batch: 8, LR: 3e-3,
		Warmup: 15, WeightDecay: 0.1, ClipNorm: 1, Seed: 1, LogEvery: 10, EvalEvery: 50, SaveEvery: 40,
		ValWindows: 64, Samples: []string{"The ship"}, SampleLen: 8, Log: io.Discard}
}

func prepTiny(t *testing.T, out string) *Data {
	t.Helper()
	d, err := PrepareData(corpus.LoadSample(), out, 512, 0.1, 0, 0, 64, 1, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestTokenizerTrainingDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	da, db := prepTiny(t, a), prepTiny(t, b)
	for _, f := range []string{"tokenizer/vocab.json", "tokenizer/merges.txt", "tokenizer/tokenizer.json", "tokens-train.bin", "tokens-val.bin"} {
		x, err1 := os.ReadFile(filepath.Join(a, f))
		y, err2 := os.ReadFile(filepath.Join(b, f))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", f, err1, err2)
		}
		if string(x) != string(y) {
			t.Errorf("%s differs between two identical runs", f)
		}
	}
	if da.Tok.VocabSize() != 512 || len(da.Train) != len(db.Train) || len(da.Val) == 0 {
		t.Errorf("vocab %d, train tokens %d/%d, val %d", da.Tok.VocabSize(), len(da.Train), len(db.Train), len(da.Val))
	}
	// The saved tokenizer encodes as the trained one, and the cache is reused.
	tok, err := tokenizer.Load(filepath.Join(a, "tokenizer"))
	if err != nil {
		t.Fatal(err)
	}
	s := "Call me Ishmael. Some years ago"
	if x, y := tok.Encode(s), da.Tok.Encode(s); len(x) != len(y) {
		t.Errorf("saved tokenizer encodes %v, trained one %v", x, y)
	}
	again := prepTiny(t, a)
	if again.Prep != da.Prep {
		t.Errorf("prep changed on reuse: %+v vs %+v", again.Prep, da.Prep)
	}
	// Documents end in <|endoftext|>.
	if da.Train[len(da.Train)-1] != int32(da.Tok.EOT()) {
		t.Error("train stream does not end with <|endoftext|>")
	}
}

func TestPretrainBeatsUnigram(t *testing.T) {
	out := t.TempDir()
	data := prepTiny(t, out)
	sum, err := Run(context.Background(), tinyConfig(out), data, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The model must beat a unigram model of the train split on held-out
	// text by a clear margin (0.1 nats/token; it reaches ~0.3).
	if !(sum.ValLoss < sum.UnigramLoss-0.1) {
		t.Errorf("held-out loss %.3f does not beat the unigram baseline %.3f by 0.1 nats", sum.ValLoss, sum.UnigramLoss)
	}
	if len(sum.Checkpoints) != 3 || sum.Checkpoints[0] != "ckpt-200" || sum.Checkpoints[1] != "ckpt-250" || sum.Checkpoints[2] != "final" {
		t.Errorf("checkpoints %v", sum.Checkpoints)
	}
	for _, c := range sum.Checkpoints {
		m, err := model.Load(filepath.Join(out, c))
		if err != nil {
			t.Fatalf("checkpoint %s: %v", c, err)
		}
		if m.Config.Architecture != model.ArchLM || m.Config.VocabSize != 512 {
			t.Errorf("%s: config %+v", c, m.Config)
		}
		if _, err := tokenizer.Load(filepath.Join(out, c)); err != nil {
			t.Errorf("%s: tokenizer: %v", c, err)
		}
	}
	if len(sum.Samples) != 1 || len(sum.Samples[0]) <= len("The ship") {
		t.Errorf("samples %q", sum.Samples)
	}
	var js Summary
	b, _ := os.ReadFile(filepath.Join(out, "summary.json"))
	if err := json.Unmarshal(b, &js); err != nil || js.ValLoss != sum.ValLoss || js.Tokens != 300*8*64 {
		t.Errorf("summary.json: %v %+v", err, js)
	}
	steps := metricSteps(t, filepath.Join(out, "metrics.jsonl"))
	if len(steps) != 30 || steps[len(steps)-1] != 300 {
		t.Errorf("metrics steps %v", steps)
	}

}

func TestResumeIsExact(t *testing.T) {
	short := func(out string) Config {
		c := tinyConfig(out)
		c.Steps, c.SaveEvery, c.EvalEvery, c.Warmup = 60, 10, 20, 5
		return c
	}
	out := t.TempDir()
	data := prepTiny(t, out)
	sum, err := Run(context.Background(), short(out), data, 0)
	if err != nil {
		t.Fatal(err)
	}
	steps := metricSteps(t, filepath.Join(out, "metrics.jsonl"))

	// Interrupt a second run at step 23 (three steps after the resume
	// checkpoint of step 20), resume it: the final model must be the
	// uninterrupted run's, bit for bit, and metrics.jsonl must list each
	// step once.
	out2 := t.TempDir()
	data2 := prepTiny(t, out2)
	ctx, cancel := context.WithCancel(context.Background())
	cfg := short(out2)
	cfg.afterStep = func(s int) {
		if s == 23 {
			cancel()
		}
	}
	if _, err := Run(ctx, cfg, data2, 0); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run: %v", err)
	}
	var st state
	b, _ := os.ReadFile(filepath.Join(out2, "resume", stateFile))
	if json.Unmarshal(b, &st); st.Step != 23 {
		t.Errorf("interrupt saved step %d, want 23", st.Step)
	}
	sum2, err := Run(context.Background(), short(out2), data2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if sum2.ValLoss != sum.ValLoss || sum2.TrainLoss != sum.TrainLoss {
		t.Errorf("resumed run: val %v train %v; uninterrupted: val %v train %v", sum2.ValLoss, sum2.TrainLoss, sum.ValLoss, sum.TrainLoss)
	}
	m1, _ := model.Load(filepath.Join(out, "final"))
	m2, _ := model.Load(filepath.Join(out2, "final"))
	w1, w2 := m1.Weights(), m2.Weights()
	for i := range w1 {
		if w1[i] != w2[i] {
			t.Fatalf("resumed weights differ at %d: %v vs %v", i, w1[i], w2[i])
		}
	}
	if s2 := metricSteps(t, filepath.Join(out2, "metrics.jsonl")); len(s2) != len(steps) {
		t.Errorf("resumed metrics steps %v, uninterrupted %v", s2, steps)
	}
	// The logged losses too: the interval cut by the interrupt averages the
	// same steps as the uninterrupted run's.
	if l1, l2 := metricLosses(t, filepath.Join(out, "metrics.jsonl")), metricLosses(t, filepath.Join(out2, "metrics.jsonl")); !slices.Equal(l1, l2) {
		t.Errorf("resumed metrics losses %v, uninterrupted %v", l2, l1)
	}

	// A resume checkpoint of other settings is refused, not silently used.
	cfg = short(out2)
	cfg.Batch = 4
	if _, err := Run(context.Background(), cfg, data2, 0); err == nil {
		t.Error("resume with another batch size accepted")
	}
}

// metricSteps returns the step of each metrics.jsonl line, checking they
// strictly increase.
func metricSteps(t *testing.T, path string) []int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct{ Step int }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(steps) > 0 && r.Step <= steps[len(steps)-1] {
			t.Fatalf("%s: step %d after %d", path, r.Step, steps[len(steps)-1])
		}
		steps = append(steps, r.Step)
	}
	return steps
}

// metricLosses returns the "loss" of each metrics.jsonl line that has one.
func metricLosses(t *testing.T, path string) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var r struct{ Loss *float64 }
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if r.Loss != nil {
			out = append(out, *r.Loss)
		}
	}
	return out
}

func TestCheckpointSteps(t *testing.T) {
	for _, c := range []struct {
		total int
		want  []int
	}{{12000, []int{8000, 10000}}, {300, []int{200, 250}}, {3, []int{2}}, {1, nil}} {
		got := checkpointSteps(c.total)
		if len(got) != len(c.want) {
			t.Errorf("%d: %v, want %v", c.total, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%d: %v, want %v", c.total, got, c.want)
			}
		}
	}
}

package pretrain

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/study/corpus"
)

// meanNLL is the model's mean next-token loss on windows of toks.
func meanNLL(t *testing.T, dir string, toks []int32, n int) float64 {
	t.Helper()
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	wins, err := ValWindows(toks, n, 16)
	if err != nil {
		t.Fatal(err)
	}
	l, err := evalLoss(m, wins, 8)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A continuation keeps the pretraining run's split and tokenizer, starts
// from its weights, and learns the extra in-domain text it is given.
func TestContinueLearnsExtraText(t *testing.T) {
	base := t.TempDir()
	data := prepTiny(t, base)
	cfg := tinyConfig(base)
	cfg.Steps, cfg.CheckpointSteps = 60, []int{}
	if _, err := Run(context.Background(), cfg, data, 0); err != nil {
		t.Fatal(err)
	}
	from := filepath.Join(base, "final")
	extra := []string{}
	for i := range 200 {
		extra = append(extra, strings.Repeat("the service was great and the food was lovely. ", 1+i%3))
	}
	out := t.TempDir()
	cd, err := ContinueData(from, corpus.LoadSample(), extra, out, 0.1, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cd.Train, data.Train) || !slices.Equal(cd.Val, data.Val) {
		t.Fatalf("continuation split differs from pretraining's: %d/%d train, %d/%d val tokens", len(cd.Train), len(data.Train), len(cd.Val), len(data.Val))
	}
	before := meanNLL(t, from, cd.Extra, 64)

	c := tinyConfig(out)
	c.Steps, c.Warmup, c.CheckpointSteps, c.From, c.ExtraFrac = 40, 2, []int{}, from, 0.5
	if _, err := Run(context.Background(), c, cd, 0); err != nil {
		t.Fatal(err)
	}
	after := meanNLL(t, filepath.Join(out, "final"), cd.Extra, 64)
	// The 60-step base model sits near the unigram level on this text
	// (≈ 5.3 nats); 40 steps with half the windows from it must fit the
	// repeated sentence far better (measured ≈ 1 nat lower or more).
	if !(after < before-1) {
		t.Errorf("loss on the extra text %.3f → %.3f: the continuation did not learn it", before, after)
	}

	// A shape that is not the continued model's is refused by name.
	bad := tinyConfig(t.TempDir())
	bad.NEmbd, bad.From = 64, from
	if _, err := Run(context.Background(), bad, cd, 0); err == nil || !strings.Contains(err.Error(), "continue from") {
		t.Errorf("mismatched shape: got %v, want a 'continue from' error", err)
	}
	bad = tinyConfig(t.TempDir())
	bad.From, bad.ExtraFrac = from, 1.5
	if _, err := Run(context.Background(), bad, cd, 0); err == nil || !strings.Contains(err.Error(), "fraction") {
		t.Errorf("extra fraction 1.5: got %v", err)
	}
}

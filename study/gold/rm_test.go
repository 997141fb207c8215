package gold

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/model/modeltest"
)

// A reward-model judge scores prompt+response exactly as the model's own
// read-out does, one by one and batched, and Parse resolves --gold.
func TestRMJudge(t *testing.T) {
	tok := modeltest.Tokenizer(t)
	dir := filepath.Join(t.TempDir(), "rm")
	m := modeltest.RM(tok.VocabSize(), 32, 1, 3)
	if err := m.Save(dir, "F32"); err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(dir, 32); err != nil {
		t.Fatal(err)
	}
	j, name, err := Parse("rm:" + dir)
	if err != nil || !strings.Contains(name, dir) {
		t.Fatalf("Parse: %v %q", err, name)
	}
	prompts := []string{"the cat", "a dog", "the mat"}
	responses := []string{" sat", " is good", " ran away"}
	batch := Batch(j, prompts, responses)
	for i := range prompts {
		want := float64(modeltest.Rewards(t, m, [][]int{tok.Encode(prompts[i] + responses[i])})[0])
		if one := j.Score(prompts[i], responses[i]); math.Abs(one-want) > 1e-6 || math.Abs(batch[i]-want) > 1e-6 {
			t.Errorf("row %d: score %g, batch %g, model %g", i, one, batch[i], want)
		}
	}
	if got := j.Score("", ""); !math.IsNaN(got) {
		t.Errorf("empty text scored %g, want NaN", got)
	}
	for _, c := range []struct{ spec, want string }{{"rm:", "want vader or rm:DIR"}, {"bert", "want vader or rm:DIR"}, {"rm:" + t.TempDir(), "gold judge rm:"}} {
		if _, _, err := Parse(c.spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q): %v, want %q", c.spec, err, c.want)
		}
	}
	if v, _, err := Parse("vader"); err != nil || v.Score("", "great, wonderful") <= 0 {
		t.Errorf("Parse(vader): %v", err)
	}
}

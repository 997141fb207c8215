package studyreport

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/study/bon"
	"github.com/warm-rm/warm/study/report"
	"github.com/warm-rm/warm/study/rl"
)

// The use sections render what the BoN and RL stages wrote, and say "Not
// run." for stages that left nothing.
func TestUseSectionsReadFiles(t *testing.T) {
	write := func(t *testing.T, path string, v any) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.WriteJSON(path, v); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("empty run", func(t *testing.T) {
		s := &study{dir: t.TempDir()}
		if err := s.readUse(3); err != nil {
			t.Fatal(err)
		}
		d := &report.Doc{}
		s.bonSection(d)
		s.rlSection(d)
		if err := s.samplesSection(d); err != nil {
			t.Fatal(err)
		}
		if md := string(d.Markdown()); strings.Count(md, "Not run.") != 3 {
			t.Fatalf("want three Not run., got\n%s", md)
		}
	})
	t.Run("stages done", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "bon", "bon.json"), bonResult{Prompts: 4, NMax: 2, Curves: []bon.Curve{
			{Reward: "warm3", N: []int{1, 2}, KL: []float64{0, 0.19}, Gold: []float64{0.1, 0.25}, GoldErr: []float64{0.01, 0.02}},
			{Reward: "member-01", N: []int{1, 2}, KL: []float64{0, 0.19}, Gold: []float64{0.1, 0.9}, GoldErr: []float64{0, 0}},
		}})
		for _, n := range RLRewards(3) {
			write(t, filepath.Join(dir, "rl-"+n, "summary.json"), rl.Summary{Steps: 5, PeakGold: 0.3, Final: rl.Step{Gold: 0.2, KL: 0.5}})
		}
		write(t, filepath.Join(dir, "duel-warm3-vs-single.json"), rl.Duel{Prompts: 10, Rate: 0.7, Wins: 6, Ties: 2, Losses: 2})
		write(t, filepath.Join(dir, "rl-plots", "samples.json"), rl.SameKL{TargetKL: 0.42, Rows: []rl.SampleRow{
			{Policy: "SFT (pretrained) (KL 0)", Prompt: "the\ncat", Response: " sat  down", Gold: 0.25},
		}})
		s := &study{dir: dir}
		if err := s.readUse(3); err != nil {
			t.Fatal(err)
		}
		if len(s.rl) != len(RLRewards(3)) || len(s.duels) != 1 {
			t.Fatalf("read %d RL runs, %d duels", len(s.rl), len(s.duels))
		}
		d := &report.Doc{}
		s.bonSection(d)
		s.rlSection(d)
		if err := s.samplesSection(d); err != nil {
			t.Fatal(err)
		}
		md := string(d.Markdown())
		for _, want := range []string{
			"0.2500 ± 0.0200",             // warm3's gold at N_max
			"warm3 vs single",             // the duel
			"70.0%",                       // its win rate
			"Target KL 0.42",              // samples at the same KL
			"the cat | sat down | +0.250", // one line per cell, gold signed
		} {
			if !strings.Contains(md, want) {
				t.Errorf("report lacks %q:\n%s", want, md)
			}
		}
		if strings.Contains(md, "member-01") {
			t.Errorf("a member other than single is in the BoN table:\n%s", md)
		}
	})
}

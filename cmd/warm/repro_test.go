package main

import (
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/study/preset"
)

// The whole study at the tiny preset, on the embedded corpus sample: every
// stage's outputs exist and parse, a rerun skips every stage, and the
// report carries the claims table.
func TestReproTinyEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end study")
	}
	out := filepath.Join(t.TempDir(), "study")
	if err := runRepro([]string{"--preset", "tiny", "--sample", "--out", out}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{
		"pretrain/summary.json", "pretrain/final/config.json", "pretrain/final/model.safetensors", "pretrain/final/tokenizer.json",
		"data/summary.json", "corrupt/rm/summary.json", "corrupt/rm/probe/probe.json", "corrupt/rm/member-00/train.json", "corrupt/rm/member-02/config.json",
		"corrupt/warm-m2/config.json", "corrupt/warm-m3/model.safetensors", "corrupt/eval/eval.json", "corrupt/eval/lmc.json", "corrupt/eval/pilot.json", "stages.json",
		"corrupt/bon/bon.json", "corrupt/rl-single/summary.json", "corrupt/rl-ens3/final/config.json", "corrupt/rl-warm3/summary.json",
		"corrupt/duel-warm3-vs-single.json", "corrupt/duel-warm3-vs-ens3.json", "corrupt/report.md",
	} {
		p := filepath.Join(out, f)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("missing output: %v", err)
		}
		if strings.HasSuffix(f, ".json") && !json.Valid(b) {
			t.Fatalf("%s is not valid JSON", f)
		}
	}
	for _, f := range []string{"data/train.jsonl", "data/train-clean.jsonl", "data/val.jsonl", "data/ood.jsonl", "data/rl-prompts.jsonl", "data/heldout-prompts.jsonl"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if !json.Valid([]byte(line)) {
				t.Fatalf("%s:%d is not JSON", f, i+1)
			}
		}
	}
	for _, f := range []string{"corrupt/eval/accuracy.png", "corrupt/eval/lmc_val.png", "corrupt/bon/bon_gold_vs_kl.png", "corrupt/rl-plots/rl_gold_vs_kl.png"} {
		fh, err := os.Open(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(fh); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		fh.Close()
	}
	md, err := os.ReadFile(filepath.Join(out, "corrupt", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Claims of the paper", "WA ≥ ENS on OOD pairs", "Linear mode connectivity", "Best-of-N", "Head-to-head", "Samples at the same KL", "LMC pilot", "probe on the init", "Label-noise ceiling", "Issue 16's targets for an init worth averaging around", "every member ≥ 75% (val)"} {
		if !strings.Contains(string(md), want) {
			t.Fatalf("corrupt/report.md lacks %q", want)
		}
	}
	// The per-pair evidence reached the claims: no accuracy, BoN or duel
	// row says its data is missing.
	if strings.Contains(string(md), "no per-pair data") || strings.Contains(string(md), "no per-prompt data") {
		t.Fatalf("corrupt/report.md: a claim lacks its per-pair/per-prompt data:\n%s", md)
	}
	idx, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil || !strings.Contains(string(idx), "Claims, 25% swapped training labels") || !strings.Contains(string(idx), "Smoke test") {
		t.Fatalf("report.md (the index) lacks the setting's claims table (%v)", err)
	}
	html, err := os.ReadFile(filepath.Join(out, "corrupt", "report.html"))
	if err != nil || !strings.Contains(string(html), "data:image/png;base64,") {
		t.Fatalf("report.html missing or without inline images (%v)", err)
	}
	// A rerun finds every stage cached.
	before, _ := os.ReadFile(filepath.Join(out, "stages.json"))
	if err := runRepro([]string{"--preset", "tiny", "--sample", "--out", out}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(out, "stages.json"))
	if string(before) != string(after) {
		t.Fatal("a rerun of a finished study ran stages again")
	}
}

// Editing a preset knob changes the hash of exactly the stages that read
// it: the RL learning rate reruns rl (and, through the chain, what follows
// it), never pretraining or reward-model training.
func TestReproStageHashFollowsKnobs(t *testing.T) {
	ps, err := preset.Get("quick")
	if err != nil {
		t.Fatal(err)
	}
	changed := ps
	changed.RLLR *= 2
	for _, st := range reproStages() {
		cmds := []reproStep{{Verb: st.name}}
		same := st.hash("p", cmds, ps) == st.hash("p", cmds, changed)
		if want := st.name != "rl"; same != want {
			t.Errorf("stage %s: hash unchanged = %v after editing RLLR, want %v", st.name, same, want)
		}
	}
	if st := reproStages()[0]; st.hash("a", nil, ps) == st.hash("b", nil, ps) {
		t.Error("a stage's hash ignores the previous stage's")
	}
}

// The knobs the study-design wiring added are hashed by exactly the
// stages that read them (the rest reach later stages through the chain).
func TestReproStageHashNewKnobs(t *testing.T) {
	ps, err := preset.Get("quick")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		knob   string
		edit   func(*preset.Study)
		stages []string
	}{
		{"RLSeeds", func(p *preset.Study) { p.RLSeeds++ }, []string{"rl"}},
		{"RLKLCoef", func(p *preset.Study) { p.RLKLCoef *= 2 }, []string{"rl"}},
		{"DuelSamples", func(p *preset.Study) { p.DuelSamples++ }, []string{"duel"}},
		{"DuelPrompts", func(p *preset.Study) { p.DuelPrompts++ }, []string{"duel"}},
		{"HumanPairs", func(p *preset.Study) { p.HumanPairs++ }, []string{"data"}},
		{"BaklavaAt", func(p *preset.Study) { p.BaklavaAt = []float64{0.7, 1} }, []string{"pretrain", "train"}},
		{"Labels", func(p *preset.Study) { *p, _ = p.WithLabels(preset.LabelsClean) }, []string{"data", "train", "rl"}},
		{"SFTSteps", func(p *preset.Study) { p.SFTSteps = 100 }, []string{"pretrain"}},
	} {
		t.Run(c.knob, func(t *testing.T) {
			changed := ps
			changed.BaklavaAt = slices.Clone(ps.BaklavaAt)
			c.edit(&changed)
			for _, st := range reproStages() {
				cmds := []reproStep{{Verb: st.name}}
				same := st.hash("p", cmds, ps) == st.hash("p", cmds, changed)
				if want := !slices.Contains(c.stages, st.name); same != want {
					t.Errorf("stage %s: hash unchanged = %v after editing %s, want %v", st.name, same, c.knob, want)
				}
			}
		})
	}
}

// With SFTSteps the pretrain stage is two calls: pretraining into
// pretrain-base, then the continuation into pretrain (what later stages
// read), with the preset's SFT knobs; without it, one call as before.
func TestReproSFTStage(t *testing.T) {
	ps, err := preset.Get("quick")
	if err != nil {
		t.Fatal(err)
	}
	st := reproStages()[0]
	r := &reproRun{out: "OUT", data: "data", preset: "quick", ps: ps}
	steps, err := st.steps(r)
	if err != nil || len(steps) != 1 || steps[0].Args.(*pretrainArgs).Out != filepath.Join("OUT", "pretrain") {
		t.Fatalf("no SFT: %d steps, %v", len(steps), err)
	}
	r.ps.SFTSteps, r.ps.SFTLR, r.ps.SFTReviews = 120, 5e-4, 0.5
	if steps, err = st.steps(r); err != nil || len(steps) != 2 {
		t.Fatalf("SFT: %d steps, %v", len(steps), err)
	}
	base, sft := steps[0].Args.(*pretrainArgs), steps[1].Args.(*pretrainArgs)
	if base.Out != filepath.Join("OUT", "pretrain-base") || base.ContinueFrom != "" {
		t.Errorf("base step: out %s, continue-from %q", base.Out, base.ContinueFrom)
	}
	if sft.Out != filepath.Join("OUT", "pretrain") || sft.ContinueFrom != filepath.Join("OUT", "pretrain-base", "final") ||
		sft.Steps != 120 || sft.Lr != 5e-4 || sft.SFTReviews != 0.5 {
		t.Errorf("SFT step: %+v", sft)
	}
	r.sample = true // the embedded sample has no review sentences
	if steps, _ = st.steps(r); steps[1].Args.(*pretrainArgs).SFTReviews != 0 {
		t.Error("--sample: the SFT step still asks for review sentences")
	}
}

// --labels takes the two settings, in any order, each once.
func TestReproLabelsFlag(t *testing.T) {
	for _, c := range []struct{ labels, want string }{
		{"clean,dirty", `label setting "dirty"`},
		{"clean,clean", "clean given twice"},
	} {
		err := runRepro([]string{"--preset", "tiny", "--sample", "--labels", c.labels, "--out", t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--labels %s: error %v, want %q", c.labels, err, c.want)
		}
	}
}

// The label settings side by side (the default) give the outputs they give
// one after the other (--serial, where RL and duel calls run two at a
// time): the kernels split work by GOMAXPROCS, not by timing, and the
// settings share only the BoN pool, made once. Each line of the
// side-by-side log names its setting.
func TestReproSettingsSideBySide(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end study")
	}
	par, ser := filepath.Join(t.TempDir(), "par"), filepath.Join(t.TempDir(), "ser")
	log := captureStderr(t, func() {
		if err := runRepro([]string{"--preset", "tiny", "--sample", "--labels", "clean,corrupt", "--out", par}); err != nil {
			t.Fatal(err)
		}
	})
	if !strings.Contains(log, "side by side") || !strings.Contains(log, "[clean] == repro: stage") || !strings.Contains(log, "[corrupt] == warm rl") {
		t.Fatalf("side-by-side log lacks its setting prefixes:\n%.2000s", log)
	}
	// The "+ Baklava" rung's run (lr of the "+ lr" rung, member-00's
	// dropout, another body) is member-01 of the design: not trained
	// again, and the ladder's curve ends at member-01.
	var sum struct {
		Ladder []struct {
			Member struct{ Name string } `json:"member"`
			SameAs string                `json:"same_as"`
		} `json:"ladder"`
	}
	if b, err := os.ReadFile(filepath.Join(par, "clean", "rm", "summary.json")); err != nil || json.Unmarshal(b, &sum) != nil {
		t.Fatalf("clean/rm/summary.json: %v", err)
	}
	var same []string
	for _, l := range sum.Ladder {
		same = append(same, l.Member.Name+"="+l.SameAs)
	}
	if fmt.Sprint(same) != "[ladder-order= ladder-lr= ladder-baklava=member-01]" {
		t.Fatalf("ladder runs %v, want ladder-baklava taken from member-01", same)
	}
	if _, err := os.Stat(filepath.Join(par, "clean", "rm", "ladder-baklava")); !os.IsNotExist(err) {
		t.Fatalf("ladder-baklava was trained (%v)", err)
	}
	var curves []struct{ Name, B string }
	if b, err := os.ReadFile(filepath.Join(par, "clean", "eval", "lmc.json")); err != nil || json.Unmarshal(b, &curves) != nil {
		t.Fatalf("clean/eval/lmc.json: %v", err)
	}
	if len(curves) != 4 || curves[3].Name != "+ Baklava" || filepath.Base(curves[3].B) != "member-01" {
		t.Fatalf("ladder curves %+v, want the + Baklava rung to end at member-01", curves)
	}

	// In turn, each setting leaves a stream free: RL and duels run their
	// calls two at a time, each call's lines tagged.
	slog := captureStderr(t, func() {
		if err := runRepro([]string{"--preset", "tiny", "--sample", "--labels", "clean,corrupt", "--serial", "--out", ser}); err != nil {
			t.Fatal(err)
		}
	})
	if strings.Contains(slog, "side by side") || !strings.Contains(slog, "== repro: rl: ") || !strings.Contains(slog, "calls two at a time") || !strings.Contains(slog, "rl-warm3: == warm rl") {
		t.Fatalf("serial log: no RL calls two at a time:\n%.3000s", slog)
	}
	for _, s := range []string{"clean", "corrupt"} {
		for _, f := range []string{"eval/eval.json", "eval/pilot.json", "bon/bon.json", "rl-warm3/metrics.jsonl", "duel-warm3-vs-single.json"} {
			a, errA := os.ReadFile(filepath.Join(par, s, f))
			a = []byte(strings.ReplaceAll(string(a), par, ser)) // paths name the run directory
			b, errB := os.ReadFile(filepath.Join(ser, s, f))
			if errA != nil || errB != nil {
				t.Fatalf("%s/%s: %v %v", s, f, errA, errB)
			}
			if ja, jb := withoutTimes(t, f, a), withoutTimes(t, f, b); ja != jb {
				t.Fatalf("%s/%s differs side by side and in turn", s, f)
			}
		}
	}
}

// withoutTimes is JSON (or JSON lines) with wall-clock fields dropped.
func withoutTimes(t *testing.T, name string, b []byte) string {
	t.Helper()
	var out []string
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if json.Valid(b) { // one document, maybe indented
		lines = []string{string(b)}
	}
	for _, line := range lines {
		var v any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var drop func(any) any
		drop = func(v any) any {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					if strings.Contains(strings.ToLower(k), "second") || k == "when" || strings.HasSuffix(k, "_per_s") {
						delete(x, k)
						continue
					}
					x[k] = drop(e)
				}
			case []any:
				for i := range x {
					x[i] = drop(x[i])
				}
			}
			return v
		}
		js, _ := json.Marshal(drop(v))
		out = append(out, string(js))
	}
	return strings.Join(out, "\n")
}

// captureStderr runs f with os.Stderr going to a pipe and returns what was
// written.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	defer func() { os.Stderr = old }()
	f()
	os.Stderr = old
	w.Close()
	return <-done
}

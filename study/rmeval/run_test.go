package rmeval

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/internal/runlog"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/model/modeltest"
	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/safetensors"
	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/study/rmtrain"
)

func TestSummaryMs(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want []int
		bad  bool
	}{
		{"", 6, []int{2, 6}, false},
		{"", 2, []int{2}, false},
		{"", 1, nil, false},
		{"2,4", 6, []int{2, 4}, false},
		{"7", 6, nil, true},
		{"x", 6, nil, true},
	} {
		t.Run(c.in+"/"+string(rune('0'+c.n)), func(t *testing.T) {
			got, err := summaryMs(c.in, c.n)
			if (err != nil) != c.bad || !slices.Equal(got, c.want) {
				t.Fatalf("%v %v, want %v (error %v)", got, err, c.want, c.bad)
			}
		})
	}
}

// studyDir writes a run like warm train's (member-00/01 with tokenizer
// files, a ladder rung, an unfinished member) and warm data's val/ood.
func studyDir(t *testing.T) (data, run string) {
	t.Helper()
	root := t.TempDir()
	tok := modeltest.Tokenizer(t)
	run = filepath.Join(root, "rm")
	for i, n := range []string{"member-00", "member-01", "ladder-lr"} {
		d := filepath.Join(run, n)
		if err := modeltest.RM(tok.VocabSize(), 32, 1, uint64(i+1)).Save(d, "F32"); err != nil {
			t.Fatal(err)
		}
		if err := tok.Save(d, 32); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(run, "member-02.partial"), 0o755)
	data = filepath.Join(root, "data")
	os.MkdirAll(data, 0o755)
	var rows bytes.Buffer
	for _, r := range []string{
		`{"prompt":"the cat","chosen":" sat on a happy mat","rejected":" ran away"}`,
		`{"prompt":"the dog","chosen":" is good","rejected":" is bad"}`,
		`{"prompt":"a","chosen":" happy cat","rejected":" bad dog ran"}`,
	} {
		rows.WriteString(r + "\n")
	}
	for _, s := range []string{"val.jsonl", "ood.jsonl"} {
		if err := os.WriteFile(filepath.Join(data, s), rows.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := prefdata.ReadJSONL(filepath.Join(data, "val.jsonl")); err != nil {
		t.Fatal(err)
	}
	return data, run
}

func TestRunModes(t *testing.T) {
	data, run := studyDir(t)
	if got, err := MemberModels(run); err != nil || len(got) != 2 {
		t.Fatalf("members %v %v (the .partial one must be left out)", got, err)
	}
	rungs := LadderRungs(run)
	if len(rungs) != 1 || rungs[0].Name != "+ learning rate" || rungs[0].B != filepath.Join(run, "ladder-lr") {
		t.Fatalf("rungs %+v", rungs)
	}
	t.Run("compare", func(t *testing.T) {
		out := t.TempDir()
		res, err := Run(Options{Run: run, DataDir: data, RankBy: "val", Soup: true, Out: out})
		if err != nil {
			t.Fatal(err)
		}
		if res.Result == nil || len(res.Result.Order) != 2 || res.Result.Soup == nil || !slices.Equal(res.Ms, []int{2}) {
			t.Fatalf("outcome %+v", res)
		}
		var back Result
		if err := runlog.ReadJSON(filepath.Join(out, "eval.json"), &back); err != nil || len(back.Entries) != len(res.Result.Entries) {
			t.Fatalf("eval.json: %v", err)
		}
		// Every entry's per-pair string decodes to its accuracy, on every
		// split, and all strings of a split have the split's length.
		for _, e := range back.Entries {
			for sp, m := range e.Splits {
				v, err := stats.DecodeCorrect(back.PerPair[sp][e.Name])
				if err != nil || len(v) != m.N {
					t.Fatalf("per_pair[%s][%s]: %d pairs, %v (want %d)", sp, e.Name, len(v), err, m.N)
				}
				if got, _ := stats.MeanStd(v); math.Abs(got-m.Acc) > 1e-12 {
					t.Fatalf("per_pair[%s][%s] accuracy %g, metrics %g", sp, e.Name, got, m.Acc)
				}
			}
		}
		// Ranked on the selection half of val; val keeps the rest.
		sl := back.Selection
		if sl == nil || back.RankBy != ValSelect || sl.Split != Val || len(sl.SelectRows)+len(sl.TestRows) != 3 ||
			back.Summary[Val].ENS == nil || back.Entries[0].Splits[Val].N != len(sl.TestRows) || back.Entries[0].Splits[ValSelect].N != len(sl.SelectRows) {
			t.Fatalf("selection %+v, rank_by %q, val n %d", sl, back.RankBy, back.Entries[0].Splits[Val].N)
		}
		var w bytes.Buffer
		res.Result.WriteSoup(&w)
		if !strings.Contains(w.String(), "greedy soup (val_select)") {
			t.Fatalf("soup table %q", w.String())
		}
	})
	t.Run("diagnostics and human split", func(t *testing.T) {
		// An init (an LM of the members' shape), the probe head warm
		// train saves, and a human split.
		tok := modeltest.Tokenizer(t)
		init := filepath.Join(t.TempDir(), "init")
		initM := modeltest.LM(tok.VocabSize(), 32, 1, 7)
		if err := initM.Save(init, "F32"); err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(run, "probe"), 0o755)
		head := make([]float32, initM.Config.NEmbd)
		for i := range head {
			head[i] = float32(i%3) - 1
		}
		if err := safetensors.WriteFloat32(filepath.Join(run, "probe", "head.safetensors"), []safetensors.Tensor{{Name: "score.weight", Shape: []int{1, len(head)}, Data: head}}, safetensors.F32, nil); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(filepath.Join(run, "probe"))
		hum := filepath.Join(t.TempDir(), "human.jsonl")
		if err := os.WriteFile(hum, []byte(`{"prompt":"","chosen":"a happy cat","rejected":"a bad dog","subset":"x"}`+"\n"+`{"prompt":"","chosen":"good","rejected":"bad ran","subset":"x"}`+"\n"+`{"prompt":"","chosen":"nice one","rejected":"awful","subset":"y"}`+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		res, err := Run(Options{Run: run, DataDir: data, Human: hum, RankBy: "val", Init: init, Out: out})
		if err != nil {
			t.Fatal(err)
		}
		g := res.Result.Diagnostics
		if g == nil || len(g.Distances) != 2 || g.Pilot == nil {
			t.Fatalf("diagnostics %+v", g)
		}
		// The probe is the head on the init's frozen features, on whole
		// splits (val is not halved for the diagnostics: they choose
		// nothing).
		whole, err := LoadSplits(tok, 32, "", filepath.Join(data, "val.jsonl"), "", hum, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, sp := range whole {
			if sp.Name != Val && sp.Name != Human {
				continue
			}
			want, err := rmtrain.ProbeAccuracy(initM, head, sp.Pairs)
			if err != nil || g.Probe[sp.Name].Acc != want || g.Probe[sp.Name].N != len(sp.Pairs) {
				t.Errorf("probe on %s: %+v, want %g (%v)", sp.Name, g.Probe[sp.Name], want, err)
			}
		}
		// Distances are ‖θ_i − θ₀‖ of each member; the pilot names the
		// only pair and its distance.
		for _, md := range g.Distances {
			m, _ := model.Load(filepath.Join(run, md.Name))
			want, _ := rmtrain.BodyDistance(m, initM)
			if md.FromInit.Abs != want.Abs || md.FromInit.Abs == 0 {
				t.Errorf("%s: distance %+v, want %+v", md.Name, md.FromInit, want)
			}
		}
		a, _ := model.Load(filepath.Join(run, "member-00"))
		b, _ := model.Load(filepath.Join(run, "member-01"))
		if d, _ := rmtrain.BodyDistance(a, b); math.Abs(g.Pilot.Distance-d.Abs) > 1e-12 {
			t.Errorf("pilot distance %g, want %g", g.Pilot.Distance, d.Abs)
		}
		var pilot Curve
		if err := runlog.ReadJSON(filepath.Join(out, "pilot.json"), &pilot); err != nil || len(pilot.Points) != 3 || pilot.PerPair[Val]["mid"] == "" {
			t.Fatalf("pilot.json: %+v %v", pilot, err)
		}
		if _, ok := res.Result.Summary[Human]; !ok || len(res.Result.PerPair[Human]["WA M=2"]) != 3 || len(res.Result.PerPair[Human]["member-00"]) != 3 {
			t.Errorf("human split not evaluated: %+v", res.Result.PerPair[Human])
		}
		// The human split is grouped by source: accuracy is the
		// within-source all-pairs accuracy of the stored rewards (2·2 +
		// 1·1 comparisons), the rewards are in per_text, and ENS's are
		// the members' mean.
		pt := res.Result.PerText[Human]
		if pt == nil || fmt.Sprint(pt.Groups) != "[x x y]" {
			t.Fatalf("per_text for the human split: %+v", pt)
		}
		for _, e := range res.Result.Entries {
			m := e.Splits[Human]
			c, r := pt.Chosen[e.Name], pt.Rejected[e.Name]
			want, n := stats.AllPairsAccuracy(stats.Float64s(c), stats.Float64s(r), pt.Groups)
			if len(c) != 3 || m.Acc != want || m.Comparisons != 5 || n != 5 {
				t.Errorf("%s on human: acc %v over %d comparisons, want %v over 5 (rewards %v %v)", e.Name, m.Acc, m.Comparisons, want, c, r)
			}
			if pa, _ := stats.PairAccuracy(stats.Float64s(c), stats.Float64s(r)); m.PairAcc != pa && pa != 0 {
				t.Errorf("%s on human: pair accuracy %v, want %v", e.Name, m.PairAcc, pa)
			}
		}
		ens := pt.Chosen["ENS M=2"]
		for i := range ens {
			if want := (pt.Chosen["member-00"][i] + pt.Chosen["member-01"][i]) / 2; math.Abs(float64(ens[i]-want)) > 1e-6 {
				t.Errorf("ENS reward %d: %v, want the members' mean %v", i, ens[i], want)
			}
		}
	})
	t.Run("interpolate", func(t *testing.T) {
		a, b := filepath.Join(run, "member-00"), filepath.Join(run, "member-01")
		res, err := Run(Options{Models: []string{a, b}, Interpolate: true, Steps: 3, DataDir: data})
		if err != nil {
			t.Fatal(err)
		}
		cmp, err := Run(Options{Models: []string{a, b}, DataDir: data})
		if err != nil {
			t.Fatal(err)
		}
		c := res.Curves[0]
		// Val and OOD only by default: the splits the LMC claims and
		// plots read (the data has human pairs too).
		if _, ok := c.Points[1].WA[Human]; ok || len(res.Splits) != 2 {
			t.Errorf("interpolation scored %d splits (human: %v), want val and ood", len(res.Splits), ok)
		}
		// The endpoints are the members themselves (λ = 0 and 1).
		accOf := func(name string) float64 {
			for _, e := range cmp.Result.Entries {
				if e.Name == name {
					return e.Splits[Val].Acc
				}
			}
			t.Fatalf("no entry %s", name)
			return 0
		}
		if len(c.Points) != 3 || c.Points[0].WA[Val].Acc != accOf("member-00") || c.Points[2].WA[Val].Acc != accOf("member-01") {
			t.Fatalf("curve %+v", c.Points)
		}
		// The per-pair strings at λ = 0, ½, 1 are the points' accuracies.
		for k, key := range []string{"a", "mid", "b"} {
			v, err := stats.DecodeCorrect(c.PerPair[Val][key])
			if m, _ := stats.MeanStd(v); err != nil || math.Abs(m-c.Points[k].WA[Val].Acc) > 1e-12 {
				t.Fatalf("per_pair val %s: %g %v, point %g", key, m, err, c.Points[k].WA[Val].Acc)
			}
		}
		var w bytes.Buffer
		WriteCurves(&w, res.Curves, res.Splits)
		if !strings.Contains(w.String(), "a-b: "+a) || !strings.Contains(w.String(), "midpoint − endpoint mean") {
			t.Fatalf("curves table %q", w.String())
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, c := range []struct {
			name string
			o    Options
			want string
		}{
			{"no models", Options{DataDir: data}, "no models"},
			{"interpolate one", Options{Models: []string{filepath.Join(run, "member-00")}, Interpolate: true, DataDir: data}, "exactly two"},
			{"no data", Options{Run: run, DataDir: t.TempDir()}, "no evaluation data"},
		} {
			t.Run(c.name, func(t *testing.T) {
				if _, err := Run(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %v, want %q", err, c.want)
				}
			})
		}
	})
}

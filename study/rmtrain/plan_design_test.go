package rmtrain

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/kit/safetensors"
)

// spread is max − min over counts.
func spread(counts []int) int {
	lo, hi := counts[0], counts[0]
	for _, c := range counts {
		lo, hi = min(lo, c), max(hi, c)
	}
	return hi - lo
}

// tally counts levels of one factor (or a pair, as a·nb+b) over cells.
func tally(cells []Cell, k int, key func(Cell) int) []int {
	out := make([]int, k)
	for _, c := range cells {
		out[key(c)]++
	}
	return out
}

// TestDesignBalance checks the properties Design documents, by counting,
// for every shape up to 6 lrs × 4 dropouts × 6 bodies and every prefix of
// three cycles.
func TestDesignBalance(t *testing.T) {
	for nl := 1; nl <= 6; nl++ {
		for nd := 1; nd <= 4; nd++ {
			for nb := 1; nb <= 6; nb++ {
				t.Run(fmt.Sprintf("%dx%dx%d", nl, nd, nb), func(t *testing.T) {
					cyc := nl * nd * nb
					cells, err := Design(nl, nd, nb, 3*cyc)
					if err != nil {
						t.Fatal(err)
					}
					for n := 1; n <= len(cells); n++ {
						p := cells[:n]
						if s := spread(tally(p, nl, func(c Cell) int { return c.LR })); s > 1 {
							t.Fatalf("first %d members: lr counts spread %d", n, s)
						}
						if s := spread(tally(p, nb, func(c Cell) int { return c.Body })); s > 1 {
							t.Fatalf("first %d members: body counts spread %d", n, s)
						}
						if s := spread(tally(p, nl*nb, func(c Cell) int { return c.LR*nb + c.Body })); s > 1 {
							t.Fatalf("first %d members: lr×body counts spread %d", n, s)
						}
						if n%cyc == 0 {
							full := tally(p[n-cyc:], cyc, func(c Cell) int { return (c.LR*nd+c.Dropout)*nb + c.Body })
							for k, v := range full {
								if v != 1 {
									t.Fatalf("cycle ending at %d: cell %d used %d times, want 1", n, k, v)
								}
							}
						}
					}
				})
			}
		}
	}
}

// TestDesignPresetShapes: for the presets' shapes the dropout is balanced
// too, against lr and body, at every multiple of max(lrs, bodies)·dropouts.
func TestDesignPresetShapes(t *testing.T) {
	for _, sh := range [][3]int{{3, 2, 1}, {3, 2, 2}, {3, 2, 3}, {3, 1, 3}, {2, 2, 2}} {
		nl, nd, nb := sh[0], sh[1], sh[2]
		t.Run(fmt.Sprintf("%dx%dx%d", nl, nd, nb), func(t *testing.T) {
			cells, _ := Design(nl, nd, nb, 4*nl*nd*nb)
			step := max(nl, nb) * nd
			for n := step; n <= len(cells); n += step {
				p := cells[:n]
				for name, s := range map[string]int{
					"dropout":      spread(tally(p, nd, func(c Cell) int { return c.Dropout })),
					"lr×dropout":   spread(tally(p, nl*nd, func(c Cell) int { return c.LR*nd + c.Dropout })),
					"dropout×body": spread(tally(p, nd*nb, func(c Cell) int { return c.Dropout*nb + c.Body })),
				} {
					if s > 1 {
						t.Errorf("first %d members: %s counts spread %d", n, name, s)
					}
				}
			}
		})
	}
}

// The quick (6 members) and full (12) tables written in docs/study-design.md.
func TestDesignTables(t *testing.T) {
	cells, _ := Design(3, 2, 3, 12)
	want := []Cell{{0, 0, 0}, {1, 0, 1}, {2, 0, 2}, {0, 1, 1}, {1, 1, 2}, {2, 1, 0},
		{0, 0, 2}, {1, 0, 0}, {2, 0, 1}, {0, 1, 0}, {1, 1, 1}, {2, 1, 2}}
	for i := range want {
		if cells[i] != want[i] {
			t.Errorf("member %d: %+v, want %+v", i, cells[i], want[i])
		}
	}
	// Quick's six: each lr and each body twice, each dropout three times,
	// and no lr paired with one body twice.
	six := cells[:6]
	if spread(tally(six, 9, func(c Cell) int { return c.LR*3 + c.Body })) != 1 || tally(six, 2, func(c Cell) int { return c.Dropout })[0] != 3 {
		t.Errorf("quick's six members are not balanced: %+v", six)
	}
}

func TestDesignRejects(t *testing.T) {
	for _, c := range []struct{ l, d, b, n int }{{0, 1, 1, 3}, {1, 0, 1, 3}, {1, 1, 0, 3}, {1, 1, 1, -1}} {
		if _, err := Design(c.l, c.d, c.b, c.n); err == nil {
			t.Errorf("Design(%d, %d, %d, %d): no error", c.l, c.d, c.b, c.n)
		}
	}
}

// Plan maps the design onto settings: learning rate and body are not tied
// (the old i mod 3 rule gave lr 1e-4 always the shared init), a single
// member job equals the same member of a whole run, and disabled sources
// keep their default level.
func TestPlanUnconfounded(t *testing.T) {
	lrs, drops := []float64{1e-4, 2e-4, 4e-4}, []float64{0.05, 0.1}
	bodies := []string{"ckpt-a", "ckpt-b", "final"}
	all := Diversity{Order: true, LR: true, Dropout: true, Baklava: true}
	ms, err := Plan("final", bodies, lrs, drops, all, 1, 0, 6)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[2]string]int{}
	for _, m := range ms {
		seen[[2]string{fmt.Sprint(m.LR), m.Init}]++
	}
	if len(seen) != 6 {
		t.Errorf("6 members hold %d distinct (lr, body) pairs, want 6: %v", len(seen), seen)
	}
	if ms[0].Init != "final" || ms[0].LR != 1e-4 || ms[0].Dropout != 0.05 {
		t.Errorf("member 0 = %+v, want the shared init, first lr and dropout", ms[0])
	}
	for i := range ms {
		one, err := Plan("final", bodies, lrs, drops, all, 1, i, 1)
		if err != nil || one[0] != ms[i] {
			t.Errorf("member %d alone: %+v (err %v), in the run: %+v", i, one, err, ms[i])
		}
	}
	none, _ := Plan("final", bodies, lrs, drops, Diversity{}, 1, 0, 4)
	for _, m := range none {
		if m.LR != 2e-4 || m.Dropout != 0.05 || m.Init != "final" || m.Seed != 1 {
			t.Errorf("no diversity: %+v", m)
		}
	}
	if _, err := Plan("final", nil, lrs, drops, all, 1, 0, 3); err == nil {
		t.Error("Baklava without bodies: no error")
	}
}

func TestHeadAccuracy(t *testing.T) {
	w := []float32{1, -1}
	fc := [][]float32{{2, 0}, {0, 0}, {1, 1}, {0, 3}}
	fr := [][]float32{{0, 0}, {1, 0}, {0, 0}, {0, 1}}
	// rewards: chosen 2, 0, 0, -3; rejected 0, 1, 0, -1 → win, loss, tie, loss.
	if got, want := HeadAccuracy(w, fc, fr), 1.5/4; got != want {
		t.Errorf("HeadAccuracy = %v, want %v", got, want)
	}
	if HeadAccuracy(w, nil, nil) != 0 {
		t.Error("no pairs: want 0")
	}
}

// ProbeAccuracy on frozen features equals the accuracy of the same body
// turned into a reward model with that head (a different code path: the
// model's reward read-out), and leaves the body untouched.
func TestProbeAccuracyMatchesRewardModel(t *testing.T) {
	init := tinyInit(t)
	body, err := model.Load(init)
	if err != nil {
		t.Fatal(err)
	}
	pairs := synthetic(96, 4)
	fc, fr := mustFeatures(t, body, pairs)
	head, _, _ := Probe(fc, fr, nil, make([]float32, 16), ProbeOptions{Epochs: 10, Batch: 32, LR: 0.02, Seed: 1})
	got, err := ProbeAccuracy(body, head, pairs)
	if err != nil {
		t.Fatal(err)
	}
	if body.HasRewardHead() {
		t.Fatal("ProbeAccuracy turned the body into a reward model")
	}
	rm, _ := model.Load(init)
	rm.AsRewardModel(0)
	copy(rm.Param("score.weight").W, head)
	want, err := Accuracy(rm, pairs)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("probe accuracy %v, reward-model accuracy %v", got, want)
	}
	if got <= 0.5 {
		t.Errorf("probe accuracy %v on its own training pairs: the head learnt nothing", got)
	}
	if _, err := ProbeAccuracy(body, head[:3], pairs); err == nil || !strings.Contains(err.Error(), "width") {
		t.Errorf("short head: error %v", err)
	}
	if _, err := ProbeAccuracy(body, head, nil); err == nil {
		t.Error("no pairs: no error")
	}
}

// Pairs that share texts (a grouped split) share their features: each
// distinct text is run once, and every pair gets the same features as when
// its texts are run on their own.
func TestFeaturesSharedTexts(t *testing.T) {
	body, err := model.Load(tinyInit(t))
	if err != nil {
		t.Fatal(err)
	}
	base := synthetic(6, 4)
	a, b, c := base[0].Chosen, base[1].Chosen, base[2].Rejected
	pairs := []reward.Pair{{Chosen: a, Rejected: b}, {Chosen: c, Rejected: a}, {Chosen: b, Rejected: c}, base[3]}
	fc, fr := mustFeatures(t, body, pairs)
	for i, p := range pairs {
		oc, or := mustFeatures(t, body, []reward.Pair{p})
		for j := range oc[0] {
			if math.Abs(float64(fc[i][j]-oc[0][j])) > 1e-5 || math.Abs(float64(fr[i][j]-or[0][j])) > 1e-5 {
				t.Fatalf("pair %d feature %d: %v / %v shared, %v / %v alone", i, j, fc[i][j], fr[i][j], oc[0][j], or[0][j])
			}
		}
	}
}

// BodyDistance against hand-computed values: a shift of δ on every weight
// of one n-element tensor moves the body by δ·√n; the reference norm is
// the norm of the LM's flat weight buffer (all of it is body), computed
// here independently; the reward head of a member is ignored.
func TestBodyDistance(t *testing.T) {
	init := tinyInit(t)
	ref, _ := model.Load(init)
	m, _ := model.Load(init)
	m.AsRewardModel(3)
	p := m.Param("transformer.h.1.mlp.c_fc.bias")
	for i := range p.W {
		p.W[i] += 0.25
	}
	var ss float64
	for _, w := range ref.Weights() {
		ss += float64(w) * float64(w)
	}
	d, err := BodyDistance(m, ref)
	if err != nil {
		t.Fatal(err)
	}
	wantAbs := 0.25 * math.Sqrt(float64(len(p.W)))
	if math.Abs(d.Abs-wantAbs) > 1e-6*wantAbs || math.Abs(d.RefNorm-math.Sqrt(ss)) > 1e-9*math.Sqrt(ss) {
		t.Errorf("distance %+v, want abs %v, ref norm %v", d, wantAbs, math.Sqrt(ss))
	}
	if math.Abs(d.Rel-d.Abs/d.RefNorm) > 1e-15 || d.Tensors != len(ref.Params) {
		t.Errorf("rel %v, tensors %d (want %d)", d.Rel, d.Tensors, len(ref.Params))
	}
	if same, _ := BodyDistance(ref, ref); same.Abs != 0 {
		t.Errorf("distance to itself %v", same.Abs)
	}
	other := model.New(model.Config{VocabSize: 32, NPositions: 16, NEmbd: 8, NLayer: 2, NHead: 2,
		LayerNormEps: 1e-5, PadTokenID: -1, BOSTokenID: -1, EOSTokenID: -1, Architecture: model.ArchLM}, 7)
	if _, err := BodyDistance(other, ref); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("other width: error %v", err)
	}
	dir := filepath.Join(t.TempDir(), "member")
	if err := m.Save(dir, "F32"); err != nil {
		t.Fatal(err)
	}
	if md, err := MemberDistance(dir, init); err != nil || math.Abs(md.Abs-d.Abs) > 1e-9 {
		t.Errorf("MemberDistance %+v, %v; want abs %v", md, err, d.Abs)
	}
}

// LoadHead reads back the head file warm train writes (same layout as
// Run's probe step) and names the file when it is missing.
func TestLoadHead(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "probe"), 0o755); err != nil {
		t.Fatal(err)
	}
	w := []float32{0.5, -1.25, 3}
	path := filepath.Join(dir, "probe", "head.safetensors")
	if err := safetensors.WriteFloat32(path, []safetensors.Tensor{{Name: "score.weight", Shape: []int{1, 3}, Data: w}}, safetensors.F32, nil); err != nil {
		t.Fatal(err)
	}
	got, err := LoadHead(dir)
	if err != nil || !slices.Equal(got, w) {
		t.Fatalf("LoadHead = %v, %v; want %v", got, err, w)
	}
	if _, err := LoadHead(filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "probe head") {
		t.Errorf("missing head: error %v", err)
	}
}

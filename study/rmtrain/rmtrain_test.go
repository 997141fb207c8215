package rmtrain

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/model/modeltest"
	"github.com/warm-rm/warm/kit/reward"
)

// synthetic makes pairs over a 32-token vocabulary where the "chosen" text
// has more tokens from the positive set (ids < 8) than the rejected one.
func synthetic(n int, seed uint64) []reward.Pair {
	r := rand.New(rand.NewPCG(seed, 1))
	gen := func(pos int) []int {
		L := 6 + r.IntN(5)
		s := make([]int, L)
		for i := range s {
			s[i] = 8 + r.IntN(24)
		}
		for _, i := range r.Perm(L)[:pos] {
			s[i] = r.IntN(8)
		}
		return s
	}
	ps := make([]reward.Pair, n)
	for i := range ps {
		a := 1 + r.IntN(4)
		b := a - 1 - r.IntN(a)
		ps[i] = reward.Pair{Chosen: gen(a), Rejected: gen(b)}
	}
	return ps
}

func tinyInit(t *testing.T) string {
	m := modeltest.LM(32, 16, 2, 7)
	dir := filepath.Join(t.TempDir(), "init")
	if err := m.Save(dir, "F32"); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBTLossGradient(t *testing.T) {
	rc := []float32{0.3, -1.2, 2.0}
	rr := []float32{0.1, 0.5, 2.0}
	mg := []float32{0.2, 0, -0.5}
	const center = 0.05
	_, dc, dr, acc := BTLoss(rc, rr, mg, center)
	if want := (1 + 0 + 0.5) / 3; math.Abs(acc-want) > 1e-12 {
		t.Fatalf("acc %v, want %v (a tie counts half)", acc, want)
	}
	const h = 1e-3
	for i := range rc {
		for _, side := range []struct {
			x []float32
			g []float32
		}{{rc, dc}, {rr, dr}} {
			old := side.x[i]
			side.x[i] = old + h
			lp, _, _, _ := BTLoss(rc, rr, mg, center)
			side.x[i] = old - h
			lm, _, _, _ := BTLoss(rc, rr, mg, center)
			side.x[i] = old
			fd := (lp - lm) / (2 * h)
			if math.Abs(fd-float64(side.g[i])) > 1e-4 {
				t.Fatalf("pair %d: analytic %v, finite difference %v", i, side.g[i], fd)
			}
		}
	}
}

// Members fine-tuned from one init and one probed head stay linearly
// connected: the accuracy at the weight midpoint is at least the mean of
// the endpoints' accuracies, minus 0.03.
func TestMembersLinearlyConnected(t *testing.T) {
	init := tinyInit(t)
	train, val := synthetic(384, 1), synthetic(256, 2)
	m, err := model.Load(init)
	if err != nil {
		t.Fatal(err)
	}
	fc, fr := mustFeatures(t, m, train)
	head, _, probeAcc := Probe(fc, fr, nil, make([]float32, 16), ProbeOptions{Epochs: 20, Batch: 32, LR: 0.02, Seed: 1})
	if probeAcc < 0.55 {
		t.Fatalf("linear probe train accuracy %.3f: features carry no signal?", probeAcc)
	}
	ft := FTOptions{Epochs: 3, Batch: 16, Warmup: 0.1, Schedule: "cosine", Clip: 1, Dtype: "F32"}
	var ms []*model.Model
	for i, mb := range []Member{
		{Name: "a", Init: init, LR: 3e-3, Dropout: 0.05, Seed: 11},
		{Name: "b", Init: init, LR: 1e-3, Dropout: 0.1, Seed: 12},
	} {
		dir := filepath.Join(t.TempDir(), mb.Name)
		res, err := FineTune(mb, head, train, val, ft, dir, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.ValAcc < 0.75 {
			t.Fatalf("member %d val accuracy %.3f: fine-tuning did not learn the task", i, res.ValAcc)
		}
		mm, err := model.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, mm)
	}
	mid, err := reward.Interpolate(ms[0], ms[1], 0.5)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := accuracy(t, ms[0], val), accuracy(t, ms[1], val), accuracy(t, mid, val)
	t.Logf("endpoint accuracies %.3f %.3f, midpoint %.3f", a, b, c)
	if c < (a+b)/2-0.03 {
		t.Fatalf("midpoint accuracy %.3f below the endpoints' mean %.3f − 0.03", c, (a+b)/2)
	}
}

// A member killed after a checkpoint resumes to the same weights as an
// uninterrupted run.
func TestFineTuneResume(t *testing.T) {
	init := tinyInit(t)
	train := synthetic(64, 3)
	head := make([]float32, 16)
	mb := Member{Name: "m", Init: init, LR: 1e-3, Dropout: 0.1, Seed: 5}
	ft := FTOptions{Epochs: 2, Batch: 8, Schedule: "cosine", Clip: 1, Dtype: "F32", CkptEvery: 5}
	full := filepath.Join(t.TempDir(), "full")
	if _, err := FineTune(mb, head, train, nil, ft, full, nil, nil); err != nil {
		t.Fatal(err)
	}
	// Simulate a kill after step 12: the last checkpoint is at step 10.
	dir := filepath.Join(t.TempDir(), "resumed")
	stopAt = 12
	_, err := FineTune(mb, head, train, nil, ft, dir, nil, nil)
	stopAt = 0
	if err == nil {
		t.Fatal("interrupted run reported success")
	}
	if _, err := FineTune(mb, head, train, nil, ft, dir, nil, nil); err != nil {
		t.Fatal(err)
	}
	// The steps logged before the kill but after the checkpoint are not
	// logged twice.
	mb2, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	mf, _ := os.ReadFile(filepath.Join(full, "metrics.jsonl"))
	if strings.Count(string(mb2), "\n") != strings.Count(string(mf), "\n") {
		t.Fatalf("resumed run logged %d metric lines, uninterrupted %d", strings.Count(string(mb2), "\n"), strings.Count(string(mf), "\n"))
	}
	a, _ := model.Load(full)
	b, _ := model.Load(dir)
	for i, w := range a.Weights() {
		if b.Weights()[i] != w {
			t.Fatalf("weight %d: resumed %v, uninterrupted %v", i, b.Weights()[i], w)
		}
	}
}

func accuracy(t *testing.T, m model.RewardModel, pairs []reward.Pair) float64 {
	t.Helper()
	a, err := Accuracy(m, pairs)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// mustFeatures is Features, failing the test on an error.
func mustFeatures(t *testing.T, m *model.Model, pairs []reward.Pair) (fc, fr [][]float32) {
	t.Helper()
	fc, fr, err := Features(m, pairs)
	if err != nil {
		t.Fatal(err)
	}
	return fc, fr
}

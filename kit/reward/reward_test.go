package reward

import (
	"math"
	"testing"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/model/modeltest"
)

func tinyRM(seed uint64) *model.Model {
	return modeltest.RM(50, 16, 2, seed)
}

var seqs = [][]int{{1, 2, 3}, {4, 5, 6, 7, 8}, {9}, {10, 11, 12, 13, 14, 15, 16}}

// WA of identical members is the member itself, bit for bit.
func TestAverageOfIdenticalIsMember(t *testing.T) {
	m := tinyRM(1)
	wa, err := Average([]*model.Model{m, m.Clone(), m.Clone()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range m.Weights() {
		if wa.Weights()[i] != w {
			t.Fatalf("weight %d: %v != %v", i, wa.Weights()[i], w)
		}
	}
	r1, r2 := modeltest.Rewards(t, m, seqs), modeltest.Rewards(t, wa, seqs)
	for i := range r1 {
		if r1[i] != r2[i] {
			t.Fatalf("reward %d: %v != %v", i, r2[i], r1[i])
		}
	}
}

// Average is the element-wise weighted mean.
func TestAverageWeighted(t *testing.T) {
	a, b := tinyRM(1), tinyRM(2)
	wa, err := Average([]*model.Model{a, b}, []float64{1, 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range wa.Weights() {
		want := 0.25*float64(a.Weights()[i]) + 0.75*float64(b.Weights()[i])
		if d := math.Abs(float64(wa.Weights()[i]) - want); d > 1e-7 {
			t.Fatalf("weight %d: %v, want %v", i, wa.Weights()[i], want)
		}
	}
	if _, err := Average([]*model.Model{a, b}, []float64{1}); err == nil {
		t.Fatal("mismatched weights accepted")
	}
}

// ENS is the mean of the members' rewards; its std their spread.
func TestEnsembleIsMeanOfRewards(t *testing.T) {
	ms := Ensemble{tinyRM(1), tinyRM(2), tinyRM(3)}
	mean, std, err := ms.RewardsStd(seqs)
	if err != nil {
		t.Fatal(err)
	}
	for j := range seqs {
		var s, ss float64
		for _, m := range ms {
			r := float64(modeltest.Rewards(t, m, seqs)[j])
			s += r
			ss += r * r
		}
		mu := s / 3
		if math.Abs(float64(mean[j])-mu) > 1e-6 {
			t.Fatalf("seq %d: ENS %v, mean of rewards %v", j, mean[j], mu)
		}
		if sd := math.Sqrt(ss/3 - mu*mu); math.Abs(float64(std[j])-sd) > 1e-5 {
			t.Fatalf("seq %d: std %v, want %v", j, std[j], sd)
		}
	}
}

func TestCompatibleRejectsOtherShapes(t *testing.T) {
	a := tinyRM(1)
	cfg := modeltest.Config(50, 16, 2)
	cfg.NEmbd = 32
	b := model.New(cfg, 1)
	b.AsRewardModel(1)
	if _, err := Average([]*model.Model{a, b}, nil); err == nil {
		t.Fatal("averaged models of different widths")
	}
}

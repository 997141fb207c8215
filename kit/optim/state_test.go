package optim

import (
	"path/filepath"
	"testing"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/model/modeltest"
)

// A run resumed from saved state takes exactly the steps an uninterrupted
// run takes.
func TestStateRoundTrip(t *testing.T) {
	mk := func() *model.Model {
		c := modeltest.Config(20, 8, 1)
		c.NEmbd = 8
		return model.New(c, 1)
	}
	step := func(m *model.Model, o *AdamW, k int) {
		for i := range m.Grads() {
			m.Grads()[i] = float32((i*7+k*3)%11) - 5
		}
		o.Step(1e-2)
	}
	a, b := mk(), mk()
	ga, _ := Groups(a, TrainAll, 0.1)
	gb, _ := Groups(b, TrainAll, 0.1)
	oa, ob := NewAdamW(ga...), NewAdamW(gb...)
	for k := 0; k < 3; k++ {
		step(a, oa, k)
		step(b, ob, k)
	}
	path := filepath.Join(t.TempDir(), "optim.safetensors")
	if err := ob.SaveState(path); err != nil {
		t.Fatal(err)
	}
	gb2, _ := Groups(b, TrainAll, 0.1)
	ob2 := NewAdamW(gb2...)
	if err := ob2.LoadState(path); err != nil {
		t.Fatal(err)
	}
	if ob2.Steps() != 3 {
		t.Fatalf("step %d after load, want 3", ob2.Steps())
	}
	for k := 3; k < 5; k++ {
		step(a, oa, k)
		step(b, ob2, k)
	}
	for i, w := range a.Weights() {
		if b.Weights()[i] != w {
			t.Fatalf("weight %d: resumed %v, uninterrupted %v", i, b.Weights()[i], w)
		}
	}
}

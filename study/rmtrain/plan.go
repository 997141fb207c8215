package rmtrain

import (
	"fmt"
)

// Diversity switches the sources of diversity between members. With all of
// them off every member is the same run (same seed, data order, lr, dropout,
// init) — the degenerate baseline of the diversity ladder.
type Diversity struct {
	Order   bool `json:"order"`   // seed and data order differ per member
	LR      bool `json:"lr"`      // learning rate drawn from the set
	Dropout bool `json:"dropout"` // dropout drawn from the set
	Baklava bool `json:"baklava"` // body starts from a different pretraining checkpoint
}

// Member is one fine-tuning run's settings.
type Member struct {
	Name    string  `json:"name"`
	Index   int     `json:"index"`
	Init    string  `json:"init"`    // body checkpoint (HF directory)
	LR      float64 `json:"lr"`      // peak learning rate
	Dropout float64 `json:"dropout"` // resid, attn and embd dropout
	Seed    uint64  `json:"seed"`    // data order and dropout masks
}

// Cell is one member's row of the design: the index of its learning rate,
// dropout and body in their level sets.
type Cell struct {
	LR, Dropout, Body int
}

// Design assigns members 0..n-1 to levels of three factors — nLR learning
// rates, nDrop dropouts, nBody Baklava bodies — so that no factor is
// confounded with another, as a pure function of the member index (a run
// extended with more members, or members trained as separate jobs, get the
// same cells).
//
// lr × body is a cyclic Latin arrangement: the factor with more levels (F)
// cycles fastest (i mod F), the other (S) cycles too, (i + ⌊i/lcm(F,S)⌋)
// mod S, so every block of nLR·nBody members holds each (lr, body) pair
// once. Dropout is constant within a run of F members in the first such
// block and shifts by one in each later block, so each (lr, body) pair
// meets every dropout once per nLR·nDrop·nBody members.
//
// Tested for all shapes up to 6×4×6 (plan_design_test.go): every whole
// cycle of nLR·nDrop·nBody members is the full factorial; in every prefix
// the counts of each lr, each body and each (lr, body) pair differ by at
// most one. For the presets' shapes (3 lrs, 1–2 dropouts, 1–3 bodies) the
// dropouts, lr × dropout and dropout × body are also balanced (±1) at every
// multiple of max(nLR,nBody)·nDrop members. When n is not such a multiple,
// the first levels get the extra members.
func Design(nLR, nDrop, nBody, n int) ([]Cell, error) {
	if nLR < 1 || nDrop < 1 || nBody < 1 {
		return nil, fmt.Errorf("design: level counts %d lr, %d dropout, %d body: each must be ≥ 1", nLR, nDrop, nBody)
	}
	if n < 0 {
		return nil, fmt.Errorf("design: %d members", n)
	}
	f, s := nLR, nBody
	if nBody > nLR {
		f, s = nBody, nLR
	}
	l := lcm(f, s)
	pair := func(i int) (lr, body int) {
		fast, slow := i%f, (i+i/l)%s
		if nBody > nLR {
			return slow, fast
		}
		return fast, slow
	}
	// Position of each (lr, body) pair in the first block fixes its
	// dropout phase.
	block := nLR * nBody
	first := make([]int, block)
	for i := 0; i < block; i++ {
		lr, body := pair(i)
		first[lr*nBody+body] = i
	}
	out := make([]Cell, n)
	for i := range out {
		lr, body := pair(i)
		out[i] = Cell{LR: lr, Body: body, Dropout: (i/block + first[lr*nBody+body]/f) % nDrop}
	}
	return out, nil
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// Plan lays out members first..first+n-1 deterministically from the member
// index, so that a run extended with more members, or members trained as
// separate jobs (--member i), get the same settings as one run would.
//
// Learning rate, dropout and body come from Design over the enabled
// sources (a disabled source has one level: the middle lr, the first
// dropout, the shared init), so they vary independently of each other; the
// data-order seed differs for every member (Order), which is independent of
// the rest by construction. Body 0 is the shared init, so member 0 is the
// plain run the ladder's rungs are compared against.
func Plan(init string, baklava []string, lrs, dropouts []float64, div Diversity, seed uint64, first, n int) ([]Member, error) {
	if len(lrs) == 0 || len(dropouts) == 0 {
		return nil, fmt.Errorf("empty learning-rate or dropout set")
	}
	if first < 0 || n < 0 {
		return nil, fmt.Errorf("members %d..%d: negative index", first, first+n-1)
	}
	inits := []string{init}
	if div.Baklava {
		if len(baklava) == 0 {
			return nil, fmt.Errorf("baklava diversity needs --baklava checkpoints")
		}
		for _, b := range baklava {
			if b != init {
				inits = append(inits, b)
			}
		}
	}
	lrSet, dropSet := []float64{lrs[len(lrs)/2]}, dropouts[:1]
	if div.LR {
		lrSet = lrs
	}
	if div.Dropout {
		dropSet = dropouts
	}
	cells, err := Design(len(lrSet), len(dropSet), len(inits), first+n)
	if err != nil {
		return nil, err
	}
	var ms []Member
	for i := first; i < first+n; i++ {
		c := cells[i]
		m := Member{Name: fmt.Sprintf("member-%02d", i), Index: i, Init: inits[c.Body], LR: lrSet[c.LR], Dropout: dropSet[c.Dropout], Seed: seed}
		if div.Order {
			m.Seed = seed + uint64(i)*1000003
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// Ladder returns the runs of the linear-mode-connectivity diversity ladder
// (paper Fig. 3), each paired with the reference member `base`: the rungs add
// diversity cumulatively — data order; + learning rate; + Baklava init. The
// first rung, "same run", needs no extra run: it pairs base's mid-training
// checkpoint with its end.
func Ladder(base Member, lrs []float64, baklava []string) []Member {
	order := base
	order.Name, order.Index, order.Seed = "ladder-order", -1, base.Seed+7919
	lr := order
	lr.Name = "ladder-lr"
	for _, v := range lrs {
		if v != base.LR {
			lr.LR = v
			break
		}
	}
	out := []Member{order, lr}
	for _, b := range baklava {
		if b != base.Init {
			bk := lr
			bk.Name, bk.Init = "ladder-baklava", b
			out = append(out, bk)
			break
		}
	}
	return out
}

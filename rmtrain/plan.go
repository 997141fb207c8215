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

// Plan lays out members first..first+n-1 deterministically from the member
// index, so that a run extended with more members, or members trained as
// separate jobs (--member i), get the same settings as one run would.
//
// Member i takes lr = lrs[i mod |lrs|], dropout = dropouts[(i / |lrs|) mod
// |dropouts|] and body inits[i mod |inits|]: the first |lrs|·|dropouts|
// members cover the whole grid, as the paper's sweep does.
func Plan(init string, baklava []string, lrs, dropouts []float64, div Diversity, seed uint64, first, n int) ([]Member, error) {
	if len(lrs) == 0 || len(dropouts) == 0 {
		return nil, fmt.Errorf("empty learning-rate or dropout set")
	}
	inits := []string{init}
	if div.Baklava {
		if len(baklava) == 0 {
			return nil, fmt.Errorf("baklava diversity needs --baklava checkpoints")
		}
		// The shared init comes first, so member 0 is the plain run the
		// ladder's rungs are compared against.
		inits = []string{init}
		for _, b := range baklava {
			if b != init {
				inits = append(inits, b)
			}
		}
	}
	var ms []Member
	for i := first; i < first+n; i++ {
		m := Member{Name: fmt.Sprintf("member-%02d", i), Index: i, Init: init, LR: lrs[len(lrs)/2], Dropout: dropouts[0], Seed: seed}
		if div.Order {
			m.Seed = seed + uint64(i)*1000003
		}
		if div.LR {
			m.LR = lrs[i%len(lrs)]
		}
		if div.Dropout {
			m.Dropout = dropouts[(i/len(lrs))%len(dropouts)]
		}
		if div.Baklava {
			m.Init = inits[i%len(inits)]
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

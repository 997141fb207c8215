package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// prefixSeqs builds what a reward model scores in the study: groups of
// responses to shared prompts (some responses sharing a first token, a
// duplicate, one that is the prompt plus one token, one that is the
// prompt itself) and unrelated sequences, shuffled.
func prefixSeqs(r *rand.Rand, vocab, ctx int) (seqs [][]int, prompts int) {
	tok := func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = r.IntN(vocab)
		}
		return s
	}
	for g := 0; g < 6; g++ {
		prompt := tok(4 + r.IntN(9))
		k := 2 + r.IntN(8)
		for i := 0; i < k; i++ {
			resp := tok(1 + r.IntN(min(12, ctx-len(prompt))))
			if i == 1 { // shares the first response's first token
				resp[0] = seqs[len(seqs)-1][len(prompt)]
			}
			seqs = append(seqs, append(append([]int(nil), prompt...), resp...))
		}
		seqs = append(seqs, append([]int(nil), seqs[len(seqs)-1]...)) // a duplicate
		if g == 0 {
			seqs = append(seqs, append([]int(nil), prompt...), append(append([]int(nil), prompt...), 1))
		}
		prompts++
	}
	for i := 0; i < 7; i++ {
		seqs = append(seqs, tok(1+r.IntN(ctx)))
	}
	r.Shuffle(len(seqs), func(i, j int) { seqs[i], seqs[j] = seqs[j], seqs[i] })
	return seqs, prompts
}

// TestRewardsShared: Rewards, which computes a shared prefix once for the
// sequences that start with it, gives every sequence the reward of
// scoring it alone (plain RewardOnly pass) and of a full forward within
// 1e-5 relative, whatever the internal batch size (groups cut across
// batches repeat their prefix) and the attention row-block size. (Plain
// passes are not bit-identical across batch compositions either: GEMM
// rounding depends on the rows around; attendShared runs a continuation
// on the same operands as its whole sequence, which keeps test/chaos's
// exact reload checks passing.) It also checks that prefixes were
// shared, so that a silent fallback to plain scoring fails.
func TestRewardsShared(t *testing.T) {
	wide := tinyConfig()
	wide.NEmbd, wide.NHead, wide.NInner, wide.NPositions = 64, 2, 128, 48
	for ci, c := range []Config{tinyConfig(), wide} {
		m := New(c, uint64(71+ci))
		r := rand.New(rand.NewPCG(71, uint64(ci)))
		for _, p := range m.Params {
			for i := range p.W {
				p.W[i] += float32(r.NormFloat64() * 0.3)
			}
		}
		seqs, prompts := prefixSeqs(r, c.VocabSize, c.NPositions)
		want, full := make([]float32, len(seqs)), make([]float32, len(seqs))
		for i, s := range seqs {
			want[i] = m.forward([][]int{s}, Mode{RewardOnly: true}, false, nil).Rewards()[0]
			full[i] = m.Forward([][]int{s}, Mode{}).Rewards()[0]
		}
		groups := prefixGroups(seqs)
		shared, total := 0, 0
		for _, g := range groups {
			if g.p >= minSharedPrefix {
				shared += len(g.idx)
			}
		}
		for _, s := range seqs {
			total += len(s)
		}
		if shared < 2*prompts {
			t.Fatalf("config %d: %d sequences in shared groups, want ≥ %d", ci, shared, 2*prompts)
		}
		for _, mb := range []int{8192, 40, 7} {
			for _, blk := range []int{32, 3} {
				oldMB, oldBlk := maxBatchTokens, attnBlock
				maxBatchTokens, attnBlock = mb, blk
				units := 0
				for _, b := range sharedBatches(seqs, groups) {
					units += b.tokens
				}
				got, err := m.Rewards(seqs)
				maxBatchTokens, attnBlock = oldMB, oldBlk
				if err != nil {
					t.Fatal(err)
				}
				if mb == 8192 && units >= total*9/10 {
					t.Errorf("config %d: %d rows computed for %d tokens: prefixes not shared", ci, units, total)
				}
				for i := range seqs {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("config %d, batch %d, block %d: sequence %d (%d tokens): shared %v, alone %v", ci, mb, blk, i, len(seqs[i]), got[i], want[i])
					}
					if d := math.Abs(float64(got[i] - full[i])); d > 1e-5*(1+math.Abs(float64(full[i]))) {
						t.Fatalf("config %d: sequence %d: shared %v, full forward %v", ci, i, got[i], full[i])
					}
				}
			}
		}
	}
}

// TestPrefixGroups: responses to one prompt form one group whose prefix
// is the prompt, even when two of them share a first word; two prompts
// sharing only an opening do not merge; every member keeps a token.
func TestPrefixGroups(t *testing.T) {
	p1 := []int{1, 2, 3, 4, 5, 6, 7, 8}
	p2 := []int{1, 2, 3, 4, 5, 9, 9, 9} // shares 5 of 8 with p1
	cat := func(a []int, b ...int) []int { return append(append([]int(nil), a...), b...) }
	seqs := [][]int{cat(p1, 10, 11), cat(p1, 10, 12), cat(p1, 13), cat(p2, 10), cat(p2, 14, 15), cat(p1), {3, 3}}
	byFirst := map[int]prefixGroup{}
	for _, g := range prefixGroups(seqs) {
		for _, k := range g.idx {
			byFirst[k] = g
			if g.p >= len(seqs[k]) {
				t.Errorf("sequence %d (%d tokens) in a group with prefix %d", k, len(seqs[k]), g.p)
			}
		}
	}
	if g := byFirst[0]; g.p != 7 || len(g.idx) != 4 {
		t.Errorf("p1's group: prefix %d, %d members; want 7 (p1 less the token the bare prompt keeps), 4", g.p, len(g.idx))
	}
	if g := byFirst[3]; g.p != 8 || len(g.idx) != 2 {
		t.Errorf("p2's group: prefix %d, %d members; want 8, 2", g.p, len(g.idx))
	}
	if g := byFirst[6]; g.p != 0 || len(g.idx) != 1 {
		t.Errorf("a lone sequence: prefix %d, %d members", g.p, len(g.idx))
	}
}

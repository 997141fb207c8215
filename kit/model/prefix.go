package model

import (
	"slices"
)

// Prefix-shared scoring. What a reward model scores usually comes in
// groups that start alike: the responses sampled for one prompt (the
// study's val and OOD splits hold 6 per prompt, best-of-N 16, RL 4). In a
// causal transformer the rows of a shared prefix do not depend on what
// follows, so Rewards computes them once per group and runs each
// sequence's remaining tokens against the prefix's keys and values
// (forwardShared). The rewards are those of scoring each sequence alone,
// up to float rounding in the split attention sums (TestRewardsShared
// states the tolerance). At the study's shapes (prompts of 8–24 tokens,
// responses of 24–32) this skips about 30 % of the rows of a group of 6
// and 34 % of a group of 16 (docs/engine.md).

// minSharedPrefix is the shortest common prefix worth a unit of its own:
// below it the extra attention columns and bookkeeping cost about what
// the skipped rows save.
const minSharedPrefix = 4

// prefixGroup is a run of sequences (indices into the caller's list)
// that share their first p tokens; p = 0: one sequence scored alone.
type prefixGroup struct {
	p   int
	idx []int
}

// prefixGroups sorts seqs and cuts them into groups with a shared prefix
// of at least minSharedPrefix tokens. Every member keeps at least one
// token of its own (the reward is read at its last token). A group's
// prefix may shrink as it grows while the rows it saves do not drop, so
// that two responses that share a first word do not split their prompt's
// group, while two prompts that share only an opening stay apart.
func prefixGroups(seqs [][]int) []prefixGroup {
	order := make([]int, len(seqs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return slices.Compare(seqs[a], seqs[b]) })
	shared := func(a, b []int) int { // common prefix, leaving b a token of its own
		n := 0
		for n < len(a) && n < len(b) && a[n] == b[n] {
			n++
		}
		return min(n, len(a)-1, len(b)-1)
	}
	var out []prefixGroup
	for i := 0; i < len(order); {
		first := seqs[order[i]]
		p, j := 0, i+1
		if j < len(order) {
			p = shared(first, seqs[order[j]])
		}
		if p < minSharedPrefix {
			out = append(out, prefixGroup{0, order[i : i+1]})
			i++
			continue
		}
		for ; j < len(order); j++ {
			// Join when the group's saved rows do not drop: k members
			// sharing l tokens save (k−1)·l rows against (k−2)·p before.
			l, k := shared(first, seqs[order[j]]), j-i+1
			if l < minSharedPrefix || (k-1)*l < (k-2)*p {
				break
			}
			p = min(p, l)
		}
		out = append(out, prefixGroup{p, order[i:j]})
		i = j
	}
	return out
}

// sharedBatch is one forwardShared call: units (a prefix, or a
// sequence's tokens after its group's prefix), each unit's parent
// (−1: none) and, for each unit, the caller's sequence whose reward it
// gives (−1 for a prefix).
type sharedBatch struct {
	units  [][]int
	parent []int
	dst    []int
	tokens int
}

// sharedBatches lays groups out in batches of at most maxBatchTokens
// unit tokens (a batch holds at least one sequence); a group that does
// not fit is continued in the next batch with its prefix again.
func sharedBatches(seqs [][]int, groups []prefixGroup) []sharedBatch {
	var out []sharedBatch
	cur := sharedBatch{}
	flush := func() {
		if len(cur.units) > 0 {
			out = append(out, cur)
		}
		cur = sharedBatch{}
	}
	add := func(u []int, parent, dst int) {
		cur.units = append(cur.units, u)
		cur.parent = append(cur.parent, parent)
		cur.dst = append(cur.dst, dst)
		cur.tokens += len(u)
	}
	for _, g := range groups {
		if g.p == 0 {
			s := seqs[g.idx[0]]
			if cur.tokens+len(s) > maxBatchTokens && len(cur.units) > 0 {
				flush()
			}
			add(s, -1, g.idx[0])
			continue
		}
		pu := -1 // the prefix's unit in cur, once added
		for _, k := range g.idx {
			rest := seqs[k][g.p:]
			need := len(rest)
			if pu < 0 {
				need += g.p
			}
			if cur.tokens+need > maxBatchTokens && len(cur.units) > 0 {
				flush()
				pu = -1
			}
			if pu < 0 {
				pu = len(cur.units)
				add(seqs[k][:g.p], -1, -1)
			}
			add(rest, pu, k)
		}
	}
	flush()
	return out
}

// eachShared runs seqs (already checked) through the body in RewardOnly
// mode with shared prefixes computed once, calling f(pass, u, k) for each
// unit u of a pass that ends sequence k.
func (m *Model) eachShared(seqs [][]int, f func(p *Pass, u, k int)) {
	for _, b := range sharedBatches(seqs, prefixGroups(seqs)) {
		var parent []int
		if slices.ContainsFunc(b.parent, func(a int) bool { return a >= 0 }) {
			parent = b.parent
		}
		p := m.forwardShared(b.units, parent, Mode{RewardOnly: true}, false, nil)
		for u, k := range b.dst {
			if k >= 0 {
				f(p, u, k)
			}
		}
	}
}

// rewardsShared is Rewards' implementation.
func (m *Model) rewardsShared(seqs [][]int) []float32 {
	out := make([]float32, len(seqs))
	m.eachShared(seqs, func(p *Pass, u, k int) { out[k] = p.Rewards()[u] })
	return out
}

// LastFeatures returns each sequence's last-token hidden state after ln_f
// (what the reward head reads; Pass.Features), computed in eval mode with
// shared prefixes once, as Rewards. The rows are the caller's.
func (m *Model) LastFeatures(seqs [][]int) ([][]float32, error) {
	if err := m.CheckSeqs(seqs); err != nil {
		return nil, err
	}
	out := make([][]float32, len(seqs))
	m.eachShared(seqs, func(p *Pass, u, k int) { out[k] = slices.Clone(p.Features()[u]) })
	return out, nil
}

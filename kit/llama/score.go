package llama

import (
	"fmt"
	"math"

	"github.com/warm-rm/warm/internal/parallel"
)

// Rewards returns one scalar per sequence: the score head applied to the
// final hidden state at the pooled position, which is, as in transformers'
// *ForSequenceClassification, the last token that is not pad_token_id (the
// first token if every token is pad), or the last token when config.json
// has no pad_token_id. Each sequence is scored alone (no padding enters
// the computation), exactly as transformers scores it in a right-padded
// batch with an attention mask.
func (m *Model) Rewards(seqs [][]int) ([]float32, error) {
	if m.cfg.Task != Reward {
		return nil, fmt.Errorf("%s: %s has no reward head (want a *ForSequenceClassification checkpoint)", m.dir, m.cfg.Architecture)
	}
	if err := m.validate(seqs); err != nil {
		return nil, err
	}
	ws := m.pool.Get().(*workspace)
	defer m.pool.Put(ws)
	out := make([]float32, len(seqs))
	H := m.cfg.HiddenSize
	hn := make([]float32, H)
	for _, g := range groups(seqs) {
		p := pack(seqs[g[0]:g[1]])
		keep := make([]int, len(p.seqs))
		for i, s := range p.seqs {
			keep[i] = p.off[i] + m.poolIndex(s)
		}
		x := m.forward(ws, p, keep)
		for i := range p.seqs {
			rmsNormRows(hn, x[i*H:(i+1)*H], m.norm, H, float32(m.cfg.RMSNormEps))
			var r float64
			for j, w := range m.score {
				r += float64(w) * float64(hn[j])
			}
			out[g[0]+i] = float32(r)
		}
	}
	return out, nil
}

// poolIndex is the position transformers reads the reward at.
func (m *Model) poolIndex(s []int) int {
	if m.cfg.PadTokenID == nil {
		return len(s) - 1
	}
	pad := *m.cfg.PadTokenID
	for t := len(s) - 1; t >= 0; t-- {
		if s[t] != pad {
			return t
		}
	}
	return 0 // argmax of an all-zero mask
}

// TokenLogProbs returns, for each sequence s, len(s)-1 values: entry t-1 is
// log p(s[t] | s[<t]) under the LM head (log-softmax in float32 over the
// whole vocabulary).
func (m *Model) TokenLogProbs(seqs [][]int) ([][]float32, error) {
	if m.cfg.Task != CausalLM {
		return nil, fmt.Errorf("%s: %s has no language-model head (want a *ForCausalLM checkpoint)", m.dir, m.cfg.Architecture)
	}
	if err := m.validate(seqs); err != nil {
		return nil, err
	}
	ws := m.pool.Get().(*workspace)
	defer m.pool.Put(ws)
	out := make([][]float32, len(seqs))
	H, V := m.cfg.HiddenSize, m.cfg.VocabSize
	for _, g := range groups(seqs) {
		p := pack(seqs[g[0]:g[1]])
		x := m.forward(ws, p, nil)
		// Rows that predict a next token: all but each sequence's last.
		var rows int
		for _, s := range p.seqs {
			rows += len(s) - 1
		}
		if rows == 0 {
			for i := range p.seqs {
				out[g[0]+i] = []float32{}
			}
			continue
		}
		hn := make([]float32, rows*H)
		target := make([]int, rows)
		r := 0
		for i, s := range p.seqs {
			n := len(s) - 1
			src := x[p.off[i]*H : (p.off[i]+n)*H]
			rmsNormRows(hn[r*H:(r+n)*H], src, m.norm, H, float32(m.cfg.RMSNormEps))
			for t := 1; t <= n; t++ {
				target[r+t-1] = s[t]
			}
			r += n
		}
		// Online log-sum-exp over vocabulary slices, so the rows × vocab
		// logits never exist at once.
		width := min(V, max(256, logitFloats/rows/32*32))
		logits := make([]float32, rows*width)
		mx := make([]float64, rows)
		sum := make([]float64, rows)
		tgt := make([]float64, rows)
		for i := range mx {
			mx[i] = math.Inf(-1)
		}
		for v0 := 0; v0 < V; v0 += width {
			v1 := min(V, v0+width)
			w := v1 - v0
			head := m.lmHead.slice(v0, v1)
			l := logits[:rows*w]
			head.mul(rows, hn, l, 0)
			parallel.Range(rows, 16, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					li := l[i*w : (i+1)*w]
					cm := math.Inf(-1)
					for _, z := range li {
						cm = max(cm, float64(z))
					}
					if cm > mx[i] {
						sum[i] *= math.Exp(mx[i] - cm)
						mx[i] = cm
					}
					var s float64
					for _, z := range li {
						s += math.Exp(float64(z) - mx[i])
					}
					sum[i] += s
					if t := target[i]; t >= v0 && t < v1 {
						tgt[i] = float64(li[t-v0])
					}
				}
			})
		}
		r = 0
		for i, s := range p.seqs {
			lp := make([]float32, len(s)-1)
			for t := range lp {
				lp[t] = float32(tgt[r+t] - mx[r+t] - math.Log(sum[r+t]))
			}
			out[g[0]+i] = lp
			r += len(lp)
		}
	}
	return out, nil
}

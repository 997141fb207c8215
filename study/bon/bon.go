// Package bon is best-of-N selection with a reward model, measured against
// the gold judge (WARM paper, Fig 6–7): sample N_max responses per prompt
// once, score every response with every reward, and, for each N ≤ N_max,
// report the expected proxy and gold reward of the response the proxy picks
// from a random N-subset (stats.BoNExpected: exact, no resampling noise),
// against KL_bon = log N − (N−1)/N.
package bon

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/warm-rm/warm/internal/mix"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/kit/tokenizer"
	"github.com/warm-rm/warm/study/gold"
)

// Judge scores a response to a prompt (gold.Judge satisfies it).
type Judge interface {
	Score(prompt, response string) float64
}

// SampleOptions set how the pool of responses is drawn.
type SampleOptions struct {
	N              int     // responses per prompt (N_max)
	MinNew, MaxNew int     // each response is cut to a length uniform in [MinNew, MaxNew] tokens
	Temperature    float64 // sampling temperature (1: the policy itself)
	Seed           uint64
	Batch          int       // rows per Generate call (0: 256); prompts are grouped whole
	Progress       io.Writer // nil: quiet
}

// Pool is the responses drawn for each prompt: Responses[p][i] is the i-th
// response (text, no stop token) to Prompts[p] and Lengths[p][i] its length
// in policy tokens.
type Pool struct {
	Prompts   []string
	Responses [][]string
	Lengths   [][]int
}

// Sample draws opt.N responses to each prompt from policy with the KV-cache
// generator, batched. Like the preference data (prefgen), each response is
// cut at the stop token and then at a length uniform in [MinNew, MaxNew], so
// BoN sees responses of the length the reward models were trained on; a
// response the policy ends before MinNew is kept (dropping it would bias the
// pool). The result depends only on the options and the prompts' order.
func Sample(policy model.Sampler, tok *tokenizer.Tokenizer, prompts []string, opt SampleOptions) (*Pool, error) {
	if opt.N < 1 {
		return nil, fmt.Errorf("bon: N = %d, want ≥ 1", opt.N)
	}
	if opt.MinNew < 1 || opt.MaxNew < opt.MinNew {
		return nil, fmt.Errorf("bon: bad response length range %d..%d", opt.MinNew, opt.MaxNew)
	}
	if opt.Batch <= 0 {
		opt.Batch = 256
	}
	ids := make([][]int, len(prompts))
	for p, s := range prompts {
		ids[p] = tok.Encode(s)
		if len(ids[p]) == 0 {
			return nil, fmt.Errorf("bon: prompt %d is empty", p+1)
		}
		if len(ids[p])+opt.MaxNew > policy.MaxLen() {
			return nil, fmt.Errorf("bon: prompt %d has %d tokens: with %d new ones it exceeds the policy's context of %d", p+1, len(ids[p]), opt.MaxNew, policy.MaxLen())
		}
	}
	pool := &Pool{Prompts: prompts, Responses: make([][]string, len(prompts)), Lengths: make([][]int, len(prompts))}
	per := max(1, opt.Batch/opt.N) // prompts per call
	eot := tok.EOT()
	start := time.Now()
	last := start
	for g, p0 := 0, 0; p0 < len(prompts); g, p0 = g+1, p0+per {
		p1 := min(p0+per, len(prompts))
		var rows [][]int
		for p := p0; p < p1; p++ {
			for i := 0; i < opt.N; i++ {
				rows = append(rows, ids[p])
			}
		}
		outs := policy.Generate(rows, model.SampleOptions{
			MaxNewTokens: opt.MaxNew, Temperature: float32(opt.Temperature),
			Seed: opt.Seed ^ (uint64(g)+1)*mix.Golden, StopToken: eot,
		})
		for p := p0; p < p1; p++ {
			rng := rand.New(rand.NewPCG(opt.Seed, uint64(p)))
			pool.Responses[p] = make([]string, opt.N)
			pool.Lengths[p] = make([]int, opt.N)
			for i := 0; i < opt.N; i++ {
				r := Cut(outs[(p-p0)*opt.N+i], eot, opt.MinNew+rng.IntN(opt.MaxNew-opt.MinNew+1))
				pool.Responses[p][i] = tok.Decode(r)
				pool.Lengths[p][i] = len(r)
			}
		}
		if opt.Progress != nil && (time.Since(last) > 2*time.Second || p1 == len(prompts)) {
			last = time.Now()
			el := time.Since(start).Seconds()
			eta := time.Duration(el*float64(len(prompts)-p1)/float64(p1)) * time.Second
			fmt.Fprintf(opt.Progress, "bon sample: %d/%d prompts (%d responses, %.0f seq/s) ETA %s\n",
				p1, len(prompts), p1*opt.N, float64(p1*opt.N)/el, eta.Round(time.Second))
		}
	}
	return pool, nil
}

// Cut returns ids up to (not including) the stop token, and at most n of them.
func Cut(ids []int, stop, n int) []int {
	for i, t := range ids {
		if t == stop {
			ids = ids[:i]
			break
		}
	}
	return ids[:min(n, len(ids))]
}

// flatten lists the pool's prompts and responses in row order, one entry
// per response.
func (pool *Pool) flatten() (prompts, responses []string) {
	for p, rs := range pool.Responses {
		for _, r := range rs {
			prompts = append(prompts, pool.Prompts[p])
			responses = append(responses, r)
		}
	}
	return prompts, responses
}

// shape turns flat scores back into the pool's [prompt][response] table.
func (pool *Pool) shape(flat []float64) [][]float64 {
	out := make([][]float64, len(pool.Responses))
	k := 0
	for p, rs := range pool.Responses {
		out[p] = flat[k : k+len(rs) : k+len(rs)]
		k += len(rs)
	}
	return out
}

// ScoreModel scores every prompt+response of the pool with a reward model,
// encoded by s as the reward models were trained on it (see
// reward.TextScorer). Scores[p][i] as Pool.Responses.
func ScoreModel(s reward.TextScorer, pool *Pool) ([][]float64, error) {
	flat, err := s.Responses(pool.flatten())
	if err != nil {
		return nil, err
	}
	return pool.shape(flat), nil
}

// ScoreJudge scores every response of the pool with a judge, in parallel
// (gold.Batch; the judge must be safe for concurrent use, as gold.VADER is).
func ScoreJudge(j Judge, pool *Pool) [][]float64 {
	prompts, responses := pool.flatten()
	return pool.shape(gold.Batch(j, prompts, responses))
}

// Mean is the element-wise mean of several score tables: the ENS reward
// from its members' scores, without scoring again.
func Mean(tables ...[][]float64) [][]float64 {
	out := make([][]float64, len(tables[0]))
	for p := range out {
		out[p] = make([]float64, len(tables[0][p]))
		for i := range out[p] {
			var s float64
			for _, t := range tables {
				s += t[p][i]
			}
			out[p][i] = s / float64(len(tables))
		}
	}
	return out
}

// Ns returns 1, 2, 4, … up to nmax, with nmax itself last even when it is
// not a power of two.
func Ns(nmax int) []int {
	var ns []int
	for n := 1; n < nmax; n *= 2 {
		ns = append(ns, n)
	}
	return append(ns, nmax)
}

// Curve is one reward's BoN curve: at each N, the expected proxy and gold
// reward of its pick, mean ± standard error over prompts. ProxyZ is the
// proxy standardised on the whole pool ((s − mean)/std over all P·N_max
// samples of this reward), which puts rewards of different scales on one
// axis; it is an affine map of Proxy.
type Curve struct {
	Reward    string    `json:"reward"`
	N         []int     `json:"n"`
	KL        []float64 `json:"kl_bon"`
	Proxy     []float64 `json:"proxy"`
	ProxyErr  []float64 `json:"proxy_stderr"`
	ProxyZ    []float64 `json:"proxy_z"`
	ProxyZErr []float64 `json:"proxy_z_stderr"`
	Gold      []float64 `json:"gold"`
	GoldErr   []float64 `json:"gold_stderr"`
	PoolMean  float64   `json:"pool_mean"` // of this reward over all samples
	PoolStd   float64   `json:"pool_std"`
}

// Curves computes the BoN curve of each named reward in scores, judged by
// scores[gold], at each n in ns (all ≤ the pool size).
func Curves(scores map[string][][]float64, names []string, gold string, ns []int) ([]Curve, error) {
	g, ok := scores[gold]
	if !ok {
		return nil, fmt.Errorf("bon: no scores for the gold reward %q", gold)
	}
	var out []Curve
	for _, name := range names {
		s, ok := scores[name]
		if !ok {
			return nil, fmt.Errorf("bon: no scores for reward %q", name)
		}
		if err := sameShape(s, g); err != nil {
			return nil, fmt.Errorf("bon: reward %q: %v", name, err)
		}
		var all []float64
		for _, row := range s {
			all = append(all, row...)
		}
		mu, sd := stats.MeanStd(all)
		c := Curve{Reward: name, PoolMean: mu, PoolStd: sd}
		for _, n := range ns {
			if n < 1 || n > len(s[0]) {
				return nil, fmt.Errorf("bon: N = %d outside 1..%d", n, len(s[0]))
			}
			px := make([]float64, len(s))
			gd := make([]float64, len(s))
			for p := range s {
				w := stats.BoNWeights(s[p], n)
				for i, wi := range w {
					px[p] += wi * s[p][i]
					gd[p] += wi * g[p][i]
				}
			}
			pm, _ := stats.MeanStd(px)
			gm, _ := stats.MeanStd(gd)
			pe, ge := stats.StdErr(px), stats.StdErr(gd)
			c.N = append(c.N, n)
			c.KL = append(c.KL, stats.KLBoN(n))
			c.Proxy = append(c.Proxy, pm)
			c.ProxyErr = append(c.ProxyErr, pe)
			z, ze := math.NaN(), math.NaN()
			if sd > 0 {
				z, ze = (pm-mu)/sd, pe/sd
			}
			c.ProxyZ = append(c.ProxyZ, z)
			c.ProxyZErr = append(c.ProxyZErr, ze)
			c.Gold = append(c.Gold, gm)
			c.GoldErr = append(c.GoldErr, ge)
		}
		out = append(out, c)
	}
	return out, nil
}

// PromptGold is, for each named reward, the expected gold of its
// best-of-n pick on each prompt (stats.BoNExpected), in the pool's prompt
// order; and the same at every N of Ns(n) (GoldByN).
func PromptGold(scores map[string][][]float64, names []string, gold string, n int) (*PerPrompt, error) {
	g, ok := scores[gold]
	if !ok {
		return nil, fmt.Errorf("bon: no scores for the gold reward %q", gold)
	}
	pp := &PerPrompt{N: n, Gold: map[string][]float64{}, Ns: Ns(n), GoldByN: map[string][][]float64{}}
	for _, name := range names {
		s := scores[name]
		if err := sameShape(s, g); err != nil {
			return nil, fmt.Errorf("bon: reward %q: %v", name, err)
		}
		if n < 1 || n > len(s[0]) {
			return nil, fmt.Errorf("bon: N = %d outside 1..%d", n, len(s[0]))
		}
		byN := make([][]float64, len(pp.Ns))
		for k, nk := range pp.Ns {
			byN[k] = make([]float64, len(s))
			for p := range s {
				byN[k][p] = stats.BoNExpected(s[p], g[p], nk)
			}
		}
		pp.Gold[name] = byN[len(byN)-1] // Ns(n) ends with n
		pp.GoldByN[name] = byN
	}
	return pp, nil
}

func sameShape(a, b [][]float64) error {
	if len(a) != len(b) || len(a) == 0 {
		return fmt.Errorf("%d prompts vs %d", len(a), len(b))
	}
	for p := range a {
		if len(a[p]) != len(b[p]) || len(a[p]) != len(a[0]) {
			return fmt.Errorf("prompt %d has %d samples vs %d", p+1, len(a[p]), len(b[p]))
		}
	}
	return nil
}

// Duel compares the picks of two rewards A and B, judged by gold.
//
// Rate, Lo, Hi: at N_max (the whole pool), the fraction of prompts where
// the gold score of A's pick beats B's (ties half), with its 95% Wilson
// interval (stats.WinRate), over prompts. When a reward ties for the top,
// its "pick" is the tied block's mean gold (BoNWeights' tie rule).
//
// Expected[k]: at Ns[k], P(gold of A's pick > gold of B's pick) + ½P(=),
// with A and B choosing from independent random N-subsets of the pool,
// averaged over prompts (exact, from the two BoN weight vectors).
type Duel struct {
	A        string    `json:"a"`
	B        string    `json:"b"`
	Prompts  int       `json:"prompts"`
	Rate     float64   `json:"win_rate_at_nmax"`
	Lo       float64   `json:"ci95_lo"`
	Hi       float64   `json:"ci95_hi"`
	Ns       []int     `json:"n"`
	Expected []float64 `json:"expected_win_rate"`
}

// WinRate is the Duel of rewards a and b over the pool's scores.
func WinRate(scores map[string][][]float64, a, b, gold string, ns []int) (Duel, error) {
	sa, sb, g := scores[a], scores[b], scores[gold]
	if sa == nil || sb == nil || g == nil {
		return Duel{}, fmt.Errorf("bon: win rate needs scores for %q, %q and %q", a, b, gold)
	}
	if err := sameShape(sa, g); err != nil {
		return Duel{}, err
	}
	if err := sameShape(sb, g); err != nil {
		return Duel{}, err
	}
	d := Duel{A: a, B: b, Prompts: len(g), Ns: ns}
	nmax := len(g[0])
	ga, gb := make([]float64, len(g)), make([]float64, len(g))
	for p := range g {
		wa, wb := stats.BoNWeights(sa[p], nmax), stats.BoNWeights(sb[p], nmax)
		for i := range wa {
			ga[p] += wa[i] * g[p][i]
			gb[p] += wb[i] * g[p][i]
		}
	}
	d.Rate, d.Lo, d.Hi = stats.WinRate(ga, gb)
	for _, n := range ns {
		var sum float64
		for p := range g {
			sum += pairWin(stats.BoNWeights(sa[p], n), stats.BoNWeights(sb[p], n), g[p])
		}
		d.Expected = append(d.Expected, sum/float64(len(g)))
	}
	return d, nil
}

// pairWin is Σ_ij wa_i wb_j ([g_i > g_j] + ½[g_i = g_j]), in O(M log M)
// by sorting on gold.
func pairWin(wa, wb, g []float64) float64 {
	idx := make([]int, len(g))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(x, y int) bool { return g[idx[x]] < g[idx[y]] })
	var below, win float64 // below: B's mass on strictly smaller gold
	for s := 0; s < len(idx); {
		e := s
		var ma, mb float64
		for e < len(idx) && g[idx[e]] == g[idx[s]] {
			ma += wa[idx[e]]
			mb += wb[idx[e]]
			e++
		}
		win += ma * (below + mb/2)
		below += mb
		s = e
	}
	return win
}

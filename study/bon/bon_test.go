package bon

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/model/modeltest"
	"github.com/warm-rm/warm/kit/tokenizer"
)

// bruteBoN enumerates every n-subset of the pool of one prompt and returns
// the mean proxy and gold of the argmax-proxy pick (ties: mean over the tied
// top, i.e. uniform random tie-breaking).
func bruteBoN(proxy, gold []float64, n int) (px, gd float64) {
	m := len(proxy)
	count := 0
	for mask := 0; mask < 1<<m; mask++ {
		if popcount(mask) != n {
			continue
		}
		best := math.Inf(-1)
		for i := 0; i < m; i++ {
			if mask>>i&1 == 1 && proxy[i] > best {
				best = proxy[i]
			}
		}
		var sg float64
		k := 0
		for i := 0; i < m; i++ {
			if mask>>i&1 == 1 && proxy[i] == best {
				sg += gold[i]
				k++
			}
		}
		px += best
		gd += sg / float64(k)
		count++
	}
	return px / float64(count), gd / float64(count)
}

func popcount(x int) int {
	c := 0
	for ; x > 0; x &= x - 1 {
		c++
	}
	return c
}

// randomScores makes a pool of P prompts × M samples; ties on purpose when
// levels > 0 (values rounded to a few levels).
func randomScores(rng *rand.Rand, P, M, levels int) [][]float64 {
	out := make([][]float64, P)
	for p := range out {
		out[p] = make([]float64, M)
		for i := range out[p] {
			v := rng.NormFloat64()
			if levels > 0 {
				v = math.Round(v * float64(levels) / 3)
			}
			out[p][i] = v
		}
	}
	return out
}

// The table code (Curves) against brute-force enumeration of all subsets,
// with and without ties in the proxy.
func TestCurvesMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, levels := range []int{0, 3} {
		P, M := 5, 6
		scores := map[string][][]float64{
			"rm":   randomScores(rng, P, M, levels),
			"gold": randomScores(rng, P, M, 0),
		}
		ns := []int{1, 2, 3, 4, 5, 6}
		cs, err := Curves(scores, []string{"rm"}, "gold", ns)
		if err != nil {
			t.Fatal(err)
		}
		c := cs[0]
		for k, n := range ns {
			var px, gd float64
			for p := 0; p < P; p++ {
				a, b := bruteBoN(scores["rm"][p], scores["gold"][p], n)
				px += a / float64(P)
				gd += b / float64(P)
			}
			if math.Abs(px-c.Proxy[k]) > 1e-12 || math.Abs(gd-c.Gold[k]) > 1e-12 {
				t.Errorf("levels %d n=%d: table proxy %.15g gold %.15g, brute force %.15g %.15g", levels, n, c.Proxy[k], c.Gold[k], px, gd)
			}
			if want := math.Log(float64(n)) - float64(n-1)/float64(n); math.Abs(c.KL[k]-want) > 1e-15 {
				t.Errorf("KL at n=%d: %g, want %g", n, c.KL[k], want)
			}
		}
		if c.Proxy[0] == c.Proxy[len(ns)-1] {
			t.Errorf("proxy curve flat: %v", c.Proxy)
		}
		// Per prompt, the expected gold of the pick is the brute force's.
		for _, n := range []int{2, 6} {
			pp, err := PromptGold(scores, []string{"rm"}, "gold", n)
			if err != nil || pp.N != n || len(pp.Gold["rm"]) != P {
				t.Fatalf("PromptGold n=%d: %+v %v", n, pp, err)
			}
			for p := 0; p < P; p++ {
				if _, want := bruteBoN(scores["rm"][p], scores["gold"][p], n); math.Abs(pp.Gold["rm"][p]-want) > 1e-12 {
					t.Errorf("levels %d n=%d prompt %d: %g, brute force %g", levels, n, p, pp.Gold["rm"][p], want)
				}
			}
			// At every N of the curve too, and the last N is n itself.
			if fmt.Sprint(pp.Ns) != fmt.Sprint(Ns(n)) || len(pp.GoldByN["rm"]) != len(pp.Ns) {
				t.Fatalf("n=%d: Ns %v, %d rows", n, pp.Ns, len(pp.GoldByN["rm"]))
			}
			for k, nk := range pp.Ns {
				for p := 0; p < P; p++ {
					if _, want := bruteBoN(scores["rm"][p], scores["gold"][p], nk); math.Abs(pp.GoldByN["rm"][k][p]-want) > 1e-12 {
						t.Errorf("levels %d N=%d prompt %d: %g, brute force %g", levels, nk, p, pp.GoldByN["rm"][k][p], want)
					}
				}
			}
		}
	}
	if _, err := PromptGold(map[string][][]float64{"gold": {{1, 2}}}, []string{"rm"}, "gold", 2); err == nil {
		t.Error("PromptGold accepted a reward without scores")
	}
}

// With the gold judge as its own proxy, BoN's gold reward cannot fall as N
// grows (the max of a larger subset is larger in expectation), and strictly
// rises on a pool with spread.
func TestGoldAsProxyMonotone(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	g := randomScores(rng, 20, 64, 0)
	scores := map[string][][]float64{"gold": g}
	cs, err := Curves(scores, []string{"gold"}, "gold", Ns(64))
	if err != nil {
		t.Fatal(err)
	}
	c := cs[0]
	for k := 1; k < len(c.N); k++ {
		if c.Gold[k] <= c.Gold[k-1] {
			t.Errorf("gold BoN not increasing at N=%d: %v", c.N[k], c.Gold)
		}
		if c.Gold[k] != c.Proxy[k] {
			t.Errorf("gold-as-proxy: proxy %g != gold %g", c.Proxy[k], c.Gold[k])
		}
	}
	// N=1 is the pool mean; z of the pool mean is 0.
	if math.Abs(c.ProxyZ[0]) > 1e-9 {
		t.Errorf("standardised proxy at N=1 = %g, want 0", c.ProxyZ[0])
	}
}

func TestNs(t *testing.T) {
	for nmax, want := range map[int]string{1: "[1]", 8: "[1 2 4 8]", 6: "[1 2 4 6]"} {
		if got := fmt.Sprint(Ns(nmax)); got != want {
			t.Errorf("Ns(%d) = %s, want %s", nmax, got, want)
		}
	}
}

func writeFile(path, body string) error { return os.WriteFile(path, []byte(body), 0o644) }

// pairWin against the double sum, and the duel at N_max against a direct
// count.
func TestWinRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	P, M := 30, 6
	scores := map[string][][]float64{
		"a":    randomScores(rng, P, M, 0),
		"b":    randomScores(rng, P, M, 0),
		"gold": randomScores(rng, P, M, 3), // ties in gold
	}
	d, err := WinRate(scores, "a", "b", "gold", []int{1, 3, 6})
	if err != nil {
		t.Fatal(err)
	}
	var wins float64
	for p := 0; p < P; p++ {
		ia, ib := argmax(scores["a"][p]), argmax(scores["b"][p])
		ga, gb := scores["gold"][p][ia], scores["gold"][p][ib]
		switch {
		case ga > gb:
			wins++
		case ga == gb:
			wins += 0.5
		}
	}
	if want := wins / float64(P); math.Abs(d.Rate-want) > 1e-12 || !(d.Lo < d.Rate && d.Rate < d.Hi) {
		t.Errorf("rate %g [%g, %g], want %g inside", d.Rate, d.Lo, d.Hi, want)
	}
	if math.Abs(d.Expected[2]-d.Rate) > 1e-12 {
		t.Errorf("expected win rate at N_max %g != per-prompt rate %g", d.Expected[2], d.Rate)
	}
	// n=1: both pick uniformly: by symmetry exactly 1/2.
	if math.Abs(d.Expected[0]-0.5) > 1e-12 {
		t.Errorf("expected win rate at N=1 = %g, want 0.5", d.Expected[0])
	}
	wa := []float64{0.1, 0.2, 0.3, 0.4}
	wb := []float64{0.4, 0.3, 0.2, 0.1}
	g := []float64{1, 0, 1, 2}
	var want float64
	for i := range wa {
		for j := range wb {
			switch {
			case g[i] > g[j]:
				want += wa[i] * wb[j]
			case g[i] == g[j]:
				want += wa[i] * wb[j] / 2
			}
		}
	}
	if got := pairWin(wa, wb, g); math.Abs(got-want) > 1e-15 {
		t.Errorf("pairWin = %g, want %g", got, want)
	}
}

func argmax(x []float64) int {
	b := 0
	for i, v := range x {
		if v > x[b] {
			b = i
		}
	}
	return b
}

func tinyPolicy(t *testing.T) (*model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	tok := modeltest.Tokenizer(t)
	return modeltest.Policy(tok, 64, 7), tok
}

type judgeFunc func(prompt, response string) float64

func (f judgeFunc) Score(p, r string) float64 { return f(p, r) }

// End to end on a tiny random policy: sampling is seeded, lengths respect
// the range, scores and the cache round-trip, and with the judge as proxy
// the gold curve rises with N.
func TestSampleScoreCache(t *testing.T) {
	pol, tok := tinyPolicy(t)
	prompts := []string{"the good cat", "a bad dog", "the mat"}
	opt := SampleOptions{N: 8, MinNew: 3, MaxNew: 6, Temperature: 1, Seed: 9, Batch: 10}
	pool, err := Sample(pol, tok, prompts, opt)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Sample(pol, tok, prompts, opt)
	for p := range prompts {
		for i := range pool.Responses[p] {
			if pool.Responses[p][i] != again.Responses[p][i] {
				t.Fatalf("same seed, different sample at %d/%d", p, i)
			}
			if l := pool.Lengths[p][i]; l > 6 {
				t.Errorf("length %d > MaxNew", l)
			}
		}
	}
	// Count of "good" minus "bad": a judge with spread on random text.
	judge := judgeFunc(func(_, r string) float64 {
		return float64(strings.Count(r, "good")+strings.Count(r, "happy")) - float64(strings.Count(r, "bad")) + float64(len(r))/100
	})
	scores := map[string][][]float64{"gold": ScoreJudge(judge, pool)}
	cs, err := Curves(scores, []string{"gold"}, "gold", Ns(8))
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k < len(cs[0].Gold); k++ {
		if cs[0].Gold[k] < cs[0].Gold[k-1] {
			t.Errorf("gold-as-proxy curve falls: %v", cs[0].Gold)
		}
	}
	path := filepath.Join(t.TempDir(), "samples.jsonl")
	if err := WriteSamples(path, pool, scores); err != nil {
		t.Fatal(err)
	}
	pool2, scores2, err := ReadSamples(path)
	if err != nil {
		t.Fatal(err)
	}
	for p := range prompts {
		if pool2.Prompts[p] != prompts[p] {
			t.Fatalf("prompt %d round trip: %q", p, pool2.Prompts[p])
		}
		for i := range pool.Responses[p] {
			if pool2.Responses[p][i] != pool.Responses[p][i] || scores2["gold"][p][i] != scores["gold"][p][i] || pool2.Lengths[p][i] != pool.Lengths[p][i] {
				t.Fatalf("round trip differs at %d/%d", p, i)
			}
		}
	}
}

func TestReadSamplesErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"bad.jsonl":  "{\"prompt_index\":0,\"sample_index\":0}\nnot json\n",
		"hole.jsonl": "{\"prompt_index\":0,\"sample_index\":0}\n{\"prompt_index\":1,\"sample_index\":1}\n",
	} {
		path := filepath.Join(dir, name)
		if err := writeFile(path, body); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ReadSamples(path); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
}

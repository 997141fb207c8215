package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/kit/safetensors"
	"github.com/warm-rm/warm/kit/tokenizer"
	"github.com/warm-rm/warm/study/bon"
	"github.com/warm-rm/warm/study/rl"
)

// bonFixture writes a tiny policy, three reward-model members (a warm
// train run layout) and a prompts file, all from random initialisations:
// enough to run the verbs end to end in well under a second.
func bonFixture(t *testing.T) (dir string) {
	t.Helper()
	dir = t.TempDir()
	text := strings.Repeat("the good cat sat on a happy mat and the bad dog ran away from it. What a great day! ", 20)
	tok, err := tokenizer.Train([]string{text}, 320, []string{"<|endoftext|>"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := model.Config{VocabSize: tok.VocabSize(), NPositions: 48, NEmbd: 16, NLayer: 1, NHead: 2,
		LayerNormEps: 1e-5, BOSTokenID: tok.EOT(), EOSTokenID: tok.EOT(), PadTokenID: -1, Architecture: model.ArchLM}
	save := func(m *model.Model, d string) {
		if err := m.Save(d, safetensors.F32); err != nil {
			t.Fatal(err)
		}
		if err := tok.Save(d, cfg.NPositions); err != nil {
			t.Fatal(err)
		}
	}
	save(model.New(cfg, 1), filepath.Join(dir, "policy"))
	rcfg := cfg
	rcfg.Architecture = model.ArchRewardModel
	for i := 0; i < 3; i++ {
		save(model.New(rcfg, uint64(10+i)), filepath.Join(dir, "rm", fmt.Sprintf("member-%02d", i)))
	}
	var b strings.Builder
	for _, p := range []string{"the good cat", "a bad dog", "what a great", "the mat", "it ran away", "a happy day", "the bad cat", "great"} {
		fmt.Fprintf(&b, "{\"prompt\": %q, \"chosen\": \"x\", \"rejected\": \"y\"}\n", p)
	}
	if err := os.WriteFile(filepath.Join(dir, "val.jsonl"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBoNVerb(t *testing.T) {
	dir := bonFixture(t)
	out := filepath.Join(dir, "bon")
	args := []string{"--preset", "tiny", "--policy", filepath.Join(dir, "policy"), "--data", dir, "--members", filepath.Join(dir, "rm"), "--out", out, "--n", "8"}
	if err := runBoN(args); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Curves []bon.Curve `json:"curves"`
		Duels  []bon.Duel  `json:"win_rates"`
	}
	b, err := os.ReadFile(filepath.Join(out, "bon.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]bon.Curve{}
	for _, c := range res.Curves {
		got[c.Reward] = c
	}
	for _, name := range []string{"single", "member-00", "member-01", "member-02", "ens2", "warm2", "ens3", "warm3", "gold"} {
		c, ok := got[name]
		if !ok {
			t.Fatalf("no curve for %s (have %v)", name, res.Curves)
		}
		if fmt.Sprint(c.N) != "[1 2 4 8]" {
			t.Errorf("%s: N = %v", name, c.N)
		}
		// At N = 1 every reward picks uniformly: the pool's mean gold.
		if c.Gold[0] != got["gold"].Gold[0] {
			t.Errorf("%s: gold at N=1 %g, want the pool mean %g", name, c.Gold[0], got["gold"].Gold[0])
		}
	}
	g := got["gold"].Gold
	for k := 1; k < len(g); k++ {
		if g[k] < g[k-1] {
			t.Errorf("gold-as-proxy BoN not monotone in N: %v", g)
		}
	}
	if len(res.Duels) != 1 || res.Duels[0].A != "warm3" || res.Duels[0].B != "single" {
		t.Errorf("default win rate: %+v", res.Duels)
	}
	for _, f := range []string{"bon_gold_vs_kl.png", "bon_proxy_vs_kl.png", "samples.jsonl", "samples.meta.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// A rerun with another reward reuses the samples: the curves of the
	// rewards already there are unchanged, and the new one is added.
	before, _ := os.ReadFile(filepath.Join(out, "samples.jsonl"))
	args2 := append(args, "--rm", "m2="+filepath.Join(dir, "rm", "member-02"))
	if err := runBoN(args2); err != nil {
		t.Fatal(err)
	}
	pool, scores, err := bon.ReadSamples(filepath.Join(out, "samples.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	pool0, scores0, _ := readSamplesBytes(t, before)
	for p := range pool.Responses {
		for i := range pool.Responses[p] {
			if pool.Responses[p][i] != pool0.Responses[p][i] || scores["warm3"][p][i] != scores0["warm3"][p][i] {
				t.Fatalf("rerun changed the samples or scores at %d/%d", p, i)
			}
			if scores["m2"][p][i] != scores["member-02"][p][i] {
				t.Fatalf("m2 (= member-02) scores differ at %d/%d", p, i)
			}
		}
	}
	// Bad input: a missing model directory is named.
	err = runBoN([]string{"--preset", "tiny", "--policy", filepath.Join(dir, "policy"), "--data", dir, "--rm", "x=" + filepath.Join(dir, "nope"), "--out", out})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing RM dir: %v", err)
	}
}

func readSamplesBytes(t *testing.T, b []byte) (*bon.Pool, map[string][][]float64, error) {
	p := filepath.Join(t.TempDir(), "s.jsonl")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return bon.ReadSamples(p)
}

func TestRLAndDuelVerbs(t *testing.T) {
	dir := bonFixture(t)
	run := func(name, reward string) string {
		out := filepath.Join(dir, name)
		err := runRL([]string{"--preset", "tiny", "--policy", filepath.Join(dir, "policy"), "--data", dir, "--members", filepath.Join(dir, "rm"),
			"--reward", reward, "--steps", "4", "--ckpt-every", "2", "--lr", "1e-3", "--out", out})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	single, warm := run("rl-single", "single"), run("rl-warm3", "warm3")
	steps, err := rl.ReadMetrics(filepath.Join(warm, "metrics.jsonl"))
	if err != nil || len(steps) != 4 {
		t.Fatalf("metrics: %d steps, %v", len(steps), err)
	}
	if steps[0].LR != 1e-3 || steps[3].Length <= 0 || steps[3].Entropy <= 0 {
		t.Errorf("metrics look wrong: %+v", steps[3])
	}
	if _, err := model.Load(filepath.Join(warm, "ckpt-2")); err != nil {
		t.Errorf("checkpoint: %v", err)
	}
	plots := filepath.Join(dir, "plots")
	if err := runRL([]string{"--plot", single, warm, "--names", "single,warm3", "-o", plots}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(plots, "rl_gold_vs_kl.png")); err != nil {
		t.Error(err)
	}
	js := filepath.Join(dir, "duel.json")
	// As warm eval calls it: --policies A B --judge gold.
	if err := runPolicyDuel([]string{"--policies", filepath.Join(warm, "final"), filepath.Join(single, "final"), "--judge", "gold",
		"--preset", "tiny", "--data", dir, "--split", "val", "--out", js}); err != nil {
		t.Fatal(err)
	}
	var d rl.Duel
	b, _ := os.ReadFile(js)
	if err := json.Unmarshal(b, &d); err != nil || d.Prompts != 8 || d.Wins+d.Ties+d.Losses != 8 || !(d.Lo <= d.Rate && d.Rate <= d.Hi) {
		t.Errorf("duel result %+v (%v)", d, err)
	}
	// Unknown reward names are refused with the list of names.
	err = runRL([]string{"--preset", "tiny", "--policy", filepath.Join(dir, "policy"), "--data", dir, "--members", filepath.Join(dir, "rm"), "--reward", "nope", "--out", filepath.Join(dir, "x")})
	if err == nil || !strings.Contains(err.Error(), "warm3") {
		t.Errorf("unknown reward: %v", err)
	}
}

// Two best-of-N runs in one process that share a sample pool (warm
// repro's label settings side by side) run at once: one samples the pool,
// the other waits for it and reuses it, and both finish with the same
// samples' curves.
func TestBoNSharedPoolConcurrent(t *testing.T) {
	dir := bonFixture(t)
	pool := filepath.Join(dir, "pool")
	var logs [2]strings.Builder
	var res [2]*bon.Result
	var errs [2]error
	var wg sync.WaitGroup
	for i := range 2 {
		specs := []reward.Spec{{Name: "gold", Kind: reward.KindGold}}
		sp, err := reward.ParseSpec(fmt.Sprintf("m=%s", filepath.Join(dir, "rm", fmt.Sprintf("member-%02d", i))))
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, sp)
		o := bon.RunOptions{Policy: filepath.Join(dir, "policy"), PromptFile: filepath.Join(dir, "val.jsonl"), Specs: specs,
			Prompts: 8, N: 4, MinNew: 2, MaxNew: 5, Temperature: 1, Seed: 3, Vs: "m:gold",
			Out: filepath.Join(dir, fmt.Sprintf("out%d", i)), PoolDir: pool, Log: &logs[i]}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = bon.Run(o)
		}()
	}
	wg.Wait()
	sampled := 0
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		if strings.Contains(logs[i].String(), "sampling") {
			sampled++
		} else if !strings.Contains(logs[i].String(), "reusing") {
			t.Errorf("run %d neither sampled nor reused:\n%s", i, logs[i].String())
		}
	}
	if sampled != 1 {
		t.Errorf("%d of the 2 runs sampled the shared pool, want 1", sampled)
	}
	gold := func(r *bon.Result) []float64 {
		for _, c := range r.Curves {
			if c.Reward == "gold" {
				return c.Gold
			}
		}
		return nil
	}
	if g0, g1 := gold(res[0]), gold(res[1]); g0 == nil || fmt.Sprint(g0) != fmt.Sprint(g1) {
		t.Errorf("gold curves differ between the runs sharing a pool: %v vs %v", g0, g1)
	}
	if _, err := os.Stat(filepath.Join(pool, "samples.jsonl")); err != nil {
		t.Error(err)
	}
}

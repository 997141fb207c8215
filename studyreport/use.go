package studyreport

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/warm-rm/warm/bon"
	"github.com/warm-rm/warm/gold"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/prefdata"
	"github.com/warm-rm/warm/report"
	"github.com/warm-rm/warm/rl"
	"github.com/warm-rm/warm/tokenizer"
)

// bonResult is the part of warm bon's bon.json the report reads.
type bonResult struct {
	Prompts int         `json:"prompts"`
	NMax    int         `json:"n_max"`
	Curves  []bon.Curve `json:"curves"`
	Duels   []bon.Duel  `json:"win_rates"`
}

// rlRun is one warm rl run of the study.
type rlRun struct {
	name string
	dir  string
	sum  *rl.Summary
	kl   map[int]float64 // step → KL, from metrics.jsonl
}

// duel is one head-to-head of RL policies.
type duel struct {
	a, b string
	d    *rl.Duel
}

func (s *study) readUse(members int) error {
	var err error
	if s.bon, err = load[bonResult](filepath.Join(s.dir, "bon", "bon.json")); err != nil {
		return err
	}
	names := RLRewards(members)
	for _, n := range names {
		dir := filepath.Join(s.dir, "rl-"+n)
		sum, err := load[rl.Summary](filepath.Join(dir, "summary.json"))
		if err != nil {
			return err
		}
		if sum == nil {
			continue
		}
		s.rl = append(s.rl, &rlRun{name: n, dir: dir, sum: sum, kl: readKL(filepath.Join(dir, "metrics.jsonl"))})
	}
	warm := names[len(names)-1]
	for _, other := range names[:len(names)-1] {
		d, err := load[rl.Duel](filepath.Join(s.dir, "duel-"+warm+"-vs-"+other+".json"))
		if err != nil {
			return err
		}
		if d != nil {
			s.duels = append(s.duels, duel{warm, other, d})
		}
	}
	return nil
}

// readKL maps each logged step to its KL; a missing or bad file gives an
// empty map (the samples section then says so).
func readKL(path string) map[int]float64 {
	out := map[int]float64{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var st rl.Step
		if json.Unmarshal(sc.Bytes(), &st) == nil {
			out[st.Step] = st.KL
		}
	}
	return out
}

func (s *study) bonSection(d *report.Doc) {
	d.Heading(2, "6. Best-of-N")
	b := s.bon
	if b == nil {
		d.Para("Not run.")
		return
	}
	var rows [][]string
	for _, c := range b.Curves {
		if !studyReward(c.Reward) {
			continue
		}
		last := len(c.N) - 1
		rows = append(rows, []string{c.Reward, fmt.Sprintf("%.4f ± %.4f", c.Gold[0], c.GoldErr[0]),
			fmt.Sprintf("%.4f ± %.4f", c.Gold[last], c.GoldErr[last]), fmt.Sprintf("%.2f", c.KL[last])})
	}
	d.Table([]string{"reward", "gold at N=1", fmt.Sprintf("gold at N=%d", b.NMax), "KL_bon"}, rows)
	d.Para(fmt.Sprintf("%d prompts × %d samples; the gold reward (VADER compound of the response) of each reward's pick, mean ± stderr over prompts, with the unbiased estimator over N-subsets of the pool; KL_bon = log N − (N−1)/N.", b.Prompts, b.NMax))
	for _, w := range b.Duels {
		d.Para(fmt.Sprintf("Win rate of %s's pick over %s's at N=%d, judged by gold: %.1f%% (95%% CI %.1f–%.1f%%, %d prompts).", w.A, w.B, b.NMax, 100*w.Rate, 100*w.Lo, 100*w.Hi, w.Prompts))
	}
	for _, p := range []string{"bon_gold_vs_kl.png", "bon_proxy_vs_kl.png"} {
		if fileExists(filepath.Join(s.dir, "bon", p)) {
			d.Image(p, "bon/"+p)
		}
	}
}

// studyReward reports whether a BoN reward is one the study compares (not
// an individual member other than "single").
func studyReward(name string) bool {
	return name == "single" || name == "gold" || strings.HasPrefix(name, "ens") || strings.HasPrefix(name, "warm")
}

func (s *study) rlSection(d *report.Doc) {
	d.Heading(2, "7. RL against single, ENS and WARM rewards")
	if len(s.rl) == 0 {
		d.Para("Not run.")
		return
	}
	var rows [][]string
	for _, r := range s.rl {
		f := r.sum.Final
		rows = append(rows, []string{r.name, fmt.Sprint(r.sum.Steps), fmt.Sprintf("%.4f", r.sum.PeakGold), fmt.Sprint(r.sum.PeakStep),
			fmt.Sprintf("%.2f", r.sum.PeakKL), fmt.Sprintf("%.4f", f.Gold), fmt.Sprintf("%.2f", f.KL), fmt.Sprintf("%.3f", f.Proxy)})
	}
	d.Table([]string{"reward", "steps", "peak gold (smoothed)", "at step", "at KL", "final gold", "final KL", "final proxy"}, rows)
	d.Para("RLOO with a KL penalty to the SFT policy; gold is VADER on the policy's samples. Reward hacking shows as proxy reward still rising while gold falls.")
	for _, p := range []string{"rl_gold_vs_kl.png", "rl_proxy_vs_kl.png", "rl_gold_vs_step.png"} {
		if fileExists(filepath.Join(s.dir, "rl-plots", p)) {
			d.Image(p, "rl-plots/"+p)
		}
	}
	if len(s.duels) > 0 {
		d.Heading(3, "Head-to-head on held-out (OOD) prompts, judged by gold")
		var rows [][]string
		for _, x := range s.duels {
			rows = append(rows, []string{x.a + " vs " + x.b, fmt.Sprintf("%.1f%%", 100*x.d.Rate), fmt.Sprintf("%.1f–%.1f%%", 100*x.d.Lo, 100*x.d.Hi),
				fmt.Sprintf("%d / %d / %d", x.d.Wins, x.d.Ties, x.d.Losses), fmt.Sprint(x.d.Prompts)})
		}
		d.Table([]string{"policies", "win rate", "95% CI", "wins / ties / losses", "prompts"}, rows)
	}
}

// samplesSection shows responses of the SFT policy and of each RL policy
// at (about) the same KL: the checkpoint of each run whose logged KL is
// nearest the smallest final KL among the runs.
func (s *study) samplesSection(d *report.Doc) error {
	d.Heading(2, "8. Samples at the same KL")
	if len(s.rl) == 0 || s.pretrain == nil {
		d.Para("Not run.")
		return nil
	}
	target := math.Inf(1)
	for _, r := range s.rl {
		target = math.Min(target, r.sum.Final.KL)
	}
	prompts, err := samplePrompts(filepath.Join(s.dir, "data", "ood.jsonl"), 3)
	if err != nil || len(prompts) == 0 {
		d.Para("No held-out prompts found.")
		return nil
	}
	type pol struct{ name, dir, note string }
	pols := []pol{{"SFT (pretrained)", filepath.Join(s.dir, "pretrain", "final"), "KL 0"}}
	for _, r := range s.rl {
		step, dir := nearestCheckpoint(r, target)
		if dir == "" {
			continue
		}
		pols = append(pols, pol{r.name + " RL", dir, fmt.Sprintf("step %d, KL %.2f", step, r.kl[step])})
	}
	judge := gold.NewVADER()
	var rows [][]string
	for _, p := range pols {
		m, err := model.Load(p.dir)
		if err != nil {
			return err
		}
		tok, err := tokenizer.Load(p.dir)
		if err != nil {
			return err
		}
		ids := make([][]int, len(prompts))
		for i, t := range prompts {
			ids[i] = tok.Encode(t)
		}
		out := m.Generate(ids, model.SampleOptions{MaxNewTokens: 32, Temperature: 0.9, Seed: 11, StopToken: tok.EOT()})
		for i, o := range out {
			if n := len(o); n > 0 && o[n-1] == tok.EOT() {
				o = o[:n-1]
			}
			text := tok.Decode(o)
			rows = append(rows, []string{p.name + " (" + p.note + ")", oneLine(prompts[i]), oneLine(text), fmt.Sprintf("%+.3f", judge.Score(prompts[i], text))})
		}
	}
	d.Para(fmt.Sprintf("Target KL %.2f nats (the smallest final KL among the RL runs); each RL policy is its saved checkpoint nearest that KL. Temperature 0.9, the same seed for every policy.", target))
	d.Table([]string{"policy", "prompt", "response", "gold"}, rows)
	return nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func samplePrompts(path string, n int) ([]string, error) {
	rows, err := prefdata.ReadJSONL(path)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range rows {
		if !seen[r.Prompt] {
			seen[r.Prompt] = true
			out = append(out, r.Prompt)
		}
		if len(out) == n {
			break
		}
	}
	return out, nil
}

// nearestCheckpoint picks the run's ckpt-STEP directory whose logged KL is
// nearest target.
func nearestCheckpoint(r *rlRun, target float64) (int, string) {
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		return 0, ""
	}
	var steps []int
	for _, e := range ents {
		if st, ok := strings.CutPrefix(e.Name(), "ckpt-"); ok && e.IsDir() {
			if n, err := strconv.Atoi(st); err == nil {
				if _, ok := r.kl[n]; ok {
					steps = append(steps, n)
				}
			}
		}
	}
	if len(steps) == 0 {
		return 0, ""
	}
	sort.Slice(steps, func(i, j int) bool {
		return math.Abs(r.kl[steps[i]]-target) < math.Abs(r.kl[steps[j]]-target)
	})
	return steps[0], filepath.Join(r.dir, fmt.Sprintf("ckpt-%d", steps[0]))
}

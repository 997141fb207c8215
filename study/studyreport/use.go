package studyreport

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/warm-rm/warm/study/bon"
	"github.com/warm-rm/warm/study/report"
	"github.com/warm-rm/warm/study/rl"
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
		s.rl = append(s.rl, &rlRun{name: n, dir: dir, sum: sum})
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
// at (about) the same KL, as the rl stage wrote them (warm rl --plot
// --sft: rl-plots/samples.json).
func (s *study) samplesSection(d *report.Doc) error {
	d.Heading(2, "8. Samples at the same KL")
	sk, err := load[rl.SameKL](filepath.Join(s.dir, "rl-plots", "samples.json"))
	if err != nil {
		return err
	}
	if sk == nil || len(s.rl) == 0 {
		d.Para("Not run.")
		return nil
	}
	var rows [][]string
	for _, r := range sk.Rows {
		rows = append(rows, []string{r.Policy, oneLine(r.Prompt), oneLine(r.Response), fmt.Sprintf("%+.3f", r.Gold)})
	}
	d.Para(fmt.Sprintf("Target KL %.2f nats (the smallest final KL among the RL runs); each RL policy is its saved checkpoint nearest that KL. Temperature 0.9, the same seed for every policy.", sk.TargetKL))
	d.Table([]string{"policy", "prompt", "response", "gold"}, rows)
	return nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Package rmeval evaluates reward models the way the WARM paper does:
// pairwise accuracy on the training labels (clean and corrupted), on ID
// validation and on OOD pairs, for each member, for the prediction
// ensemble (ENS) and for the weight average (WA) of the first M members;
// linear mode connectivity along (1−λ)·a + λ·b; and greedy soups.
package rmeval

import (
	"errors"
	"fmt"
	"math"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/kit/stats"
)

// Split is a named set of tokenized pairs.
type Split struct {
	Name  string
	Pairs []reward.Pair
	// Keys identify each pair's unit for HoldOut: its prompt, or its two
	// texts when it has no prompt (human-labelled pairs). Pairs with one
	// key are never split between selection and test.
	Keys []string
	// Rows are the pairs' row indices (0-based) in the file they came
	// from, so eval.json can say which pairs were used for what.
	Rows []int
	// Groups, when set, make the split's pairs exchangeable within a
	// group: any chosen text may be compared with any rejected text of
	// its group (the human-labelled pairs: a positive and a negative
	// sentence of the same source, no prompt). Accuracy is then the
	// within-group all-pairs accuracy (stats.AllPairsAccuracy), which
	// estimates the same quantity as the split's own pairing from the
	// same scored texts with a much narrower interval.
	Groups []string
	// Clusters, when set, is each pair's prompt (stats.ClusterIDs of
	// Keys): several pairs share one, as in prefgen's grouped splits
	// (every pair among k responses to a prompt). Such pairs share texts
	// and are not independent, so intervals resample whole prompts (the
	// cluster bootstrap). Nil when every pair has its own key.
	Clusters []int
}

// clustersOf is the splits' prompt ids by split name, for those whose
// pairs share prompts (nil when none do): what eval.json, lmc.json and
// pilot.json record as "clusters".
func clustersOf(splits []Split) map[string][]int {
	var out map[string][]int
	for _, s := range splits {
		if s.Clusters != nil {
			if out == nil {
				out = map[string][]int{}
			}
			out[s.Name] = s.Clusters
		}
	}
	return out
}

// The standard split names.
const (
	TrainClean     = "train_clean"     // training pairs whose label was kept
	TrainCorrupted = "train_corrupted" // training pairs whose label was swapped: accuracy here is memorisation
	Val            = "val"             // ID validation (clean labels)
	OOD            = "ood"             // shifted policy, other prompt source
	Human          = "human"           // human-labelled review pairs (prefgen.HumanPairs): real-world OOD
)

// LoadSplits reads the JSONL files that exist among train, val, ood and
// human ("" skips one) and tokenizes them. The training file is split by its
// corrupted flags; maxTrain > 0 keeps at most that many pairs of each
// training part (evenly spaced), since scoring all of them is the slowest
// part of an evaluation.
func LoadSplits(tok reward.Encoder, maxLen int, train, val, ood, human string, maxTrain int) ([]Split, error) {
	var out []Split
	add := func(name, path string, keep func(prefdata.Row) bool, limit int) error {
		if path == "" {
			return nil
		}
		rows, err := prefdata.ReadPairs(path) // JSONL or Parquet
		if errors.Is(err, prefdata.ErrNoRows) {
			return nil // an empty split is left out, as a missing one
		}
		if err != nil {
			return err
		}
		var kept []prefdata.Row
		var at []int
		for i, r := range rows {
			if keep == nil || keep(r) {
				kept = append(kept, r)
				at = append(at, i)
			}
		}
		kept, at = thin(kept, limit), thin(at, limit)
		if len(kept) == 0 {
			return nil
		}
		ps, err := reward.TokenizePairs(tok, kept, maxLen)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		keys := make([]string, len(kept))
		var groups []string
		if name == Human {
			groups = make([]string, len(kept))
		}
		for i, r := range kept {
			keys[i] = prefdata.UnitKey(r)
			if groups != nil {
				groups[i] = r.Subset
			}
		}
		sp := Split{Name: name, Pairs: ps, Keys: keys, Rows: at, Groups: groups}
		if groups == nil {
			sp.Clusters = stats.ClusterIDs(keys)
		}
		out = append(out, sp)
		return nil
	}
	if err := add(TrainClean, train, func(r prefdata.Row) bool { return !r.Corrupted }, maxTrain); err != nil {
		return nil, err
	}
	if err := add(TrainCorrupted, train, func(r prefdata.Row) bool { return r.Corrupted }, maxTrain); err != nil {
		return nil, err
	}
	if err := add(Val, val, nil, 0); err != nil {
		return nil, err
	}
	if err := add(OOD, ood, nil, 0); err != nil {
		return nil, err
	}
	if err := add(Human, human, nil, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// thin keeps at most n evenly spaced rows (n <= 0: all).
func thin[T any](rows []T, n int) []T {
	if n <= 0 || len(rows) <= n {
		return rows
	}
	out := make([]T, n)
	for i := range out {
		out[i] = rows[i*len(rows)/n]
	}
	return out
}

// Metrics are one model's results on one split.
type Metrics struct {
	N          int     `json:"n"`
	Acc        float64 `json:"acc"`      // pairwise accuracy, a tie counts half
	TieRate    float64 `json:"tie_rate"` // fraction of exact ties
	Loss       float64 `json:"loss"`     // Bradley-Terry loss, mean −log σ(r_c − r_r)
	MeanReward float64 `json:"mean_reward"`
	StdReward  float64 `json:"std_reward"`
	MeanMargin float64 `json:"mean_margin"` // mean r_c − r_r
	ECE        float64 `json:"ece"`         // expected calibration error of σ(r_c − r_r), 10 bins
	// On a grouped split (Split.Groups) Acc is the within-group all-pairs
	// accuracy over Comparisons comparisons, and PairAcc the accuracy on
	// the split's own pairs (what Acc would be on an ungrouped split).
	// Loss, margin and ECE are always the split's own pairs'.
	PairAcc     float64 `json:"pair_acc,omitempty"`
	Comparisons int     `json:"comparisons,omitempty"`
}

// Score computes Metrics from the rewards of the chosen and rejected texts.
func Score(rc, rr []float32) Metrics {
	c, r := stats.Float64s(rc), stats.Float64s(rr)
	acc, ties := stats.PairAccuracy(c, r)
	all := append(append([]float64(nil), c...), r...)
	mean, std := stats.MeanStd(all)
	var loss, margin float64
	for i := range c {
		d := c[i] - r[i]
		loss -= stats.LogSigmoid(d)
		margin += d
	}
	n := float64(len(c))
	return Metrics{N: len(c), Acc: acc, TieRate: ties, Loss: loss / n, MeanReward: mean, StdReward: std,
		MeanMargin: margin / n, ECE: stats.ECE(c, r, 10)}
}

// splitRewards is one model's rewards on one split: C of the chosen
// texts, R of the rejected, Groups the split's (nil for plain pairs).
type splitRewards struct {
	C, R   []float32
	Groups []string
}

// metrics is Score, with the all-pairs accuracy on a grouped split.
func (v splitRewards) metrics() Metrics {
	m := Score(v.C, v.R)
	if v.Groups != nil {
		m.PairAcc = m.Acc
		m.Acc, m.Comparisons = stats.AllPairsAccuracy(stats.Float64s(v.C), stats.Float64s(v.R), v.Groups)
	}
	return m
}

// rewards holds one model's rewards on every split, by split name.
type rewards map[string]splitRewards

func scoreSplits(m model.RewardModel, splits []Split) (rewards, error) {
	out := rewards{}
	for _, s := range splits {
		rc, rr, err := reward.PairRewards(m, s.Pairs)
		if err != nil {
			return nil, fmt.Errorf("split %s: %w", s.Name, err)
		}
		out[s.Name] = splitRewards{rc, rr, s.Groups}
	}
	return out, nil
}

// evalSplits is the metrics of m on every split.
func evalSplits(m model.RewardModel, splits []Split) (map[string]Metrics, error) {
	r, err := scoreSplits(m, splits)
	if err != nil {
		return nil, err
	}
	return metricsOf(r), nil
}

func metricsOf(r rewards) map[string]Metrics {
	out := map[string]Metrics{}
	for name, v := range r {
		out[name] = v.metrics()
	}
	return out
}

// Entry is one evaluated reward: a member, ENS of M, or WA of M.
type Entry struct {
	Name    string             `json:"name"`
	Kind    string             `json:"kind"` // "member", "ens", "wa", "soup"
	M       int                `json:"m"`    // members combined (1 for a member)
	Members []string           `json:"members,omitempty"`
	Splits  map[string]Metrics `json:"splits"`
}

// Result is what `warm eval` writes.
type Result struct {
	Order   []string           `json:"order"`   // members in the order ENS/WA take them
	RankBy  string             `json:"rank_by"` // split used to order the members ("" = as given)
	Entries []Entry            `json:"entries"`
	Summary map[string]Summary `json:"summary"` // per split
	Soup    *SoupResult        `json:"soup,omitempty"`
	// PerPair[split][model] is each model's correctness on every pair of
	// the split, in the split's order: '1' chosen above rejected, '0'
	// below, '=' a tie (stats.EncodeCorrect). The claims table's paired
	// intervals are computed from it (docs/report.md).
	PerPair map[string]map[string]string `json:"per_pair,omitempty"`
	// PerText[split] holds every model's rewards on a grouped split
	// (Split.Groups: the human-labelled pairs), from which the claims
	// table computes all-pairs accuracy differences with DeLong intervals
	// (stats.AllPairsCombo).
	PerText map[string]*TextRewards `json:"per_text,omitempty"`
	// Clusters[split] is the prompt (cluster id) of each pair of per_pair,
	// for the splits whose pairs share prompts (Split.Clusters): their
	// intervals resample prompts, not pairs. A split without an entry has
	// independent pairs.
	Clusters map[string][]int `json:"clusters,omitempty"`
	// Selection says which pairs the members were ranked on (Run halves
	// the rank-by split; see HoldOut): nil when ranked on a split that was
	// not halved, or not ranked.
	Selection *Selection `json:"selection,omitempty"`
	// Diagnostics of the shared init and the members (issue 16.1); filled
	// by Run when it knows the init and the training run.
	Diagnostics *Diagnostics `json:"diagnostics,omitempty"`

	// scored keeps every model's rewards on the compared splits, by entry
	// name, so the soup and the LMC pilot do not score a model twice.
	scored map[string]rewards
}

// TextRewards is a grouped split's rewards: Groups[i] is pair i's group,
// Chosen[model][i] and Rejected[model][i] its two texts' rewards.
type TextRewards struct {
	Groups   []string             `json:"groups"`
	Chosen   map[string][]float32 `json:"chosen"`
	Rejected map[string][]float32 `json:"rejected"`
}

// perPair records the correctness strings of model name from its rewards.
func (r *Result) perPair(name string, rw rewards) {
	if r.PerPair == nil {
		r.PerPair = map[string]map[string]string{}
	}
	for sp, v := range rw {
		if r.PerPair[sp] == nil {
			r.PerPair[sp] = map[string]string{}
		}
		r.PerPair[sp][name] = Correct(v.C, v.R)
		if v.Groups != nil {
			if r.PerText == nil {
				r.PerText = map[string]*TextRewards{}
			}
			t := r.PerText[sp]
			if t == nil {
				t = &TextRewards{Groups: v.Groups, Chosen: map[string][]float32{}, Rejected: map[string][]float32{}}
				r.PerText[sp] = t
			}
			t.Chosen[name], t.Rejected[name] = v.C, v.R
		}
	}
}

// Correct is the per-pair correctness string of rewards of the chosen and
// rejected texts (stats.EncodeCorrect of stats.PairCorrect).
func Correct(rc, rr []float32) string {
	return stats.EncodeCorrect(stats.PairCorrect(stats.Float64s(rc), stats.Float64s(rr)))
}

// WAName and ENSName are the entry names of the weight average and the
// ensemble of the first M members (eval.json's entries and per_pair keys).
func WAName(M int) string  { return fmt.Sprintf("WA M=%d", M) }
func ENSName(M int) string { return fmt.Sprintf("ENS M=%d", M) }

// Summary is the comparison the paper's tables make, per split.
type Summary struct {
	MemberMean float64         `json:"member_mean"`
	MemberStd  float64         `json:"member_std"`
	BestMember float64         `json:"best_member"` // the member ranked first
	ENS        map[int]float64 `json:"ens"`         // accuracy by M
	WA         map[int]float64 `json:"wa"`
}

// Compare evaluates the members, then ENS and WA of the first M members
// for M = 2…len(members), after ordering the members by their accuracy on
// the rankBy split (descending; "" keeps the given order). The paper ranks
// by OOD accuracy; ranking by ID validation avoids peeking at OOD. Every
// split's numbers, rankBy's included, are scored on its own pairs: to
// keep the ranking from biasing a split's best member, rank on a
// selection half made by HoldOut (Run does).
func Compare[M model.RewardModel](members []M, names []string, splits []Split, rankBy string, log func(string)) (*Result, error) {
	if len(members) != len(names) {
		return nil, fmt.Errorf("%d members, %d names", len(members), len(names))
	}
	per := make([]rewards, len(members))
	res := &Result{RankBy: rankBy, Summary: map[string]Summary{}, scored: map[string]rewards{}}
	res.Clusters = clustersOf(splits)
	for i, m := range members {
		log(fmt.Sprintf("scoring %s", names[i]))
		var err error
		if per[i], err = scoreSplits(m, splits); err != nil {
			return nil, fmt.Errorf("%s: %w", names[i], err)
		}
		res.scored[names[i]] = per[i]
	}
	order := make([]int, len(members))
	for i := range order {
		order[i] = i
	}
	if rankBy != "" {
		if _, ok := per[0][rankBy]; !ok {
			return nil, fmt.Errorf("cannot rank by split %q: not evaluated", rankBy)
		}
		acc := make([]float64, len(members))
		for i := range members {
			acc[i] = metricsOf(rewards{rankBy: per[i][rankBy]})[rankBy].Acc
		}
		order = rankOrder(acc)
	}
	for _, i := range order {
		res.Order = append(res.Order, names[i])
		res.Entries = append(res.Entries, Entry{Name: names[i], Kind: "member", M: 1, Splits: metricsOf(per[i])})
		res.perPair(names[i], per[i])
	}
	for M := 2; M <= len(members); M++ {
		idx := order[:M]
		sel := make([]string, M)
		ens := rewards{}
		for _, s := range splits {
			var rc, rr [][]float32
			for k, i := range idx {
				sel[k] = names[i]
				rc = append(rc, per[i][s.Name].C)
				rr = append(rr, per[i][s.Name].R)
			}
			mc, _ := reward.MeanStd(rc)
			mr, _ := reward.MeanStd(rr)
			ens[s.Name] = splitRewards{mc, mr, s.Groups}
		}
		res.Entries = append(res.Entries, Entry{Name: ENSName(M), Kind: "ens", M: M, Members: sel, Splits: metricsOf(ens)})
		res.perPair(ENSName(M), ens)
		ms := make([]model.RewardModel, M)
		for k, i := range idx {
			ms[k] = members[i]
		}
		wa, err := reward.AverageModels(ms)
		if err != nil {
			return nil, err
		}
		log(fmt.Sprintf("scoring WA of %d members", M))
		waR, err := scoreSplits(wa, splits)
		if err != nil {
			return nil, err
		}
		res.Entries = append(res.Entries, Entry{Name: WAName(M), Kind: "wa", M: M, Members: sel, Splits: metricsOf(waR)})
		res.scored[WAName(M)] = waR
		res.perPair(WAName(M), waR)
	}
	for _, s := range splits {
		sum := Summary{ENS: map[int]float64{}, WA: map[int]float64{}}
		var accs []float64
		for _, e := range res.Entries {
			a := e.Splits[s.Name].Acc
			switch e.Kind {
			case "member":
				accs = append(accs, a)
			case "ens":
				sum.ENS[e.M] = a
			case "wa":
				sum.WA[e.M] = a
			}
		}
		sum.MemberMean, sum.MemberStd = stats.MeanStd(accs)
		if len(accs) == 1 {
			sum.MemberStd = 0
		}
		sum.BestMember = accs[0]
		res.Summary[s.Name] = sum
	}
	return res, nil
}

// nan-safe formatting for tables.
func pct(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return fmt.Sprintf("%.1f", 100*x)
}

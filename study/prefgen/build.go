package prefgen

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/internal/parallel"
	"github.com/warm-rm/warm/kit/prefdata"
)

// Config is one preference data set.
type Config struct {
	// IDOpenings are candidate prompts from held-out corpus text (train and
	// validation prompts); OODOpenings from another source (OOD prompts).
	IDOpenings, OODOpenings []string

	Train, Val, OOD            int     // pairs per split
	PromptMinTok, PromptMaxTok int     // prompt length range in tokens
	MinNew, MaxNew             int     // response length range in new tokens
	Temperature                float64 // policy sampling temperature (train, val)
	OODTemperature             float64 // the shifted policy's temperature (OOD)
	BTTemperature              float64 // Bradley-Terry labelling temperature on gold differences
	Corrupt                    float64 // fraction of training labels swapped
	DropTies                   bool    // drop pairs with exactly equal gold scores
	Batch                      int     // prompts per sampling call
	MaxPairsPerPrompt          int     // passes over a split's prompts when they run short (≤ 1: each prompt once)
	// EvalResponses > 2 makes val and OOD grouped splits: that many
	// responses per prompt and every pair among them (GenOptions.Responses),
	// so the same scored texts give several times the comparisons
	// (docs/power.md §7). Train keeps one pair per prompt.
	EvalResponses int
	Seed          uint64
	Progress      io.Writer
	// Streams > 1 samples the three splits that many at a time (the policy
	// must then be safe for concurrent calls); each split has its own
	// prompts and seeds, so the data do not depend on it.
	Streams int
}

// Dataset is the generated data and its summary.
type Dataset struct {
	Train, Val, OOD []prefdata.Row
	Summary         Summary
}

// SplitSummary describes one split: prefdata's figures over the written
// rows, what generation drew and dropped, and the agreement with the gold
// judge that Bradley-Terry labelling at this temperature implies.
type SplitSummary struct {
	prefdata.Summary
	Generation GenStats `json:"generation"`
	// TieFraction is the fraction of sampled pairs (of valid length) whose
	// two responses got exactly the same gold score, before any dropping.
	TieFraction float64 `json:"tie_fraction"`
	// ExpectedAgreement is mean σ(|Δgold|/T) over the rows: the gold
	// agreement Bradley-Terry labels have before corruption. CleanAgreement
	// is the observed agreement before corruption (ties count one half).
	ExpectedAgreement float64 `json:"expected_gold_agreement"`
	CleanAgreement    float64 `json:"gold_agreement_before_corruption"`
	Temperature       float64 `json:"sampling_temperature"`
}

// Summary is out/summary.json.
type Summary struct {
	Sizes         map[string]int `json:"sizes"`
	Train         SplitSummary   `json:"train"`
	Val           SplitSummary   `json:"val"`
	OOD           SplitSummary   `json:"ood"`
	BTTemperature float64        `json:"bt_temperature"`
	Corrupt       float64        `json:"corrupt"`
	DropTies      bool           `json:"drop_ties"`
	PromptTokens  [2]int         `json:"prompt_tokens"`
	ResponseNew   [2]int         `json:"response_new_tokens"`
	Seed          uint64         `json:"seed"`
	Seconds       float64        `json:"seconds"`
	SeqPerSecond  float64        `json:"sequences_per_second"`
	// Filled by the caller (cmd/warm): where the policy and prompts came from.
	Policy  string `json:"policy,omitempty"`
	Judge   string `json:"judge,omitempty"`
	Prompts string `json:"prompt_sources,omitempty"`
	// Filled by RunStudy: the human-labelled split (or why there is none)
	// and the sizes of the policy prompt pools (RLPromptFile,
	// HeldoutPromptFile).
	Human         *HumanSummary  `json:"human,omitempty"`
	HumanNote     string         `json:"human_note,omitempty"`
	PolicyPrompts map[string]int `json:"policy_prompts,omitempty"`
}

// Build makes the three splits: train and val pairs from the ID prompts,
// which are divided between the two in proportion to their sizes (so no
// prompt is in both), OOD pairs from the OOD prompts (minus any that is also
// an ID prompt) sampled at the shifted temperature; Bradley-Terry labels on
// the gold scores; then exactly round(Corrupt·n) training labels swapped.
func Build(tok Tokenizer, policy Sampler, judge Judge, cfg Config) (*Dataset, error) {
	start := time.Now()
	skip := map[string]bool{}
	idPrompts := MakePrompts(tok, cfg.IDOpenings, cfg.PromptMinTok, cfg.PromptMaxTok, cfg.Seed, skip)
	oodPrompts := MakePrompts(tok, cfg.OODOpenings, cfg.PromptMinTok, cfg.PromptMaxTok, cfg.Seed+1, skip)
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "data: %d ID prompts (from %d openings), %d OOD prompts (from %d) of %d..%d tokens\n",
			len(idPrompts), len(cfg.IDOpenings), len(oodPrompts), len(cfg.OODOpenings), cfg.PromptMinTok, cfg.PromptMaxTok)
	}
	rounds := max(1, cfg.MaxPairsPerPrompt)
	// Prompts a split needs per pass: one per pair, or one per group of
	// up to k(k−1)/2 pairs in a grouped split (about ¾ of them survive
	// ties and short responses: val's share of the prompts is sized for
	// that, so that it needs one pass).
	perPrompt, yield := 1, 1
	if k := cfg.EvalResponses; k > 2 {
		perPrompt, yield = k*(k-1)/2, GroupYield(k)
	}
	valPrompts := (cfg.Val + yield - 1) / yield
	if need := cfg.Train + valPrompts; len(idPrompts)*rounds < need || (cfg.Val > 0 && len(idPrompts) < 2) {
		return nil, fmt.Errorf("%d ID prompts (× %d pairs each at most) for %d train + %d val pairs: give more held-out text (a larger --val-frac in warm pretrain), allow more pairs per prompt, or ask for fewer pairs", len(idPrompts), rounds, cfg.Train, cfg.Val)
	}
	if len(oodPrompts)*rounds*perPrompt < cfg.OOD {
		return nil, fmt.Errorf("%d OOD prompts (× %d pairs each at most) for %d OOD pairs: allow more pairs per prompt, or ask for fewer (--ood)", len(oodPrompts), rounds*perPrompt, cfg.OOD)
	}
	// Train's share of the ID prompts, in proportion to the prompts each
	// split needs, at least one left for val.
	nTrain := len(idPrompts)
	if cfg.Val > 0 {
		nTrain = min(len(idPrompts)-1, max(1, int(math.Round(float64(len(idPrompts))*float64(cfg.Train)/float64(cfg.Train+valPrompts)))))
	}
	gen := func(split string, n int, temp float64, prompts []Prompt) ([]prefdata.Row, SplitSummary, error) {
		responses := 2
		if split != "train" {
			responses = cfg.EvalResponses
		}
		pairs, _, st, err := GeneratePairs(tok, policy, judge, prompts, GenOptions{
			Split: split, Count: n, MinNew: cfg.MinNew, MaxNew: cfg.MaxNew, Temperature: temp,
			DropTies: cfg.DropTies, Batch: cfg.Batch, MaxRounds: rounds, Seed: cfg.Seed, Progress: cfg.Progress, Responses: responses})
		if err != nil {
			return nil, SplitSummary{}, err
		}
		rows, expected := Label(pairs, split, cfg.BTTemperature, rand.New(rand.NewPCG(cfg.Seed, splitSalt("label/"+split))))
		ss := SplitSummary{Generation: st, TieFraction: st.TieFraction(), ExpectedAgreement: expected, Temperature: temp}
		ss.CleanAgreement = prefdata.Summarize(rows).GoldAgreement
		return rows, ss, nil
	}
	ds := &Dataset{}
	var sTrain, sVal, sOOD SplitSummary
	jobs := []struct {
		split  string
		n      int
		temp   float64
		prompt []Prompt
		rows   *[]prefdata.Row
		sum    *SplitSummary
	}{
		{"train", cfg.Train, cfg.Temperature, idPrompts[:nTrain], &ds.Train, &sTrain},
		{"val", cfg.Val, cfg.Temperature, idPrompts[nTrain:], &ds.Val, &sVal},
		{"ood", cfg.OOD, cfg.OODTemperature, oodPrompts, &ds.OOD, &sOOD},
	}
	errs := make([]error, len(jobs))
	// In order, train first: with two streams, train (the largest) on
	// one, val then OOD on the other.
	parallel.JobsN(max(1, cfg.Streams), len(jobs), func(_, j int) {
		x := jobs[j]
		*x.rows, *x.sum, errs[j] = gen(x.split, x.n, x.temp, x.prompt)
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	prefdata.Corrupt(ds.Train, cfg.Corrupt, rand.New(rand.NewPCG(cfg.Seed, splitSalt("corrupt"))))

	all := append(append(append([]prefdata.Row(nil), ds.Train...), ds.Val...), ds.OOD...)
	if dup := prefdata.PromptOverlap(all); len(dup) > 0 {
		return nil, fmt.Errorf("internal error: %d prompts in two splits, e.g. %q", len(dup), dup[0])
	}
	sTrain.Summary, sVal.Summary, sOOD.Summary = prefdata.Summarize(ds.Train), prefdata.Summarize(ds.Val), prefdata.Summarize(ds.OOD)
	seqs := sTrain.Generation.Sequences + sVal.Generation.Sequences + sOOD.Generation.Sequences
	sec := time.Since(start).Seconds()
	ds.Summary = Summary{
		Sizes: map[string]int{"train": len(ds.Train), "val": len(ds.Val), "ood": len(ds.OOD)},
		Train: sTrain, Val: sVal, OOD: sOOD, BTTemperature: cfg.BTTemperature, Corrupt: cfg.Corrupt, DropTies: cfg.DropTies,
		PromptTokens: [2]int{cfg.PromptMinTok, cfg.PromptMaxTok}, ResponseNew: [2]int{cfg.MinNew, cfg.MaxNew},
		Seed: cfg.Seed, Seconds: sec, SeqPerSecond: float64(seqs) / sec,
	}
	return ds, nil
}

// Label turns pairs into rows with Bradley-Terry labels: A is chosen with
// probability σ((gA−gB)/T). It also returns the agreement with the gold
// judge those labels have in expectation, mean σ(|gA−gB|/T) (ties: 1/2).
func Label(pairs []Pair, split string, temperature float64, rng *rand.Rand) ([]prefdata.Row, float64) {
	rows := make([]prefdata.Row, len(pairs))
	var expected float64
	for i, p := range pairs {
		chosen, rejected, gc, gr := p.A, p.B, p.GoldA, p.GoldB
		if !prefdata.BTLabel(p.GoldA, p.GoldB, temperature, rng) {
			chosen, rejected, gc, gr = p.B, p.A, p.GoldB, p.GoldA
		}
		rows[i] = prefdata.Row{ID: fmt.Sprintf("%s-%06d", split, i), Prompt: p.Prompt.Text, Chosen: chosen, Rejected: rejected,
			GoldChosen: prefdata.Float(gc), GoldRejected: prefdata.Float(gr), Split: split}
		expected += prefdata.BTProb(math.Abs(p.GoldA-p.GoldB), 0, temperature)
	}
	if len(pairs) > 0 {
		expected /= float64(len(pairs))
	}
	return rows, expected
}

// Write writes out/train.jsonl, val.jsonl, ood.jsonl (and .parquet with
// parquet), then out/summary.json. Each file is written atomically and
// summary.json last (an old one is removed first), so a directory with a
// summary.json holds a complete data set.
func Write(out string, ds *Dataset, parquet bool) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	sum := filepath.Join(out, "summary.json")
	if err := os.Remove(sum); err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, s := range []struct {
		name string
		rows []prefdata.Row
	}{{"train", ds.Train}, {"val", ds.Val}, {"ood", ds.OOD}} {
		if err := prefdata.WriteJSONL(filepath.Join(out, s.name+".jsonl"), s.rows); err != nil {
			return err
		}
		pq := filepath.Join(out, s.name+".parquet")
		if parquet {
			if err := prefdata.WriteParquet(pq, s.rows); err != nil {
				return err
			}
		} else if err := os.Remove(pq); err != nil && !os.IsNotExist(err) {
			return err // a stale Parquet file would disagree with the JSONL
		}
	}
	return atomicfile.WriteJSON(sum, ds.Summary)
}

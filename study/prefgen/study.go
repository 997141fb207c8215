package prefgen

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/warm-rm/warm/internal/runlog"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/tokenizer"
	"github.com/warm-rm/warm/study/corpus"
	"github.com/warm-rm/warm/study/gold"
	"github.com/warm-rm/warm/study/pretrain"
)

// StudyOptions are one `warm data` run: the policy that samples the
// responses, where the prompts come from, and the output directory.
type StudyOptions struct {
	Config  Config // sizes, lengths, temperatures, labels (IDOpenings/OODOpenings are filled here)
	Policy  string // HF GPT2LMHeadModel directory with tokenizer files
	Sample  bool   // prompts from the embedded corpus sample
	DataDir string // else from this data folder
	Sources []string
	// ValFrac and SplitSeed split the corpus as the policy's pretraining
	// did (0: read from its prep.json, else 0.1 and 1).
	ValFrac   float64
	SplitSeed uint64
	Out       string
	Parquet   bool
	Log       io.Writer // warnings; nil: quiet

	// HumanPairs caps the human-labelled pairs written to HumanFile (0:
	// all the review sentences allow); none in Sample mode (the sample has
	// no review sentences).
	HumanPairs int
	// Judge is the gold judge (nil: VADER); JudgeName describes it in the
	// summary.
	Judge     gold.Judge
	JudgeName string
}

// RunStudy builds the study's preference data: prompts from held-out
// documents of the policy's own corpus split (OOD: review sentences, or
// with Sample the train-split documents), pairs sampled from the policy,
// judged by gold (VADER), labelled and corrupted, written to Out.
func RunStudy(o StudyOptions) (*Dataset, error) {
	cfg := o.Config
	m, err := model.Load(o.Policy)
	if err != nil {
		return nil, fmt.Errorf("policy: %w (train one with warm pretrain)", err)
	}
	if m.Config.Architecture != model.ArchLM {
		return nil, fmt.Errorf("policy %s is a %s, want a %s", o.Policy, m.Config.Architecture, model.ArchLM)
	}
	tok, err := tokenizer.Load(o.Policy)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if tok.EOT() < 0 {
		return nil, fmt.Errorf("policy %s: tokenizer has no <|endoftext|>", o.Policy)
	}
	if need := cfg.PromptMaxTok + cfg.MaxNew; need >= m.Config.NPositions {
		return nil, fmt.Errorf("prompts of %d + responses of %d tokens exceed the policy's context of %d", cfg.PromptMaxTok, cfg.MaxNew, m.Config.NPositions)
	}
	promptSrc, spare, err := o.openings(&cfg)
	if err != nil {
		return nil, err
	}
	// A row stops at <|endoftext|> (Build cuts there too), so no compute
	// goes to tokens that are thrown away.
	//
	// Two streams sample the splits at once (cfg.Streams): token-by-token
	// decoding keeps two cores ≈ 70 % busy in one, and a model's
	// workspace serves one call at a time, so each stream borrows its own
	// copy of the policy.
	cfg.Streams = 2
	pool := make(chan *model.Model, cfg.Streams)
	pool <- m
	for range cfg.Streams - 1 {
		pool <- m.Clone()
	}
	policy := func(prompts [][]int, temperature float64, maxNew int, seed uint64) [][]int {
		mm := <-pool
		defer func() { pool <- mm }()
		return mm.Generate(prompts, model.SampleOptions{MaxNewTokens: maxNew, Temperature: float32(temperature), Seed: seed, StopToken: tok.EOT()})
	}
	judge, judgeName := o.Judge, o.JudgeName
	if judge == nil {
		judge, judgeName = gold.NewVADER(), "VADER compound sentiment of the response (gold.VADER)"
	}
	ds, err := Build(tok, policy, judge, cfg)
	if err != nil {
		return nil, err
	}
	ds.Summary.Policy = o.Policy
	ds.Summary.Judge = judgeName
	ds.Summary.Prompts = promptSrc

	// Policy prompts for RL, best-of-N and duels: openings in no pair.
	// Held-out documents' openings first (the task's distribution), then
	// the OOD source's, then the pretraining documents' (plentiful).
	skip := map[string]bool{}
	var cands []Prompt
	for i, ops := range [][]string{cfg.IDOpenings, cfg.OODOpenings, spare} {
		cands = append(cands, MakePrompts(tok, ops, cfg.PromptMinTok, cfg.PromptMaxTok, cfg.Seed+2+uint64(i), skip)...)
	}
	rlPrompts, heldout := PolicyPrompts(cands, ds.Train, ds.Val, ds.OOD)
	ds.Summary.PolicyPrompts = map[string]int{"rl": len(rlPrompts), "heldout": len(heldout)}

	var human []prefdata.Row
	if o.Sample {
		ds.Summary.HumanNote = "no human-labelled pairs: the embedded sample has no review sentences"
	} else {
		sents, err := corpus.ReviewSentences(o.DataDir)
		if err != nil {
			return nil, err
		}
		var hs HumanSummary
		if human, hs, err = HumanPairs(sents, HumanOptions{N: o.HumanPairs, Seed: cfg.Seed, Judge: judge}); err != nil {
			return nil, err
		}
		ds.Summary.Human = &hs
	}
	// The extra files first, summary.json last (Write): a directory with a
	// summary.json is complete.
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	if err := os.Remove(filepath.Join(o.Out, "summary.json")); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	if err := prefdata.WriteJSONL(filepath.Join(o.Out, CleanTrainFile), CleanLabels(ds.Train)); err != nil {
		return nil, err
	}
	if err := writePrompts(filepath.Join(o.Out, RLPromptFile), rlPrompts); err != nil {
		return nil, err
	}
	if err := writePrompts(filepath.Join(o.Out, HeldoutPromptFile), heldout); err != nil {
		return nil, err
	}
	hp := filepath.Join(o.Out, HumanFile)
	if human == nil {
		if err := os.Remove(hp); err != nil && !os.IsNotExist(err) {
			return nil, err // a stale file would be scored as this run's
		}
	} else if err := prefdata.WriteJSONL(hp, human); err != nil {
		return nil, err
	}
	return ds, Write(o.Out, ds, o.Parquet)
}

// openings fills cfg's ID and OOD prompt openings and says where they
// came from; spare are openings of the pretraining documents, a last
// source of policy prompts.
func (o StudyOptions) openings(cfg *Config) (src string, spare []string, err error) {
	vf, ss := 0.1, uint64(1)
	var prep pretrain.Prep
	if err := runlog.ReadJSON(filepath.Join(filepath.Dir(filepath.Clean(o.Policy)), "prep.json"), &prep); err == nil {
		vf, ss = prep.ValFrac, prep.Seed
	}
	if o.ValFrac > 0 {
		vf = o.ValFrac
	}
	if o.SplitSeed > 0 {
		ss = o.SplitSeed
	}
	docs, err := corpus.Open(o.Sample, o.DataDir, o.Sources)
	if err != nil {
		return "", nil, err
	}
	if prep.CorpusSHA != "" && prep.CorpusSHA != pretrain.CorpusHash(docs) && o.Log != nil {
		fmt.Fprintf(o.Log, "warm data: warning: the corpus differs from the one %s was pretrained on (other --data, --sources or --sample?): prompts may come from text the policy trained on\n", o.Policy)
	}
	trainDocs, valDocs := corpus.Split(docs, vf, ss)
	cfg.IDOpenings = corpus.Prompts(valDocs, 6, 18, cfg.Seed)
	spare = corpus.Prompts(trainDocs, 6, 18, cfg.Seed+7)
	src = fmt.Sprintf("train/val: openings of %d held-out documents (val-frac %g, split seed %d); ood: ", len(valDocs), vf, ss)
	if o.Sample {
		cfg.OODOpenings = corpus.Prompts(trainDocs, 6, 18, cfg.Seed)
		return src + "openings of the sample's train-split documents (the sample has no review sentences)", spare, nil
	}
	rev, err := corpus.ReviewSentences(o.DataDir)
	if err != nil {
		return "", nil, err
	}
	rdocs := make([]corpus.Doc, len(rev))
	for i, r := range rev {
		rdocs[i] = corpus.Doc{Source: r.Source, ID: fmt.Sprintf("%s/%d", r.Source, i), Text: r.Text}
	}
	// Review sentences are short: openings of 5–14 words still reach
	// 8 tokens often enough.
	cfg.OODOpenings = corpus.Prompts(rdocs, 5, 14, cfg.Seed)
	return src + fmt.Sprintf("openings of %d labelled review sentences (npm sentiment fixtures)", len(rev)), spare, nil
}

// Check reports the first setting of c that cannot build data, naming the
// flag it comes from.
func (c Config) Check() error {
	switch {
	case c.Corrupt > 1:
		return fmt.Errorf("--corrupt %g must be in [0, 1]", c.Corrupt)
	case c.MinNew < 1 || c.MaxNew < c.MinNew:
		return fmt.Errorf("response length range %d..%d is empty", c.MinNew, c.MaxNew)
	case c.PromptMinTok < 1 || c.PromptMaxTok < c.PromptMinTok:
		return fmt.Errorf("prompt length range %d..%d is empty", c.PromptMinTok, c.PromptMaxTok)
	case c.Temperature <= 0 || c.OODTemperature <= 0:
		return fmt.Errorf("sampling temperatures must be positive")
	}
	return nil
}

package rmtrain

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/internal/runlog"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/reward"
	"github.com/warm-rm/warm/kit/safetensors"
	"github.com/warm-rm/warm/kit/stats"
	"github.com/warm-rm/warm/kit/tokenizer"
)

// Options configure a WARM training run: M members fine-tuned from one
// shared init after one shared linear probe.
type Options struct {
	Init     string    `json:"init"`    // pretrained (SFT) LM directory: the shared init and the probe's body
	Baklava  []string  `json:"baklava"` // body checkpoints for Baklava members (default: Init)
	Train    string    `json:"train"`   // training pairs (JSONL)
	Val      string    `json:"val"`     // optional validation pairs, for monitoring
	LRs      []float64 `json:"lrs"`
	Dropouts []float64 `json:"dropouts"`
	Div      Diversity `json:"diversity"`
	Seed     uint64    `json:"seed"`
	MaxLen   int       `json:"max_len"` // 0: the model's n_positions
	Probe    ProbeOptions
	FT       FTOptions

	Out     string    `json:"-"`
	Members int       `json:"-"` // members 0..Members-1 (a run may be extended)
	Only    int       `json:"-"` // >= 0: train only this member (separate jobs)
	Ladder  bool      `json:"-"` // also train the LMC diversity-ladder runs
	Log     io.Writer `json:"-"`
}

// Summary is out/summary.json.
type Summary struct {
	ProbeTrainAcc float64         `json:"probe_train_acc"`
	ProbeValAcc   float64         `json:"probe_val_acc,omitempty"`
	Members       []*MemberResult `json:"members"`
	Ladder        []*MemberResult `json:"ladder,omitempty"`
	Seconds       float64         `json:"seconds"`
}

type probeResult struct {
	TrainLoss float64 `json:"train_loss"`
	TrainAcc  float64 `json:"train_acc"`
	ValAcc    float64 `json:"val_acc,omitempty"`
	Seconds   float64 `json:"seconds"`
}

// SelectionHalf keeps the selection half of the validation rows, split as
// warm eval splits them (stats.HoldoutHalves by prompt, seed
// stats.DefaultHoldoutSeed), so that the member order warm train writes —
// which every later stage reads: the best and median member, the members
// WA-M averages — is the one eval ranks with, and the other half stays
// unseen by any choice. Too few prompts to halve: all rows.
func SelectionHalf(rows []prefdata.Row) []prefdata.Row {
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = prefdata.UnitKey(r)
	}
	sel, _, _, err := stats.HoldoutHalves(keys, nil, stats.DefaultHoldoutSeed)
	if err != nil {
		return rows
	}
	return stats.Pick(rows, sel)
}

// Run trains what is missing of the run in o.Out and returns its summary.
// Finished members are kept; an interrupted one resumes; members beyond the
// existing ones extend the run with the same plan.
func Run(o Options) (*Summary, error) {
	t0 := time.Now()
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	if err := checkPlan(o); err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(o.Init)
	if err != nil {
		return nil, fmt.Errorf("tokenizer of %s: %w", o.Init, err)
	}
	cfg, err := model.ReadConfig(filepath.Join(o.Init, "config.json"))
	if err != nil {
		return nil, err
	}
	maxLen := o.MaxLen
	if maxLen <= 0 || maxLen > cfg.NPositions {
		maxLen = cfg.NPositions
	}
	rows, err := prefdata.ReadPairs(o.Train) // JSONL or Parquet; no rows is an error
	if err != nil {
		return nil, err
	}
	pairs, err := reward.TokenizePairs(tok, rows, maxLen)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Train, err)
	}
	var val []reward.Pair
	if o.Val != "" {
		vr, err := prefdata.ReadPairs(o.Val)
		if err != nil && !errors.Is(err, prefdata.ErrNoRows) { // an empty validation file: none
			return nil, err
		}
		all := len(vr)
		vr = SelectionHalf(vr)
		if val, err = reward.TokenizePairs(tok, vr, maxLen); err != nil {
			return nil, fmt.Errorf("%s: %w", o.Val, err)
		}
		if len(vr) < all {
			fmt.Fprintf(log, "warm train: members are ranked on val_select, %d of the %d validation pairs (the half warm eval ranks on; it decides on the other)\n", len(vr), all)
		}
	}
	fmt.Fprintf(log, "warm train: %d training pairs, %d validation pairs, init %s\n", len(pairs), len(val), o.Init)

	head, pr, err := probe(o, pairs, val, log)
	if err != nil {
		return nil, err
	}
	sum := &Summary{ProbeTrainAcc: pr.TrainAcc, ProbeValAcc: pr.ValAcc}
	copyTok := func(dst string) error { return tok.Save(dst, cfg.NPositions) }

	first, n := 0, o.Members
	if o.Only >= 0 {
		first, n = o.Only, 1
	}
	members, err := Plan(o.Init, o.Baklava, o.LRs, o.Dropouts, o.Div, o.Seed, first, n)
	if err != nil {
		return nil, err
	}
	train := func(mb Member, mid bool) (*MemberResult, error) {
		dir := filepath.Join(o.Out, mb.Name)
		var done MemberResult
		if runlog.ReadJSON(filepath.Join(dir, "train.json"), &done) == nil && done.Done && done.Member == mb {
			fmt.Fprintf(log, "%s: done (val acc %.3f), skipping\n", mb.Name, done.ValAcc)
			return &done, nil
		}
		ft := o.FT
		ft.MidCkpt = mid
		fmt.Fprintf(log, "%s: lr %.2g, dropout %.2g, seed %d, init %s\n", mb.Name, mb.LR, mb.Dropout, mb.Seed, mb.Init)
		return FineTune(mb, head, pairs, val, ft, dir, copyTok, log)
	}
	for _, mb := range members {
		res, err := train(mb, mb.Index == 0)
		if err != nil {
			return nil, err
		}
		sum.Members = append(sum.Members, res)
	}
	if o.Ladder && o.Only < 0 {
		base, _ := Plan(o.Init, o.Baklava, o.LRs, o.Dropouts, o.Div, o.Seed, 0, 1)
		for _, mb := range Ladder(base[0], o.LRs, o.Baklava) {
			if m := sameCell(sum.Members, mb, base[0]); m != nil {
				same := *m
				same.Member.Name, same.SameAs = mb.Name, m.Member.Name
				fmt.Fprintf(log, "%s: %s has its lr, dropout and body (another data order): not trained again\n", mb.Name, m.Member.Name)
				sum.Ladder = append(sum.Ladder, &same)
				continue
			}
			res, err := train(mb, false)
			if err != nil {
				return nil, err
			}
			sum.Ladder = append(sum.Ladder, res)
		}
	}
	sum.Seconds = time.Since(t0).Seconds()
	if o.Only < 0 {
		if err := atomicfile.WriteJSON(filepath.Join(o.Out, "summary.json"), sum); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

// sameCell is the trained member, other than base, with mb's learning
// rate, dropout and body (nil if none): a ladder rung varies the data order
// with the rest, so such a member is that rung's run. (The "data order"
// rung's cell is base's own; in a design whose cells differ, only base has
// it.)
func sameCell(members []*MemberResult, mb, base Member) *MemberResult {
	for _, m := range members {
		x := m.Member
		if x.Name != base.Name && x.LR == mb.LR && x.Dropout == mb.Dropout && filepath.Clean(x.Init) == filepath.Clean(mb.Init) {
			return m
		}
	}
	return nil
}

// probe loads or fits the shared linear-probed head (out/probe/).
func probe(o Options, pairs, val []reward.Pair, log io.Writer) ([]float32, probeResult, error) {
	dir := filepath.Join(o.Out, "probe")
	path := filepath.Join(dir, "head.safetensors")
	var pr probeResult
	if f, err := safetensors.Open(path); err == nil {
		defer f.Close()
		w, err := f.Float32("score.weight")
		if err == nil && runlog.ReadJSON(filepath.Join(dir, "probe.json"), &pr) == nil {
			fmt.Fprintf(log, "probe: reusing %s (train acc %.3f)\n", path, pr.TrainAcc)
			return w, pr, nil
		}
	}
	t0 := time.Now()
	m, err := model.Load(o.Init)
	if err != nil {
		return nil, pr, err
	}
	fmt.Fprintf(log, "probe: features of %d pairs from the frozen body\n", len(pairs))
	fc, fr, err := Features(m, pairs)
	if err != nil {
		return nil, pr, err
	}
	var margin []float32
	if o.FT.UseMargin {
		margin = make([]float32, len(pairs))
		for i, p := range pairs {
			margin[i] = p.Margin
		}
	}
	w, loss, acc := Probe(fc, fr, margin, make([]float32, m.Config.NEmbd), o.Probe)
	pr = probeResult{TrainLoss: loss, TrainAcc: acc}
	if len(val) > 0 {
		m.AsRewardModel(0)
		copy(m.Param("score.weight").W, w)
		if pr.ValAcc, err = Accuracy(m, val); err != nil {
			return nil, pr, err
		}
	}
	pr.Seconds = time.Since(t0).Seconds()
	fmt.Fprintf(log, "probe: train loss %.4f acc %.3f, val acc %.3f (%.1fs)\n", loss, acc, pr.ValAcc, pr.Seconds)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, pr, err
	}
	if err := safetensors.WriteFloat32(path, []safetensors.Tensor{{Name: "score.weight", Shape: []int{1, len(w)}, Data: w}}, safetensors.F32, nil); err != nil {
		return nil, pr, err
	}
	return w, pr, atomicfile.WriteJSON(filepath.Join(dir, "probe.json"), pr)
}

// checkPlan records the run's shared settings in out/plan.json and refuses
// to add members to a run made with other settings: members of one run
// must be comparable.
func checkPlan(o Options) error {
	path := filepath.Join(o.Out, "plan.json")
	var old Options
	if err := runlog.ReadJSON(path, &old); err == nil {
		o.Log, old.Log = nil, nil
		if !reflect.DeepEqual(normalise(old), normalise(o)) {
			return fmt.Errorf("%s: this run was made with other settings; use another --out (or delete it)", path)
		}
		return nil
	}
	return atomicfile.WriteJSON(path, o)
}

// normalise clears what plan.json does not hold.
func normalise(o Options) Options {
	o.Out, o.Members, o.Only, o.Ladder, o.Log = "", 0, 0, false, nil
	if len(o.Baklava) == 0 {
		o.Baklava = nil
	}
	return o
}

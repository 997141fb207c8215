package reward

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/warm-rm/warm/kit/llama"
	"github.com/warm-rm/warm/kit/model"
)

// Kinds of Spec.
const (
	KindSingle = "single" // one reward model
	KindENS    = "ens"    // prediction ensemble: mean of the members' rewards
	KindWA     = "wa"     // weight average: one model, the members' mean weights
	KindGold   = "gold"   // the gold judge (no model)
)

// Spec is one named reward: a single reward model, the ensemble (ens) or
// the weight average (wa) of several, or the gold judge.
type Spec struct {
	Name string
	Kind string   // KindSingle, KindENS, KindWA or KindGold
	Dirs []string // absolute model directories
}

// Canon is the spec as a cache key: kind and absolute directories.
func (s Spec) Canon() string { return s.Kind + ":" + strings.Join(s.Dirs, ",") }

func isModelDir(d string) bool {
	_, err := os.Stat(filepath.Join(d, "config.json"))
	return err == nil
}

// ParseSpec reads NAME=[single:|ens:|wa:]DIR[,DIR...]; NAME=gold names the
// gold judge. Relative DIRs after the first are taken relative to the
// first's parent when they do not exist as given
// (wa:runs/rm/member-00,member-01). Errors name the flag as --rm.
func ParseSpec(s string) (Spec, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" || rest == "" {
		return Spec{}, fmt.Errorf("--rm %q: want NAME=[ens:|wa:]DIR[,DIR...]", s)
	}
	sp := Spec{Name: name, Kind: KindSingle}
	if rest == "gold" {
		sp.Kind = KindGold
		return sp, nil
	}
	for _, k := range []string{KindSingle, KindENS, KindWA} {
		if r, ok := strings.CutPrefix(rest, k+":"); ok {
			sp.Kind, rest = k, r
		}
	}
	parts := strings.Split(rest, ",")
	for i, d := range parts {
		if d == "" {
			return Spec{}, fmt.Errorf("--rm %q: empty directory", s)
		}
		if _, err := os.Stat(d); i > 0 && err != nil && !filepath.IsAbs(d) {
			if alt := filepath.Join(filepath.Dir(parts[0]), d); fileExists(alt) {
				d = alt
			}
		}
		if !isModelDir(d) {
			return Spec{}, fmt.Errorf("--rm %s: %s is not a model directory (no config.json)", name, d)
		}
		abs, err := filepath.Abs(d)
		if err != nil {
			return Spec{}, err
		}
		sp.Dirs = append(sp.Dirs, abs)
	}
	if sp.Kind == KindSingle && len(sp.Dirs) != 1 {
		return Spec{}, fmt.Errorf("--rm %s: a single reward model takes one directory (use ens: or wa: for %d)", name, len(sp.Dirs))
	}
	return sp, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// AutoSpecs builds the study's rewards from ranked member directories
// (best first): "single" (the first), with perMember every member by its
// directory name too, and for each M in ms the ensemble "ensM" and the
// weight average "warmM" of the M first members. ms empty: 2 and all.
func AutoSpecs(dirs []string, ms []int, perMember bool) ([]Spec, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("reward: no member directories")
	}
	abs := make([]string, len(dirs))
	for i, d := range dirs {
		a, err := filepath.Abs(d)
		if err != nil {
			return nil, err
		}
		abs[i] = a
	}
	if len(ms) == 0 {
		ms = []int{2, len(abs)}
		if len(abs) <= 2 {
			ms = []int{len(abs)}
		}
	}
	specs := []Spec{{Name: "single", Kind: KindSingle, Dirs: abs[:1]}}
	if perMember {
		for _, d := range abs {
			specs = append(specs, Spec{Name: filepath.Base(d), Kind: KindSingle, Dirs: []string{d}})
		}
	}
	for _, m := range ms {
		if m < 1 || m > len(abs) {
			return nil, fmt.Errorf("--m %d: the run has %d members", m, len(abs))
		}
		if m < 2 {
			continue
		}
		specs = append(specs,
			Spec{Name: fmt.Sprintf("ens%d", m), Kind: KindENS, Dirs: abs[:m]},
			Spec{Name: fmt.Sprintf("warm%d", m), Kind: KindWA, Dirs: abs[:m]})
	}
	return specs, nil
}

// ParseInts reads an integer list such as "2,6" ("" is none).
func ParseInts(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer list", s)
		}
		out = append(out, v)
	}
	return out, nil
}

// CollectSpecs puts the automatic specs of a training run (auto, from
// AutoSpecs) and the --rm specs together, adding the gold judge when no
// spec is gold; names must be unique.
func CollectSpecs(auto []Spec, rms []string) ([]Spec, error) {
	specs := append([]Spec(nil), auto...)
	for _, s := range rms {
		sp, err := ParseSpec(s)
		if err != nil {
			return nil, err
		}
		specs = append(specs, sp)
	}
	seen := map[string]bool{}
	hasGold := false
	for _, s := range specs {
		if seen[s.Name] {
			return nil, fmt.Errorf("reward name %q given twice", s.Name)
		}
		seen[s.Name] = true
		hasGold = hasGold || s.Kind == KindGold
	}
	if !hasGold && !seen["gold"] {
		specs = append(specs, Spec{Name: "gold", Kind: KindGold})
	}
	return specs, nil
}

// ModelType reads config.json's model_type ("" when absent: old GPT-2
// checkpoints omit it).
func ModelType(dir string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return "", err
	}
	var c struct {
		ModelType string `json:"model_type"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", fmt.Errorf("%s/config.json: %v", dir, err)
	}
	return c.ModelType, nil
}

// LoadOptions choose how Load holds a model's weights.
type LoadOptions struct {
	// Private keeps every weight in the model's own memory, read with
	// pread, so that the files may be truncated or rewritten in place
	// while (and after) the model is loaded without killing the process
	// (SIGBUS): what a server that hot-reloads needs (llama.Options.Private).
	// GPT-2 models are always loaded this way. Without it Llama-family
	// weights stay memory-mapped: pages are read on demand and shared with
	// the page cache, which suits one-shot verbs that own their inputs.
	Private bool
	// Finite refuses a model with a NaN or Inf weight, naming the tensor
	// and element (every weight is read once).
	Finite bool
}

// Load reads a reward-model directory, dispatching on config.json's
// model_type: this is the one place a new architecture family is added.
// GPT-2 (model_type gpt2, or none in old checkpoints) loads as *model.Model;
// llama, qwen2, qwen3 and mistral load as *llama.Model (memory-mapped).
func Load(dir string) (model.RewardModel, error) { return LoadOptions{}.Load(dir) }

// Load is the package's Load with these options.
func (o LoadOptions) Load(dir string) (model.RewardModel, error) {
	mt, err := ModelType(dir)
	if err != nil {
		return nil, err
	}
	switch {
	case isGPT2(mt):
		m, err := model.Load(dir)
		if err != nil {
			return nil, err
		}
		if !m.HasRewardHead() {
			return nil, fmt.Errorf("%s is not a reward model (config.json architectures has no %s)", dir, model.ArchRewardModel)
		}
		if o.Finite {
			if err := finiteGPT2(dir, m); err != nil {
				return nil, err
			}
		}
		return m, nil
	case llama.Supports(mt):
		m, err := llama.LoadWith(dir, llama.Options{Private: o.Private, Finite: o.Finite})
		if err != nil {
			return nil, err
		}
		if c := m.Config(); c.Task != llama.Reward {
			m.Close()
			return nil, fmt.Errorf("%s is not a reward model: config.json architectures is %s, want a *ForSequenceClassification", dir, c.Architecture)
		}
		return m, nil
	}
	return nil, unsupported(dir, mt)
}

// finiteGPT2 fails on a GPT-2 model's first NaN or Inf weight.
func finiteGPT2(dir string, m *model.Model) error {
	for _, p := range m.Params {
		for i, v := range p.W {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%s: tensor %q element %d is %v: refusing a model with non-finite weights", dir, p.Name, i, v)
			}
		}
	}
	return nil
}

// LoadWithTokenizer is Load plus the directory's reward input (its
// tokenizer, read with tokenizer.FromHFDir), checked against the model's
// vocabulary.
func LoadWithTokenizer(dir string) (model.RewardModel, *Input, error) {
	return LoadOptions{}.LoadWithTokenizer(dir)
}

// LoadWithTokenizer is the package's LoadWithTokenizer with these options.
func (o LoadOptions) LoadWithTokenizer(dir string) (model.RewardModel, *Input, error) {
	mt, err := ModelType(dir)
	if err != nil {
		return nil, nil, err
	}
	m, err := o.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	in, err := NewInput(dir, isGPT2(mt))
	if err == nil {
		if v := VocabSize(m); v > 0 && in.VocabSize() > v {
			err = fmt.Errorf("%s: tokenizer has %d tokens but the model's vocab_size is %d", dir, in.VocabSize(), v)
		}
	}
	if err != nil {
		Close(m) // a mapped model holds its files until closed
		return nil, nil, err
	}
	return m, in, nil
}

// Close releases a reward model's resources when it has any (a
// *llama.Model's mapping or closed state); other models are left to the
// garbage collector.
func Close(m model.RewardModel) error {
	if c, ok := m.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Cache loads each reward-model directory once and builds specs' models.
type Cache map[string]model.RewardModel

// Get loads dir (once).
func (c Cache) Get(dir string) (model.RewardModel, error) {
	if m, ok := c[dir]; ok {
		return m, nil
	}
	m, err := Load(dir)
	if err != nil {
		return nil, err
	}
	c[dir] = m
	return m, nil
}

// Model builds a spec's reward model: the model itself, an Ensemble, or
// the weight average (one model). Gold has no model.
func (c Cache) Model(s Spec) (model.RewardModel, error) {
	var ms []model.RewardModel
	for _, d := range s.Dirs {
		m, err := c.Get(d)
		if err != nil {
			return nil, fmt.Errorf("reward %s: %w", s.Name, err)
		}
		ms = append(ms, m)
	}
	switch s.Kind {
	case KindSingle:
		return ms[0], nil
	case KindENS:
		return Ensemble(ms), nil
	case KindWA:
		avg, err := AverageModels(ms)
		if err != nil {
			return nil, fmt.Errorf("reward %s: %w", s.Name, err)
		}
		return avg, nil
	}
	return nil, fmt.Errorf("reward %s: kind %q has no model", s.Name, s.Kind)
}

package reward

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/warm-rm/warm/kit/chattemplate"
	"github.com/warm-rm/warm/kit/llama"
	"github.com/warm-rm/warm/kit/merge"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/tokenizer"
)

// TemplateMode says when a row is rendered with the model's chat template
// (tokenizer_config.json's chat_template or chat_template.jinja) instead of
// being scored as plain text.
type TemplateMode int

const (
	// TemplateAuto renders conversational rows (lists of messages) with the
	// template when the model has one, and scores string rows as plain
	// prompt + response, as TRL's RewardTrainer does for standard rows.
	TemplateAuto TemplateMode = iota
	// TemplateOn renders every row: a string row becomes the conversation
	// [user: prompt, assistant: response] (no user turn for an empty
	// prompt). A model without a template is an error.
	TemplateOn
	// TemplateOff scores every row as plain text; a conversational row is
	// its prefdata.PlainText form ("\n\nUser: …\n\nAssistant: …").
	TemplateOff
)

// ParseTemplateMode reads the command-line names auto, on and off.
func ParseTemplateMode(s string) (TemplateMode, error) {
	switch s {
	case "auto", "":
		return TemplateAuto, nil
	case "on":
		return TemplateOn, nil
	case "off":
		return TemplateOff, nil
	}
	return 0, fmt.Errorf("template %q: want auto, on or off", s)
}

func (m TemplateMode) String() string {
	switch m {
	case TemplateOn:
		return "on"
	case TemplateOff:
		return "off"
	}
	return "auto"
}

// Input is a reward model's tokenizer seen as its reward input: it turns
// a row's text or messages into the token ids transformers would score.
// It is an Encoder (plain text) and a SideEncoder (rows). Safe for
// concurrent use.
type Input struct {
	// Template chooses template or plain text (zero value: TemplateAuto).
	Template TemplateMode
	// Extra holds chat-template variables beyond the special tokens, e.g.
	// {"enable_thinking": false}; nil: none.
	Extra map[string]any

	hf *tokenizer.HF
	// gpt2 marks a GPT-2 directory: its plain text is encoded as the
	// study always has (tokenizer.Tokenizer.Encode: no special tokens
	// added, none recognised in the text), so GPT-2 rewards are unchanged.
	gpt2 bool
}

// NewInput reads the tokenizer of a model directory (tokenizer.FromHFDir).
// gpt2 selects GPT-2's plain-text encoding (see Input).
func NewInput(dir string, gpt2 bool) (*Input, error) {
	h, err := tokenizer.FromHFDir(dir)
	if err != nil {
		return nil, err
	}
	return &Input{hf: h, gpt2: gpt2}, nil
}

// Tokenizer returns the underlying HF tokenizer.
func (in *Input) Tokenizer() *tokenizer.HF { return in.hf }

// VocabSize is the tokenizer's vocabulary size (added tokens included).
func (in *Input) VocabSize() int { return in.hf.VocabSize() }

// HasTemplate reports whether the model has a chat template.
func (in *Input) HasTemplate() bool { return in.hf.ChatTemplate() != "" }

// Encode tokenizes a plain text as transformers' tokenizer(text) does:
// special-token text is matched and the post-processor's BOS/EOS are added
// (Llama 3 gets its BOS; Qwen nothing). GPT-2 directories keep the study's
// plain encoding (no special tokens added or recognised).
func (in *Input) Encode(text string) []int {
	if in.gpt2 {
		return in.hf.Base().Encode(text)
	}
	return chattemplate.PlainIDs(in.hf, "", text)
}

// Messages renders prompt + side as one conversation with the chat
// template and tokenizes it without adding special tokens (the template
// writes the BOS), as TRL and apply_chat_template do. Without a template it
// is an error naming the fix.
func (in *Input) Messages(prompt, side []prefdata.Message) ([]int, error) {
	if !in.HasTemplate() {
		return nil, fmt.Errorf("%w (--template off scores conversations as plain text)", chattemplate.ErrNoTemplate)
	}
	return chattemplate.ConversationIDs(in.hf, convert(prompt), convert(side), chattemplate.Options{Extra: in.Extra})
}

func convert(msgs []prefdata.Message) []chattemplate.Message {
	out := make([]chattemplate.Message, len(msgs))
	for i, m := range msgs {
		out[i] = chattemplate.Message{Role: m.Role, Content: m.Content}
	}
	return out
}

// Side returns the ids of one scored side of a row: prompt + response as
// strings, plus, for a conversational row, their messages (responseMsgs
// nil for a string row). The template mode decides how it is rendered.
func (in *Input) Side(prompt, response string, promptMsgs, responseMsgs []prefdata.Message) ([]int, error) {
	conv := responseMsgs != nil
	switch {
	case in.Template == TemplateOff, in.Template == TemplateAuto && (!conv || !in.HasTemplate()):
		if conv {
			prompt, response = prefdata.PlainText(promptMsgs), prefdata.PlainText(responseMsgs)
		}
		return in.Encode(prompt + response), nil
	case conv:
		return in.Messages(promptMsgs, responseMsgs)
	}
	var p []prefdata.Message
	if prompt != "" {
		p = []prefdata.Message{{Role: "user", Content: prompt}}
	}
	return in.Messages(p, []prefdata.Message{{Role: "assistant", Content: response}})
}

// SideEncoder turns one side of a row into token ids (see Input.Side).
// TextScorer and TokenizePairs use it when their Encoder has it.
type SideEncoder interface {
	Side(prompt, response string, promptMsgs, responseMsgs []prefdata.Message) ([]int, error)
}

var (
	_ Encoder     = (*Input)(nil)
	_ SideEncoder = (*Input)(nil)
)

// isGPT2 reports whether a model_type is GPT-2's ("" for old checkpoints).
func isGPT2(modelType string) bool { return modelType == "" || modelType == "gpt2" }

// LoadInput reads a model directory's reward input (its tokenizer) and its
// context length, without loading the weights.
func LoadInput(dir string) (*Input, int, error) {
	mt, err := ModelType(dir)
	if err != nil {
		return nil, 0, err
	}
	n, err := contextLen(dir, mt)
	if err != nil {
		return nil, 0, err
	}
	in, err := NewInput(dir, isGPT2(mt))
	if err != nil {
		return nil, 0, err
	}
	return in, n, nil
}

// contextLen is the longest sequence a model directory's config accepts.
func contextLen(dir, mt string) (int, error) {
	cfgPath := filepath.Join(dir, "config.json")
	if isGPT2(mt) {
		c, err := model.ReadConfig(cfgPath)
		return c.NPositions, err
	}
	if llama.Supports(mt) {
		c, err := llama.ReadConfig(cfgPath)
		return c.MaxPositionEmbeddings, err
	}
	return 0, unsupported(dir, mt)
}

func unsupported(dir, mt string) error {
	return fmt.Errorf("%s: model_type %q is not supported (reward models: gpt2, llama, qwen2, qwen3, mistral)", filepath.Join(dir, "config.json"), mt)
}

// VocabSize is a loaded reward model's vocabulary size (0 when the model
// does not say).
func VocabSize(m model.RewardModel) int {
	switch t := m.(type) {
	case *model.Model:
		return t.Config.VocabSize
	case *llama.Model:
		return t.Config().VocabSize
	}
	return 0
}

// AverageModels is the weight average (WA) of loaded reward models of one
// architecture: GPT-2 members are averaged in memory (Average); Llama-family
// members, which stay memory-mapped, are merged as `warm merge` does (the
// uniform linear merge, float64 accumulation, each tensor's dtype) into a
// temporary directory that is loaded and then removed (the mapping keeps
// the data until the model is closed).
func AverageModels(ms []model.RewardModel) (model.RewardModel, error) {
	if len(ms) == 0 {
		return nil, fmt.Errorf("average of no models")
	}
	switch ms[0].(type) {
	case *model.Model:
		gs := make([]*model.Model, len(ms))
		for i, m := range ms {
			g, ok := m.(*model.Model)
			if !ok {
				return nil, fmt.Errorf("model %d is %T, model 1 is GPT-2: members must share one architecture", i+1, m)
			}
			gs[i] = g
		}
		return Average(gs, nil)
	case *llama.Model:
		dirs := make([]string, len(ms))
		for i, m := range ms {
			l, ok := m.(*llama.Model)
			if !ok {
				return nil, fmt.Errorf("model %d is %T, model 1 is %s: members must share one architecture", i+1, m, ms[0].(*llama.Model).Config().ModelType)
			}
			dirs[i] = l.Dir()
		}
		return mergeDirs(dirs)
	}
	return nil, fmt.Errorf("weight averaging %T is not supported: merge the members with warm merge", ms[0])
}

// mergeDirs merges model directories into a temporary directory and loads
// the result.
func mergeDirs(dirs []string) (model.RewardModel, error) {
	tmp, err := os.MkdirTemp("", "warm-wa-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "wa")
	if err := mergeLinear(out, dirs); err != nil {
		return nil, fmt.Errorf("weight average of %v: %w", dirs, err)
	}
	return Load(out)
}

// mergeLinear writes the uniform weight average of dirs to out with the
// merge package's defaults (what `warm merge -o out DIR...` does).
func mergeLinear(out string, dirs []string) error {
	o := merge.Defaults()
	o.Models = dirs
	o.NoSync = true
	_, err := merge.Merge(out, o)
	return err
}

// EncodeChat renders one whole conversation with the chat template and
// tokenizes it as Messages does (for the server's "messages" items).
func (in *Input) EncodeChat(msgs []prefdata.Message) ([]int, error) {
	if !in.HasTemplate() {
		return nil, chattemplate.ErrNoTemplate
	}
	return chattemplate.ConversationIDs(in.hf, nil, convert(msgs), chattemplate.Options{Extra: in.Extra})
}

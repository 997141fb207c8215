package chattemplate

import (
	"errors"
	"strings"
)

// Tokenizer is what the conversation encoders need from a tokenizer;
// *tokenizer.HF provides it.
type Tokenizer interface {
	// Encode tokenizes text; addSpecial adds the tokenizer's BOS/EOS.
	Encode(text string, addSpecial bool) []int
	// ChatTemplate is the Jinja chat template, "" if the model has none.
	ChatTemplate() string
	// SpecialTokens maps bos_token, eos_token, ... to their strings.
	SpecialTokens() map[string]string
}

// Options choose how a conversation becomes text.
type Options struct {
	// Plain concatenates the message contents in order, with nothing
	// between them, instead of rendering the chat template; for models
	// without a template, or when asked to.
	Plain bool
	// Extra holds template variables beyond the tokenizer's special tokens
	// (which are always passed), e.g. {"enable_thinking": false}.
	Extra map[string]any
}

// ErrNoTemplate is returned for a conversation when the tokenizer has no chat
// template and Options.Plain is not set.
var ErrNoTemplate = errors.New("the tokenizer has no chat_template: use plain concatenation for this model")

// ConversationText returns the text a reward model scores for one side of a
// TRL conversational preference row: the shared prompt messages (nil for an
// implicit prompt) followed by the side's messages (chosen or rejected),
// rendered as one conversation with add_generation_prompt false, as TRL's
// RewardTrainer and transformers' apply_chat_template(prompt + side) do.
// With opts.Plain the message contents are concatenated instead.
func ConversationText(tok Tokenizer, prompt, side []Message, opts Options) (string, error) {
	msgs := make([]Message, 0, len(prompt)+len(side))
	msgs = append(append(msgs, prompt...), side...)
	if len(msgs) == 0 {
		return "", errors.New("empty conversation: no prompt and no response messages")
	}
	if opts.Plain {
		var b strings.Builder
		for _, m := range msgs {
			b.WriteString(m.Content)
		}
		return b.String(), nil
	}
	tmpl := tok.ChatTemplate()
	if tmpl == "" {
		return "", ErrNoTemplate
	}
	extra := make(map[string]any, len(opts.Extra)+4)
	for k, v := range tok.SpecialTokens() {
		extra[k] = v
	}
	for k, v := range opts.Extra {
		extra[k] = v
	}
	return Render(tmpl, msgs, false, extra)
}

// ConversationIDs is ConversationText tokenized as transformers tokenizes a
// chat template's output: without adding special tokens (the template writes
// BOS itself where the model wants it, so Llama 3 gets one BOS, not two).
// Plain text is tokenized as PlainIDs does, with the tokenizer's BOS/EOS.
func ConversationIDs(tok Tokenizer, prompt, side []Message, opts Options) ([]int, error) {
	text, err := ConversationText(tok, prompt, side, opts)
	if err != nil {
		return nil, err
	}
	return tok.Encode(text, opts.Plain), nil
}

// PlainIDs tokenizes a standard (string) row side, prompt + response, as
// transformers' tokenizer(prompt + response) does: the post-processor's
// BOS/EOS are added (Llama 3 gets its BOS, Qwen and GPT-2 nothing). No EOS is
// appended beyond that.
func PlainIDs(tok Tokenizer, prompt, response string) []int {
	return tok.Encode(prompt+response, true)
}

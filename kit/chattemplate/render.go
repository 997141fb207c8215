// Package chattemplate renders a model's Jinja chat template
// (tokenizer_config.json's chat_template) the way transformers'
// apply_chat_template does, and turns conversations into token ids for
// reward models.
//
// Templates run on github.com/ardanlabs/jinja (pure Go, written for LLM chat
// templates), which applies trim_blocks and lstrip_blocks as transformers'
// environment does; whitespace.go adds Jinja2's newline handling. See
// docs/chat-template.md for the Python semantics the library follows and the
// few it does not.
package chattemplate

import (
	"fmt"
	"sync"

	"github.com/ardanlabs/jinja"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// compiled caches compiled templates by source: a reward model renders the
// same template for every row.
var compiled sync.Map // string -> *jinja.Template

func compile(tmpl string) (*jinja.Template, error) {
	if t, ok := compiled.Load(tmpl); ok {
		return t.(*jinja.Template), nil
	}
	src, err := jinjaSource(tmpl)
	if err != nil {
		return nil, err
	}
	t, err := jinja.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("chat template: %v", err)
	}
	compiled.Store(tmpl, t)
	return t, nil
}

// Render renders tmpl for messages as transformers'
// apply_chat_template(messages, tokenize=False,
// add_generation_prompt=addGenerationPrompt, **extra) does. The template sees
// messages (a list of {role, content} dicts), add_generation_prompt, tools
// and documents (none), and every key of extra: pass the tokenizer's special
// tokens (bos_token, eos_token, ...) and template switches such as
// enable_thinking there. A template's raise_exception becomes the error.
func Render(tmpl string, messages []Message, addGenerationPrompt bool, extra map[string]any) (string, error) {
	t, err := compile(tmpl)
	if err != nil {
		return "", err
	}
	msgs := make([]jinja.Value, len(messages))
	for i, m := range messages {
		d := jinja.NewDict()
		d.AsDict().Set("role", jinja.NewString(m.Role))
		d.AsDict().Set("content", jinja.NewString(m.Content))
		msgs[i] = d
	}
	data := make(map[string]jinja.Value, len(extra)+4)
	for k, v := range extra {
		data[k] = jinja.FromGoValue(v)
	}
	data["messages"] = jinja.NewList(msgs)
	data["add_generation_prompt"] = jinja.NewBool(addGenerationPrompt)
	data["tools"] = jinja.None()
	data["documents"] = jinja.None()
	data[pyWhitespaceVar] = jinja.NewString(pyWhitespace)
	out, err := t.RenderValues(data)
	if err != nil {
		return "", fmt.Errorf("chat template: %v", err)
	}
	return out, nil
}

package chattemplate

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/warm-rm/warm/kit/tokenizer"
)

// conversations.json: Python jinja2's renderings (testdata/gen/render.py,
// set up as transformers sets it up) and HF tokenizers' ids for them
// (testdata/gen/tokenize.js).
type fixture struct {
	Tokenizer     string            `json:"tokenizer"` // directory under tokenizer/testdata
	Template      string            `json:"template"`  // when not the tokenizer's own
	SpecialTokens map[string]string `json:"special_tokens"`
	Cases         []struct {
		Messages            []Message      `json:"messages"`
		AddGenerationPrompt bool           `json:"add_generation_prompt"`
		Extra               map[string]any `json:"extra"`
		Text                string         `json:"text"`
		IDs                 []int          `json:"ids"`
		JSText              *string        `json:"js_text"`
	} `json:"cases"`
}

func loadFixture(t *testing.T) map[string]fixture {
	data, err := os.ReadFile("testdata/conversations.json")
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]fixture
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // integers stay integers for tojson, as in Python
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	return f
}

var toks sync.Map

func tok(t *testing.T, name string) *tokenizer.HF {
	if h, ok := toks.Load(name); ok {
		return h.(*tokenizer.HF)
	}
	h, err := tokenizer.FromHFDir(filepath.Join("..", "tokenizer", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	toks.Store(name, h)
	return h
}

func extra(h *tokenizer.HF, more map[string]any) map[string]any {
	m := map[string]any{}
	for k, v := range h.SpecialTokens() {
		m[k] = v
	}
	for k, v := range more {
		m[k] = v
	}
	return m
}

// TestRealTemplates renders Qwen3's and Llama 3.1's real chat templates and
// requires Python jinja2's text and HF tokenizers' ids exactly.
func TestRealTemplates(t *testing.T) {
	for name, f := range loadFixture(t) {
		t.Run(name, func(t *testing.T) {
			h := tok(t, f.Tokenizer)
			tmpl := f.Template
			if tmpl == "" {
				tmpl = h.ChatTemplate()
			}
			if len(f.Cases) < 20 {
				t.Fatalf("%d conversations, want >= 20", len(f.Cases))
			}
			for name, v := range f.SpecialTokens {
				if got := h.SpecialTokens()[name]; got != v {
					t.Errorf("special token %s = %q, fixture has %q", name, got, v)
				}
			}
			for i, c := range f.Cases {
				got, err := Render(tmpl, c.Messages, c.AddGenerationPrompt, extra(h, c.Extra))
				if err != nil {
					t.Errorf("case %d: %v", i, err)
					continue
				}
				if got != c.Text {
					t.Errorf("case %d: Render = %q, want %q", i, got, c.Text)
				}
				if ids := h.Encode(c.Text, false); !slices.Equal(ids, c.IDs) {
					t.Errorf("case %d: ids %v, want %v", i, ids, c.IDs)
				}
				if c.JSText != nil {
					t.Logf("case %d: @huggingface/jinja renders %q; Python (followed) %q", i, *c.JSText, c.Text)
				}
			}
		})
	}
}

// The facts the reward layer relies on (ENGINE-NOTES.md).
func TestTemplateFacts(t *testing.T) {
	conv := []Message{{"user", "Write add."}, {"assistant", "    return a+b"}}
	q := tok(t, "qwen3")
	got, err := Render(q.ChatTemplate(), conv, false, extra(q, nil))
	if err != nil {
		t.Fatal(err)
	}
	// Python's lstrip('\n') keeps the indentation; @huggingface/jinja drops it.
	if !strings.HasSuffix(got, "<|im_start|>assistant\n<think>\n\n</think>\n\n    return a+b<|im_end|>\n") {
		t.Errorf("qwen3: %q", got)
	}
	// The reward is read at the last token: "\n" after <|im_end|>.
	ids := q.Encode(got, false)
	imEnd, _ := q.TokenID("<|im_end|>")
	nl, _ := q.TokenID("Ċ")
	if n := len(ids); n < 2 || ids[n-2] != imEnd || ids[n-1] != nl {
		t.Errorf("qwen3: ids end %v, want [%d %d]", ids[max(0, len(ids)-2):], imEnd, nl)
	}
	l := tok(t, "llama3_1")
	got, err = Render(l.ChatTemplate(), conv, false, extra(l, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWrite add.<|eot_id|>" +
		"<|start_header_id|>assistant<|end_header_id|>\n\nreturn a+b<|eot_id|>"
	if got != want {
		t.Errorf("llama3_1: %q, want %q", got, want)
	}
	if ids := l.Encode(got, false); ids[0] != l.BOS() || ids[1] == l.BOS() {
		t.Errorf("llama3_1: want exactly one BOS at the start, got %v", ids[:2])
	}
}

// Python string semantics the chat templates use, each against the value
// Python 3 gives.
func TestPythonSemantics(t *testing.T) {
	cases := []struct {
		tmpl, want string
	}{
		{`{{ "\n\n  x\n"|trim }}`, "x"},
		{`{{ "\n\n  x\n".lstrip("\n") }}`, "  x\n"},
		{`{{ "ab\n\n".rstrip("\n") }}`, "ab"},
		{`{{ "\nab\n".strip("\n") }}`, "ab"},
		{`{{ "a</think>b</think>c".split("</think>")[-1] }}`, "c"},
		{`{{ "a</think>b".split("</think>")[0] }}`, "a"},
		{`{{ "<tool_response>x".startswith("<tool_response>") }}`, "True"},
		{`{{ "x</tool_response>".endswith("</tool_response>") }}`, "True"},
		{`{{ {"a": 1, "b": [1, "é"]}|tojson }}`, `{"a": 1, "b": [1, "é"]}`},
		{`{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}`, "2"},
		{`{% for m in messages[::-1] %}{{ loop.index0 }}{{ m.role }}{% endfor %}`, "0assistant1user"},
		{`{% for m in messages %}{{ loop.first }}{{ loop.last }}{% endfor %}`, "TrueFalseFalseTrue"},
		{`{{ tools is none }}{{ documents is none }}{{ add_generation_prompt }}`, "TrueTrueFalse"},
		{`{% if tools %}x{% else %}no tools{% endif %}`, "no tools"},
		{`{{ messages[0]['content'] }}{{ messages[1].content }}`, "hiho"},
		// No-argument strip/lstrip/rstrip and trim remove all of Python's
		// whitespace (str.isspace), \x1c-\x1f and \x85 included.
		{"{{ w.strip() }}|{{ w.lstrip() }}|{{ w.rstrip() }}|{{ w|trim }}|{{ (w|trim)|length }}",
			"a b|a b\x1f\u3000|\x1c\v a b|a b|3"},
		{"{{ w | trim + '!' }}{{ w.strip( ) ~ '?' }}", "a b!a b?"},
		// Only code is rewritten: strings and text keep ".strip()".
		{`{{ ".strip() |trim" }} |trim .strip()`, ".strip() |trim |trim .strip()"},
	}
	msgs := []Message{{"user", "hi"}, {"assistant", "ho"}}
	vars := map[string]any{"w": "\x1c\v a b\x1f\u3000"}
	for _, c := range cases {
		t.Run(c.tmpl, func(t *testing.T) {
			got, err := Render(c.tmpl, msgs, false, vars)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	if _, err := Render(`{{ raise_exception("roles must alternate") }}`, msgs, false, nil); err == nil || !strings.Contains(err.Error(), "roles must alternate") {
		t.Errorf("raise_exception: error %v", err)
	}
	if _, err := Render(`{% if %}`, msgs, false, nil); err == nil {
		t.Error("a malformed template rendered")
	}
	if _, err := Render("x\n  {%+ if true %}A{% endif %}", msgs, false, nil); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("{%%+: error %v, want one naming line 2", err)
	}
}

// trim_blocks and lstrip_blocks as transformers' Jinja environment has them,
// each against Python jinja2's output.
func TestBlockWhitespace(t *testing.T) {
	cases := []struct {
		name, tmpl, want string
	}{
		{"trim_blocks", "{% if true %}\nA\n{% endif %}\nB", "A\nB"},
		{"trim_blocks once", "{% if true %}\n\nA{% endif %}", "\nA"},
		{"lstrip_blocks", "x\n    {% if true %}\n    y\n    {% endif %}\nz", "x\n    y\nz"},
		{"comment", "  {# c #}\nA", "A"},
		{"expressions untouched, one trailing newline dropped", "  {{ 'a' }}\n{{ 'b' }}\n", "  a\nb"},
		{"minus", "A  {%- if true -%}  B  {%- endif %}\nC", "ABC"},
		{"string holding %}", "{% set s = '%}' %}\n{{ s }}", "%}"},
		{"crlf source", "{% if true %}\r\nA\r\n{% endif %}\rB\r\n\r\n", "A\nB\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Render(c.tmpl, nil, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// Known departures from Python (docs/chat-template.md), pinned so that a
// library upgrade that changes them shows up here. None occurs in the real
// templates tested above.
func TestKnownDepartures(t *testing.T) {
	cases := []struct {
		name, tmpl, got, python string
	}{
		// Python's json.dumps keeps a dict's insertion order.
		{"tojson key order", "{{ d|tojson }}", `{"a": 2, "b": 1}`, `{"b": 1, "a": 2}`},
	}
	extra := map[string]any{"d": map[string]any{"b": 1, "a": 2}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Render(c.tmpl, nil, false, extra)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.got {
				t.Errorf("got %q; the pinned departure is %q (Python: %q): update docs/chat-template.md", got, c.got, c.python)
			}
		})
	}
}

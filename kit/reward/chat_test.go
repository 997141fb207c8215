package reward

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/chattemplate"
	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/tokenizer"
)

// conversation is one case of chattemplate/testdata/conversations.json:
// messages rendered by Python's jinja2 and tokenized by HF's tokenizers.
type conversation struct {
	Messages []prefdata.Message `json:"messages"`
	Gen      bool               `json:"add_generation_prompt"`
	IDs      []int              `json:"ids"`
}

func conversations(t *testing.T, name string) []conversation {
	t.Helper()
	var fx map[string]struct {
		Cases []conversation `json:"cases"`
	}
	b, err := os.ReadFile(filepath.Join("..", "chattemplate", "testdata", "conversations.json"))
	if err == nil {
		err = json.Unmarshal(b, &fx)
	}
	if err != nil {
		t.Fatal(err)
	}
	return fx[name].Cases
}

func tokDir(name string) string { return filepath.Join("..", "tokenizer", "testdata", name) }

// TestInputSide: which rows go through the chat template in each mode, and
// that a templated conversation has transformers' ids (one BOS for Llama 3).
func TestInputSide(t *testing.T) {
	qwen, err := NewInput(tokDir("qwen3"), false)
	if err != nil {
		t.Fatal(err)
	}
	llama3, err := NewInput(tokDir("llama3_1"), false)
	if err != nil {
		t.Fatal(err)
	}
	gpt2, err := NewInput(tokDir("gpt2"), true)
	if err != nil {
		t.Fatal(err)
	}
	qc, lc := conversations(t, "qwen3"), conversations(t, "llama3_1")
	// Case 1 is [user "What is 2+2?", assistant "4"] in both fixtures.
	q1, l1 := qc[1], lc[1]
	if q1.Messages[0].Content != "What is 2+2?" || l1.Messages[1].Content != "4" || q1.Gen || l1.Gen {
		t.Fatalf("fixture case 1 changed: %+v", q1.Messages)
	}
	user, asst := q1.Messages[:1], q1.Messages[1:]
	plainQwen := qwen.Tokenizer().Encode("What is 2+2?4", true)
	plainConv := qwen.Tokenizer().Encode(prefdata.PlainText(q1.Messages), true)
	for _, c := range []struct {
		name         string
		in           *Input
		mode         TemplateMode
		prompt, resp string
		pm, rm       []prefdata.Message
		want         []int
		wantErr      error
	}{
		{"qwen auto conversation", qwen, TemplateAuto, "", "", user, asst, q1.IDs, nil},
		{"qwen auto implicit prompt", qwen, TemplateAuto, "", "", []prefdata.Message{}, q1.Messages, q1.IDs, nil},
		{"qwen auto string", qwen, TemplateAuto, "What is 2+2?", "4", nil, nil, plainQwen, nil},
		{"qwen on string", qwen, TemplateOn, "What is 2+2?", "4", nil, nil, q1.IDs, nil},
		{"qwen off conversation", qwen, TemplateOff, "", "", user, asst, plainConv, nil},
		{"llama auto conversation", llama3, TemplateAuto, "", "", user, asst, l1.IDs, nil},
		{"gpt2 on without template", gpt2, TemplateOn, "a", "b", nil, nil, nil, chattemplate.ErrNoTemplate},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.in.Template = c.mode
			defer func() { c.in.Template = TemplateAuto }()
			got, err := c.in.Side(c.prompt, c.resp, c.pm, c.rm)
			if !errors.Is(err, c.wantErr) || (err == nil) != (c.wantErr == nil) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("ids %v\nwant %v", got, c.want)
			}
		})
	}
	// Llama 3: the template writes the BOS; tokenizing it adds none.
	bos := 0
	for _, id := range l1.IDs {
		if id == 128000 {
			bos++
		}
	}
	if bos != 1 || l1.IDs[0] != 128000 {
		t.Fatalf("llama fixture: %d BOS", bos)
	}
	// A Llama 3 string row gets the post-processor's BOS, as
	// tokenizer(prompt + response) does.
	if ids := llama3.Encode("hello"); len(ids) < 2 || ids[0] != 128000 {
		t.Fatalf("llama string %v: want a leading BOS", ids)
	}
	// GPT-2 text stays the study's plain encoding: special-token text is
	// not matched (tokenizer.Tokenizer.Encode, as before this package read
	// chat templates).
	base, err := tokenizer.LoadFiles(filepath.Join(tokDir("gpt2"), "vocab.json.gz"), filepath.Join(tokDir("gpt2"), "merges.txt.gz"))
	if err != nil {
		t.Fatal(err)
	}
	text := "hi<|endoftext|>there"
	if got := gpt2.Encode(text); !slices.Equal(got, base.Encode(text)) || slices.Contains(got, 50256) {
		t.Fatalf("gpt2 %v, want plain %v", got, base.Encode(text))
	}
}

func TestParseTemplateMode(t *testing.T) {
	for s, want := range map[string]TemplateMode{"auto": TemplateAuto, "on": TemplateOn, "off": TemplateOff} {
		if m, err := ParseTemplateMode(s); err != nil || m != want || m.String() != s {
			t.Errorf("%q: %v %v", s, m, err)
		}
	}
	if _, err := ParseTemplateMode("yes"); err == nil || !strings.Contains(err.Error(), "auto, on or off") {
		t.Errorf("bad mode: %v", err)
	}
}

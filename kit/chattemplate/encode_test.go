package chattemplate

import (
	"errors"
	"slices"
	"testing"

	"github.com/warm-rm/warm/kit/tokenizer"
)

// A TRL row with a shared prompt gives the ids of the whole conversation, as
// the fixture's Python rendering + HF tokenization does.
func TestConversationIDs(t *testing.T) {
	f := loadFixture(t)
	for _, name := range []string{"qwen3", "llama3_1"} {
		h := tok(t, name)
		for i, c := range f[name].Cases {
			if c.AddGenerationPrompt || c.Extra != nil || len(c.Messages) < 2 {
				continue
			}
			// Split after the last user turn: prompt, then the response side.
			cut := len(c.Messages) - 1
			for cut > 0 && c.Messages[cut].Role != "user" {
				cut--
			}
			prompt, side := c.Messages[:cut+1], c.Messages[cut+1:]
			got, err := ConversationIDs(h, prompt, side, Options{})
			if err != nil {
				t.Fatalf("%s case %d: %v", name, i, err)
			}
			if !slices.Equal(got, c.IDs) {
				t.Errorf("%s case %d: ids %v, want %v", name, i, got, c.IDs)
			}
			// Implicit prompt: the same messages in the side alone.
			got, err = ConversationIDs(h, nil, c.Messages, Options{})
			if err != nil || !slices.Equal(got, c.IDs) {
				t.Errorf("%s case %d implicit prompt: ids %v (%v), want %v", name, i, got, err, c.IDs)
			}
		}
	}
}

func TestPlainAndNoTemplate(t *testing.T) {
	gpt2, err := tokenizer.FromHFDir("../tokenizer/testdata/gpt2")
	if err != nil {
		t.Fatal(err)
	}
	prompt := []Message{{"user", "Hello"}}
	side := []Message{{"assistant", " world"}}
	if _, err := ConversationIDs(gpt2, prompt, side, Options{}); !errors.Is(err, ErrNoTemplate) {
		t.Errorf("no template: error %v, want ErrNoTemplate", err)
	}
	got, err := ConversationIDs(gpt2, prompt, side, Options{Plain: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{15496, 995}; !slices.Equal(got, want) {
		t.Errorf("plain: %v, want %v", got, want)
	}
	if got := PlainIDs(gpt2, "Hello", " world"); !slices.Equal(got, []int{15496, 995}) {
		t.Errorf("PlainIDs = %v", got)
	}
	// Llama 3's tokenizer adds its BOS to plain text; Qwen's adds nothing.
	l := tok(t, "llama3_1")
	if got := PlainIDs(l, "Hello", " world"); len(got) != 3 || got[0] != l.BOS() {
		t.Errorf("llama PlainIDs = %v, want BOS first", got)
	}
	q := tok(t, "qwen3")
	if got := PlainIDs(q, "Hello", " world"); len(got) != 2 {
		t.Errorf("qwen PlainIDs = %v, want 2 ids", got)
	}
	if _, err := ConversationIDs(q, nil, nil, Options{}); err == nil {
		t.Error("empty conversation accepted")
	}
}

// Rendering and encoding from several goroutines gives the same ids (the
// compiled-template cache and the tokenizer are shared).
func TestConcurrentConversationIDs(t *testing.T) {
	f := loadFixture(t)["qwen3"]
	h := tok(t, "qwen3")
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		go func() {
			for _, c := range f.Cases {
				if c.AddGenerationPrompt {
					continue
				}
				ids, err := ConversationIDs(h, nil, c.Messages, Options{})
				if err == nil && !slices.Equal(ids, c.IDs) {
					err = errors.New("ids differ under concurrency")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < 4; w++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

package serve

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// chatTok is byteTok that renders a conversation as "<role>content" turns,
// one token per byte, refusing a "tool" turn (a template error).
type chatTok struct{ byteTok }

func (c chatTok) EncodeChat(msgs []Message) ([]int, error) {
	var b strings.Builder
	for _, m := range msgs {
		if m.Role == "tool" {
			return nil, errors.New("template: tool turns unsupported")
		}
		b.WriteString("<" + m.Role + ">" + m.Content)
	}
	return c.Encode(b.String()), nil
}

// TestScoreMessages: /v1/score items given as "messages" are scored on the
// chat tokenizer's ids, next to plain items; misuse is a 400 (or 413 when
// the rendering is too long) naming the item.
func TestScoreMessages(t *testing.T) {
	b := testBackend(&hashScorer{})
	b.Tok = chatTok{}
	_, ts := newTestServer(t, Config{}, b)
	body := `{"items":[{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]},{"prompt":"a","response":"b"}]}`
	code, data := post(t, ts.Client(), ts.URL+"/v1/score", "", body)
	var got ScoreResponse
	if code != 200 || json.Unmarshal(data, &got) != nil || len(got.Rewards) != 2 {
		t.Fatalf("%d %s", code, data)
	}
	if want := refReward(byteTok{}.Encode("<user>hi<assistant>yo")); got.Rewards[0] != want {
		t.Errorf("messages item: reward %v, want %v", got.Rewards[0], want)
	}
	if want := refReward(byteTok{}.Encode("ab")); got.Rewards[1] != want {
		t.Errorf("plain item: reward %v, want %v", got.Rewards[1], want)
	}
	long := strings.Repeat("x", 70)
	for _, c := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"both", `{"items":[{"prompt":"p","response":"r","messages":[{"role":"user","content":"x"}]}]}`, 400, `item 0: give "messages" or "prompt"/"response"`},
		{"empty messages", `{"items":[{"messages":[]}]}`, 400, `item 0: "messages" is empty`},
		{"template error", `{"items":[{"prompt":"a","response":"b"},{"messages":[{"role":"tool","content":"x"}]}]}`, 400, "item 1: template: tool turns unsupported"},
		{"too long", `{"items":[{"messages":[{"role":"user","content":"` + long + `"}]}]}`, 413, "item 0: 76 tokens, limit 64"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, data := post(t, ts.Client(), ts.URL+"/v1/score", "", c.body)
			var e struct{ Error string }
			json.Unmarshal(data, &e)
			if code != c.code || !strings.Contains(e.Error, c.want) {
				t.Errorf("%d %s, want %d with %q", code, data, c.code, c.want)
			}
		})
	}
	// A tokenizer without chat support refuses messages.
	_, plain := newTestServer(t, Config{}, testBackend(&hashScorer{}))
	code, data = post(t, plain.Client(), plain.URL+"/v1/score", "", `{"items":[{"messages":[{"role":"user","content":"x"}]}]}`)
	if code != 400 || !strings.Contains(string(data), "no chat template") {
		t.Errorf("plain tokenizer: %d %s", code, data)
	}
}

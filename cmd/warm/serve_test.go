package main

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/model/modeltest"
	"github.com/warm-rm/warm/kit/safetensors"
	"github.com/warm-rm/warm/kit/serve"
	"github.com/warm-rm/warm/kit/tokenizer"
)

var serveTexts = []string{
	"The people of the United States have always known that",
	"It was a cold night, and the wind came down from the hills.",
	"I have always thought that the best of us are the ones who",
	"We will build a better future together, with hope and courage.",
}

// writeRM saves a tiny random GPT-2 reward model with tok's files into dir.
func writeRM(t *testing.T, dir string, tok *tokenizer.Tokenizer, seed uint64) *model.Model {
	t.Helper()
	cfg := model.Config{
		VocabSize: tok.VocabSize(), NPositions: 48, NEmbd: 32, NLayer: 2, NHead: 4,
		LayerNormEps: 1e-5, BOSTokenID: -1, EOSTokenID: -1, PadTokenID: -1,
		Architecture: model.ArchRewardModel,
	}
	m := model.New(cfg, seed)
	// Scale the head up so rewards differ visibly between items and seeds.
	for i := range m.Param("score.weight").W {
		m.Param("score.weight").W[i] *= 50
	}
	if err := tok.Save(dir, cfg.NPositions); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(dir, safetensors.F32); err != nil {
		t.Fatal(err)
	}
	return m
}

func trainTok(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.Train(serveTexts, 300, []string{"<|endoftext|>"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestServeRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		t.Setenv("WARM_SERVE_TOKEN", "")
		err := runServe([]string{"--model", "/nonexistent", "--addr", addr}, nil, nil)
		if err == nil || !strings.Contains(err.Error(), "refusing to listen") {
			t.Errorf("--addr %s without token: err %v, want refusal", addr, err)
		}
	}
	// With --insecure (or a token) the address check passes and the next
	// problem is the missing model, named by its path: nothing was bound.
	for _, args := range [][]string{
		{"--model", "/nonexistent/rm", "--addr", "0.0.0.0:0", "--insecure"},
		{"--model", "/nonexistent/rm", "--addr", "0.0.0.0:0", "--token", "t"},
	} {
		err := runServe(args, nil, nil)
		if err == nil || strings.Contains(err.Error(), "refusing") || !strings.Contains(err.Error(), "/nonexistent/rm") {
			t.Errorf("%v: err %v, want an error naming the missing model", args, err)
		}
	}
	if err := runServe([]string{"--addr", "127.0.0.1:0"}, nil, nil); err == nil || !strings.Contains(err.Error(), "--model") {
		t.Errorf("no --model: %v", err)
	}
}

func TestServeRejectsLMCheckpoint(t *testing.T) {
	dir := t.TempDir()
	tok := trainTok(t)
	m := writeRM(t, dir, tok, 1)
	m.AsLanguageModel()
	if err := m.Save(dir, safetensors.F32); err != nil {
		t.Fatal(err)
	}
	err := runServe([]string{"--model", dir, "--addr", "127.0.0.1:0"}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "not a reward model") {
		t.Errorf("LM checkpoint: %v", err)
	}
}

func postJSON(t *testing.T, url string, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// startServe runs the verb in the background until it is listening: its
// URL, the signal channel it obeys and the channel of its return value.
func startServe(t *testing.T, args ...string) (url string, sigs chan os.Signal, done chan error) {
	t.Helper()
	sigs = make(chan os.Signal, 1)
	addrc := make(chan string, 1)
	done = make(chan error, 1)
	go func() { done <- runServe(args, sigs, func(a string) { addrc <- a }) }()
	select {
	case a := <-addrc:
		return "http://" + a, sigs, done
	case err := <-done:
		t.Fatal(err)
	}
	return "", nil, nil
}

// TestServeEndToEnd runs the verb on 127.0.0.1 with a real (random) GPT-2
// reward model and two members, checks batched answers against scoring each
// item alone with the engine, reloads on SIGHUP and stops on SIGTERM.
func TestServeEndToEnd(t *testing.T) {
	tok := trainTok(t)
	mainDir, m1, m2 := t.TempDir(), t.TempDir(), t.TempDir()
	rm := writeRM(t, mainDir, tok, 1)
	mem := []*model.Model{writeRM(t, m1, tok, 2), writeRM(t, m2, tok, 3)}

	url, sigs, done := startServe(t, "--model", mainDir, "--members", m1, m2, "--addr", "127.0.0.1:0", "--max-batch", "3")

	var items []serve.ScoreItem
	var seqs [][]int
	for i, s := range serveTexts {
		cut := len(s) / 2
		resp := s[cut:]
		items = append(items, serve.ScoreItem{Prompt: s[:cut], Response: &resp})
		seqs = append(seqs, tok.Encode(serveTexts[i]))
	}
	body, _ := json.Marshal(serve.ScoreRequest{Items: items})
	code, data := postJSON(t, url+"/v1/score", string(body))
	var got serve.ScoreResponse
	if code != 200 || json.Unmarshal(data, &got) != nil {
		t.Fatalf("/v1/score: %d %s", code, data)
	}
	// Reference: each item alone, straight through the engine. Packed
	// batches compute each sequence's rows exactly as alone up to summation
	// order in the matmuls, hence the 1e-5 tolerance.
	for i, s := range seqs {
		want := modeltest.Rewards(t, rm, [][]int{s})[0]
		if d := math.Abs(float64(got.Rewards[i] - want)); d > 1e-5*(1+math.Abs(float64(want))) {
			t.Errorf("item %d: served %v, engine alone %v", i, got.Rewards[i], want)
		}
		a, b := modeltest.Rewards(t, mem[0], [][]int{s})[0], modeltest.Rewards(t, mem[1], [][]int{s})[0]
		wantStd := math.Abs(float64(a-b)) / 2 // population std of two values
		if d := math.Abs(float64(got.Std[i]) - wantStd); d > 1e-5*(1+wantStd) {
			t.Errorf("item %d: std %v, want %v", i, got.Std[i], wantStd)
		}
	}
	// `warm score` on the same rows gives the same rewards.
	var jsonl bytes.Buffer
	for _, it := range items {
		jsonl.Write(mustJSON(map[string]string{"prompt": it.Prompt, "response": *it.Response}))
		jsonl.WriteByte('\n')
	}
	rows := filepath.Join(t.TempDir(), "rows.jsonl")
	if err := os.WriteFile(rows, jsonl.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var scoreOut, scoreErr bytes.Buffer
	if err := scoreMain([]string{"--model", mainDir, "--data", rows}, &scoreOut, &scoreErr); err != nil {
		t.Fatalf("warm score: %v (%s)", err, scoreErr.String())
	}
	dec := json.NewDecoder(&scoreOut)
	for i := range items {
		var row struct{ Reward float32 }
		if err := dec.Decode(&row); err != nil {
			t.Fatalf("warm score output row %d: %v", i, err)
		}
		if d := math.Abs(float64(row.Reward - got.Rewards[i])); d > 1e-5*(1+math.Abs(float64(row.Reward))) {
			t.Errorf("item %d: served %v, warm score %v", i, got.Rewards[i], row.Reward)
		}
	}

	// OpenRLHF endpoint scores the query text as is: same numbers.
	q, _ := json.Marshal(map[string]any{"query": serveTexts[:2], "prompts": []string{"a", "b"}, "labels": []any{nil, nil}})
	code, data = postJSON(t, url+"/get_reward", string(q))
	var gr serve.GetRewardResponse
	if code != 200 || json.Unmarshal(data, &gr) != nil || len(gr.Rewards) != 2 || gr.Rewards[0] != got.Rewards[0] || gr.Rewards[1] != got.Rewards[1] {
		t.Fatalf("/get_reward: %d %s (want rewards %v)", code, data, got.Rewards[:2])
	}
	// Too long for n_positions 48: 413 with a JSON error.
	long := strings.Repeat("hope and courage ", 40)
	if code, data := postJSON(t, url+"/get_reward", `{"query":["`+long+`"]}`); code != 413 || !bytes.Contains(data, []byte("limit 48")) {
		t.Errorf("over-long item: %d %s", code, data)
	}

	// Hot reload: new weights in the main dir, SIGHUP, answers change to
	// the new model's.
	rm2 := writeRM(t, mainDir, tok, 9)
	want2 := modeltest.Rewards(t, rm2, [][]int{seqs[0]})[0]
	if math.Abs(float64(want2-got.Rewards[0])) < 1e-3 {
		t.Fatalf("reload test is blind: old and new models agree (%v)", want2)
	}
	sigs <- syscall.SIGHUP
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, data := postJSON(t, url+"/get_reward", `{"query":[`+string(mustJSON(serveTexts[0]))+`]}`)
		var r serve.GetRewardResponse
		if code != 200 || json.Unmarshal(data, &r) != nil {
			t.Fatalf("during reload: %d %s", code, data)
		}
		if math.Abs(float64(r.Rewards[0]-want2)) <= 1e-5*(1+math.Abs(float64(want2))) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGHUP reward %v, new model gives %v", r.Rewards[0], want2)
		}
		time.Sleep(20 * time.Millisecond)
	}

	sigs <- syscall.SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestWarnMembers(t *testing.T) {
	tok := trainTok(t)
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	ma, mb := writeRM(t, a, tok, 1), writeRM(t, b, tok, 2)
	mc := writeRM(t, c, tok, 1) // same seed as a: identical weights
	for _, tc := range []struct {
		name   string
		dirs   []string
		models []model.RewardModel
		want   string
	}{
		{"one member", []string{a}, []model.RewardModel{ma}, "has one model"},
		{"same directory", []string{a, b, a + "/"}, []model.RewardModel{ma, mb, ma}, "is the same directory as member " + a},
		{"identical weights", []string{a, b, c}, []model.RewardModel{ma, mb, mc}, c + " has weights identical to member " + a},
		{"distinct", []string{a, b}, []model.RewardModel{ma, mb}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			warnMembers(&buf, tc.dirs, tc.models)
			if tc.want == "" && buf.Len() != 0 || !strings.Contains(buf.String(), tc.want) {
				t.Errorf("warning %q, want one containing %q", buf.String(), tc.want)
			}
		})
	}
}

// TestServeRefusesBrokenModels: NaN weights and a config that does not
// match the weights are errors at start (never a panic); the same loader
// refuses them at reload.
func TestServeRefusesBrokenModels(t *testing.T) {
	tok := trainTok(t)
	nanDir := t.TempDir()
	m := writeRM(t, nanDir, tok, 1)
	m.Param("transformer.h.1.mlp.c_fc.weight").W[7] = float32(math.NaN())
	if err := m.Save(nanDir, safetensors.F32); err != nil {
		t.Fatal(err)
	}
	bigDir := t.TempDir()
	writeRM(t, bigDir, tok, 1)
	cfgPath := filepath.Join(bigDir, "config.json")
	raw, _ := os.ReadFile(cfgPath)
	var cj map[string]any
	json.Unmarshal(raw, &cj)
	cj["n_embd"], cj["n_head"] = 1<<24, 1
	raw, _ = json.Marshal(cj)
	os.WriteFile(cfgPath, raw, 0o644)
	for _, tc := range []struct{ dir, want string }{
		{nanDir, `"transformer.h.1.mlp.c_fc.weight" element 7 is NaN`},
		{bigDir, "config.json implies"},
	} {
		err := runServe([]string{"--model", tc.dir, "--addr", "127.0.0.1:0"}, nil, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.dir) {
			t.Errorf("serve %s: %v, want an error naming the directory with %q", tc.dir, err, tc.want)
		}
	}
}

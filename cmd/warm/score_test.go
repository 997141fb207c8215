package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/model/modeltest"
	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/tokenizer"
)

const scoreFixture = "../../kit/model/testdata"

// TestScoreMatchesTorch is the acceptance test: `warm score` on an HF
// reward-model directory (tokenizer files included) reproduces the
// rewards of the independent PyTorch GPT-2 + Python BPE in
// model/testdata/gen_fixture.py, on text with unicode, emoji, tabs and
// newlines, to 1e-4 relative, for several batch sizes.
func TestScoreMatchesTorch(t *testing.T) {
	expect := readExpected(t)
	// prefdata reads one kind of row per file: split the fixture into its
	// texts and its pairs, keeping each row's expected rewards.
	raw, err := os.ReadFile(filepath.Join(scoreFixture, "score.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var texts, pairs []string
	var wantTexts, wantPairs []map[string]json.RawMessage
	for i, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if strings.Contains(l, `"chosen"`) {
			pairs, wantPairs = append(pairs, l), append(wantPairs, expect[i])
		} else {
			texts, wantTexts = append(texts, l), append(wantTexts, expect[i])
		}
	}
	if len(texts) == 0 || len(pairs) == 0 {
		t.Fatalf("fixture has %d texts and %d pairs, want both", len(texts), len(pairs))
	}
	dir := t.TempDir()
	for _, part := range []struct {
		name   string
		rows   []string
		expect []map[string]json.RawMessage
	}{{"texts", texts, wantTexts}, {"pairs", pairs, wantPairs}} {
		path := filepath.Join(dir, part.name+".jsonl")
		if err := os.WriteFile(path, []byte(strings.Join(part.rows, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, batch := range []string{"1", "3", "32"} {
			var out, errb bytes.Buffer
			err := scoreMain([]string{"--model", filepath.Join(scoreFixture, "hf_rm"), "--data", path, "--batch", batch}, &out, &errb)
			if err != nil {
				t.Fatalf("%s batch %s: %v (%s)", part.name, batch, err, errb.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != len(part.expect) {
				t.Fatalf("%s batch %s: %d output rows, want %d", part.name, batch, len(lines), len(part.expect))
			}
			for i, l := range lines {
				var got map[string]float64
				if err := json.Unmarshal([]byte(l), &got); err != nil {
					t.Fatalf("row %d: %q: %v", i, l, err)
				}
				if got["id"] != float64(i) {
					t.Errorf("%s row %d: id %v, want the row index", part.name, i, got["id"])
				}
				// The fixture names the pair rewards as the old output did.
				n := 0
				for k, key := range map[string]string{"reward": "reward", "chosen_reward": "reward_chosen", "rejected_reward": "reward_rejected"} {
					w, ok := part.expect[i][k]
					if !ok {
						continue
					}
					n++
					var want float64
					json.Unmarshal(w, &want)
					g, ok := got[key]
					if !ok || math.Abs(g-want) > 1e-4*math.Abs(want) {
						t.Errorf("%s batch %s row %d %s: got %v, torch %v", part.name, batch, i+1, key, g, want)
					}
				}
				if n == 0 {
					t.Fatalf("%s row %d: no expected reward in the fixture", part.name, i)
				}
			}
		}
	}
}

func readExpected(t *testing.T) []map[string]json.RawMessage {
	f, err := os.Open(filepath.Join(scoreFixture, "score_expected.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []map[string]json.RawMessage
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	return rows
}

// TestScoreTokenIDs: the Go tokenizer produces the Python BPE's ids on the
// fixture texts, so a reward mismatch would point at the model.
func TestScoreTokenIDs(t *testing.T) {
	tok, err := tokenizer.Load(filepath.Join(scoreFixture, "hf_rm"))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.ReadFile(filepath.Join(scoreFixture, "score.jsonl"))
	exp := readExpected(t)
	for i, line := range strings.Split(strings.TrimSpace(string(f)), "\n") {
		var r map[string]string
		json.Unmarshal([]byte(line), &r)
		var want [][]int
		json.Unmarshal(exp[i]["ids"], &want)
		texts := []string{r["prompt"] + r["response"]}
		if _, ok := r["chosen"]; ok {
			texts = []string{r["prompt"] + r["chosen"], r["prompt"] + r["rejected"]}
		}
		for k, text := range texts {
			got := tok.Encode(text)
			if len(got) != len(want[k]) {
				t.Errorf("row %d text %d: %d ids, python %d", i+1, k, len(got), len(want[k]))
				continue
			}
			for j := range got {
				if got[j] != want[k][j] {
					t.Errorf("row %d text %d: ids %v, python %v", i+1, k, got, want[k])
					break
				}
			}
		}
	}
}

func TestScoreErrors(t *testing.T) {
	dir := t.TempDir()
	mdl := filepath.Join(scoreFixture, "hf_rm")
	long := strings.Repeat("fox ", 200)
	for _, c := range []struct{ data, want string }{
		{`{"prompt":"a","response":"b"}` + "\n" + `{"prompt":"a","chosen":"b"}` + "\n", "rows.jsonl:2:"},
		{`{"prompt":"a","response":"b"}` + "\n\n" + `{"prompt":1,"response":"b"}` + "\n", "rows.jsonl:3:"},
		{`not json`, "rows.jsonl:1:"},
		{`{"prompt":"","response":""}`, `rows.jsonl:1: "response" is empty`},
		{`{"prompt":"x","response":"` + long + `"}`, "rows.jsonl: row 1: text has"},
	} {
		path := filepath.Join(dir, "rows.jsonl")
		os.WriteFile(path, []byte(c.data), 0o644)
		var out, errb bytes.Buffer
		err := scoreMain([]string{"--model", mdl, "--data", path}, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.data, err, c.want)
		}
		if out.Len() != 0 {
			t.Errorf("%q: partial output %q", c.data, out.String())
		}
	}
	// A language model (no score head) is refused.
	m, err := model.Load(mdl)
	if err != nil {
		t.Fatal(err)
	}
	m.AsLanguageModel()
	lmDir := filepath.Join(dir, "lm")
	if err := m.Save(lmDir, "F32"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"vocab.json", "merges.txt"} {
		b, _ := os.ReadFile(filepath.Join(mdl, f))
		os.WriteFile(filepath.Join(lmDir, f), b, 0o644)
	}
	path := filepath.Join(dir, "ok.jsonl")
	os.WriteFile(path, []byte(`{"prompt":"a","response":"b"}`), 0o644)
	var out, errb bytes.Buffer
	if err := scoreMain([]string{"--model", lmDir, "--data", path}, &out, &errb); err == nil || !strings.Contains(err.Error(), "not a reward model") {
		t.Errorf("LM directory: error %v", err)
	}
}

// TestScoreTruncate: --truncate left scores the last n_positions tokens,
// right the first ones, the same as the model on those tokens.
func TestScoreTruncate(t *testing.T) {
	dir := t.TempDir()
	mdl := filepath.Join(scoreFixture, "hf_rm")
	text := strings.Repeat("The fox runs; ", 40) + "end."
	path := filepath.Join(dir, "rows.jsonl")
	row, _ := json.Marshal(map[string]string{"prompt": "", "response": text})
	os.WriteFile(path, row, 0o644)
	m, err := model.Load(mdl)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := tokenizer.Load(mdl)
	ids := tok.Encode(text)
	P := m.Config.NPositions
	if len(ids) <= P {
		t.Fatalf("test text has only %d tokens", len(ids))
	}
	for mode, seq := range map[string][]int{"left": ids[len(ids)-P:], "right": ids[:P]} {
		var out, errb bytes.Buffer
		if err := scoreMain([]string{"--model", mdl, "--data", path, "--truncate", mode}, &out, &errb); err != nil {
			t.Fatal(err)
		}
		var got struct{ Reward float32 }
		json.Unmarshal(out.Bytes(), &got)
		if want := modeltest.Rewards(t, m, [][]int{seq})[0]; got.Reward != want {
			t.Errorf("--truncate %s: reward %v, model on truncated ids %v", mode, got.Reward, want)
		}
	}
}

// TestScoreOutputs: the same pairs as JSONL and as Parquet score the
// same; --out writes the file (CSV with --format csv, inputs with
// --with-input); ids are copied; an empty file warns and exits cleanly.
func TestScoreOutputs(t *testing.T) {
	dir := t.TempDir()
	mdl := filepath.Join(scoreFixture, "hf_rm")
	rows := []prefdata.Row{
		{ID: "q1", Prompt: "Question: is it good?", Chosen: " Yes, it is lovely.", Rejected: " No, awful."},
		{Prompt: "", Chosen: "The sky is blue.", Rejected: "The sky is green."},
	}
	jl, pq := filepath.Join(dir, "pairs.jsonl"), filepath.Join(dir, "pairs.parquet")
	if err := prefdata.WriteJSONL(jl, rows); err != nil {
		t.Fatal(err)
	}
	if err := prefdata.WriteParquet(pq, rows); err != nil {
		t.Fatal(err)
	}
	score := func(args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if err := scoreMain(append([]string{"--model", mdl}, args...), &out, &errb); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String(), errb.String()
	}
	a, _ := score("--data", jl)
	b, _ := score("--data", pq)
	if a != b || strings.Count(a, "\n") != 2 {
		t.Fatalf("JSONL gave\n%s\nParquet gave\n%s", a, b)
	}
	var first map[string]any
	json.Unmarshal([]byte(strings.SplitN(a, "\n", 2)[0]), &first)
	if first["id"] != "q1" || first["margin"] == nil {
		t.Errorf("first record %v: want id q1 and a margin", first)
	}
	csvPath := filepath.Join(dir, "scores.csv")
	if out, _ := score("--data", pq, "--format", "csv", "--with-input", "-o", csvPath); out != "" {
		t.Errorf("stdout %q with --out", out)
	}
	got, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != 3 || lines[0] != "id,reward_chosen,reward_rejected,margin,prompt,chosen,rejected" ||
		!strings.HasPrefix(lines[1], "q1,") || !strings.HasPrefix(lines[2], "1,") || !strings.Contains(lines[1], "lovely") {
		t.Errorf("CSV:\n%s", got)
	}
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, nil, 0o644)
	if out, warn := score("--data", empty); out != "" || !strings.Contains(warn, "empty.jsonl: no rows") {
		t.Errorf("empty input: stdout %q, stderr %q", out, warn)
	}
}

// TestScoreConversational: chat-message rows are scored as their plain
// text (prefdata.PlainText), the same rewards as the text rows; a model
// with a chat template gets a warning that it is not applied.
func TestScoreConversational(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(scoreFixture, "hf_rm")
	mdl := filepath.Join(dir, "rm")
	os.Mkdir(mdl, 0o755)
	ents, _ := os.ReadDir(src)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(mdl, e.Name()), b, 0o644)
	}
	conv := filepath.Join(dir, "conv.jsonl")
	os.WriteFile(conv, []byte(`{"prompt":[{"role":"user","content":"Is it good?"}],"response":[{"role":"assistant","content":"Yes, lovely."}]}`+"\n"), 0o644)
	text := filepath.Join(dir, "text.jsonl")
	os.WriteFile(text, []byte(`{"prompt":"\n\nUser: Is it good?","response":"\n\nAssistant: Yes, lovely."}`+"\n"), 0o644)
	score := func(path string) (string, string) {
		var out, errb bytes.Buffer
		if err := scoreMain([]string{"--model", mdl, "--data", path}, &out, &errb); err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String()
	}
	a, warnA := score(conv)
	b, _ := score(text)
	if a != b || warnA != "" {
		t.Fatalf("conversational %q (stderr %q), plain text %q", a, warnA, b)
	}
	os.WriteFile(filepath.Join(mdl, "tokenizer_config.json"), []byte(`{"chat_template":"{% for m in messages %}{{ m.content }}{% endfor %}"}`), 0o644)
	// With a chat template, a conversational row is rendered by it (here:
	// the contents back to back); --template off keeps the plain text.
	os.WriteFile(text, []byte(`{"prompt":"Is it good?","response":"Yes, lovely."}`+"\n"), 0o644)
	rendered, _ := score(text)
	if c, warn := score(conv); c != rendered || c == a || warn != "" {
		t.Fatalf("with a chat template: %q (stderr %q), want the rendered text's %q", c, warn, rendered)
	}
	var out, errb bytes.Buffer
	if err := scoreMain([]string{"--model", mdl, "--data", conv, "--template", "off"}, &out, &errb); err != nil || out.String() != a {
		t.Fatalf("--template off: %q %v, want the plain text's %q", out.String(), err, a)
	}
}

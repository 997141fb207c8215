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

	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/model/modeltest"
	"github.com/warm-rm/warm/tokenizer"
)

const scoreFixture = "../../model/testdata"

// TestScoreMatchesTorch is the acceptance test: `warm score` on an HF
// reward-model directory (tokenizer files included) reproduces the
// rewards of the independent PyTorch GPT-2 + Python BPE in
// model/testdata/gen_fixture.py, on text with unicode, emoji, tabs and
// newlines, to 1e-4 relative, for several batch sizes.
func TestScoreMatchesTorch(t *testing.T) {
	expect := readExpected(t)
	for _, batch := range []string{"1", "3", "32"} {
		var out, errb bytes.Buffer
		err := scoreMain([]string{"--model", filepath.Join(scoreFixture, "hf_rm"), "--data", filepath.Join(scoreFixture, "score.jsonl"), "--batch", batch}, &out, &errb)
		if err != nil {
			t.Fatalf("batch %s: %v (%s)", batch, err, errb.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != len(expect) {
			t.Fatalf("batch %s: %d output rows, want %d", batch, len(lines), len(expect))
		}
		for i, l := range lines {
			var got map[string]float64
			if err := json.Unmarshal([]byte(l), &got); err != nil {
				t.Fatalf("row %d: %q: %v", i, l, err)
			}
			for _, k := range []string{"reward", "chosen_reward", "rejected_reward"} {
				w, ok := expect[i][k]
				if !ok {
					continue
				}
				var want float64
				json.Unmarshal(w, &want)
				g, ok := got[k]
				if !ok || math.Abs(g-want) > 1e-4*math.Abs(want) {
					t.Errorf("batch %s row %d %s: got %v, torch %v", batch, i+1, k, g, want)
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
		{`{"prompt":"","response":""}`, "rows.jsonl:1: empty"},
		{`{"prompt":"x","response":"` + long + `"}`, "rows.jsonl:1: text has"},
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

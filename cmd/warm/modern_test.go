package main

import (
	"bytes"
	"encoding/json"
	"github.com/warm-rm/warm/kit/tokenizer/tokenizertest"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/warm-rm/warm/kit/safetensors"
	"github.com/warm-rm/warm/kit/serve"
	"github.com/warm-rm/warm/study/rmeval"
)

// The acceptance of issue 13, tried as a new user would: three small random
// Qwen3 reward models (real Qwen3 tokenizer and chat template, vocabulary
// 151936, float32 weights) score TRL conversational rows with warm score,
// warm eval and warm serve as the plain-PyTorch reference does, and
// `warm merge -o wa A B C` scores as the reference's average of the three;
// score and merge also for three Llama 3.1-shaped ones (128256, llama3 rope
// scaling, Llama 3.1's tokenizer and template). testdata/modernrm/gen.py
// wrote the fixtures; its docstring says how.

// rmFamily is one fixture: its directory under testdata/modernrm and the
// real tokenizer's directory under tokenizer/testdata.
type rmFamily struct{ name, tok string }

var (
	qwen3Family  = rmFamily{"qwen3", "qwen3"}
	llama3Family = rmFamily{"llama3", "llama3_1"}
)

func (f rmFamily) file(name string) string {
	return filepath.Join("testdata", "modernrm", f.name, name)
}

// modernTol is the agreement asked of float32 weights (issue 13: 1e-4).
const modernTol = 1e-4

type rmExpected struct {
	Seeds   []uint64       `json:"seeds"`
	Members [][][2]float64 `json:"members"` // [member][row] = {chosen, rejected}
	WA      [][2]float64   `json:"wa"`
	WABF16  [][2]float64   `json:"wa_bf16"`
}

func readRMExpected(t *testing.T, f rmFamily) rmExpected {
	t.Helper()
	var e rmExpected
	b, err := os.ReadFile(f.file("expected.json"))
	if err == nil {
		err = json.Unmarshal(b, &e)
	}
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// recipeValues is gen.py's values(): value = offset + k·2^-shift with k the
// top byte of a splitmix64 output minus 128, exact in float32, so the
// weights equal the reference's bit for bit.
func recipeValues(seed, index uint64, n int, offset float64, shift int) []float32 {
	out := make([]float32, n)
	base := ((seed << 32) + index) * 0x9E3779B97F4A7C15
	for i := range out {
		z := base + uint64(i)*0xD1B54A32D192ED03
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		z ^= z >> 31
		k := int64(z>>56) - 128
		out[i] = float32(offset + float64(k)*math.Ldexp(1, -shift))
	}
	return out
}

// writeRMMember builds member seed's directory: config, the real Qwen3
// tokenizer files and model.safetensors from the recipe in weights.json.
func writeRMMember(t *testing.T, f rmFamily, dir string, seed uint64, dtype safetensors.Dtype) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile := func(src, dst string) {
		b, err := os.ReadFile(src)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, dst), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	copyFile(f.file("config.json"), "config.json")
	if dtype == safetensors.BF16 {
		b, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "config.json"), bytes.Replace(b, []byte(`"float32"`), []byte(`"bfloat16"`), 1), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// tokenizer.json uncompressed, as a hub directory has it (warm merge
	// copies the tokenizer files it knows by name).
	if err := tokenizertest.WriteHFFiles(dir, f.tok); err != nil {
		t.Fatal(err)
	}
	var recipe struct {
		Tensors []struct {
			Name   string  `json:"name"`
			Shape  []int   `json:"shape"`
			Offset float64 `json:"offset"`
			Shift  int     `json:"shift"`
		} `json:"tensors"`
	}
	b, err := os.ReadFile(f.file("weights.json"))
	if err == nil {
		err = json.Unmarshal(b, &recipe)
	}
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	for i, r := range recipe.Tensors {
		n := 1
		for _, d := range r.Shape {
			n *= d
		}
		ts = append(ts, safetensors.Tensor{Name: r.Name, Shape: r.Shape, Data: recipeValues(seed, uint64(i), n, r.Offset, r.Shift)})
	}
	if err := safetensors.WriteFloat32(filepath.Join(dir, "model.safetensors"), ts, dtype, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
}

// rmMembers writes the three members into one temporary directory.
func rmMembers(t *testing.T, f rmFamily, e rmExpected, dtype safetensors.Dtype) (root string, dirs []string) {
	root = t.TempDir()
	for i, s := range e.Seeds {
		d := filepath.Join(root, "rm"+string(rune('a'+i)))
		writeRMMember(t, f, d, s, dtype)
		dirs = append(dirs, d)
	}
	return root, dirs
}

// scorePairs runs warm score on the fixture rows and returns each row's
// chosen and rejected rewards (either output spelling of the keys).
func scorePairs(t *testing.T, f rmFamily, args ...string) [][2]float64 {
	t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--data", f.file("convo.jsonl"))
	if err := scoreMain(args, &out, &errb); err != nil {
		t.Fatalf("warm score %v: %v\n%s", args, err, errb.String())
	}
	var got [][2]float64
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r map[string]float64
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("score output %q: %v", line, err)
		}
		c, ok1 := r["chosen_reward"]
		j, ok2 := r["rejected_reward"]
		if !ok1 || !ok2 {
			c, ok1 = r["reward_chosen"]
			j, ok2 = r["reward_rejected"]
		}
		if !ok1 || !ok2 {
			t.Fatalf("score output %q: no chosen/rejected rewards", line)
		}
		got = append(got, [2]float64{c, j})
	}
	return got
}

// maxDiff is the largest |got - want| over all rows, failing the test
// beyond tol.
func maxDiff(t *testing.T, what string, got, want [][2]float64, tol float64) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, reference %d", what, len(got), len(want))
	}
	var worst float64
	for i := range got {
		for k := range 2 {
			d := math.Abs(got[i][k] - want[i][k])
			worst = max(worst, d)
			if d > tol {
				t.Errorf("%s row %d side %d: %v, reference %v", what, i+1, k, got[i][k], want[i][k])
			}
		}
	}
	return worst
}

func TestModernScoreMergeAcceptance(t *testing.T) {
	for _, f := range []rmFamily{qwen3Family, llama3Family} {
		t.Run(f.name, func(t *testing.T) {
			e := readRMExpected(t, f)
			root, dirs := rmMembers(t, f, e, safetensors.F32)
			for i, d := range dirs {
				got := scorePairs(t, f, "--model", d)
				t.Logf("%s: warm score member %d: max |diff| %.2g vs PyTorch", f.name, i+1, maxDiff(t, "score "+filepath.Base(d), got, e.Members[i], modernTol))
			}
			// --template off scores the rows' plain text: other numbers.
			if off := scorePairs(t, f, "--model", dirs[0], "--template", "off"); off[0] == [2]float64(e.Members[0][0]) {
				t.Errorf("--template off gave the templated rewards %v", off[0])
			}
			wa := filepath.Join(root, "wa")
			if err := runMerge(append([]string{"-o", wa}, dirs...)); err != nil {
				t.Fatal(err)
			}
			got := scorePairs(t, f, "--model", wa)
			t.Logf("%s: warm merge + score WA: max |diff| %.2g vs PyTorch's average", f.name, maxDiff(t, "score wa", got, e.WA, modernTol))
		})
	}
}

// TestQwen3BF16: the same members stored as BF16 (their values are exact
// in bfloat16) score as the float32 ones; warm merge keeps BF16, and the
// merged model scores as the reference's average rounded to bfloat16
// (issue 13: 1e-2 relative for BF16 weights).
func TestQwen3BF16(t *testing.T) {
	e := readRMExpected(t, qwen3Family)
	root, dirs := rmMembers(t, qwen3Family, e, safetensors.BF16)
	got := scorePairs(t, qwen3Family, "--model", dirs[0])
	t.Logf("warm score BF16 member 1: max |diff| %.2g vs PyTorch", maxDiff(t, "score bf16", got, e.Members[0], modernTol))
	wa := filepath.Join(root, "wa")
	if err := runMerge(append([]string{"-o", wa}, dirs...)); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(filepath.Join(wa, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range f.Tensors() {
		if ti.Dtype != safetensors.BF16 {
			t.Errorf("merged %s is %s, want BF16 like its inputs", ti.Name, ti.Dtype)
		}
	}
	f.Close()
	got = scorePairs(t, qwen3Family, "--model", wa)
	var worst float64
	for i := range got {
		for k := range 2 {
			w := e.WABF16[i][k]
			d := math.Abs(got[i][k] - w)
			worst = max(worst, d/max(math.Abs(w), 1e-6))
			if d > 1e-2*max(math.Abs(w), 1e-6) {
				t.Errorf("BF16 WA row %d side %d: %v, reference %v", i+1, k, got[i][k], w)
			}
		}
	}
	t.Logf("warm merge (BF16) + score: max relative diff %.2g vs PyTorch's BF16-rounded average", worst)
}

// TestQwen3EvalAcceptance: warm eval's members, ENS and WA on the user's
// pairs (--val) have the metrics of the reference's rewards.
func TestQwen3EvalAcceptance(t *testing.T) {
	e := readRMExpected(t, qwen3Family)
	root, dirs := rmMembers(t, qwen3Family, e, safetensors.F32)
	out := filepath.Join(root, "eval")
	args := append([]string{"--data", filepath.Join(root, "none"), "--val", qwen3Family.file("convo.jsonl"), "--rank-by", "none", "--out", out}, dirs...)
	if err := runEval(args); err != nil {
		t.Fatal(err)
	}
	var res rmeval.Result
	b, err := os.ReadFile(filepath.Join(out, "eval.json"))
	if err == nil {
		err = json.Unmarshal(b, &res)
	}
	if err != nil {
		t.Fatal(err)
	}
	metrics := func(rows [][2]float64) rmeval.Metrics {
		var c, r []float32
		for _, p := range rows {
			c, r = append(c, float32(p[0])), append(r, float32(p[1]))
		}
		return rmeval.Score(c, r)
	}
	ens := make([][2]float64, len(e.WA))
	for i := range ens {
		for k := range 2 {
			for _, m := range e.Members {
				ens[i][k] += m[i][k] / float64(len(e.Members))
			}
		}
	}
	want := map[string]rmeval.Metrics{"ENS M=3": metrics(ens), "WA M=3": metrics(e.WA)}
	for i, d := range dirs {
		want[filepath.Base(d)] = metrics(e.Members[i])
	}
	seen := 0
	var worst float64
	for _, en := range res.Entries {
		w, ok := want[en.Name]
		if !ok {
			continue
		}
		seen++
		g := en.Splits[rmeval.Val]
		if g.N != w.N || g.Acc != w.Acc {
			t.Errorf("%s: n %d acc %v, reference n %d acc %v", en.Name, g.N, g.Acc, w.N, w.Acc)
		}
		for _, p := range [][3]any{{"mean_reward", g.MeanReward, w.MeanReward}, {"mean_margin", g.MeanMargin, w.MeanMargin}, {"loss", g.Loss, w.Loss}} {
			d := math.Abs(p[1].(float64) - p[2].(float64))
			worst = max(worst, d)
			if d > modernTol {
				t.Errorf("%s %s: %v, reference %v", en.Name, p[0], p[1], p[2])
			}
		}
	}
	if seen != len(want) {
		t.Fatalf("eval.json has %d of the %d expected entries: %+v", seen, len(want), res.Entries)
	}
	t.Logf("warm eval members/ENS/WA: max |diff| %.2g in mean reward, margin and loss", worst)
}

// TestQwen3ServeAcceptance: warm serve with the merged WA and the three
// members answers /v1/score "messages" items with the reference's WA
// rewards and the members' std, and /get_reward on the rendered texts
// (plain strings, scored as given) with the same rewards.
func TestQwen3ServeAcceptance(t *testing.T) {
	e := readRMExpected(t, qwen3Family)
	root, dirs := rmMembers(t, qwen3Family, e, safetensors.F32)
	wa := filepath.Join(root, "wa")
	if err := runMerge(append([]string{"-o", wa}, dirs...)); err != nil {
		t.Fatal(err)
	}
	// The conversations of the rows, and their rendering from the fixture.
	var items []serve.ScoreItem
	f, err := os.ReadFile(qwen3Family.file("convo.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(f)), "\n") {
		var r struct{ Prompt, Chosen, Rejected []serve.Message }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		items = append(items,
			serve.ScoreItem{Messages: append(append([]serve.Message{}, r.Prompt...), r.Chosen...)},
			serve.ScoreItem{Messages: append(append([]serve.Message{}, r.Prompt...), r.Rejected...)})
	}
	rendered := renderedTexts(t, items)

	url, sigs, done := startServe(t, "--model", wa, "--members", strings.Join(dirs, ","), "--addr", "127.0.0.1:0")
	body, _ := json.Marshal(serve.ScoreRequest{Items: items})
	code, data := postJSON(t, url+"/v1/score", string(body))
	var got serve.ScoreResponse
	if code != 200 || json.Unmarshal(data, &got) != nil || len(got.Rewards) != len(items) || len(got.Std) != len(items) {
		t.Fatalf("/v1/score: %d %s", code, data)
	}
	pairs := func(v []float32) [][2]float64 {
		var out [][2]float64
		for i := 0; i+1 < len(v); i += 2 {
			out = append(out, [2]float64{float64(v[i]), float64(v[i+1])})
		}
		return out
	}
	t.Logf("warm serve /v1/score (messages): max |diff| %.2g vs PyTorch's average", maxDiff(t, "serve wa", pairs(got.Rewards), e.WA, modernTol))
	// std: the members' population standard deviation.
	std := make([][2]float64, len(e.WA))
	for i := range std {
		for k := range 2 {
			var s, ss float64
			for _, m := range e.Members {
				s += m[i][k]
				ss += m[i][k] * m[i][k]
			}
			mu := s / float64(len(e.Members))
			std[i][k] = math.Sqrt(max(ss/float64(len(e.Members))-mu*mu, 0))
		}
	}
	t.Logf("warm serve std: max |diff| %.2g vs the reference members' std", maxDiff(t, "serve std", pairs(got.Std), std, modernTol))

	body, _ = json.Marshal(map[string]any{"query": rendered})
	code, data = postJSON(t, url+"/get_reward", string(body))
	var gr serve.GetRewardResponse
	if code != 200 || json.Unmarshal(data, &gr) != nil {
		t.Fatalf("/get_reward: %d %s", code, data)
	}
	t.Logf("warm serve /get_reward (rendered strings): max |diff| %.2g", maxDiff(t, "get_reward", pairs(gr.Rewards), e.WA, modernTol))

	sigs <- syscall.SIGTERM
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// renderedTexts looks up each item's conversation among the fixture's
// Qwen3 cases (rendered by Python's jinja2) and returns their texts.
func renderedTexts(t *testing.T, items []serve.ScoreItem) []string {
	t.Helper()
	var fx struct {
		Qwen3 struct {
			Cases []struct {
				Messages []serve.Message `json:"messages"`
				Gen      bool            `json:"add_generation_prompt"`
				Text     string          `json:"text"`
			} `json:"cases"`
		} `json:"qwen3"`
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "kit", "chattemplate", "testdata", "conversations.json"))
	if err == nil {
		err = json.Unmarshal(b, &fx)
	}
	if err != nil {
		t.Fatal(err)
	}
	key := func(m []serve.Message) string { b, _ := json.Marshal(m); return string(b) }
	texts := map[string]string{}
	for _, c := range fx.Qwen3.Cases {
		if !c.Gen {
			texts[key(c.Messages)] = c.Text
		}
	}
	var out []string
	for i, it := range items {
		s, ok := texts[key(it.Messages)]
		if !ok {
			t.Fatalf("item %d: conversation not among the fixture's cases", i)
		}
		out = append(out, s)
	}
	return out
}

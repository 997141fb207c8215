package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warm-rm/warm/kit/safetensors"
	"github.com/warm-rm/warm/kit/tokenizer/tokenizertest"
)

// qwen3Config is a small Qwen3ForSequenceClassification with the real
// Qwen3 vocabulary (151936, so the real tokenizer fits): hidden 32, 2
// layers, GQA 4/2 heads of 8, BF16. The weight file is ~9.7 MB, so
// `truncate -s 1000000` shrinks it.
var qwen3Config = map[string]any{
	"architectures": []string{"Qwen3ForSequenceClassification"}, "model_type": "qwen3",
	"vocab_size": 151936, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
	"num_key_value_heads": 2, "head_dim": 8, "intermediate_size": 64, "max_position_embeddings": 40960,
	"rms_norm_eps": 1e-6, "rope_theta": 1e6, "hidden_act": "silu", "tie_word_embeddings": true,
	"num_labels": 1, "pad_token_id": 151643, "bos_token_id": 151643, "eos_token_id": 151645,
	"torch_dtype": "bfloat16",
}

// writeQwen3RM writes a random Qwen3 reward model (weights from seed,
// BF16) with the real Qwen3 tokenizer files into dir; nanRow ≥ 0 puts a
// NaN in that row of the embeddings (a row the canary texts never touch,
// so only the finite-weights check can catch it).
func writeQwen3RM(t *testing.T, dir string, seed uint64, nanRow int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cj, _ := json.MarshalIndent(qwen3Config, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cj, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tokenizertest.WriteHFFiles(dir, "qwen3"); err != nil {
		t.Fatal(err)
	}
	const vocab, h, layers, heads, kv, hd, inter = 151936, 32, 2, 4, 2, 8, 64
	r := rand.New(rand.NewPCG(seed, 13))
	tensor := func(name string, norm bool, shape ...int) safetensors.Tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64() * 0.05)
			if norm {
				v[i] += 1
			}
		}
		return safetensors.Tensor{Name: name, Shape: shape, Data: v}
	}
	ts := []safetensors.Tensor{tensor("model.embed_tokens.weight", false, vocab, h)}
	if nanRow >= 0 {
		ts[0].Data[nanRow*h+3] = float32(math.NaN())
	}
	for i := range layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		ts = append(ts, tensor(p+"input_layernorm.weight", true, h), tensor(p+"post_attention_layernorm.weight", true, h),
			tensor(p+"self_attn.q_proj.weight", false, heads*hd, h), tensor(p+"self_attn.k_proj.weight", false, kv*hd, h),
			tensor(p+"self_attn.v_proj.weight", false, kv*hd, h), tensor(p+"self_attn.o_proj.weight", false, h, heads*hd),
			tensor(p+"self_attn.q_norm.weight", true, hd), tensor(p+"self_attn.k_norm.weight", true, hd),
			tensor(p+"mlp.gate_proj.weight", false, inter, h), tensor(p+"mlp.up_proj.weight", false, inter, h),
			tensor(p+"mlp.down_proj.weight", false, h, inter))
	}
	ts = append(ts, tensor("model.norm.weight", true, h), tensor("score.weight", false, 1, h))
	if err := safetensors.WriteFloat32(filepath.Join(dir, "model.safetensors"), ts, safetensors.BF16, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
}

// openHandles counts the server's open file descriptors and mappings of
// path: a private load holds neither once it returns, and close-on-swap
// leaves none behind from replaced models.
func (s *server) openHandles(path string) (fds, maps int) {
	pid := s.cmd.Process.Pid
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, e := range ents {
		if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name())); err == nil && strings.HasPrefix(target, path) {
			fds++
		}
	}
	m, _ := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	for _, l := range strings.Split(string(m), "\n") {
		if strings.Contains(l, path) {
			maps++
		}
	}
	return fds, maps
}

// metric reads one unlabelled series from /metrics.
func (s *server) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, l := range strings.Split(string(body), "\n") {
		var v float64
		if _, err := fmt.Sscanf(l, name+" %g", &v); err == nil {
			return v
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// TestReloadChaosQwen3: the reload race of TestReloadChaos against a
// Llama-family model (Qwen3, BF16, real tokenizer), which `warm serve`
// loads with pread into private memory: deliberate bad reloads (truncated
// file and header, NaN weight in an embedding row, oversized config) are
// refused and counted; then WARM_CHAOS_RELOADS rounds (200 with the chaos
// tag, 20 without) of copy-in-place, SIGHUP, a pause of 0-11 ms, truncate
// -s 1000000, each waited for; then the live model's file is truncated
// with no reload at all. Under a 4-client load throughout: zero crashes,
// zero 5xx, every answer the good model's rewards; no file handle or
// mapping of the weights left, one backend open.
func TestReloadChaosQwen3(t *testing.T) {
	dir := filepath.Join(workRoot, "reload-qwen3")
	good, nan := filepath.Join(dir, "good"), filepath.Join(dir, "nan")
	writeQwen3RM(t, good, 1, -1)
	writeQwen3RM(t, nan, 1, 150000)
	live := filepath.Join(dir, "live")
	os.MkdirAll(live, 0o755)
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
		copyFile(t, filepath.Join(good, f), filepath.Join(live, f))
	}
	weights := filepath.Join(live, "model.safetensors")
	if st, _ := os.Stat(weights); st.Size() <= 1_000_000 {
		t.Fatalf("model is %d bytes: truncating to 1000000 would not shrink it", st.Size())
	}
	restore := func() {
		copyFile(t, filepath.Join(good, "config.json"), filepath.Join(live, "config.json"))
		copyFile(t, filepath.Join(good, "model.safetensors"), weights)
	}
	s := startServe(t, "--model", live)
	refA := score(t, s.url)
	l := startLoad(s.url, 4, refA)

	refused := 0
	badCase := func(name string, breakIt func()) { refused += s.badReload(t, name, breakIt, restore) }
	badCase("truncated", func() { os.Truncate(weights, 1_000_000) })
	badCase("truncated header", func() { os.Truncate(weights, 100) })
	badCase("NaN weight", func() { copyFile(t, filepath.Join(nan, "model.safetensors"), weights) })
	badCase("oversized config", func() {
		raw, _ := os.ReadFile(filepath.Join(good, "config.json"))
		var cj map[string]any
		json.Unmarshal(raw, &cj)
		cj["hidden_size"], cj["intermediate_size"] = 1<<24, 1<<30
		raw, _ = json.Marshal(cj)
		os.WriteFile(filepath.Join(live, "config.json"), raw, 0o644)
	})
	badCase("empty file", func() { os.Truncate(weights, 0) })
	if !s.hupAndWait(t) {
		t.Fatalf("reload of the restored good model refused:\n%s", s.log())
	}

	// The race: each round's reload reads while the file is rewritten and
	// then truncated under it. A reload that finished reading before the
	// truncate is a good reload (and its file is then truncated under the
	// live model); one that read the truncated file is refused.
	rounds := envInt("WARM_CHAOS_RELOADS", reloadRounds)
	ok0, bad0 := s.reloads(t)
	start := time.Now()
	for i := range rounds {
		copyFile(t, filepath.Join(good, "model.safetensors"), weights)
		before, beforeBad := s.reloads(t)
		s.cmd.Process.Signal(syscall.SIGHUP)
		time.Sleep(time.Duration(i%12) * time.Millisecond)
		os.Truncate(weights, 1_000_000)
		deadline := time.Now().Add(30 * time.Second)
		for {
			ok, bad := s.reloads(t)
			if ok+bad > before+beforeBad {
				break
			}
			if !s.alive() || time.Now().After(deadline) {
				t.Fatalf("round %d: warm serve died or hung:\n%s", i, s.log())
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	roundsTook := time.Since(start)
	ok1, bad1 := s.reloads(t)

	// The live model's file truncated with no reload: the weights are the
	// server's own memory, requests keep being answered.
	restore()
	if !s.hupAndWait(t) {
		t.Fatalf("reload of the restored good model refused:\n%s", s.log())
	}
	okBeforeLive := l.count()
	for _, size := range []int64{1_000_000, 100, 0} {
		if err := os.Truncate(weights, size); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	answeredOnTruncated := l.count() - okBeforeLive
	if got := score(t, s.url); !slices.Equal(got, refA) {
		t.Errorf("with the live file truncated the server answers %v, want %v", got, refA)
	}
	restore()
	time.Sleep(100 * time.Millisecond)
	l.finish()
	if !s.alive() {
		t.Fatalf("warm serve died:\n%s", s.log())
	}
	fds, maps := s.openHandles(weights)
	open := s.metric(t, "warm_serve_backends_open")
	t.Logf("FIGURES reload chaos qwen3 (BF16, %.1f MB weights, real tokenizer): %d race rounds in %s, each reload counted: %d ok, %d refused (+%d/5 deliberate bad reloads refused); "+
		"%d valid answers while the live file was truncated to 1000000/100/0 bytes; load: %d valid answers, %d 5xx, %d other non-200, %d invalid rewards, %d connection errors; "+
		"after: %d fds and %d mappings of the weight file, %g backend(s) open; peak RSS %.0f MB",
		9.7, rounds, roundsTook.Round(time.Second), ok1-ok0, bad1-bad0, refused, answeredOnTruncated,
		l.ok, l.fivexx, l.other, l.invalid, l.errs, fds, maps, open, s.peakRSS())
	if int(ok1+bad1-ok0-bad0) != rounds {
		t.Errorf("%d rounds but %d reloads counted", rounds, ok1+bad1-ok0-bad0)
	}
	if refused != 5 {
		t.Errorf("%d of 5 deliberate bad reloads refused", refused)
	}
	if answeredOnTruncated == 0 {
		t.Error("no request answered while the live file was truncated")
	}
	if l.fivexx+l.other+l.invalid+l.errs > 0 {
		t.Errorf("load saw %d 5xx, %d other, %d invalid, %d errors; first: %s", l.fivexx, l.other, l.invalid, l.errs, l.firstProblem)
	}
	if fds != 0 || maps != 0 || open != 1 {
		t.Errorf("after the reloads: %d open fds and %d mappings of %s, %g backends open; want 0, 0, 1", fds, maps, weights, open)
	}
	for _, want := range []string{"reload failed, still serving", weights, "non-finite weights", "changed size"} {
		if !strings.Contains(s.log(), want) {
			t.Errorf("the log never says %q:\n%.3000s", want, s.log())
		}
	}
}

// count is the number of valid answers so far.
func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ok
}

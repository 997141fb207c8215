package chaos

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/safetensors"
	"github.com/warm-rm/warm/kit/tokenizer"
)

var corpus = []string{
	"The people of the United States have always known that",
	"It was a cold night, and the wind came down from the hills.",
	"I have always thought that the best of us are the ones who",
	"We will build a better future together, with hope and courage.",
}

// writeRM saves a reward model of about 3.8 MB (so `truncate -s 1000000`
// shrinks it) with its tokenizer into dir; nanAt ≥ 0 poisons one weight.
func writeRM(t *testing.T, dir string, seed uint64, nanAt int) {
	t.Helper()
	tok, err := tokenizer.Train(corpus, 300, []string{"<|endoftext|>"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := model.Config{
		VocabSize: tok.VocabSize(), NPositions: 64, NEmbd: 192, NLayer: 2, NHead: 4,
		LayerNormEps: 1e-5, BOSTokenID: -1, EOSTokenID: -1, PadTokenID: -1,
		Architecture: model.ArchRewardModel,
	}
	m := model.New(cfg, seed)
	if nanAt >= 0 {
		m.Weights()[nanAt] = float32(math.NaN())
	}
	os.MkdirAll(dir, 0o755)
	if err := tok.Save(dir, cfg.NPositions); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(dir, safetensors.F32); err != nil {
		t.Fatal(err)
	}
}

// server is a running `warm serve` child process.
type server struct {
	cmd  *exec.Cmd
	url  string
	mu   sync.Mutex
	logs bytes.Buffer
	done chan error
}

func startServe(t *testing.T, args ...string) *server {
	t.Helper()
	s := &server{done: make(chan error, 1)}
	s.cmd = exec.Command(warmBin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`listening on (http://\S+)`)
		for sc.Scan() {
			s.mu.Lock()
			s.logs.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		s.done <- s.cmd.Wait()
	}()
	select {
	case s.url = <-addr:
	case err := <-s.done:
		t.Fatalf("warm serve exited: %v\n%s", err, s.log())
	case <-time.After(60 * time.Second):
		t.Fatal("warm serve did not start in 60s")
	}
	t.Cleanup(func() { s.cmd.Process.Kill() })
	return s
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

func (s *server) alive() bool {
	select {
	case err := <-s.done:
		s.done <- err
		return false
	default:
		return s.cmd.ProcessState == nil
	}
}

// peakRSS is the process's VmHWM in MB.
func (s *server) peakRSS() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

func (s *server) rss() float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

// reloads reads warm_serve_reloads_total from /metrics.
func (s *server) reloads(t *testing.T) (ok, bad int) {
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		time.Sleep(100 * time.Millisecond) // let the log reader catch a dying server's last words
		t.Fatalf("metrics: %v (server alive: %v); its log ends:\n%s", err, s.alive(), tail([]byte(s.log()), 1500))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(body), "\n") {
		var n int
		if _, err := fmt.Sscanf(l, `warm_serve_reloads_total{result="ok"} %d`, &n); err == nil {
			ok = n
		}
		if _, err := fmt.Sscanf(l, `warm_serve_reloads_total{result="error"} %d`, &n); err == nil {
			bad = n
		}
	}
	return ok, bad
}

// hupAndWait sends SIGHUP and waits for the reload counters to move; it
// returns whether the reload succeeded.
func (s *server) hupAndWait(t *testing.T) bool {
	t.Helper()
	ok0, bad0 := s.reloads(t)
	s.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ok, bad := s.reloads(t)
		if ok+bad > ok0+bad0 {
			return ok > ok0
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("reload did not finish in 30s")
	return false
}

// badReload breaks the live model with breakIt, reloads, and restores
// it; it returns 1 when the reload was refused (and fails the test when it
// was accepted).
func (s *server) badReload(t *testing.T, name string, breakIt, restore func()) int {
	t.Helper()
	breakIt()
	defer restore()
	if s.hupAndWait(t) {
		t.Errorf("%s: reload accepted", name)
		return 0
	}
	return 1
}

const scoreBody = `{"items":[{"prompt":"The people of","response":" the hills"},{"prompt":"We will","response":" build a better future"},{"prompt":"It was","response":" a cold night"}]}`

// load posts scoreBody from n goroutines until stop closes and checks every
// answer: status 200 and rewards equal to one of the allowed sets.
type load struct {
	mu                      sync.Mutex
	allowed                 [][]float32
	ok, fivexx, other, errs int
	invalid                 int
	firstProblem            string
	wg                      sync.WaitGroup
	stop                    chan struct{}
}

func (l *load) valid(r []float32) bool {
	for _, a := range l.allowed {
		if slices.Equal(a, r) {
			return true
		}
	}
	return false
}

func (l *load) note(p string) {
	if l.firstProblem == "" {
		l.firstProblem = p
	}
}

func startLoad(url string, n int, allowed ...[]float32) *load {
	l := &load{allowed: allowed, stop: make(chan struct{})}
	client := &http.Client{Timeout: 60 * time.Second}
	for range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, err := client.Post(url+"/v1/score", "application/json", strings.NewReader(scoreBody))
				if err != nil {
					l.mu.Lock()
					l.errs++
					l.note(err.Error())
					l.mu.Unlock()
					time.Sleep(10 * time.Millisecond)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var sr struct{ Rewards []float32 }
				l.mu.Lock()
				switch {
				case resp.StatusCode >= 500:
					l.fivexx++
					l.note(fmt.Sprintf("%d %s", resp.StatusCode, body))
				case resp.StatusCode != 200:
					l.other++
					l.note(fmt.Sprintf("%d %s", resp.StatusCode, body))
				case json.Unmarshal(body, &sr) != nil || !l.valid(sr.Rewards):
					l.invalid++
					l.note("invalid rewards " + string(body))
				default:
					l.ok++
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *load) finish() {
	close(l.stop)
	l.wg.Wait()
}

func score(t *testing.T, url string) []float32 {
	t.Helper()
	resp, err := http.Post(url+"/v1/score", "application/json", strings.NewReader(scoreBody))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sr struct{ Rewards []float32 }
	if err := json.NewDecoder(resp.Body).Decode(&sr); err != nil || resp.StatusCode != 200 {
		t.Fatalf("score: %d %v", resp.StatusCode, err)
	}
	return sr.Rewards
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	// os.WriteFile opens with O_TRUNC: an in-place rewrite of the same
	// inode, as `cp` does — the case that used to SIGBUS a mapped reader.
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReloadChaos: `warm serve` under loopback load while SIGHUP reloads
// meet truncated, NaN, oversized-config and rewritten checkpoints, then
// WARM_CHAOS_RELOADS (default 200 with the chaos tag, 20 without) rounds of: copy the good file in place,
// SIGHUP, truncate -s 1000000. Zero crashes, zero 5xx, only valid rewards;
// every deliberately bad reload refused and counted.
func TestReloadChaos(t *testing.T) {
	dir := filepath.Join(workRoot, "reload")
	good, other, nan := filepath.Join(dir, "good"), filepath.Join(dir, "other"), filepath.Join(dir, "nan")
	writeRM(t, good, 1, -1)
	writeRM(t, other, 2, -1)
	writeRM(t, nan, 1, 5000)
	live := filepath.Join(dir, "live")
	os.MkdirAll(live, 0o755)
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json"} {
		if _, err := os.Stat(filepath.Join(good, f)); err == nil {
			copyFile(t, filepath.Join(good, f), filepath.Join(live, f))
		}
	}
	weights := filepath.Join(live, "model.safetensors")
	if st, _ := os.Stat(weights); st.Size() <= 1_000_000 {
		t.Fatalf("model is %d bytes: truncating to 1000000 would not shrink it", st.Size())
	}
	// The other model's rewards, from a server of its own, so answers from
	// it after the in-place rewrite are checked too.
	so := startServe(t, "--model", other)
	refB := score(t, so.url)
	so.cmd.Process.Kill()
	s := startServe(t, "--model", live)
	refA := score(t, s.url)
	l := startLoad(s.url, 4, refA, refB)

	refused := 0
	badCase := func(name string, breakIt func()) {
		refused += s.badReload(t, name, breakIt, func() {
			copyFile(t, filepath.Join(good, "config.json"), filepath.Join(live, "config.json"))
			copyFile(t, filepath.Join(good, "model.safetensors"), weights)
		})
	}
	badCase("truncated", func() { os.Truncate(weights, 1_000_000) })
	badCase("truncated header", func() { os.Truncate(weights, 100) })
	badCase("NaN weights", func() { copyFile(t, filepath.Join(nan, "model.safetensors"), weights) })
	badCase("oversized config", func() {
		raw, _ := os.ReadFile(filepath.Join(good, "config.json"))
		var cj map[string]any
		json.Unmarshal(raw, &cj)
		cj["n_embd"], cj["n_head"] = 1<<24, 1
		raw, _ = json.Marshal(cj)
		os.WriteFile(filepath.Join(live, "config.json"), raw, 0o644)
	})
	badCase("empty file", func() { os.Truncate(weights, 0) })

	// A good checkpoint rewritten in place is accepted: rewards move to it.
	copyFile(t, filepath.Join(other, "model.safetensors"), weights)
	if !s.hupAndWait(t) {
		t.Errorf("in-place rewrite with a good model refused:\n%s", s.log())
	}
	if got := score(t, s.url); !slices.Equal(got, refB) {
		t.Errorf("after the in-place rewrite the server answers %v, want the other model's %v", got, refB)
	}
	copyFile(t, filepath.Join(good, "model.safetensors"), weights)
	if !s.hupAndWait(t) {
		t.Errorf("reload back to the good model refused")
	}

	// The race: the reload reads while the file is rewritten and truncated.
	rounds := envInt("WARM_CHAOS_RELOADS", reloadRounds)
	ok0, bad0 := s.reloads(t)
	for i := range rounds {
		copyFile(t, filepath.Join(good, "model.safetensors"), weights)
		s.cmd.Process.Signal(syscall.SIGHUP)
		if i%2 == 1 {
			time.Sleep(time.Duration(i%7) * time.Millisecond) // vary where the truncate lands
		}
		os.Truncate(weights, 1_000_000)
		if !s.alive() {
			t.Fatalf("warm serve died in round %d:\n%s", i, s.log())
		}
	}
	copyFile(t, filepath.Join(good, "model.safetensors"), weights)
	s.hupAndWait(t) // settles the queue of reloads
	time.Sleep(200 * time.Millisecond)
	l.finish()
	ok1, bad1 := s.reloads(t)
	if !s.alive() {
		t.Fatalf("warm serve died:\n%s", s.log())
	}
	if got := score(t, s.url); !l.valid(got) {
		t.Errorf("after the loop the server answers %v, want %v", got, refA)
	}
	t.Logf("FIGURES reload chaos: %d race rounds (SIGHUPs may coalesce: %d reloads ran, %d ok, %d refused); %d/5 deliberate bad reloads refused and counted; load: %d valid answers, %d 5xx, %d other non-200, %d invalid rewards, %d connection errors; peak RSS %.0f MB",
		rounds, ok1+bad1-ok0-bad0, ok1-ok0, bad1-bad0, refused, l.ok, l.fivexx, l.other, l.invalid, l.errs, s.peakRSS())
	if l.fivexx+l.other+l.invalid+l.errs > 0 {
		t.Errorf("load saw %d 5xx, %d other, %d invalid, %d errors; first: %s", l.fivexx, l.other, l.invalid, l.errs, l.firstProblem)
	}
	if !strings.Contains(s.log(), "reload failed, still serving") || !strings.Contains(s.log(), weights) {
		t.Errorf("refused reloads are not logged with the file:\n%.3000s", s.log())
	}
}

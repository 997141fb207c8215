package serve

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countTok counts Encode calls, to prove limits are checked before tokenizing.
type countTok struct{ calls atomic.Int64 }

func (c *countTok) Encode(text string) []int {
	c.calls.Add(1)
	return byteTok{}.Encode(text)
}

func TestItemBytesCheckedBeforeTokenizing(t *testing.T) {
	tok := &countTok{}
	b := &Backend{Tok: tok, Main: &hashScorer{}, MaxTokens: 64, Name: "fake"}
	_, ts := newTestServer(t, Config{MaxItemBytes: 100}, b)
	big := strings.Repeat("w", 101)
	code, body := post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["ok","`+big+`"]}`)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "item 1: 101 bytes, limit 100") {
		t.Errorf("oversized item: %d %s, want 413 naming item 1", code, body)
	}
	if n := tok.calls.Load(); n != 0 {
		t.Errorf("tokenizer called %d times for a refused request, want 0", n)
	}
	// The default is 32 bytes per token of the limit (64 here).
	_, ts2 := newTestServer(t, Config{}, b)
	code, body = post(t, ts2.Client(), ts2.URL+"/get_reward", "", `{"query":["`+strings.Repeat("w", 32*64+1)+`"]}`)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "limit 2048 per item") {
		t.Errorf("default item byte limit: %d %s", code, body)
	}
}

// TestReloadRefusesBadModels: a loader that panics, a model with NaN
// rewards and one that panics on the canary are each refused, counted as
// errors, and the old backend keeps serving.
func TestReloadRefusesBadModels(t *testing.T) {
	var mode atomic.Int64
	load := func() (*Backend, error) {
		switch mode.Load() {
		case 0:
			var m map[string]int
			m["x"] = 1 // nil map write: the loader panics
		case 1:
			return testBackend(&hashScorer{nan: true}), nil
		case 2:
			return testBackend(&hashScorer{panics: true}), nil
		case 3:
			return testBackend(&hashScorer{}, &hashScorer{nan: true}), nil
		}
		b := testBackend(&hashScorer{offset: 100})
		b.Name = "new"
		return b, nil
	}
	var logged []string
	cfg := Config{Load: load, Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }}
	s, ts := newTestServer(t, cfg, testBackend(&hashScorer{}))
	for i, want := range []string{"panicked", "non-finite reward", "canary batch panicked", "non-finite std"} {
		mode.Store(int64(i))
		code, body := post(t, ts.Client(), ts.URL+"/admin/reload", "", "")
		if code != 500 || !strings.Contains(string(body), want) {
			t.Errorf("bad reload %d: %d %s, want 500 with %q", i, code, body, want)
		}
		if s.Backend().Name != "fake" {
			t.Fatalf("bad reload %d replaced the backend", i)
		}
		if code, _ := post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["a"]}`); code != 200 {
			t.Errorf("scoring after bad reload %d: %d", i, code)
		}
	}
	if got := s.m.reloadsErr.Load(); got != 4 {
		t.Errorf(`reloads_total{result="error"} = %d, want 4`, got)
	}
	mode.Store(9)
	if err := s.Reload(); err != nil || s.Backend().Name != "new" {
		t.Errorf("good reload: %v, backend %q", err, s.Backend().Name)
	}
	if len(logged) < 4 || !strings.Contains(strings.Join(logged, "\n"), "reload failed, still serving fake") {
		t.Errorf("failures not logged: %q", logged)
	}
}

func TestHealthzHidesPaths(t *testing.T) {
	b := testBackend(&hashScorer{})
	b.Name = "/home/alice/runs/rm-warm + 2 members"
	for _, tc := range []struct {
		token, auth, want string
	}{
		{"", "", "rm-warm + 2 members"},
		{"tok", "", "rm-warm + 2 members"},
		{"tok", "Bearer tok", "/home/alice/runs/rm-warm + 2 members"},
	} {
		_, ts := newTestServer(t, Config{Token: tc.token}, b)
		req, _ := http.NewRequest("GET", ts.URL+"/healthz", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var h struct{ Model string }
		json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		if h.Model != tc.want {
			t.Errorf("token %q auth %q: model %q, want %q", tc.token, tc.auth, h.Model, tc.want)
		}
	}
}

// rawRequest sends a POST with Content-Length n but only the first part of
// the body, then waits for the answer.
func rawRequest(t *testing.T, addr, path string, n int, part string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, n, part)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// serveOn runs s.Serve on a loopback listener (httptest would bypass the
// listener limit and per-request read deadlines).
func serveOn(t *testing.T, cfg Config, b *Backend) (*Server, string) {
	t.Helper()
	s := newQuietServer(t, cfg, b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Shutdown(t.Context()) })
	return s, ln.Addr().String()
}

// TestSlowBody: a body slower than BodyTimeout is answered 408 without the
// socket addresses Go's error text carries, and holds its in-flight slot
// only that long.
func TestSlowBody(t *testing.T) {
	_, addr := serveOn(t, Config{BodyTimeout: 200 * time.Millisecond, MaxInFlight: 1}, testBackend(&hashScorer{}))
	start := time.Now()
	code, body := rawRequest(t, addr, "/get_reward", 100, `{"query":`)
	if code != http.StatusRequestTimeout || strings.Contains(body, "127.0.0.1") || !strings.Contains(body, "not received within") {
		t.Errorf("slow body: %d %s, want 408 without addresses", code, body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("slow body answered after %s", d)
	}
	// The slot is free again.
	code, body = rawRequest(t, addr, "/get_reward", len(`{"query":["a"]}`), `{"query":["a"]}`)
	if code != 200 {
		t.Errorf("after a slow body: %d %s", code, body)
	}
}

// TestInFlightCap: with one slot taken by a body being read, another
// request waits and, past its deadline, gets 503 with Retry-After.
func TestInFlightCap(t *testing.T) {
	_, addr := serveOn(t, Config{BodyTimeout: 3 * time.Second, MaxInFlight: 1, RequestTimeout: 300 * time.Millisecond}, testBackend(&hashScorer{}))
	hold, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	fmt.Fprintf(hold, "POST /get_reward HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
	time.Sleep(100 * time.Millisecond) // the held request takes the slot
	code, body := rawRequest(t, addr, "/get_reward", len(`{"query":["a"]}`), `{"query":["a"]}`)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "server busy") {
		t.Errorf("second request with the slot held: %d %s, want 503", code, body)
	}
}

// TestPendingTokens: tokens accepted but not answered are bounded; past the
// bound a request gets 429, and a single request larger than the bound is
// still served when nothing else is pending.
func TestPendingTokens(t *testing.T) {
	sc := &hashScorer{block: make(chan struct{})}
	_, ts := newTestServer(t, Config{PendingTokens: 10, MaxWait: -1}, testBackend(sc))
	done := make(chan int, 1)
	go func() {
		code, _ := post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["0123456789abc"]}`) // 13 > 10
		done <- code
	}()
	waitFor(t, func() bool { return sc.calls.Load() == 1 })
	code, body := post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["a"]}`)
	if code != http.StatusTooManyRequests {
		t.Errorf("over the pending-token bound: %d %s, want 429", code, body)
	}
	sc.block <- struct{}{}
	if c := <-done; c != 200 {
		t.Errorf("a request larger than the bound alone: %d", c)
	}
	go func() { sc.block <- struct{}{} }()
	if code, _ := post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["a"]}`); code != 200 {
		t.Errorf("after the bound drained: %d", code)
	}
}

// TestMaxConns: a connection past the cap is not served until one closes.
func TestMaxConns(t *testing.T) {
	_, addr := serveOn(t, Config{MaxConns: 1}, testBackend(&hashScorer{}))
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(first, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(first)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first connection: %v", err)
	}
	second, err := net.Dial("tcp", addr) // sits in the backlog
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	fmt.Fprintf(second, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := http.ReadResponse(bufio.NewReader(second), nil); err == nil {
		t.Fatal("second connection served while the first is open, MaxConns 1")
	}
	first.Close()
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	// The request was already sent; once accepted it is answered.
	if resp, err := http.ReadResponse(bufio.NewReader(second), nil); err != nil || resp.StatusCode != 200 {
		t.Errorf("second connection after the first closed: %v", err)
	}
}

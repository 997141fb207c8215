package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func quiet(string, ...any) {}

// newTestServer starts s on 127.0.0.1 (httptest never binds elsewhere).
func newTestServer(t *testing.T, cfg Config, b *Backend) (*Server, *httptest.Server) {
	t.Helper()
	s := newQuietServer(t, cfg, b)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	return s, ts
}

// newQuietServer is New with logging off unless cfg.Logf is set.
func newQuietServer(t *testing.T, cfg Config, b *Backend) *Server {
	t.Helper()
	if cfg.Logf == nil {
		cfg.Logf = quiet
	}
	s, err := New(cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func post(t testing.TB, client *http.Client, url, token string, body any) (int, []byte) {
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(http.MethodPost, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Error(err)
	}
	return resp.StatusCode, data
}

func randText(r *rand.Rand, maxLen int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz ,.!?"
	n := 1 + r.IntN(maxLen)
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return string(b)
}

func str(s string) *string { return &s }

// serial scores each text alone: the reference the batched server must match.
func serial(b *Backend, texts []string) (rewards, std []float32) {
	for _, t := range texts {
		r, s, err := b.Score([][]int{b.Tok.Encode(t)})
		if err != nil {
			panic(err)
		}
		rewards = append(rewards, r[0])
		if s != nil {
			std = append(std, s[0])
		}
	}
	return rewards, std
}

func TestScoreMatchesSerial(t *testing.T) {
	b := testBackend(&hashScorer{})
	_, ts := newTestServer(t, Config{MaxBatch: 8}, b)
	r := rand.New(rand.NewPCG(1, 2))
	var items []ScoreItem
	var texts []string
	for range 50 {
		p, q := randText(r, 30), randText(r, 30)
		items = append(items, ScoreItem{Prompt: p, Response: str(q)})
		texts = append(texts, p+q)
	}
	code, body := post(t, ts.Client(), ts.URL+"/v1/score", "", ScoreRequest{Items: items})
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	var got ScoreResponse
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want, _ := serial(b, texts)
	if len(got.Rewards) != len(want) || got.Std != nil {
		t.Fatalf("got %d rewards, std %v; want %d rewards, no std", len(got.Rewards), got.Std, len(want))
	}
	for i := range want {
		if got.Rewards[i] != want[i] {
			t.Errorf("item %d: reward %v, serial %v", i, got.Rewards[i], want[i])
		}
	}
}

func TestMembersStd(t *testing.T) {
	// Members at offsets -1, 0, +1 around the same base: population std is
	// sqrt(2/3) for every item, whatever the base reward.
	b := testBackend(&hashScorer{offset: 10}, &hashScorer{offset: -1}, &hashScorer{}, &hashScorer{offset: 1})
	_, ts := newTestServer(t, Config{}, b)
	code, body := post(t, ts.Client(), ts.URL+"/v1/score", "",
		`{"items":[{"prompt":"a","response":"b"},{"prompt":"","response":"hello"}]}`)
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	var got ScoreResponse
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := []float32{refReward([]int{'a', 'b'}) + 10, refReward(byteTok{}.Encode("hello")) + 10}
	if len(got.Std) != 2 || len(got.Rewards) != 2 {
		t.Fatalf("got %s", body)
	}
	for i := range want {
		if got.Rewards[i] != want[i] {
			t.Errorf("item %d: reward %v, want main model's %v", i, got.Rewards[i], want[i])
		}
		if d := math.Abs(float64(got.Std[i]) - math.Sqrt(2.0/3)); d > 1e-5 {
			t.Errorf("item %d: std %v, want sqrt(2/3) (off by %g)", i, got.Std[i], d)
		}
	}

	// /get_reward passes the std on as OpenRLHF-fork "uncertainties".
	code, body = post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["ab"]}`)
	var gr GetRewardResponse
	if code != 200 || json.Unmarshal(body, &gr) != nil || len(gr.Uncertainties) != 1 || gr.Rewards[0] != want[0] {
		t.Fatalf("get_reward with members: %d %s", code, body)
	}
}

func TestGetRewardOpenRLHF(t *testing.T) {
	b := testBackend(&hashScorer{})
	_, ts := newTestServer(t, Config{}, b)
	for _, tc := range []struct {
		body  string
		texts []string
	}{
		{`{"query":["Q: hi A: there","second"]}`, []string{"Q: hi A: there", "second"}},
		// What OpenRLHF's remote_rm_fn sends: query, prompts, labels.
		{`{"query":["xy"],"prompts":["x"],"labels":[null]}`, []string{"xy"}},
		{`{"query":["xy"],"prompts":["x"],"labels":["1"],"templates":null,"stop_reason":["stop"]}`, []string{"xy"}},
		{`{"query":"single"}`, []string{"single"}},
	} {
		code, body := post(t, ts.Client(), ts.URL+"/get_reward", "", tc.body)
		if code != 200 {
			t.Errorf("%s: status %d: %s", tc.body, code, body)
			continue
		}
		var got GetRewardResponse
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		want, _ := serial(b, tc.texts)
		if fmt.Sprint(got.Rewards) != fmt.Sprint(want) || fmt.Sprint(got.Scores) != fmt.Sprint(want) {
			t.Errorf("%s: rewards %v scores %v, want %v", tc.body, got.Rewards, got.Scores, want)
		}
		if got.Uncertainties != nil || got.ExtraLogs != nil {
			t.Errorf("%s: uncertainties without members: %s", tc.body, body)
		}
	}
}

func TestBadRequests(t *testing.T) {
	b := testBackend(&hashScorer{}) // MaxTokens 64
	_, ts := newTestServer(t, Config{MaxItems: 4, MaxBodyBytes: 4096}, b)
	long := strings.Repeat("x", 65)
	for _, tc := range []struct {
		path, method, body string
		code               int
		msg                string
	}{
		{"/v1/score", "POST", `{"items":[{"prompt":"a","response":"b"}`, 400, "bad JSON"},
		{"/v1/score", "POST", `not json`, 400, "bad JSON"},
		{"/v1/score", "POST", ``, 400, "empty request body"},
		{"/v1/score", "POST", `{"items":[{"prompt":"a","response":"b"}]} {}`, 400, "extra data"},
		{"/v1/score", "POST", `{"items":[{"prompt":"a","respons":"b"}]}`, 400, "unknown field"},
		{"/v1/score", "POST", `{"items":[{"prompt":"a"}]}`, 400, `missing "response"`},
		{"/v1/score", "POST", `{"items":[{"prompt":1,"response":"b"}]}`, 400, "bad JSON"},
		{"/v1/score", "POST", `{}`, 400, `missing "items"`},
		{"/v1/score", "POST", `{"items":[]}`, 400, "no items"},
		{"/v1/score", "POST", `{"items":[{"prompt":"","response":""}]}`, 400, "empty text"},
		{"/v1/score", "POST", `{"items":[` + strings.Repeat(`{"response":"a"},`, 4) + `{"response":"a"}]}`, 413, "5 items in one request, limit 4"},
		{"/v1/score", "POST", `{"items":[{"prompt":"` + long[:30] + `","response":"` + long[30:] + `"}]}`, 413, "item 0: 65 tokens, limit 64"},
		{"/v1/score", "POST", `{"items":[{"response":"` + strings.Repeat("y", 5000) + `"}]}`, 413, "exceeds 4096 bytes"},
		{"/v1/score", "GET", ``, 405, "use POST"},
		{"/get_reward", "POST", `{"prompts":["a"]}`, 400, `missing "query"`},
		{"/get_reward", "POST", `{"query":[1,2]}`, 400, `bad "query"`},
		{"/get_reward", "POST", `{"query":null}`, 400, `missing "query"`},
		{"/get_reward", "POST", `{"query":5,"prompts":{"any":[1]}}`, 400, `bad "query"`},
		{"/get_reward", "POST", `{"query":["a"]`, 400, "bad JSON body: unexpected EOF"},
		{"/get_reward", "POST", `{"query":[]}`, 400, "no items"},
		{"/get_reward", "POST", `{"query":["` + long + `"]}`, 413, "65 tokens"},
		{"/healthz", "POST", ``, 405, "use GET"},
		{"/nope", "GET", ``, 404, "no such endpoint"},
		{"/admin/reload", "POST", ``, 501, "reload is not configured"},
	} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e ErrorResponse
		if resp.StatusCode != tc.code || json.Unmarshal(data, &e) != nil || !strings.Contains(e.Error, tc.msg) {
			t.Errorf("%s %s %.60q: got %d %s, want %d with %q", tc.method, tc.path, tc.body, resp.StatusCode, data, tc.code, tc.msg)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
	}
}

func TestMaxTokensConfig(t *testing.T) {
	if _, err := New(Config{MaxTokens: 65, Logf: quiet}, testBackend(&hashScorer{})); err == nil || !strings.Contains(err.Error(), "n_positions 64") {
		t.Fatalf("max tokens above n_positions: err %v", err)
	}
	_, ts := newTestServer(t, Config{MaxTokens: 3}, testBackend(&hashScorer{}))
	if code, body := post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["abcd"]}`); code != 413 {
		t.Errorf("4 tokens with limit 3: %d %s", code, body)
	}
	if code, body := post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["abc"]}`); code != 200 {
		t.Errorf("3 tokens with limit 3: %d %s", code, body)
	}
}

// loadTest runs clients × reqs requests of 1–6 random items each and
// checks every answer against check. It is bounded by a deadline.
func loadTest(t *testing.T, url string, clients, reqs int, check func(texts []string, got ScoreResponse) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 7))
			for range reqs {
				n := 1 + r.IntN(6)
				req := ScoreRequest{}
				var texts []string
				for range n {
					p, q := randText(r, 25), randText(r, 25)
					req.Items = append(req.Items, ScoreItem{Prompt: p, Response: str(q)})
					texts = append(texts, p+q)
				}
				data, _ := json.Marshal(req)
				hr, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/score", bytes.NewReader(data))
				resp, err := client.Do(hr)
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("client %d: status %d: %s", c, resp.StatusCode, body)
					return
				}
				var got ScoreResponse
				if err := json.Unmarshal(body, &got); err != nil {
					errs <- err
					return
				}
				if err := check(texts, got); err != nil {
					errs <- fmt.Errorf("client %d: %v", c, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func sameRewards(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestConcurrentLoad(t *testing.T) {
	sc := &hashScorer{delay: 200 * time.Microsecond}
	b := testBackend(sc, &hashScorer{offset: 1}, &hashScorer{offset: 2})
	s, ts := newTestServer(t, Config{MaxBatch: 32, MaxWait: 2 * time.Millisecond}, b)
	ref := testBackend(&hashScorer{}, &hashScorer{offset: 1}, &hashScorer{offset: 2}) // same rewards, own counters
	loadTest(t, ts.URL, 16, 50, func(texts []string, got ScoreResponse) error {
		want, wantStd := serial(ref, texts)
		if !sameRewards(got.Rewards, want) || !sameRewards(got.Std, wantStd) {
			return fmt.Errorf("rewards %v std %v, serial %v %v", got.Rewards, got.Std, want, wantStd)
		}
		return nil
	})
	// Batching must actually have merged requests: 800 requests of ≤ 6
	// items in far fewer forward passes, some batches fuller than any one
	// request could make them.
	if sc.maxLen.Load() <= 6 || sc.calls.Load() >= 800 {
		t.Errorf("no cross-request batching: %d calls, largest batch %d", sc.calls.Load(), sc.maxLen.Load())
	}
	if sc.maxLen.Load() > 32 {
		t.Errorf("batch of %d items exceeds MaxBatch 32", sc.maxLen.Load())
	}
	if got := s.m.items.Load(); got < 800 {
		t.Errorf("items_scored %d, want ≥ 800", got)
	}
}

func TestBigRequestSplitAndSorted(t *testing.T) {
	// One request larger than MaxBatch is chunked; each chunk holds items of
	// similar length (sorted longest first).
	var mu sync.Mutex
	var lens [][]int
	rec := scorerFunc(func(seqs [][]int) []float32 {
		mu.Lock()
		var l []int
		for _, s := range seqs {
			l = append(l, len(s))
		}
		lens = append(lens, l)
		mu.Unlock()
		return (&hashScorer{}).rewards(seqs)
	})
	b := testBackend(rec)
	_, ts := newTestServer(t, Config{MaxBatch: 4}, b)
	var texts []string
	var items []ScoreItem
	for i := 1; i <= 10; i++ {
		s := strings.Repeat("z", (i*7)%11+1) + fmt.Sprint(i)
		texts = append(texts, s)
		items = append(items, ScoreItem{Response: str(s)})
	}
	code, body := post(t, ts.Client(), ts.URL+"/v1/score", "", ScoreRequest{Items: items})
	var got ScoreResponse
	if code != 200 || json.Unmarshal(body, &got) != nil {
		t.Fatalf("%d %s", code, body)
	}
	if want, _ := serial(testBackend(&hashScorer{}), texts); !sameRewards(got.Rewards, want) {
		t.Errorf("rewards %v, serial %v", got.Rewards, want)
	}
	if len(lens) != 3 {
		t.Fatalf("10 items with MaxBatch 4 scored in %d batches, want 3: %v", len(lens), lens)
	}
	prev := math.MaxInt
	for _, l := range lens {
		for _, n := range l {
			if n > prev {
				t.Fatalf("batches not sorted longest first: %v", lens)
			}
			prev = n
		}
	}
}

type scorerFunc func([][]int) []float32

func (f scorerFunc) Rewards(s [][]int) ([]float32, error) { return f(s), nil }

func TestQueueFull(t *testing.T) {
	sc := &hashScorer{block: make(chan struct{})}
	s, ts := newTestServer(t, Config{QueueSize: 1, Workers: 1, MaxWait: -1}, testBackend(sc))
	results := make(chan int, 2)
	send := func() {
		code, _ := post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["a"]}`)
		results <- code
	}
	go send() // taken by the worker, which blocks in the model
	waitFor(t, func() bool { return sc.calls.Load() == 1 })
	go send() // waits in the queue
	waitFor(t, func() bool { return len(s.bt.queue) == 1 })
	code, body := post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["a"]}`)
	if code != http.StatusTooManyRequests || !strings.Contains(string(body), "queue is full") {
		t.Errorf("third request on a full queue: %d %s, want 429", code, body)
	}
	sc.block <- struct{}{}
	sc.block <- struct{}{}
	for range 2 {
		if c := <-results; c != 200 {
			t.Errorf("queued request: status %d", c)
		}
	}
	if s.m.rejected.Load() != 1 {
		t.Errorf("rejections %d, want 1", s.m.rejected.Load())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRequestTimeout(t *testing.T) {
	sc := &hashScorer{block: make(chan struct{})}
	_, ts := newTestServer(t, Config{RequestTimeout: 50 * time.Millisecond}, testBackend(sc))
	defer close(sc.block)
	code, body := post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["a"]}`)
	if code != http.StatusGatewayTimeout || !strings.Contains(string(body), "timed out") {
		t.Errorf("blocked model: %d %s, want 504", code, body)
	}
}

func TestModelFailures(t *testing.T) {
	for _, sc := range []*hashScorer{{panics: true}, {nan: true}} {
		_, ts := newTestServer(t, Config{}, testBackend(sc))
		code, body := post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["a"]}`)
		if code != 500 || !json.Valid(body) {
			t.Errorf("panics=%v nan=%v: %d %s, want 500 JSON", sc.panics, sc.nan, code, body)
		}
		// The server survives.
		if resp, err := ts.Client().Get(ts.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
			t.Errorf("healthz after model failure: %v", err)
		}
	}
}

func TestAuth(t *testing.T) {
	_, ts := newTestServer(t, Config{Token: "s3cret", Load: func() (*Backend, error) { return testBackend(&hashScorer{}), nil }},
		testBackend(&hashScorer{}))
	body := `{"query":["a"]}`
	for _, tc := range []struct {
		path, header string
		code         int
	}{
		{"/get_reward", "", 401},
		{"/get_reward", "Bearer wrong", 401},
		{"/get_reward", "Bearer s3cre", 401},
		{"/get_reward", "Basic s3cret", 401},
		{"/get_reward", "s3cret", 401},
		{"/get_reward", "Bearer s3cret", 200},
		{"/get_reward", "bearer s3cret", 200},
		{"/v1/score", "", 401},
		{"/metrics", "", 401},
		{"/admin/reload", "", 401},
		{"/admin/reload", "Bearer nope", 401},
		{"/admin/reload", "Bearer s3cret", 200},
		{"/healthz", "", 200},
	} {
		method := "POST"
		if tc.path == "/metrics" || tc.path == "/healthz" {
			method = "GET"
		}
		req, _ := http.NewRequest(method, ts.URL+tc.path, strings.NewReader(body))
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s with %q: %d, want %d", tc.path, tc.header, resp.StatusCode, tc.code)
		}
		if tc.code == 401 && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.path)
		}
	}
}

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr            string
		token, insecure bool
		ok              bool
	}{
		{"127.0.0.1:8080", false, false, true},
		{"127.0.0.2:8080", false, false, true},
		{"[::1]:8080", false, false, true},
		{"localhost:8080", false, false, true},
		{"0.0.0.0:8080", false, false, false},
		{":8080", false, false, false},
		{"[::]:8080", false, false, false},
		{"10.1.2.3:8080", false, false, false},
		{"example.com:8080", false, false, false},
		{"0.0.0.0:8080", true, false, true},
		{"0.0.0.0:8080", false, true, true},
		{"127.0.0.1", false, false, false}, // no port
	} {
		err := CheckAddr(tc.addr, tc.token, tc.insecure)
		if (err == nil) != tc.ok {
			t.Errorf("CheckAddr(%q, token=%v, insecure=%v) = %v, want ok=%v", tc.addr, tc.token, tc.insecure, err, tc.ok)
		}
	}
}

func TestReloadUnderLoad(t *testing.T) {
	// Backends A and B differ by a reward offset of 100; each answer must
	// come wholly from one of them, and no request may fail while the server
	// flips between them.
	a := testBackend(&hashScorer{delay: 100 * time.Microsecond})
	bb := testBackend(&hashScorer{offset: 100, delay: 100 * time.Microsecond})
	var mu sync.Mutex
	next := bb
	load := func() (*Backend, error) {
		mu.Lock()
		defer mu.Unlock()
		time.Sleep(2 * time.Millisecond) // loading takes time; the old backend keeps serving
		b := next
		if next == a {
			next = bb
		} else {
			next = a
		}
		return b, nil
	}
	s, ts := newTestServer(t, Config{MaxBatch: 16, Load: load}, a)
	stop := make(chan struct{})
	var reloads int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			code, body := post(t, ts.Client(), ts.URL+"/admin/reload", "", "")
			if code != 200 {
				t.Errorf("reload: %d %s", code, body)
				return
			}
			reloads++
		}
	}()
	var fromA, fromB sync.Map
	loadTest(t, ts.URL, 8, 40, func(texts []string, got ScoreResponse) error {
		wa, _ := serial(a, texts)
		wb, _ := serial(bb, texts)
		switch {
		case sameRewards(got.Rewards, wa):
			fromA.Store(texts[0], true)
		case sameRewards(got.Rewards, wb):
			fromB.Store(texts[0], true)
		default:
			return fmt.Errorf("rewards %v match neither backend (A %v, B %v)", got.Rewards, wa, wb)
		}
		return nil
	})
	close(stop)
	<-done
	count := func(m *sync.Map) (n int) { m.Range(func(_, _ any) bool { n++; return true }); return }
	if reloads < 2 || count(&fromA) == 0 || count(&fromB) == 0 {
		t.Errorf("reloads %d, answers from A %d, from B %d: want both backends used", reloads, count(&fromA), count(&fromB))
	}
	if s.m.reloadsOK.Load() != uint64(reloads) {
		t.Errorf("reload metric %d, want %d", s.m.reloadsOK.Load(), reloads)
	}
}

func TestReloadFailureKeepsOld(t *testing.T) {
	s, ts := newTestServer(t, Config{Load: func() (*Backend, error) { return nil, fmt.Errorf("bad checkpoint /x/model.safetensors") }},
		testBackend(&hashScorer{}))
	code, body := post(t, ts.Client(), ts.URL+"/admin/reload", "", "")
	if code != 500 || !strings.Contains(string(body), "bad checkpoint") {
		t.Errorf("failed reload: %d %s", code, body)
	}
	if s.Backend().Name != "fake" {
		t.Errorf("backend replaced by a failed reload")
	}
	if code, _ := post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["a"]}`); code != 200 {
		t.Errorf("scoring after failed reload: %d", code)
	}
}

func TestGracefulShutdown(t *testing.T) {
	sc := &hashScorer{block: make(chan struct{})}
	s, err := New(Config{Logf: quiet, MaxWait: -1}, testBackend(sc))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	const n = 4
	codes := make(chan int, n)
	for range n {
		go func() {
			code, _ := post(t, http.DefaultClient, url+"/get_reward", "", `{"query":["abc"]}`)
			codes <- code
		}()
	}
	// All n requests are in flight: in the (blocked) model's batch or queued.
	waitFor(t, func() bool { return sc.calls.Load() == 1 && int(sc.maxLen.Load())+len(s.bt.queue) == n })
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	// New connections are refused once Shutdown has closed the listener.
	waitFor(t, func() bool {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	close(sc.block) // let the model finish
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	for range n {
		if c := <-codes; c != 200 {
			t.Errorf("in-flight request during shutdown: status %d, want 200", c)
		}
	}
}

// Every sample line of the exposition format: name{labels} value.
var sampleLine = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? [-+0-9.eEInf]+$`)

func TestMetrics(t *testing.T) {
	_, ts := newTestServer(t, Config{}, testBackend(&hashScorer{}))
	for range 3 {
		post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":["ab","cde"]}`)
	}
	post(t, ts.Client(), ts.URL+"/get_reward", "", `{"query":[]}`)
	resp, err := ts.Client().Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	text := string(data)
	for _, want := range []string{
		`warm_serve_requests_total{path="/get_reward",code="200"} 3`,
		`warm_serve_requests_total{path="/get_reward",code="400"} 1`,
		`warm_serve_request_duration_seconds_count{path="/get_reward"} 4`,
		`warm_serve_request_duration_seconds_bucket{path="/get_reward",le="+Inf"} 4`,
		`warm_serve_items_scored_total 6`,
		`warm_serve_tokens_scored_total 15`,
		`warm_serve_batch_size_count 3`,
		`warm_serve_batch_size_bucket{le="2"} 3`,
		`warm_serve_batch_padded_tokens_sum 18`,
		`warm_serve_queue_depth 0`,
		"# TYPE warm_serve_batch_size histogram",
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if !strings.HasPrefix(line, "# ") && !sampleLine.MatchString(line) {
			t.Errorf("malformed exposition line %q", line)
		}
	}
}

func TestHistogram(t *testing.T) {
	h := newHistogram(1, 2, 4)
	for _, v := range []float64{0.5, 1, 1.5, 4, 9} {
		h.observe(v)
	}
	var buf bytes.Buffer
	h.write(&buf, "x", "")
	want := `x_bucket{le="1"} 2
x_bucket{le="2"} 3
x_bucket{le="4"} 4
x_bucket{le="+Inf"} 5
x_sum 16
x_count 5
`
	if buf.String() != want {
		t.Errorf("got\n%swant\n%s", buf.String(), want)
	}
}

func TestTokenBudgetChunks(t *testing.T) {
	// MaxBatchTokens bounds each forward pass; an item longer than the
	// budget still goes through, alone.
	var mu sync.Mutex
	var sums []int
	rec := scorerFunc(func(seqs [][]int) []float32 {
		mu.Lock()
		n := 0
		for _, s := range seqs {
			n += len(s)
		}
		sums = append(sums, n)
		if n > 20 && len(seqs) > 1 {
			t.Errorf("batch of %d items with %d tokens exceeds the 20-token budget", len(seqs), n)
		}
		mu.Unlock()
		return (&hashScorer{}).rewards(seqs)
	})
	b := testBackend(rec)
	_, ts := newTestServer(t, Config{MaxBatchTokens: 20}, b)
	texts := []string{"aaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "cc", "ddddddddd", "eeeee", "ffffffffffff"}
	q, _ := json.Marshal(map[string]any{"query": texts})
	code, body := post(t, ts.Client(), ts.URL+"/get_reward", "", q)
	var got GetRewardResponse
	if code != 200 || json.Unmarshal(body, &got) != nil {
		t.Fatalf("%d %s", code, body)
	}
	if want, _ := serial(testBackend(&hashScorer{}), texts); !sameRewards(got.Rewards, want) {
		t.Errorf("rewards %v, serial %v", got.Rewards, want)
	}
	// 30 | 12 | 9+7 | 5+2 (longest first, greedy).
	if fmt.Sprint(sums) != "[30 12 16 7]" {
		t.Errorf("token sums per batch %v, want [30 12 16 7]", sums)
	}
}

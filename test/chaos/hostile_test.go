//go:build chaos

package chaos

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// rssBoundMB is the peak RSS the hostile load must stay under with the
// default limits: docs/serve.md derives ~130 MB of live heap for bodies in
// flight, pending tokens and connections; Go's GC may let RSS reach about
// twice the live heap, plus the model and runtime.
const rssBoundMB = 400

// post sends body (with Content-Length) and returns the status, or 0 and
// the error when the server closed the connection first (which it may do
// after answering 413 to a body it stopped reading).
func post(client *http.Client, url string, body []byte) (int, string, error) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// TestHostileRequests: deep JSON, huge single-word texts, many items,
// oversized bodies on many connections and slow bodies against `warm serve`
// with default limits (body timeout shortened to keep the test short):
// correct status codes, no socket addresses in answers, bounded peak RSS,
// and the server still answers valid requests afterwards.
func TestHostileRequests(t *testing.T) {
	dir := filepath.Join(workRoot, "hostile")
	writeRM(t, dir, 1, -1)
	s := startServe(t, "--model", dir, "--body-timeout", "2s")
	base := s.rss()
	client := &http.Client{Timeout: 60 * time.Second}
	type outcome struct {
		name  string
		codes map[int]int
		start time.Time
		took  time.Duration
	}
	var results []outcome
	run := func(name string, n int, want []int, body func(i int) []byte) {
		o := outcome{name: name, codes: map[int]int{}, start: time.Now()}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, msg, err := post(client, s.url+"/get_reward", body(i))
				mu.Lock()
				defer mu.Unlock()
				o.codes[code]++
				if err == nil && strings.Contains(msg, "127.0.0.1") {
					t.Errorf("%s: answer reveals socket addresses: %s", name, msg)
				}
			}()
		}
		wg.Wait()
		o.took = time.Since(o.start)
		for code, k := range o.codes {
			okCode := false
			for _, w := range want {
				okCode = okCode || code == w
			}
			if !okCode {
				t.Errorf("%s: %d answers with status %d, want %v", name, k, code, want)
			}
		}
		results = append(results, o)
	}

	deep := []byte(`{"query":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`)
	run("deep JSON (100k levels)", 4, []int{400}, func(int) []byte { return deep })

	word := []byte(`{"query":["` + strings.Repeat("a", 7<<20) + `"]}`)
	run("7 MiB single-word text", 8, []int{413}, func(int) []byte { return word })

	many := []byte(`{"query":[` + strings.Repeat(`"a",`, 100000) + `"a"]}`)
	run("100k items", 8, []int{413}, func(int) []byte { return many })

	// Heavy but within the byte limits: 256 items of 2 KiB each get
	// tokenized, then refused for their token count.
	item := `"` + strings.Repeat("the cold wind ", 2048/14) + `"`
	heavy := []byte(`{"query":[` + strings.Repeat(item+",", 255) + item + `]}`)
	run("256 items × 2 KiB on 32 connections", 32, []int{413}, func(int) []byte { return heavy })

	over := bytes.Repeat([]byte(" "), 9<<20)
	copy(over, `{"query":["a"]`)
	// 0: the server may close the connection while the client still writes.
	run("9 MiB bodies on 64 connections", 64, []int{413, 0}, func(int) []byte { return over })

	big := []byte(`{"query":["` + strings.Repeat("b ", (8<<20-64)/2) + `"]}`)
	run("8 MiB bodies on 64 connections", 64, []int{413}, func(int) []byte { return big })

	// Slow bodies: 16 connections promise 1000 bytes and send one every
	// 300 ms; each gets 408 after the 2 s body timeout (waiting for one of
	// the 4 in-flight slots first).
	slow := outcome{name: "16 slow bodies (1 byte / 300 ms)", codes: map[int]int{}, start: time.Now()}
	var mu sync.Mutex
	var wg sync.WaitGroup
	host := strings.TrimPrefix(s.url, "http://")
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", host)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /get_reward HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
			stop := make(chan struct{})
			go func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(300 * time.Millisecond):
						c.Write([]byte(" "))
					}
				}
			}()
			c.SetReadDeadline(time.Now().Add(45 * time.Second))
			resp, err := http.ReadResponse(bufioReader(c), nil)
			close(stop)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				slow.codes[0]++
				return
			}
			b, _ := io.ReadAll(resp.Body)
			slow.codes[resp.StatusCode]++
			if strings.Contains(string(b), "127.0.0.1") {
				t.Errorf("slow body answer reveals socket addresses: %s", b)
			}
		}()
	}
	wg.Wait()
	slow.took = time.Since(slow.start)
	if slow.codes[408] != 16 {
		t.Errorf("slow bodies: %v, want 16 × 408", slow.codes)
	}
	results = append(results, slow)

	if code, msg, err := post(client, s.url+"/get_reward", []byte(`{"query":["a fine day"]}`)); code != 200 {
		t.Errorf("valid request after the hostile load: %d %s %v", code, msg, err)
	}
	if !s.alive() {
		t.Fatalf("warm serve died:\n%s", s.log())
	}
	peak := s.peakRSS()
	for _, o := range results {
		t.Logf("FIGURES hostile %s: %v in %s", o.name, o.codes, o.took.Round(time.Millisecond))
	}
	t.Logf("FIGURES hostile peak RSS %.0f MB (bound %d MB; %.0f MB at start, %.0f MB at the end)", peak, rssBoundMB, base, s.rss())
	if peak > rssBoundMB {
		t.Errorf("peak RSS %.0f MB exceeds the %d MB bound", peak, rssBoundMB)
	}
}

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

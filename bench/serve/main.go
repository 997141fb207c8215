// Command serve-bench measures `warm serve`: it builds reference-config
// reward models with random weights and 128-token items (mkmodel), and
// drives a running server with concurrent clients (load), printing
// throughput and latency percentiles. bench/serve/run.sh runs it side by
// side with the PyTorch peer (peer.py).
//
//	go run ./bench/serve mkmodel -out /tmp/wsb -members 6
//	go run ./bench/serve load -url http://127.0.0.1:8080 -items /tmp/wsb/items.jsonl -c 8 -n 2000
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/safetensors"
	"github.com/warm-rm/warm/kit/tokenizer"
	"github.com/warm-rm/warm/study/corpus"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: serve-bench mkmodel|load|wait|direct [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "mkmodel":
		err = mkmodel(os.Args[2:])
	case "load":
		err = load(os.Args[2:])
	case "wait":
		err = wait(os.Args[2:])
	case "direct":
		err = direct(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q (want mkmodel, load, wait or direct)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve-bench:", err)
		os.Exit(1)
	}
}

// Item is one line of items.jsonl: the text split into prompt and response
// (the server concatenates them back) and its 128 token ids, which the
// PyTorch peer scores directly.
type Item struct {
	Prompt   string `json:"prompt"`
	Response string `json:"response"`
	IDs      []int  `json:"ids"`
}

// refConfig is the reference reward model of the project brief: vocab 8192,
// d 128, 4 heads, 2 layers, MLP 512.
func refConfig(vocab int) model.Config {
	return model.Config{
		VocabSize: vocab, NPositions: 256, NEmbd: 128, NLayer: 2, NHead: 4, NInner: 512,
		LayerNormEps: 1e-5, BOSTokenID: -1, EOSTokenID: -1, PadTokenID: -1,
		Architecture: model.ArchRewardModel,
	}
}

func mkmodel(args []string) error {
	fs := flag.NewFlagSet("mkmodel", flag.ExitOnError)
	out := fs.String("out", "", "output folder: tok/, rm0 … rmN/, items.jsonl")
	members := fs.Int("members", 6, "models to build (rm0 serves alone; rm1…rmN are the ENS members)")
	nItems := fs.Int("items", 512, "128-token items to cut from the corpus sample")
	itemLen := fs.Int("len", 128, "tokens per item")
	fs.Parse(args)
	if *out == "" {
		return fmt.Errorf("mkmodel: -out is required")
	}
	docs := corpus.LoadSample()
	var texts []string
	for _, d := range docs {
		texts = append(texts, d.Text)
	}
	start := time.Now()
	tok, err := tokenizer.Train(texts, 8192, []string{"<|endoftext|>"}, os.Stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "tokenizer: %d tokens in %s\n", tok.VocabSize(), time.Since(start).Round(time.Millisecond))
	cfg := refConfig(8192)
	for i := 0; i <= *members; i++ {
		dir := filepath.Join(*out, fmt.Sprintf("rm%d", i))
		m := model.New(cfg, uint64(100+i))
		if err := m.Save(dir, safetensors.F32); err != nil {
			return err
		}
		if err := tok.Save(dir, cfg.NPositions); err != nil {
			return err
		}
	}
	// Items: consecutive 128-token windows of the sample documents whose
	// decoded text re-encodes to the same ids (a window can cut a UTF-8
	// character or a merge in two; those are skipped).
	var items []Item
	for _, d := range docs {
		ids := tok.Encode(d.Text)
		for lo := 0; lo+*itemLen <= len(ids) && len(items) < *nItems; lo += *itemLen / 2 { // half-overlapping windows: the sample is small
			w := ids[lo : lo+*itemLen]
			text := tok.Decode(w)
			if !equalInts(tok.Encode(text), w) {
				continue
			}
			cut := len(text) / 3
			for cut < len(text) && text[cut] != ' ' { // split at a space, as a prompt would end
				cut++
			}
			items = append(items, Item{Prompt: text[:cut], Response: text[cut:], IDs: w})
		}
	}
	if len(items) < *nItems {
		return fmt.Errorf("mkmodel: only %d items of %d tokens in the corpus sample, want %d", len(items), *itemLen, *nItems)
	}
	var buf bytes.Buffer
	for _, it := range items {
		line, _ := json.Marshal(it)
		buf.Write(line)
		buf.WriteByte('\n')
	}
	path := filepath.Join(*out, "items.jsonl")
	if err := os.WriteFile(path+".tmp", buf.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %d models and %d items to %s\n", *members+1, len(items), *out)
	return nil
}

func equalInts(a, b []int) bool {
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

func readItems(path string) ([]Item, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var items []Item
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		var it Item
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		items = append(items, it)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%s: no items", path)
	}
	return items, nil
}

// Result is one load level, printed as a JSON line.
type Result struct {
	Label      string  `json:"label"`
	Clients    int     `json:"clients"`
	Requests   int     `json:"requests"`
	PerRequest int     `json:"items_per_request"`
	Errors     int     `json:"errors"`
	Seconds    float64 `json:"seconds"`
	ItemsPerS  float64 `json:"items_per_s"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
}

func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "server base URL (loopback only in the benchmark)")
	itemsPath := fs.String("items", "", "items.jsonl from mkmodel")
	clients := fs.Int("c", 8, "concurrent clients")
	n := fs.Int("n", 1000, "timed requests in total")
	per := fs.Int("per", 1, "items per request")
	label := fs.String("label", "", "label for the result line")
	dump := fs.String("dump", "", "write the rewards of the items (in order, one request each) to this JSON file and exit")
	token := fs.String("token", os.Getenv("WARM_SERVE_TOKEN"), "bearer token")
	fs.Parse(args)
	items, err := readItems(*itemsPath)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients + 1}, Timeout: 2 * time.Minute}
	do := func(k int) ([]float32, error) {
		req := map[string]any{}
		var list []map[string]string
		for j := range *per {
			it := items[(k*(*per)+j)%len(items)]
			list = append(list, map[string]string{"prompt": it.Prompt, "response": it.Response})
		}
		req["items"] = list
		body, _ := json.Marshal(req)
		hr, err := http.NewRequest(http.MethodPost, *url+"/v1/score", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		hr.Header.Set("Content-Type", "application/json")
		if *token != "" {
			hr.Header.Set("Authorization", "Bearer "+*token)
		}
		resp, err := client.Do(hr)
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(data)))
		}
		var out struct {
			Rewards []float32 `json:"rewards"`
		}
		if err := json.Unmarshal(data, &out); err != nil {
			return nil, err
		}
		return out.Rewards, nil
	}

	if *dump != "" {
		*per = 1
		rewards := make([]float32, len(items))
		for k := range items {
			r, err := do(k)
			if err != nil {
				return err
			}
			rewards[k] = r[0]
		}
		data, _ := json.Marshal(rewards)
		return os.WriteFile(*dump, data, 0o644)
	}

	// Warm-up: every client a few requests, untimed (connections, buffers).
	run := func(total int) ([]time.Duration, int, time.Duration) {
		lat := make([]time.Duration, total)
		var errs int
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := time.Now()
		for c := range *clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := c; k < total; k += *clients {
					t0 := time.Now()
					_, err := do(k)
					lat[k] = time.Since(t0)
					if err != nil {
						mu.Lock()
						if errs == 0 {
							fmt.Fprintln(os.Stderr, "first error:", err)
						}
						errs++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		return lat, errs, time.Since(start)
	}
	run(*clients * 4)
	lat, errs, wall := run(*n)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(lat)))) - 1
		return float64(lat[max(i, 0)].Microseconds()) / 1000
	}
	res := Result{
		Label: *label, Clients: *clients, Requests: *n, PerRequest: *per, Errors: errs,
		Seconds:   wall.Seconds(),
		ItemsPerS: float64(*n**per) / wall.Seconds(),
		P50ms:     pct(0.50), P99ms: pct(0.99),
	}
	line, _ := json.Marshal(res)
	fmt.Println(string(line))
	fmt.Fprintf(os.Stderr, "%-8s c=%-3d %6.1f items/s  p50 %7.2f ms  p99 %7.2f ms  errors %d\n",
		*label, *clients, res.ItemsPerS, res.P50ms, res.P99ms, errs)
	if errs > 0 {
		return fmt.Errorf("%d of %d requests failed", errs, *n)
	}
	return nil
}

// wait polls /healthz until the server answers (it may be loading models).
func wait(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "server base URL")
	limit := fs.Duration("timeout", time.Minute, "give up after")
	fs.Parse(args)
	deadline := time.Now().Add(*limit)
	for {
		resp, err := http.Get(*url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/healthz not up after %s (last error: %v)", *url, *limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// direct scores the items with the engine in-process, in batches of -batch,
// with no server: the model's own speed, to compare with the served rate
// (serving overhead) and with the PyTorch batch loop (same work).
func direct(args []string) error {
	fs := flag.NewFlagSet("direct", flag.ExitOnError)
	dir := fs.String("model", "", "reward model directory")
	itemsPath := fs.String("items", "", "items.jsonl from mkmodel")
	batch := fs.Int("batch", 64, "items per Rewards call")
	reps := fs.Int("reps", 3, "timed passes over all items (median reported)")
	label := fs.String("label", "engine", "label for the result line")
	fs.Parse(args)
	items, err := readItems(*itemsPath)
	if err != nil {
		return err
	}
	m, err := model.Load(*dir)
	if err != nil {
		return err
	}
	pass := func() time.Duration {
		t0 := time.Now()
		for lo := 0; lo < len(items); lo += *batch {
			var seqs [][]int
			for _, it := range items[lo:min(lo+*batch, len(items))] {
				seqs = append(seqs, it.IDs)
			}
			m.Rewards(seqs)
		}
		return time.Since(t0)
	}
	pass() // warm-up: buffers grow once
	var rates []float64
	for range *reps {
		rates = append(rates, float64(len(items))/pass().Seconds())
	}
	sort.Float64s(rates)
	res := map[string]any{"label": *label, "batch": *batch, "items_per_s": rates[len(rates)/2]}
	line, _ := json.Marshal(res)
	fmt.Println(string(line))
	fmt.Fprintf(os.Stderr, "%-8s batch=%-3d %6.1f items/s (engine in-process)\n", *label, *batch, rates[len(rates)/2])
	return nil
}

package serve

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
)

// The Prometheus text exposition format (version 0.0.4) is written by hand:
// the server exports a handful of counters and three histograms, and
// github.com/prometheus/client_golang would add eight modules (protobuf,
// procfs, client_model, common, ...) to the shared go.mod for ~150 lines
// of straightforward code. The format is small and stable:
// https://prometheus.io/docs/instrumenting/exposition_formats/

// histogram is a cumulative-bucket histogram with fixed upper bounds.
type histogram struct {
	mu     sync.Mutex
	bounds []float64 // ascending upper bounds, +Inf implied
	counts []uint64  // per bucket (not cumulative), len(bounds)+1
	sum    float64
	n      uint64
}

func newHistogram(bounds ...float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v) // first bound >= v: Prometheus buckets are le
	h.mu.Lock()
	h.counts[i]++
	h.sum += v
	h.n++
	h.mu.Unlock()
}

// write prints the histogram's series; labels is either "" or `k="v",` pairs
// ending in a comma.
func (h *histogram) write(w io.Writer, name, labels string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{%sle=%q} %d\n", name, labels, formatFloat(b), cum)
	}
	cum += h.counts[len(h.bounds)]
	fmt.Fprintf(w, "%s_bucket{%sle=\"+Inf\"} %d\n", name, labels, cum)
	l := ""
	if labels != "" {
		l = "{" + labels[:len(labels)-1] + "}"
	}
	fmt.Fprintf(w, "%s_sum%s %s\n", name, l, formatFloat(h.sum))
	fmt.Fprintf(w, "%s_count%s %d\n", name, l, h.n)
}

func formatFloat(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// metrics is the server's instrumentation. Paths are bounded to the known
// routes (anything else is "other") so label cardinality stays fixed.
type metrics struct {
	mu       sync.Mutex
	requests map[[2]string]uint64 // {path, code} → count
	latency  map[string]*histogram

	batchSize  *histogram // items per forward batch
	batchToks  *histogram // padded tokens per forward batch
	items      atomic.Uint64
	tokens     atomic.Uint64
	rejected   atomic.Uint64 // queue full
	reloadsOK  atomic.Uint64
	reloadsErr atomic.Uint64
	// backendsOpen counts backends the server holds that are not closed
	// yet: 1 at rest, 2 while requests still finish on the one a reload
	// replaced. A number that keeps growing is a leak.
	backendsOpen atomic.Int64
}

var latencyBounds = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

func newMetrics() *metrics {
	return &metrics{
		requests:  map[[2]string]uint64{},
		latency:   map[string]*histogram{},
		batchSize: newHistogram(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
		batchToks: newHistogram(128, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536),
	}
}

func (m *metrics) request(path string, code int, seconds float64) {
	m.mu.Lock()
	m.requests[[2]string{path, strconv.Itoa(code)}]++
	h := m.latency[path]
	if h == nil {
		h = newHistogram(latencyBounds...)
		m.latency[path] = h
	}
	m.mu.Unlock()
	h.observe(seconds)
}

func (m *metrics) batch(items, paddedTokens, tokens int) {
	m.batchSize.observe(float64(items))
	m.batchToks.observe(float64(paddedTokens))
	m.items.Add(uint64(items))
	m.tokens.Add(uint64(tokens))
}

// write prints all metrics in the text exposition format. queueDepth and
// members are sampled by the caller.
func (m *metrics) write(w io.Writer, queueDepth, queueCap, members int) {
	m.mu.Lock()
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	counts := make([]uint64, len(keys))
	for i, k := range keys {
		counts[i] = m.requests[k]
	}
	paths := make([]string, 0, len(m.latency))
	for p := range m.latency {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	hists := make([]*histogram, len(paths))
	for i, p := range paths {
		hists[i] = m.latency[p]
	}
	m.mu.Unlock()

	fmt.Fprintln(w, "# HELP warm_serve_requests_total HTTP requests by path and status code.")
	fmt.Fprintln(w, "# TYPE warm_serve_requests_total counter")
	for i, k := range keys {
		fmt.Fprintf(w, "warm_serve_requests_total{path=%q,code=%q} %d\n", k[0], k[1], counts[i])
	}
	fmt.Fprintln(w, "# HELP warm_serve_request_duration_seconds Request latency from headers read to response written.")
	fmt.Fprintln(w, "# TYPE warm_serve_request_duration_seconds histogram")
	for i, p := range paths {
		hists[i].write(w, "warm_serve_request_duration_seconds", fmt.Sprintf("path=%q,", p))
	}
	fmt.Fprintln(w, "# HELP warm_serve_batch_size Items per forward batch.")
	fmt.Fprintln(w, "# TYPE warm_serve_batch_size histogram")
	m.batchSize.write(w, "warm_serve_batch_size", "")
	fmt.Fprintln(w, "# HELP warm_serve_batch_padded_tokens Tokens per forward batch including padding (items × longest).")
	fmt.Fprintln(w, "# TYPE warm_serve_batch_padded_tokens histogram")
	m.batchToks.write(w, "warm_serve_batch_padded_tokens", "")
	fmt.Fprintln(w, "# HELP warm_serve_items_scored_total Items scored.")
	fmt.Fprintln(w, "# TYPE warm_serve_items_scored_total counter")
	fmt.Fprintf(w, "warm_serve_items_scored_total %d\n", m.items.Load())
	fmt.Fprintln(w, "# HELP warm_serve_tokens_scored_total Tokens scored (without padding).")
	fmt.Fprintln(w, "# TYPE warm_serve_tokens_scored_total counter")
	fmt.Fprintf(w, "warm_serve_tokens_scored_total %d\n", m.tokens.Load())
	fmt.Fprintln(w, "# HELP warm_serve_queue_rejections_total Requests refused because the queue was full.")
	fmt.Fprintln(w, "# TYPE warm_serve_queue_rejections_total counter")
	fmt.Fprintf(w, "warm_serve_queue_rejections_total %d\n", m.rejected.Load())
	fmt.Fprintln(w, "# HELP warm_serve_queue_depth Requests waiting for a batch.")
	fmt.Fprintln(w, "# TYPE warm_serve_queue_depth gauge")
	fmt.Fprintf(w, "warm_serve_queue_depth %d\n", queueDepth)
	fmt.Fprintln(w, "# HELP warm_serve_queue_capacity Most requests that may wait for a batch.")
	fmt.Fprintln(w, "# TYPE warm_serve_queue_capacity gauge")
	fmt.Fprintf(w, "warm_serve_queue_capacity %d\n", queueCap)
	fmt.Fprintln(w, "# HELP warm_serve_members Ensemble members scored next to the main model.")
	fmt.Fprintln(w, "# TYPE warm_serve_members gauge")
	fmt.Fprintf(w, "warm_serve_members %d\n", members)
	fmt.Fprintln(w, "# HELP warm_serve_reloads_total Backend reloads by result.")
	fmt.Fprintln(w, "# TYPE warm_serve_reloads_total counter")
	fmt.Fprintf(w, "warm_serve_reloads_total{result=\"ok\"} %d\n", m.reloadsOK.Load())
	fmt.Fprintf(w, "warm_serve_reloads_total{result=\"error\"} %d\n", m.reloadsErr.Load())
	fmt.Fprintln(w, "# HELP warm_serve_backends_open Backends (models) held and not yet closed: 1 at rest, 2 while requests finish on a replaced one.")
	fmt.Fprintln(w, "# TYPE warm_serve_backends_open gauge")
	fmt.Fprintf(w, "warm_serve_backends_open %d\n", m.backendsOpen.Load())
}

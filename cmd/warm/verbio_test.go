package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Two settings writing at once: every output line is whole, carries its
// writer's prefix, and a redrawn progress line ('\r') ends a line too.
func TestPrefixWriterKeepsLinesWhole(t *testing.T) {
	var mu sync.Mutex
	var dst bytes.Buffer
	a, b := newPrefixWriter(&mu, &dst, "[clean] "), newPrefixWriter(&mu, &dst, "[corrupt] ")
	var wg sync.WaitGroup
	for _, w := range []*prefixWriter{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				// a line in three writes, as fmt does for a long one
				fmt.Fprintf(w, "step %d", i)
				fmt.Fprintf(w, " of %d", 200)
				fmt.Fprint(w, " done\n")
			}
			fmt.Fprint(w, "progress 1\rprogress 2\rtail without newline")
			w.Flush()
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(dst.String(), "\n"), "\n")
	if len(lines) != 2*(200+3) {
		t.Fatalf("%d lines, want %d", len(lines), 2*203)
	}
	count := map[string]int{}
	for _, l := range lines {
		pre, rest, ok := strings.Cut(l, "] ")
		if !ok || (pre != "[clean" && pre != "[corrupt") {
			t.Fatalf("line without a prefix: %q", l)
		}
		if strings.Contains(rest, "[") || !(strings.HasSuffix(rest, " of 200 done") || strings.HasPrefix(rest, "progress ") || rest == "tail without newline") {
			t.Fatalf("mixed or broken line: %q", l)
		}
		count[pre]++
	}
	if count["[clean"] != 203 || count["[corrupt"] != 203 {
		t.Fatalf("lines per writer %v", count)
	}
}

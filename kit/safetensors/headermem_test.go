package safetensors

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// genHeader builds a valid file prefix (length + header JSON) declaring n
// tiny F32 tensors with realistic names (~150 header bytes each), and the
// size of the whole file it describes. Test-only: it measures the parser's
// memory on headers far larger than any test fixture.
func genHeader(n int) (prefix []byte, fileSize int64) {
	var b bytes.Buffer
	b.WriteString(`{"__metadata__":{"format":"pt"}`)
	var off int64
	for i := range n {
		fmt.Fprintf(&b, `,"model.layers.%d.block_sparse_moe.experts.%d.w%d.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[%d,%d]}`,
			i/1000, i%1000, i%3, off, off+4)
		off += 4
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	out := make([]byte, 8, 8+b.Len())
	binary.LittleEndian.PutUint64(out, uint64(b.Len()))
	out = append(out, b.Bytes()...)
	return out, int64(len(out)) + off
}

// parseAllocs returns the bytes allocated by parsing prefix and the bytes
// still live after (the parsed header).
func parseAllocs(t testing.TB, prefix []byte, size int64) (total, live uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	h, err := parseHeader("gen", prefix, size)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	total = after.TotalAlloc - before.TotalAlloc
	runtime.GC()
	runtime.ReadMemStats(&after)
	live = after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
	runtime.KeepAlive(h)
	return total, live
}

// TestHeaderMemory bounds what parsing allocates relative to the header
// size. WARM_HEADER_TENSORS=400000 measures the 64 MB case of issue 14
// (docs/safetensors.md records the figures).
func TestHeaderMemory(t *testing.T) {
	n := 20000
	if v := os.Getenv("WARM_HEADER_TENSORS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	prefix, size := genHeader(n)
	total, live := parseAllocs(t, prefix, size)
	hs := float64(len(prefix))
	t.Logf("%d tensors, header %.1f MB: parsing allocated %.1f MB (%.2f× the header), %.1f MB live after (%.2f×)",
		n, hs/1e6, float64(total)/1e6, float64(total)/hs, float64(live)/1e6, float64(live)/hs)
	// Before the hand-written scanner, encoding/json allocated 7.4× the
	// header; now ~2× (tensor table, name index, names, shapes).
	if total > 3*uint64(hs) {
		t.Errorf("parsing a %.1f MB header allocated %.1f MB, want under 3× the header", hs/1e6, float64(total)/1e6)
	}
	if rss, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(rss), "\n") {
			if strings.HasPrefix(l, "VmHWM") {
				t.Log(l)
			}
		}
	}
}

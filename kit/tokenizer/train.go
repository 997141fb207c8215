package tokenizer

import (
	"bytes"
	"container/heap"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Train learns a GPT-2 style byte-level BPE of vocabSize tokens from texts:
// ids 0..255 are the 256 bytes (in GPT-2's bytes_to_unicode order), then one
// token per merge, then the special tokens, with "<|endoftext|>" always
// present and always the last id. Text is split with the GPT-2 pre-tokenizer
// and pairs are counted over unique pre-tokens weighted by frequency. Each
// step merges the most frequent pair; ties go to the lexicographically
// smallest (left bytes, right bytes), so training is deterministic. Pair counts
// are updated incrementally (only words holding the merged pair are touched)
// with a lazy max-heap.
//
// If the corpus runs out of pairs first, the vocabulary is smaller than asked.
// If two merges produce the same bytes, the token is shared (as HF does).
// Occurrences of the special tokens in texts are cut out before counting.
// progress, if not nil, receives progress lines.
func Train(texts []string, vocabSize int, specials []string, progress io.Writer) (*Tokenizer, error) {
	// Specials: deduplicated, in order, "<|endoftext|>" moved to the end.
	var sp []string
	for _, s := range specials {
		if s == "" {
			return nil, fmt.Errorf("tokenizer.Train: empty special token")
		}
		if s != eotString && !slices.Contains(sp, s) {
			sp = append(sp, s)
		}
	}
	sp = append(sp, eotString)
	if vocabSize < 256+len(sp) {
		return nil, fmt.Errorf("tokenizer.Train: vocab size %d is below 256 bytes + %d special tokens", vocabSize, len(sp))
	}
	target := vocabSize - len(sp) // tokens before the specials
	start := time.Now()
	logf := func(format string, args ...any) {
		if progress != nil {
			fmt.Fprintf(progress, "tokenizer: "+format+"\n", args...)
		}
	}

	// Unique pre-tokens and their counts.
	counts := map[string]int{}
	var nbytes int
	for _, text := range texts {
		nbytes += len(text)
		// Special tokens in the corpus (e.g. "<|endoftext|>" between
		// documents) are cut out, not learned from, as HF's trainer does.
		for _, seg := range cutSpecials(text, sp) {
			split(seg, func(p string) { counts[p]++ })
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys) // fixed word order: no map order leaks into training
	logf("%d unique pre-tokens from %.1f MB in %.1fs", len(keys), float64(nbytes)/1e6, time.Since(start).Seconds())

	var byteIdx [256]int32
	tokBytes := make([][]byte, 256, target)
	strToID := make(map[string]int32, target)
	for i, b := range byteOrder {
		byteIdx[b] = int32(i)
		tokBytes[i] = []byte{b}
		strToID[string([]byte{b})] = int32(i)
	}
	tr := &trainer{
		words: make([][]int32, len(keys)),
		freq:  make([]int64, len(keys)),
		count: map[uint64]int64{},
		where: map[uint64][]int32{},
		seen:  make([]int32, len(keys)),
	}
	for w, k := range keys {
		syms := make([]int32, len(k))
		for i := 0; i < len(k); i++ {
			syms[i] = byteIdx[k[i]]
		}
		tr.words[w] = syms
		tr.freq[w] = int64(counts[k])
		for i := 0; i+1 < len(syms); i++ {
			p := pairKey(int(syms[i]), int(syms[i+1]))
			tr.count[p] += tr.freq[w]
			if l := tr.where[p]; len(l) == 0 || l[len(l)-1] != int32(w) {
				tr.where[p] = append(l, int32(w))
			}
		}
	}
	tr.heap.tokens = &tokBytes
	for p, c := range tr.count {
		tr.heap.items = append(tr.heap.items, pairEntry{c, int32(p >> 32), int32(uint32(p))})
	}
	heap.Init(&tr.heap)

	var merges [][2]int32
	want := target - 256
	last := time.Now()
	for len(tokBytes) < target && tr.heap.Len() > 0 {
		e := heap.Pop(&tr.heap).(pairEntry)
		key := pairKey(int(e.a), int(e.b))
		if e.count <= 0 || tr.count[key] != e.count {
			continue // stale
		}
		merged := append(append([]byte{}, tokBytes[e.a]...), tokBytes[e.b]...)
		id, ok := strToID[string(merged)]
		if !ok {
			id = int32(len(tokBytes))
			tokBytes = append(tokBytes, merged)
			strToID[string(merged)] = id
		}
		merges = append(merges, [2]int32{e.a, e.b})
		tr.apply(int32(len(merges)), e.a, e.b, id)
		if progress != nil && time.Since(last) > 2*time.Second {
			last = time.Now()
			done := len(tokBytes) - 256
			rate := float64(done) / time.Since(start).Seconds()
			logf("merge %d/%d, %.0f tokens/s, ETA %.0fs", done, want, rate, float64(want-done)/rate)
		}
	}
	if len(tokBytes) < target {
		logf("corpus ran out of pairs: %d tokens instead of %d", len(tokBytes)+len(sp), vocabSize)
	}
	logf("trained %d merges in %.1fs", len(merges), time.Since(start).Seconds())

	vocab := make(map[string]int, len(tokBytes)+len(sp))
	for id, b := range tokBytes {
		vocab[byteString(b)] = id
	}
	ms := make([][2]string, len(merges))
	for i, m := range merges {
		ms[i] = [2]string{byteString(tokBytes[m[0]]), byteString(tokBytes[m[1]])}
	}
	var added []addedToken
	for i, s := range sp {
		if _, clash := vocab[s]; clash {
			return nil, fmt.Errorf("tokenizer.Train: special token %q is also a learned token", s)
		}
		id := len(tokBytes) + i
		vocab[s] = id
		added = append(added, addedToken{id: id, content: s, special: true})
	}
	return build("tokenizer.Train", "tokenizer.Train", vocab, ms, added)
}

// cutSpecials splits text around every occurrence of the specials.
func cutSpecials(text string, specials []string) []string {
	segs := []string{text}
	for _, sp := range specials {
		var out []string
		for _, s := range segs {
			out = append(out, strings.Split(s, sp)...)
		}
		segs = out
	}
	return segs
}

type trainer struct {
	words [][]int32 // symbols of each unique pre-token
	freq  []int64   // its count in the corpus
	count map[uint64]int64
	where map[uint64][]int32 // pair -> words that held it (may be stale)
	seen  []int32            // last merge step that visited each word
	heap  pairHeap
}

// apply merges (a, b) into c in every word that holds the pair, updating pair
// counts by their net change and pushing the changed counts on the heap.
func (tr *trainer) apply(step, a, b, c int32) {
	key := pairKey(int(a), int(b))
	delta := map[uint64]int64{}
	for _, w := range tr.where[key] {
		if tr.seen[w] == step {
			continue
		}
		tr.seen[w] = step
		old := tr.words[w]
		f := tr.freq[w]
		nw := make([]int32, 0, len(old))
		for i := 0; i < len(old); i++ {
			if i+1 < len(old) && old[i] == a && old[i+1] == b {
				nw = append(nw, c)
				i++
			} else {
				nw = append(nw, old[i])
			}
		}
		if len(nw) == len(old) {
			continue
		}
		for i := 0; i+1 < len(old); i++ {
			delta[pairKey(int(old[i]), int(old[i+1]))] -= f
		}
		for i := 0; i+1 < len(nw); i++ {
			p := pairKey(int(nw[i]), int(nw[i+1]))
			delta[p] += f
			if nw[i] == c || nw[i+1] == c {
				if l := tr.where[p]; len(l) == 0 || l[len(l)-1] != w {
					tr.where[p] = append(l, w)
				}
			}
		}
		tr.words[w] = nw
	}
	delete(tr.where, key)
	// Push in a fixed order so the heap's layout, and so tie handling, never
	// depends on map iteration.
	changed := make([]uint64, 0, len(delta))
	for p, d := range delta {
		if d != 0 {
			changed = append(changed, p)
		}
	}
	slices.Sort(changed)
	for _, p := range changed {
		n := tr.count[p] + delta[p]
		if n <= 0 {
			delete(tr.count, p)
			continue
		}
		tr.count[p] = n
		heap.Push(&tr.heap, pairEntry{n, int32(p >> 32), int32(uint32(p))})
	}
}

type pairEntry struct {
	count int64
	a, b  int32
}

// pairHeap is a max-heap on count; ties go to the smaller (bytes(a), bytes(b)).
type pairHeap struct {
	items  []pairEntry
	tokens *[][]byte
}

func (h *pairHeap) Len() int { return len(h.items) }
func (h *pairHeap) Less(i, j int) bool {
	x, y := h.items[i], h.items[j]
	if x.count != y.count {
		return x.count > y.count
	}
	t := *h.tokens
	if c := bytes.Compare(t[x.a], t[y.a]); c != 0 {
		return c < 0
	}
	return bytes.Compare(t[x.b], t[y.b]) < 0
}
func (h *pairHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *pairHeap) Push(x any)    { h.items = append(h.items, x.(pairEntry)) }
func (h *pairHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

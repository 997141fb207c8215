// Package tokenizer is GPT-2's byte-level BPE tokenizer: it loads GPT-2 /
// HuggingFace vocabularies (vocab.json + merges.txt, or tokenizer.json),
// encodes and decodes exactly as GPT-2 does, and trains new vocabularies.
//
// Encode treats its input as plain text: "<|endoftext|>" in the text is
// encoded as ordinary characters, as tiktoken does by default, so text scored
// by a reward model never gains special tokens by accident. EncodeWithSpecial
// splits out added tokens first, as HF tokenizers do.
package tokenizer

import (
	"container/heap"
	"sort"
	"strings"
	"sync"

	"golang.org/x/text/unicode/norm"
)

// A Tokenizer is safe for concurrent use.
type Tokenizer struct {
	vocab  map[string]int // token string (byte-level) -> id
	tokens []string       // id -> token string; "" for unused ids

	// merges maps a pair of ids to the merge's rank and the merged id.
	merges    map[uint64]merge
	mergeList [][2]int // merges in rank order, for saving
	byteID    [256]int // raw byte -> id of its single-byte token
	added     []addedToken
	addPrefix bool // ByteLevel add_prefix_space (false for GPT-2)
	// splitDigits selects the pre-tokenizer: 0 is GPT-2's regex (split),
	// 3 the Llama 3 Split pattern, 1 the Qwen2 one (splitModern).
	splitDigits int
	// ignoreMerges (BPE "ignore_merges", set by Llama 3): a pre-token that
	// is itself in the vocabulary becomes that one token, merges unused.
	ignoreMerges bool
	nfc          bool // normalizer NFC (Qwen) before pre-tokenizing
	eot          int
	raw          [][]byte // id -> bytes the token decodes to
	isAdded      []bool   // id -> is an added token (decoded as its content)

	mu    sync.RWMutex
	cache map[string][]int
}

type merge struct {
	rank int32
	id   int32
}

type addedToken struct {
	id      int
	content string
	special bool
	// HF AddedToken flags: lstrip/rstrip absorb the whitespace beside a
	// match, singleWord only matches between non-word characters, and
	// normalized tokens are matched in the normalized text.
	lstrip, rstrip, singleWord, normalized bool
}

const eotString = "<|endoftext|>"

// maxCache bounds the pre-token cache; it is cleared when full.
const maxCache = 1 << 18

// Pre-tokens longer than maxCachedPiece bytes (long runs of letters, digits,
// spaces or symbols) skip the cache and the quadratic merge loop: they go
// through bpeLong, which is O(n log n).
const maxCachedPiece = 256

func pairKey(a, b int) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// VocabSize is one more than the largest id (the model's embedding rows).
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// EOT returns the id of "<|endoftext|>", or -1 if the vocabulary has none.
func (t *Tokenizer) EOT() int { return t.eot }

// TokenString returns the token's string as stored in vocab.json (byte-level
// form, e.g. "Ġthe" for " the"), or "" for an unknown id.
func (t *Tokenizer) TokenString(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// Encode tokenizes text as plain text: no special tokens are added or
// recognised.
func (t *Tokenizer) Encode(text string) []int {
	ids := make([]int, 0, len(text)/4+1)
	return t.appendPlain(ids, text)
}

// EncodeWithSpecial tokenizes text, first splitting out every added token
// (such as "<|endoftext|>") where it occurs, leftmost first and longest at a
// position, as HF tokenizers do.
func (t *Tokenizer) EncodeWithSpecial(text string) []int {
	ids := make([]int, 0, len(text)/4+1)
	for len(text) > 0 {
		pos, tok := -1, -1
		for k, a := range t.added {
			j := strings.Index(text, a.content)
			if j < 0 {
				continue
			}
			if pos < 0 || j < pos || (j == pos && len(a.content) > len(t.added[tok].content)) {
				pos, tok = j, k
			}
		}
		if pos < 0 {
			break
		}
		ids = t.appendPlain(ids, text[:pos])
		ids = append(ids, t.added[tok].id)
		text = text[pos+len(t.added[tok].content):]
	}
	return t.appendPlain(ids, text)
}

func (t *Tokenizer) appendPlain(ids []int, text string) []int {
	if text == "" {
		return ids
	}
	if t.nfc {
		text = norm.NFC.String(text)
	}
	if t.addPrefix && text[0] != ' ' {
		text = " " + text
	}
	emit := func(piece string) { ids = t.appendPiece(ids, piece) }
	if t.splitDigits > 0 {
		splitModern(text, t.splitDigits, emit)
	} else {
		split(text, emit)
	}
	return ids
}

// appendPiece encodes one pre-token, through the cache.
func (t *Tokenizer) appendPiece(ids []int, piece string) []int {
	if len(piece) == 1 {
		return append(ids, t.byteID[piece[0]])
	}
	t.mu.RLock()
	cached, ok := t.cache[piece]
	t.mu.RUnlock()
	if ok {
		return append(ids, cached...)
	}
	var word []int
	if t.ignoreMerges {
		if id, ok := t.vocab[byteString([]byte(piece))]; ok {
			word = []int{id}
		}
	}
	if word == nil {
		if len(piece) > maxCachedPiece {
			return append(ids, t.bpeLong(piece)...)
		}
		word = t.bpe(piece)
	}
	t.mu.Lock()
	if len(t.cache) >= maxCache {
		clear(t.cache)
	}
	t.cache[piece] = word
	t.mu.Unlock()
	return append(ids, word...)
}

// bpe applies the merges to one pre-token: repeatedly merge the adjacent pair
// with the lowest rank (leftmost on ties), as GPT-2's bpe() does. Pre-tokens
// are short, so the quadratic scan is cheaper than a heap.
func (t *Tokenizer) bpe(piece string) []int {
	word := make([]int, len(piece))
	for i := 0; i < len(piece); i++ {
		word[i] = t.byteID[piece[i]]
	}
	for len(word) > 1 {
		best, at := merge{rank: -1}, -1
		for i := 0; i+1 < len(word); i++ {
			m, ok := t.merges[pairKey(word[i], word[i+1])]
			if ok && (at < 0 || m.rank < best.rank) {
				best, at = m, i
			}
		}
		if at < 0 {
			break
		}
		word[at] = int(best.id)
		copy(word[at+1:], word[at+2:])
		word = word[:len(word)-1]
	}
	return word
}

// bpeLong is bpe for long pieces: the same merges in the same order (lowest
// rank, leftmost first), kept in a heap of candidate pairs over a linked list
// of symbols. Entries whose symbols have since changed are skipped.
func (t *Tokenizer) bpeLong(piece string) []int {
	n := len(piece)
	id := make([]int, n)
	next := make([]int, n) // index of the next live symbol, n at the end
	prev := make([]int, n) // index of the previous live symbol, -1 at start
	for i := 0; i < n; i++ {
		id[i] = t.byteID[piece[i]]
		next[i], prev[i] = i+1, i-1
	}
	h := &candHeap{}
	push := func(i int) {
		if i < 0 || next[i] >= n {
			return
		}
		j := next[i]
		if m, ok := t.merges[pairKey(id[i], id[j])]; ok {
			heap.Push(h, cand{rank: m.rank, pos: i, left: id[i], right: id[j]})
		}
	}
	for i := 0; i+1 < n; i++ {
		push(i)
	}
	for h.Len() > 0 {
		c := heap.Pop(h).(cand)
		i := c.pos
		if id[i] < 0 || next[i] >= n || id[i] != c.left || id[next[i]] != c.right {
			continue // stale
		}
		j := next[i]
		id[i] = int(t.merges[pairKey(c.left, c.right)].id)
		id[j] = -1
		next[i] = next[j]
		if next[j] < n {
			prev[next[j]] = i
		}
		push(prev[i])
		push(i)
	}
	word := make([]int, 0, n/2)
	for i := 0; i < n; i = next[i] {
		word = append(word, id[i])
	}
	return word
}

type cand struct {
	rank        int32
	pos         int
	left, right int
}

// candHeap orders by rank, then position (leftmost first).
type candHeap []cand

func (h candHeap) Len() int { return len(h) }
func (h candHeap) Less(i, j int) bool {
	return h[i].rank < h[j].rank || h[i].rank == h[j].rank && h[i].pos < h[j].pos
}
func (h candHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)   { *h = append(*h, x.(cand)) }
func (h *candHeap) Pop() any {
	x := (*h)[len(*h)-1]
	*h = (*h)[:len(*h)-1]
	return x
}

// Decode turns ids back into text. Byte sequences that are not valid UTF-8
// become U+FFFD per maximal invalid subpart (Python's errors="replace", as
// GPT2Tokenizer and HF's ByteLevel decoder do). Added tokens decode to their
// content; unknown ids are skipped.
func (t *Tokenizer) Decode(ids []int) string {
	raw := make([]byte, 0, len(ids)*4)
	out := make([]byte, 0, len(ids)*4)
	for _, id := range ids {
		if id < 0 || id >= len(t.tokens) {
			continue
		}
		if t.isAdded[id] {
			out = appendLossy(out, raw)
			raw = raw[:0]
			out = append(out, t.tokens[id]...)
			continue
		}
		raw = append(raw, t.raw[id]...)
	}
	return string(appendLossy(out, raw))
}

// build fills the derived tables from vocab, merges (as token-string pairs)
// and added tokens. file and mergesFile name the sources for error messages.
func build(file, mergesFile string, vocab map[string]int, merges [][2]string, added []addedToken) (*Tokenizer, error) {
	t := &Tokenizer{vocab: vocab, added: added, eot: -1, cache: map[string][]int{}}
	n := 0
	for _, id := range vocab {
		if id < 0 {
			return nil, errorf(file, "negative token id %d", id)
		}
		n = max(n, id+1)
	}
	for _, a := range added {
		n = max(n, a.id+1)
	}
	t.tokens = make([]string, n)
	for s, id := range vocab {
		t.tokens[id] = s
	}
	for _, a := range added {
		if a.id < 0 {
			return nil, errorf(file, "added token %q has negative id", a.content)
		}
		t.tokens[a.id] = a.content
		if _, ok := vocab[a.content]; !ok {
			vocab[a.content] = a.id
		}
	}
	for b := 0; b < 256; b++ {
		s := string(byteToRune[b])
		id, ok := vocab[s]
		if !ok {
			return nil, errorf(file, "vocabulary lacks the byte-level token %q for byte 0x%02x: not a GPT-2 style byte-level BPE", s, b)
		}
		t.byteID[b] = id
	}
	t.merges = make(map[uint64]merge, len(merges))
	t.mergeList = make([][2]int, 0, len(merges))
	for rank, m := range merges {
		a, okA := vocab[m[0]]
		b, okB := vocab[m[1]]
		c, okC := vocab[m[0]+m[1]]
		if !okA || !okB || !okC {
			return nil, errorf(mergesFile, "merge %d (%q %q) uses a token missing from the vocabulary", rank+1, m[0], m[1])
		}
		k := pairKey(a, b)
		if _, dup := t.merges[k]; dup {
			continue // the first (lowest) rank wins, as in HF
		}
		t.merges[k] = merge{rank: int32(rank), id: int32(c)}
		t.mergeList = append(t.mergeList, [2]int{a, b})
	}
	if id, ok := vocab[eotString]; ok {
		t.eot = id
	}
	t.raw = make([][]byte, n)
	t.isAdded = make([]bool, n)
	for id, s := range t.tokens {
		// Runes outside the byte table (only in odd vocabularies) are dropped.
		for _, r := range s {
			if int(r) < len(runeToByte) && runeToByte[r] >= 0 {
				t.raw[id] = append(t.raw[id], byte(runeToByte[r]))
			}
		}
	}
	for _, a := range added {
		t.isAdded[a.id] = true
	}
	sort.Slice(t.added, func(i, j int) bool { return t.added[i].id < t.added[j].id })
	return t, nil
}

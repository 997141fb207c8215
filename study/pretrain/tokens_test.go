package pretrain

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTokenFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, vocab := range []int{300, 70000} {
		ids := []int32{0, 1, 299, 42, 7}
		if vocab > 300 {
			ids = append(ids, 69999)
		}
		p := filepath.Join(dir, "t.bin")
		if err := WriteTokens(p, ids, vocab); err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(p)
		width := 2
		if vocab > 1<<16 {
			width = 4
		}
		if st.Size() != int64(24+width*len(ids)) {
			t.Errorf("vocab %d: file is %d bytes, want %d", vocab, st.Size(), 24+width*len(ids))
		}
		got, err := ReadTokens(p, vocab)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ids) {
			t.Fatalf("read %d tokens, wrote %d", len(got), len(ids))
		}
		for i := range ids {
			if got[i] != ids[i] {
				t.Errorf("token %d: got %d want %d", i, got[i], ids[i])
			}
		}
		if _, err := ReadTokens(p, vocab+1); err == nil || !strings.Contains(err.Error(), "vocabulary") {
			t.Errorf("wrong vocab accepted: %v", err)
		}
	}
	p := filepath.Join(dir, "bad.bin")
	if err := WriteTokens(p, []int32{5}, 5); err == nil {
		t.Error("id outside vocabulary written")
	}
	if _, err := os.Stat(p); err == nil {
		t.Error("failed write left a file behind")
	}
	os.WriteFile(p, []byte("WARMTOK1\x02\x00\x00\x00\x10\x00\x00\x00\x09\x00\x00\x00\x00\x00\x00\x00\x01\x00"), 0o644)
	if _, err := ReadTokens(p, 0); err == nil || !strings.Contains(err.Error(), "bad.bin") {
		t.Errorf("truncated file: %v", err)
	}
}

func TestWindows(t *testing.T) {
	toks := make([]int32, 1000)
	for i := range toks {
		toks[i] = int32(i % 50)
	}
	w1, err := TrainWindows(toks, 64, 8, stepRNG(1, 7))
	if err != nil {
		t.Fatal(err)
	}
	w2, _ := TrainWindows(toks, 64, 8, stepRNG(1, 7))
	w3, _ := TrainWindows(toks, 64, 8, stepRNG(1, 8))
	same := true
	for b := range w1 {
		if len(w1[b]) != 64 {
			t.Fatalf("window length %d", len(w1[b]))
		}
		for i := range w1[b] {
			if w1[b][i] != w2[b][i] {
				t.Fatal("same (seed, step) gave different windows")
			}
			if w1[b][i] != w3[b][i] {
				same = false
			}
		}
	}
	if same {
		t.Error("different steps gave the same windows")
	}
	v, err := ValWindows(toks, 64, 10)
	if err != nil || len(v) != 10 {
		t.Fatalf("val windows: %d, %v", len(v), err)
	}
	// Non-overlapping: starts 104 apart, within range.
	if v[1][0] != int(toks[(1000-64)/9]) || v[9][63] != int(toks[(1000-64)/9*9+63]) {
		t.Error("val windows not evenly spaced")
	}
	v, _ = ValWindows(toks, 300, 10)
	if len(v) != 3 {
		t.Errorf("got %d windows of 300 from 1000 tokens, want 3 non-overlapping", len(v))
	}
	if _, err := ValWindows(toks[:10], 64, 3); err == nil {
		t.Error("too short a split accepted")
	}
}

func TestUnigramBaseline(t *testing.T) {
	// Two tokens, equally frequent in train: smoothed p = (n/2+1)/(n+V).
	train := []int32{0, 1, 0, 1, 0, 1, 0, 1}
	win := [][]int{{0, 1, 0, 1}}
	got := UnigramBaseline(train, win, 2)
	want := -math.Log(5.0 / 10.0)
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("uniform: got %v want %v", got, want)
	}
	// Vocabulary 4 with two unseen tokens: seen tokens get 5/12.
	got = UnigramBaseline(train, win, 4)
	want = -math.Log(5.0 / 12.0)
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("smoothed: got %v want %v", got, want)
	}
}

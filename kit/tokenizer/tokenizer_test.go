package tokenizer

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

var (
	gpt2Once sync.Once
	gpt2Tok  *Tokenizer
	gpt2Err  error
)

// gpt2 loads the real GPT-2 vocabulary committed under testdata.
func gpt2(t testing.TB) *Tokenizer {
	gpt2Once.Do(func() {
		gpt2Tok, gpt2Err = LoadFiles("testdata/gpt2/vocab.json.gz", "testdata/gpt2/merges.txt.gz")
	})
	if gpt2Err != nil {
		t.Fatal(gpt2Err)
	}
	return gpt2Tok
}

type vectorFile struct {
	Encode []struct {
		Text       string `json:"text"`
		IDs        []int  `json:"ids"`
		IDsSpecial []int  `json:"ids_special"`
	} `json:"encode"`
	Decode []struct {
		IDs  []int  `json:"ids"`
		Text string `json:"text"`
	} `json:"decode"`
}

func loadVectors(t testing.TB) vectorFile {
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Encode) < 300 || len(v.Decode) < 50 {
		t.Fatalf("too few vectors: %d encode, %d decode", len(v.Encode), len(v.Decode))
	}
	return v
}

func TestGPT2Vectors(t *testing.T) {
	tok := gpt2(t)
	if tok.VocabSize() != 50257 || tok.EOT() != 50256 {
		t.Fatalf("VocabSize %d EOT %d, want 50257 50256", tok.VocabSize(), tok.EOT())
	}
	v := loadVectors(t)
	bad := 0
	for _, c := range v.Encode {
		got := tok.Encode(c.Text)
		if !slices.Equal(got, c.IDs) {
			bad++
			if bad < 10 {
				t.Errorf("Encode(%q) = %v, want %v", c.Text, got, c.IDs)
			}
		}
		if got := tok.EncodeWithSpecial(c.Text); !slices.Equal(got, c.IDsSpecial) {
			bad++
			if bad < 10 {
				t.Errorf("EncodeWithSpecial(%q) = %v, want %v", c.Text, got, c.IDsSpecial)
			}
		}
		if got := tok.Decode(c.IDs); got != c.Text {
			t.Errorf("Decode(Encode(%q)) = %q", c.Text, got)
		}
		if got := tok.Decode(c.IDsSpecial); got != c.Text {
			t.Errorf("Decode(EncodeWithSpecial(%q)) = %q", c.Text, got)
		}
	}
	for _, c := range v.Decode {
		if got := tok.Decode(c.IDs); got != c.Text {
			t.Errorf("Decode(%v) = %q, want %q", c.IDs, got, c.Text)
		}
	}
}

// The cache must not change results: encode each vector twice, cold and warm.
func TestCacheConsistent(t *testing.T) {
	tok, err := LoadFiles("testdata/gpt2/vocab.json.gz", "testdata/gpt2/merges.txt.gz")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range loadVectors(t).Encode {
		a := tok.Encode(c.Text)
		b := tok.Encode(c.Text)
		if !slices.Equal(a, b) || !slices.Equal(a, c.IDs) {
			t.Fatalf("%q: cold %v warm %v want %v", c.Text, a, b, c.IDs)
		}
	}
}

func TestSplit(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"a   b", []string{"a", "  ", " b"}},
		{"a\t\tb", []string{"a", "\t", "\t", "b"}},
		{"a  ", []string{"a", "  "}},
		{"It's IT'S", []string{"It", "'s", " IT", "'", "S"}},
		{"?'s 'll", []string{"?'", "s", " '", "ll"}},
		{"x2 42", []string{"x", "2", " 42"}},
		{"\xff\xfeab", []string{"\xff\xfe", "ab"}},
		{"a \u00a0b", []string{"a", " ", "\u00a0", "b"}},
	}
	for _, c := range cases {
		var got []string
		split(c.in, func(p string) { got = append(got, p) })
		if !slices.Equal(got, c.want) {
			t.Errorf("split(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// Decode(Encode(s)) == s for valid UTF-8, including strings built from odd
// pieces; invalid UTF-8 decodes to valid UTF-8.
func TestRoundTrip(t *testing.T) {
	tok := gpt2(t)
	pieces := []string{"a", " ", "  ", "\t", "\n", "'s", "'S", "é", "e\u0301", "中", "😀", "1", "²", "<|endoftext|>", "\u2028", "\u0085", "\ufeff", ".,"}
	for i := 0; i < 3000; i++ {
		s := ""
		x := i
		for k := 0; k < 1+i%9; k++ {
			s += pieces[x%len(pieces)]
			x = x*7 + 3
		}
		if got := tok.Decode(tok.Encode(s)); got != s {
			t.Fatalf("round trip %q -> %q", s, got)
		}
	}
	if got := tok.Decode(tok.Encode("a\xffb\xe2\x82")); !utf8.ValidString(got) || got != "a\ufffdb\ufffd" {
		t.Fatalf("invalid input decoded to %q", got)
	}
}

func TestAppendLossy(t *testing.T) {
	cases := []struct{ in, want string }{
		{"abc", "abc"},
		{"\xe2\x82", "\ufffd"},                 // truncated 3-byte sequence: one replacement
		{"\xe2\x82x", "\ufffdx"},               //
		{"\xe0\x80\x80", "\ufffd\ufffd\ufffd"}, // overlong: E0 needs A0..BF next
		{"\xed\xa0\x80", "\ufffd\ufffd\ufffd"}, // surrogate
		{"\xf0\x9f\x98", "\ufffd"},
		{"\xff\xfe", "\ufffd\ufffd"},
		{"\xc0\xaf", "\ufffd\ufffd"},
		{"\xf4\x90\x80\x80", "\ufffd\ufffd\ufffd\ufffd"},
	}
	for _, c := range cases {
		if got := string(appendLossy(nil, []byte(c.in))); got != c.want {
			t.Errorf("appendLossy(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// bpeLong (heap) must agree with bpe (quadratic scan) on every piece.
func TestBPELongMatchesBPE(t *testing.T) {
	tok := gpt2(t)
	var pieces []string
	for _, c := range loadVectors(t).Encode {
		split(c.Text, func(p string) { pieces = append(pieces, p) })
	}
	pieces = append(pieces, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", strings.Repeat("abc", 200),
		strings.Repeat("Supercalifragilistic", 30), strings.Repeat("1234567890", 40), strings.Repeat("=-", 300))
	for _, p := range pieces {
		if a, b := tok.bpe(p), tok.bpeLong(p); !slices.Equal(a, b) {
			t.Fatalf("piece %q: bpe %v, bpeLong %v", p, a, b)
		}
	}
	// A 1 MB word must not take quadratic time (the test would time out).
	long := strings.Repeat("thequickbrownfox", 1<<16)
	if got := tok.Decode(tok.Encode(long)); got != long {
		t.Fatal("long word round trip failed")
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok, err := LoadFiles("testdata/gpt2/vocab.json.gz", "testdata/gpt2/merges.txt.gz")
	if err != nil {
		t.Fatal(err)
	}
	v := loadVectors(t)
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, c := range v.Encode {
				if !slices.Equal(tok.Encode(c.Text), c.IDs) {
					errs <- c.Text
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Errorf("concurrent Encode(%q) wrong", s)
	}
}

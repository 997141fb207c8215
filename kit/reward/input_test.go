package reward

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kit/llama"
	"github.com/warm-rm/warm/kit/model"
	"github.com/warm-rm/warm/kit/model/modeltest"
	"github.com/warm-rm/warm/kit/prefdata"
)

func TestEncodeTextTruncation(t *testing.T) {
	tok := modeltest.Tokenizer(t)
	text := "the good cat sat on a happy mat and the bad dog ran away"
	all := tok.Encode(text)
	if len(all) < 6 {
		t.Fatalf("fixture text has %d tokens", len(all))
	}
	n := len(all) - 3
	for _, c := range []struct {
		name    string
		trunc   Truncation
		maxLen  int
		want    []int
		wantErr error
	}{
		{"fits", Refuse, len(all), all, nil},
		{"keep last", KeepLast, n, all[3:], nil},
		{"keep first", KeepFirst, n, all[:n], nil},
		{"refuse", Refuse, n, nil, ErrTooLong},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := EncodeText(tok, text, c.maxLen, c.trunc)
			if !errors.Is(err, c.wantErr) || (err == nil) != (c.wantErr == nil) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("ids %v, want %v", got, c.want)
			}
		})
	}
	if _, err := EncodeText(tok, "", 8, KeepLast); !errors.Is(err, ErrEmptyText) {
		t.Fatalf("empty text: %v", err)
	}
	var tl *TooLongError
	if _, err := EncodeText(tok, text, n, Refuse); !errors.As(err, &tl) || tl.N != len(all) || tl.Max != n {
		t.Fatalf("too long: %v", err)
	}
}

func TestParseTruncation(t *testing.T) {
	for in, want := range map[string]Truncation{"left": KeepLast, "right": KeepFirst, "error": Refuse} {
		if got, err := ParseTruncation(in); err != nil || got != want {
			t.Errorf("%q: %v, %v", in, got, err)
		}
	}
	if _, err := ParseTruncation("middle"); err == nil {
		t.Error("accepted middle")
	}
}

// TokenizePairs encodes prompt+chosen and prompt+rejected, keeping the last
// tokens, and names an empty row.
func TestTokenizePairs(t *testing.T) {
	tok := modeltest.Tokenizer(t)
	m := 0.5
	rows := []prefdata.Row{{Prompt: "the cat", Chosen: " sat on a happy mat", Rejected: " ran away", Margin: &m, Corrupted: true}}
	ps, err := TokenizePairs(tok, rows, 4)
	if err != nil {
		t.Fatal(err)
	}
	wantC := tok.Encode("the cat sat on a happy mat")
	if !slices.Equal(ps[0].Chosen, wantC[len(wantC)-4:]) || ps[0].Margin != 0.5 || !ps[0].Corrupted {
		t.Fatalf("pair %+v", ps[0])
	}
	if _, err := TokenizePairs(tok, []prefdata.Row{{ID: "x"}}, 4); err == nil || !strings.Contains(err.Error(), `row 1 (id "x")`) {
		t.Fatalf("empty row: %v", err)
	}
}

// Batched scoring (longest first, any batch size) gives each text the
// reward of scoring it alone. Tolerance 1e-5 relative: packing other rows
// in a batch may move the last bits through the GEMM's edge kernels.
func TestTextScorerBatching(t *testing.T) {
	tok := modeltest.Tokenizer(t)
	rm := modeltest.RM(tok.VocabSize(), 16, 1, 3)
	texts := []string{"the cat", "the good cat sat on a happy mat and the bad dog ran away from it", "a", "the bad dog ran"}
	alone := make([]float32, len(texts))
	for i, s := range texts {
		r, err := TextScorer{Model: rm, Tok: tok}.Texts([]string{s})
		if err != nil {
			t.Fatal(err)
		}
		alone[i] = r[0]
	}
	for _, batch := range []int{0, 1, 3, 10} {
		t.Run("batch"+string(rune('0'+batch%10)), func(t *testing.T) {
			var progress int
			s := TextScorer{Model: rm, Tok: tok, Batch: batch, Progress: func(done, total int) { progress = done }}
			got, err := s.Texts(texts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if d := math.Abs(float64(got[i] - alone[i])); d > 1e-5*math.Max(1, math.Abs(float64(alone[i]))) {
					t.Errorf("text %d: %v batched, %v alone", i, got[i], alone[i])
				}
			}
			if progress != len(texts) {
				t.Errorf("progress ended at %d of %d", progress, len(texts))
			}
		})
	}
}

func TestItems(t *testing.T) {
	tok := modeltest.Tokenizer(t)
	rm := modeltest.RM(tok.VocabSize(), 8, 1, 3)
	items := []Item{{Prompt: "the cat", Texts: []string{" sat"}, Where: "rows.jsonl: row 1"},
		{Prompt: "the", Texts: []string{" good cat", " bad dog"}, Where: "rows.jsonl: row 2"}}
	if items[0].IsPair() || !items[1].IsPair() {
		t.Fatal("IsPair")
	}
	s := TextScorer{Model: rm, Tok: tok}
	got, err := s.Items(items)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Texts([]string{"the cat sat", "the good cat", "the bad dog"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0][0] != want[0] || got[1][0] != want[1] || got[1][1] != want[2] {
		t.Fatalf("items scored %v, texts %v", got, want)
	}
	long := []Item{{Prompt: "", Texts: []string{"the good cat sat on a happy mat and the bad dog"}, Where: "f:9"}}
	if _, err := (TextScorer{Model: rm, Tok: tok, Truncate: Refuse}).Items(long); err == nil || !strings.HasPrefix(err.Error(), "f:9: text has") {
		t.Fatalf("too long: %v", err)
	}
	if _, err := s.Items([]Item{{Texts: []string{""}, Where: "f:2"}}); err == nil || err.Error() != "f:2: empty text to score" {
		t.Fatalf("empty: %v", err)
	}
}

// saveRM writes a tiny reward model directory and returns it.
func saveRM(t *testing.T, dir string, seed uint64) string {
	t.Helper()
	m := modeltest.RM(50, 16, 1, seed)
	if err := m.Save(dir, "F32"); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestParseSpec(t *testing.T) {
	root := t.TempDir()
	a := saveRM(t, filepath.Join(root, "member-00"), 1)
	b := saveRM(t, filepath.Join(root, "member-01"), 2)
	for _, c := range []struct {
		in, kind, err string
		dirs          []string
	}{
		{in: "g=gold", kind: KindGold},
		{in: "one=" + a, kind: KindSingle, dirs: []string{a}},
		{in: "e=ens:" + a + "," + b, kind: KindENS, dirs: []string{a, b}},
		{in: "w=wa:" + a + ",member-01", kind: KindWA, dirs: []string{a, b}}, // relative to the first's parent
		{in: "nope", err: "want NAME="},
		{in: "x=" + a + "," + b, err: "a single reward model takes one directory"},
		{in: "x=ens:" + a + ",", err: "empty directory"},
		{in: "x=" + root, err: "is not a model directory"},
	} {
		t.Run(c.in, func(t *testing.T) {
			sp, err := ParseSpec(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || sp.Kind != c.kind || !slices.Equal(sp.Dirs, c.dirs) {
				t.Fatalf("%+v %v, want kind %s dirs %v", sp, err, c.kind, c.dirs)
			}
		})
	}
}

func TestAutoAndCollectSpecs(t *testing.T) {
	dirs := []string{"/r/member-02", "/r/member-00", "/r/member-01"}
	specs, err := AutoSpecs(dirs, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range specs {
		names = append(names, s.Name+"="+s.Canon())
	}
	want := []string{"single=single:/r/member-02", "member-02=single:/r/member-02", "member-00=single:/r/member-00", "member-01=single:/r/member-01",
		"ens2=ens:/r/member-02,/r/member-00", "warm2=wa:/r/member-02,/r/member-00",
		"ens3=ens:/r/member-02,/r/member-00,/r/member-01", "warm3=wa:/r/member-02,/r/member-00,/r/member-01"}
	if !slices.Equal(names, want) {
		t.Fatalf("specs\n%v\nwant\n%v", names, want)
	}
	if _, err := AutoSpecs(dirs, []int{4}, false); err == nil {
		t.Fatal("--m 4 of 3 members accepted")
	}
	all, err := CollectSpecs(specs[:1], nil)
	if err != nil || len(all) != 2 || all[1].Kind != KindGold {
		t.Fatalf("gold not added: %+v %v", all, err)
	}
	if _, err := CollectSpecs(append(specs[:1:1], specs[0]), nil); err == nil {
		t.Fatal("duplicate name accepted")
	}
	if ms, err := ParseInts("2, 6"); err != nil || !slices.Equal(ms, []int{2, 6}) {
		t.Fatalf("ParseInts: %v %v", ms, err)
	}
}

// Load dispatches on model_type: GPT-2 reward models load, a GPT-2 LM is
// refused, another family names itself.
func TestLoadDispatch(t *testing.T) {
	root := t.TempDir()
	rm := saveRM(t, filepath.Join(root, "rm"), 1)
	if m, err := Load(rm); err != nil || m.MaxLen() != 16 {
		t.Fatalf("gpt2 reward model: %v", err)
	}
	lm := filepath.Join(root, "lm")
	if err := modeltest.LM(50, 16, 1, 1).Save(lm, "F32"); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(lm); err == nil || !strings.Contains(err.Error(), "not a reward model") {
		t.Fatalf("LM: %v", err)
	}
	other := filepath.Join(root, "bert")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "config.json"), []byte(`{"model_type":"bert"}`), 0o644)
	if _, err := Load(other); err == nil || !strings.Contains(err.Error(), `model_type "bert" is not supported`) || !strings.Contains(err.Error(), "config.json") {
		t.Fatalf("bert: %v", err)
	}
	// The Llama family loads as *llama.Model; its causal-LM form is refused.
	lrm := filepath.Join("..", "llama", "testdata", "llama_rm_f32")
	if m, err := Load(lrm); err != nil || m.(*llama.Model).Config().ModelType != "llama" {
		t.Fatalf("llama reward model: %v", err)
	}
	if _, err := Load(filepath.Join("..", "llama", "testdata", "llama_lm_bf16")); err == nil || !strings.Contains(err.Error(), "not a reward model") {
		t.Fatalf("llama LM: %v", err)
	}
	// A cache hands out one model per directory and builds ENS and WA.
	c := Cache{}
	b := saveRM(t, filepath.Join(root, "rm2"), 2)
	ens, err := c.Model(Spec{Name: "e", Kind: KindENS, Dirs: []string{rm, b}})
	if err != nil {
		t.Fatal(err)
	}
	wa, err := c.Model(Spec{Name: "w", Kind: KindWA, Dirs: []string{rm, b}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != 2 || len(ens.(Ensemble)) != 2 || wa.(*model.Model) == c[rm] {
		t.Fatalf("cache %d entries, ens %T, wa %T", len(c), ens, wa)
	}
	if _, err := c.Model(Spec{Name: "g", Kind: KindGold}); err == nil {
		t.Fatal("gold has no model")
	}
}

// sumModel rewards a sequence with the sum of its ids and counts the
// sequences it was asked to score.
type sumModel struct{ scored int }

func (m *sumModel) Rewards(seqs [][]int) ([]float32, error) {
	m.scored += len(seqs)
	out := make([]float32, len(seqs))
	for i, s := range seqs {
		for _, t := range s {
			out[i] += float32(t)
		}
	}
	return out, nil
}
func (m *sumModel) MaxLen() int { return 64 }

// Pairs that share texts (all pairs among three responses to one prompt)
// score each distinct text once, and every pair still gets its own two
// rewards in order.
func TestPairRewardsScoresSharedTextsOnce(t *testing.T) {
	a, b, c := []int{1, 2}, []int{1, 5}, []int{1, 9}
	pairs := []Pair{{Chosen: a, Rejected: b}, {Chosen: c, Rejected: a}, {Chosen: b, Rejected: c}, {Chosen: []int{256}, Rejected: []int{0, 1, 0}}}
	m := &sumModel{}
	rc, rr, err := PairRewards(m, pairs)
	if err != nil {
		t.Fatal(err)
	}
	if m.scored != 5 {
		t.Fatalf("scored %d sequences, want 5 distinct", m.scored)
	}
	wantC, wantR := []float32{3, 10, 6, 256}, []float32{6, 3, 10, 1}
	for i := range pairs {
		if rc[i] != wantC[i] || rr[i] != wantR[i] {
			t.Fatalf("pair %d: %v %v, want %v %v", i, rc[i], rr[i], wantC[i], wantR[i])
		}
	}
}

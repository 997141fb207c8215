package pretrain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/internal/runlog"
	"github.com/warm-rm/warm/kit/tokenizer"
	"github.com/warm-rm/warm/study/corpus"
)

// Data is a tokenized corpus ready for training: the tokenizer, the train
// and held-out token streams (documents joined with <|endoftext|>) and how
// they were made.
type Data struct {
	Tok        *tokenizer.Tokenizer
	Train, Val []int32
	// Extra is in-domain text for a continuation (ContinueData), joined
	// with <|endoftext|>; Config.ExtraFrac of each step's windows come
	// from it. Nil for a pretraining run.
	Extra []int32
	Prep  Prep
}

// Prep identifies a tokenized corpus. It is stored as out/prep.json; a run
// whose Prep matches reuses out/tokenizer and the token files instead of
// training the tokenizer and tokenizing again.
type Prep struct {
	CorpusSHA   string  `json:"corpus_sha256"` // of the documents' IDs and texts, in order
	Docs        int     `json:"docs"`
	TrainDocs   int     `json:"train_docs"`
	ValDocs     int     `json:"val_docs"`
	ValFrac     float64 `json:"val_frac"`
	CorpusMB    float64 `json:"corpus_mb"`    // cap on training text (0: all)
	TokenizerMB float64 `json:"tokenizer_mb"` // cap on the tokenizer's training text (0: all)
	Vocab       int     `json:"vocab_size"`   // asked for
	Seed        uint64  `json:"seed"`
	TrainBytes  int64   `json:"train_bytes"`
	ValBytes    int64   `json:"val_bytes"`
	TokBytes    int64   `json:"tokenizer_bytes"`
	NPositions  int     `json:"n_positions"` // the tokenizer's model_max_length
}

func (p Prep) sameInput(q Prep) bool {
	return p.CorpusSHA == q.CorpusSHA && p.ValFrac == q.ValFrac && p.CorpusMB == q.CorpusMB &&
		p.TokenizerMB == q.TokenizerMB && p.Vocab == q.Vocab && p.Seed == q.Seed && p.NPositions == q.NPositions
}

// CorpusHash identifies a corpus (documents' IDs and texts, in order); warm
// data compares it with the policy's prep.json to check that its held-out
// documents are the ones pretraining held out.
func CorpusHash(docs []corpus.Doc) string {
	h := sha256.New()
	for _, d := range docs {
		fmt.Fprintf(h, "%s\x00%d\x00", d.ID, len(d.Text))
		io.WriteString(h, d.Text)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// capDocs returns docs in a seeded random order, cut after mb megabytes of
// text (mb ≤ 0: all). Whole documents are kept, so the cap is approximate
// by at most one document.
func capDocs(docs []corpus.Doc, mb float64, seed uint64, salt uint64) ([]corpus.Doc, int64) {
	order := append([]corpus.Doc(nil), docs...)
	rng := rand.New(rand.NewPCG(seed, salt))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	var n int64
	for i, d := range order {
		if mb > 0 && float64(n) >= mb*1e6 {
			return order[:i], n
		}
		n += int64(len(d.Text))
	}
	return order, n
}

// Tokenize encodes docs and joins them, each followed by <|endoftext|>,
// in parallel over GOMAXPROCS (the tokenizer is safe for concurrent use).
func Tokenize(tok *tokenizer.Tokenizer, docs []corpus.Doc) []int32 {
	parts := make([][]int, len(docs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				parts[i] = tok.Encode(docs[i].Text)
			}
		}()
	}
	for i := range docs {
		next <- i
	}
	close(next)
	wg.Wait()
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	out := make([]int32, 0, n)
	eot := int32(tok.EOT())
	for _, p := range parts {
		for _, id := range p {
			out = append(out, int32(id))
		}
		out = append(out, eot)
	}
	return out
}

// PrepareData splits docs into train and held-out sets (corpus.Split, by
// document), trains the tokenizer on (a capped sample of) the train set and
// tokenizes both, or loads all of that from out when out/prep.json says it
// was made from the same input.
func PrepareData(docs []corpus.Doc, out string, vocab int, valFrac, corpusMB, tokenizerMB float64, nPositions int, seed uint64, log io.Writer) (*Data, error) {
	if len(docs) == 0 {
		return nil, fmt.Errorf("empty corpus")
	}
	want := Prep{CorpusSHA: CorpusHash(docs), Docs: len(docs), ValFrac: valFrac, CorpusMB: corpusMB,
		TokenizerMB: tokenizerMB, Vocab: vocab, Seed: seed, NPositions: nPositions}
	prepPath := filepath.Join(out, "prep.json")
	tokDir := filepath.Join(out, "tokenizer")
	trainPath := filepath.Join(out, "tokens-train.bin")
	valPath := filepath.Join(out, "tokens-val.bin")

	var have Prep
	if err := runlog.ReadJSON(prepPath, &have); err == nil && have.sameInput(want) {
		tok, err := tokenizer.Load(tokDir)
		if err == nil {
			tr, err1 := ReadTokens(trainPath, tok.VocabSize())
			va, err2 := ReadTokens(valPath, tok.VocabSize())
			if err1 == nil && err2 == nil {
				fmt.Fprintf(log, "pretrain: reusing tokenizer and %d train / %d held-out tokens from %s\n", len(tr), len(va), out)
				return &Data{Tok: tok, Train: tr, Val: va, Prep: have}, nil
			}
		}
	}

	train, val, err := splitDocs(docs, &want)
	if err != nil {
		return nil, err
	}

	tokDocs, tokBytes := capDocs(train, tokenizerMB, seed, 3)
	want.TokBytes = tokBytes
	texts := make([]string, len(tokDocs))
	for i, d := range tokDocs {
		texts[i] = d.Text
	}
	t0 := time.Now()
	fmt.Fprintf(log, "pretrain: training a %d-token byte-level BPE on %.1f MB of %d train documents\n", vocab, float64(tokBytes)/1e6, len(tokDocs))
	tok, err := tokenizer.Train(texts, vocab, nil, log)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "pretrain: tokenizer trained in %.1fs (%d tokens)\n", time.Since(t0).Seconds(), tok.VocabSize())
	if err := os.MkdirAll(tokDir, 0o755); err != nil {
		return nil, err
	}
	if err := tok.Save(tokDir, nPositions); err != nil {
		return nil, err
	}

	t0 = time.Now()
	tr := Tokenize(tok, train)
	va := Tokenize(tok, val)
	fmt.Fprintf(log, "pretrain: tokenized %.1f MB into %d train and %d held-out tokens in %.1fs (%.2f bytes/token)\n",
		float64(want.TrainBytes+want.ValBytes)/1e6, len(tr), len(va), time.Since(t0).Seconds(), float64(want.TrainBytes)/float64(max(1, len(tr))))
	if err := WriteTokens(trainPath, tr, tok.VocabSize()); err != nil {
		return nil, err
	}
	if err := WriteTokens(valPath, va, tok.VocabSize()); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteJSON(prepPath, want); err != nil {
		return nil, err
	}
	return &Data{Tok: tok, Train: tr, Val: va, Prep: want}, nil
}

// splitDocs splits docs by document as p's ValFrac and Seed say
// (corpus.Split), caps the train part at p's CorpusMB, and records the
// sizes in p: the one split that pretraining and its continuation share.
func splitDocs(docs []corpus.Doc, p *Prep) (train, val []corpus.Doc, err error) {
	train, val = corpus.Split(docs, p.ValFrac, p.Seed)
	if len(train) == 0 || len(val) == 0 {
		return nil, nil, fmt.Errorf("corpus of %d documents gives %d train and %d held-out documents at val fraction %g: need both", len(docs), len(train), len(val), p.ValFrac)
	}
	train, p.TrainBytes = capDocs(train, p.CorpusMB, p.Seed, 1)
	_, p.ValBytes = capDocs(val, 0, p.Seed, 2)
	p.TrainDocs, p.ValDocs = len(train), len(val)
	return train, val, nil
}

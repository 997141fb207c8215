package pretrain

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/kit/tokenizer"
	"github.com/warm-rm/warm/study/corpus"
)

// ContinueData prepares a continuation of the pretrained model in from (an
// HF directory with its tokenizer files): the corpus split exactly as the
// pretraining run split it (same documents, val fraction, cap and seed, so
// the held-out documents, where warm data takes its prompts, stay held
// out), tokenized with from's tokenizer, plus the extra in-domain texts
// (each one document, joined with <|endoftext|>). It writes out/prep.json,
// which warm data reads to find the split of a policy in out/final.
//
// This is the study's SFT stage (docs/results/init.md): the paper
// fine-tunes a pretrained model on in-domain text before any reward model
// starts from it; here the in-domain text is replayed corpus windows mixed
// with Config.ExtraFrac windows of the extra texts.
func ContinueData(from string, docs []corpus.Doc, extra []string, out string, valFrac, corpusMB float64, seed uint64) (*Data, error) {
	if len(docs) == 0 {
		return nil, fmt.Errorf("empty corpus")
	}
	tok, err := tokenizer.Load(from)
	if err != nil {
		return nil, fmt.Errorf("continue from %s: %w", from, err)
	}
	prep := Prep{CorpusSHA: CorpusHash(docs), Docs: len(docs), ValFrac: valFrac, CorpusMB: corpusMB, Vocab: tok.VocabSize(), Seed: seed}
	train, val, err := splitDocs(docs, &prep)
	if err != nil {
		return nil, err
	}
	ex := make([]corpus.Doc, len(extra))
	for i, t := range extra {
		ex[i] = corpus.Doc{ID: fmt.Sprintf("extra/%d", i), Text: t}
	}
	d := &Data{Tok: tok, Train: Tokenize(tok, train), Val: Tokenize(tok, val), Prep: prep}
	if len(ex) > 0 {
		d.Extra = Tokenize(tok, ex)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	return d, atomicfile.WriteJSON(filepath.Join(out, "prep.json"), prep)
}

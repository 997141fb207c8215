package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/tokenizer"
)

func init() {
	register(&command{
		name:    "score",
		summary: "score JSONL prompt+response rows with a reward model",
		run:     func(args []string) error { return scoreMain(args, os.Stdout, os.Stderr) },
	})
}

// scoreRow is one input line: either a response or a (chosen, rejected)
// pair; the text scored is prompt + response, concatenated as is.
type scoreRow struct {
	Prompt   *string `json:"prompt"`
	Response *string `json:"response"`
	Chosen   *string `json:"chosen"`
	Rejected *string `json:"rejected"`
}

// scoreSeq is one sequence to score and where its reward goes.
type scoreSeq struct {
	ids  []int
	row  int
	slot int // 0: response or chosen, 1: rejected
}

func scoreMain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("score", "--model DIR --data FILE.jsonl [--batch N] [--truncate error|left|right]")
	fs.SetOutput(stderr)
	modelDir := fs.String("model", "", "HF GPT2ForSequenceClassification directory (config.json, safetensors, tokenizer files)")
	dataPath := fs.String("data", "", `JSONL rows {"prompt","response"} or {"prompt","chosen","rejected"}; "-" reads stdin`)
	batch := fs.Int("batch", 32, "sequences per forward pass")
	truncate := fs.String("truncate", "error", "texts longer than n_positions: error, left (drop the start, keep the end where the reward is read), right (drop the end)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, pos)
	}
	if *modelDir == "" || *dataPath == "" {
		fs.Usage()
		return fmt.Errorf("%w: --model and --data are required", errUsage)
	}
	if *batch < 1 {
		return fmt.Errorf("--batch %d: must be at least 1", *batch)
	}
	if *truncate != "error" && *truncate != "left" && *truncate != "right" {
		return fmt.Errorf("--truncate %q: want error, left or right", *truncate)
	}

	m, err := model.Load(*modelDir)
	if err != nil {
		return err
	}
	if !m.HasRewardHead() {
		return fmt.Errorf("%s: not a reward model (config.json architectures has no %s)", *modelDir, model.ArchRewardModel)
	}
	tok, err := tokenizer.Load(*modelDir)
	if err != nil {
		return err
	}
	if tok.VocabSize() > m.Config.VocabSize {
		return fmt.Errorf("%s: tokenizer has %d tokens but the model's vocab_size is %d", *modelDir, tok.VocabSize(), m.Config.VocabSize)
	}

	// Read and validate every row before scoring, so bad input produces an
	// error and no output at all.
	var in io.Reader
	name := *dataPath
	if name == "-" {
		in, name = os.Stdin, "stdin"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	pairs, seqs, err := readScoreRows(in, name, tok, m.Config.NPositions, *truncate)
	if err != nil {
		return err
	}

	// Longest first, in batches of similar length: packing wastes nothing
	// either way, but similar lengths balance the attention jobs.
	order := make([]int, len(seqs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(seqs[order[a]].ids) > len(seqs[order[b]].ids) })
	rewards := make([][2]float32, len(pairs))
	start, last := time.Now(), time.Now()
	batchSeqs := make([][]int, 0, *batch)
	for lo := 0; lo < len(order); lo += *batch {
		hi := min(lo+*batch, len(order))
		batchSeqs = batchSeqs[:0]
		for _, i := range order[lo:hi] {
			batchSeqs = append(batchSeqs, seqs[i].ids)
		}
		for k, r := range m.Rewards(batchSeqs) {
			s := seqs[order[lo+k]]
			rewards[s.row][s.slot] = r
		}
		if now := time.Now(); now.Sub(last) > 2*time.Second && hi < len(order) {
			last = now
			rate := float64(hi) / now.Sub(start).Seconds()
			eta := time.Duration(float64(len(order)-hi) / rate * float64(time.Second))
			fmt.Fprintf(stderr, "score: %d/%d sequences, %.0f seq/s, ETA %s\n", hi, len(order), rate, eta.Round(time.Second))
		}
	}

	var buf bytes.Buffer
	for i, isPair := range pairs {
		var line []byte
		if isPair {
			line, err = json.Marshal(struct {
				Chosen   float32 `json:"chosen_reward"`
				Rejected float32 `json:"rejected_reward"`
			}{rewards[i][0], rewards[i][1]})
		} else {
			line, err = json.Marshal(struct {
				Reward float32 `json:"reward"`
			}{rewards[i][0]})
		}
		if err != nil {
			return fmt.Errorf("%s: row %d: %v", name, i+1, err) // NaN reward: a broken model
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	_, err = stdout.Write(buf.Bytes())
	return err
}

// readScoreRows parses the JSONL input. pairs[i] tells whether output row i
// is a pair; seqs are the token sequences to score. Blank lines are
// skipped; any other malformed line is an error naming file:line.
func readScoreRows(in io.Reader, name string, tok *tokenizer.Tokenizer, nPos int, truncate string) (pairs []bool, seqs []scoreSeq, err error) {
	br := bufio.NewReader(in)
	for lineNo := 1; ; lineNo++ {
		line, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return nil, nil, fmt.Errorf("%s:%d: %v", name, lineNo, rerr)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			var r scoreRow
			if err := json.Unmarshal(line, &r); err != nil {
				return nil, nil, fmt.Errorf("%s:%d: not a JSON object with string fields: %v", name, lineNo, err)
			}
			prompt := ""
			if r.Prompt != nil {
				prompt = *r.Prompt
			}
			var texts []string
			switch {
			case r.Response != nil && r.Chosen == nil && r.Rejected == nil:
				texts = []string{prompt + *r.Response}
			case r.Response == nil && r.Chosen != nil && r.Rejected != nil:
				texts = []string{prompt + *r.Chosen, prompt + *r.Rejected}
			default:
				return nil, nil, fmt.Errorf(`%s:%d: want "response", or "chosen" and "rejected" (with an optional "prompt")`, name, lineNo)
			}
			row := len(pairs)
			pairs = append(pairs, len(texts) == 2)
			for slot, text := range texts {
				ids := tok.Encode(text)
				if len(ids) == 0 {
					return nil, nil, fmt.Errorf("%s:%d: empty text to score", name, lineNo)
				}
				if len(ids) > nPos {
					switch truncate {
					case "left":
						ids = ids[len(ids)-nPos:]
					case "right":
						ids = ids[:nPos]
					default:
						return nil, nil, fmt.Errorf("%s:%d: text has %d tokens, more than the model's n_positions %d (see --truncate)", name, lineNo, len(ids), nPos)
					}
				}
				seqs = append(seqs, scoreSeq{ids: ids, row: row, slot: slot})
			}
		}
		if rerr == io.EOF {
			return pairs, seqs, nil
		}
	}
}

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/warm-rm/warm/internal/atomicfile"
	"github.com/warm-rm/warm/kit/prefdata"
	"github.com/warm-rm/warm/kit/reward"
)

func init() {
	register(&command{
		name:    "score",
		summary: "score prompt+response rows or preference pairs (JSONL or Parquet) with a reward model",
		run:     func(args []string) error { return scoreMain(args, os.Stdout, os.Stderr) },
	})
}

const scoreSynopsis = `--model DIR --data FILE [-o FILE] [--format jsonl|csv] [--with-input]

Scores each row of FILE, JSONL or Parquet (docs/data.md): texts {"prompt", "response"} give
{"id", "reward"}, preference pairs {"prompt"?, "chosen", "rejected"} (TRL rows, implicit prompt
too) give {"id", "reward_chosen", "reward_rejected", "margin"}. The id is the row's "id" or its
0-based index. With --template auto (the default), conversational rows (lists of messages)
are rendered with the model's chat template as transformers does, string rows are scored as
plain prompt + response (docs/llama.md).`

func scoreMain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("score", scoreSynopsis)
	modelDir := fs.String("model", "", "reward model: an HF directory (config.json, safetensors, tokenizer files)")
	dataPath := fs.String("data", "", "the rows to score, a JSONL or Parquet `FILE`; \"-\" reads stdin")
	out := fs.String("out", "-", "write the scores to this `FILE` (atomically); \"-\" is stdout")
	format := fs.String("format", prefdata.ScoreJSONL, "output format: jsonl or csv")
	withInput := fs.Bool("with-input", false, "copy the input texts (prompt, response or chosen, rejected) into the output")
	batch := fs.Int("batch", 32, "sequences per forward pass")
	template := fs.String("template", "auto", "chat template: auto (conversational rows through the model's chat template, string rows as plain prompt+response), on (every row through it), off (plain text)")
	truncate := fs.String("truncate", "error", "texts longer than n_positions: error, left (drop the start, keep the end where the reward is read), right (drop the end)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected arguments %s: give the model with --model DIR and the rows with --data FILE", errUsage, quoteAll(pos))
	}
	switch {
	case *modelDir == "" && *dataPath == "":
		return fmt.Errorf("%w: --model DIR and --data FILE are required", errUsage)
	case *modelDir == "":
		return fmt.Errorf("%w: --model DIR is required", errUsage)
	case *dataPath == "":
		return fmt.Errorf("%w: --data FILE is required (the rows to score)", errUsage)
	case *batch < 1:
		return fmt.Errorf("%w: --batch %d: must be at least 1", errUsage, *batch)
	}
	if err := prefdata.CheckScoreFormat(*format); err != nil {
		return fmt.Errorf("%w: --%v", errUsage, err)
	}
	trunc, err := reward.ParseTruncation(*truncate)
	if err != nil {
		return fmt.Errorf("%w: --%v", errUsage, err)
	}
	opts := prefdata.ScoreOptions{Format: *format, WithInput: *withInput}
	// Read and validate every row before loading the model, so bad input
	// fails fast, and produces no output at all.
	d, err := prefdata.Read(*dataPath)
	if errors.Is(err, prefdata.ErrNoRows) {
		fmt.Fprintf(stderr, "warm score: warning: %v: nothing to score\n", err)
		return writeScoreOutput(*out, stdout, &prefdata.Data{Kind: prefdata.Texts}, prefdata.Scores{}, opts)
	}
	if err != nil {
		return err
	}
	mode, err := reward.ParseTemplateMode(*template)
	if err != nil {
		return fmt.Errorf("%w: --%v", errUsage, err)
	}
	m, tok, err := reward.LoadWithTokenizer(*modelDir)
	if err != nil {
		return err
	}
	tok.Template = mode
	start, last := time.Now(), time.Now()
	sc := reward.TextScorer{Model: m, Tok: tok, Truncate: trunc, Batch: *batch, Progress: func(done, total int) {
		if now := time.Now(); now.Sub(last) > 2*time.Second && done < total {
			last = now
			rate := float64(done) / now.Sub(start).Seconds()
			eta := time.Duration(float64(total-done) / rate * float64(time.Second))
			fmt.Fprintf(stderr, "score: %d/%d sequences, %.0f seq/s, ETA %s\n", done, total, rate, eta.Round(time.Second))
		}
	}}
	rewards, err := sc.Items(reward.ItemsFromData(d, inputName(*dataPath)))
	if err != nil {
		return err
	}
	var s prefdata.Scores
	for _, r := range rewards {
		if d.Kind == prefdata.Texts {
			s.Rewards = append(s.Rewards, r[0])
		} else {
			s.Chosen, s.Rejected = append(s.Chosen, r[0]), append(s.Rejected, r[1])
		}
	}
	return writeScoreOutput(*out, stdout, d, s, opts)
}

// writeScoreOutput writes the scores to stdout ("-") or atomically to the
// file out.
func writeScoreOutput(out string, stdout io.Writer, d *prefdata.Data, s prefdata.Scores, o prefdata.ScoreOptions) error {
	if out == "" || out == "-" {
		return prefdata.WriteScores(stdout, d, s, o)
	}
	return atomicfile.Write(out, func(w io.Writer) error { return prefdata.WriteScores(w, d, s, o) })
}

// quoteAll quotes each argument for an error message.
func quoteAll(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return strings.Join(q, " ")
}

// inputName names the data file in errors ("stdin" for "-").
func inputName(path string) string {
	if path == "-" {
		return "stdin"
	}
	return path
}

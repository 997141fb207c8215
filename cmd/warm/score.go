package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/warm-rm/warm/reward"
)

func init() {
	register(&command{
		name:    "score",
		summary: "score JSONL prompt+response rows with a reward model",
		run:     func(args []string) error { return scoreMain(args, os.Stdout, os.Stderr) },
	})
}

func scoreMain(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("score", "--model DIR --data FILE.jsonl [--batch N] [--truncate error|left|right]")
	fs.SetOutput(stderr)
	modelDir := fs.String("model", "", "HF GPT2ForSequenceClassification directory (config.json, safetensors, tokenizer files)")
	dataPath := fs.String("data", "", `JSONL rows {"prompt","response"} or {"prompt","chosen","rejected"}; "-" reads stdin`)
	batch := fs.Int("batch", 32, "sequences per forward pass")
	template := fs.String("template", "auto", "chat template: auto (conversational rows through the model's chat template, string rows as plain prompt+response), on (every row through it), off (plain text)")
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
	trunc, err := reward.ParseTruncation(*truncate)
	if err != nil {
		return fmt.Errorf("--%v", err)
	}
	mode, err := reward.ParseTemplateMode(*template)
	if err != nil {
		return fmt.Errorf("--%v", err)
	}
	m, tok, err := reward.LoadWithTokenizer(*modelDir)
	if err != nil {
		return err
	}
	tok.Template = mode
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
	items, err := reward.ReadItems(in, name)
	if err != nil {
		return err
	}
	start, last := time.Now(), time.Now()
	sc := reward.TextScorer{Model: m, Tok: tok, Truncate: trunc, Batch: *batch, Progress: func(done, total int) {
		if now := time.Now(); now.Sub(last) > 2*time.Second && done < total {
			last = now
			rate := float64(done) / now.Sub(start).Seconds()
			eta := time.Duration(float64(total-done) / rate * float64(time.Second))
			fmt.Fprintf(stderr, "score: %d/%d sequences, %.0f seq/s, ETA %s\n", done, total, rate, eta.Round(time.Second))
		}
	}}
	rewards, err := sc.Items(items)
	if err != nil {
		return err
	}
	return writeScores(stdout, name, items, rewards)
}

// writeScores writes one JSON line per item: its reward, or the chosen
// and rejected rewards of a pair.
func writeScores(stdout io.Writer, name string, items []reward.Item, rewards [][]float32) error {
	var buf bytes.Buffer
	for i, it := range items {
		var line []byte
		var err error
		if it.IsPair() {
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
	_, err := stdout.Write(buf.Bytes())
	return err
}

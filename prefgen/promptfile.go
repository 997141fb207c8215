package prefgen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ReadPrompts returns prompts from a JSONL file of {"prompt": ...} rows
// (preference rows qualify), deduplicated in file order; limit > 0 keeps
// the first limit. Best-of-N, RL and policy duels draw their prompts here.
func ReadPrompts(path string, limit int) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var row struct {
			Prompt *string `json:"prompt"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		if row.Prompt == nil {
			return nil, fmt.Errorf("%s:%d: no \"prompt\" field", path, line)
		}
		p := *row.Prompt
		if strings.TrimSpace(p) == "" || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no prompts", path)
	}
	return out, nil
}

// PromptFile resolves where prompts come from: file when given, else the
// split's file DATA/SPLIT.jsonl of a `warm data` run.
func PromptFile(file, dataDir, split string) (string, error) {
	if file != "" {
		return file, nil
	}
	p := filepath.Join(dataDir, split+".jsonl")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no prompts: %s does not exist (run warm data, or give --prompts FILE)", p)
	}
	return p, nil
}

// FitPrompts keeps the prompts that leave room for maxNew tokens in a
// context of ctx (and are not empty), returning them and how many were
// dropped.
func FitPrompts(tok Tokenizer, prompts []string, ctx, maxNew int) (kept []string, dropped int) {
	for _, p := range prompts {
		if n := len(tok.Encode(p)); n > 0 && n+maxNew <= ctx {
			kept = append(kept, p)
		}
	}
	return kept, len(prompts) - len(kept)
}

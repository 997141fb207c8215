package prefgen

import (
	"fmt"
	"os"
	"path/filepath"
)

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

// Command savegpt2 saves the committed GPT-2 vocabulary with tokenizer.Save,
// for hfcheck.js. Run from the repository root: go run ./tokenizer/testdata/gen/savegpt2 DIR
package main

import (
	"fmt"
	"os"

	"github.com/warm-rm/warm/kit/tokenizer"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: savegpt2 DIR")
		os.Exit(2)
	}
	tok, err := tokenizer.LoadFiles("tokenizer/testdata/gpt2/vocab.json.gz", "tokenizer/testdata/gpt2/merges.txt.gz")
	if err == nil {
		err = tok.Save(os.Args[1], 1024)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

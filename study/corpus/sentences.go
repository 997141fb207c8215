package corpus

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// abbreviations end in a period that does not end a sentence (lower case,
// without the final period). Titles and other words that are always followed
// by a name or number are listed; words such as "etc." that often do end a
// sentence are not.
var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "messrs": true, "dr": true, "prof": true, "rev": true,
	"hon": true, "st": true, "jr": true, "sr": true, "gen": true, "col": true, "capt": true,
	"lt": true, "sgt": true, "gov": true, "sen": true, "rep": true, "pres": true, "supt": true,
	"vs": true, "v": true, "no": true, "nos": true, "vol": true, "pp": true, "p": true, "fig": true,
	"mt": true, "ft": true, "jan": true, "feb": true, "mar": true, "apr": true, "jun": true,
	"jul": true, "aug": true, "sept": true, "sep": true, "oct": true, "nov": true, "dec": true,
	"inc": true, "co": true, "corp": true, "ltd": true, "approx": true, "cf": true, "viz": true,
	"e.g": true, "i.e": true, "ave": true, "blvd": true, "dept": true, "univ": true, "esq": true,
}

// starters are words that, capitalised after an acronym such as "U.S.",
// mean a new sentence has begun ("... in the U.S. The ...").
var starters = map[string]bool{
	"The": true, "It": true, "We": true, "I": true, "This": true, "That": true, "These": true,
	"In": true, "But": true, "And": true, "He": true, "She": true, "They": true, "There": true,
	"Our": true, "A": true, "An": true, "If": true, "As": true, "For": true, "At": true, "When": true,
	"Its": true, "His": true, "Her": true, "Their": true, "You": true, "What": true, "So": true,
}

// closers may follow sentence-final punctuation and belong to the sentence.
func isCloser(r rune) bool {
	switch r {
	case '"', '\'', ')', ']', '}', '”', '’', '»':
		return true
	}
	return false
}

// Sentences splits English text into sentences. A sentence ends at ".",
// "!", "?" or "…" (with any closing quotes or brackets after it) when the
// next word starts a sentence: an upper-case letter or digit, possibly after
// an opening quote. A period after a known abbreviation (Mr., Dr., St.) or a
// single initial ("J. Smith") does not end one; after an acronym (U.S.) it
// does only before a common sentence starter. Blank lines always end a
// sentence. Whitespace inside a sentence is collapsed to single spaces.
func Sentences(text string) []string {
	var out []string
	for _, para := range paragraphs(text) {
		out = append(out, splitPara(para)...)
	}
	return out
}

// paragraphs splits on blank lines and joins the lines inside each.
func paragraphs(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var out []string
	for _, p := range strings.Split(text, "\n\n") {
		p = strings.Join(strings.Fields(p), " ")
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func splitPara(p string) []string {
	var out []string
	start := 0
	i := 0
	for i < len(p) {
		r, n := utf8.DecodeRuneInString(p[i:])
		if r != '.' && r != '!' && r != '?' && r != '…' {
			i += n
			continue
		}
		// Take the whole run of terminators and closers ("?!", '."', ".)").
		j := i + n
		for j < len(p) {
			r2, n2 := utf8.DecodeRuneInString(p[j:])
			if r2 == '.' || r2 == '!' || r2 == '?' || r2 == '…' || isCloser(r2) {
				j += n2
				continue
			}
			break
		}
		if j >= len(p) {
			break
		}
		if p[j] != ' ' { // "3.5", "U.S.A", "e.g.," are not ends
			i = j
			continue
		}
		next := strings.TrimLeft(p[j:], " ")
		if endsSentence(p[start:i], r, next) {
			if s := strings.TrimSpace(p[start:j]); s != "" {
				out = append(out, s)
			}
			start = j + 1
		}
		i = j
	}
	if s := strings.TrimSpace(p[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// endsSentence decides whether the terminator term after before ends a
// sentence, given the text that follows.
func endsSentence(before string, term rune, next string) bool {
	// The next word must look like a sentence start.
	nr, _ := utf8.DecodeRuneInString(strings.TrimLeft(next, "\"'“‘([—-"))
	if !unicode.IsUpper(nr) && !unicode.IsDigit(nr) {
		return false
	}
	if term != '.' {
		return true
	}
	// The word that the period ends.
	w := before
	if k := strings.LastIndexAny(w, " \"'(“‘—-"); k >= 0 {
		w = w[k+1:]
	}
	if w == "" {
		return true
	}
	lw := strings.ToLower(w)
	if abbreviations[lw] {
		return false
	}
	// A single letter: an initial ("J. Smith") or a list letter.
	if utf8.RuneCountInString(w) == 1 && unicode.IsUpper([]rune(w)[0]) {
		return false
	}
	// An acronym with inner periods ("U.S", "D.C", "a.m").
	if strings.Contains(w, ".") {
		nextWord := next
		if k := strings.IndexAny(nextWord, " ,;:"); k >= 0 {
			nextWord = nextWord[:k]
		}
		return starters[strings.TrimLeft(nextWord, "\"'“‘(")]
	}
	return true
}

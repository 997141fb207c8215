package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// The GPT-2 pre-tokenizer regex is
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// Go's regexp has no lookahead, so split implements it by hand with the same
// leftmost-alternative semantics. \s is Unicode White_Space (Go's
// unicode.IsSpace), as in OpenAI's Python `regex`, HF tokenizers and tiktoken;
// JavaScript's \s differs only on U+0085 and U+FEFF. Invalid UTF-8 bytes are
// classed as "other" (neither letter, number nor space), one byte each.

const (
	classOther = iota
	classLetter
	classNumber
	classSpace
)

// asciiClass is a fast path for the common case.
var asciiClass [128]uint8

func init() {
	for c := 0; c < 128; c++ {
		r := rune(c)
		switch {
		case unicode.IsLetter(r):
			asciiClass[c] = classLetter
		case unicode.IsNumber(r):
			asciiClass[c] = classNumber
		case unicode.IsSpace(r):
			asciiClass[c] = classSpace
		default:
			asciiClass[c] = classOther
		}
	}
}

// classAt returns the class of the rune at s[i] and its width in bytes.
func classAt(s string, i int) (class uint8, width int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && w == 1 {
		return classOther, 1
	}
	switch {
	case unicode.IsLetter(r):
		return classLetter, w
	case unicode.IsNumber(r):
		return classNumber, w
	case unicode.IsSpace(r):
		return classSpace, w
	}
	return classOther, w
}

// runOf returns the end of the run of runes of class cls starting at i.
func runOf(s string, i int, cls uint8) int {
	for i < len(s) {
		c, w := classAt(s, i)
		if c != cls {
			break
		}
		i += w
	}
	return i
}

// contraction returns the length of a contraction ('s 't 're 've 'm 'll
// 'd) at s[i], or 0. GPT-2's regex matches them in lowercase only; with fold
// (the Llama 3 / Qwen2 regex's (?i:...)) any case matches, and under Unicode
// case folding "s" also matches U+017F LATIN SMALL LETTER LONG S (2 bytes in
// UTF-8); the other letters have no such extra forms.
func contraction(s string, i int, fold bool) int {
	if s[i] != '\'' || i+1 >= len(s) {
		return 0
	}
	at := func(k int) byte { // the byte at s[k], lowercased if folding; 0 past the end
		if k >= len(s) {
			return 0
		}
		c := s[k]
		if fold && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		return c
	}
	switch at(i + 1) {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if at(i+2) == 'e' {
			return 3
		}
	case 'l':
		if at(i+2) == 'l' {
			return 3
		}
	}
	if fold && len(s) >= i+3 && s[i+1:i+3] == "\u017f" {
		return 3
	}
	return 0
}

// split calls emit for each GPT-2 pre-token of s, in order. The pre-tokens
// concatenate back to s.
func split(s string, emit func(piece string)) {
	for i := 0; i < len(s); {
		if n := contraction(s, i, false); n > 0 {
			emit(s[i : i+n])
			i += n
			continue
		}
		cls, w := classAt(s, i)
		start := i
		// " ?X+" alternatives: a single ASCII space may lead a run of letters,
		// numbers or "other".
		if s[i] == ' ' && i+1 < len(s) {
			if next, nw := classAt(s, i+1); next != classSpace {
				end := runOf(s, i+1+nw, next)
				emit(s[start:end])
				i = end
				continue
			}
		}
		if cls != classSpace {
			end := runOf(s, i+w, cls)
			emit(s[start:end])
			i = end
			continue
		}
		// Whitespace: \s+(?!\S) takes the run up to the end of the string, or
		// all but its last rune when a non-space follows (that rune then
		// joins the next token via " ?" or stands alone via \s+).
		end := runOf(s, i+w, classSpace)
		if end < len(s) {
			// Back off one rune, unless the run is a single rune.
			_, lw := utf8.DecodeLastRuneInString(s[i:end])
			if end-lw > i {
				end -= lw
			}
		}
		emit(s[start:end])
		i = end
	}
}

package tokenizer

import "unicode/utf8"

// The Split pre-tokenizer of Llama 3 and Qwen2/2.5/3 uses the regex
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// (Llama 3; Qwen has \p{N} instead of \p{N}{1,3}), applied with behavior
// "Isolated". Every rune matches some alternative, so the matches alone cover
// the text. splitModern implements the pattern by hand, alternative by
// alternative in order, with the backtracking outcome the regex engine
// (Oniguruma in HF tokenizers) reaches; the comments give each case. The
// character classes are those of split (pretok.go): \s is Unicode
// White_Space, \p{L} and \p{N} Unicode letters and numbers, invalid UTF-8
// bytes are "other", one byte each.

// splitPatternLlama3 and splitPatternQwen2 are the Regex strings of the Split
// pre-tokenizers in the released tokenizer.json files (after JSON decoding).
const (
	splitPatternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	splitPatternQwen2  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

func isCRLF(c byte) bool { return c == '\r' || c == '\n' }

// splitModern calls emit for each pre-token of s under the Llama 3 pattern
// (maxDigits 3) or the Qwen2 pattern (maxDigits 1).
func splitModern(s string, maxDigits int, emit func(piece string)) {
	for i := 0; i < len(s); {
		// 1. (?i:'s|'t|'re|'ve|'m|'ll|'d)
		if n := contraction(s, i, true); n > 0 {
			emit(s[i : i+n])
			i += n
			continue
		}
		cls, w := classAt(s, i)
		// 2. [^\r\n\p{L}\p{N}]?\p{L}+ : a letter run, optionally led by one
		// rune that is neither CR, LF, letter nor number (a space, a tab,
		// punctuation, ...).
		if cls == classLetter {
			end := runOf(s, i+w, classLetter)
			emit(s[i:end])
			i = end
			continue
		}
		if cls != classNumber && !isCRLF(s[i]) && i+w < len(s) {
			if next, _ := classAt(s, i+w); next == classLetter {
				end := runOf(s, i+w, classLetter)
				emit(s[i:end])
				i = end
				continue
			}
		}
		// 3. \p{N}{1,3} (Llama 3) or \p{N} (Qwen).
		if cls == classNumber {
			end := i + w
			for k := 1; k < maxDigits && end < len(s); k++ {
				c, cw := classAt(s, end)
				if c != classNumber {
					break
				}
				end += cw
			}
			emit(s[i:end])
			i = end
			continue
		}
		// 4. ` ?[^\s\p{L}\p{N}]+[\r\n]*`: a run of "other" runes, optionally
		// led by one ASCII space, then any CR/LF that follow.
		start := i
		j := i
		if s[j] == ' ' && j+1 < len(s) {
			if next, _ := classAt(s, j+1); next == classOther {
				j++
			}
		}
		if c, cw := classAt(s, j); c == classOther {
			end := runOf(s, j+cw, classOther)
			for end < len(s) && isCRLF(s[end]) {
				end++
			}
			emit(s[start:end])
			i = end
			continue
		}
		// Only whitespace is left (cls == classSpace).
		end := runOf(s, i+w, classSpace)
		// 5. \s*[\r\n]+ : \s* backtracks to the last CR/LF of the run, so the
		// match ends just after it.
		if last := lastCRLF(s[i:end]); last >= 0 {
			emit(s[i : i+last+1])
			i += last + 1
			continue
		}
		// 6. \s+(?!\S) : the whole run at the end of the text, else all but
		// its last rune (which then leads the next token, or is matched
		// alone by 7. \s+ when the run is one rune).
		if end < len(s) {
			_, lw := utf8.DecodeLastRuneInString(s[i:end])
			if end-lw > i {
				end -= lw
			}
		}
		emit(s[i:end])
		i = end
	}
}

// lastCRLF returns the index of the last '\r' or '\n' in s, or -1.
func lastCRLF(s string) int {
	for k := len(s) - 1; k >= 0; k-- {
		if isCRLF(s[k]) {
			return k
		}
	}
	return -1
}

package tokenizer

import "unicode/utf8"

// byteToRune is GPT-2's bytes_to_unicode table: every byte maps to a printable
// rune so that BPE tokens are readable strings. Printable Latin-1 bytes map to
// themselves; the other 68 bytes (controls, space, 0x7f-0xa0, 0xad) map to
// U+0100 upwards in byte order, so a space becomes 'Ġ' (U+0120).
var byteToRune [256]rune

// byteOrder lists the bytes in bytes_to_unicode order (printable first). GPT-2's
// vocabulary, and the ones Train builds, give token id i to byteOrder[i].
var byteOrder [256]byte

// runeToByte inverts byteToRune; runes outside the table are -1.
var runeToByte [324]int16

func init() {
	n := 0
	printable := func(b int) bool {
		return (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)
	}
	i := 0
	for b := 0; b < 256; b++ {
		if printable(b) {
			byteToRune[b] = rune(b)
			byteOrder[i] = byte(b)
			i++
		}
	}
	for b := 0; b < 256; b++ {
		if !printable(b) {
			byteToRune[b] = rune(256 + n)
			byteOrder[i] = byte(b)
			i++
			n++
		}
	}
	for r := range runeToByte {
		runeToByte[r] = -1
	}
	for b, r := range byteToRune {
		runeToByte[r] = int16(b)
	}
}

// byteString maps raw bytes to their byte-level token string.
func byteString(b []byte) string {
	buf := make([]byte, 0, 2*len(b))
	for _, c := range b {
		buf = utf8.AppendRune(buf, byteToRune[c])
	}
	return string(buf)
}

// tokenBytes maps a byte-level token string back to raw bytes. ok is false if
// the string holds a rune that is not in the byte table (an added token such as
// "<|endoftext|>" is fine: all its runes are printable ASCII).
func tokenBytes(s string) (b []byte, ok bool) {
	b = make([]byte, 0, len(s))
	for _, r := range s {
		if r < 0 || int(r) >= len(runeToByte) || runeToByte[r] < 0 {
			return nil, false
		}
		b = append(b, byte(runeToByte[r]))
	}
	return b, true
}

// appendLossy appends b to dst as valid UTF-8, replacing each maximal invalid
// subpart with U+FFFD. This is the Unicode "substitution of maximal subparts"
// practice that Python's bytes.decode(errors="replace") (what GPT2Tokenizer
// uses), Rust's String::from_utf8_lossy (HF tokenizers) and the WHATWG
// TextDecoder follow. Go's strings.ToValidUTF8 differs: it collapses a whole
// run of invalid bytes into one U+FFFD.
func appendLossy(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		if r, size := utf8.DecodeRune(b[i:]); r != utf8.RuneError || size > 1 {
			dst = append(dst, b[i:i+size]...)
			i += size
			continue
		}
		// Invalid: consume the lead byte and as many continuation bytes as
		// could still begin a valid sequence, then emit one replacement.
		need, lo, hi := 0, byte(0x80), byte(0xbf)
		switch {
		case c >= 0xc2 && c <= 0xdf:
			need = 1
		case c == 0xe0:
			need, lo = 2, 0xa0
		case c == 0xed:
			need, hi = 2, 0x9f
		case c >= 0xe1 && c <= 0xef:
			need = 2
		case c == 0xf0:
			need, lo = 3, 0x90
		case c == 0xf4:
			need, hi = 3, 0x8f
		case c >= 0xf1 && c <= 0xf3:
			need = 3
		}
		i++
		for k := 0; k < need && i < len(b); k++ {
			if b[i] < lo || b[i] > hi {
				break
			}
			lo, hi = 0x80, 0xbf
			i++
		}
		dst = append(dst, "\uFFFD"...)
	}
	return dst
}

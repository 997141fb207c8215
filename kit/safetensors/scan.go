package safetensors

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// scanner reads the header JSON in place. The header is the one piece of a
// safetensors file whose size an attacker controls (up to 100 MB), so it is
// parsed without encoding/json: that decoder copies its input, allocates an
// interface value per token and uses reflection per entry, and peaked at
// ~7× the header in allocations (350 MB for a 48 MB header); this scanner
// allocates only what the parsed header keeps (names, shapes) — see
// docs/safetensors.md for the measurements. It is strict where encoding/json
// is lenient: keys match exactly (encoding/json accepts "dtYpe"), invalid
// UTF-8 and lone surrogates are errors rather than U+FFFD, and numbers are
// integers.
type scanner struct {
	b   []byte
	pos int

	shape [maxRank]int64 // scratch for ints: shapes and offsets are not kept as int64
	offs  [2]int64
	arena arena
}

// arena hands out strings and int slices carved from large blocks: a header
// of 400k tensors would otherwise make 800k small allocations, each rounded
// up to its size class. The blocks live as long as the parsed header.
type arena struct {
	bytes []byte
	ints  []int
}

const arenaBlock = 64 << 10

func (a *arena) string(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > arenaBlock/8 {
		return string(b)
	}
	if cap(a.bytes)-len(a.bytes) < len(b) {
		a.bytes = make([]byte, 0, arenaBlock)
	}
	off := len(a.bytes)
	a.bytes = append(a.bytes, b...)
	return unsafe.String(&a.bytes[off], len(b))
}

func (a *arena) intSlice(n int) []int {
	if n == 0 {
		return []int{}
	}
	if cap(a.ints)-len(a.ints) < n {
		a.ints = make([]int, 0, max(arenaBlock/8, n))
	}
	off := len(a.ints)
	a.ints = a.ints[:off+n]
	return a.ints[off : off+n : off+n]
}

var errDepth = errors.New("nesting deeper than 64")

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("byte %d of the header: %s", s.pos, fmt.Sprintf(format, args...))
}

func (s *scanner) ws() {
	for s.pos < len(s.b) {
		switch s.b[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte (0 at the end).
func (s *scanner) peek() byte {
	s.ws()
	if s.pos >= len(s.b) {
		return 0
	}
	return s.b[s.pos]
}

func (s *scanner) expect(c byte) error {
	if got := s.peek(); got != c {
		if got == 0 {
			return s.errorf("unexpected end, want %q", c)
		}
		return s.errorf("found %q, want %q", got, c)
	}
	s.pos++
	return nil
}

// str reads a JSON string. raw reports the bytes as they appear (escapes
// undecoded) for error messages.
func (s *scanner) str() (val string, err error) {
	if err := s.expect('"'); err != nil {
		return "", err
	}
	start := s.pos
	// Fast path: no escapes.
	for s.pos < len(s.b) {
		c := s.b[s.pos]
		if c == '"' {
			raw := s.b[start:s.pos]
			s.pos++
			if !utf8.Valid(raw) {
				return "", fmt.Errorf("string %s is not valid UTF-8", quoteBytes(raw))
			}
			return s.arena.string(raw), nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", s.errorf("control character %#x in a string", c)
		}
		s.pos++
	}
	// Slow path: decode escapes.
	out := append([]byte(nil), s.b[start:s.pos]...)
	for s.pos < len(s.b) {
		c := s.b[s.pos]
		switch {
		case c == '"':
			s.pos++
			if !utf8.Valid(out) {
				return "", fmt.Errorf("string %s is not valid UTF-8", quoteBytes(s.b[start:s.pos-1]))
			}
			return string(out), nil
		case c < 0x20:
			return "", s.errorf("control character %#x in a string", c)
		case c != '\\':
			out = append(out, c)
			s.pos++
			continue
		}
		if s.pos+1 >= len(s.b) {
			break
		}
		e := s.b[s.pos+1]
		s.pos += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return "", s.errorf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if s.pos+1 < len(s.b) && s.b[s.pos] == '\\' && s.b[s.pos+1] == 'u' {
					s.pos += 2
					if r2, ok = s.hex4(); !ok {
						return "", s.errorf("bad \\u escape")
					}
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return "", s.errorf("lone UTF-16 surrogate in a \\u escape (not valid Unicode)")
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", s.errorf("bad escape \\%c", e)
		}
	}
	return "", s.errorf("unterminated string")
}

func (s *scanner) hex4() (rune, bool) {
	if s.pos+4 > len(s.b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s.b[s.pos:s.pos+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	s.pos += 4
	return rune(v), true
}

// int reads a JSON number that must be an integer fitting int64.
func (s *scanner) int() (int64, error) {
	s.ws()
	start := s.pos
	if s.pos < len(s.b) && s.b[s.pos] == '-' {
		s.pos++
	}
	for s.pos < len(s.b) && s.b[s.pos] >= '0' && s.b[s.pos] <= '9' {
		s.pos++
	}
	if s.pos < len(s.b) && (s.b[s.pos] == '.' || s.b[s.pos] == 'e' || s.b[s.pos] == 'E') {
		return 0, s.errorf("non-integer number")
	}
	lit := string(s.b[start:s.pos])
	if lit == "" || lit == "-" || (len(lit) > 1 && lit[0] == '0') || (len(lit) > 2 && lit[:2] == "-0") {
		return 0, s.errorf("want an integer")
	}
	v, err := strconv.ParseInt(lit, 10, 64)
	if err != nil {
		return 0, s.errorf("integer %s out of range", lit)
	}
	return v, nil
}

// ints reads an array of at most len(dst) integers into dst and returns
// the filled part.
func (s *scanner) ints(dst []int64) ([]int64, error) {
	max := len(dst)
	if err := s.expect('['); err != nil {
		return nil, err
	}
	out := dst[:0]
	if s.peek() == ']' {
		s.pos++
		return out, nil
	}
	for {
		if len(out) == max {
			return nil, s.errorf("more than %d numbers in an array", max)
		}
		v, err := s.int()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return out, nil
		default:
			return nil, s.errorf("want ',' or ']' in an array")
		}
	}
}

// skip reads and discards any JSON value (an unknown key's), to depth 64.
func (s *scanner) skip(depth int) error {
	if depth > 64 {
		return errDepth
	}
	switch c := s.peek(); {
	case c == '"':
		_, err := s.str()
		return err
	case c == '{' || c == '[':
		s.pos++
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		if s.peek() == end {
			s.pos++
			return nil
		}
		for {
			if c == '{' {
				if _, err := s.str(); err != nil {
					return err
				}
				if err := s.expect(':'); err != nil {
					return err
				}
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.pos++
			case end:
				s.pos++
				return nil
			default:
				return s.errorf("want ',' or %q", end)
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		s.pos++
		for s.pos < len(s.b) && (s.b[s.pos] >= '0' && s.b[s.pos] <= '9' || s.b[s.pos] == '.' || s.b[s.pos] == 'e' || s.b[s.pos] == 'E' || s.b[s.pos] == '+' || s.b[s.pos] == '-') {
			s.pos++
		}
		return nil
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if len(s.b)-s.pos >= len(lit) && string(s.b[s.pos:s.pos+len(lit)]) == lit {
				s.pos += len(lit)
				return nil
			}
		}
		return s.errorf("unexpected %q", c)
	}
}

// null consumes a JSON null if one is next.
func (s *scanner) null() bool {
	if s.peek() == 'n' && len(s.b)-s.pos >= 4 && string(s.b[s.pos:s.pos+4]) == "null" {
		s.pos += 4
		return true
	}
	return false
}

// quoteBytes shows raw bytes readably: valid UTF-8 runs as text, the rest as
// \xNN.
func quoteBytes(b []byte) string {
	if len(b) > 80 {
		b = b[:80]
	}
	return strconv.QuoteToASCII(string(b))
}

package chattemplate

import (
	"fmt"
	"regexp"
	"strings"
)

// jinjaSource prepares a template's source for github.com/ardanlabs/jinja so
// that it renders as Python's Jinja2 does in transformers' environment. The
// library already applies trim_blocks and lstrip_blocks (transformers turns
// both on); what it lacks is done here:
//
//   - Jinja2's lexer turns every "\r\n" and "\r" of the source into "\n"
//     (newline_sequence) before anything else;
//   - it then drops one trailing newline (keep_trailing_newline=False);
//   - Python's no-argument strip(), lstrip(), rstrip() and the trim filter
//     remove every character for which str.isspace() is true; the library
//     removes Go's Unicode spaces (no \x1c-\x1f) or, for lstrip()/rstrip(),
//     only space, tab, CR and LF. Inside tags, those calls are rewritten to
//     pass Python's whitespace set explicitly (as the variable pyWhitespaceVar,
//     which Render defines), since the library's one-argument forms strip
//     exactly the given characters.
//
// The "+" modifiers ({%+ and +%}), which switch lstrip_blocks / trim_blocks
// off for one tag, are not supported by the library: a template using them
// is refused rather than rendered differently.
func jinjaSource(src string) (string, error) {
	if loc := plusModifier.FindStringIndex(src); loc != nil {
		line := 1 + strings.Count(src[:loc[0]], "\n")
		return "", fmt.Errorf("chat template: line %d: the %q whitespace modifier is not supported", line, src[loc[0]:loc[1]])
	}
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	src = strings.TrimSuffix(src, "\n")
	return rewriteCode(src, func(code string) string {
		code = bareStrip.ReplaceAllString(code, ".${1}strip("+pyWhitespaceVar+")")
		return bareTrim.ReplaceAllString(code, "${1}trim("+pyWhitespaceVar+")${2}")
	})
}

// plusModifier finds {%+ and +%} (and the comment forms).
var plusModifier = regexp.MustCompile(`\{[%#]\+|\+[%#]\}`)

// pyWhitespace is the set of characters Python's str.isspace() accepts, and
// pyWhitespaceVar the template variable that carries it.
const (
	pyWhitespace    = "\t\n\v\f\r\x1c\x1d\x1e\x1f \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
	pyWhitespaceVar = "__warm_py_whitespace"
)

var (
	// bareStrip matches .strip() / .lstrip() / .rstrip() with no argument.
	bareStrip = regexp.MustCompile(`\.(l|r|)strip\(\s*\)`)
	// bareTrim matches the trim filter without arguments; the second group
	// is the character after it (the filter name must end there).
	bareTrim = regexp.MustCompile(`(\|\s*)trim(\s*[^\s(\w]|\s*$)`)
)

// rewriteCode applies fn to the code inside {{ }} and {% %} tags, outside
// string literals, and returns the source with text, comments and string
// literals unchanged.
func rewriteCode(src string, fn func(code string) string) (string, error) {
	var out strings.Builder
	out.Grow(len(src) + len(src)/8)
	for i := 0; i < len(src); {
		open := strings.Index(src[i:], "{")
		if open < 0 || i+open+1 >= len(src) {
			out.WriteString(src[i:])
			break
		}
		open += i
		kind := src[open+1]
		if kind != '{' && kind != '%' && kind != '#' {
			out.WriteString(src[i : open+1])
			i = open + 1
			continue
		}
		out.WriteString(src[i : open+2])
		closer := map[byte]string{'{': "}}", '%': "%}", '#': "#}"}[kind]
		j, code := open+2, open+2 // code: start of the pending code run
		for ; j < len(src); j++ {
			c := src[j]
			if kind != '#' && (c == '\'' || c == '"') {
				out.WriteString(fn(src[code:j]))
				k := j + 1
				for k < len(src) && src[k] != c {
					if src[k] == '\\' {
						k++
					}
					k++
				}
				k = min(k+1, len(src))
				out.WriteString(src[j:k])
				j, code = k-1, k
				continue
			}
			if strings.HasPrefix(src[j:], closer) {
				break
			}
		}
		if j >= len(src) {
			line := 1 + strings.Count(src[:open], "\n")
			return "", fmt.Errorf("chat template: line %d: %q is never closed", line, src[open:open+2])
		}
		if kind == '#' {
			out.WriteString(src[code:j])
		} else {
			out.WriteString(fn(src[code:j]))
		}
		out.WriteString(closer)
		i = j + 2
	}
	return out.String(), nil
}

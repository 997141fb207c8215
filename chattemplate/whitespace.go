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
//   - it then drops one trailing newline (keep_trailing_newline=False).
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
	return strings.TrimSuffix(src, "\n"), nil
}

// plusModifier finds {%+ and +%} (and the comment forms).
var plusModifier = regexp.MustCompile(`\{[%#]\+|\+[%#]\}`)

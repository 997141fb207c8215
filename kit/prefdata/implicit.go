package prefdata

import (
	"strings"
	"unicode/utf8"
)

// splitImplicit splits a pair whose prompt is implicit (TRL's
// {"chosen", "rejected"} rows, both texts starting with the same prompt)
// by TRL's extract_prompt rule: the prompt is the longest common prefix,
// less a space that ends it (the space goes back to both responses). Where
// one text is a prefix of the other (or both are equal) TRL's loop stops at
// the last character of the shorter one, so the prompt is that text less
// its last character; this keeps both responses non-empty and is kept
// here. The comparison is by character (code point), as in Python, never
// splitting a UTF-8 sequence. One deviation: where the texts differ at
// their first character, TRL reads chosen[-1] (Python's last character)
// for the space test and can move the whole text into the prompt; here
// the prompt is then empty.
func splitImplicit(chosen, rejected string) (prompt, c, r string) {
	idx, last := -1, 0
	for off := 0; off < len(chosen) && off < len(rejected); {
		_, n := utf8.DecodeRuneInString(chosen[off:])
		_, m := utf8.DecodeRuneInString(rejected[off:])
		if n != m || chosen[off:off+n] != rejected[off:off+m] {
			idx = off
			if off > 0 && chosen[off-1] == ' ' {
				idx = off - 1
			}
			break
		}
		last = off
		off += n
	}
	if idx < 0 {
		idx = last
	}
	return chosen[:idx], chosen[idx:], rejected[idx:]
}

// splitImplicitMessages is splitImplicit for conversational rows: the
// prompt is the longest run of equal leading messages (equal role and
// content), again stopping at the last message of the shorter list when
// one list is a prefix of the other. The prompt is non-nil, possibly empty.
func splitImplicitMessages(chosen, rejected []Message) (prompt, c, r []Message) {
	n := min(len(chosen), len(rejected))
	idx := n - 1
	for i := range n {
		if chosen[i] != rejected[i] {
			idx = i
			break
		}
	}
	idx = max(idx, 0)
	return append([]Message{}, chosen[:idx]...), chosen[idx:], rejected[idx:]
}

// PlainText renders messages as text for a reward model without a chat
// template, in the Anthropic HH-RLHF style: each turn is "\n\n" + the role
// with a capital first letter + ": " + the content, so
// PlainText(prompt)+PlainText(response) == PlainText(prompt+response) and
// a user/assistant exchange reads "\n\nUser: …\n\nAssistant: …".
func PlainText(msgs []Message) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("\n\n")
		r, n := utf8.DecodeRuneInString(m.Role)
		if n > 0 {
			b.WriteString(strings.ToUpper(string(r)))
			b.WriteString(m.Role[n:])
		}
		b.WriteString(": ")
		b.WriteString(m.Content)
	}
	return b.String()
}

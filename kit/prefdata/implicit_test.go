package prefdata

import (
	"reflect"
	"testing"
)

// The expectations follow TRL's extract_prompt (trl/data_utils.py), checked
// by running that rule in Python on the same inputs; the one deviation (a
// difference at the first character) is marked.
func TestSplitImplicit(t *testing.T) {
	for _, c := range []struct {
		name, chosen, rejected, prompt, c, r string
	}{
		{"space goes to the responses", "The sky is blue.", "The sky is green.", "The sky is", " blue.", " green."},
		{"no space", "abcX", "abcY", "abc", "X", "Y"},
		{"two spaces: only one moves", "x  y", "x  z", "x ", " y", " z"},
		{"differ at once", "A b", "B b", "", "A b", "B b"},
		// TRL: ("A", " ", "B"): it tests chosen[-1], Python's last character.
		{"differ at once, chosen ends in a space (deviation)", "A ", "B", "", "A ", "B"},
		{"one a prefix of the other", "abc", "abcd", "ab", "c", "cd"},
		{"equal", "abc", "abc", "ab", "c", "c"},
		{"single characters", "a", "b", "", "a", "b"},
		{"equal single characters", "a", "a", "", "a", "a"},
		{"by character, not byte (é vs è share a byte)", "café au lait", "cafè noir", "caf", "é au lait", "è noir"},
		{"space before a 4-byte character", "I like 🍎", "I like 🍐", "I like", " 🍎", " 🍐"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, ch, rj := splitImplicit(c.chosen, c.rejected)
			if p != c.prompt || ch != c.c || rj != c.r {
				t.Errorf("got (%q, %q, %q), want (%q, %q, %q)", p, ch, rj, c.prompt, c.c, c.r)
			}
			if p+ch != c.chosen || p+rj != c.rejected {
				t.Error("prompt + response does not give back the input")
			}
		})
	}
}

func TestSplitImplicitMessages(t *testing.T) {
	u := func(s string) Message { return Message{"user", s} }
	a := func(s string) Message { return Message{"assistant", s} }
	for _, c := range []struct {
		name             string
		chosen, rejected []Message
		p, c, r          []Message
	}{
		{"shared user turn", []Message{u("Hi"), a("Hello")}, []Message{u("Hi"), a("Bye")},
			[]Message{u("Hi")}, []Message{a("Hello")}, []Message{a("Bye")}},
		{"one a prefix of the other", []Message{u("Hi")}, []Message{u("Hi"), a("x")},
			[]Message{}, []Message{u("Hi")}, []Message{u("Hi"), a("x")}},
		{"first turns differ", []Message{u("Hi"), a("a")}, []Message{u("Yo"), a("a")},
			[]Message{}, []Message{u("Hi"), a("a")}, []Message{u("Yo"), a("a")}},
		{"same content, other role", []Message{u("x"), a("y")}, []Message{{"system", "x"}, a("y")},
			[]Message{}, []Message{u("x"), a("y")}, []Message{{"system", "x"}, a("y")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, ch, rj := splitImplicitMessages(c.chosen, c.rejected)
			if !reflect.DeepEqual(p, c.p) || !reflect.DeepEqual(ch, c.c) || !reflect.DeepEqual(rj, c.r) {
				t.Errorf("got %v | %v | %v, want %v | %v | %v", p, ch, rj, c.p, c.c, c.r)
			}
		})
	}
}

func TestPlainText(t *testing.T) {
	p := []Message{{"system", "Be brief."}, {"user", "Sky?"}}
	r := []Message{{"assistant", "Blue."}}
	if got, want := PlainText(p), "\n\nSystem: Be brief.\n\nUser: Sky?"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if PlainText(p)+PlainText(r) != PlainText(append(p, r...)) {
		t.Error("PlainText does not concatenate")
	}
	if got := PlainText([]Message{{"émile", ""}}); got != "\n\nÉmile: " {
		t.Errorf("got %q", got)
	}
}

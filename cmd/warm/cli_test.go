package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMisuse: each misuse from issue 15 (and the usual slips) prints one
// line naming the problem, then the hint, on stderr, nothing on stdout,
// and exits 2 (usage) or 1 (failure). None of these reaches a model.
func TestMisuse(t *testing.T) {
	for _, c := range []struct {
		args string
		code int
		want string // the first stderr line
	}{
		{"rl --out x --policy lm --rm a=A --rm b=B", 2, "warm rl: pick the reward with --reward NAME (have a, b, gold)"},
		{"rl --out x --policy lm --rm a=A --reward c", 2, `warm rl: --reward "c": no such reward (have a, gold)`},
		{"rl --policy lm --rm a=A", 2, "warm rl: --out is required"},
		{"rl --plot -o x", 2, "warm rl: --plot needs run directories"},
		{"bon", 2, "warm bon: --out is required"},
		{"bon -o x", 2, "warm bon: no reward models: give --members RM_RUN or --rm NAME=DIR"},
		{"bon -n x", 2, `warm bon: invalid value "x" for --n: parse error`},
		{"bon --bogus", 2, "warm bon: unknown flag --bogus"},
		{"eval", 2, "warm eval: no models: give MODEL_DIRs, --members RUN or --ladder RUN"},
		{"eval --out", 2, "warm eval: missing value for --out"},
		{"serve MODEL", 2, `warm serve: unexpected arguments ["MODEL"] (member directories go after --members)`},
		{"serve", 2, "warm serve: --model DIR is required"},
		{"duel a", 2, "warm duel: want two policy directories A B, got 1"},
		{"duel a b --judge human", 2, `warm duel: --judge "human": only gold is available`},
		{"score M data.jsonl", 2, `warm score: unexpected arguments "M" "data.jsonl": give the model with --model DIR and the rows with --data FILE`},
		{"score --model M", 2, "warm score: --data FILE is required (the rows to score)"},
		{"score --data d.jsonl", 2, "warm score: --model DIR is required"},
		{"score --model M --data d --format xml", 2, `warm score: --format "xml": want jsonl or csv`},
		{"score --model /nonexistent --data /nonexistent.jsonl", 1, "warm score: open /nonexistent.jsonl: no such file or directory"},
		{"merge", 2, "warm merge: -o/--out OUT is required"},
		{"merge -o x", 2, "warm merge: no models: give MODEL directories or --config FILE"},
		{"train extra", 2, "warm train: unexpected arguments [extra]"},
		{"train --preset huge", 2, `warm train: --preset: unknown preset "huge" (have full, quick, tiny)`},
		{"data --preset huge", 2, `warm data: unknown preset "huge" (have full, quick, tiny)`},
		{"pretrain --val-frac 2", 2, "warm pretrain: --val-frac 2 must be in (0, 1)"},
		{"repro --from nope", 2, `warm repro: --from "nope": no such stage (have pretrain, data, train, merge, eval, bon, rl, duel)`},
		{"frob", 2, `warm: unknown command "frob" (have bon, completion, data, duel, eval, merge, pretrain, repro, rl, score, serve, train)`},
	} {
		t.Run(c.args, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runTo(strings.Fields(c.args), &out, &errb)
			lines := strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
			if code != c.code || lines[0] != c.want || out.Len() != 0 {
				t.Errorf("warm %s: exit %d, stderr %q, stdout %q; want exit %d and %q", c.args, code, errb.String(), out.String(), c.code, c.want)
			}
			hint := len(lines) == 2 && strings.HasPrefix(lines[1], "run 'warm ")
			if (c.code == 2) != hint || len(lines) > 2 {
				t.Errorf("warm %s: stderr %q: want one line, plus the --help hint for usage errors", c.args, errb.String())
			}
		})
	}
}

// TestHelpExits: help goes to stdout and exits 0; bare warm prints the
// usage on stderr and exits 2.
func TestHelpExits(t *testing.T) {
	for _, c := range []struct {
		args           string
		code           int
		stdout, stderr string // substrings; "" must be empty
	}{
		{"", 2, "", "Usage: warm <command>"},
		{"--help", 0, "Usage: warm <command>", ""},
		{"-h", 0, "Usage: warm <command>", ""},
		{"help", 0, "Usage: warm <command>", ""},
		{"help merge", 0, "Usage: warm merge", ""},
		{"merge --help", 0, "Usage: warm merge", ""},
		{"score -h", 0, "Usage: warm score", ""},
		{"eval --policies --help", 0, "Usage: warm duel", ""},
		{"version", 0, "warm " + version, ""},
	} {
		t.Run(c.args, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runTo(strings.Fields(c.args), &out, &errb)
			ok := code == c.code && strings.Contains(out.String(), c.stdout) && strings.Contains(errb.String(), c.stderr) &&
				(c.stdout != "" || out.Len() == 0) && (c.stderr != "" || errb.Len() == 0)
			if !ok {
				t.Errorf("warm %s: exit %d, stdout %q, stderr %q", c.args, code, out.String(), errb.String())
			}
		})
	}
}

// verbFlags returns a verb's flag set, as its --help sees it.
func verbFlags(t *testing.T, verb string) *flag.FlagSet {
	t.Helper()
	var h *helpRequest
	if err := commands[verb].run([]string{"--help"}); !errors.As(err, &h) {
		t.Fatalf("warm %s --help: %v, want a help request", verb, err)
	}
	return h.fs
}

func helpText(t *testing.T, verb string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := runTo([]string{verb, "--help"}, &out, &errb); code != 0 || errb.Len() != 0 {
		t.Fatalf("warm %s --help: exit %d, stderr %q", verb, code, errb.String())
	}
	return out.String()
}

// TestHelpListsEveryFlag: `warm VERB --help | grep -- --FLAG` finds every
// flag (one-letter flags as -n), -o is shown beside --out, every verb has
// examples, and no placeholder default leaks ("(default -1)", a usage
// that states its default followed by another "(default …)").
func TestHelpListsEveryFlag(t *testing.T) {
	leak := regexp.MustCompile(`default.*\(default |\(default -1\)|-\w+ string|-\w+ value`)
	for _, verb := range commandNames() {
		t.Run(verb, func(t *testing.T) {
			help := helpText(t, verb)
			fs := verbFlags(t, verb)
			fs.VisitAll(func(f *flag.Flag) {
				if strings.HasPrefix(f.Usage, hiddenUsage) {
					return
				}
				name := "--" + f.Name
				if len(f.Name) == 1 {
					name = "-" + f.Name
				}
				if !regexp.MustCompile(`(?m)^  (-o, )?` + regexp.QuoteMeta(name) + `( |$)`).MatchString(help) {
					t.Errorf("warm %s --help does not list %s", verb, name)
				}
			})
			if fs.Lookup("out") != nil && !strings.Contains(help, "  -o, --out ") {
				t.Errorf("warm %s --help: no -o, --out line", verb)
			}
			if !strings.Contains(help, "\nExamples:\n  warm ") && !strings.Contains(help, "\nExamples:\n  WARM_") {
				t.Errorf("warm %s --help has no examples", verb)
			}
			for _, l := range strings.Split(help, "\n") {
				if leak.MatchString(l) {
					t.Errorf("warm %s --help: %q", verb, l)
				}
			}
		})
	}
}

// TestHelpExamplesParse: every example's flags exist and its values parse
// (the example is parsed, not run).
func TestHelpExamplesParse(t *testing.T) {
	for verb, exs := range examples {
		if commands[verb] == nil {
			t.Errorf("examples for unknown verb %q", verb)
			continue
		}
		for _, ex := range exs {
			v, args, ok := commandLine(ex)
			if !ok || (v != verb && !(verb == "eval" && v == "duel")) {
				t.Errorf("%s example %q: want warm %s ...", verb, ex, verb)
				continue
			}
			if _, err := parseFlags(verbFlags(t, v), args); err != nil {
				t.Errorf("%s example %q: %v", verb, ex, err)
			}
		}
	}
}

// commandLine splits a shell line "[VAR=v] warm VERB ARGS [< file] [# comment]"
// into the verb and its arguments; ok is false for other lines. warm eval
// --policies is warm duel.
func commandLine(line string) (verb string, args []string, ok bool) {
	words := strings.Fields(strings.SplitN(line, " #", 2)[0])
	for len(words) > 0 && strings.Contains(words[0], "=") {
		words = words[1:]
	}
	if len(words) < 2 || (words[0] != "warm" && words[0] != "bin/warm") || commands[words[1]] == nil {
		return "", nil, false
	}
	verb = words[1]
	for i := 2; i < len(words); i++ {
		if words[i] == "<" || words[i] == ">" { // a shell redirection
			i++
			continue
		}
		args = append(args, words[i])
	}
	if verb == "eval" && len(args) > 0 && args[0] == "--policies" {
		verb, args = "duel", args[1:]
	}
	return verb, args, true
}

// TestRenamedFlagsStillParse: the old names of renamed flags set the new
// flag's value.
func TestRenamedFlagsStillParse(t *testing.T) {
	n := 0
	for _, verb := range commandNames() {
		fs := verbFlags(t, verb)
		for _, r := range renamed(fs) {
			n++
			old, name := fs.Lookup(r[0]), fs.Lookup(r[1])
			if old == nil || name == nil || old.Value != name.Value {
				t.Errorf("warm %s: --%s is not an alias of --%s", verb, r[0], r[1])
			}
		}
	}
	if n == 0 {
		t.Fatal("no renamed flags found")
	}
}

// TestBashCompletion: the script completes verbs and a verb's flags in
// bash (skipped where bash is missing).
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	var script bytes.Buffer
	if err := runCompletion([]string{"bash"}, &script); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "warm.bash")
	if err := os.WriteFile(path, script.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ words, want string }{
		{"warm me", "merge"},
		{"warm merge --dt", "--dtype"},
		{"warm score --with", "--with-input"},
		{"warm rl --kl", "--kl-coef"},
		{"warm train --num-m", "--num-members"},
	} {
		cmd := exec.Command(bash, "-c", `source "$1"; COMP_WORDS=($2); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _warm; echo "${COMPREPLY[*]}"`, "bash", path, c.words)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != c.want {
			t.Errorf("%q: completions %q (%v), want %q", c.words, out, err, c.want)
		}
	}
	if err := runCompletion([]string{"fish"}, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("warm completion fish: %v, want a usage error", err)
	}
}

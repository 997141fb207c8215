package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/cli.md from --help")

const cliDocPath = "../../docs/cli.md"

// cliDocHead is the hand-written top of docs/cli.md; the rest is generated.
const cliDocHead = `# warm: command-line reference

Generated from ` + "`warm VERB --help`" + ` by ` + "`go generate ./cmd/warm`" + ` (it runs
` + "`go test ./cmd/warm -run TestCLIDoc -update`" + `); the test fails when this file is stale.

Conventions, the same in every verb:

- Flags are written ` + "`--name VALUE`" + ` (` + "`-name`" + ` and ` + "`--name=VALUE`" + ` work too) and may come
  before or after the positional arguments; ` + "`--`" + ` ends the flags.
- ` + "`-o`" + ` is ` + "`--out`" + ` wherever a verb writes an output.
- A default of "preset" is taken from the size preset named by ` + "`--preset`" + ` (tiny, quick, full:
  preset/preset.go).
- One name per concept: ` + "`--corpus DIR`" + ` the text folder scripts/setup fills (pretrain, data, repro);
  ` + "`--data DIR`" + ` a ` + "`warm data`" + ` output with SPLIT.jsonl files (train, eval, bon, rl, duel), for score
  the row file itself; ` + "`--members DIR`" + ` a ` + "`warm train`" + ` run (eval, bon, rl; serve's ` + "`--members`" + ` takes
  the member directories themselves); ` + "`--num-*`" + ` counts; ` + "`--ckpt-every`" + ` checkpoint interval;
  ` + "`--prompts FILE`" + ` prompt rows; ` + "`--policy DIR`" + ` the sampling policy.
- Repeatable flags say so; ` + "`--rm NAME=DIR`" + ` may be given once per reward.
- Errors are one line on stderr, ` + "`warm VERB: problem`" + `. Exit status: 0 done (and ` + "`--help`" + `),
  1 the run failed, 2 the command line is wrong (then a hint to run ` + "`warm VERB --help`" + `
  follows). Bare ` + "`warm`" + ` prints the command list on stderr and exits 2.
- Row files (` + "`--data`" + ` of score, ` + "`--train/--val/--ood`" + ` of eval and train, ` + "`--prompts`" + `)
  are JSONL or Parquet, told apart by content, in TRL's layouts (explicit or implicit
  prompt, optional ` + "`margin`" + `); docs/data.md has the rules and messages.
- Conversational rows (chat messages) are scored and evaluated as plain text
  (` + "`\"\\n\\nUser: …\\n\\nAssistant: …\"`" + `, prefdata.PlainText), not through the model's chat
  template; ` + "`warm score`" + ` warns when the model has one. Chat-template scoring is not wired yet.
`

// cliDoc renders docs/cli.md: the head, the renamed flags, then each
// verb's --help.
func cliDoc(t *testing.T) string {
	var b strings.Builder
	b.WriteString(cliDocHead)
	b.WriteString("\n## Renamed flags\n\nThe old names still parse (hidden from --help):\n\n| verb | old | new |\n| --- | --- | --- |\n")
	b.WriteString("| merge | `-o` only | `-o, --out` |\n")
	for _, verb := range commandNames() {
		for _, r := range renamed(verbFlags(t, verb)) {
			fmt.Fprintf(&b, "| %s | `%s` | `%s` |\n", verb, dashed(r[0]), dashed(r[1]))
		}
	}
	b.WriteString("\n## Verbs\n\n| verb | what it does |\n| --- | --- |\n")
	for _, verb := range commandNames() {
		fmt.Fprintf(&b, "| [`warm %s`](#warm-%s) | %s |\n", verb, verb, commands[verb].summary)
	}
	for _, verb := range commandNames() {
		fmt.Fprintf(&b, "\n## warm %s\n\n%s.\n\n```text\n%s```\n", verb, commands[verb].summary, helpText(t, verb))
	}
	return b.String()
}

func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// TestCLIDoc: docs/cli.md is what --help says (go generate ./cmd/warm
// rewrites it), and lists every flag of every verb in that verb's section.
func TestCLIDoc(t *testing.T) {
	want := cliDoc(t)
	if *update {
		if err := os.WriteFile(cliDocPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(cliDocPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("docs/cli.md is stale: run go generate ./cmd/warm")
	}
	for _, verb := range commandNames() {
		sec := section(string(got), "## warm "+verb)
		verbFlags(t, verb).VisitAll(func(f *flag.Flag) {
			if !strings.HasPrefix(f.Usage, hiddenUsage) && !strings.Contains(sec, dashed(f.Name)+" ") && !strings.Contains(sec, dashed(f.Name)+"\n") {
				t.Errorf("docs/cli.md, warm %s: %s missing", verb, dashed(f.Name))
			}
		})
	}
}

// section is the text from the heading to the next heading of its level.
func section(doc, heading string) string {
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		return ""
	}
	rest := doc[i+len(heading)+2:]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// TestReadmeVerbs: the README's verb table names every verb, and what it
// shows as a warm command line uses flags the verb has.
func TestReadmeVerbs(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range commandNames() {
		if !regexp.MustCompile("(?m)^\\| `warm " + verb + "[ `]").Match(readme) {
			t.Errorf("README.md: no row for warm %s in the verb table", verb)
		}
	}
	// Every `warm VERB ...` line in the README's code blocks parses.
	inCode := false
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
			continue
		}
		verb, args, ok := commandLine(line)
		if !inCode || !ok {
			continue
		}
		if _, err := parseFlags(verbFlags(t, verb), args); err != nil {
			t.Errorf("README.md: %q: %v", line, err)
		}
	}
}

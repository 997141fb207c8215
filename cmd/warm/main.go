// Command warm is the WARM toolkit: weight-averaged reward models, from
// pretraining a small GPT-2 to merging, evaluating, best-of-N, RL and serving.
//
// Each verb lives in its own file (merge.go, score.go, ...) and registers a
// command in the table below. help.go renders every verb's --help from its
// flag set; examples.go holds the examples. docs/cli.md is generated from
// the same help text:
//
//go:generate go test -run ^TestCLIDoc$ -update .
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
)

// version is stamped into model cards and run summaries.
const version = "0.1.0"

// command is one verb of the CLI.
type command struct {
	name    string
	summary string
	run     func(args []string) error
}

// commands is filled by init functions in the verb files.
var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// errUsage marks a usage error: the command line is wrong, not the run.
// Such errors exit 2 and point at the verb's --help.
var errUsage = errors.New("usage")

func main() {
	os.Exit(runMain(os.Args[1:]))
}

func runMain(args []string) int { return runTo(args, os.Stdout, os.Stderr) }

// runTo runs the command line, printing help to stdout and every error,
// on one line, to stderr. Exit codes: 0 done (help included), 1 the run
// failed, 2 the command line is wrong.
func runTo(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "help":
		if len(args) == 1 {
			usage(stdout)
			return 0
		}
		return runTo([]string{args[1], "--help"}, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "warm", version)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "warm: unknown command %q (have %s)\nrun 'warm --help' for the commands\n", args[0], strings.Join(commandNames(), ", "))
		return 2
	}
	err := c.run(args[1:])
	var help *helpRequest
	switch {
	case err == nil:
		return 0
	case errors.As(err, &help):
		// The flag set's own verb: warm eval --policies is warm duel.
		writeHelp(stdout, strings.TrimPrefix(help.fs.Name(), "warm "), help.fs)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "warm %s: %s\nrun 'warm %s --help' for its flags and examples\n", c.name, usageMessage(err), c.name)
		return 2
	}
	fmt.Fprintf(stderr, "warm %s: %s\n", c.name, oneLine(err.Error()))
	return 1
}

// usageMessage is a usage error's text without the "usage: " marker that
// fmt.Errorf("%w: ...", errUsage) puts in front.
func usageMessage(err error) string {
	return oneLine(strings.Replace(err.Error(), errUsage.Error()+": ", "", 1))
}

// oneLine keeps an error on one line, so scripts can grep it.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "warm %s: weight-averaged reward models (WARM, Ramé et al. 2024)\n\nUsage: warm <command> [flags]\n\nCommands:\n", version)
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nRun 'warm <command> --help' (or 'warm help <command>') for a command's flags and examples.\n")
}

// newFlagSet returns the verb's flag set. synopsis is what follows "warm
// NAME" on the usage line, optionally followed by a blank line and a
// description; help.go renders it with the flags and the examples.
func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("warm "+name, flag.ContinueOnError)
	// The flag package's own messages and usage are replaced by
	// parseFlags' one-line errors and writeHelp.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	synopsesMu.Lock()
	synopses[fs] = synopsis
	synopsesMu.Unlock()
	return fs
}

// synopses holds each flag set's synopsis for writeHelp.
var (
	synopsesMu sync.Mutex
	synopses   = map[*flag.FlagSet]string{}
)

// helpRequest is returned by parseFlags for -h/--help: runTo prints the
// verb's help to stdout and exits 0.
type helpRequest struct{ fs *flag.FlagSet }

func (h *helpRequest) Error() string { return "help requested" }
func (h *helpRequest) Unwrap() error { return flag.ErrHelp }

// parseFlags parses args, allowing flags after positional arguments
// (warm merge -o out a b --method linear). It adds -o as a short form of
// --out where the verb has --out, and turns the flag package's errors into
// usage errors that name the flag as --name.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	if out := fs.Lookup("out"); out != nil && fs.Lookup("o") == nil {
		fs.Var(out.Value, "o", hiddenUsage+"out")
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequest{fs}
			}
			return nil, fmt.Errorf("%w: %s", errUsage, flagError(err))
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagError rewrites the flag package's messages ("flag provided but not
// defined: -x", "invalid value "v" for flag -n: ...") with --name.
func flagError(err error) string {
	s := err.Error()
	for _, r := range []struct{ prefix, repl string }{
		{"flag provided but not defined: -", "unknown flag --"},
		{"flag needs an argument: -", "missing value for --"},
	} {
		if name, ok := strings.CutPrefix(s, r.prefix); ok {
			return r.repl + strings.TrimLeft(name, "-")
		}
	}
	for _, marker := range []string{" for flag -", " for -"} {
		if i := strings.Index(s, marker); i >= 0 {
			rest := strings.TrimLeft(s[i+len(marker):], "-")
			return s[:i] + " for --" + rest
		}
	}
	return s
}

// alias declares old as a hidden second name of the flag name: a renamed
// flag keeps working without showing in --help (docs/cli.md lists the
// renames).
func alias(fs *flag.FlagSet, old, name string) {
	f := fs.Lookup(name)
	if f == nil {
		panic("alias of undeclared flag --" + name)
	}
	fs.Var(f.Value, old, hiddenUsage+name)
}

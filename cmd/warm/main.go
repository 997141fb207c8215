// Command warm is the WARM toolkit: weight-averaged reward models, from
// pretraining a small GPT-2 to merging, evaluating, best-of-N, RL and serving.
//
// Each verb lives in its own file (merge.go, score.go, ...) and registers a
// command in the table below.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
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

// errUsage marks an error already explained by a usage message.
var errUsage = errors.New("usage")

func main() {
	os.Exit(runMain(os.Args[1:]))
}

func runMain(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(os.Stdout)
		return 0
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Println("warm", version)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "warm: unknown command %q\n\n", args[0])
		usage(os.Stderr)
		return 2
	}
	if err := c.run(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if errors.Is(err, errUsage) {
			return 2
		}
		fmt.Fprintf(os.Stderr, "warm %s: %v\n", c.name, err)
		return 1
	}
	return 0
}

func usage(w *os.File) {
	fmt.Fprintf(w, "warm %s: weight-averaged reward models (WARM, Ramé et al. 2024)\n\nUsage: warm <command> [flags]\n\nCommands:\n", version)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nRun 'warm <command> --help' for a command's flags.\n")
}

// newFlagSet returns a FlagSet whose -h/--help prints the verb's synopsis
// and flags.
func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("warm "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: warm %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments
// (warm merge -o out a b --method linear).
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
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

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func init() {
	register(&command{name: "completion", summary: "print a bash completion script: source <(warm completion bash)", run: func(args []string) error {
		return runCompletion(args, os.Stdout)
	}})
}

func runCompletion(args []string, stdout io.Writer) error {
	fs := newFlagSet("completion", "bash\n\nPrints a bash script that completes the verbs and each verb's flags (files otherwise).\nLoad it in this shell with: source <(warm completion bash)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "bash" {
		return fmt.Errorf("%w: want 'warm completion bash' (bash is the only shell so far)", errUsage)
	}
	return writeBashCompletion(stdout)
}

// writeBashCompletion writes the script, with each verb's visible flags
// taken from the flag set its --help shows.
func writeBashCompletion(w io.Writer) error {
	var cases strings.Builder
	for _, verb := range commandNames() {
		var h *helpRequest
		if err := commands[verb].run([]string{"--help"}); !errors.As(err, &h) {
			return fmt.Errorf("%s: no flag set for completion: %v", verb, err)
		}
		var names []string
		h.fs.VisitAll(func(f *flag.Flag) {
			if !strings.HasPrefix(f.Usage, hiddenUsage) {
				names = append(names, "--"+f.Name)
			}
		})
		if h.fs.Lookup("out") != nil {
			names = append(names, "-o")
		}
		fmt.Fprintf(&cases, "\t%s) opts=%q ;;\n", verb, strings.Join(append(names, "--help"), " "))
	}
	_, err := fmt.Fprintf(w, `# bash completion for warm; load it with: source <(warm completion bash)
_warm() {
	local cur=${COMP_WORDS[COMP_CWORD]} opts
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W %q -- "$cur"))
		return
	fi
	case ${COMP_WORDS[1]} in
%s	*) return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	fi
}
complete -o default -F _warm warm
`, strings.Join(append(commandNames(), "help", "version"), " "), cases.String())
	return err
}

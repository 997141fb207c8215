package main

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
)

// hiddenUsage starts the usage of a flag that --help does not list: the
// short -o (shown beside --out) and the old names of renamed flags. The
// rest of the usage is the name of the flag it stands for.
const hiddenUsage = "\x00alias of --"

// placeholders name a flag's value in --help by the flag's name, for
// string flags whose usage does not name it with backquotes (`FILE`).
var placeholders = map[string]string{
	"out": "DIR", "model": "DIR", "policy": "DIR", "data": "DIR", "corpus": "DIR", "pretrain": "DIR",
	"init": "DIR", "members": "DIR", "ladder": "DIR", "sft": "DIR", "base": "DIR",
	"prompts": "FILE", "train": "FILE", "val": "FILE", "ood": "FILE", "config": "FILE", "sample-prompts": "FILE",
	"preset": "NAME", "reward": "NAME", "split": "NAME", "judge": "NAME", "method": "NAME", "from": "STAGE",
	"rm": "NAME=DIR", "m": "LIST", "weights": "LIST", "densities": "LIST", "lrs": "LIST", "dropouts": "LIST",
	"sources": "LIST", "baklava": "LIST", "names": "LIST", "diversity": "LIST", "vs": "A:B,...",
	"addr": "HOST:PORT", "token": "TOKEN", "dtype": "TYPE", "accum": "TYPE", "truncate": "MODE",
	"format": "FORMAT", "schedule": "NAME", "baseline": "NAME", "rank-by": "SPLIT", "dare-then": "METHOD",
	"shard-size": "SIZE", "hash-cache": "FILE", "density": "X", "lambda": "X", "t": "X", "seed": "N",
}

// helpFlag is one line of a verb's flag list.
type helpFlag struct {
	names string // "-o, --out DIR", "--rm NAME=DIR", "--soup"
	usage string
}

// helpFlags lists fs's visible flags, sorted by name, as --help shows
// them: "--name VALUE" (or "-n N" for one-letter names), the real default
// unless the usage already says what the default is ("default: preset"),
// -o beside --out.
func helpFlags(fs *flag.FlagSet) []helpFlag {
	var out []helpFlag
	fs.VisitAll(func(f *flag.Flag) {
		if strings.HasPrefix(f.Usage, hiddenUsage) {
			return
		}
		name, usage := flag.UnquoteUsage(f)
		names := "--" + f.Name
		if len(f.Name) == 1 {
			names = "-" + f.Name
		}
		if o := fs.Lookup("o"); f.Name == "out" && o != nil && o.Usage == hiddenUsage+"out" {
			names = "-o, " + names
		}
		if ph := placeholder(f.Name, name); ph != "" {
			names += " " + ph
		}
		if d := f.DefValue; d != "" && d != "false" && !strings.Contains(usage, "default") {
			if strings.ContainsAny(d, " \t") {
				d = fmt.Sprintf("%q", d)
			}
			usage += " (default " + d + ")"
		}
		out = append(out, helpFlag{names, usage})
	})
	return out
}

// placeholder is the value's name shown after the flag: the usage's
// backquoted word when it has one, else by flag name or by type; "" for a
// boolean flag.
func placeholder(flagName, unquoted string) string {
	if unquoted == "" {
		return ""
	}
	if strings.IndexFunc(unquoted, unicode.IsUpper) >= 0 {
		return unquoted
	}
	switch unquoted {
	case "int", "uint":
		return "N"
	case "float":
		return "X"
	case "duration":
		return "DURATION"
	}
	if p, ok := placeholders[flagName]; ok {
		return p
	}
	return "VALUE"
}

// writeHelp writes a verb's --help: usage, description, flags, examples.
func writeHelp(w io.Writer, verb string, fs *flag.FlagSet) {
	synopsesMu.Lock()
	syn := synopses[fs]
	synopsesMu.Unlock()
	fmt.Fprintf(w, "Usage: warm %s %s\n", verb, strings.TrimRight(syn, "\n"))
	if flags := helpFlags(fs); len(flags) > 0 {
		fmt.Fprintf(w, "\nFlags:\n")
		for _, f := range flags {
			writeFlag(w, f)
		}
	}
	if ex := examples[verb]; len(ex) > 0 {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, e := range ex {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}

const (
	helpIndent = 30  // column where the usage text starts
	helpWidth  = 100 // wrap the usage text here
)

// writeFlag writes "  --name VALUE   usage", wrapping the usage; a long
// name puts the usage on the next line.
func writeFlag(w io.Writer, f helpFlag) {
	left := "  " + f.names
	pad := strings.Repeat(" ", helpIndent)
	lines := wrap(f.usage, helpWidth-helpIndent)
	if len(left) > helpIndent-2 {
		fmt.Fprintln(w, left)
	} else if len(lines) > 0 {
		fmt.Fprintf(w, "%-*s%s\n", helpIndent, left, lines[0])
		lines = lines[1:]
	}
	for _, l := range lines {
		fmt.Fprintln(w, pad+l)
	}
}

// wrap breaks s into lines of at most width runes at spaces (a longer
// word stays whole).
func wrap(s string, width int) []string {
	var lines []string
	var cur []string
	n := 0
	for _, word := range strings.Fields(s) {
		l := len([]rune(word))
		if n > 0 && n+1+l > width {
			lines = append(lines, strings.Join(cur, " "))
			cur, n = nil, 0
		}
		if n > 0 {
			n++
		}
		cur, n = append(cur, word), n+l
	}
	if len(cur) > 0 {
		lines = append(lines, strings.Join(cur, " "))
	}
	return lines
}

// renamed lists fs's hidden old names as (old, new) pairs, sorted.
func renamed(fs *flag.FlagSet) [][2]string {
	var out [][2]string
	fs.VisitAll(func(f *flag.Flag) {
		if to, ok := strings.CutPrefix(f.Usage, hiddenUsage); ok && f.Name != to && !(f.Name == "o" && to == "out") {
			out = append(out, [2]string{f.Name, to})
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

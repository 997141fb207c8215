package main

import (
	"bytes"
	"io"
	"os"
	"sync"
)

// verbIO is where a verb's report (stdout) and progress (stderr) go: the
// process's own streams when the verb runs from the command line, a label
// setting's prefixed streams when warm repro runs the settings side by
// side. Its fields are unexported: the options JSON that repro hashes and
// records in stages.json does not see them.
type verbIO struct{ stdout, stderr io.Writer }

// setIO points the verb at stdout and stderr; embedded in a verb's args,
// it makes *args a repro step (step).
func (v *verbIO) setIO(stdout, stderr io.Writer) { v.stdout, v.stderr = stdout, stderr }

func (v verbIO) out() io.Writer {
	if v.stdout != nil {
		return v.stdout
	}
	return os.Stdout
}

func (v verbIO) progress() io.Writer {
	if v.stderr != nil {
		return v.stderr
	}
	return os.Stderr
}

// prefixWriter writes whole lines to w, each after prefix, under mu (one
// mutex for every writer sharing w, so lines of two settings never mix).
// A partial line waits for its end ('\n' or the '\r' of a redrawn progress
// line); Flush writes what is left.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix []byte
	buf    []byte
}

func newPrefixWriter(mu *sync.Mutex, w io.Writer, prefix string) *prefixWriter {
	return &prefixWriter{mu: mu, w: w, prefix: []byte(prefix)}
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexAny(p.buf, "\n\r")
		if i < 0 {
			return len(b), nil
		}
		line := append(append(append([]byte(nil), p.prefix...), p.buf[:i]...), '\n')
		p.buf = p.buf[i+1:]
		if _, err := p.w.Write(line); err != nil {
			return len(b), err
		}
	}
}

// Flush writes a last unterminated line.
func (p *prefixWriter) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		p.w.Write(append(append(append([]byte(nil), p.prefix...), p.buf...), '\n'))
		p.buf = nil
	}
}

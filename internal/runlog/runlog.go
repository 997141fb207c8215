// Package runlog is the bookkeeping every long-running verb shares: a
// metrics.jsonl stream, atomically written JSON summaries, and a progress
// line on stderr with rate and ETA.
package runlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/warm-rm/warm/internal/atomicfile"
)

// WriteJSON and WriteFile are atomicfile's, kept under these names for
// the report layer's callers. Deprecated: call atomicfile directly.
var (
	WriteJSON = atomicfile.WriteJSON
	WriteFile = atomicfile.WriteFile
)

// ReadJSON reads a JSON file into v, naming the file in errors.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Metrics appends one JSON object per line to a metrics.jsonl file.
// A resumed run appends to the lines already there.
type Metrics struct {
	mu sync.Mutex
	f  *os.File
}

// OpenMetrics opens (creating or appending to) path.
func OpenMetrics(path string) (*Metrics, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return &Metrics{f: f}, nil
}

// Log writes one record.
func (m *Metrics) Log(rec map[string]any) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err = m.f.Write(append(b, '\n'))
	return err
}

// Close closes the file.
func (m *Metrics) Close() error { return m.f.Close() }

// TrimMetrics drops the lines of a metrics.jsonl logged after step (what a
// killed run wrote after its last resume checkpoint) and a torn last line,
// so that a resumed run does not log those steps twice. A missing file is
// fine.
func TrimMetrics(path string, step int) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var rec struct {
			Step int `json:"step"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec.Step > step {
			continue
		}
		keep.Write(sc.Bytes())
		keep.WriteByte('\n')
	}
	if keep.Len() == len(b) {
		return nil
	}
	return WriteFile(path, keep.Bytes())
}

// Progress prints "name: done/total (pct) rate/s ETA … extra" to w at most
// once per interval, and always on Done.
type Progress struct {
	W        io.Writer
	Name     string
	Unit     string // what is counted: "steps", "seqs", ...
	Total    int
	Interval time.Duration

	start, last time.Time
	startDone   int
}

// NewProgress starts a progress line for total units of work, the first
// `already` of which were done before (a resumed run): the rate counts only
// this run's work.
func NewProgress(w io.Writer, name, unit string, total, already int) *Progress {
	now := time.Now()
	return &Progress{W: w, Name: name, Unit: unit, Total: total, Interval: 2 * time.Second, start: now, startDone: already}
}

// Update reports that done units are finished.
func (p *Progress) Update(done int, extra string) {
	now := time.Now()
	if now.Sub(p.last) < p.Interval && done < p.Total {
		return
	}
	p.last = now
	p.print(now, done, extra)
}

// Done prints the final line.
func (p *Progress) Done(extra string) { p.print(time.Now(), p.Total, extra) }

func (p *Progress) print(now time.Time, done int, extra string) {
	if p.W == nil {
		return
	}
	el := now.Sub(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(done-p.startDone) / el
	}
	eta := "?"
	if rate > 0 && p.Total >= done {
		eta = (time.Duration(float64(p.Total-done)/rate) * time.Second).Round(time.Second).String()
	}
	pct := 0.0
	if p.Total > 0 {
		pct = 100 * float64(done) / float64(p.Total)
	}
	fmt.Fprintf(p.W, "%s: %d/%d %s (%.0f%%) %.1f %s/s ETA %s %s\n", p.Name, done, p.Total, p.Unit, pct, rate, p.Unit, eta, extra)
}

package merge

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progressDelay: merges shorter than this print nothing.
const progressDelay = time.Second

// progress prints bytes done, rate and ETA at most once a second.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	now   bool
	total int64
	done  int64
	// tensors done and in all
	nt, tt int
	start  time.Time
	last   time.Time
	shown  bool
}

func newProgress(w io.Writer, now bool, total int64, tensors int) *progress {
	t := time.Now()
	return &progress{w: w, now: now, total: total, tt: tensors, start: t, last: t}
}

// tensorDone counts a finished tensor.
func (p *progress) tensorDone() {
	p.mu.Lock()
	p.nt++
	p.mu.Unlock()
}

func (p *progress) add(n int64) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	t := time.Now()
	if t.Sub(p.last) < time.Second && !(p.now && !p.shown) {
		return
	}
	if !p.now && t.Sub(p.start) < progressDelay {
		return
	}
	p.last, p.shown = t, true
	p.print(t)
}

func (p *progress) print(t time.Time) {
	el := t.Sub(p.start).Seconds()
	rate := float64(p.done) / max(el, 1e-9)
	eta := "?"
	if rate > 0 {
		eta = fmt.Sprintf("%.0fs", float64(p.total-p.done)/rate)
	}
	fmt.Fprintf(p.w, "merge: %d/%d tensors  %5.1f%%  %s of %s  %s/s  ETA %s\n", p.nt, p.tt, 100*float64(p.done)/float64(max(p.total, 1)), human(p.done), human(p.total), human(int64(rate)), eta)
}

// finish prints a final line when progress was shown.
func (p *progress) finish() {
	if p.w == nil || !p.shown {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done, p.nt = p.total, p.tt
	p.print(time.Now())
}

func human(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

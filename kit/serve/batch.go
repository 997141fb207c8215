package serve

import (
	"context"
	"errors"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// job is one request's worth of tokenized items waiting for a batch. The
// backend is the one that tokenized the items: a reload between tokenizing
// and scoring must not pair old token ids with a new model.
type job struct {
	ctx  context.Context
	b    *Backend
	seqs [][]int
	done chan jobResult // buffered 1: the batcher never blocks on it
	// release, if set, is called once the job is answered: the request's
	// hold on b (the server closes a replaced backend when the last hold
	// goes). The batcher owns the job, and this call, once submit succeeds.
	release func()
}

// answer delivers the job's result and lets go of its backend.
func (j *job) answer(r jobResult) {
	j.done <- r
	if j.release != nil {
		j.release()
	}
}

type jobResult struct {
	rewards, std []float32
	err          error
}

var (
	errQueueFull   = errors.New("server busy: request queue is full, retry later")
	errStopped     = errors.New("server is shutting down")
	errModelFailed = errors.New("the model failed on this batch (see server log)")
)

// batcher merges jobs from concurrent requests into forward batches. Each of
// its workers takes the first waiting job, keeps taking jobs until it has
// maxBatch items or maxTokens tokens, or maxWait has passed, then scores
// them. While a worker
// computes, new jobs pile up in the queue and form the next batch, so under
// load batches fill without waiting and at low load a request waits at most
// maxWait.
type batcher struct {
	queue     chan *job
	maxBatch  int
	maxTokens int
	maxWait   time.Duration
	m         *metrics
	logf      func(format string, args ...any)

	// pending counts the tokens of jobs accepted but not yet answered; a
	// job that would take it past maxPending is refused (429) unless
	// nothing is pending. It bounds the memory held by tokenized requests
	// (8 bytes a token) whatever the queue length and request sizes.
	pending    atomic.Int64
	maxPending int64

	mu      sync.RWMutex // guards stopped against submit racing stop
	stopped bool
	quit    chan struct{}
	wg      sync.WaitGroup
}

func newBatcher(queueSize, maxBatch, maxTokens, workers int, maxWait time.Duration, maxPending int64, m *metrics, logf func(string, ...any)) *batcher {
	bt := &batcher{
		maxPending: maxPending,
		queue:      make(chan *job, queueSize),
		maxBatch:   maxBatch,
		maxTokens:  maxTokens,
		maxWait:    maxWait,
		m:          m,
		logf:       logf,
		quit:       make(chan struct{}),
	}
	for range workers {
		bt.wg.Add(1)
		go bt.work()
	}
	return bt
}

// submit queues j without blocking: a full queue is the caller's 429.
func (bt *batcher) submit(j *job) error {
	bt.mu.RLock()
	defer bt.mu.RUnlock()
	if bt.stopped {
		return errStopped
	}
	n := int64(j.size().tokens)
	if p := bt.pending.Add(n); p > bt.maxPending && p != n {
		bt.pending.Add(-n)
		bt.m.rejected.Add(1)
		return errQueueFull
	}
	select {
	case bt.queue <- j:
		return nil
	default:
		bt.pending.Add(-n)
		bt.m.rejected.Add(1)
		return errQueueFull
	}
}

// stop refuses new jobs, lets the workers finish every queued job, and waits
// for them.
func (bt *batcher) stop() {
	bt.mu.Lock()
	if !bt.stopped {
		bt.stopped = true
		close(bt.quit)
	}
	bt.mu.Unlock()
	bt.wg.Wait()
}

func (bt *batcher) work() {
	defer bt.wg.Done()
	for {
		var first *job
		select {
		case first = <-bt.queue:
		case <-bt.quit:
			// Drain: submit refuses new jobs once quit is closed, so the
			// queue only shrinks from here.
			select {
			case first = <-bt.queue:
			default:
				return
			}
		}
		batch := []*job{first}
		sz := first.size()
		if !bt.full(sz) {
			batch = bt.collect(batch, sz)
		}
		bt.run(batch)
	}
}

// size is the work in a batch: items and tokens.
type size struct{ items, tokens int }

func (j *job) size() size {
	sz := size{items: len(j.seqs)}
	for _, s := range j.seqs {
		sz.tokens += len(s)
	}
	return sz
}

func (bt *batcher) full(sz size) bool {
	return sz.items >= bt.maxBatch || sz.tokens >= bt.maxTokens
}

// collect adds queued jobs to batch until it holds maxBatch items or
// maxTokens tokens, or maxWait has passed. A job is never split across
// batches here; runGroup chunks big groups itself.
func (bt *batcher) collect(batch []*job, sz size) []*job {
	add := func(j *job) {
		batch = append(batch, j)
		js := j.size()
		sz.items += js.items
		sz.tokens += js.tokens
	}
	// First take whatever is already waiting, without a timer.
	for !bt.full(sz) {
		select {
		case j := <-bt.queue:
			add(j)
			continue
		default:
		}
		break
	}
	if bt.full(sz) || bt.maxWait <= 0 {
		return batch
	}
	t := time.NewTimer(bt.maxWait)
	defer t.Stop()
	for !bt.full(sz) {
		select {
		case j := <-bt.queue:
			add(j)
		case <-t.C:
			return batch
		case <-bt.quit:
			return batch
		}
	}
	return batch
}

// item locates one sequence of a job in a flattened batch.
type item struct {
	job, idx int
	seq      []int
}

// run scores a batch of jobs and answers each one.
func (bt *batcher) run(batch []*job) {
	var toks int64
	for _, j := range batch {
		toks += int64(j.size().tokens)
	}
	defer bt.pending.Add(-toks) // after every job of the batch is answered
	// Requests whose client left or timed out are not worth a forward pass.
	live := batch[:0]
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.answer(jobResult{err: err})
			continue
		}
		live = append(live, j)
	}
	// Group by backend: after a reload the queue can hold jobs tokenized
	// for the old backend next to jobs for the new one.
	for len(live) > 0 {
		b := live[0].b
		var group, rest []*job
		for _, j := range live {
			if j.b == b {
				group = append(group, j)
			} else {
				rest = append(rest, j)
			}
		}
		bt.runGroup(b, group)
		live = rest
	}
}

func (bt *batcher) runGroup(b *Backend, jobs []*job) {
	var items []item
	results := make([]jobResult, len(jobs))
	for ji, j := range jobs {
		results[ji].rewards = make([]float32, len(j.seqs))
		if len(b.Members) > 0 {
			results[ji].std = make([]float32, len(j.seqs))
		}
		for k, s := range j.seqs {
			items = append(items, item{job: ji, idx: k, seq: s})
		}
	}
	// Longest first, so each chunk pads to a length close to its own items'.
	sort.SliceStable(items, func(a, c int) bool { return len(items[a].seq) > len(items[c].seq) })
	seqs := make([][]int, 0, bt.maxBatch)
	for start, end := 0, 0; start < len(items); start = end {
		// Chunk: up to maxBatch items and maxTokens tokens, at least one item.
		end = start + 1
		for toks := len(items[start].seq); end < len(items) && end-start < bt.maxBatch && toks+len(items[end].seq) <= bt.maxTokens; end++ {
			toks += len(items[end].seq)
		}
		chunk := items[start:end]
		seqs = seqs[:0]
		toks := 0
		for _, it := range chunk {
			seqs = append(seqs, it.seq)
			toks += len(it.seq)
		}
		rewards, std, err := bt.safeScore(b, seqs)
		if err != nil {
			for _, it := range chunk {
				results[it.job].err = err
			}
			continue
		}
		bt.m.batch(len(chunk), len(chunk)*len(chunk[0].seq), toks)
		for k, it := range chunk {
			results[it.job].rewards[it.idx] = rewards[k]
			if std != nil {
				results[it.job].std[it.idx] = std[k]
			}
		}
	}
	for ji, j := range jobs {
		if results[ji].err != nil {
			results[ji].rewards, results[ji].std = nil, nil
		}
		j.answer(results[ji])
	}
}

// safeScore turns a panic in the engine into an error for the requests of
// this batch instead of a crashed server. The stack goes to the log, not to
// clients.
func (bt *batcher) safeScore(b *Backend, seqs [][]int) (rewards, std []float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			bt.logf("model panicked on a batch of %d items: %v\n%s", len(seqs), r, debug.Stack())
			rewards, std, err = nil, nil, errModelFailed
		}
	}()
	rewards, std, err = b.Score(seqs)
	if err != nil {
		bt.logf("scoring a batch of %d items: %v", len(seqs), err)
		return nil, nil, errModelFailed
	}
	return rewards, std, nil
}

// Package parallel is the module's one parallel-for. Work is split over
// runtime.GOMAXPROCS(0) goroutines, and small loops run inline because
// spawning goroutines costs more than a short loop.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Range splits [0,n) into one contiguous chunk per CPU and runs fn(lo, hi)
// on each, returning when all are done. With fewer than 2*grain items per
// would-be worker it uses fewer workers; below grain items it runs inline.
// Chunk boundaries depend only on n, grain and GOMAXPROCS.
func Range(n, grain int, fn func(lo, hi int)) {
	if grain < 1 {
		grain = 1
	}
	w := min(runtime.GOMAXPROCS(0), n/grain)
	if w <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for k := 0; k < w; k++ {
		lo, hi := k*n/w, (k+1)*n/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// Jobs runs fn(worker, job) for every job in [0,n), handing jobs out one at
// a time (for jobs of uneven size). worker is in [0, GOMAXPROCS) and indexes
// per-worker scratch; each worker runs its jobs sequentially.
func Jobs(n int, fn func(worker, job int)) {
	JobsN(runtime.GOMAXPROCS(0), n, fn)
}

// JobsN is Jobs with at most workers goroutines.
func JobsN(workers, n int, fn func(worker, job int)) {
	w := min(workers, n)
	if w <= 1 {
		for j := 0; j < n; j++ {
			fn(0, j)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for k := 0; k < w; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j := int(next.Add(1) - 1)
				if j >= n {
					return
				}
				fn(k, j)
			}
		}()
	}
	wg.Wait()
}

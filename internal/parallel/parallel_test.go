package parallel

import (
	"runtime"
	"sync/atomic"
	"testing"
)

func TestRangeCoversEachIndexOnce(t *testing.T) {
	for _, tc := range []struct{ n, grain, procs int }{
		{0, 1, 4}, {1, 1, 4}, {7, 1, 4}, {1000, 10, 3}, {1000, 2000, 4}, {5, 0, 2},
	} {
		old := runtime.GOMAXPROCS(tc.procs)
		hits := make([]int32, tc.n)
		Range(tc.n, tc.grain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&hits[i], 1)
			}
		})
		runtime.GOMAXPROCS(old)
		for i, h := range hits {
			if h != 1 {
				t.Fatalf("n=%d grain=%d: index %d visited %d times", tc.n, tc.grain, i, h)
			}
		}
	}
}

func TestJobsRunsEveryJobOnceWithValidWorker(t *testing.T) {
	const n = 500
	var hits [n]int32
	var bad atomic.Int32
	JobsN(3, n, func(w, j int) {
		if w < 0 || w >= 3 {
			bad.Add(1)
		}
		atomic.AddInt32(&hits[j], 1)
	})
	if bad.Load() != 0 {
		t.Fatal("worker index out of range")
	}
	for j, h := range hits {
		if h != 1 {
			t.Fatalf("job %d ran %d times", j, h)
		}
	}
}

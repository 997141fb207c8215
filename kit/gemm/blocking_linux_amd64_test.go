//go:build !purego

package gemm

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkBlocking measures one kernel on one goroutine with the cache
// blocking given in GEMM_BLOCKING="mc kc nc" (default: the kernel's own)
// and GEMM_KERNEL=avx512|avx2|portable, and reports GFLOP/s per thread CPU
// second ("cpuGFLOP/s") next to the wall-clock figure: on a shared machine
// CPU time is what separates one blocking from another. This is how the
// blocking in kernel_amd64.go was chosen:
//
//	GEMM_BLOCKING="168 256 2048" go test -run '^$' -bench Blocking ./gemm
func BenchmarkBlocking(b *testing.B) {
	base := active
	switch os.Getenv("GEMM_KERNEL") {
	case "avx512":
		base = avx512
	case "avx2":
		base = avx2
	case "portable":
		base = portable
	}
	mc, kc, nc := base.mc, base.kc, base.nc
	if s := os.Getenv("GEMM_BLOCKING"); s != "" {
		if _, err := fmt.Sscan(s, &mc, &kc, &nc); err != nil || mc%base.mr != 0 || nc%base.nr != 0 {
			b.Fatalf("GEMM_BLOCKING=%q: want \"mc kc nc\" with mc a multiple of %d and nc of %d", s, base.mr, base.nr)
		}
	}
	kn := &kernel{name: base.name, mr: base.mr, nr: base.nr, mc: mc, kc: kc, nc: nc,
		micro: base.micro, panelA: base.panelA, panelB: base.panelB}
	for _, s := range benchShapes {
		b.Run(fmt.Sprintf("%s/%s_%d_%d_%d", s.name, kn.name, mc, kc, nc), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var cpu time.Duration
			benchOne(b, kn, 1, s.transA, s.transB, s.m, s.n, s.k, &cpu)
			b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/cpu.Seconds()/1e9, "cpuGFLOP/s")
		})
	}
}

func init() { threadCPU = threadCPUTime }

// threadCPUTime is the calling thread's CPU time: precise to the
// scheduler's nanosecond accounting, unlike getrusage's ticks.
func threadCPUTime() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

package gemm

// active is the kernel Sgemm uses: the fastest one this CPU runs.
var active = kernels()[0]

// Kernel reports which micro-kernel Sgemm uses on this machine:
// "avx512", "avx2" or "portable".
func Kernel() string { return active.name }

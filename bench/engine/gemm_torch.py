#!/usr/bin/python3
"""Peer timing for gemm.Sgemm: the same products with PyTorch on OpenBLAS.

Run with Debian's /usr/bin/python3 and OPENBLAS_NUM_THREADS=2 (run-gemm.sh
does both). Prints one line per shape, "torch <name> <GFLOP/s>", with the
names BenchmarkSgemm in kit/gemm/bench_test.go uses, so the two can be joined.
"""
import os
import sys
import time

import torch

# name, transA, transB, m, n, k: keep in sync with kit/gemm/bench_test.go.
SHAPES = [
    ("1024x1024x1024", False, False, 1024, 1024, 1024),
    ("qkv_4096x384x128", False, False, 4096, 384, 128),
    ("mlpup_4096x512x128", False, False, 4096, 512, 128),
    ("mlpdown_4096x128x512", False, False, 4096, 128, 512),
    ("dx_4096x128x384_NT", False, True, 4096, 128, 384),
    ("dw_128x384x4096_TN", True, False, 128, 384, 4096),
    ("lmhead_4096x8192x128_NT", False, True, 4096, 8192, 128),
    ("lmhead_4096x8192x128", False, False, 4096, 8192, 128),
]


def blas_library():
    """The BLAS shared object actually mapped into this process."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if "blas" in path:
                libs.add(os.path.realpath(path))
    return sorted(libs)


def main():
    # --cpu1: one thread, GFLOP per thread-CPU second (label "torch1cpu"),
    # the figure that survives other jobs competing for the cores.
    cpu1 = "--cpu1" in sys.argv
    torch.set_num_threads(1 if cpu1 else 2)
    clock = time.thread_time if cpu1 else time.perf_counter
    label = "torch1cpu" if cpu1 else "torch"
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    mintime = float(args[0]) if args else 0.3
    if "-v" in sys.argv:
        print(torch.__config__.show(), file=sys.stderr)
    for name, ta, tb, m, n, k in SHAPES:
        # Stored shapes, then transposed views: torch passes a transposed
        # view to BLAS as a transpose flag, as Sgemm's callers do.
        a = torch.randn(k, m) if ta else torch.randn(m, k)
        b = torch.randn(n, k) if tb else torch.randn(k, n)
        opa = a.t() if ta else a
        opb = b.t() if tb else b
        c = torch.empty(m, n)
        for _ in range(2):
            torch.mm(opa, opb, out=c)
        reps, elapsed = 0, 0.0
        t0 = clock()
        while elapsed < mintime:
            torch.mm(opa, opb, out=c)
            reps += 1
            elapsed = clock() - t0
        print(f"{label} {name} {2 * m * n * k * reps / elapsed / 1e9:.2f}", flush=True)
    print(f"# torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, blas: {' '.join(blas_library())}",
          file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# run-gemm.sh: gemm.Sgemm (SIMD and portable kernels) against PyTorch on
# OpenBLAS, 2 threads each, run alternately for ROUNDS rounds (default 3) so
# that load from other jobs hits both alike; prints per-shape medians and
# the ratio ours/torch. A second table compares one thread each in GFLOP
# per thread-CPU second, which holds up when other jobs load the machine.
# Usage: bench/engine/run-gemm.sh   (ROUNDS=5 MINTIME=0.5 to taste)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
MINTIME=${MINTIME:-0.3} # seconds per shape per round, both sides

# The peer: Debian's torch on OpenBLAS (the reference BLAS is ~12× slower,
# not a fair peer). Install if missing; needs root.
if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
	echo "installing python3-torch python3-numpy libopenblas0-pthread" >&2
	apt-get install -y python3-torch python3-numpy libopenblas0-pthread >&2
fi
update-alternatives --display libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep -i 'currently points' >&2 || true

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/gemm.test" ./gemm
"$tmp/gemm.test" -test.run 'TestKernelChoice' -test.v 2>&1 | grep 'kernels on' >&2 || true

for r in $(seq "$ROUNDS"); do
	echo "round $r/$ROUNDS: go" >&2
	"$tmp/gemm.test" -test.run '^$' -test.bench '^BenchmarkSgemm$' -test.benchtime "${MINTIME}s" -test.cpu 2 |
		awk '/GFLOP\/s/ { split($1, p, "/"); sub(/-2$/, "", p[3]); print p[3], p[2], $(NF-1) }' >>"$tmp/results"
	echo "round $r/$ROUNDS: torch" >&2
	verbose=$([ "$r" = 1 ] && echo -v || true) # torch's build config, once
	OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/engine/gemm_torch.py "$MINTIME" $verbose 2>>"$tmp/torch.log" >>"$tmp/results"
	echo "round $r/$ROUNDS: go, 1 thread" >&2
	"$tmp/gemm.test" -test.run '^$' -test.bench '^BenchmarkBlocking$' -test.benchtime "${MINTIME}s" -test.cpu 1 |
		awk '/cpuGFLOP\/s/ { split($1, p, "/"); print "simd1cpu", p[2], $(NF-1) }' >>"$tmp/results"
	echo "round $r/$ROUNDS: torch, 1 thread" >&2
	OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/engine/gemm_torch.py "$MINTIME" --cpu1 2>>"$tmp/torch.log" >>"$tmp/results"
done
uptime >&2
# Debian's torch reports BLAS_INFO=generic: it calls whatever libblas.so.3
# the alternatives system points at, so the library mapped into the process
# (last line) is what confirms OpenBLAS.
grep -o 'BLAS_INFO=[^,]*' "$tmp/torch.log" | head -1 >&2 || true
tail -1 "$tmp/torch.log" >&2

/usr/bin/python3 - "$tmp/results" "$ROUNDS" <<'PY'
import statistics, sys
runs = {}
order = []
for line in open(sys.argv[1]):
    who, shape, v = line.split()
    if shape not in order:
        order.append(shape)
    runs.setdefault((who, shape), []).append(float(v))
med = lambda who, s: statistics.median(runs[(who, s)]) if (who, s) in runs else float("nan")
print(f"GFLOP/s (wall clock), 2 threads, median of {sys.argv[2]} alternating rounds")
print(f"{'shape (m x n x k, T=transposed)':32} {'ours simd':>10} {'portable':>10} {'torch':>10} {'simd/torch':>10}")
for s in order:
    o, p, t = med("simd", s), med("portable", s), med("torch", s)
    print(f"{s:32} {o:10.1f} {p:10.1f} {t:10.1f} {o / t:10.2f}")
print()
print(f"GFLOP per thread-CPU second, 1 thread, median of {sys.argv[2]} rounds")
print(f"{'shape':32} {'ours simd':>10} {'torch':>10} {'simd/torch':>10}")
for s in order:
    o, t = med("simd1cpu", s), med("torch1cpu", s)
    print(f"{s:32} {o:10.1f} {t:10.1f} {o / t:10.2f}")
PY

#!/usr/bin/env bash
# run.sh: the engine (bench/engine/engine, built with GOEXPERIMENT=simd)
# side by side with the PyTorch peer (bench/engine/torch_engine.py on
# Debian's torch + OpenBLAS, 2 threads each) on the reference reward model
# of WARM.md section 5: member training tokens/s, inference sequences/s,
# generation tokens/s, 1024³ GEMM GFLOP/s and peak RSS.
#
# First a correctness check (the peer recomputes in float64 the rewards our
# engine wrote with its weights), then ROUNDS rounds with ours and torch run
# alternately (the order flips every round) so that load from other jobs on
# the machine hits both alike; the table gives medians, the ratio
# ours/torch, the target from WARM.md and the min–max spread of each side.
#
#   bench/engine/run.sh            (ROUNDS=3 SECS=4 by default; ~3–4 min on a quiet machine)
#   ROUNDS=5 SECS=6 ONLY=train,infer bench/engine/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-4}             # timed seconds per workload per process, after 2 warm-up iterations
ONLY=${ONLY:-train,infer,gen,gemm}
export OPENBLAS_NUM_THREADS=2 GOMAXPROCS=2

# The peer: Debian's torch on OpenBLAS (the reference BLAS is ~12× slower,
# not a fair peer). Install if missing; needs root.
if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
	echo "installing python3-torch python3-numpy libopenblas0-pthread" >&2
	apt-get install -y python3-torch python3-numpy libopenblas0-pthread >&2
fi
update-alternatives --display libblas.so.3-x86_64-linux-gnu 2>/dev/null | grep -i 'currently points' >&2 || true

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "building bench/engine/engine (GOEXPERIMENT=simd)" >&2
GOEXPERIMENT=simd go build -o "$tmp/engine" ./bench/engine/engine

# Same maths, not only the same amount of work.
"$tmp/engine" -check "$tmp/check"
/usr/bin/python3 bench/engine/torch_engine.py --check "$tmp/check" | tee "$tmp/check.txt"

load0=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s)
for r in $(seq "$ROUNDS"); do
	if ((r % 2)); then order="ours torch"; else order="torch ours"; fi
	for who in $order; do
		echo "round $r/$ROUNDS: $who" >&2
		if [[ $who == ours ]]; then
			"$tmp/engine" -secs "$SECS" -only "$ONLY" >>"$tmp/results"
		else
			/usr/bin/python3 bench/engine/torch_engine.py --secs "$SECS" --only "$ONLY" >>"$tmp/results"
		fi
	done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
echo "$((($(date +%s) - t0))) s for $ROUNDS rounds; load average before: $load0, after: $load1 (2 cores)" >"$tmp/info"

/usr/bin/python3 - "$tmp/results" "$ROUNDS" "$tmp/info" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    who, metric, v = line.split()
    runs.setdefault((who, metric), []).append(float(v))
rows = [  # metric, label, target (ours/torch), lower is better
    ("train_tokens_per_s", "RM training, tokens/s", "≥ 1.0× (goal 1.5×)", False),
    ("infer_seqs_per_s", "inference 64×128, seqs/s", "≥ 1.0× (goal 1.5×)", False),
    ("gen_tokens_per_s", "generation 16×64, tokens/s", "—", False),
    ("gemm_gflops", "GEMM 1024³, GFLOP/s", "≥ 0.8×", False),
    ("peak_rss_mb", "peak RSS (VmHWM), MiB", "—", True),
]
def cell(who, m):
    v = runs.get((who, m))
    return (statistics.median(v), min(v), max(v)) if v else None
print(f"engine vs PyTorch 1.13 + OpenBLAS, 2 threads each; median of {sys.argv[2]} alternating rounds")
print(f"| metric | ours (median) | torch (median) | ours/torch | target | ours min–max | torch min–max |")
print(f"|---|---:|---:|---:|---|---:|---:|")
for m, label, target, lower in rows:
    o, t = cell("ours", m), cell("torch", m)
    if not o or not t:
        continue
    ratio = o[0] / t[0]
    print(f"| {label} | {o[0]:.1f} | {t[0]:.1f} | {ratio:.2f}× | {target} | {o[1]:.1f}–{o[2]:.1f} | {t[1]:.1f}–{t[2]:.1f} |")
print(open(sys.argv[3]).read().strip())
PY

#!/usr/bin/env bash
# run.sh: the engine (bench/engine/engine, built with GOEXPERIMENT=simd)
# side by side with the PyTorch peer (bench/engine/torch_engine.py on
# Debian's torch + OpenBLAS, 2 threads each) on the reference reward model
# of WARM.md section 5: member training tokens/s, inference sequences/s,
# generation tokens/s, 1024³ GEMM GFLOP/s and peak RSS.
#
# First a correctness check (the peer recomputes in float64 the rewards and
# greedy KV-cache generations our engine wrote with its weights), then
# ROUNDS rounds with ours and torch run alternately (the order rotates every
# round) so that load from other jobs on the machine hits both alike; the table gives medians, the ratio
# ours/torch, the target from WARM.md, and the min–max spread of each side;
# a second table gives the work per CPU-second of each process, which does
# not depend on how much of the cores a process got.
#
#   bench/engine/run.sh            (ROUNDS=3 SECS=3 by default; ~3 min on a quiet machine)
#   ROUNDS=5 SECS=6 ONLY=train,infer bench/engine/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-3}             # timed seconds per workload per process, after 1 warm-up iteration
ONLY=${ONLY:-train,infer,gen,gemm}
# TORCH1=1 (default) also runs torch on 1 thread. On a loaded machine torch's
# OpenMP and OpenBLAS threads spin at barriers while their sibling is
# descheduled and 2 threads can be far slower than 1; the last column then
# compares us with the better of the two torch runs (still unfair under
# load: 2 threads get up to twice the CPU share of 1; see the CPU-s table).
TORCH1=${TORCH1:-1}
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

sides="ours torch"
if [[ $TORCH1 == 1 ]]; then sides="ours torch torch1"; fi
load0=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s)
for r in $(seq "$ROUNDS"); do
	# Rotate the order every round so that no side always runs first.
	read -ra order <<<"$sides"
	k=$(((r - 1) % ${#order[@]}))
	order=("${order[@]:k}" "${order[@]:0:k}")
	for who in "${order[@]}"; do
		echo "round $r/$ROUNDS: $who" >&2
		case $who in
		ours) "$tmp/engine" -secs "$SECS" -only "$ONLY" >>"$tmp/results" ;;
		torch) /usr/bin/python3 bench/engine/torch_engine.py --secs "$SECS" --only "$ONLY" >>"$tmp/results" 2> >(tee -a "$tmp/torch.log" >&2) ;;
		torch1) OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/engine/torch_engine.py --threads 1 --label torch1 \
			--secs "$SECS" --only "$ONLY" >>"$tmp/results" ;;
		esac
	done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain -- model gemm optim 2>/dev/null) ]]; then rev="$rev + uncommitted kit/model/gemm/optim edits"; fi
grep -h 'blas:' "$tmp/torch.log" | tail -1 | sed 's/^torch_engine: /peer: /' >"$tmp/info" || true
echo "$(($(date +%s) - t0)) s for $ROUNDS rounds at $(date -u +%FT%TZ), engine $rev; load average before: $load0, after: $load1 (2 cores)" >>"$tmp/info"

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
def med(who, m):
    v = runs.get((who, m))
    return statistics.median(v) if v else None
def spread(who, m):
    v = runs.get((who, m))
    return f"{min(v):.1f}–{max(v):.1f}" if v else "—"
t1 = any(w == "torch1" for w, _ in runs)
print(f"engine vs PyTorch 1.13 + OpenBLAS; median of {sys.argv[2]} rounds, sides run in rotating order")
head = "| metric | ours (2 thr) | torch (2 thr) | ours/torch | target |"
if t1:
    head += " torch (1 thr) | ours/best torch |"
print(head)
print("|---|---:|---:|---:|---|" + ("---:|---:|" if t1 else ""))
for m, label, target, lower in rows:
    o, t = med("ours", m), med("torch", m)
    if o is None or t is None:
        continue
    line = f"| {label} | {o:.1f} | {t:.1f} | {o / t:.2f}× | {target} |"
    if t1:
        u = med("torch1", m)
        best = (min if lower else max)(t, u)
        line += f" {u:.1f} | {o / best:.2f}× |"
    print(line)
print()
print("Work per CPU-second of the process (user+sys, all threads): does not depend on the share of the")
print("cores a process gets, so it compares efficiency when other jobs load the machine.")
head = "| metric | ours (2 thr) | torch (2 thr) | ours/torch |"
if t1:
    head += " torch (1 thr) | ours/torch (1 thr) |"
print(head)
print("|---|---:|---:|---:|" + ("---:|---:|" if t1 else ""))
for m, label, target, lower in rows:
    o, t = med("ours", m + "_cpu"), med("torch", m + "_cpu")
    if o is None or t is None:
        continue
    line = f"| {label.replace('/s', '/CPU-s')} | {o:.1f} | {t:.1f} | {o / t:.2f}× |"
    if t1:
        u = med("torch1", m + "_cpu")
        line += f" {u:.1f} | {o / u:.2f}× |"
    print(line)
print()
print("spread (min–max over rounds): " + "; ".join(
    f"{m}: " + ", ".join(f"{w} {spread(w, m)}" for w in ("ours", "torch", "torch1") if (w, m) in runs)
    for m in sorted({m for _, m in runs}) if ("ours", m) in runs))
print(open(sys.argv[3]).read().strip())
PY

#!/usr/bin/env bash
# bench/merge/run.sh — the WARM merge (uniform average of K=6 checkpoints of
# ~424 MB F32, 33 tensors) from page cache: `warm merge` against a PyTorch
# peer (torch_merge.py), alternating, median of RUNS runs.
# Effective GB/s = (bytes read + bytes written) / wall time of the process.
# Peak anonymous memory is RssAnon polled every 10 ms; peak RSS is VmHWM
# (includes mapped file pages).
#
#   bench/merge/run.sh            # K=6, RUNS=3
#   K=2 RUNS=5 WARM_FLAGS="" bench/merge/run.sh
set -euo pipefail
cd "$(dirname "$0")"
K=${K:-6}
RUNS=${RUNS:-3}
# --no-sync: the peer does not fsync either; set WARM_FLAGS="" to include it.
WARM_FLAGS=${WARM_FLAGS---no-sync}
WORK=work
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=2
mkdir -p "$WORK"
GOEXPERIMENT=simd go build -o "$WORK/warm" ../../cmd/warm # AVX-512 kernel; the portable build is within noise
if [ ! -f "$WORK/rm$((K - 1))/model.safetensors" ]; then
	go run ./gen -dir "$WORK" -k "$K"
fi
INS=()
FILES=()
for i in $(seq 0 $((K - 1))); do
	INS+=("$WORK/rm$i")
	FILES+=("$WORK/rm$i/model.safetensors")
done
IN_BYTES=$(stat -c %s "${FILES[@]}" | awk '{s += $1} END {printf "%.0f", s}')
cat "${FILES[@]}" >/dev/null # page cache

# measure NAME OUTFILE CMD...: one line "NAME wall_s cpu_s GB/s peak_anon_MB peak_rss_MB".
# cpu_s (user+sys) is what the machine's other users cannot steal.
measure() {
	local name=$1 outfile=$2
	shift 2
	local tf pid child="" anon=0 a
	tf=$(mktemp)
	/usr/bin/time -f "%e %U %S %M" -o "$tf" "$@" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		# The process may exit at any point of this loop: nothing here may fail.
		if [ -z "$child" ]; then
			child=$(awk '{print $1}' "/proc/$pid/task/$pid/children" 2>/dev/null || true)
		fi
		if [ -n "$child" ]; then
			a=$(awk '/^RssAnon:/ {print $2}' "/proc/$child/status" 2>/dev/null || true)
			if [ -n "$a" ] && [ "$a" -gt "$anon" ]; then anon=$a; fi
		fi
		sleep 0.01
	done
	wait "$pid"
	local out_bytes
	out_bytes=$(stat -c %s "$outfile")
	awk -v n="$name" -v b="$IN_BYTES" -v o="$out_bytes" -v a="$anon" '{
		printf "%-6s wall %7.3f s  cpu %7.3f s  %6.2f GB/s  peak anon %7.1f MB  peak rss %7.1f MB\n", n, $1, $2 + $3, (b + o) / $1 / 1e9, a / 1024, $4 / 1024
	}' "$tf"
	rm -f "$tf"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "inputs: $K x $(awk -v b="$IN_BYTES" -v k="$K" 'BEGIN {printf "%.1f MB", b / k / 1e6}') F32, $(nproc) cores, $(date -u +%FT%TZ)"
RES=$(mktemp)
for r in $(seq 1 "$RUNS"); do
	rm -rf "$WORK/out-warm" "$WORK/out-torch.safetensors"
	measure warm "$WORK/out-warm/model.safetensors" "$WORK/warm" merge --quiet $WARM_FLAGS -o "$WORK/out-warm" "${INS[@]}" | tee -a "$RES"
	measure torch "$WORK/out-torch.safetensors" "$PY" torch_merge.py "$WORK/out-torch.safetensors" "${FILES[@]}" | tee -a "$RES"
done
# The two outputs agree (the peer sums in float32 then divides: a few ulp).
"$PY" - "$WORK/out-warm/model.safetensors" "$WORK/out-torch.safetensors" <<'PYEOF'
import sys, torch
sys.path.insert(0, ".")
from torch_merge import load
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a.keys() == b.keys()
d = max(float((a[k] - b[k]).abs().max()) for k in a)
print(f"max |warm - torch| = {d:.3g} over {len(a)} tensors")
PYEOF
"$PY" - "$RES" <<'PYEOF'
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows.setdefault(f[0], []).append((float(f[2]), float(f[5]), float(f[7]), float(f[11])))
for n, r in rows.items():
    print(f"median {n:6s} wall {st.median(x[0] for x in r):7.3f} s  cpu {st.median(x[1] for x in r):7.3f} s  "
          f"{st.median(x[2] for x in r):6.2f} GB/s  max peak anon {max(x[3] for x in r):7.1f} MB  ({len(r)} runs)")
if "warm" in rows and "torch" in rows:
    w, t = (st.median(x[0] for x in rows[k]) for k in ("warm", "torch"))
    wc, tc = (st.median(x[1] for x in rows[k]) for k in ("warm", "torch"))
    print(f"warm vs torch: {t / w:.1f}x faster (wall), {tc / wc:.1f}x less CPU")
PYEOF
rm -f "$RES"

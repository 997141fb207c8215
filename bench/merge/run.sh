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
go build -o "$WORK/warm" ../../cmd/warm
if [ ! -f "$WORK/rm$((K - 1))/model.safetensors" ]; then
	go run ./gen -dir "$WORK" -k "$K"
fi
INS=()
FILES=()
for i in $(seq 0 $((K - 1))); do
	INS+=("$WORK/rm$i")
	FILES+=("$WORK/rm$i/model.safetensors")
done
IN_BYTES=$(stat -c %s "${FILES[@]}" | awk '{s += $1} END {printf "%d", s}')
cat "${FILES[@]}" >/dev/null # page cache

# measure NAME OUTFILE CMD...: prints "NAME seconds GB/s peak_anon_MB peak_rss_MB"
measure() {
	local name=$1 outfile=$2
	shift 2
	local t0 t1 pid anon=0 hwm=0 a h
	t0=$(date +%s.%N)
	"$@" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [ -r "/proc/$pid/status" ]; then
			a=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
			h=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
			[ -n "$a" ] && [ "$a" -gt "$anon" ] && anon=$a
			[ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
		fi
		sleep 0.01
	done
	wait "$pid"
	t1=$(date +%s.%N)
	local out_bytes
	out_bytes=$(stat -c %s "$outfile")
	awk -v n="$name" -v t0="$t0" -v t1="$t1" -v b=$((IN_BYTES + out_bytes)) -v a="$anon" -v h="$hwm" \
		'BEGIN {s = t1 - t0; printf "%-6s %7.3f s  %6.2f GB/s  peak anon %6.1f MB  peak rss %7.1f MB\n", n, s, b / s / 1e9, a / 1024, h / 1024}'
}

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
awk '{s[$1] = s[$1] " " $2; g[$1] = g[$1] " " $4; m[$1] = m[$1] " " $8}
END {
	for (n in s) {
		split(s[n], a, " "); asort(a); split(g[n], b, " "); asort(b); split(m[n], c, " "); asort(c)
		k = int((length(a) + 1) / 2); med[n] = a[k]
		printf "median %-6s %7.3f s  %6.2f GB/s  peak anon %6.1f MB\n", n, a[k], b[k], c[length(c)]
	}
	if (med["warm"] > 0) printf "speed-up warm/torch: %.1fx\n", med["torch"] / med["warm"]
}' "$RES"
rm -f "$RES"

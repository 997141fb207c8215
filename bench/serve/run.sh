#!/bin/sh
# bench/serve/run.sh: `warm serve` under 1, 8 and 64 concurrent clients
# scoring 128-token items (reference RM: vocab 8192, d 128, 4 heads, 2
# layers, MLP 512, random weights), next to a plain-PyTorch batch loop over
# the same weights, and the cost of serving ENS (6 members) against WARM
# (1 model). Runs alternate ours and the peer REPS times; the summary gives
# medians. Everything listens on 127.0.0.1 only.
#
#   bench/serve/run.sh                  # OUT=/tmp/warm-bench-serve REPS=3 N=1000 PORT=18181
set -eu
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/warm-bench-serve}
REPS=${REPS:-3}
N=${N:-1000}
PORT=${PORT:-18181}
URL=http://127.0.0.1:$PORT
PY=/usr/bin/python3
export OPENBLAS_NUM_THREADS=2
mkdir -p "$OUT/bin"
GOEXPERIMENT=simd go build -o "$OUT/bin/warm" ./cmd/warm
GOEXPERIMENT=simd go build -o "$OUT/bin/serve-bench" ./bench/serve
SB="$OUT/bin/serve-bench"
[ -f "$OUT/items.jsonl" ] || "$SB" mkmodel -out "$OUT" -members 6
RES="$OUT/results.jsonl"
: > "$RES"
: > "$OUT/serve.log"
MEMBERS="$OUT/rm1,$OUT/rm2,$OUT/rm3,$OUT/rm4,$OUT/rm5,$OUT/rm6"

PID=
stop() { if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=; fi; }
trap stop EXIT INT TERM
start() { # start ARGS...: warm serve on 127.0.0.1:$PORT
	"$OUT/bin/warm" serve --addr "127.0.0.1:$PORT" "$@" 2>>"$OUT/serve.log" &
	PID=$!
	"$SB" wait -url "$URL"
}

for rep in $(seq "$REPS"); do
	echo "== rep $rep/$REPS" >&2
	start --model "$OUT/rm0"
	[ "$rep" = 1 ] && "$SB" load -url "$URL" -items "$OUT/items.jsonl" -dump "$OUT/served.json"
	"$SB" load -url "$URL" -items "$OUT/items.jsonl" -c 1 -n $((N / 2)) -label warm >>"$RES"
	"$SB" load -url "$URL" -items "$OUT/items.jsonl" -c 8 -n "$N" -label warm >>"$RES"
	"$SB" load -url "$URL" -items "$OUT/items.jsonl" -c 64 -n "$N" -label warm >>"$RES"
	stop
	$PY bench/serve/peer.py "$OUT" --reps 3 --check "$OUT/served.json" >>"$RES"
	$PY bench/serve/peer.py "$OUT" --reps 3 --batch 16 >>"$RES"
	# The engine alone (no HTTP), same batch loops as torch.
	"$SB" direct -model "$OUT/rm0" -items "$OUT/items.jsonl" -batch 64 >>"$RES"
	"$SB" direct -model "$OUT/rm0" -items "$OUT/items.jsonl" -batch 16 >>"$RES"
	# ENS: the server scores rm0 plus the 6 members (std); 7 forward passes per item.
	start --model "$OUT/rm0" --members "$MEMBERS"
	"$SB" load -url "$URL" -items "$OUT/items.jsonl" -c 64 -n $((N / 4)) -label warm+ens6 >>"$RES"
	stop
	$PY bench/serve/peer.py "$OUT" --models 6 --reps 3 --limit 128 >>"$RES"
	tail -n 9 "$RES" >&2
done

$PY - "$RES" <<'PYEOF' | tee "$OUT/summary.md"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(label, clients=None, key="items_per_s", batch=None):
    v = [r[key] for r in rows if r["label"] == label and (clients is None or r.get("clients") == clients)
         and (batch is None or r.get("batch") == batch)]
    return statistics.median(v) if v else float("nan")
print("| workload | items/s | p50 ms | p99 ms |")
print("|---|---|---|---|")
for c in (1, 8, 64):
    print(f"| warm serve, 1 model, {c} clients | {med('warm', c):.1f} | {med('warm', c, 'p50_ms'):.2f} | {med('warm', c, 'p99_ms'):.2f} |")
for b in (64, 16):
    print(f"| torch batch loop ({b}), 1 model | {med('torch-warm', batch=b):.1f} | | |")
    print(f"| engine in-process batch loop ({b}), 1 model | {med('engine', batch=b):.1f} | | |")
print(f"| warm serve, 1 model + 6 members (std), 64 clients | {med('warm+ens6', 64):.1f} | {med('warm+ens6', 64, 'p50_ms'):.2f} | {med('warm+ens6', 64, 'p99_ms'):.2f} |")
print(f"| torch batch loop (64), ENS 6 models | {med('torch-ens6'):.1f} | | |")
print()
best_torch = max(med('torch-warm', batch=64), med('torch-warm', batch=16))
print(f"warm serve at 64 clients / best torch batch loop: {med('warm', 64) / best_torch:.2f}x")
print(f"cost of ENS vs WARM (items/s ratio): warm serve {med('warm', 64) / med('warm+ens6', 64):.2f}x (7 passes vs 1), torch {med('torch-warm', batch=64) / med('torch-ens6'):.2f}x (6 vs 1)")
d = [r["max_abs_diff_vs_served"] for r in rows if "max_abs_diff_vs_served" in r]
if d:
    print(f"served rewards vs torch: max |diff| {max(d):.2e} (rewards up to {max(r['max_abs_reward'] for r in rows if 'max_abs_reward' in r):.3f})")
PYEOF

#!/usr/bin/env bash
# bench/modern/run.sh — reward-model scoring throughput and peak RSS on
# random Qwen3-0.6B- and Llama-3.2-1B-shaped BF16 checkpoints: warm's llama
# package against the plain-PyTorch reference (kit/llama/testdata/reference.py)
# in float32 (OpenBLAS) and bfloat16 (oneDNN), 2 and 1 threads, alternating
# within each round; medians over ROUNDS.
#
#   bench/modern/run.sh                     # ROUNDS=1, 8×512 at 2 threads, 2×512 at 1
#   ROUNDS=3 SEQS1=8 bench/modern/run.sh    # the full protocol, ~3× longer
#
# Weights are generated into $WORK (default /tmp/warm-modern, not committed).
# The peer is Debian's python3-torch; OpenBLAS is unpacked locally (not
# installed system-wide) so the float32 peer does not run on reference BLAS.
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${ROUNDS:-1}
SEQS2=${SEQS2:-8}   # sequences per batch at 2 threads
SEQS1=${SEQS1:-2}   # at 1 thread (tokens/s is per token; fewer keeps the run short)
LEN=${LEN:-512}
MODELS=${MODELS:-"qwen3 llama"}
WORK=${WORK:-/tmp/warm-modern}
PY=/usr/bin/python3
mkdir -p "$WORK"

if ! "$PY" -c "import torch, numpy" 2>/dev/null; then
	apt-get update -qq && apt-get install -y -qq python3-torch python3-numpy >/dev/null
fi
OB="$WORK/openblas/root/usr/lib/x86_64-linux-gnu/openblas-pthread"
if [ ! -f "$OB/libblas.so.3" ]; then
	mkdir -p "$WORK/openblas" && (cd "$WORK/openblas" && apt-get download libopenblas0-pthread >/dev/null && dpkg -x libopenblas0-pthread_*.deb root)
fi
go build -o "$WORK/score" ./score

for m in $MODELS; do
	if [ ! -f "$WORK/$m/model.safetensors" ]; then
		echo "generating $m weights..." >&2
		"$PY" gen.py "$m" "$WORK/$m"
	fi
done

RES="$WORK/results.jsonl"
: >"$RES"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $(date -u +%FT%TZ)"
for r in $(seq 1 "$ROUNDS"); do
	for m in $MODELS; do
		cat "$WORK/$m/model.safetensors" >/dev/null # page cache
		for th in 2 1; do
			n=$SEQS2
			[ "$th" = 1 ] && n=$SEQS1
			GOMAXPROCS=$th "$WORK/score" -model "$WORK/$m" -seqs "$n" -len "$LEN" | sed "s/^{/{\"model\":\"$m\",/" | tee -a "$RES" | cut -c1-160
			for dt in bf16 f32; do
				LD_LIBRARY_PATH="$OB" OPENBLAS_NUM_THREADS=$th OMP_NUM_THREADS=$th \
					"$PY" peer.py "$WORK/$m" "$dt" "$th" "$n" "$LEN" | sed "s/^{/{\"model\":\"$m\",/" | tee -a "$RES" | cut -c1-160
			done
		done
	done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
"$PY" - "$RES" "$WORK" <<'PYEOF'
import json, os, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
work = sys.argv[2]
def med(xs): return statistics.median(xs)
print("| model | weights | threads | warm tok/s | torch f32 tok/s | torch bf16 tok/s | warm / best torch | tok per CPU-s warm / f32 / bf16 | warm peak RSS | RSS / weights | torch bf16 RSS | torch f32 RSS |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for m in dict.fromkeys(r["model"] for r in rows):
    wb = os.path.getsize(os.path.join(work, m, "model.safetensors")) / 2**20
    for th in (2, 1):
        g = {i: [r for r in rows if r["model"] == m and r["threads"] == th and r["impl"] == i] for i in ("warm", "torch-f32", "torch-bf16")}
        if not all(g.values()):
            continue
        t = {i: med([r["tokens_per_s"] for r in v]) for i, v in g.items()}
        rss = {i: max(r["peak_rss_mb"] for r in v) for i, v in g.items()}
        tc = {i: med([r["seconds"] * r["tokens_per_s"] / r["cpu_seconds"] for r in v]) for i, v in g.items()}
        best = max(t["torch-f32"], t["torch-bf16"])
        print(f"| {m} | {wb:.0f} MiB | {th} | {t['warm']:.0f} | {t['torch-f32']:.0f} | {t['torch-bf16']:.0f} | {t['warm'] / best:.2f} | {tc['warm']:.0f} / {tc['torch-f32']:.0f} / {tc['torch-bf16']:.0f} | {rss['warm']:.0f} MiB | {rss['warm'] / wb:.2f} | {rss['torch-bf16']:.0f} MiB | {rss['torch-f32']:.0f} MiB |")
    # Agreement: warm vs the float32 peer on the same batch.
    for th in (2, 1):
        a = [r for r in rows if r["model"] == m and r["threads"] == th and r["impl"] == "warm"]
        b = [r for r in rows if r["model"] == m and r["threads"] == th and r["impl"] == "torch-f32"]
        c = [r for r in rows if r["model"] == m and r["threads"] == th and r["impl"] == "torch-bf16"]
        if a and b:
            d = max(abs(x - y) for x, y in zip(a[0]["rewards"], b[0]["rewards"]))
            d16 = max(abs(x - y) for x, y in zip(a[0]["rewards"], c[0]["rewards"])) if c else float("nan")
            print(f"{m} {th} thread(s): max |warm - torch f32| reward = {d:.2e}, max |warm - torch bf16| = {d16:.2e}")
PYEOF

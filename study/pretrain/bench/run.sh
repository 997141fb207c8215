#!/usr/bin/env bash
# Pretraining step throughput, ours vs PyTorch+OpenBLAS, alternated (the
# machine is shared: compare medians). Usage: study/pretrain/bench/run.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
GOEXPERIMENT=simd go test -c -o /tmp/pretrain.bench ./pretrain
for i in $(seq "$rounds"); do
  echo "round $i"
  for th in 1 2; do
    echo "threads $th"
    GOMAXPROCS=$th /tmp/pretrain.bench -test.run '^$' -test.bench BenchmarkPretrainStep -test.benchtime 10x | grep tokens/s
    OPENBLAS_NUM_THREADS=$th OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 study/pretrain/bench/peer.py 10 $th
  done
done

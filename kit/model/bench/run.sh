#!/usr/bin/env bash
# Side-by-side benchmark of package model against the PyTorch peer
# (kit/model/bench/peer.py), alternating runs because the machine is shared.
# Usage: kit/model/bench/run.sh [rounds]   (prints one line per run)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
bin=$(mktemp)
trap 'rm -f "$bin"' EXIT
GOEXPERIMENT=simd go test -c -o "$bin" ./kit/model/
export OPENBLAS_NUM_THREADS=2
for i in $(seq "$rounds"); do
  "$bin" -test.run XXX -test.bench 'TrainStep' -test.benchtime 10x | awk '/tokens\/s/ {print "go    train tokens/s", $(NF-1)}'
  /usr/bin/python3 kit/model/bench/peer.py train 6 | sed 's/^/torch /'
  "$bin" -test.run XXX -test.bench 'Inference' -test.benchtime 10x | awk '/seqs\/s/ {print "go    infer seqs/s", $(NF-1)}'
  /usr/bin/python3 kit/model/bench/peer.py infer 6 | sed 's/^/torch /'
done

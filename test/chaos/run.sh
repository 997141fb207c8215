#!/bin/sh
# The chaos suite of issue 14 (docs/chaos.md): SIGKILL-and-resume of the
# long verbs, full disks (tmpfs; needs root, skipped otherwise), the reload
# loop and hostile requests against `warm serve`. Loopback and temporary
# directories only; about 5 minutes on 2 cores.
#
#   test/chaos/run.sh                      # everything
#   test/chaos/run.sh -run ReloadChaos     # one part
#   WARM_CHAOS_TRIALS=5 WARM_CHAOS_KILLS=3 WARM_CHAOS_VERBS=pretrain,train test/chaos/run.sh -run KillResume
#   WARM_CHAOS_BIN=/path/to/old/warm test/chaos/run.sh   # test another build
#
# Each test logs its numbers on lines starting with FIGURES.
set -eu
cd "$(dirname "$0")/../.."
exec go test -tags chaos -count=1 -timeout 30m -v ./test/chaos/ "$@"

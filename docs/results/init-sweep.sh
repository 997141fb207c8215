#!/usr/bin/env bash
# docs/results/init-sweep.sh: the commands of the init sweep (docs/results/init.md).
# Run from the repository root after scripts/setup and
#   bin/warm repro --preset quick --labels clean --out runs/q-clean   (its pretrain and data stages).
# Each function is one experiment; `time` of each is what init.md records.
set -euo pipefail
W=${W:-bin/warm}
Q=runs/q-clean
D=$Q/data
S=runs/sweep
mkdir -p $S

# sft NAME STEPS LR REVIEWS: the SFT stage (a continuation of the quick init).
sft() {
	$W pretrain --preset quick --continue-from $Q/pretrain/final --steps "$2" --lr "$3" --sft-reviews "$4" -o $S/"$1" >$S/"$1".log 2>&1
}

# probe NAME INIT: the shared head on INIT's frozen features (val accuracy in
# probe/probe.json; OOD with --val $D/ood.jsonl). One member step is trained
# and thrown away (warm train has no probe-only mode).
probe() {
	$W train --preset quick --init "$2" --data $D --train $D/train-clean.jsonl --val "${3:-$D/val.jsonl}" \
		--diversity order,lr,dropout --num-members 1 --member 0 --epochs 0.003 -o $S/"$1"-probe >$S/"$1"-probe.log 2>&1
	cat $S/"$1"-probe/probe/probe.json; echo
}

# members NAME INIT M EPOCHS LRS: M members (lr/order/dropout diversity, no
# Baklava) and their eval with the init's diagnostics.
members() {
	$W train --preset quick --init "$2" --data $D --train $D/train-clean.jsonl --diversity order,lr,dropout \
		--num-members "$3" --epochs "$4" ${5:+--lrs "$5"} -o $S/"$1" >$S/"$1".log 2>&1
	$W eval --data $D --train $D/train-clean.jsonl --members $S/"$1" --init "$2" --max-train 500 -o $S/"$1"/eval >$S/"$1"-eval.log 2>&1
}

# pairs NAME NTRAIN: more training pairs on the full preset's init (6 M tokens;
# runs/full from `bin/warm repro --preset full --out runs/full`): NTRAIN pairs
# with clean labels (val and OOD as the full preset's), the full preset's six
# members (Baklava, lr, dropout, order; no ladder), evaluated as the study does,
# with the init's diagnostics.
pairs() {
	F=${F:-runs/full}
	$W data --preset full --policy $F/pretrain/final --num-train "$2" --pairs-per-prompt 6 -o $S/"$1"/data >$S/"$1"-data.log 2>&1
	$W train --preset full --pretrain $F/pretrain --data $S/"$1"/data --train $S/"$1"/data/train-clean.jsonl -o $S/"$1"/rm >$S/"$1"-train.log 2>&1
	$W eval --data $S/"$1"/data --train $S/"$1"/data/train-clean.jsonl --members $S/"$1"/rm --init $F/pretrain/final --soup -o $S/"$1"/eval >$S/"$1"-eval.log 2>&1
}

# epochs NAME NTRAIN EPOCHS: the quick preset's six members (Baklava, lr,
# dropout, order; no ladder) on NTRAIN clean training pairs for EPOCHS epochs,
# on the quick init (Q), evaluated as the study does with the init's
# diagnostics: more distinct pairs at the same number of steps
# (12000 × 1 against quick's 6000 × 2).
epochs() {
	$W data --preset quick --policy $Q/pretrain/final --num-train "$2" -o $S/"$1"/data >$S/"$1"-data.log 2>&1
	$W train --preset quick --pretrain $Q/pretrain --data $S/"$1"/data --train $S/"$1"/data/train-clean.jsonl --epochs "$3" -o $S/"$1"/rm >$S/"$1"-train.log 2>&1
	$W eval --data $S/"$1"/data --train $S/"$1"/data/train-clean.jsonl --members $S/"$1"/rm --init $Q/pretrain/final -o $S/"$1"/eval >$S/"$1"-eval.log 2>&1
}

"$@"

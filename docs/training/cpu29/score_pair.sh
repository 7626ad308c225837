#!/bin/bash
# Score weight files on denoise recipes (default: the pair rule's `noise` and gaussian25; DEGS= others) on
# data/corpus/val, seeds 10-12 (selection) or, with SEEDS=report, seeds 0-2.
#   bash docs/training/cpu29/score_pair.sh FILE...
cd "$(dirname "$0")/../../.."
seed=10; [ "${SEEDS:-}" = report ] && seed=0
for w in "$@"; do
  for deg in ${DEGS:-noise gaussian25}; do
    r=$(OMP_NUM_THREADS=${THREADS:-1} .venv/bin/drcnet eval --task denoise --weights "$w" \
          --data data/corpus/val --degradation "$deg" --seed "$seed" --draws 3 2>/dev/null \
        | awk '$1 == "DRCNet" {print $2, $3}')
    echo "$w $deg seeds $seed-$((seed + 2)): $r"
  done
done

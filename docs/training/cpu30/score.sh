#!/bin/bash
# Score deblur weight files on a blur recipe, three draws from SEED (10 = selection):
#   [DATA=data/heldout] bash docs/training/cpu30/score.sh blur|blurlin SEED FILE...
cd "$(dirname "$0")/../../.."
deg=$1 seed=$2; shift 2
for w in "$@"; do
  r=$(OMP_NUM_THREADS=${THREADS:-1} .venv/bin/drcnet eval --task deblur --weights "$w" \
        --data "${DATA:-data/corpus/val}" --degradation "$deg" --seed "$seed" --draws 3 \
        2>/dev/null | awk '$1 == "DRCNet" {print $2, $3}')
  echo "$w ${DATA:-data/corpus/val} $deg seeds $seed-$((seed + 2)): $r"
done

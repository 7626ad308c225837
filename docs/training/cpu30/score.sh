#!/bin/bash
# Score deblur weight files on a blur recipe, three draws from SEED (10 = selection); pass
# resources/weights/deblur.safetensors among the FILEs to compare against the shipped file:
#   [DATA=data/heldout] bash docs/training/cpu30/score.sh blur|blurlin SEED FILE...
cd "$(dirname "$0")/../../.."
deg=$1 seed=$2; shift 2
for w in "$@"; do
  out=$(OMP_NUM_THREADS=${THREADS:-1} .venv/bin/drcnet eval --task deblur --weights "$w" \
          --data "${DATA:-data/corpus/val}" --degradation "$deg" --seed "$seed" --draws 3 2>&1)
  r=$(awk '$1 == "DRCNet" {print $2, $3}' <<< "$out")
  if [ -z "$r" ]; then
    echo "$w: drcnet eval failed:" >&2; tail -3 <<< "$out" >&2; exit 1
  fi
  echo "$w ${DATA:-data/corpus/val} $deg seeds $seed-$((seed + 2)): $r"
done

#!/bin/bash
# Score each snapshot of runs/derain-wide-cpu11 on the rule's selection draws (rain seeds
# 10-15) as it appears, one thread, niced; results in runs/derain-wide-cpu11/scores/.
# The measure is pick_weights.py's (drcnet eval on tiles of the training crop, fp32).
# Another run: RUN=runs/deblur-sat-cpu12 TASK=deblur RECIPE=blur bash docs/training/cpu11/score_loop.sh
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
run=${RUN:-runs/derain-wide-cpu11} task=${TASK:-derain} recipe=${RECIPE:-rain}
mkdir -p $run/scores
while :; do
  for snap in $run/step*.safetensors; do
    [ -f "$snap" ] || continue
    name=$(basename "$snap" .safetensors)
    [ -f "$run/scores/$name.csv" ] && continue
    nice -n 5 .venv/bin/drcnet eval --task $task --weights "$snap" --data data/corpus/val \
      --degradation $recipe --seed 10 --draws 6 --csv "$run/scores/$name.csv.part" \
      > "$run/scores/$name.txt" 2>&1 && mv "$run/scores/$name.csv.part" "$run/scores/$name.csv"
    tail -1 "$run/scores/$name.txt"
  done
  [ -f "$run/final.safetensors" ] && ! pgrep -f "out $run" >/dev/null && break
  sleep 60
done

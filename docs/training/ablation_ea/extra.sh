#!/usr/bin/env bash
# The ablation's step-2400 weights scored, after run.sh has finished (written at 18:38, after
# seed 0's runs had been scored; revised at 19:05 after a review found that run.sh's exports,
# final.safetensors, are each run's best-validated snapshot, at steps that differ between the
# runs of a pair). For each run, from last.safetensors (step 2400, the same step for all):
#   eval_last.json:     drcnet eval at noise seed 0, as the rule reads it (README.txt);
#   eval_last_d3.json:  noise draws 0-2 (seeds 0, 1, 2), beside it, not judged;
#   eval_last_off.json: EA-trained runs only, seed 0 with EA switched off at inference (--no-ea,
#                       the GUI's EA toggle on these weights), beside it, not judged.
# Skips what exists; refuses while run.sh's lanes are still training.
#   bash docs/training/ablation_ea/extra.sh && python docs/training/ablation_ea/reading.py
set -u
cd "$(dirname "$0")/../../.."
OUT=${OUT:-runs/ablation_ea}
if pgrep -f "drcnet.cli train .*--out $OUT/" > /dev/null; then
    echo "run.sh is still training in $OUT; run this after it" >&2
    exit 1
fi
ev() { local log=$1; shift
       OMP_NUM_THREADS=1 .venv/bin/drcnet eval --task denoise --data data/corpus/val \
         --degradation gaussian25 --tile 256 --device cpu --plain "$@" > /dev/null 2>> "$log"; }
for dir in "$OUT"/none*/; do
    dir=${dir%/}
    w=$dir/last.safetensors
    [ -f "$dir/final.safetensors" ] && [ -f "$w" ] || continue
    for spec in "eval_last:--seed 0" "eval_last_d3:--seed 0 --draws 3" "eval_last_off:--seed 0 --no-ea"; do
        name=${spec%%:*}
        case "$name,$dir" in eval_last_off,*-noea*) continue ;; esac
        [ -f "$dir/$name.json" ] && continue
        # shellcheck disable=SC2086  # the options split on purpose
        ev "$dir.log" --weights "$w" ${spec#*:} --json "$dir/$name.json" \
            || { echo "$dir: $name failed, see $dir.log" >&2; exit 1; }
    done
done
echo "scored; python docs/training/ablation_ea/reading.py"

#!/bin/bash
# Ship the derain-sat snapshot that passed README.txt's rule, then measure it again where the
# model card quotes the derain file. Two processes at a time (2 cores).
#   bash docs/training/cpu10/finish_derain.sh SNAPSHOT "HISTORY" "SELECTION"
set -euo pipefail
cd "$(dirname "$0")/../../.."
snap=$1 history=$2 selection=$3
export OMP_NUM_THREADS=1
py=.venv/bin/python
$py docs/training/cpu9/ship.py --task derain --history "$history" --selection "$selection" "$snap"
$py scripts/calibrate_range.py --files derain.safetensors --measure-out /tmp/measured_derain.json \
  --write > /tmp/calib_derain.txt &
{ echo '$ drcnet eval --task derain --data data/corpus/val --degradation rain --seed 0 --baselines'
  .venv/bin/drcnet eval --task derain --data data/corpus/val --degradation rain --seed 0 \
    --baselines --plain 2>&1 | grep -v "step [0-9]*/"
  echo
  echo '$ drcnet eval --task derain --data data/corpus/val --degradation rain --seed 0 --draws 6'
  .venv/bin/drcnet eval --task derain --data data/corpus/val --degradation rain --seed 0 \
    --draws 6 --plain 2>&1 | grep -v "step [0-9]*/"
  echo
  echo '$ drcnet eval --task derain --data data/heldout --degradation rain --seed 0 --draws 6 --baselines'
  .venv/bin/drcnet eval --task derain --data data/heldout --degradation rain --seed 0 \
    --draws 6 --baselines --plain 2>&1 | grep -v "step [0-9]*/"
} > /tmp/eval_derain.txt &
wait
$py - <<'PY'
import json
all_ = json.load(open("docs/eval/range/measured.json"))
all_.update(json.load(open("/tmp/measured_derain.json")))
open("docs/eval/range/measured.json", "w").write(json.dumps(all_) + "\n")
PY
{ head -n 3 docs/eval/range/calibration.txt
  echo "# session 10: derain.safetensors replaced and measured again (--files derain.safetensors; its held-out damage with gray outputs for gray inputs)"
  $py scripts/calibrate_range.py --measured docs/eval/range/measured.json; } > /tmp/calibration.txt
mv /tmp/calibration.txt docs/eval/range/calibration.txt
mv /tmp/eval_derain.txt docs/eval/derain_cpu10.txt
$py docs/eval/saturated/check.py > docs/eval/saturated/check.txt &
{ echo "# OMP_NUM_THREADS=1 python docs/eval/saturated/delta_sweets.py   (session 10, after shipping derain-sat)"
  $py docs/eval/saturated/delta_sweets.py; } > /tmp/delta_sweets.txt &
wait
mv /tmp/delta_sweets.txt docs/eval/saturated/delta_sweets.txt
{ echo "# OMP_NUM_THREADS=1 python docs/eval/range/preview_check.py   (session 10 shipped files, fp32)"
  $py docs/eval/range/preview_check.py; } > /tmp/preview_check.txt &
{ echo "# OMP_NUM_THREADS=1 python docs/eval/range/synthetic.py   (session 10 shipped files, fp32; peak / limit, over 1 = flagged)"
  $py docs/eval/range/synthetic.py; } > /tmp/synthetic.txt &
wait
mv /tmp/preview_check.txt docs/eval/range/preview_check.txt
mv /tmp/synthetic.txt docs/eval/range/synthetic.txt
echo done

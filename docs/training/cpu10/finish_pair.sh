#!/bin/bash
# Ship the camera-noise denoiser and its w/o-EA partner of the step README.txt's rule chose,
# then measure them again where the model card quotes them. Two processes at a time (2 cores).
# Prepared in session 10 before scoring; not run, since no step passed the rule (README.txt).
#   bash docs/training/cpu10/finish_pair.sh STEP "SELECTION"
set -euo pipefail
cd "$(dirname "$0")/../../.."
step=$(printf %06d "$1") selection=$2
export OMP_NUM_THREADS=1
py=.venv/bin/python
hist="session 10 on this machine's CPU: sat_aug=3 (saturation augmentation), lr 3e-5, 4 x 256^2,"
hist+=" $((10#$step)) steps as a pair with the w/o-EA file from the shipped pair (docs/training/cpu9, cpu10)"
$py docs/training/cpu9/ship.py --task denoise --history "$hist" --selection "$selection" \
  runs/denoise-sat-cpu9/step$step.safetensors
$py docs/training/cpu9/ship.py --task denoise --variant noea --history "$hist" \
  --selection "$selection (the w/o-EA file of the same step)" \
  runs/denoise-noea-sat-cpu9/step$step.safetensors
# The range check's limits for the two new files.
$py scripts/calibrate_range.py --files denoise.safetensors denoise-noea.safetensors \
  --measure-out /tmp/measured_pair.json --write > /tmp/calib_pair.txt &
# The validation split, as the model card's table (σ=25 and the model's own camera noise).
{ for v in default noea; do for d in gaussian25 noise; do
    echo "\$ drcnet eval --task denoise --variant $v --data data/corpus/val --degradation $d --seed 0"
    .venv/bin/drcnet eval --task denoise --variant $v --data data/corpus/val --degradation $d \
      --seed 0 --plain 2>&1 | grep -v "step [0-9]*/"
  done; done; } > /tmp/eval_pair.txt &
wait
$py - <<'PY'
import json
all_ = json.load(open("docs/eval/range/measured.json"))
all_.update(json.load(open("/tmp/measured_pair.json")))
open("docs/eval/range/measured.json", "w").write(json.dumps(all_) + "\n")
PY
{ head -n 3 docs/eval/range/calibration.txt
  echo "# session 10: denoise.safetensors and denoise-noea.safetensors replaced and measured again (--files denoise.safetensors denoise-noea.safetensors; their held-out damage now with gray outputs for gray inputs)"
  $py scripts/calibrate_range.py --measured docs/eval/range/measured.json; } > /tmp/calibration.txt
mv /tmp/calibration.txt docs/eval/range/calibration.txt
mv /tmp/eval_pair.txt docs/eval/denoise_cpu10.txt
# The saturated-colour check (failure.png too), δ on the sweets, the range-check probes.
$py docs/eval/saturated/check.py > docs/eval/saturated/check.txt &
{ echo "# OMP_NUM_THREADS=1 python docs/eval/saturated/delta_sweets.py   (session 10, after shipping the pair)"
  $py docs/eval/saturated/delta_sweets.py; } > /tmp/delta_sweets.txt &
wait
mv /tmp/delta_sweets.txt docs/eval/saturated/delta_sweets_after.txt
{ echo "# OMP_NUM_THREADS=1 python docs/eval/range/preview_check.py   (session 10 shipped files, fp32)"
  $py docs/eval/range/preview_check.py; } > /tmp/preview_check.txt &
{ echo "# OMP_NUM_THREADS=1 python docs/eval/range/synthetic.py   (session 10 shipped files, fp32; peak / limit, over 1 = flagged)"
  $py docs/eval/range/synthetic.py; } > /tmp/synthetic.txt &
wait
mv /tmp/preview_check.txt docs/eval/range/preview_check.txt
mv /tmp/synthetic.txt docs/eval/range/synthetic.txt
echo done

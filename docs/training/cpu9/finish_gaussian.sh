#!/bin/bash
# Ship the Gaussian denoiser snapshot chosen by README.txt's rule, then measure it again
# everywhere the model card quotes it. Two processes at a time (2 cores).
#   bash docs/training/cpu9/finish_gaussian.sh SNAPSHOT "HISTORY" "SELECTION"
set -euo pipefail
cd "$(dirname "$0")/../../.."
snap=$1 history=$2 selection=$3
export OMP_NUM_THREADS=1
py=.venv/bin/python
$py docs/training/cpu9/ship.py --task denoise --variant gaussian --history "$history" \
  --selection "$selection" "$snap"
# The range check's limit for the new file, then the report for all five files again.
$py scripts/calibrate_range.py --files denoise-gaussian.safetensors \
  --measure-out /tmp/measured_gaussian.json --write > /tmp/calib_gaussian.txt &
bash docs/eval/gaussian/run.sh > /tmp/gaussian_run.txt &
wait
$py - <<'EOF'
import json
all_ = json.load(open("docs/eval/range/measured.json"))
all_.update(json.load(open("/tmp/measured_gaussian.json")))
open("docs/eval/range/measured.json", "w").write(json.dumps(all_) + "\n")
EOF
{ head -n 2 docs/eval/range/calibration.txt
  echo "# session 9, later: denoise-gaussian.safetensors replaced and measured again (--files denoise-gaussian.safetensors)"
  $py scripts/calibrate_range.py --measured docs/eval/range/measured.json; } > /tmp/calibration.txt
mv /tmp/calibration.txt docs/eval/range/calibration.txt
# Held-out photos (with CBM3D), the saturated-colour check, the range-check probes.
{ echo '$ drcnet eval --task denoise --variant gaussian --data data/heldout --degradation gaussian25 --seed 0 --baselines'
  .venv/bin/drcnet eval --task denoise --variant gaussian --data data/heldout --degradation gaussian25 \
    --seed 0 --baselines --plain --csv docs/eval/heldout_denoise-gaussian.csv 2>&1 | grep -v "step [0-9]*/"
} > /tmp/heldout_gaussian.txt &
$py docs/eval/saturated/check.py > docs/eval/saturated/check.txt &
wait
{ echo "# OMP_NUM_THREADS=1 python docs/eval/range/preview_check.py   (session 9 shipped files, fp32; the Gaussian denoiser replaced later in the session)"
  $py docs/eval/range/preview_check.py; } > /tmp/preview_check.txt &
{ echo "# OMP_NUM_THREADS=1 python docs/eval/range/synthetic.py   (session 9 shipped files, fp32; peak / limit, over 1 = flagged; the Gaussian denoiser replaced later in the session)"
  $py docs/eval/range/synthetic.py; } > /tmp/synthetic.txt &
wait
mv /tmp/preview_check.txt docs/eval/range/preview_check.txt
mv /tmp/synthetic.txt docs/eval/range/synthetic.txt
echo done

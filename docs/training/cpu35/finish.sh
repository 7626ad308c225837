#!/bin/bash
# Ship the pair chosen by README.txt's rule, then measure it everywhere the model card quotes
# the Gaussian denoiser, and its new w/o-EA partner. Two processes at a time (2 cores).
#   bash docs/training/cpu35/finish.sh STEP "SELECTION"
set -euo pipefail
cd "$(dirname "$0")/../../.."
step=$1 selection=$2
export OMP_NUM_THREADS=1
py=.venv/bin/python
$py -c "import bm3d" 2>/dev/null || { echo "CBM3D is missing: pip install -e '.[bm3d]' first" >&2; exit 1; }
$py docs/training/cpu35/ship.py --step "$step" --selection "$selection"
# The range check's limits for the two files, merged into the saved measurement of all files.
$py scripts/calibrate_range.py --files denoise-gaussian.safetensors \
  denoise-gaussian-noea.safetensors --merge-into docs/eval/range/measured.json --write \
  > /tmp/calib_cpu35.txt &
bash docs/eval/gaussian/run.sh > /tmp/gaussian_run_cpu35.txt &
wait
{ head -n 4 docs/eval/range/calibration.txt
  echo "# session 35: denoise-gaussian.safetensors replaced and denoise-gaussian-noea.safetensors added, both measured (--files both --merge-into docs/eval/range/measured.json)"
  $py scripts/calibrate_range.py --measured docs/eval/range/measured.json; } > /tmp/calibration.txt
mv /tmp/calibration.txt docs/eval/range/calibration.txt
bash docs/eval/gaussian/unclipped.sh > /tmp/unclipped_cpu35.txt &
{ echo '$ drcnet eval --task denoise --variant gaussian --data data/heldout --degradation gaussian25 --seed 0 --baselines'
  .venv/bin/drcnet eval --task denoise --variant gaussian --data data/heldout --degradation gaussian25 \
    --seed 0 --baselines --plain --csv docs/eval/heldout_denoise-gaussian.csv 2>&1 | grep -v "step [0-9]*/"
} > docs/eval/heldout_denoise-gaussian.txt &
wait
# The w/o-EA partner on the reported draws, and the held-out photos.
for seed in 0 1 2; do
  { echo "\$ drcnet eval --task denoise --variant gaussian-noea --data data/corpus/val --degradation gaussian25 --seed $seed"
    .venv/bin/drcnet eval --task denoise --variant gaussian-noea --data data/corpus/val \
      --degradation gaussian25 --seed $seed --plain 2>&1 | grep -v "step [0-9]*/"
  } > "docs/eval/gaussian/gaussian-noea_gaussian25_seed$seed.txt"
done &
{ echo '$ drcnet eval --task denoise --variant gaussian-noea --data data/heldout --degradation gaussian25 --seed 0'
  .venv/bin/drcnet eval --task denoise --variant gaussian-noea --data data/heldout --degradation gaussian25 \
    --seed 0 --plain 2>&1 | grep -v "step [0-9]*/"
} > docs/eval/heldout_denoise-gaussian-noea.txt &
wait
$py docs/eval/saturated/check.py > docs/eval/saturated/check.txt &
{ echo "# OMP_NUM_THREADS=1 python docs/eval/range/preview_check.py   (session 35 shipped files, fp32)"
  $py docs/eval/range/preview_check.py; } > /tmp/preview_check.txt &
wait
{ echo "# OMP_NUM_THREADS=1 python docs/eval/range/synthetic.py   (session 35 shipped files, fp32; peak / limit, over 1 = flagged)"
  $py docs/eval/range/synthetic.py; } > docs/eval/range/synthetic.txt
mv /tmp/preview_check.txt docs/eval/range/preview_check.txt
echo done

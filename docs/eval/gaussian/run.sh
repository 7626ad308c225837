#!/bin/bash
# Measure the shipped denoise-gaussian weights: every eval below into docs/eval/gaussian/,
# one .txt each with its command on the first line (validation split, CPU fp32, 256-px tiles).
#   bash docs/eval/gaussian/run.sh
set -eu
cd "$(dirname "$0")/../../.."
ev() {  # name, then eval arguments
  local name=$1; shift
  local cmd="drcnet eval --task denoise --data data/corpus/val $*"
  { echo "\$ $cmd"; .venv/bin/$cmd 2>&1 | grep -v "step [0-9]*/"; } > "docs/eval/gaussian/$name.txt"
  tail -n 1 "docs/eval/gaussian/$name.txt" | sed "s/^/$name: /"
}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# Several evals below compare with CBM3D: without it they would overwrite its figures with
# "not installed" (it happened once in session 9).
.venv/bin/python -c "import bm3d" 2>/dev/null || {
  echo "CBM3D is missing: pip install -e '.[bm3d]' first" >&2; exit 1; }
for s in 15 25 50; do ev "gaussian_gaussian$s" --variant gaussian --degradation gaussian$s --seed 0; done
ev gaussian_blind --variant gaussian --degradation gaussian --seed 0
ev default_blind --degradation gaussian --seed 0 --baselines   # CBM3D and NLM get each image's true σ
ev gaussian_noise --variant gaussian --degradation noise --seed 0
ev default_noise --degradation noise --seed 0
ev gaussian_gaussian25_ensemble --variant gaussian --degradation gaussian25 --seed 0 --ensemble
# Other noise draws than the one the checkpoint was picked on (seed 0), CBM3D beside it.
for seed in 1 2; do
  ev "gaussian_gaussian25_seed$seed" --variant gaussian --degradation gaussian25 --seed $seed --baselines
done

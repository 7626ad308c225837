#!/bin/bash
# Export a session-5 checkpoint as the shipped denoise-gaussian weights (fp16) and measure it.
#   bash docs/training/cpu5/finish.sh runs/denoise-gaussian-p2-cpu5/final.safetensors
# Figures go to docs/eval/gaussian/ (one .txt per eval, with its command on the first line).
set -eu
cd "$(dirname "$0")/../../.."
SRC=$1
DST=resources/weights/denoise-gaussian.safetensors
.venv/bin/python - "$SRC" "$DST" <<'PY'
import sys
from drcnet.weights import build_model, read_metadata, save_weights
meta = {k: v for k, v in read_metadata(sys.argv[1]).items() if k not in ("config", "format")}
meta["variant"] = "gaussian"
meta["history"] = ("session 5, CPU (2 cores, 1 thread per run): from the shipped denoise weights "
                   "(burst 3), 1300 steps x 8 x 128^2 of blind Gaussian noise at lr 2e-4 "
                   "(runs/denoise-gaussian-cpu5), then these steps x 4 x 256^2 "
                   "(docs/training/cpu5/cmd.sh)")
save_weights(sys.argv[2], build_model(sys.argv[1]), meta, half=True)
print("wrote", sys.argv[2], "from", sys.argv[1], "step", meta.get("step"))
PY
mkdir -p docs/eval/gaussian
ev() {  # name, then eval arguments
  local name=$1; shift
  local cmd="drcnet eval --task denoise --data data/corpus/val $*"
  { echo "\$ $cmd"; .venv/bin/$cmd 2>&1 | grep -v "step [0-9]*/"; } > "docs/eval/gaussian/$name.txt"
  tail -n 1 "docs/eval/gaussian/$name.txt" | sed "s/^/$name: /"
}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
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

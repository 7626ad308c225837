#!/bin/bash
# Session 6 (burst 4): record the history of the two weight files trained on the H100 and
# measure them on this CPU.
#   bash docs/training/burst4/finish.sh
# Expects the burst's fp16 exports already copied into resources/weights/ (derain from call a,
# denoise-gaussian from call a; call b's derain was not shipped: see README.txt).
# Derain figures go to docs/eval/derain_burst4.txt, Gaussian ones to docs/eval/gaussian/.
set -eu
cd "$(dirname "$0")/../../.."
.venv/bin/python - <<'PY'
from drcnet.weights import build_model, read_metadata, save_weights
history = {
    "derain": "bursts 1-3 on an H100 (docs/MODEL_CARD.md), then session 6's burst 4: these "
              "steps x 32 x 256^2 at lr 5e-4 from burst 3's weights, best validated checkpoint",
    "denoise-gaussian": "session 5, CPU: from the shipped denoise weights, 1300 x 8 x 128^2 at lr "
                        "2e-4 then 1572 x 4 x 256^2 at lr 5e-5; then session 6's burst 4 on an "
                        "H100: these steps x 32 x 256^2 at lr 2e-4, last step",
}
for name, text in history.items():
    path = f"resources/weights/{name}.safetensors"
    meta = {k: v for k, v in read_metadata(path).items() if k not in ("config", "format")}
    if meta.get("history") != text:
        meta["history"] = text
        save_weights(path, build_model(path), meta, half=True)
        print("history recorded in", path)
PY
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
git show caa1a4b:resources/weights/derain.safetensors > /tmp/derain_burst3.safetensors
out=docs/eval/derain_burst4.txt
: > $out
ev() {  # label, then eval arguments
  local label=$1; shift
  local cmd="drcnet eval --task derain --data data/corpus/val --degradation rain $*"
  echo "\$ $cmd" >> $out
  .venv/bin/$cmd 2>&1 | grep -v "step [0-9]*/" | tail -n 2 >> $out
  echo "$label: $(tail -n 1 $out)"
}
for s in 0 1 2 3 4 5; do
  ev "burst 3, seed $s" --weights /tmp/derain_burst3.safetensors --seed $s
  ev "burst 4, seed $s" --seed $s
done
ev "burst 4, ensemble" --seed 0 --ensemble
ev "burst 4, whole image" --seed 0 --tile 0
ev "burst 4, tile 128" --seed 0 --tile 128
bash docs/eval/gaussian/run.sh

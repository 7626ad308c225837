#!/bin/bash
# Export a session-5 checkpoint as the shipped denoise-gaussian weights (fp16) and measure it.
#   bash docs/training/cpu5/finish.sh runs/denoise-gaussian-p2-cpu5/final.safetensors
# Figures go to docs/eval/gaussian/ (docs/eval/gaussian/run.sh). Session 6 replaced the file with
# burst 4's (docs/training/burst4/finish.sh); this script re-creates session 5's.
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
bash docs/eval/gaussian/run.sh

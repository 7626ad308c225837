#!/bin/bash
# Rule step 1 (README.txt): every snapshot of both runs, each run's last step (last.safetensors,
# unless a snapshot holds that step), and the shipped file, on rain seeds 10-15 of the
# validation photos, each on tiles of its training crop, fp32.
#   bash docs/training/cpu13/score.sh > docs/training/cpu13/selection.txt
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
mapfile -t snaps < <(.venv/bin/python - <<'PY'
from pathlib import Path
from drcnet.weights import read_metadata
for run in ("runs/derain-384-cpu13", "runs/derain-512-cpu13"):
    snaps = sorted(Path(run).glob("step*.safetensors"))
    for s in snaps:
        print(s)
    last = Path(run) / "last.safetensors"
    if not snaps or read_metadata(last)["step"] != read_metadata(snaps[-1])["step"]:
        print(last)
PY
)
echo "\$ python scripts/pick_weights.py --task derain --seed 10 --draws 6 ${snaps[*]}"
.venv/bin/python scripts/pick_weights.py --task derain --seed 10 --draws 6 "${snaps[@]}"

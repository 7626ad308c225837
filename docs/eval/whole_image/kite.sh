#!/bin/bash
# A derain file on one photo of smooth, saturated sky (plasma_Kite.png, a training photo) at
# three tile sizes, rain seed 0, the whole photo (1024x640). Found in session 13 when a fine-tune
# on 512-px crops logged a loss of 46 over its first 25 steps: the shipped derain file's outputs
# on 512-px crops of this photo reached 8e7 (docs/training/cpu13/README.txt).
#   bash docs/eval/whole_image/kite.sh [WEIGHTS]  > docs/eval/whole_image/kite.txt
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
W=${1:+--weights $1}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp data/corpus/train/plasma_Kite.png "$tmp/"
echo "# weights: ${1:-the shipped derain.safetensors}"
for t in 256 512 0; do
  # --no-repair: the shipped file has a range-check limit and a candidate snapshot none, so
  # with the repair on only the shipped file would be repaired (an identical copy "lost")
  echo "\$ drcnet eval --task derain $W --data DIR_WITH_plasma_Kite.png --degradation rain --seed 0 --size 0 --tile $t --no-repair"
  .venv/bin/drcnet eval --task derain $W --data "$tmp" --degradation rain --seed 0 --size 0 \
    --tile $t --no-repair 2>/dev/null | grep -E "^(input|DRCNet)"
done
# The peak the range check reads (the shipped file's limit: 12964, resources/weights/
# activation_limits.json; drcnet restore and the GUI warn above it).
.venv/bin/python - "$tmp" ${1:-} <<'PY'
import sys, numpy as np
from pathlib import Path
from drcnet import load_model
from drcnet.degradations import degrade
from drcnet.imageio import read_image
from drcnet.inference import TileConfig, restore_tiled, run
folder, weights = Path(sys.argv[1]), (sys.argv[2] if len(sys.argv) > 2 else None)
model = load_model("derain", weights=weights, device="cpu")
rgb = read_image(folder / "plasma_Kite.png").rgb
rainy, _ = degrade("rain", rgb, np.random.default_rng((0, 0)))
for tile in (256, 512, 0):
    peaks = []
    run(restore_tiled(model, np.clip(rainy, 0, 1), TileConfig(tile=tile, overlap=64 if tile == 256 else 0, repair=False), peaks=peaks))
    print(f"tile {tile}: largest activation peak {max(p.peak for p in peaks):.4g}")
PY

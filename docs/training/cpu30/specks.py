"""Specks and PSNR of deblur weight files on the bundled blurry sample's clean photo, blurred
again by `blur` and by `blurlin` with seed 5 (the sample's own seed; the same kernel for both).
Specks as docs/eval/specks.py counts them: pixels with a channel more than 0.3 from its 3×3
median (the clean photo has none).

    python docs/training/cpu30/specks.py WEIGHTS...
"""

from __future__ import annotations

import sys

import torch

import drcnet
from drcnet.degradations import degrade
from drcnet.imageio import read_image
from drcnet.inference import TileConfig, default_tile, restore_tiled, run
from drcnet.metrics import psnr
from drcnet.registry import RESOURCES

sys.path.insert(0, "docs/eval")
from specks import specks  # noqa: E402

torch.set_num_threads(2)
clean = read_image(RESOURCES / "samples" / "blurry-clean.png").rgb
for w in sys.argv[1:]:
    model = drcnet.load_model("deblur", device="cpu", weights=w)
    for recipe in ("blur", "blurlin"):
        src, _ = degrade(recipe, clean, 5)
        out = run(restore_tiled(model, src, TileConfig(tile=default_tile(model))))
        print(f"{w} {recipe}: input {psnr(src, clean):.2f} dB, restored {psnr(out, clean):.2f} dB, "
              f"specks {specks(out)}")

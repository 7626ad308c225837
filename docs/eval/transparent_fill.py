"""Colour hidden under alpha 0 and the visible part's restoration (session 26).

The bundled blurry sample with its right half made fully transparent and pure blue under it,
deblurred (256-px tiles, CPU fp32), repair on and off: PSNR of the visible (left) half against
the clean sample, with the hidden blue as it is, filled from the nearest visible pixels
(drcnet.imageio.fill_transparent, what every restore path now does), and the visible half
restored alone.

    python docs/eval/transparent_fill.py
"""

from __future__ import annotations

import numpy as np
import torch

import drcnet
from drcnet.imageio import fill_transparent, read_image
from drcnet.inference import TileConfig, restore_tiled, run
from drcnet.metrics import psnr
from drcnet.registry import RESOURCES

torch.set_num_threads(2)
x = read_image(RESOURCES / "samples" / "blurry.png").rgb
gt = read_image(RESOURCES / "samples" / "blurry-clean.png").rgb
h, w = x.shape[:2]
half = w // 2
alpha = np.ones((h, w), np.float32)
alpha[:, half:] = 0
src = x.copy()
src[:, half:] = (0.0, 0.0, 1.0)
model = drcnet.load_model("deblur", device="cpu", precision="fp32")
for repair in (True, False):
    tiles = TileConfig(tile=256, overlap=32, repair=repair)
    cells = []
    for name, inp in (("hidden blue as is", src), ("filled", fill_transparent(src, alpha)),
                      ("visible half alone", x[:, :half])):
        out = run(restore_tiled(model, inp, tiles))
        cells.append(f"{name} {psnr(np.nan_to_num(out[:, :half]), gt[:, :half]):.2f}")
    print(f"repair {'on ' if repair else 'off'}: " + " | ".join(cells) + " dB")

"""The default (camera-noise) denoiser on the sweets photo with the repair on, at the trained
δ (1e-6) and at δ 0.1 (noise seed 0, 256-px tiles, fp32): PSNR, and each tile's first-pass
peak as a multiple of the file's range-check limit (this model is repaired past 20x it).

    OMP_NUM_THREADS=1 python docs/eval/saturated/delta_repair.py
"""

import numpy as np
import torch

from drcnet import load_model
from drcnet.degradations import degrade
from drcnet.imageio import read_image
from drcnet.inference import TileConfig, TilePeak, restore_tiled, run
from drcnet.metrics import psnr

torch.set_num_threads(1)
sweets = read_image("data/heldout/opencv_smarties.png").rgb.astype(np.float32)
bad = degrade("noise", sweets, np.random.default_rng(0))[0]
model = load_model("denoise", "cpu")
for delta in (1e-6, 1e-1):
    model.configure(delta=delta)
    peaks: list[TilePeak] = []
    out = np.clip(run(restore_tiled(model, bad, TileConfig(tile=256, overlap=32), peaks=peaks)),
                  0, 1)
    tiles = ", ".join(
        f"{(p.first_peak if p.first_peak is not None else p.peak) / model.activation_limit:.1f}x"
        + (" repaired" if p.repaired else "") for p in peaks)
    print(f"δ {delta:g}: input {psnr(bad, sweets):.2f} dB, repair on {psnr(out, sweets):.2f} dB;"
          f" tiles {tiles}", flush=True)

"""The shipped models on the sweets photo (each on its own degradation, seed 0, 256-px tiles,
fp32) at several energy-attention coefficients δ, and the camera-noise denoiser's w/o-EA
partner: how much of the saturated-colour failure goes through energy attention.

    OMP_NUM_THREADS=1 python docs/eval/saturated/delta_sweets.py
"""

import numpy as np
import torch

from drcnet import load_model
from drcnet.degradations import degrade
from drcnet.imageio import read_image
from drcnet.inference import TileConfig, TilePeak, restore_tiled, run
from drcnet.metrics import psnr

# repair=False: the failure as the network makes it (the repair, on by default since
# session 15, would restore those tiles again with colours pulled towards gray)
TILES = TileConfig(tile=256, overlap=32, repair=False)
DELTAS = (1e-6, 1e-4, 1e-3, 1e-2, 1e-1)

torch.set_num_threads(1)
sweets = read_image("data/heldout/opencv_smarties.png").rgb.astype(np.float32)
for task, variant, recipe in (("denoise", "default", "noise"), ("denoise", "noea", "noise"),
                              ("denoise", "gaussian", "gaussian25"), ("derain", "default", "rain"),
                              ("deblur", "default", "blur")):
    bad = degrade(recipe, sweets, np.random.default_rng(0))[0]
    model = load_model(task, "cpu", variant=variant)
    cells = []
    for delta in DELTAS if variant != "noea" else (model.knobs.delta,):
        model.configure(delta=delta)
        peaks: list[TilePeak] = []
        out = np.clip(run(restore_tiled(model, bad, TILES, peaks=peaks)), 0, 1)
        label = f"δ {delta:g}" if variant != "noea" else "EA bypassed"
        cells.append(f"{label}: {psnr(out, sweets):.2f} dB (peak {max(p.peak for p in peaks):.3g})")
    print(f"{task} {variant}, {recipe}: input {psnr(bad, sweets):.2f} dB | " + " | ".join(cells),
          flush=True)

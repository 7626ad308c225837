"""Does the Gaussian denoiser break on saturated colour in general, not only on the sweets?
The first 5 validation photos (384-px centre crops), their colour pushed k times from grey
(drcnet.datasets.saturate), σ=25 noise (seed 0), restored at 256-px tiles.

    OMP_NUM_THREADS=1 python docs/training/cpu9/sat_probe.py   (result: sat_probe.txt)
"""

import numpy as np
import torch

from drcnet import load_model
from drcnet.datasets import list_images, saturate
from drcnet.degradations import degrade
from drcnet.imageio import read_image
from drcnet.inference import TileConfig, restore_tiled, run
from drcnet.metrics import psnr


def main() -> None:
    torch.set_num_threads(1)
    model = load_model("denoise", device="cpu", variant="gaussian", precision="fp32")
    for f in list_images("data/corpus/val")[:5]:
        img = read_image(f).rgb.astype(np.float32)
        h, w = img.shape[:2]
        s = min(h, w, 384)
        img = img[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
        row = []
        for k in (1.0, 2.0, 3.0):
            clean = saturate(img, k)
            bad, _ = degrade("gaussian25", clean, np.random.default_rng(0))
            out = np.clip(run(restore_tiled(model, bad, TileConfig(tile=256, overlap=32))), 0, 1)
            row.append(f"k={k:g}: {psnr(bad, clean):.2f} -> {psnr(out, clean):.2f}")
        print(f"{f.name:24s}", " | ".join(row), flush=True)


if __name__ == "__main__":
    main()

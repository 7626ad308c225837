"""Derain on the held-out sweets photo under rain (seed 0): PSNR and the mean error on the green
sweets against elsewhere, for each weight file given ("shipped" = the shipped one).

    OMP_NUM_THREADS=1 python docs/training/cpu8/derain_sweets.py shipped FILE...
"""

import sys

import numpy as np
import torch

from drcnet import load_model
from drcnet.degradations import degrade
from drcnet.imageio import read_image
from drcnet.inference import TileConfig, restore_tiled, run
from drcnet.metrics import psnr
from drcnet.weights import build_model


def main(files: list[str]) -> None:
    torch.set_num_threads(1)
    img = read_image("data/heldout/opencv_smarties.png").rgb.astype(np.float32)
    green = img[..., 1] > 0.5 * (img[..., 0] + img[..., 2]) + 0.3
    bad, _ = degrade("rain", img, np.random.default_rng(0))
    for w in files:
        model = (load_model("derain", device="cpu", precision="fp32") if w == "shipped"
                 else build_model(w).eval())
        out = np.clip(run(restore_tiled(model, bad, TileConfig(tile=256, overlap=32))), 0, 1)
        err = np.abs(out - img).mean(axis=2) * 255
        print(f"{w}: {psnr(out, img):.2f} dB; green {err[green].mean():.1f}/255, "
              f"elsewhere {err[~green].mean():.1f}/255")


if __name__ == "__main__":
    main(sys.argv[1:])

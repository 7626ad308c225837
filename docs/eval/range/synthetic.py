"""Synthetic saturated scenes: three discs of one colour (radius R) on white, 256 px, clean and
degraded with each model's recipe (seed 0); each shipped model's peak as a multiple of its
limit (over 1 = flagged).

    OMP_NUM_THREADS=1 python docs/eval/range/synthetic.py   (result: synthetic.txt)
"""

import cv2
import numpy as np
import torch

from drcnet import load_model
from drcnet.degradations import degrade
from drcnet.inference import TileConfig, TilePeak, restore_tiled, run

MODELS = (("derain", "default", "rain"), ("denoise", "default", "noise"),
          ("denoise", "gaussian", "gaussian25"), ("denoise", "noea", "noise"),
          ("denoise", "gaussian-noea", "gaussian25"), ("deblur", "default", "blur"))


def scene(colour: tuple[float, float, float], radius: int) -> np.ndarray:
    img = np.ones((256, 256, 3), np.float32)
    for x, y in ((70, 80), (180, 160), (90, 200)):
        cv2.circle(img, (x, y), radius, colour, -1)
    return img


def main() -> None:
    torch.set_num_threads(1)
    models = {(t, v): load_model(t, "cpu", variant=v, precision="fp32") for t, v, _ in MODELS}
    print("colour (RGB)      R  input | " + " ".join(f"{t}/{v}" for t, v, _ in MODELS))
    for colour in ((0.0, 1.0, 0.0), (0.0, 0.7, 0.0), (0.0, 0.6, 0.2)):
        for radius in (35, 50):
            for degraded in (False, True):
                cells = []
                for task, variant, recipe in MODELS:
                    model = models[(task, variant)]
                    img = scene(colour, radius)
                    if degraded:
                        img = degrade(recipe, img, np.random.default_rng(0))[0]
                    peaks: list[TilePeak] = []
                    run(restore_tiled(model, img, TileConfig(tile=256, repair=False), peaks=peaks))
                    cells.append(f"{peaks[0].peak / model.activation_limit:9.2g}")
                print(f"{str(colour):16s} {radius:3d} {'degr.' if degraded else 'clean'} | "
                      + " ".join(cells), flush=True)


if __name__ == "__main__":
    main()

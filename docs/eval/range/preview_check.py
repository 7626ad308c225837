"""The GUI previews an image in one pass at up to 512 px (not in 256-px tiles, which the limits
were calibrated on): how far below each shipped model's limit do previews of ordinary photos
stay, and are the sweets still flagged?

    OMP_NUM_THREADS=1 python docs/eval/range/preview_check.py   (result: preview_check.txt)

Each photo of data/corpus/val and data/heldout, shrunk to 512 px (the GUI's default preview),
degraded with the model's recipe (seed 0), through drcnet.compare.analyse as the GUI runs it.
"""

import numpy as np
import torch

from drcnet import load_model
from drcnet.compare import Knobs, analyse, downscale
from drcnet.datasets import list_images
from drcnet.degradations import degrade
from drcnet.imageio import read_image

MODELS = (("derain", "default", "rain"), ("denoise", "default", "noise"),
          ("denoise", "gaussian", "gaussian"), ("denoise", "noea", "noise"),
          ("denoise", "gaussian-noea", "gaussian"), ("deblur", "default", "blur"))


def main() -> None:
    torch.set_num_threads(1)
    files = list_images("data/corpus/val") + list_images("data/heldout")
    for task, variant, recipe in MODELS:
        model = load_model(task, "cpu", variant=variant, precision="fp32")
        peaks = {}
        for f in files:
            img = downscale(read_image(f).rgb.astype(np.float32), 512)
            bad = degrade(recipe, img, np.random.default_rng(0))[0]
            peaks[f.name] = analyse(model, bad, Knobs(model.config.t, model.config.delta,
                                                     model.config.ea), repair=False).range.peak
        sweets = peaks.pop("opencv_smarties.png")
        top = max(peaks, key=peaks.get)
        print(f"{task:7s} {variant:13s} limit {model.activation_limit:8.0f} | ordinary photos "
              f"({len(peaks)}): highest {peaks[top]:8.0f} ({top}), flagged "
              f"{sum(p > model.activation_limit for p in peaks.values())} | sweets {sweets:.0f}",
              flush=True)


if __name__ == "__main__":
    main()

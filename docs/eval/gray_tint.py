"""How much each shipped model tints a gray photo, before drcnet.inference.gray_like makes a
gray input's result gray: each task's bundled sample turned gray (OpenCV's luma), restored at
256-px tiles in fp32 with the averaging switched off, then the largest |R − B| difference and
the number of pixels where it exceeds 20 (of 255).

    OMP_NUM_THREADS=1 python docs/eval/gray_tint.py
"""

import cv2
import numpy as np
import torch

import drcnet.inference as inf
from drcnet import load_model
from drcnet.imageio import read_image

torch.set_num_threads(1)
inf.gray_like = lambda src, out: out  # the raw network output
for task, sample in (("derain", "rain"), ("denoise", "noisy"), ("deblur", "blurry")):
    rgb = read_image(f"resources/samples/{sample}.png").rgb
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None].repeat(3, axis=2)
    out = inf.run(inf.restore_tiled(load_model(task, "cpu"), gray, inf.TileConfig(tile=256)))
    diff = np.abs(out[..., 0] - out[..., 2]) * 255
    print(f"{task:8s} {sample}.png gray, {gray.shape[1]}×{gray.shape[0]}: largest |R−B| "
          f"{diff.max():.0f}/255, {int((diff > 20).sum())} pixels over 20")

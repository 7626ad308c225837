"""Isolated wrong pixels in each shipped model's restoration of its bundled sample.

Counts pixels with a channel more than 0.3 from that channel's 3×3 median, in the input, the
clean photo and the restored output (default tiles, repair on, CPU fp32). A clean photo has
few or none; single-pixel specks a model adds show up as more in the output than in either.

    python docs/eval/specks.py
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

import drcnet
from drcnet.imageio import read_image
from drcnet.inference import TileConfig, default_tile, restore_tiled, run
from drcnet.registry import RESOURCES

SAMPLES = {"derain": "rain", "denoise": "noisy", "deblur": "blurry"}


def specks(rgb: np.ndarray, far: float = 0.3) -> int:
    med = np.stack([cv2.medianBlur(np.ascontiguousarray(rgb[..., c]), 3) for c in range(3)], -1)
    return int((np.abs(rgb - med) > far).any(axis=2).sum())


def main() -> None:
    torch.set_num_threads(2)
    for task, name in SAMPLES.items():
        model = drcnet.load_model(task, device="cpu", precision="fp32")
        src = read_image(RESOURCES / "samples" / f"{name}.png").rgb
        clean = read_image(RESOURCES / "samples" / f"{name}-clean.png").rgb
        out = run(restore_tiled(model, src, TileConfig(tile=default_tile(model))))
        print(f"{task:8s} {src.shape[1]}x{src.shape[0]}: input {specks(src)}, "
              f"clean {specks(clean)}, restored {specks(out)}")


if __name__ == "__main__":
    main()

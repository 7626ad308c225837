"""Would mirrored context at the image's edges help the shipped models? (a measurement, not a
setting: the inference does not pad)

The networks zero-pad their convolutions, so the outermost pixels of every restore are made
from less context (on a flat (200, 100, 50) field the shipped denoiser's corner pixel comes
out (187, 110, 37): the model card's *The image's edges* gives the command). This
restores crops of scikit-image's colour photos, degraded with each task's recipe (seeded),
as they are (P = 0) and with P px of mirrored context around them (cropped off again), and
prints PSNR against the clean crop over the whole crop, its outer 4-px band and the rest.

    python scripts/border_context.py > docs/eval/border_context.txt
"""

from __future__ import annotations

import numpy as np
import torch
from skimage import data

from drcnet import load_model
from drcnet.degradations import degrade
from drcnet.inference import TileConfig, restore_tiled, run
from drcnet.metrics import psnr

SIDE = 192
PADS = (0, 8, 16)
RECIPES = {"denoise": ("gaussian", "gaussian25"), "derain": ("default", "rain"),
           "deblur": ("default", "blur")}


def crops() -> list[np.ndarray]:
    out = []
    for name in ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry",
                 "hubble_deep_field", "retina", "colorwheel"):
        im = getattr(data, name)()
        if im.ndim != 3 or im.shape[2] < 3:
            continue
        im = im[..., :3].astype(np.float32) / 255
        h, w = im.shape[:2]
        for y, x in ((0, 0), (0, w - SIDE), (h - SIDE, 0), (h - SIDE, w - SIDE)):
            out.append(np.ascontiguousarray(im[y : y + SIDE, x : x + SIDE]))
    return out


def main() -> None:
    torch.set_num_threads(2)
    photos = crops()
    band = np.ones((SIDE, SIDE), bool)
    band[4:-4, 4:-4] = False
    print(f"{len(photos)} crops of {SIDE}×{SIDE} px; PSNR in dB, mean over crops")
    print(f"{'task':8s} {'recipe':10s} {'P':>3s} {'whole':>7s} {'band4':>7s} {'inner':>7s}")
    for task, (variant, recipe) in RECIPES.items():
        model = load_model(task, device="cpu", variant=variant)
        rows: dict[int, list[tuple[float, float, float]]] = {p: [] for p in PADS}
        for i, clean in enumerate(photos):
            deg, _ = degrade(recipe, clean, np.random.default_rng(1000 + i))
            for p in PADS:
                x = np.pad(deg, ((p, p), (p, p), (0, 0)), mode="symmetric") if p else deg
                out = run(restore_tiled(model, x, TileConfig(tile=0)))
                out = out[p : p + SIDE, p : p + SIDE]
                rows[p].append((psnr(out, clean), psnr(out[band], clean[band]),
                                psnr(out[~band], clean[~band])))
        for p, r in rows.items():
            a = np.array(r).mean(axis=0)
            print(f"{task:8s} {recipe:10s} {p:3d} {a[0]:7.2f} {a[1]:7.2f} {a[2]:7.2f}",
                  flush=True)


if __name__ == "__main__":
    main()

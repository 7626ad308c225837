"""What blurring in linear light changes: one crop of a photo, clean, blurred by `blur` (sRGB
values) and by `blurlin` (linear light) with the same kernel and noise, and the shipped deblur
model (and any LABEL=WEIGHTS given) on the `blurlin` input. Writes figure.jpg beside this file.

    python docs/eval/blur_linear/figure.py [PHOTO] [SEED] [LABEL=WEIGHTS ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from drcnet import load_model
from drcnet.degradations import degrade
from drcnet.imageio import read_image
from drcnet.inference import restore_tiled, run
from drcnet.metrics import psnr


def main() -> None:
    photo = sys.argv[1] if len(sys.argv) > 1 else "data/corpus/val/plasma_Path.png"
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    models = [("shipped", None), *(tuple(a.split("=", 1)) for a in sys.argv[3:])]
    img = read_image(photo).rgb
    # The 256-px crop with the most near-white pixels next to dark ones, on a 32-px grid.
    luma = img.mean(axis=2)
    dark_near = cv2.dilate((luma < 0.25).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    bright = ((img.max(axis=2) > 0.9) & dark_near).astype(np.float32)
    best, at = -1.0, (0, 0)
    for y in range(0, img.shape[0] - 256 + 1, 32):
        for x in range(0, img.shape[1] - 256 + 1, 32):
            share = float(bright[y : y + 256, x : x + 256].mean())
            if share > best:
                best, at = share, (y, x)
    y, x = at
    crop = np.ascontiguousarray(img[y : y + 256, x : x + 256])
    loaded = [(label, load_model("deblur", device="cpu", weights=w)) for label, w in models]
    rows, summary, info = [], [], {}
    for recipe in ("blur", "blurlin"):
        degraded, info = degrade(recipe, crop, seed)
        panels = [(crop, "clean"), (degraded, f"{recipe} {psnr(degraded, crop):.2f} dB")]
        for label, model in loaded:
            out = run(restore_tiled(model, degraded))
            panels.append((out, f"{label} {psnr(out, crop):.2f} dB"))
        summary.append(f"{recipe}: " + ", ".join(text for _, text in panels[1:]))
        rows.append(np.hstack([_panel(p, text) for p, text in panels]))
    sheet = np.vstack(rows)
    out_path = Path(__file__).with_name("figure.jpg")
    cv2.imwrite(str(out_path), sheet, [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(f"{photo} crop at y={y}, x={x} ({best:.1%} near white beside dark), seed {seed}, kernel "
          f"{info['size']} px, noise σ {info['sigma']:.2f}/255; " + "; ".join(summary))
    print(f"wrote {out_path}")


def _panel(rgb: np.ndarray, text: str) -> np.ndarray:
    """A 256-px crop as 8-bit BGR under a caption, with a white gutter on its right."""
    u8 = cv2.cvtColor((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8), cv2.COLOR_RGB2BGR)
    bar = np.full((24, u8.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    tile = np.vstack([bar, u8, np.full((4, u8.shape[1], 3), 255, np.uint8)])
    return np.hstack([tile, np.full((tile.shape[0], 4, 3), 255, np.uint8)])


if __name__ == "__main__":
    main()

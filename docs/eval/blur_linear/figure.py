"""What blurring in linear light changes: one crop of a photo, clean, blurred by `blur` (sRGB
values) and by `blurlin` (linear light) with the same kernel and noise, and the shipped deblur
model (and any LABEL=WEIGHTS given) on each input. Writes figure.jpg beside this file.

    python docs/eval/blur_linear/figure.py [PHOTO] [SEED] [LABEL=WEIGHTS ...]

With ``--recipes A,B`` other recipes are compared (session 31: ``blurlin,blursat``), with
``--clipped`` the crop is the one with the most clipped white (all three channels ≥ 0.96)
beside dark instead of near white, and ``--out FILE`` writes elsewhere:

    python docs/eval/blur_linear/figure.py PHOTO SEED --recipes blurlin,blursat --clipped \
        --out docs/eval/blur_saturated/figure.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from drcnet import load_model
from drcnet.degradations import degrade
from drcnet.imageio import read_image
from drcnet.inference import restore_tiled, run
from drcnet.metrics import psnr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("photo", nargs="?", default="data/corpus/val/plasma_Path.png")
    ap.add_argument("seed", nargs="?", type=int, default=3)
    ap.add_argument("models", nargs="*", metavar="LABEL=WEIGHTS")
    ap.add_argument("--recipes", default="blur,blurlin")
    ap.add_argument("--clipped", action="store_true")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("figure.jpg"))
    args = ap.parse_args()
    photo, seed = args.photo, args.seed
    models = [("shipped", None), *(tuple(a.split("=", 1)) for a in args.models)]
    img = read_image(photo).rgb
    # The 256-px crop with the most near-white (or clipped) pixels next to dark ones, on a
    # 32-px grid.
    luma = img.mean(axis=2)
    dark_near = cv2.dilate((luma < 0.25).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    white = img.min(axis=2) >= 0.96 if args.clipped else img.max(axis=2) > 0.9
    bright = (white & dark_near).astype(np.float32)
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
    for recipe in args.recipes.split(","):
        degraded, info = degrade(recipe, crop, seed)
        panels = [(crop, "clean"), (degraded, f"{recipe} {psnr(degraded, crop):.2f} dB")]
        for label, model in loaded:
            out = run(restore_tiled(model, degraded))
            panels.append((out, f"{label} {psnr(out, crop):.2f} dB"))
        gain = f" (gain {info['gain']:.1f})" if "gain" in info else ""
        summary.append(f"{recipe}{gain}: " + ", ".join(text for _, text in panels[1:]))
        rows.append(np.hstack([_panel(p, text) for p, text in panels]))
    sheet = np.vstack(rows)
    out_path = args.out
    cv2.imwrite(str(out_path), sheet, [cv2.IMWRITE_JPEG_QUALITY, 90])
    kind = "clipped" if args.clipped else "near"
    print(f"{photo} crop at y={y}, x={x} ({best:.1%} {kind} white beside dark), seed {seed}, "
          f"kernel {info['size']} px, noise σ {info['sigma']:.2f}/255; " + "; ".join(summary))
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

"""What blurring in linear light changes: one crop of a validation photo, clean, blurred by
`blur` (sRGB values) and by `blurlin` (linear light) with the same kernel and noise, and the
shipped deblur model (or WEIGHTS) on the `blurlin` input. Writes figure.png beside this file.

    python docs/eval/blur_linear/figure.py [PHOTO] [SEED] [WEIGHTS]
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
    photo = sys.argv[1] if len(sys.argv) > 1 else "data/corpus/val/plasma_FallenLeaf.png"
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    weights = sys.argv[3] if len(sys.argv) > 3 else None
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
    srgb, info = degrade("blur", crop, seed)
    lin, _ = degrade("blurlin", crop, seed)
    model = load_model("deblur", weights=weights) if weights else load_model("deblur")
    out = run(restore_tiled(model, lin))
    panels = [crop, srgb, lin, out]
    labels = ["clean", f"blur (sRGB) {psnr(srgb, crop):.2f} dB",
              f"blurlin {psnr(lin, crop):.2f} dB", f"DRCNet on blurlin {psnr(out, crop):.2f} dB"]
    tiles = []
    for p, text in zip(panels, labels, strict=True):
        u8 = cv2.cvtColor((np.clip(p, 0, 1) * 255 + 0.5).astype(np.uint8), cv2.COLOR_RGB2BGR)
        bar = np.full((24, 256, 3), 255, np.uint8)
        cv2.putText(bar, text, (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        tiles.append(np.vstack([bar, u8]))
    sheet = np.hstack([np.hstack([t, np.full((t.shape[0], 4, 3), 255, np.uint8)]) for t in tiles])
    out_path = Path(__file__).with_name("figure.png")
    cv2.imwrite(str(out_path), sheet)
    print(f"{photo} crop at y={y}, x={x} ({best:.1%} near white beside dark), seed {seed}, kernel "
          f"{info['size']} px, noise σ {info['sigma']:.2f}/255: " + "; ".join(labels[1:]))
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()

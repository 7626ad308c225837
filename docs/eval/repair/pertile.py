"""Per flagged tile: its peak over the limit and its PSNR, as is and restored with its colours
pulled towards gray by 0.75, 0.5 and 0.25 (drcnet.inference.desaturate / resaturate), each tile
alone (no blending), fp32, 256-px tiles. Sets: the validation photos (centre <= 512 px) with
colour pushed 3x and 5x from grey, rain/blur/noise seeds 10-12; the sweets photo, seeds 0-2.
Tiles within the limit are skipped. Each line: model set photo seed y x, then four pairs
(peak/limit, PSNR) for factor 1 (as is), 0.75, 0.5, 0.25.

    OMP_NUM_THREADS=1 python docs/eval/repair/pertile.py dn noea gauss > /tmp/pt_a.txt
    OMP_NUM_THREADS=1 python docs/eval/repair/pertile.py deblur derain > /tmp/pt_b.txt
    python docs/eval/repair/pertile_summary.py /tmp/pt_a.txt /tmp/pt_b.txt
"""
import sys

import numpy as np

from drcnet import load_model
from drcnet.datasets import list_images, saturate
from drcnet.degradations import degrade
from drcnet.imageio import read_image
from drcnet.inference import (
    PeakProbe,
    TileConfig,
    desaturate,
    forward_batch,
    resaturate,
    restore_tiled,
    run,
)
from drcnet.metrics import psnr

MODELS = {"dn": ("denoise", "default", "noise"), "noea": ("denoise", "noea", "noise"),
          "gauss": ("denoise", "gaussian", "gaussian25"),
          "derain": ("derain", "default", "rain"), "deblur": ("deblur", "default", "blur")}


def centre(img: np.ndarray, size: int = 512) -> np.ndarray:
    h, w = img.shape[:2]
    ch, cw = min(h, size), min(w, size)
    return img[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw]


def one(model, crop: np.ndarray) -> tuple[np.ndarray, float]:  # noqa: ANN001
    probe = PeakProbe(model)
    with probe:
        out = forward_batch(model, crop[None])[0]
    return out, float(probe.store[0].max())


def main() -> None:
    for key in sys.argv[1:]:
        task, variant, recipe = MODELS[key]
        model = load_model(task, device="cpu", variant=variant, precision="fp32")
        limit = model.activation_limit
        val = [centre(read_image(f).rgb.astype(np.float32))
               for f in list_images("data/corpus/val")]
        sets = [(f"val x{s:g}", [saturate(v, s) for v in val], (10, 11, 12)) for s in (3.0, 5.0)]
        sets.append(("sweets", [read_image("data/heldout/opencv_smarties.png").rgb
                                .astype(np.float32)], (0, 1, 2)))
        for name, imgs, seeds in sets:
            for i, img in enumerate(imgs):
                for seed in seeds:
                    bad = degrade(recipe, img, np.random.default_rng(seed))[0]
                    peaks = []
                    run(restore_tiled(model, bad, TileConfig(repair=False), peaks=peaks))
                    for p in peaks:
                        if p.peak <= limit:
                            continue
                        sl = (slice(p.y, p.y + p.h), slice(p.x, p.x + p.w))
                        crop, clean = bad[sl], img[sl]
                        res = []
                        for k in (1.0, 0.75, 0.5, 0.25):
                            out, pk = one(model, desaturate(crop, k) if k < 1 else crop)
                            if k < 1:
                                out = resaturate(out, k)
                            res.append(f"{pk / limit:.3g} {psnr(np.clip(out, 0, 1), clean):.3f}")
                        print(key, name.replace(" ", "_"), i, seed, p.y, p.x, " ".join(res),
                              flush=True)


if __name__ == "__main__":
    main()

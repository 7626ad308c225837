"""The range check's repair (drcnet.inference.repair_tiles) against no repair, on the shipped
models: the sweets photo, the validation photos with their colour pushed from grey, the
held-out photos, and the kite photo restored whole.

    OMP_NUM_THREADS=1 python docs/eval/repair/measure.py denoise:default denoise:noea \
        denoise:gaussian > docs/eval/repair/measure-denoise.txt
    OMP_NUM_THREADS=1 python docs/eval/repair/measure.py derain:default deblur:default \
        > docs/eval/repair/measure-derain-deblur.txt
    (no arguments: every model)

Each model on its own degradation, fp32, tiles of the file's training crop (256 px), overlap 32,
except the kite (one whole-image pass, where the shipped derain breaks: docs/MODEL_CARD.md).
Photos are centre crops of at most 512 px, as drcnet eval's. 'tiles' counts tiles over the
limit without repair (flagged) and, with it, those repaired and those still over the limit.
"""

from __future__ import annotations

import sys

import numpy as np

from drcnet import load_model
from drcnet.datasets import list_images, saturate
from drcnet.degradations import degrade
from drcnet.imageio import read_image
from drcnet.inference import TileConfig, TilePeak, restore_tiled, run
from drcnet.metrics import psnr
from drcnet.range_check import check_peaks

MODELS = (("denoise", "default", "noise"), ("denoise", "noea", "noise"),
          ("denoise", "gaussian", "gaussian25"), ("derain", "default", "rain"),
          ("deblur", "default", "blur"))


def centre(img: np.ndarray, size: int = 512) -> np.ndarray:
    h, w = img.shape[:2]
    ch, cw = min(h, size), min(w, size)
    return img[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw]


def both(model, bad: np.ndarray, clean: np.ndarray, tile: int = 256):  # noqa: ANN001, ANN201
    """PSNR without and with repair, and the two reports."""
    scores, reports = [], []
    for repair in (False, True):
        peaks: list[TilePeak] = []
        out = run(restore_tiled(model, bad, TileConfig(tile=tile, overlap=32 if tile else 0,
                                                       repair=repair), peaks=peaks))
        scores.append(psnr(out, clean))
        reports.append(check_peaks(peaks, model.activation_limit))
    return scores, reports


def tiles_text(off, on) -> str:  # noqa: ANN001
    return (f"flagged {len(off.flagged)}/{len(off.tiles)}; with repair: repaired "
            f"{len(on.repaired)}, still over {len(on.flagged)}")


def spread(changes: list[float]) -> str:
    return f", by {min(changes):+.2f} to {max(changes):+.2f} dB" if changes else ""


def main() -> None:
    val = [(f.stem, centre(read_image(f).rgb.astype(np.float32)))
           for f in list_images("data/corpus/val")]
    held = [(f.stem, centre(read_image(f).rgb.astype(np.float32)))
            for f in list_images("data/heldout")]
    sweets = read_image("data/heldout/opencv_smarties.png").rgb.astype(np.float32)
    wanted = set(sys.argv[1:])
    for task, variant, recipe in MODELS:
        if wanted and f"{task}:{variant}" not in wanted:
            continue
        model = load_model(task, device="cpu", variant=variant, precision="fp32")
        print(f"== {task} {variant} ({recipe}), limit {model.activation_limit:.0f}, repaired "
              f"past {model.repair_above:g}x it", flush=True)
        bad = degrade(recipe, sweets, np.random.default_rng(0))[0]
        (off, on), (r0, r1) = both(model, bad, sweets)
        print(f"sweets, seed 0: input {psnr(bad, sweets):.2f} dB; no repair {off:.2f}, "
              f"repair {on:.2f} dB; {tiles_text(r0, r1)}", flush=True)
        for name, photos, sats, seeds in (("validation", val, (1.0, 3.0, 5.0), (10, 11, 12)),
                                          ("held-out", held, (1.0,), (0,))):
            for s in sats:
                offs, ons, changes, flagged, repaired, still, n = [], [], [], 0, 0, 0, 0
                for _stem, img in photos:
                    vivid = saturate(img, s) if s != 1.0 else img
                    for seed in seeds:
                        b = degrade(recipe, vivid, np.random.default_rng(seed))[0]
                        (p0, p1), (q0, q1) = both(model, b, vivid)
                        offs.append(p0)
                        ons.append(p1)
                        flagged += len(q0.flagged)
                        repaired += len(q1.repaired)
                        still += len(q1.flagged)
                        n += len(q0.tiles)
                        if q1.repaired:
                            changes.append(p1 - p0)
                print(f"{name} photos, colour x{s:g}, seeds {list(seeds)}: no repair "
                      f"{np.mean(offs):.3f}, repair {np.mean(ons):.3f} dB ({len(offs)} images, "
                      f"{len(changes)} changed{spread(changes)}); tiles flagged "
                      f"{flagged}/{n}, repaired {repaired}, still over {still}", flush=True)
        if task == "derain":
            kite = read_image("data/corpus/train/plasma_Kite.png").rgb.astype(np.float32)
            bad = degrade(recipe, kite, np.random.default_rng(0))[0]
            for tile in (256, 0):
                (off, on), (r0, r1) = both(model, bad, kite, tile)
                print(f"kite, rain seed 0, {'whole image' if not tile else f'{tile}-px tiles'}:"
                      f" no repair {off:.2f}, repair {on:.2f} dB; {tiles_text(r0, r1)}",
                      flush=True)


if __name__ == "__main__":
    main()

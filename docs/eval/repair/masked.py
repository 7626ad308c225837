"""Whole-tile repair against a repair kept only where the trouble is.

The range check's repair (drcnet.inference.repair_tiles) replaces a flagged tile's whole pass
with one restored with its colours pulled towards gray, then pushed back; the push scales the
model's colour error by 1/factor everywhere in the tile, not only on the bright object that
broke the pass. This measures keeping the repaired pass only where the as-is pass's peak map
(the deepest stage-2 block, one cell per 8 px) is over the limit, grown by G cells and
feathered by a Gaussian of that width, and the as-is pass elsewhere.

Tiles as pertile.py picks them (the validation photos' centres with colour pushed 3x and 5x
from grey, seeds 10-12; the sweets from data/heldout, seeds 0-2), 256-px tiles, fp32, each tile
alone; only tiles the repair would restore again (past the model's repair_above) and that a
factor brings back within the limit (the tiles the repair changes). Per set: the mean PSNR of
the tiles as is, whole-tile repaired and masked at each G, over the tile, and over the tile's
part outside the grown mask at the largest G (where a masked repair keeps the as-is pass).

    OMP_NUM_THREADS=2 python docs/eval/repair/masked.py deblur derain dn

Needs data/corpus/val (scripts/build_corpus.py) and data/heldout (scripts/build_heldout.py).
"""
import sys

import cv2
import numpy as np
from pertile import MODELS, centre  # the same tiles as pertile.py (run from this folder's path)

from drcnet import load_model
from drcnet.datasets import list_images, saturate
from drcnet.degradations import degrade
from drcnet.imageio import read_image
from drcnet.inference import (
    REPAIR_COLOURS,
    PeakProbe,
    TileConfig,
    desaturate,
    forward_batch,
    resaturate,
    restore_tiled,
    run,
)
from drcnet.metrics import psnr
from drcnet.range_check import repair_above

GROW = (1, 2, 4)


def one(model, crop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """The pass's output and its peak map (cells of model.multiple px)."""
    probe = PeakProbe(model)
    with probe:
        out = forward_batch(model, crop[None])[0]
    cell = model.multiple
    h, w = crop.shape[:2]
    return out, probe.store[0][0, : -(-h // cell), : -(-w // cell)].numpy()


def weight(over: np.ndarray, grow: int, cell: int, hw: tuple[int, int]) -> np.ndarray:
    """1 where the repaired pass is kept, 0 where the as-is one is, feathered between."""
    k = 2 * grow + 1
    grown = cv2.dilate(over.astype(np.uint8), np.ones((k, k), np.uint8))
    px = cv2.resize(grown, (grown.shape[1] * cell, grown.shape[0] * cell),
                    interpolation=cv2.INTER_NEAREST)[: hw[0], : hw[1]].astype(np.float32)
    sigma = grow * cell / 2
    return np.clip(cv2.GaussianBlur(px, (0, 0), sigma) * 2, 0, 1)[..., None]


def main() -> None:
    for key in sys.argv[1:]:
        task, variant, recipe = MODELS[key]
        model = load_model(task, device="cpu", variant=variant, precision="fp32")
        limit, above, cell = model.activation_limit, repair_above(task), model.multiple
        val = [centre(read_image(f).rgb.astype(np.float32))
               for f in list_images("data/corpus/val")]
        sets = [(f"val x{s:g}", [saturate(v, s) for v in val], (10, 11, 12)) for s in (3.0, 5.0)]
        sets.append(("sweets", [read_image("data/heldout/opencv_smarties.png").rgb
                                .astype(np.float32)], (0, 1, 2)))
        for name, imgs, seeds in sets:
            rows = []
            for img in imgs:
                for seed in seeds:
                    bad = degrade(recipe, img, np.random.default_rng(seed))[0]
                    peaks = []
                    run(restore_tiled(model, bad, TileConfig(repair=False), peaks=peaks))
                    for p in peaks:
                        if p.peak <= limit * above:
                            continue
                        sl = (slice(p.y, p.y + p.h), slice(p.x, p.x + p.w))
                        crop, clean = bad[sl], img[sl]
                        first, fmap = one(model, crop)
                        for k in REPAIR_COLOURS:
                            out, kmap = one(model, desaturate(crop, k))
                            if kmap.max() <= limit:
                                fixed = resaturate(out, k)
                                break
                        else:
                            continue
                        over = ~(fmap <= limit)
                        row = [psnr(np.clip(first, 0, 1), clean), psnr(fixed, clean)]
                        for g in GROW:
                            wgt = weight(over, g, cell, crop.shape[:2])
                            row.append(psnr(np.clip(wgt * fixed + (1 - wgt) * first, 0, 1),
                                            clean))
                        outside = weight(over, GROW[-1], cell, crop.shape[:2])[..., 0] == 0
                        if outside.any():
                            o = outside
                            row += [psnr(np.clip(first, 0, 1)[o], clean[o]),
                                    psnr(fixed[o], clean[o]), float(o.mean())]
                        else:
                            row += [np.nan, np.nan, 0.0]
                        rows.append(row)
            if not rows:
                print(f"{key} {name}: no tile repaired", flush=True)
                continue
            a = np.array(rows)
            grow = "  ".join(f"masked G{g} {a[:, 2 + i].mean():.2f}" for i, g in enumerate(GROW))
            out_ok = a[~np.isnan(a[:, -3])]
            print(f"{key} {name}: {len(a)} tiles; as is {a[:, 0].mean():.2f}, whole tile "
                  f"{a[:, 1].mean():.2f}, {grow} dB; worst masked G{GROW[-1]} - whole "
                  f"{(a[:, 1 + len(GROW)] - a[:, 1]).min():+.2f}", flush=True)
            if len(out_ok):
                print(f"    outside the G{GROW[-1]} mask ({len(out_ok)} tiles, "
                      f"{out_ok[:, -1].mean():.0%} of a tile): as is {out_ok[:, -3].mean():.2f}, "
                      f"whole-tile repaired {out_ok[:, -2].mean():.2f} dB", flush=True)


if __name__ == "__main__":
    main()

"""Saturated-colour check on the validation photos: each photo's colour pushed S times from
grey, degraded with the task's recipe (the given seeds, one draw per seed and photo, as
``degrade(recipe, img, default_rng(seed))``), restored in tiles of each file's training crop
(256 px for every file before session 13), overlap 32. Prints, per S, the mean PSNR, the
worst output-minus-input gain over photos and draws, and the largest tile peak against the
shipped file's range-check limit; with --per-photo, each photo's input -> output.

    OMP_NUM_THREADS=1 python docs/training/cpu10/sat_worst.py --task denoise shipped FILE... \
        --sat 3 5 --seeds 10 11 12
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from drcnet import load_model
from drcnet.datasets import list_images, saturate
from drcnet.degradations import TASK_DEFAULT, degrade
from drcnet.imageio import read_image
from drcnet.inference import TileConfig, TilePeak, default_tile, restore_tiled, run
from drcnet.metrics import psnr
from drcnet.weights import build_model

OVERLAP = 32


def centre(img: np.ndarray, size: int = 512) -> np.ndarray:
    h, w = img.shape[:2]
    ch, cw = min(h, size), min(w, size)
    return img[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--task", required=True)
    ap.add_argument("--variant", default="default")
    ap.add_argument("--sat", type=float, nargs="+", default=[3.0, 5.0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--per-photo", action="store_true")
    args = ap.parse_args()
    recipe = TASK_DEFAULT[args.task] if args.variant != "gaussian" else "gaussian25"
    limit = load_model(args.task, "cpu", variant=args.variant).activation_limit
    photos = [(f.stem, centre(read_image(f).rgb.astype(np.float32)))
              for f in list_images("data/corpus/val")]
    print(f"{args.task} {args.variant}, {recipe} seeds {args.seeds}; limit = the shipped "
          f"file's range-check limit ({limit:.0f})")
    for name in args.files:
        model = (load_model(args.task, "cpu", variant=args.variant) if name == "shipped"
                 else build_model(name).eval())
        # repair=False: the shipped file has a range-check limit and a candidate snapshot
        # none, so with the repair on (the default) only the shipped file would be repaired
        tiles = TileConfig(tile=default_tile(model), overlap=OVERLAP, repair=False)
        for s in args.sat:
            outs, gains, cells, top = [], [], [], 0.0
            for stem, img in photos:
                vivid = saturate(img, s)
                for seed in args.seeds:
                    bad = degrade(recipe, vivid, np.random.default_rng(seed))[0]
                    peaks: list[TilePeak] = []
                    out = np.clip(run(restore_tiled(model, bad, tiles, peaks=peaks)), 0, 1)
                    pin, pout = psnr(bad, vivid), psnr(out, vivid)
                    outs.append(pout)
                    gains.append(pout - pin)
                    top = max(top, max(p.peak for p in peaks))
                    cells.append(f"{stem.split('_', 1)[1]}/{seed} {pin:.2f}->{pout:.2f}")
            print(f"{name} x{s:g} (tile {tiles.tile}): mean {np.mean(outs):.3f} | worst gain "
                  f"{min(gains):+.2f} dB | largest peak {top:.0f} ({top / limit:.2f}x limit)"
                  + (" | " + "; ".join(cells) if args.per_photo else ""), flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()

#!/usr/bin/env python
"""Build a held-out test set of photos that no model trains or is selected on: ``data/heldout/``.

Eight photographs from Debian's ``opencv-doc`` sample images (``examples/data``, BSD-3-Clause,
per-image terms) that ``scripts/build_corpus.py`` leaves out of the training corpus (its
``OPENCV_SKIP`` and gray filters): graffiti walls, sweets, a circuit board, a desk, a notebook,
and two grayscale indoor scenes. Session 8 added it after finding that a model can gain on the
training photos and on the validation draws' eight photos disagree (docs/training/burst5/):
selection uses ``data/corpus/val``, and this set answers whether a pick generalises.

    python scripts/build_heldout.py [--cache data/cache] [--out data/heldout]
    drcnet eval --task derain --data data/heldout --degradation rain --seed 10 --draws 2

Needs the ``opencv-doc`` package in ``--cache`` (``build_corpus.py`` fetches it). The photos are
saved as PNG at their own size (384 to 902 px wide); nothing is committed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_corpus import OPENCV_DATA, fetch_packages  # noqa: E402

PHOTOS = ("graf1.png", "graf3.png", "smarties.png", "board.jpg", "stuff.jpg",
          "ela_original.jpg", "basketball1.png", "box_in_scene.png")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", type=Path, default=Path("data/cache"))
    ap.add_argument("--out", type=Path, default=Path("data/heldout"))
    args = ap.parse_args(argv)
    src = fetch_packages(args.cache) / OPENCV_DATA
    args.out.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        bgr = cv2.imread(str(src / name), cv2.IMREAD_COLOR)
        if bgr is None:
            print(f"error: cannot read {src / name}", file=sys.stderr)
            return 1
        out = args.out / f"opencv_{Path(name).stem}.png"
        cv2.imwrite(str(out), bgr)
        print(f"{out} ({bgr.shape[1]}x{bgr.shape[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

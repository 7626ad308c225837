"""How often the blur recipe's camera-shake kernels are broken into separate pieces.

A continuous camera path leaves a continuous streak. Until session 29 the recipe splatted
the 64 points of a random walk (up to 31 px long) without filling the steps between them, so
a fast stretch left gaps (12.4 % of kernels split; docs/eval/kernel_gaps.txt); it now fills
each step with points at most half a pixel apart. Draws ``--draws`` kernels as the ``blur``
recipe does and counts their 8-connected pieces, and how much of a split kernel's weight lies
outside its largest piece.

    python scripts/kernel_gaps.py [--draws 500]
"""

from __future__ import annotations

import argparse
import sys

import cv2
import numpy as np

from drcnet.degradations import degrade


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=500)
    args = ap.parse_args(argv)
    img = np.zeros((40, 40, 3), np.float32)
    pieces, outside = [], []
    for i in range(args.draws):
        kernel = degrade("blur", img, np.random.default_rng((1, i)))[1]["kernel"]
        n, labels, _, _ = cv2.connectedComponentsWithStats((kernel > 0).astype(np.uint8),
                                                           connectivity=8)
        pieces.append(n - 1)
        if n > 2:
            mass = [float(kernel[labels == j].sum()) for j in range(1, n)]
            outside.append(1.0 - max(mass) / sum(mass))
    pieces_arr = np.array(pieces)
    print(f"{args.draws} kernels: {np.mean(pieces_arr > 1):.1%} in more than one piece, "
          f"{np.mean(pieces_arr >= 4):.1%} in four or more (at most {pieces_arr.max()})")
    if outside:
        print(f"weight outside the largest piece of a split kernel: median "
              f"{np.median(outside):.1%}, 90th percentile {np.percentile(outside, 90):.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where a derain model's remaining error lies, image by image, over several rain draws.

For each validation pair (as ``drcnet eval --task derain --degradation rain --draws N`` makes
them) it prints the input and output PSNR, the rain recipe's haze and density, and three
splits of the output's squared error:

- ``no-bias``: PSNR once the output's mean colour error (one offset per channel) is removed;
- ``low``: the share of the squared error left after a Gaussian blur (σ = 8 px), i.e. at low
  spatial frequencies (brightness and colour over large areas);
- ``mean err``: the output's mean error in 8-bit levels (+ = brighter than the clean photo).

    python scripts/derain_error_analysis.py [--weights W] [--seed 0] [--draws 6]
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import torch

from drcnet import load_model
from drcnet.evaluation import EvalData
from drcnet.inference import TileConfig, default_tile, restore_tiled, run
from drcnet.metrics import psnr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=None, help="weight file (default: the shipped one)")
    ap.add_argument("--data", default="data/corpus/val")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--draws", type=int, default=6)
    ap.add_argument("--t", type=float, default=None, help="threshold (default: the file's)")
    ap.add_argument("--delta", type=float, default=None, help="δ (default: the file's)")
    args = ap.parse_args()
    model = load_model("derain", "cpu", weights=args.weights)
    model.configure(t=args.t, delta=args.delta)
    data = EvalData(args.data, "rain", args.seed, size=512, draws=args.draws)
    rows = []
    print(f"{'image':42s} haze  dens    in    out  no-bias  low  mean err")
    for i in range(len(data)):
        s = data[i]
        with torch.inference_mode():
            out = run(restore_tiled(model, s.degraded, TileConfig(tile=default_tile(model))))
        err = out - s.clean
        bias = err.reshape(-1, 3).mean(0)
        low = float((cv2.GaussianBlur(err, (0, 0), 8) ** 2).mean() / max((err**2).mean(), 1e-12))
        density = sum(layer["density"] for layer in s.info["layers"])
        row = (psnr(s.degraded, s.clean), psnr(out, s.clean), psnr(out - bias, s.clean), low,
               float(err.mean()) * 255, s.info["haze"])
        rows.append(row)
        print(f"{s.name:42s} {row[5]:.2f} {density:.4f} {row[0]:5.2f} {row[1]:5.2f} "
              f"{row[2]:7.2f} {row[3]:5.2f} {row[4]:+7.2f}", flush=True)
    a = np.array(rows)
    haze = a[:, 5] > 0
    print(f"\nmean of {len(a)}: input {a[:, 0].mean():.2f} dB, output {a[:, 1].mean():.2f} dB, "
          f"without the mean colour error {a[:, 2].mean():.2f} dB")
    print(f"low-frequency share of the squared error: median {np.median(a[:, 3]):.2f}, "
          f"above 0.3 on {int((a[:, 3] > 0.3).sum())} of {len(a)}")
    for label, rows_of in (("with haze", a[haze]), ("without haze", a[~haze])):
        if len(rows_of):
            print(f"{label} ({len(rows_of)}): output {rows_of[:, 1].mean():.2f} dB, mean error "
                  f"{rows_of[:, 4].mean():+.2f} (8-bit levels)")


if __name__ == "__main__":
    main()

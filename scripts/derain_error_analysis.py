"""Where a derain model's remaining error lies, image by image, over several rain draws.

For each validation pair (as ``drcnet eval --task derain --degradation rain --draws N`` makes
them) it prints the input and output PSNR, the rain recipe's haze and density, and three
splits of the output's squared error:

- ``no-bias``: PSNR once the output's mean colour error (one offset per channel) is removed;
- ``low``: the share of the squared error left after a Gaussian blur (σ = 8 px), i.e. at low
  spatial frequencies (brightness and colour over large areas);
- ``mean err``: the output's mean error in 8-bit levels (+ = brighter than the clean photo).

    python scripts/derain_error_analysis.py [--weights W] [--seed 0] [--draws 6]
    python scripts/derain_error_analysis.py --brief W1 W2 ...   (one summary line per file;
                                                                 "shipped" = the shipped file)
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
    ap.add_argument("--brief", nargs="+", metavar="W", default=None,
                    help="only a summary line for each file ('shipped' = the shipped one)")
    args = ap.parse_args()
    data = EvalData(args.data, "rain", args.seed, size=512, draws=args.draws)
    if args.brief is None:
        analyse(args.weights, data, args, brief=False)
        return
    print(f"# {data.description}; PSNR as drcnet eval's mean; 'no-bias': without each output's "
          "mean colour error; 'mean err': 8-bit levels, + = brighter than the clean photo")
    print(f"{'file':52s} {'PSNR':>6s} {'no-bias':>7s} {'mean err':>8s} {'(no haze)':>9s} "
          f"{'(haze)':>7s}")
    for w in args.brief:
        analyse(None if w == "shipped" else w, data, args, brief=True)


def analyse(weights: str | None, data: EvalData, args: argparse.Namespace, brief: bool) -> None:
    model = load_model("derain", "cpu", weights=weights)
    model.configure(t=args.t, delta=args.delta)
    rows = []
    if not brief:
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
        if not brief:
            print(f"{s.name:42s} {row[5]:.2f} {density:.4f} {row[0]:5.2f} {row[1]:5.2f} "
                  f"{row[2]:7.2f} {row[3]:5.2f} {row[4]:+7.2f}", flush=True)
    a = np.array(rows)
    haze = a[:, 5] > 0
    if brief:
        print(f"{weights or 'shipped':52s} {a[:, 1].mean():6.3f} {a[:, 2].mean():7.2f} "
              f"{a[:, 4].mean():+8.2f} {a[~haze, 4].mean():+9.2f} {a[haze, 4].mean():+7.2f}",
              flush=True)
        return
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

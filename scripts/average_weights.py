"""Average several weight files of one architecture into one (uniform checkpoint averaging).

    python scripts/average_weights.py --out AVG.safetensors A.safetensors B.safetensors ...
    python scripts/average_weights.py --weights 0.75,0.25 --out MIX.safetensors A B

``--weights`` gives each file its share (they must sum to 1): between a file and a fine-tune
of it, that is the weight-space interpolation of WiSE-FT (Wortsman et al., CVPR 2022;
session 31, docs/training/interp31/README.txt).

The files must share wf and depth (snapshots of one run, or fine-tunes of one file); the
average is written fp16 with the last file's metadata (less its scores) and an
``averaged_from`` list. Burst 5
tried it on derain snapshots (docs/training/burst5/selection.txt): the mean of three scored
like the best of them, not above it.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

from drcnet.errors import DRCNetError
from drcnet.weights import build_model, read_metadata, save_weights


def average(paths: list[Path], weights: list[float] | None = None) -> torch.nn.Module:
    models = [build_model(p) for p in paths]
    shapes = {(m.config.wf, m.config.depth, m.config.in_ch) for m in models}
    if len(shapes) > 1:
        raise DRCNetError(f"the files differ in (wf, depth, in_ch): {sorted(shapes)}")
    tasks = {read_metadata(p).get("task", "") for p in paths} - {""}
    if len(tasks) > 1:
        raise DRCNetError(f"the files are for different tasks: {', '.join(sorted(tasks))}")
    states = [m.state_dict() for m in models]
    shares = weights if weights is not None else [1.0 / len(states)] * len(states)
    if len(shares) != len(states):
        raise DRCNetError(f"{len(shares)} weights for {len(states)} files")
    if not all(math.isfinite(w) and w >= 0 for w in shares) or abs(sum(shares) - 1.0) > 1e-6:
        raise DRCNetError(f"the weights must be at least 0 and sum to 1, got {shares}")
    mean = {k: sum(w * s[k].float() for w, s in zip(shares, states, strict=True))
            for k in states[0]}
    models[0].load_state_dict(mean)
    return models[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", type=Path, help="weight files (two or more)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--weights", default="",
                    help="comma-separated shares, one per file, summing to 1 (default: equal)")
    args = ap.parse_args(argv)
    if len(args.files) < 2:
        ap.error("give two or more files to average")
    try:
        shares = [float(w) for w in args.weights.split(",")] if args.weights else None
    except ValueError:
        ap.error(f"--weights takes numbers separated by commas, not '{args.weights}'")
    try:
        model = average(args.files, shares)
    except DRCNetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # the last file's training facts; not its scores, which the average never got, nor its
    # range-check limit, calibrated for another network (scripts/calibrate_range.py gives one)
    meta = {k: v for k, v in read_metadata(args.files[-1]).items()
            if k not in ("config", "format", "val_psnr", "val_ssim", "val_step", "exported",
                         "selection", "activation_limit")}
    meta["averaged_from"] = [str(p) for p in args.files]
    if shares is not None:
        meta["averaged_weights"] = shares
    save_weights(args.out, model, meta, half=True)
    how = f"weights {', '.join(f'{w:g}' for w in shares)}" if shares else "equal weights"
    print(f"wrote {args.out} (mean of {len(args.files)} files, {how})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

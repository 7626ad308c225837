"""Average several weight files of one architecture into one (uniform checkpoint averaging).

    python scripts/average_weights.py --out AVG.safetensors A.safetensors B.safetensors ...

The files must share wf and depth (snapshots of one run, or fine-tunes of one file); the
average is written fp16 with the last file's metadata (less its scores) and an
``averaged_from`` list. Burst 5
tried it on derain snapshots (docs/training/burst5/selection.txt): the mean of three scored
like the best of them, not above it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from drcnet.errors import DRCNetError
from drcnet.weights import build_model, read_metadata, save_weights


def average(paths: list[Path]) -> torch.nn.Module:
    models = [build_model(p) for p in paths]
    shapes = {(m.config.wf, m.config.depth, m.config.in_ch) for m in models}
    if len(shapes) > 1:
        raise DRCNetError(f"the files differ in (wf, depth, in_ch): {sorted(shapes)}")
    tasks = {read_metadata(p).get("task", "") for p in paths} - {""}
    if len(tasks) > 1:
        raise DRCNetError(f"the files are for different tasks: {', '.join(sorted(tasks))}")
    states = [m.state_dict() for m in models]
    mean = {k: sum(s[k].float() for s in states) / len(states) for k in states[0]}
    models[0].load_state_dict(mean)
    return models[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", type=Path, help="weight files (two or more)")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args(argv)
    if len(args.files) < 2:
        ap.error("give two or more files to average")
    try:
        model = average(args.files)
    except DRCNetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # the last file's training facts; not its scores, which the average never got
    meta = {k: v for k, v in read_metadata(args.files[-1]).items()
            if k not in ("config", "format", "val_psnr", "val_ssim", "val_step", "exported",
                         "selection")}
    meta["averaged_from"] = [str(p) for p in args.files]
    save_weights(args.out, model, meta, half=True)
    print(f"wrote {args.out} (mean of {len(args.files)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

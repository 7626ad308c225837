"""Ship a snapshot picked by this session's selection rule (README.txt here), which weighs
saturated colours beside PSNR, so ``scripts/pick_weights.py`` (best PSNR only) cannot pick it.

    python docs/training/cpu9/ship.py --task denoise --variant gaussian \
        --history "then session 9: …" --selection "…" SNAPSHOT

Writes the snapshot fp16 to resources/weights/<task>[-variant].safetensors with its training
metadata (not its config blob or any activation_limit), the shipped file's ``history`` followed
by ``--history``, and ``--selection``. Then run scripts/calibrate_range.py for it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from drcnet.registry import weight_spec
from drcnet.weights import build_model, read_metadata, save_weights


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("snapshot", type=Path)
    ap.add_argument("--task", required=True)
    ap.add_argument("--variant", default="default")
    ap.add_argument("--history", required=True)
    ap.add_argument("--selection", required=True)
    args = ap.parse_args()
    target = weight_spec(args.task, args.variant).path
    before = read_metadata(target).get("history", "")
    meta = {k: v for k, v in read_metadata(args.snapshot).items()
            if k not in ("config", "format", "activation_limit")}
    meta["history"] = f"{before}; then {args.history}" if before else args.history
    meta["selection"] = args.selection
    save_weights(target, build_model(args.snapshot), meta, half=True)
    print(f"wrote {target}; now: python scripts/calibrate_range.py --files {target.name} "
          f"--measure-out M.json --write")


if __name__ == "__main__":
    main()

"""How much of each image the spatial filter's masks cover, per DFR block, for a shipped model.

Prints, per block, the mean self-aware map value and the fraction of pixels whose mask is on
at the chosen t, averaged over the validation set (256-px centre crops, degradation seed 0).
It explains flat t sweeps: where the maps stay below t, the masks are empty.

    python scripts/mask_coverage.py --task denoise --degradation gaussian25 [--t 0.75]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from drcnet.datasets import ValidationSet
from drcnet.inference import forward_image
from drcnet.registry import load_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="denoise")
    ap.add_argument("--degradation", default=None, help="recipe (default: the task's)")
    ap.add_argument("--data", default="data/corpus/val")
    ap.add_argument("--t", type=float, default=0.75)
    args = ap.parse_args()
    model = load_model(args.task, device="cpu", precision="fp32")
    model.configure(t=args.t)
    val = ValidationSet(args.data, args.degradation or args.task, seed=0, size=256)
    saw, mask = defaultdict(list), defaultdict(list)
    for degraded, _ in val.pairs:
        _, maps = forward_image(model, degraded, probe=True)
        for name, m in maps.items():
            saw[name].append(float(m.self_aware.float().mean()))
            mask[name].append(float(m.mask.float().mean()))
    print(f"{args.task}, t={args.t}, {len(val.pairs)} images: block, mean self-aware value, "
          "mask coverage")
    for name in saw:
        print(f"  {name:12} {np.mean(saw[name]):.3f}  {100 * np.mean(mask[name]):5.1f} %")


if __name__ == "__main__":
    main()

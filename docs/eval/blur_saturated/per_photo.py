"""Per photo, the shipped deblur file on `blurlin` and on `blursat` (validation seed 0, the
same kernels), with the share of channel values in each photo's scored crop that the recipe
boosts (≥ 245 of 255, where its knee starts) and that are fully clipped (255), and the
highlight gain its `blursat` draw made. Reads the committed --json
files.

    python docs/eval/blur_saturated/per_photo.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from drcnet.datasets import synthetic_pair
from drcnet.degradations import get_degradation
from drcnet.imageio import read_image

HERE = Path(__file__).parent


def scores(path: Path) -> dict[tuple[str, str], float]:
    return {(r["image"], r["method"]): r["psnr"] for r in json.load(open(path))["per_image"]}


def main() -> None:
    lin = scores(HERE.parent / "blur_linear" / "val_blurlin_seed0.json")
    sat = scores(HERE / "val_blursat_seed0.json")
    print(f"{'photo':26} {'≥245 %':>7} {'=255 %':>7}  {'blurlin in → DRCNet':>20}  "
          f"{'blursat in → DRCNet':>20}  {'Wiener (blursat)':>16}  gain")
    for index, name in enumerate(sorted({k[0] for k in sat})):
        img = read_image(Path("data/corpus/val") / name).rgb
        _, clean, info = synthetic_pair(img, get_degradation("blursat"), 0, index, 512)
        knee = float((clean >= 245 / 255).mean()) * 100  # the crop drcnet eval scores
        full = float((clean >= 1.0).mean()) * 100
        gain = info["gain"]
        a_in, a_net = lin[(name, "input (degraded)")], lin[(name, "DRCNet")]
        b_in, b_net = sat[(name, "input (degraded)")], sat[(name, "DRCNet")]
        print(f"{name:26} {knee:7.2f} {full:7.2f}  "
              f"{a_in:6.2f} → {a_net:5.2f} ({a_net - a_in:+.2f})  "
              f"{b_in:6.2f} → {b_net:5.2f} ({b_net - b_in:+.2f})  "
              f"{sat[(name, 'Wiener (true kernel)')]:16.2f}  {gain:4.1f}")
    def mean(table: dict[tuple[str, str], float], method: str) -> float:
        return float(np.mean([v for k, v in table.items() if k[1] == method]))

    inp = "input (degraded)"
    print(f"{'mean':26} {'':15}  {mean(lin, inp):6.2f} → {mean(lin, 'DRCNet'):5.2f}          "
          f"{mean(sat, inp):6.2f} → {mean(sat, 'DRCNet'):5.2f}")

if __name__ == "__main__":
    main()

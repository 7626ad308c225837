"""Where Wiener deconvolution with the true kernel should undo `blurlin`'s blur: on the sRGB
values (as for `blur`) or in linear light (where the recipe blurred), at the NSR tuned on
`blur` scaled by a few factors. Validation photos, 512-px centre crops, seed 0.

    python docs/eval/blur_linear/wiener_domain.py [DATA] [SEED] [SCALES, e.g. 1,2,4]
"""

from __future__ import annotations

import sys

import numpy as np

from drcnet.baselines import wiener_deconvolve, wiener_nsr
from drcnet.degradations import linear_to_srgb, srgb_to_linear
from drcnet.evaluation import EvalData
from drcnet.metrics import psnr


def main() -> None:
    data = sys.argv[1] if len(sys.argv) > 1 else "data/corpus/val"
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    scales = tuple(float(v) for v in sys.argv[3].split(",")) if len(sys.argv) > 3 else (
        0.25, 0.5, 1.0, 2.0, 4.0)
    rows: dict[str, list[float]] = {"input": []}
    for s in scales:
        rows[f"sRGB, NSR x{s:g}"] = []
        rows[f"linear, NSR x{s:g}"] = []
    for recipe in ("blur", "blurlin"):
        for key in rows:
            rows[key] = []
        for sample in EvalData(data, recipe, seed=seed):
            k, sigma = sample.info["kernel"], sample.info["sigma"]
            rows["input"].append(psnr(sample.degraded, sample.clean))
            for s in scales:
                nsr = wiener_nsr(sigma) * s
                srgb = wiener_deconvolve(sample.degraded, k, nsr)
                lin = linear_to_srgb(wiener_deconvolve(srgb_to_linear(sample.degraded), k, nsr))
                rows[f"sRGB, NSR x{s:g}"].append(psnr(srgb, sample.clean))
                rows[f"linear, NSR x{s:g}"].append(psnr(lin, sample.clean))
        print(f"{recipe} on {data}, seed {seed}, {len(rows['input'])} images: mean PSNR dB")
        for key, vals in rows.items():
            print(f"  {key:<20} {np.mean(vals):6.2f}")


if __name__ == "__main__":
    main()

"""What turning energy attention off does to each shipped model on its bundled sample.

Off, on weights trained with EA, each channel keeps its mean attention weight, so only EA's
spatial selection goes (drcnet.blocks.energy_attention's ``flat``); the figures before
session 26, when off meant the identity, are given by ``--identity``. PSNR on the top-left
256×256 of each sample against its clean version, one forward pass, CPU fp32.

    python scripts/ea_off.py [--identity]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import drcnet
import drcnet.blocks
from drcnet.imageio import read_image
from drcnet.inference import forward_image
from drcnet.metrics import psnr
from drcnet.registry import RESOURCES

SAMPLES = {"derain": "rain", "denoise": "noisy", "deblur": "blurry"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--identity", action="store_true",
                   help="EA off as the identity (the old bypass), for comparison")
    args = p.parse_args()
    if args.identity:
        real = drcnet.blocks.DFRBlock.forward

        def identity_off(self, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
            self.ea_trained = False  # off is the identity, as before
            return real(self, *a, **k)

        drcnet.blocks.DFRBlock.forward = identity_off
    torch.manual_seed(0)
    for task, name in SAMPLES.items():
        model = drcnet.load_model(task, device="cpu", precision="fp32")
        x = read_image(RESOURCES / "samples" / f"{name}.png").rgb[:256, :256]
        gt = read_image(RESOURCES / "samples" / f"{name}-clean.png").rgb[:256, :256]
        scores = []
        maps: dict = {}
        for ea in (True, False):
            model.configure(ea=ea)
            scores.append(psnr(np.clip(forward_image(model, x)[0], 0, 1), gt))
        model.configure(ea=True)
        model.set_probe(maps)  # EA's weights, as the Maps panel shows them
        with torch.inference_mode():
            model(torch.from_numpy(x).permute(2, 0, 1)[None].contiguous())
        model.set_probe(None)
        weight = np.mean([float(m.energy.mean()) for m in maps.values()])
        print(f"{task:8s} input {psnr(x, gt):.2f} dB  EA on {scores[0]:.2f}  "
              f"EA off {scores[1]:.2f}  (on − off {scores[0] - scores[1]:+.2f} dB); "
              f"mean attention weight {weight:.3f}")


if __name__ == "__main__":
    main()

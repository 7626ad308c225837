"""Mirrored context around every forward pass, scored as the model card scores (a measurement,
not a setting: the inference does not pad).

scripts/border_context.py found +0.29 dB for the Gaussian denoiser on 192-px crops restored in
one pass, where the outer band is a large share. This pads every forward pass, tiles included,
by P px of mirrored context (cropped off again), and runs ``drcnet eval``'s protocol: the
validation split, centre crops <= 512 px, 256-px tiles, CPU fp32.

    python docs/eval/border_context_tiled.py denoise gaussian gaussian25 0 0,8,16
        (task, variant, recipe, seeds, pads) > docs/eval/border_context_tiled.txt
"""

from __future__ import annotations

import sys
import time

import torch
import torch.nn.functional as F

from drcnet import load_model
from drcnet.evaluation import EvalConfig, evaluate
from drcnet.inference import run
from drcnet.network import DRCNet

PAD = 0
_forward = DRCNet.forward


def padded_forward(self: DRCNet, image: torch.Tensor) -> list[torch.Tensor]:
    h, w = image.shape[-2:]
    p = min(PAD, h - 1, w - 1)
    if p <= 0:
        return _forward(self, image)
    outs = _forward(self, F.pad(image, (p, p, p, p), mode="reflect"))
    return [o[..., p : p + h, p : p + w] for o in outs]


def main() -> None:
    global PAD
    task, variant, recipe = sys.argv[1:4]
    seeds = [int(s) for s in sys.argv[4].split(",")]
    pads = [int(s) for s in sys.argv[5].split(",")]
    DRCNet.forward = padded_forward  # type: ignore[method-assign]
    torch.set_num_threads(2)
    model = load_model(task, device="cpu", variant=variant)
    for PAD in pads:
        for seed in seeds:
            t0 = time.time()
            cfg = EvalConfig(task=task, variant=variant, data="data/corpus/val",
                             degradation=recipe, seed=seed)
            result = run(evaluate(cfg, model=model))
            scores = " ".join(f"{r.method}={r.psnr:.3f}/{r.ssim:.4f}" for r in result.rows)
            print(f"{task} {variant} {recipe} seed {seed} P {PAD}: {scores} "
                  f"({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()

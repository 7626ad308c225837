"""Score weight files on what session 9's runs were for: ordinary photos and saturated colours.

For each file ("shipped" = the task's shipped file), on its task's recipe (the Gaussian
denoiser: gaussian25):
- val: mean PSNR on the validation photos, seeds S..S+N-1 (``drcnet eval``, 256-px tiles);
- held-out: mean PSNR on data/heldout without the sweets photo, seed 0;
- sat x3: mean PSNR on the validation photos with their colour pushed 3x from grey, seed 0;
- sweets: PSNR on the held-out sweets photo, seed 0, with the mean error on the green sweets;
- peak: the sweets photo's largest tile peak (the range check's measure).

    OMP_NUM_THREADS=1 python docs/training/cpu9/score.py --task denoise --variant gaussian \
        [--seed 0 --draws 3] shipped FILE...
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from drcnet import load_model
from drcnet.datasets import list_images, saturate
from drcnet.degradations import TASK_DEFAULT, degrade
from drcnet.evaluation import MODEL, EvalConfig, evaluate
from drcnet.imageio import read_image
from drcnet.inference import TileConfig, TilePeak, restore_tiled, run
from drcnet.metrics import psnr
from drcnet.registry import weight_spec
from drcnet.weights import build_model

TILES = TileConfig(tile=256, overlap=32)
SWEETS = "data/heldout/opencv_smarties.png"


def centre(img: np.ndarray, size: int = 512) -> np.ndarray:
    h, w = img.shape[:2]
    ch, cw = min(h, size), min(w, size)
    return img[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw]


def restore(model: torch.nn.Module, rgb: np.ndarray, peaks: list[TilePeak] | None = None
            ) -> np.ndarray:
    return np.clip(run(restore_tiled(model, rgb, TILES, peaks=peaks)), 0, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--task", required=True)
    ap.add_argument("--variant", default="default")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--draws", type=int, default=3)
    args = ap.parse_args()
    recipe = "gaussian25" if args.variant == "gaussian" else TASK_DEFAULT[args.task]
    shipped = weight_spec(args.task, args.variant).path
    held = [f for f in list_images("data/heldout") if f.name != "opencv_smarties.png"]
    val = [centre(read_image(f).rgb.astype(np.float32)) for f in list_images("data/corpus/val")]
    sweets = read_image(SWEETS).rgb.astype(np.float32)
    green = sweets[..., 1] > 0.5 * (sweets[..., 0] + sweets[..., 2]) + 0.3
    print(f"{args.task} {args.variant}, {recipe}: val seeds {args.seed}-"
          f"{args.seed + args.draws - 1} | held-out seed 0 | sat x3 seed 0 | sweets seed 0 "
          f"(green error /255) | sweets peak")
    for name in args.files:
        path = str(shipped) if name == "shipped" else name
        val_psnr = np.mean([run(evaluate(EvalConfig(
            task=args.task, data="data/corpus/val", weights=path, degradation=recipe,
            seed=args.seed + i))).row(MODEL).psnr for i in range(args.draws)])
        model = (load_model(args.task, "cpu", variant=args.variant) if name == "shipped"
                 else build_model(path).eval())
        held_psnr = []
        for f in held:
            img = centre(read_image(f).rgb.astype(np.float32))
            bad = degrade(recipe, img, np.random.default_rng(0))[0]
            held_psnr.append(psnr(restore(model, bad), img))
        sat = []
        for img in val:
            vivid = saturate(img, 3.0)
            bad = degrade(recipe, vivid, np.random.default_rng(0))[0]
            sat.append(psnr(restore(model, bad), vivid))
        bad = degrade(recipe, sweets, np.random.default_rng(0))[0]
        peaks: list[TilePeak] = []
        out = restore(model, bad, peaks)
        err = np.abs(out - sweets).mean(axis=2) * 255
        print(f"{name}: {val_psnr:.3f} | {np.mean(held_psnr):.2f} | {np.mean(sat):.2f} | "
              f"{psnr(out, sweets):.2f} ({err[green].mean():.1f}) | "
              f"{max(p.peak for p in peaks):.0f}", flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()

"""The shipped models on a photo of saturated sweets (data/heldout/opencv_smarties.png).

    OMP_NUM_THREADS=1 python docs/eval/saturated/check.py

Threads: OMP_NUM_THREADS when set, else 2.

For each shipped model: its own degradation (seed 0), restored at 256-px tiles in fp32, PSNR
against the clean photo and the mean error on the green sweets against everywhere else, and
``failure.png`` here (the four outputs side by side, half size). Then, for the Gaussian
denoiser, the largest activation of each stage-2 encoder block on one 256-px tile, against a
tile of a graffiti photo, and the same restore with region normalisation's eps raised from
1e-5 (a diagnosis, not a fix: the weights were trained with 1e-5).
"""

import os
from pathlib import Path

import cv2
import numpy as np
import torch

import drcnet.blocks as blocks
from drcnet import load_model
from drcnet.degradations import degrade
from drcnet.imageio import read_image
from drcnet.inference import TileConfig, restore_tiled, run
from drcnet.metrics import psnr

HERE = Path(__file__).resolve().parent
# repair=False: the failure as the network makes it (the repair, on by default since
# session 15, would restore those tiles again with colours pulled towards gray)
TILES = TileConfig(tile=256, overlap=32, repair=False)


def restore(model, rgb: np.ndarray) -> np.ndarray:  # noqa: ANN001
    return np.clip(run(restore_tiled(model, rgb, TILES)), 0, 1)


def peaks(model, rgb: np.ndarray) -> dict[str, float]:  # noqa: ANN001
    found: dict[str, float] = {}
    hooks = [mod.register_forward_hook(
        lambda _m, _i, out, name=name: found.__setitem__(
            name, float((out[0] if isinstance(out, tuple) else out).abs().max())))
        for name, mod in model.named_modules() if name.startswith("encoder2.")
        and name.count(".") == 1]
    with torch.no_grad():
        model(torch.from_numpy(rgb.transpose(2, 0, 1).copy())[None])
    for h in hooks:
        h.remove()
    return {k: round(v, 1) for k, v in found.items()}


def main() -> None:
    img = read_image("data/heldout/opencv_smarties.png").rgb.astype(np.float32)
    green = img[..., 1] > 0.5 * (img[..., 0] + img[..., 2]) + 0.3
    outs = []
    for task, variant, recipe in (("denoise", "default", "noise"),
                                  ("denoise", "gaussian", "gaussian25"),
                                  ("derain", "default", "rain"), ("deblur", "default", "blur")):
        model = load_model(task, device="cpu", variant=variant, precision="fp32")
        bad, _ = degrade(recipe, img, np.random.default_rng(0))
        out = restore(model, bad)
        err = np.abs(out - img).mean(axis=2) * 255
        print(f"{task:7s} {variant:8s} input {psnr(bad, img):5.2f} dB -> {psnr(out, img):5.2f} dB;"
              f" mean error on the green sweets {err[green].mean():5.1f}/255, elsewhere "
              f"{err[~green].mean():4.1f}/255")
        outs.append(out)
    sheet = (np.hstack(outs)[..., ::-1] * 255).astype(np.uint8)
    cv2.imwrite(str(HERE / "failure.png"), cv2.resize(sheet, None, fx=0.5, fy=0.5,
                                                      interpolation=cv2.INTER_AREA))

    model = load_model("denoise", device="cpu", variant="gaussian", precision="fp32")
    noisy, _ = degrade("gaussian25", img, np.random.default_rng(0))
    graf = read_image("data/heldout/opencv_graf1.png").rgb.astype(np.float32)
    print("largest activation, stage-2 encoder blocks, sweets tile:",
          peaks(model, noisy[:256, 157:413]))
    print("                                       graffiti tile:", peaks(model, graf[:256, :256]))
    original = blocks._region_normalize
    try:
        for eps in (1e-3, 1e-1):
            blocks._region_normalize = lambda x, m, _e, eps=eps: original(x, m, eps)
            print(f"denoise gaussian with region-norm eps {eps:g}: "
                  f"{psnr(restore(model, noisy), img):5.2f} dB")
    finally:
        blocks._region_normalize = original


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or 2))
    main()

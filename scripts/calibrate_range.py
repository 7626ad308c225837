"""Calibrate each weight file's activation limit for the range check (drcnet/range_check.py).

For each model, every photo of the calibration folders (centre crops <= 512 px), clean and
degraded with the model's own recipe (seed 0), is restored at 256-px tiles and each tile's
peak activation recorded. The limit is MARGIN (3) times the largest. Then, to see whether the
limit separates what it should, the same is measured on probe sets nothing was calibrated on:
the held-out photos (degraded), the validation photos with their colour pushed 2x and 3x away
from grey (``saturate``) and degraded, and the held-out sweets photo.

    python scripts/calibrate_range.py [--write] [--files denoise.safetensors …]

``--write`` stores the limits in resources/weights/activation_limits.json with each file's
SHA-256. Needs data/corpus (scripts/build_corpus.py) and data/heldout
(scripts/build_heldout.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from drcnet.datasets import list_images, saturate
from drcnet.degradations import degrade
from drcnet.imageio import read_image
from drcnet.inference import TileConfig, TilePeak, restore_tiled, run
from drcnet.range_check import LIMITS_FILE, MARGIN
from drcnet.weights import build_model, read_metadata, sha256

WEIGHTS = Path("resources/weights")
RECIPE = {"denoise": "noise", "derain": "rain", "deblur": "blur"}
TILES = TileConfig(tile=256, overlap=32, batch=4)
SWEETS = "opencv_smarties.png"


def centre(img: np.ndarray, size: int = 512) -> np.ndarray:
    h, w = img.shape[:2]
    ch, cw = min(h, size), min(w, size)
    return img[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw]


def tile_peaks(model: torch.nn.Module, rgb: np.ndarray) -> list[float]:
    peaks: list[TilePeak] = []
    run(restore_tiled(model, rgb, TILES, peaks=peaks))
    return [p.peak for p in peaks]


def photos(folder: str, skip: str = "") -> list[np.ndarray]:
    return [centre(read_image(f).rgb.astype(np.float32)) for f in list_images(folder)
            if f.name != skip]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", nargs="*", default=None, help="weight files in resources/weights")
    ap.add_argument("--write", action="store_true", help="update activation_limits.json")
    args = ap.parse_args()
    files = [WEIGHTS / f for f in args.files] if args.files else sorted(
        WEIGHTS.glob("*.safetensors"))
    calib = photos("data/corpus/train") + photos("data/corpus/val")
    val = photos("data/corpus/val")
    held = photos("data/heldout", skip=SWEETS)
    sweets = centre(read_image(f"data/heldout/{SWEETS}").rgb.astype(np.float32))
    table_path = WEIGHTS / LIMITS_FILE
    table = json.loads(table_path.read_text()) if table_path.is_file() else {}
    print(f"{'file':28s} {'calib max':>9s} {'p99':>7s} {'limit':>7s} | {'held-out':>8s} "
          f"{'sat x2':>7s} {'sat x3':>7s} {'sweets':>7s}  (largest tile peak of each set; "
          f"flagged tiles/total)")
    for f in files:
        meta = read_metadata(f)
        task = json.loads(meta.get("train_config", "{}")).get("task") or f.stem.split("-")[0]
        recipe = json.loads(meta.get("train_config", "{}")).get("degradation") or RECIPE[task]
        model = build_model(f)

        def bad(img: np.ndarray, recipe: str = recipe) -> np.ndarray:
            return degrade(recipe, img, np.random.default_rng(0))[0]

        seen = [p for img in calib for p in tile_peaks(model, img) + tile_peaks(model, bad(img))]
        limit = MARGIN * max(seen)
        probes = {
            "held-out": [p for img in held for p in tile_peaks(model, bad(img))],
            "sat x2": [p for img in val for p in tile_peaks(model, bad(saturate(img, 2.0)))],
            "sat x3": [p for img in val for p in tile_peaks(model, bad(saturate(img, 3.0)))],
            "sweets": tile_peaks(model, bad(sweets)),
        }
        cells = " ".join(f"{max(v):7.0f} {sum(p > limit for p in v):2d}/{len(v):<3d}"
                         for v in probes.values())
        print(f"{f.name:28s} {max(seen):9.1f} {np.percentile(seen, 99):7.1f} {limit:7.1f} | "
              f"{cells}", flush=True)
        table[f.name] = {"sha256": sha256(f), "limit": round(limit, 1),
                         "calibration_max": round(max(seen), 2), "margin": MARGIN,
                         "calibrated_on": f"data/corpus train+val, clean and {recipe} seed 0, "
                                          f"centre crops <= 512 px, 256-px tiles"}
    if args.write:
        table_path.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
        print(f"wrote {table_path}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()

"""Calibrate each weight file's activation limit for the range check (drcnet/range_check.py).

Measure: for each model, every photo of the calibration folders (centre crops <= 512 px),
clean and degraded with the model's own recipe (seed 0), is restored at 256-px tiles. Each
tile's peak activation is recorded with the tile's *damage*: the share of its pixels where
the output is more than 0.25 (64 levels of 255) off the clean photo in some channel, far
beyond a restoration's normal residue. The same is measured on probe sets nothing was
calibrated on: the held-out photos (degraded), the validation photos with their colour pushed
2x and 3x away from grey (``saturate``) and degraded, and the held-out sweets photo.

Limit: ``MARGIN`` times the 99th percentile of the calibration tiles' peaks (a percentile,
not the maximum, because a calibration photo can itself break a model: the deblur model
leaves a blue blob on the clean rocket photo, at a peak ten times the next).

Report: per set, the largest peak and the flagged tiles; over all sets, how many damaged
tiles (damage > 1 %) are flagged and how many undamaged ones are.

    python scripts/calibrate_range.py [--files F …] [--measure-out M.json | --measured M.json]
                                      [--merge-into M.json] [--write] [--metadata]

``--files`` takes names in resources/weights or paths to any weight files (default: every
shipped file). After shipping one file, ``--files NAME --merge-into
docs/eval/range/measured.json --write`` measures only it, replaces its entry in the saved
measurement and reports all files from there. ``--write`` stores the limits in
resources/weights/activation_limits.json with each file's SHA-256 (shipped files);
``--metadata`` writes each limit into its own file's metadata (``activation_limit``, which
the range check prefers), e.g. for a ``drcnet train`` export. Needs data/corpus
(scripts/build_corpus.py) and data/heldout (scripts/build_heldout.py).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from drcnet.datasets import list_images, saturate
from drcnet.degradations import degrade
from drcnet.imageio import read_image
from drcnet.inference import TileConfig, TilePeak, restore_tiled, run
from drcnet.range_check import LIMITS_FILE, MARGIN, PERCENTILE
from drcnet.weights import build_model, read_metadata, sha256

WEIGHTS = Path("resources/weights")
RECIPE = {"denoise": "noise", "derain": "rain", "deblur": "blur"}
# repair=False: the peaks as the network makes them (with the repair on, a file that already
# has a limit would be measured after its out-of-range tiles were restored again)
TILES = TileConfig(tile=256, overlap=32, batch=4, repair=False)
SWEETS = "opencv_smarties.png"
GROSS = 0.25  # an error this large in some channel is damage, not residue
DAMAGED = 0.01  # a tile with more than this share of such pixels counts as damaged
SETS = ("calibration", "held-out", "sat x2", "sat x3", "sweets")


def centre(img: np.ndarray, size: int = 512) -> np.ndarray:
    h, w = img.shape[:2]
    ch, cw = min(h, size), min(w, size)
    return img[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw]


def tiles(model: torch.nn.Module, rgb: np.ndarray, clean: np.ndarray) -> list[list[float]]:
    """``[peak, damage]`` per tile of ``rgb`` restored, against ``clean``."""
    peaks: list[TilePeak] = []
    out = run(restore_tiled(model, rgb, TILES, peaks=peaks))
    gross = np.abs(np.clip(out, 0, 1) - clean).max(axis=2) > GROSS
    return [[round(p.peak, 2), round(float(gross[p.y : p.y + p.h, p.x : p.x + p.w].mean()), 5)]
            for p in peaks]


def photos(folder: str, skip: str = "") -> dict[str, np.ndarray]:
    return {f.name: centre(read_image(f).rgb.astype(np.float32)) for f in list_images(folder)
            if f.name != skip}


def measure(files: list[Path]) -> dict[str, dict[str, dict[str, list[list[float]]]]]:
    """file name → set → item → per-tile ``[peak, damage]``."""
    calib = {**photos("data/corpus/train"), **photos("data/corpus/val")}
    val = photos("data/corpus/val")
    have_held = Path("data/heldout", SWEETS).is_file()
    if not have_held:
        print("data/heldout is missing (scripts/build_heldout.py): no held-out or sweets "
              "probes, the limits are the same")
    held = photos("data/heldout", skip=SWEETS) if have_held else {}
    sweets = centre(read_image(f"data/heldout/{SWEETS}").rgb.astype(np.float32)) \
        if have_held else None
    result = {}
    for f in files:
        train_config = json.loads(read_metadata(f).get("train_config", "{}"))
        task = train_config.get("task") or f.stem.split("-")[0]
        recipe = train_config.get("degradation") or RECIPE[task]
        model = build_model(f)

        def bad(img: np.ndarray, recipe: str = recipe) -> np.ndarray:
            return degrade(recipe, img, np.random.default_rng(0))[0]

        sets: dict[str, dict[str, list[list[float]]]] = {s: {} for s in SETS}
        for name, img in calib.items():
            sets["calibration"][f"{name} clean"] = tiles(model, img, img)
            sets["calibration"][f"{name} {recipe}"] = tiles(model, bad(img), img)
        for name, img in held.items():
            sets["held-out"][name] = tiles(model, bad(img), img)
        for k in (2, 3):
            for name, img in val.items():
                vivid = saturate(img, float(k))
                sets[f"sat x{k}"][name] = tiles(model, bad(vivid), vivid)
        if sweets is not None:
            sets["sweets"][SWEETS] = tiles(model, bad(sweets), sweets)
        result[f.name] = sets
        print(f"measured {f.name}", flush=True)
    return result


def limit_of(sets: dict[str, dict[str, list[list[float]]]]) -> float:
    peaks = np.array([t[0] for v in sets["calibration"].values() for t in v], np.float64)
    return MARGIN * float(np.percentile(np.nan_to_num(peaks, nan=np.inf), PERCENTILE))


def report(measured: dict[str, dict[str, dict[str, list[list[float]]]]]) -> None:
    print(f"limit = {MARGIN:g} x p{PERCENTILE:g} of the calibration tiles' peaks; per set: "
          f"largest peak, flagged/tiles; damaged = more than {DAMAGED:.0%} of a tile's pixels "
          f"off by more than {GROSS:g}")
    print(f"{'file':28s} {'limit':>7s} | " + " | ".join(f"{s:>16s}" for s in SETS)
          + " | damaged flagged | undamaged flagged")
    for name, sets in measured.items():
        limit = limit_of(sets)
        cells = []
        hit = dmg = fp = ok = 0
        for s in SETS:
            ts = [t for v in sets[s].values() for t in v]
            flagged = sum(not t[0] <= limit for t in ts)  # NaN: over, as check_peaks
            top = f"{max(t[0] for t in ts):7.0f}" if ts else "      -"
            cells.append(f"{top} {flagged:3d}/{len(ts):<4d}")
            for peak, damage in ts:
                over = not peak <= limit
                if damage > DAMAGED:
                    dmg += 1
                    hit += over
                else:
                    ok += 1
                    fp += over
        print(f"{name:28s} {limit:7.1f} | " + " | ".join(cells)
              + f" | {hit:4d}/{dmg:<4d}      | {fp:4d}/{ok:<4d}")
        worst = sorted(((t[0], t[1], s, item) for s in SETS for item, v in sets[s].items()
                        for t in v if t[1] > DAMAGED and t[0] <= limit), reverse=True)[:2]
        missed = "; ".join(f"{s} {item} (peak {p:.0f}, damage {d:.1%})" for p, d, s, item in worst)
        if missed:
            print(f"  damaged but under the limit, the highest: {missed}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", nargs="*", default=None, help="weight files in resources/weights")
    ap.add_argument("--measured", default="", help="report from this saved measurement")
    ap.add_argument("--measure-out", default="", help="save the measurement here")
    ap.add_argument("--merge-into", default="", metavar="M.json",
                    help="add the measurement to this saved one (replacing the same files' "
                         "entries) and report all of it, e.g. after shipping one new file")
    ap.add_argument("--write", action="store_true", help="update activation_limits.json")
    ap.add_argument("--metadata", action="store_true",
                    help="write each limit into its weight file's own metadata")
    args = ap.parse_args()
    if args.merge_into and args.measured:
        ap.error("--merge-into adds a new measurement; --measured re-reports a saved one")
    files = [(WEIGHTS / f if (WEIGHTS / f).is_file() else Path(f)) for f in args.files] \
        if args.files else sorted(WEIGHTS.glob("*.safetensors"))
    if args.measured:
        saved = json.loads(Path(args.measured).read_text())
        measured = {f.name: saved[f.name] for f in files if f.name in saved}
    else:
        measured = measure(files)
        if args.measure_out:
            Path(args.measure_out).write_text(json.dumps(measured) + "\n")
    if args.merge_into:
        merged_path = Path(args.merge_into)
        merged = json.loads(merged_path.read_text()) if merged_path.is_file() else {}
        merged.update(measured)
        merged_path.write_text(json.dumps(merged) + "\n")
        report(merged)
    else:
        report(measured)
    paths = {f.name: f for f in files}
    if args.metadata:
        for name, sets in measured.items():
            meta = read_metadata(paths[name])
            meta["activation_limit"] = f"{limit_of(sets):.1f}"
            tmp = paths[name].with_suffix(".tmp")
            save_file(load_file(paths[name]), str(tmp), metadata=meta)
            os.replace(tmp, paths[name])
            print(f"wrote activation_limit {meta['activation_limit']} into {paths[name]}")
    if args.write:
        table_path = WEIGHTS / LIMITS_FILE
        table = json.loads(table_path.read_text()) if table_path.is_file() else {}
        for name, sets in measured.items():
            if paths[name].resolve().parent != WEIGHTS.resolve():
                print(f"not in the table: {paths[name]} is not in {WEIGHTS} (use --metadata)")
                continue
            table[name] = {"sha256": sha256(paths[name]), "limit": round(limit_of(sets), 1),
                           "rule": f"{MARGIN:g} x p{PERCENTILE:g} of the calibration tiles' "
                                   f"peaks (scripts/calibrate_range.py)"}
        table_path.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
        print(f"wrote {table_path}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()

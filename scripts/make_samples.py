"""Build the bundled sample images in resources/samples/ from validation-split corpus photos.

Each sample is a validation-split photo (never trained on) degraded with the project's own
seeded recipe, so the GUI opens on a restoration a newcomer can judge. Run after
scripts/build_corpus.py:

    python scripts/make_samples.py
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import cv2
import numpy as np

from drcnet.degradations import degrade
from drcnet.imageio import read_image, write_image

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "corpus"
OUT = ROOT / "resources" / "samples"

# sample name, corpus file (validation split), recipe, seed, longest side
SAMPLES = (
    ("noisy", "val/skimage_chelsea.png", "gaussian25", 1, 451),
    ("rain", "val/plasma_Path.png", "rain", 3, 768),
    ("blurry", "val/opencv_rubberwhale1.png", "blur", 5, 584),
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS,
                    help=f"the corpus scripts/build_corpus.py built (default {CORPUS})")
    args = ap.parse_args(argv)  # --help no longer rebuilds the samples
    if not (args.corpus / "SOURCES.csv").is_file():
        print(f"make_samples: error: no corpus in {args.corpus}; build it first with "
              "python scripts/build_corpus.py", file=sys.stderr)
        return 1
    corpus = args.corpus
    OUT.mkdir(parents=True, exist_ok=True)
    sources = {row["file"]: row for row in csv.DictReader(open(corpus / "SOURCES.csv"))}
    lines = ["# Sample images", "",
             "Validation-split photos from the training corpus (never trained on, but used",
             "to pick checkpoints; not the held-out set of scripts/build_heldout.py),",
             "degraded with the project's seeded recipes by `scripts/make_samples.py`. The",
             "clean originals are kept beside them as `*-clean.png` so the GUI's reference",
             "metrics can be tried.", "",
             "| file | source | author | license | degradation (seed) |",
             "| --- | --- | --- | --- | --- |"]
    for name, rel, recipe, seed, side in SAMPLES:
        clean = read_image(corpus / rel).rgb
        scale = side / max(clean.shape[:2])
        if scale < 1:
            clean = cv2.resize(clean, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        degraded, _ = degrade(recipe, clean, np.random.default_rng(seed))
        write_image(OUT / f"{name}.png", degraded)
        write_image(OUT / f"{name}-clean.png", clean)
        src = sources[rel]
        lines.append(f"| {name}.png, {name}-clean.png | {src['source']}: {src['origin']} | "
                     f"{src['author']} | {src['license']} | {recipe} ({seed}) |")
    lines += ["", "The licences' texts are in `LICENSES/` (LGPL-3.0 with the GPL-3.0 it builds on;",
              "Apache-2.0 and OpenCV's BSD-3-Clause notice; CC0-1.0)."]
    (OUT / "README.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {len(SAMPLES)} samples to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

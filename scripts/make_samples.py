"""Build the bundled sample images in resources/samples/ from held-out corpus photos.

Each sample is a validation-split photo (never trained on) degraded with the project's own
seeded recipe, so the GUI opens on a restoration a newcomer can judge. Run after
scripts/build_corpus.py:

    python scripts/make_samples.py
"""

from __future__ import annotations

import csv
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


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    sources = {row["file"]: row for row in csv.DictReader(open(CORPUS / "SOURCES.csv"))}
    lines = ["# Sample images", "",
             "Held-out (validation-split) photos from the training corpus, degraded with the",
             "project's seeded recipes by `scripts/make_samples.py`. The clean originals are",
             "kept beside them as `*-clean.png` so the GUI's reference metrics can be tried.", "",
             "| file | source | author | license | degradation (seed) |",
             "| --- | --- | --- | --- | --- |"]
    for name, rel, recipe, seed, side in SAMPLES:
        clean = read_image(CORPUS / rel).rgb
        scale = side / max(clean.shape[:2])
        if scale < 1:
            clean = cv2.resize(clean, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        degraded, _ = degrade(recipe, clean, np.random.default_rng(seed))
        write_image(OUT / f"{name}.png", degraded)
        write_image(OUT / f"{name}-clean.png", clean)
        src = sources[rel]
        lines.append(f"| {name}.png, {name}-clean.png | {src['source']}: {src['origin']} | "
                     f"{src['author']} | {src['license']} | {recipe} ({seed}) |")
    (OUT / "README.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {len(SAMPLES)} samples to {OUT}")


if __name__ == "__main__":
    main()

"""Render docs/eval/repair/gui_repaired.png: the deblurring model on the sweets (data/heldout,
scripts/build_heldout.py) blurred by the ``blur`` recipe, seed 0, in the After view at full
resolution, where the repair brings its out-of-range tiles back (outlined in blue).

    QT_QPA_PLATFORM=offscreen python docs/eval/repair/gui_repaired.py
"""
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from drcnet.degradations import degrade
from drcnet.imageio import read_image, write_image

ROOT = Path(__file__).resolve().parents[3]


def main() -> None:
    clean = read_image(ROOT / "data/heldout/opencv_smarties.png").rgb
    blurred = degrade("blur", clean, np.random.default_rng(0))[0]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sweets_blurred.png"
        write_image(path, blurred)
        subprocess.run([sys.executable, str(ROOT / "main.py"), str(path), "--task", "deblur",
                        "--view", "after", "--screenshot",
                        str(ROOT / "docs/eval/repair/gui_repaired.png"), "--size", "1400x900"],
                       check=True)


if __name__ == "__main__":
    main()

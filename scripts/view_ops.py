"""Time the work the window does on a full-resolution result without running the model:
mixing it with the input at a strength (apply_strength), turning it into a QImage
(to_qimage), converting a wide-gamut photo's QImage to sRGB for display, and converting its
pixels to sRGB without Qt (drcnet.colour.to_srgb, for a summary sheet's photo panels).

Each figure is the median of ``--repeats`` runs on random WIDTHxHEIGHT images, after one
warm-up run (the first touches fresh memory and is several times slower).

    QT_QPA_PLATFORM=offscreen python scripts/view_ops.py [--size 4000x3000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    import numpy as np
    from PySide6.QtGui import QColorSpace
    from PySide6.QtWidgets import QApplication

    from drcnet.colour import to_srgb
    from drcnet.inference import apply_strength
    from drcnet_studio.viewer import to_qimage

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="4000x3000")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    src = rng.random((h, w, 3), dtype=np.float32)
    out = rng.random((h, w, 3), dtype=np.float32)
    p3 = bytes(QColorSpace(QColorSpace.NamedColorSpace.DisplayP3).iccProfile())

    def median_ms(fn) -> float:  # noqa: ANN001
        fn()
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return 1000 * statistics.median(times)

    mixed = apply_strength(src, out, 0.6)
    rows = [
        ("apply_strength (mix at 60 %)", median_ms(lambda: apply_strength(src, out, 0.6))),
        ("to_qimage, no profile", median_ms(lambda: to_qimage(mixed))),
        ("to_qimage, Display P3 profile", median_ms(lambda: to_qimage(mixed, p3))),
        ("to_srgb, Display P3 (a sheet panel)", median_ms(lambda: to_srgb(mixed, p3))),
    ]
    print(f"{w}x{h}, median of {args.repeats} after a warm-up, {os.cpu_count()} CPUs")
    for name, ms in rows:
        print(f"  {name:36s} {ms:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

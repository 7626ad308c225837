"""Measure how long the GUI thread is blocked while DRCNet Studio previews and restores.

Opens the real window offscreen on a large photo (the bundled rain sample, mirror-tiled to
WIDTHxHEIGHT), lets it preview and refine to full resolution, and records the gaps between
ticks of a 10 ms timer on the GUI thread. A gap well over 10 ms is time the event loop could
not run (no repaint, no input).

    QT_QPA_PLATFORM=offscreen python scripts/gui_latency.py [--size 2400x1600]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    import numpy as np
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.settings import Settings
    from app.workers import MainThreadGC
    from drcnet.bench import _photo
    from drcnet.imageio import write_image

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="2400x1600")
    p.add_argument("--task", default="derain")
    args = p.parse_args()
    w, h = (int(v) for v in args.size.split("x"))

    app = QApplication.instance() or QApplication([])
    MainThreadGC(parent=app)
    folder = Path(tempfile.mkdtemp())
    path = folder / "big.png"
    write_image(path, _photo(h, w, seed=0))
    window = MainWindow(Settings(persist=False), task=args.task)
    window.resize(1440, 900)
    window.show()

    gaps_all: list[float] = []
    gaps_restore: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gap = (now - last[0]) * 1000
        last[0] = now
        gaps_all.append(gap)
        if window.engine.restore_active():
            gaps_restore.append(gap)

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    t0 = time.perf_counter()
    window.settled.connect(lambda: window.image is not None and window._full_current()
                           and QTimer.singleShot(100, app.quit))
    QTimer.singleShot(300_000, app.quit)
    window.open_image(path)
    app.exec()
    wall = time.perf_counter() - t0
    window.close()

    def summary(gaps: list[float]) -> str:
        if not gaps:
            return "no samples"
        a = np.sort(np.array(gaps))
        p99 = a[int(0.99 * (len(a) - 1))]
        return (f"{len(a)} ticks, median {np.median(a):.1f} ms, p99 {p99:.1f} ms, "
                f"max {a[-1]:.1f} ms, ticks over 50 ms: {(a > 50).sum()}")

    print(f"{args.task}, {w}x{h}, {wall:.1f} s from open to full resolution")
    print(f"  whole run:       {summary(gaps_all)}")
    print(f"  during restore:  {summary(gaps_restore)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

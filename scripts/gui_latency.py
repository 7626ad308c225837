"""Measure how long the GUI thread is blocked while DRCNet Studio previews and restores,
and how closely the preview follows a dragged slider.

Opens the real window offscreen on a large photo (the bundled rain sample, mirror-tiled to
WIDTHxHEIGHT), lets it preview and refine to full resolution, and records the gaps between
ticks of a 10 ms timer on the GUI thread. A gap well over 10 ms is time the event loop could
not run (no repaint, no input). Then it drags the t slider with the handle held down (one
step every 50 ms from 0.55 to 0.94), lets go, and waits for the full resolution again; it
reports how many previews were shown during the drag and how old their knobs were when
they appeared (latency from the slider step to the picture).

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

    from drcnet.bench import _photo
    from drcnet.imageio import write_image
    from drcnet_studio.main_window import MainWindow
    from drcnet_studio.settings import Settings
    from drcnet_studio.workers import MainThreadGC

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
    phase = ["open"]
    wall = [0.0]
    steps: list[tuple[float, int]] = []  # (time, slider value) of each drag step
    shown: list[tuple[float, float, bool]] = []  # (time, latency ms, draft) during the drag
    gaps_drag: list[float] = []
    values = list(range(55, 95))
    slider = window.controls.t_slider
    drag_timer = QTimer()
    drag_timer.setInterval(50)

    def step() -> None:
        if len(steps) == len(values):
            drag_timer.stop()
            phase[0] = "release"
            slider.setSliderDown(False)
            return
        value = values[len(steps)]
        steps.append((time.perf_counter(), value))
        slider.setValue(value)

    drag_timer.timeout.connect(step)

    def on_preview() -> None:
        if phase[0] != "drag" or window.preview is None:
            return
        now = time.perf_counter()
        value = round(window.preview.analysis.knobs.t * 100)
        set_at = [t for t, v in steps if v == value]
        if set_at:
            shown.append((now, (now - set_at[-1]) * 1000, window.preview.draft))

    def on_settled() -> None:
        if window.image is None or not window._full_current():
            return
        if phase[0] == "open":
            wall[0] = time.perf_counter() - t0
            phase[0] = "drag"
            slider.setSliderDown(True)
            drag_timer.start()
        elif phase[0] == "release":
            phase[0] = "done"
            QTimer.singleShot(100, app.quit)

    def tick_drag() -> None:
        if phase[0] == "drag" and gaps_all:
            gaps_drag.append(gaps_all[-1])

    timer.timeout.connect(tick_drag)
    window.previewShown.connect(on_preview)
    window.settled.connect(on_settled)
    QTimer.singleShot(600_000, app.quit)
    window.open_image(path)
    app.exec()
    window.close()

    def summary(gaps: list[float]) -> str:
        if not gaps:
            return "no samples"
        a = np.sort(np.array(gaps))
        p99 = a[int(0.99 * (len(a) - 1))]
        return (f"{len(a)} ticks, median {np.median(a):.1f} ms, p99 {p99:.1f} ms, "
                f"max {a[-1]:.1f} ms, ticks over 50 ms: {(a > 50).sum()}")

    print(f"{args.task}, {w}x{h}, {wall[0]:.1f} s from open to full resolution")
    print(f"  whole run:       {summary(gaps_all)}")
    print(f"  during restore:  {summary(gaps_restore)}")
    print(f"  during the drag: {summary(gaps_drag)}")
    if steps and shown:
        span = shown[-1][0] - steps[0][0]  # first step to the last preview of the drag
        lat = np.sort(np.array([ms for _, ms, _ in shown]))
        drafts = sum(1 for *_, d in shown if d)
        print(f"  drag: {len(steps)} slider steps in {span:.1f} s, {len(shown)} previews shown "
              f"({len(shown) / max(span, 1e-9):.1f} per s, {drafts} of them drafts); "
              f"step-to-picture latency median {np.median(lat):.0f} ms, "
              f"p90 {lat[int(0.9 * (len(lat) - 1))]:.0f} ms, max {lat[-1]:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

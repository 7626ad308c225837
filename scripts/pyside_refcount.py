"""How many references to None and True the installed PySide6 loses: per void call, per
signal emit, and per repaint of the whole main window on the bundled rainy sample. The
figures app/refcount_guard.py and the README quote (Python 3.11, PySide6 6.12.0: 1, 1, about
12). The guard raises the counts but not the losses, so this measures with it applied.

    QT_QPA_PLATFORM=offscreen python scripts/pyside_refcount.py
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    gc.disable()  # as the app: collected on the GUI thread only
    from PySide6.QtCore import QObject, QPointF, QSettings, Signal
    from PySide6.QtWidgets import QApplication

    from drcnet_studio.main import apply_theme
    from drcnet_studio.main_window import MainWindow

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    app = QApplication([])
    apply_theme(app)

    class Probe(QObject):
        fired = Signal()

    n, point, probe = 1000, QPointF(), Probe()
    before = sys.getrefcount(None)
    for _ in range(n):
        point.setX(0.0)
    print(f"None lost per void call (QPointF.setX): {(before - sys.getrefcount(None)) / n:g}")
    before = sys.getrefcount(True)
    for _ in range(n):
        probe.fired.emit()
    print(f"True lost per emit: {(before - sys.getrefcount(True)) / n:g}")

    w = MainWindow(task="derain", device="cpu")
    w.resize(1440, 900)
    w.show()
    w.open_image(ROOT / "resources/samples/rain.png")
    end = time.time() + 120
    while time.time() < end and not (w.info is not None and w.preview is not None
                                     and w.is_settled()):
        app.processEvents()
        time.sleep(0.02)
    grabs = 20
    before = sys.getrefcount(None)
    for _ in range(grabs):
        w.grab()
    print(f"None lost per whole-window repaint (MainWindow.grab, 1440x900): "
          f"{(before - sys.getrefcount(None)) / grabs:g}")
    w.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

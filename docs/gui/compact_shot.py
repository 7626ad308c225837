"""Make docs/gui/compact.jpg: the first window on a 1366×768 laptop screen, where the Maps
panel starts as a tab behind the Restoration panel (MainWindow.fit_screen), with the bundled
rainy sample restored. Default settings (a private, empty settings folder).

    QT_QPA_PLATFORM=offscreen python docs/gui/compact_shot.py
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    gc.disable()  # as the app: collected on the GUI thread only (app.workers.MainThreadGC)
    from PySide6.QtCore import QRect, QSettings
    from PySide6.QtWidgets import QApplication

    from app.main import apply_theme
    from app.main_window import MainWindow

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    app = QApplication([])
    apply_theme(app)

    def pump(seconds: float, until=None) -> None:  # noqa: ANN001
        end = time.time() + seconds
        while time.time() < end:
            app.processEvents()
            time.sleep(0.02)
            if until is not None and until():
                return

    w = MainWindow(task="derain", device="cpu")
    w.fit_screen(QRect(0, 0, 1366, 768))
    w.show()
    pump(20, lambda: w.info is not None)
    w.open_image(ROOT / "resources/samples/rain.png")
    pump(60, w.is_settled)
    pump(1)
    out = ROOT / "docs/gui/compact.jpg"
    w.grab().save(str(out))
    print(f"{out}: {w.width()}×{w.height()}, image view {w.viewer.width()} px wide")
    w.close()
    pump(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

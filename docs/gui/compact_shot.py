"""Make docs/gui/compact.jpg: the first window on a 1366×768 laptop screen, where the Maps
panel starts as a tab behind the Restoration panel (MainWindow.fit_screen), with the bundled
rainy sample restored. Default settings (a private, empty settings folder).

    QT_QPA_PLATFORM=offscreen python docs/gui/compact_shot.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from PySide6.QtCore import QRect

    from docs.gui.zoom_shots import offscreen_app
    from drcnet_studio.main_window import MainWindow

    _app, pump = offscreen_app()

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

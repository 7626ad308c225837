"""Make docs/eval/range/gui_banner.png: the default camera-noise denoiser on the clean sweets
photo (data/heldout, scripts/build_heldout.py) with the repair off, so the range check's amber
banner and outlines show where the model broke. Default settings otherwise (a private, empty
settings folder).

    QT_QPA_PLATFORM=offscreen python docs/eval/range/gui_banner.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from docs.gui.zoom_shots import offscreen_app
    from drcnet_studio.main_window import MainWindow

    _app, pump = offscreen_app()

    w = MainWindow(task="denoise", device="cpu")
    w.resize(1440, 900)
    w.show()
    pump(20, lambda: w.info is not None)
    w.controls.repair_check.setChecked(False)
    w.set_view_mode("after")
    w.open_image(ROOT / "data/heldout/opencv_smarties.png")
    pump(120, w.is_settled)
    pump(1)
    out = ROOT / "docs/eval/range/gui_banner.png"
    w.grab().save(str(out))
    print(f"{out}: {w.viewer.warning()[:80]}…")
    w.close()
    pump(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

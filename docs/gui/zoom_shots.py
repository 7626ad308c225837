"""Make the GUI's screenshots, all with default settings (a private, empty settings folder)
whatever the user's are. Two show a noisy 2560x1600 photo zoomed in:

- docs/gui/focus.jpg: 100 %, split view, Gaussian-noise denoiser, while the full-resolution
  restore is still running; the area in view is already restored at full resolution.
- docs/gui/ea_area.jpg: the EA ± view at 200 %, camera-noise denoiser: the area in view with
  EA, without it (the trained no-EA model) and their difference, at full resolution.

And docs/gui/strength.jpg: the bundled noisy sample, camera-noise denoiser, split view, Strength
at 60 %, fitted to the window.

    QT_QPA_PLATFORM=offscreen python docs/gui/zoom_shots.py   # after scripts/build_corpus.py
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
PHOTO = ROOT / "data/cache/root/usr/share/wallpapers/Path/contents/images/2560x1600.jpg"


def offscreen_app():  # noqa: ANN201
    """The app as the screenshots need it: default settings (a private, empty settings
    folder), the theme, garbage collected as the app does; and ``pump(seconds, until)``, which
    runs events until ``until()`` is true (True) or the time is up (False)."""
    gc.disable()  # as the app: collected on the GUI thread only (app.workers.MainThreadGC)
    import tempfile

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from drcnet_studio.main import apply_theme

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    app = QApplication([])
    apply_theme(app)

    def pump(seconds: float, until=None) -> bool:  # noqa: ANN001
        end = time.time() + seconds
        while time.time() < end:
            app.processEvents()
            time.sleep(0.02)
            if until is not None and until():
                return True
        return False

    return app, pump


def main() -> int:
    import tempfile

    import cv2
    import numpy as np
    from PySide6.QtCore import QPointF

    from drcnet_studio.main_window import MainWindow

    _app, pump = offscreen_app()
    clean = cv2.imread(str(PHOTO))[..., ::-1].astype(np.float32) / 255
    rng = np.random.default_rng(0)
    noisy = np.clip(clean + rng.normal(0, 25 / 255, clean.shape), 0, 1)
    path = Path(tempfile.mkdtemp()) / "noisy.png"
    cv2.imwrite(str(path), (noisy[..., ::-1] * 255 + 0.5).astype(np.uint8))
    centre = QPointF(1650, 900)

    sample = ROOT / "resources/samples/noisy.png"
    for variant, name, photo in (("gaussian", "focus.jpg", path),
                                 ("default", "ea_area.jpg", path),
                                 ("default", "strength.jpg", sample)):
        w = MainWindow(task="denoise", variant=variant, device="cpu")
        w.resize(1440, 900)
        w.show()
        pump(20, lambda w=w: w.info is not None)
        w.open_image(photo)
        pump(30, lambda w=w: w.preview is not None)
        if name == "strength.jpg":
            w.set_view_mode("compare")
            w.set_compare_style("split")
            w.controls.strength_spin.setValue(60)
            pump(60, w.is_settled)
            said = w.viewer.single.captions[1]
        elif name == "focus.jpg":
            w.set_view_mode("compare")
            w.set_compare_style("split")
            w.viewer.set_split_position(centre.x() / 2560)
            w.viewer.state.set(1.0, centre)
            pump(60, w.viewer.has_detail)
            said = w.viewer.single.captions[1]
        else:
            w.set_view_mode("ea")
            pump(30, lambda w=w: w.preview.analysis.with_ea is not None)
            w.viewer.state.set(2.0, centre)
            pump(60, w.viewer.has_ea_detail)
            said = w.viewer.ea_label.text()
        pump(0.5)
        out = ROOT / "docs/gui" / name
        w.grab().save(str(out), quality=88)
        print(f"{out}: {said!r}")
        w.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

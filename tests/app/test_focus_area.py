"""The area in view comes first: a full-resolution restore of a photo the user has zoomed
into shows that area at full resolution before the rest is done (restore_tiled's focus)."""

from __future__ import annotations

import threading

import numpy as np
import qimage2ndarray
from PySide6.QtCore import QPointF, Qt

import drcnet.inference as inference


def shown(qimage) -> np.ndarray:  # noqa: ANN001
    return qimage2ndarray.rgb_view(qimage).astype(np.float32) / 255


class HoldAfterArea:
    """Wraps the engine's forward pass: once the worker has handed over an area, the next
    pass waits for :meth:`release`, so the test sees the window between the area and the
    whole result."""

    def __init__(self, worker, real) -> None:  # noqa: ANN001
        self.real = real
        self.area = threading.Event()
        self.open = threading.Event()
        worker.areaReady.connect(lambda *_: self.area.set(),
                                 Qt.ConnectionType.DirectConnection)  # in the worker thread

    def __call__(self, model, crops):  # noqa: ANN001, ANN204
        if self.area.is_set() and not self.open.wait(timeout=30):
            raise RuntimeError("never released")
        return self.real(model, crops)

    def release(self) -> None:
        self.open.set()


def _zoomed_window(make_window, picture, tmp_path, qtbot, monkeypatch):  # noqa: ANN001, ANN202
    path = picture(tmp_path / "big.png", 640, 480)
    w = make_window()
    w.controls.set_run(256, 64, True)  # a 256-px preview, 64-px tiles: 130 of them
    hold = HoldAfterArea(w.engine.worker, inference.forward_batch)
    monkeypatch.setattr(inference, "forward_batch", hold)
    w.open_image(path)
    qtbot.waitUntil(lambda: w.preview is not None, timeout=20000)
    w.viewer.state.set(2.0, QPointF(450, 300))  # 2× on the lower right: 8× the preview
    return w, hold


def test_the_area_in_view_is_shown_before_the_whole_is_done(
        make_window, picture, tmp_path, qtbot, monkeypatch) -> None:  # noqa: ANN001
    w, hold = _zoomed_window(make_window, picture, tmp_path, qtbot, monkeypatch)
    try:
        qtbot.waitUntil(w.viewer.has_detail, timeout=20000)
        seen = w.viewer.visible_area()
        y, x, h, wd = w._focus_box
        assert (x, y, wd, h) == (seen.x(), seen.y(), seen.width(), seen.height())
        area = w._current_area()
        assert area is not None and area.box == w._focus_box
        assert w.full is None or not w._full_current()  # the whole is still being restored
        assert "full resolution in view" in w.viewer.single.captions[0]
        w.viewer.state.set(2.0, QPointF(150, 100))  # panned away: the view shows the preview
        caption = w.viewer.single.captions[0]
        assert "full resolution in view" not in caption and "full resolution in part" in caption
        w.viewer.state.set(2.0, QPointF(450, 300))  # and back over the area
        assert "full resolution in view" in w.viewer.single.captions[0]
        piece = shown(w._area_image[0])
        assert piece.shape == (h, wd, 3)
        # The pixel readout over the area gives the area's full-resolution values.
        w.viewer.hovered.emit(x + 5, y + 7)
        value = np.round(area.pixels[7, 5] * 255).astype(int)
        assert "out " + " ".join(f"{v:3d}" for v in value) in w.pixel_label.text()
        # A strength change mixes the piece again; the model does not run for it.
        w.controls.set_strength(0.5, notify=True)
        qtbot.waitUntil(lambda: w._area_image[2] == 0.5 and not w._area_mixing, timeout=10000)
        assert w.viewer.detail_image() is w._area_image[0]
        src = w.image.rgb[y : y + h, x : x + wd]
        np.testing.assert_allclose(shown(w._area_image[0]), src + 0.5 * (area.pixels - src),
                                   atol=1 / 255 + 1e-6)
        w.controls.set_strength(1.0, notify=True)
        qtbot.waitUntil(lambda: w._area_image[2] == 1.0, timeout=10000)
    finally:
        hold.release()
    qtbot.waitUntil(lambda: w._full_current() and w.is_settled(), timeout=30000)
    assert not w.viewer.has_detail()  # the whole result replaces the piece
    assert "full resolution ·" in w.viewer.single.captions[0]
    # The piece shown was the finished image's pixels there (to float rounding).
    np.testing.assert_allclose(area.pixels, w.full.restored[y : y + h, x : x + wd], atol=1e-5)
    np.testing.assert_allclose(piece, w.full.restored[y : y + h, x : x + wd],
                               atol=1 / 255 + 1e-5)


def test_a_knob_change_drops_the_area(make_window, picture, tmp_path, qtbot,
                                      monkeypatch) -> None:  # noqa: ANN001
    w, hold = _zoomed_window(make_window, picture, tmp_path, qtbot, monkeypatch)
    try:
        qtbot.waitUntil(w.viewer.has_detail, timeout=20000)
        seen: list[tuple[float, bool]] = []
        w.previewShown.connect(lambda: seen.append((w.preview.analysis.knobs.t,
                                                    w.viewer.has_detail())))
        w.controls.t_spin.setValue(0.6)  # another t: the area is of the old one
        assert w._current_area() is None
    finally:
        hold.release()
    # The next preview (t 0.6) is shown without it; the whole result then replaces all.
    qtbot.waitUntil(lambda: bool(seen), timeout=30000)
    assert seen[0] == (0.6, False)
    qtbot.waitUntil(lambda: w._full_current() and w.is_settled(), timeout=30000)
    assert w.full.knobs.t == 0.6 and not w.viewer.has_detail()


def test_no_focus_when_the_preview_is_as_sharp_as_the_view(
        make_window, picture, tmp_path, open_settled, qtbot) -> None:  # noqa: ANN001
    path = picture(tmp_path / "big.png", 640, 480)
    w = make_window()
    w.controls.set_run(256, 64, True)
    open_settled(w, path)
    w.viewer.state.set(0.3, QPointF(320, 240))  # 0.3 screen px per pixel; preview: 0.4
    assert w._focus_box is None
    w.viewer.state.set(1.0, QPointF(320, 240))
    assert w._focus_box is not None
    w.set_view_mode("before")  # nothing restored is in view
    assert w._focus_box is None


def test_a_cancel_or_a_restart_takes_the_area_away(make_window, picture, tmp_path, qtbot,
                                                   monkeypatch) -> None:  # noqa: ANN001
    w, hold = _zoomed_window(make_window, picture, tmp_path, qtbot, monkeypatch)
    try:
        qtbot.waitUntil(w.viewer.has_detail, timeout=20000)
        # The restore started again (out of GPU memory): the area handed over is gone.
        area = w._current_area()
        w.engine.worker.areaReady.emit(w._restore_job.serial, None)
        assert not w.viewer.has_detail() and w._current_area() is None
        assert "full resolution in view" not in w.viewer.single.captions[0]
        w.engine.worker.areaReady.emit(w._restore_job.serial, area)  # handed over again
        qtbot.waitUntil(w.viewer.has_detail, timeout=10000)
        w.cancel_restore()  # Esc
    finally:
        hold.release()
    qtbot.waitUntil(lambda: w._restore_job is None, timeout=20000)
    assert not w.viewer.has_detail() and w._current_area() is None
    assert "full resolution in view" not in w.viewer.single.captions[0]


def test_a_replaced_restore_leaves_no_progress_message(make_window, picture, tmp_path, qtbot,
                                                        monkeypatch) -> None:  # noqa: ANN001
    w, hold = _zoomed_window(make_window, picture, tmp_path, qtbot, monkeypatch)
    try:
        qtbot.waitUntil(lambda: w.statusBar().currentMessage().startswith(
            "Restoring at full resolution"), timeout=20000)
        w.controls.t_spin.setValue(0.6)  # the restore for t 0.75 is cancelled quietly
        assert not w.statusBar().currentMessage().startswith("Restoring at full resolution")
    finally:
        hold.release()
    qtbot.waitUntil(lambda: w._full_current() and w.is_settled(), timeout=30000)


def test_a_cancel_overtaken_by_a_knob_change_leaves_no_message(
        make_window, picture, tmp_path, qtbot, monkeypatch) -> None:  # noqa: ANN001
    w, hold = _zoomed_window(make_window, picture, tmp_path, qtbot, monkeypatch)
    try:
        qtbot.waitUntil(w.viewer.has_detail, timeout=20000)
        w.cancel_restore()  # Esc: lands after the tile in progress
        assert w.statusBar().currentMessage().startswith("Cancelling after the tiles")
        w.controls.t_spin.setValue(0.6)  # before it lands
        assert not w.statusBar().currentMessage().startswith("Cancelling")
    finally:
        hold.release()
    qtbot.waitUntil(lambda: w._full_current() and w.is_settled(), timeout=30000)
    assert not w.statusBar().currentMessage().startswith(("Cancelling", "Restoring"))

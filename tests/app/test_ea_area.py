"""The EA view zoomed in: the area in view restored with and without energy attention at
full resolution (app.workers.EAAreaJob, drcnet.inference.restore_area)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF

import drcnet
from drcnet.inference import restore_area, run
from tests.app.test_focus_area import HoldAfterArea


def _ea_window(make_window, picture, tmp_path, qtbot):  # noqa: ANN001, ANN202
    path = picture(tmp_path / "big.png", 640, 480)
    w = make_window()
    w.controls.set_run(256, 64, True)  # a 256-px preview, 64-px tiles
    w.open_image(path)
    qtbot.waitUntil(lambda: w.preview is not None, timeout=20000)
    w.set_view_mode("ea")
    qtbot.waitUntil(lambda: w.preview.analysis.with_ea is not None, timeout=20000)
    return w


def test_the_ea_view_zoomed_in_shows_the_area_at_full_resolution(
        make_window, picture, tmp_path, qtbot) -> None:  # noqa: ANN001
    w = _ea_window(make_window, picture, tmp_path, qtbot)
    assert not w.viewer.has_ea_detail()
    w.viewer.state.set(2.0, QPointF(400, 260))  # 2×: 5 times the preview's resolution
    qtbot.waitUntil(w.viewer.has_ea_detail, timeout=20000)
    made = w._ea_area
    seen = w.viewer.ea_visible_area()
    y, x, h, wd = made.box
    assert y <= seen.y() and x <= seen.x() and seen.bottom() < y + h and seen.right() < x + wd
    assert "full resolution in view" in w.viewer.ea_label.text()
    # The pair is what the whole tiled restore gives there, with EA and with it bypassed
    # (these weights have no trained no-EA model).
    model = drcnet.load_model("denoise", device="cpu", precision=w.info.precision)
    k = w.knobs()
    model.configure(t=k.t, delta=k.delta, ea=True)
    np.testing.assert_allclose(made.with_ea, run(restore_area(model, w.image.rgb, made.box,
                                                              w._tiles())), atol=1e-5)
    model.configure(ea=False)
    np.testing.assert_allclose(made.without_ea, run(restore_area(model, w.image.rgb, made.box,
                                                                 w._tiles())), atol=1e-5)
    assert made.images[0].width() == wd and made.images[2].height() == h
    # Then the full-resolution restore, which gave way to it, runs.
    qtbot.waitUntil(lambda: w.is_settled(), timeout=30000)
    assert w._full_current() and w.viewer.has_ea_detail()
    # A small pan stays inside the margin: nothing runs again.
    jobs = w.engine.worker.forward_count
    w.viewer.state.set(2.0, QPointF(410, 265))
    qtbot.waitUntil(lambda: w.is_settled(), timeout=10000)
    assert w.engine.worker.forward_count == jobs and w._ea_area is made


def test_other_knobs_take_the_pieces_away_and_bring_new_ones(
        make_window, picture, tmp_path, qtbot) -> None:  # noqa: ANN001
    w = _ea_window(make_window, picture, tmp_path, qtbot)
    w.viewer.state.set(2.0, QPointF(400, 260))
    qtbot.waitUntil(w.viewer.has_ea_detail, timeout=20000)
    old = w._ea_area
    shown: list[bool] = []
    w.previewShown.connect(lambda: shown.append(w.viewer.has_ea_detail()))
    w.controls.t_spin.setValue(0.6)
    qtbot.waitUntil(lambda: bool(shown), timeout=20000)
    assert shown[0] is False  # the preview for t 0.6 comes without the old pieces
    qtbot.waitUntil(lambda: w.viewer.has_ea_detail() and w.is_settled(), timeout=30000)
    assert w._ea_area is not old and w._ea_area.knobs.t == 0.6


def test_a_running_restore_gives_way_to_the_ea_area(make_window, picture, tmp_path, qtbot,
                                                    monkeypatch) -> None:  # noqa: ANN001
    import drcnet.inference as inference

    path = picture(tmp_path / "big.png", 640, 480)
    w = make_window()
    w.controls.set_run(256, 64, True)
    hold = HoldAfterArea(w.engine.worker, inference.forward_batch)
    monkeypatch.setattr(inference, "forward_batch", hold)
    w.open_image(path)
    qtbot.waitUntil(lambda: w.preview is not None, timeout=20000)
    w.viewer.state.set(2.0, QPointF(400, 260))
    try:
        qtbot.waitUntil(w.viewer.has_detail, timeout=20000)  # the restore holds after it
        w.set_view_mode("ea")
        assert w._restore_job is None  # cancelled: it would hold the EA pair back
    finally:
        hold.release()
    qtbot.waitUntil(lambda: w.viewer.has_ea_detail() and w.is_settled(), timeout=30000)
    assert w._full_current()  # and restored again afterwards


def test_panning_the_ea_view_stops_the_restore_for_the_new_area(
        make_window, picture, tmp_path, qtbot) -> None:  # noqa: ANN001
    path = picture(tmp_path / "big.png", 1600, 1200)
    w = make_window()
    w.controls.set_run(256, 64, True)  # 1200 tiles of 64 px: the restore takes a while
    w.open_image(path)
    qtbot.waitUntil(lambda: w.preview is not None, timeout=20000)
    w.set_view_mode("ea")
    qtbot.waitUntil(lambda: w.preview.analysis.with_ea is not None, timeout=20000)
    w.viewer.state.set(2.0, QPointF(400, 300))
    qtbot.waitUntil(lambda: w.viewer.has_ea_detail() and w._restore_job is not None,
                    timeout=20000)
    first = w._ea_area
    w.viewer.state.set(2.0, QPointF(1200, 900))  # far away: a new area
    qtbot.waitUntil(lambda: w._ea_job is not None, timeout=10000)
    assert w._restore_job is None  # it gave way
    qtbot.waitUntil(lambda: w._ea_area is not first, timeout=30000)
    y, x, h, wd = w._ea_area.box
    assert y <= 900 <= y + h and x <= 1200 <= x + wd
    w.set_view_mode("after")  # no EA wait: the restore finishes
    qtbot.waitUntil(lambda: w._full_current() and w.is_settled(), timeout=60000)

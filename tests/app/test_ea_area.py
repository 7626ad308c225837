"""The EA view zoomed in: the area in view restored with and without energy attention at
full resolution (app.workers.EAAreaJob, drcnet.inference.restore_area)."""

from __future__ import annotations

import numpy as np
import pytest
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
    # Zoomed out, the piece no longer is the view: the label stops saying so.
    w.viewer.fit()
    qtbot.waitUntil(lambda: w.is_settled(), timeout=10000)
    assert "full resolution in view" not in w.viewer.ea_label.text()


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


def test_a_failing_ea_area_is_not_asked_again_and_the_restore_still_runs(
        make_window, picture, tmp_path, qtbot, monkeypatch) -> None:  # noqa: ANN001
    import drcnet.inference as inference
    from drcnet.errors import DRCNetError

    calls = {"n": 0}

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["n"] += 1
        raise DRCNetError("this area cannot be restored")
        yield  # a generator, as restore_area is

    monkeypatch.setattr(inference, "restore_area", broken)  # ea_area_pair's
    w = _ea_window(make_window, picture, tmp_path, qtbot)
    messages: list[str] = []
    w.statusBar().messageChanged.connect(messages.append)
    w.viewer.state.set(2.0, QPointF(400, 260))
    qtbot.waitUntil(lambda: w._full_current() and w.is_settled(), timeout=30000)
    assert calls["n"] == 1 and not w.viewer.has_ea_detail()
    assert any("EA comparison failed: this area cannot be restored" in m for m in messages)


def test_the_area_reaches_the_image_edge(make_window, picture, tmp_path, qtbot) -> None:  # noqa: ANN001
    w = _ea_window(make_window, picture, tmp_path, qtbot)
    w.viewer.state.set(2.0, QPointF(400, 200))
    qtbot.waitUntil(lambda: w.viewer.has_ea_detail() and w.is_settled(), timeout=30000)
    w.viewer.state.set(2.0, QPointF(400, 98))  # the view's top is the image's top now
    seen = w.viewer.ea_visible_area()
    assert seen.y() == 0
    qtbot.waitUntil(lambda: w._ea_area.box[0] == 0 and w.is_settled(), timeout=30000)


def test_a_restore_the_user_asked_for_comes_back_after_giving_way(
        make_window, picture, tmp_path, qtbot) -> None:  # noqa: ANN001
    path = picture(tmp_path / "big.png", 1600, 1200)
    w = make_window()
    w.controls.set_run(256, 64, False)  # no refining by itself
    w.open_image(path)
    qtbot.waitUntil(lambda: w.preview is not None and w.is_settled(), timeout=20000)
    w.set_view_mode("ea")
    qtbot.waitUntil(lambda: w.preview.analysis.with_ea is not None and w.is_settled(),
                    timeout=20000)
    w.start_full_restore()  # asked for
    w.viewer.state.set(2.0, QPointF(400, 300))
    qtbot.waitUntil(lambda: w._ea_job is not None, timeout=10000)
    assert w._restore_job is None  # gave way
    qtbot.waitUntil(lambda: w.is_settled() and w.viewer.has_ea_detail(), timeout=60000)
    assert w._full_current()  # and came back


def test_no_pair_for_most_of_the_image_nor_before_the_new_preview(
        make_window, picture, tmp_path, qtbot) -> None:  # noqa: ANN001
    w = _ea_window(make_window, picture, tmp_path, qtbot)
    w.viewer.state.set(0.5, QPointF(320, 240))  # most of the image in view
    qtbot.waitUntil(w.is_settled, timeout=30000)
    assert w._ea_job is None and w._ea_area is None
    w.viewer.state.set(2.0, QPointF(400, 260))
    qtbot.waitUntil(lambda: w.viewer.has_ea_detail() and w.is_settled(), timeout=30000)
    w.open_image(picture(tmp_path / "other.png", 640, 480, seed=3))
    qtbot.waitUntil(lambda: w.image.path.name == "other.png", timeout=10000)
    assert w._ea_gain is None and not w.viewer.has_ea_detail()  # nothing of the last image
    w.viewer.state.set(2.0, QPointF(400, 260))  # a new image opens fitted: zoom in again
    qtbot.waitUntil(lambda: w.viewer.has_ea_detail() and w.is_settled(), timeout=30000)
    assert w._ea_area.knobs == w.preview.analysis.knobs


@pytest.mark.parametrize("repaired", [True, False])
def test_without_ea_repairs_the_tiles_the_pass_with_ea_repaired(
        make_window, picture, tmp_path, qtbot, monkeypatch, repaired) -> None:  # noqa: ANN001
    # Each pass used to repair out-of-range tiles on its own peaks, so the difference could
    # show two repairs instead of EA. Now the pass without EA takes the other's factors.
    import drcnet.inference as inference
    from drcnet.inference import TilePeak

    calls: list[dict] = []
    real = inference.restore_area

    def recorded(model, rgb, box, tiles, cancel=None, peaks=None, colours=None):  # noqa: ANN001, ANN202
        calls.append({"peaks": peaks is not None, "colours": colours})
        out = yield from real(model, rgb, box, tiles, cancel, peaks, colours)
        if peaks is not None and repaired:  # as if the range check had repaired a tile
            peaks.append(TilePeak(0, 0, 64, 64, 1.0, colour=0.5, first_peak=9.0))
        return out

    monkeypatch.setattr(inference, "restore_area", recorded)  # ea_area_pair's
    w = _ea_window(make_window, picture, tmp_path, qtbot)
    w.viewer.state.set(2.0, QPointF(400, 260))
    qtbot.waitUntil(lambda: w.viewer.has_ea_detail() and w.is_settled(), timeout=30000)
    # Nothing repaired with EA: an empty map, so the pass without EA repairs nothing either
    # (None would let it repair on its own peaks).
    want = {(0, 0): 0.5} if repaired else {}
    assert calls == [{"peaks": True, "colours": None}, {"peaks": False, "colours": want}]

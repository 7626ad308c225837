"""The main window end to end, on tiny (wf=8, depth=2) weights and small images."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QToolBar

import app.workers
import drcnet.inference
from app.export_dialog import ExportRequest
from drcnet.compare import NOEA_TRAINED, Knobs
from drcnet.network import DRCNet
from drcnet.weights import save_weights


def test_open_shows_file_and_restores(make_window, image_path, open_settled) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    assert "noisy.png" in w.windowTitle()
    assert w.image.rgb.shape == (72, 96, 3)
    # A small image: the preview is the full-resolution result.
    assert w.full is not None and w.full.restored.shape == (72, 96, 3)
    assert w.viewer.single.primary is not None
    assert "full resolution" in w.viewer.single.captions[0]
    assert not np.allclose(w.full.restored, w.image.rgb)
    assert "cpu" in w.run_label.text()


def test_preview_follows_slider_without_blocking(make_window, image_path, open_settled,
                                                 make_gate, qtbot, monkeypatch) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    first = w.preview.analysis.restored.copy()
    gate = make_gate(app.workers.analyse)
    monkeypatch.setattr(app.workers, "analyse", gate)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    w.controls.t_slider.setValue(55)  # the user drags t
    qtbot.waitUntil(gate.entered.is_set)
    # The model thread is busy with the preview; the GUI keeps running its event loop.
    qtbot.waitUntil(lambda: len(ticks) >= 5)
    assert w.preview.analysis.knobs.t == pytest.approx(0.75)
    with qtbot.waitSignal(w.previewShown, timeout=10000):
        gate.release()
    timer.stop()
    assert w.preview.analysis.knobs == Knobs(0.55, 1e-6, True)
    assert np.abs(w.preview.analysis.restored - first).max() > 1e-4


def test_stale_previews_are_coalesced(make_window, image_path, open_settled, make_gate,
                                      qtbot, monkeypatch) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    gate = make_gate(app.workers.analyse)
    monkeypatch.setattr(app.workers, "analyse", gate)
    w.controls.t_slider.setValue(60)
    qtbot.waitUntil(gate.entered.is_set)
    for v in range(61, 91):  # a fast drag while the first preview is still running
        w.controls.t_slider.setValue(v)
    gate.release()
    qtbot.waitUntil(lambda: w.preview.analysis.knobs.t == pytest.approx(0.90), timeout=10000)
    qtbot.waitUntil(w.is_settled, timeout=30000)
    assert gate.calls == 2  # the one in flight and the latest; 29 stale ones never ran


def test_drag_previews_a_half_size_draft_then_sharpens(make_window, tmp_path, picture, qtbot,
                                                       open_settled, monkeypatch) -> None:  # noqa: ANN001
    path = picture(tmp_path / "big.png", 600, 400)
    w = make_window()
    w.controls.set_run(512, 256, True)
    open_settled(w, path)
    assert w.preview.analysis.restored.shape[:2] == (341, 512)
    shown = []
    w.previewShown.connect(lambda: shown.append((w.preview.draft,
                                                 w.preview.analysis.restored.shape[:2],
                                                 w.viewer.single.captions[0])))
    refine_behind = []
    start = w.start_full_restore

    def spy() -> None:
        # Whether the latest preview asked for is a draft. (Not the one on screen: on a
        # loaded machine the full-size preview can still be running when the idle timer
        # starts the refine, which then queues behind it on the model thread.)
        refine_behind.append(w._latest_draft)
        start()

    monkeypatch.setattr(w, "start_full_restore", spy)
    w.controls.t_slider.setSliderDown(True)  # the user holds the t handle and drags
    for v in (70, 68, 66):
        w.controls.t_slider.setValue(v)
    qtbot.waitUntil(lambda: any(d for d, _, _ in shown), timeout=10000)
    draft = next(s for s in shown if s[0])
    assert draft[1] == (170, 256) and "draft 256×170" in draft[2]
    # Held still: the full-size preview follows the pause, then the full-resolution refine;
    # the refine never starts while only a draft is asked for.
    qtbot.waitUntil(w.is_settled, timeout=20000)
    assert shown[-1][0] is False and shown[-1][1] == (341, 512)
    assert refine_behind and not any(refine_behind)
    assert w.full is not None and w.full.knobs.t == pytest.approx(0.66)
    assert "full resolution" in w.viewer.single.captions[0]
    before = len(shown)
    w.controls.t_slider.setSliderDown(False)  # letting go asks for nothing more
    qtbot.wait(300)
    assert len(shown) == before and w.is_settled()


def test_key_repeat_drafts_then_sharpens_after_a_pause(make_window, tmp_path, picture, qtbot,
                                                        open_settled, monkeypatch) -> None:  # noqa: ANN001, E501
    import app.main_window

    # The pause is the test's to make: on a slow machine the first full-size preview outlasts
    # a 250-ms timer, which then replaces the queued draft (coalescing, as designed).
    monkeypatch.setattr(app.main_window, "DRAG_GAP_MS", 60_000)
    monkeypatch.setattr(app.main_window, "SHARPEN_MS", 600_000)
    path = picture(tmp_path / "big.png", 600, 400)
    w = make_window()
    w.controls.set_run(512, 256, False)
    open_settled(w, path)
    drafts = []
    w.previewShown.connect(lambda: drafts.append(w.preview.draft))
    w.controls.t_spin.setValue(0.70)  # one step, nothing before it: a full-size preview
    w.controls.t_spin.setValue(0.69)  # a second step right after: a drag, so a draft
    qtbot.waitUntil(lambda: True in drafts, timeout=30000)
    assert w._sharpen.isActive() and not w.is_settled()  # a draft is never where it rests
    w._sharpen.stop()
    w._on_sharpen()  # the steps paused
    qtbot.waitUntil(w.is_settled, timeout=30000)
    assert drafts[-1] is False  # sharpened
    assert w.preview.analysis.restored.shape[:2] == (341, 512)
    assert w.preview.analysis.knobs.t == pytest.approx(0.69)


def test_full_resolution_refine_and_cancel(make_window, tmp_path, picture, make_gate, qtbot,
                                           open_settled, monkeypatch) -> None:  # noqa: ANN001
    path = picture(tmp_path / "big.png", 300, 200)
    w = make_window()
    w.controls.set_run(256, 128, True)
    open_settled(w, path)
    assert w.preview.analysis.restored.shape[:2] == (171, 256)  # downscaled preview
    assert w.full is not None and w.full.restored.shape == (200, 300, 3)  # refined when idle
    assert "full resolution" in w.viewer.single.captions[0]
    assert "tile 128" in w.run_label.text()

    w.controls.refine_check.setChecked(False)
    w.controls.t_slider.setValue(60)
    qtbot.waitUntil(w.is_settled, timeout=30000)
    assert not w._full_current()
    assert "preview" in w.viewer.single.captions[0]

    gate = make_gate(drcnet.inference.forward_batch)
    monkeypatch.setattr(drcnet.inference, "forward_batch", gate)
    cancelled = []
    w.engine.worker.restoreCancelled.connect(lambda serial, by_user: cancelled.append(by_user))
    w.controls.restore_button.click()
    qtbot.waitUntil(gate.entered.is_set)
    assert w.progress.isVisible() and w.cancel_button.isVisible()
    w.cancel_button.click()
    said: list[str] = []
    w.statusBar().messageChanged.connect(said.append)
    gate.release()
    qtbot.waitUntil(lambda: not w.progress.isVisible() and bool(cancelled), timeout=10000)
    assert cancelled == [True]  # cancelled by the user
    # The tile that was running reports progress as it ends; "Cancelling…" stays up.
    assert not any(m.startswith("Restoring at full resolution") for m in said), said
    assert gate.calls == 1  # of 6 tiles, only the one running when Cancel was pressed
    assert not w.cancel_button.isVisible()
    assert "cancelled" in w.statusBar().currentMessage()
    assert not w._full_current()


def test_restore_asked_again_while_cancelling_runs(make_window, tmp_path, picture, make_gate,
                                                   qtbot, open_settled, monkeypatch) -> None:  # noqa: ANN001
    path = picture(tmp_path / "big.png", 300, 200)
    w = make_window()
    w.controls.set_run(256, 128, False)
    open_settled(w, path)
    gate = make_gate(drcnet.inference.forward_batch)
    monkeypatch.setattr(drcnet.inference, "forward_batch", gate)
    w.controls.restore_button.click()
    qtbot.waitUntil(gate.entered.is_set)
    w.cancel_button.click()  # "Cancelling after the tiles in progress…"
    w.controls.restore_button.click()  # the user changes their mind: not ignored
    assert w.cancel_button.isEnabled()
    gate.release()
    qtbot.waitUntil(w.is_settled, timeout=30000)
    assert w._full_current()


def test_full_restore_reports_progress(make_window, tmp_path, picture, qtbot,
                                       open_settled) -> None:  # noqa: ANN001
    path = picture(tmp_path / "big.png", 300, 200)
    w = make_window()
    w.controls.set_run(256, 128, False)
    open_settled(w, path)
    seen = []
    w.engine.worker.progress.connect(lambda s, d, t, m: seen.append((d, t)))
    with qtbot.waitSignal(w.restoreShown, timeout=20000):
        w.start_full_restore()
    assert seen[-1] == (6, 6)
    assert w.full.restored.shape == (200, 300, 3)
    assert "s" in w.run_label.text() and "tile 128" in w.run_label.text()
    assert w.statusBar().currentMessage().startswith("Full-resolution restore done")
    w.controls.t_slider.setValue(60)  # the shown result no longer matches: no stale "done"
    assert w.statusBar().currentMessage() == ""
    qtbot.waitUntil(w.is_settled, timeout=30000)


def test_best_quality_restores_again_with_eight_views(make_window, image_path, qtbot, tmp_path,
                                                     open_settled, monkeypatch) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)  # small image: the one-pass preview is the full result
    single = w.full.restored.copy()
    views = []
    real = drcnet.inference.forward_batch
    monkeypatch.setattr(drcnet.inference, "forward_batch",
                        lambda m, crops: views.append(crops.shape) or real(m, crops))
    w.controls.ensemble_check.setChecked(True)  # refine when idle is on by default
    assert w.controls.ensemble_check.text() == "Best quality (8 views, 8× slower)"
    qtbot.waitUntil(lambda: w.is_settled() and w.full.tiles.ensemble == 8, timeout=20000)
    assert views == [(1, 72, 96, 3), (1, 96, 72, 3)] * 4
    assert "8 views" in w.run_label.text()
    assert "full resolution" in w.viewer.single.captions[0]
    assert 1e-6 < np.abs(w.full.restored - single).max() < 0.2  # same model, 8 views averaged
    assert w.settings.ensemble() is True
    out = tmp_path / "best.png"
    with qtbot.waitSignal(w.exported, timeout=20000):
        w.export(ExportRequest("image", out))
    assert json.loads(out.with_suffix(".json").read_text())["ensemble"] == 8
    w.controls.ensemble_check.setChecked(False)  # back to the one-pass preview
    qtbot.waitUntil(lambda: w.is_settled() and w.full.tiles.ensemble == 1, timeout=20000)
    np.testing.assert_allclose(w.full.restored, single, atol=1e-6)
    w.controls.set_task("derain")  # rain falls down: only the upright views
    assert w.controls.ensemble_check.text() == "Best quality (4 views, 4× slower)"


def test_turning_best_quality_off_stops_its_restore(make_window, image_path, open_settled,
                                                    make_gate, qtbot, monkeypatch) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    cancelled = []
    w.engine.worker.restoreCancelled.connect(lambda serial, by_user: cancelled.append(serial))
    gate = make_gate(drcnet.inference.forward_batch)
    monkeypatch.setattr(drcnet.inference, "forward_batch", gate)
    w.controls.ensemble_check.setChecked(True)
    qtbot.waitUntil(gate.entered.is_set, timeout=20000)  # the first of 8 views is running
    assert w.progress.isVisible()
    w.controls.ensemble_check.setChecked(False)  # 8× too slow: the user changes their mind
    assert w._restore_job is None and not w.progress.isVisible()
    gate.release()
    qtbot.waitUntil(lambda: bool(cancelled), timeout=20000)
    assert gate.calls == 1  # stopped before its second view
    qtbot.waitUntil(w.is_settled, timeout=30000)
    assert w.full.tiles.ensemble == 1 and w._full_current()


def test_tile_change_keeps_an_equal_one_pass_result(make_window, image_path, open_settled,
                                                    qtbot, monkeypatch) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)  # 96×72: one pass with 256- or 512-px tiles alike
    w.controls.ensemble_check.setChecked(True)
    qtbot.waitUntil(lambda: w.is_settled() and w.full.tiles.ensemble == 8, timeout=20000)
    calls = []
    real = drcnet.inference.forward_batch
    monkeypatch.setattr(drcnet.inference, "forward_batch",
                        lambda m, crops: calls.append(crops.shape) or real(m, crops))
    w.controls.tile_spin.setValue(512)
    qtbot.wait(300)
    qtbot.waitUntil(w.is_settled, timeout=30000)
    assert calls == [] and w._full_current() and w.full.tiles.tile == 256


def test_tile_follows_the_training_crop_until_set(make_window, image_path, open_settled,
                                                  weights_dir, qtbot) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    save_weights(weights_dir / "derain.safetensors", DRCNet(wf=8, depth=2),
                 {"task": "derain", "train_config": {"crop": 64}})
    w = make_window()
    open_settled(w, image_path)
    assert w.controls.tile_auto() and not w.controls.tile_spin.isEnabled()
    assert w.controls.tile() == 256  # the tiny denoise file records no crop: the default
    w.controls.set_task("derain")
    qtbot.waitUntil(lambda: w.info is not None and w.info.task == "derain" and w.is_settled())
    assert w.controls.tile() == 64 and w.full is not None and w.full.tiles.tile == 64
    w.controls.set_task("denoise")
    qtbot.waitUntil(lambda: w.info is not None and w.info.task == "denoise" and w.is_settled())
    assert w.controls.tile() == 256

    w.controls.tile_auto_check.setChecked(False)  # the user's own size from here on
    assert w.controls.tile_spin.isEnabled()
    w.controls.tile_spin.setValue(128)
    w.controls.set_task("derain")
    qtbot.waitUntil(lambda: w.info is not None and w.info.task == "derain" and w.is_settled())
    assert w.controls.tile() == 128 and w.full.tiles.tile == 128
    w.close()
    w2 = make_window(task="derain")
    assert not w2.controls.tile_auto() and w2.controls.tile() == 128
    open_settled(w2, image_path)
    w2.controls.tile_auto_check.setChecked(True)  # back on: the loaded model's crop again
    assert w2.controls.tile() == 64 and not w2.controls.tile_spin.isEnabled()
    qtbot.waitUntil(lambda: w2.is_settled() and w2.full is not None and w2.full.tiles.tile == 64)
    w2.controls.tile_auto_check.setChecked(False)  # off again: the user's 128, not the crop
    assert w2.controls.tile() == 128
    w2.close()
    assert w2.settings.tile() == 128 and not w2.settings.tile_auto()


def test_the_old_default_map_block_gives_way_once() -> None:
    from app.settings import Settings

    s = Settings()
    s._set("maps/block", "stage2.enc0")  # what every close before session 20 stored
    assert s.maps()["block"] == ""  # not a choice: the panel opens on the new default
    s._set("maps/block", "stage1.enc2")
    assert s.maps()["block"] == "stage1.enc2"  # another block was chosen: kept
    s.set_maps("stage2.enc0", "mask", "gray", 40, False)  # chosen since: kept from now on
    assert s.maps()["block"] == "stage2.enc0"


def test_a_tile_stored_by_an_earlier_version_is_kept() -> None:
    from app.settings import Settings

    s = Settings()
    assert s.tile_auto()  # nothing stored: follow the training crop
    s.set_tile(256)
    assert s.tile_auto()  # the old default was no choice
    s.set_tile(512)
    assert not s.tile_auto()
    s.set_tile_auto(True)
    assert s.tile_auto()


def test_a_damaged_tile_setting_does_not_turn_tiling_off() -> None:
    from app.settings import Settings
    from drcnet.inference import DEFAULT_TILE

    s = Settings()
    s._set("run/tile", -5)
    assert s.tile() == DEFAULT_TILE  # -5 read as 0 would restore whole photos in one pass
    s.set_tile(0)
    assert s.tile() == 0  # "whole image" chosen on purpose stays


@pytest.mark.parametrize(("here", "used"), [
    ([("cpu", "CPU")], "cpu"),
    ([("cpu", "CPU"), ("cuda:0", "GPU 0")], "cuda:0")])  # one of its kind before the CPU
def test_a_remembered_device_not_here_is_said_and_kept_for_next_time(
        weights_dir, qtbot, monkeypatch, here, used) -> None:  # noqa: ANN001
    import app.main_window
    from app.main_window import MainWindow
    from app.settings import Settings

    monkeypatch.setattr(app.main_window, "available_devices", lambda: here)
    monkeypatch.setattr(MainWindow, "_load_model", lambda self: None)  # no CUDA to load on
    s = Settings()
    s.set_device("cuda:1")  # a GPU away for now (or another machine's)
    s.sync()
    w = MainWindow(task="denoise")  # no device given: the remembered one
    qtbot.addWidget(w)
    try:
        assert w.controls.device() == used
        assert w._ready_note == f"cuda:1, used last, is not available: using {used}"
        w.save_settings()
        assert Settings().device() == "cuda:1"  # not replaced by the stand-in
        w.controls.device_combo.activated.emit(w.controls.device_combo.currentIndex())
        w.save_settings()  # the shown device picked: the user's choice from now on
        assert Settings().device() == used
    finally:
        w.shutdown()


def test_maps_for_every_block_follow_t(make_window, image_path, open_settled, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    w.maps_dock.show()
    open_settled(w, image_path)
    names = list(w.info.block_names)
    assert names == ["stage1.enc0", "stage1.enc1", "stage2.enc0", "stage2.enc1"]
    assert w.maps.block() == "stage2.enc1"  # the deepest second-stage block of this network
    maps = w.maps.maps()
    assert sorted(maps) == sorted(names)
    for name in names:
        m = maps[name]
        assert m.self_aware.ndim == 2 and m.mask.shape == m.self_aware.shape
        assert set(np.unique(m.mask)) <= {0.0, 1.0}
        assert w.maps.buttons[name].icon().isNull() is False
    assert maps["stage1.enc1"].self_aware.shape == (36, 48)  # half resolution
    before = {n: float(maps[n].mask.mean()) for n in names}
    w.controls.t_spin.setValue(0.5)
    qtbot.waitUntil(lambda: w.preview.analysis.knobs.t == 0.5 and w.is_settled())
    after = {n: float(w.maps.maps()[n].mask.mean()) for n in names}
    assert after != before  # a lower threshold selects more of the self-aware map
    assert all(after[n] >= before[n] for n in names)
    # Overlay on the viewer with the chosen opacity.
    w.maps.overlay_check.setChecked(True)
    w.maps.opacity_slider.setValue(35)
    assert w.viewer.single.overlay is not None
    assert w.viewer.single.overlay_opacity == pytest.approx(0.35)
    w.maps.set_block("stage2.enc1")
    w.maps.kind_combo.setCurrentIndex(w.maps.kind_combo.findData("energy"))
    assert "stage2.enc1" in w.maps.info.text()
    # The captions say what tints the image (a screenshot otherwise shows a teal "result").
    assert w.viewer.single.captions[0].endswith(" · overlay stage2.enc1 energy 35 %")
    w.maps.overlay_check.setChecked(False)
    assert "overlay" not in w.viewer.single.captions[0]
    assert "stretched" in w.maps.legend_note.text()
    w.controls.ea_check.setChecked(False)  # energy is flat: not a map to read
    qtbot.waitUntil(lambda: not w.preview.analysis.knobs.ea and w.is_settled())
    assert w.maps.legend_note.text() == ("EA is off: each channel at its mean weight, no "
                                         "spatial selection")
    assert w.maps.legend_low.text() == w.maps.legend_high.text() != "1.000"


def test_shares_never_round_to_none_or_all() -> None:
    from drcnet.compare import share_text

    assert [share_text(v) for v in (0, 3 / 2752, 0.005, 0.43, 0.996, 1)] == [
        "0%", "<1%", "<1%", "43%", ">99%", "100%"]


def test_maps_not_computed_while_hidden(make_window, image_path, open_settled, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    w.maps_dock.hide()
    open_settled(w, image_path)
    assert w.preview.analysis.maps == {}
    w.maps_dock.show()
    qtbot.waitUntil(lambda: bool(w.preview.analysis.maps) and w.is_settled())
    assert len(w.maps.maps()) == 4
    # Hidden again while t moves: coming back, the old t's maps are not shown as current.
    w.maps_dock.hide()
    w.controls.t_spin.setValue(0.6)
    qtbot.waitUntil(lambda: w.preview.analysis.knobs.t == 0.6 and w.is_settled())
    assert w.maps.maps()  # still the t = 0.75 maps, unseen
    w.maps_dock.show()
    assert w.maps.maps() == {} and "next preview" in w.maps.info.text()
    qtbot.waitUntil(lambda: bool(w.maps.maps()) and w.is_settled())


def test_small_screen_starts_with_maps_as_a_tab(make_window, image_path, open_settled,
                                                qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import QRect

    w = make_window()
    w.fit_screen(QRect(0, 0, 1366, 768))  # a common laptop screen
    assert w.width() <= 1366 * 0.92 and w.height() <= 768 * 0.92
    assert w.tabifiedDockWidgets(w.controls_dock) == [w.maps_dock]
    open_settled(w, image_path)
    assert w.maps_dock.isVisible()  # to Qt; it is a tab behind the Restoration panel
    assert w.preview.analysis.maps == {}  # so nothing is computed for it
    assert w.viewer.width() > 0.6 * w.width()
    w.maps_dock.raise_()  # the user clicks the Maps tab
    qtbot.waitUntil(lambda: w.is_settled() and len(w.maps.maps()) == 4)
    w.maps.overlay_check.setChecked(True)
    w.controls_dock.raise_()  # and goes back to the knobs: the overlay stays and follows t
    w.controls.t_spin.setValue(0.5)
    qtbot.waitUntil(lambda: w.preview.analysis.knobs.t == 0.5 and w.is_settled())
    assert w.preview.analysis.maps and w.viewer.single.overlay is not None
    w.maps.overlay_check.setChecked(False)
    assert w.viewer.single.overlay is None
    w.controls.t_spin.setValue(0.6)
    qtbot.waitUntil(lambda: w.preview.analysis.knobs.t == 0.6 and w.is_settled())
    assert w.preview.analysis.maps == {}
    wide = make_window()
    wide.fit_screen(QRect(0, 0, 2560, 1440))
    assert (wide.width(), wide.height()) == (1440, 900)
    assert wide.tabifiedDockWidgets(wide.controls_dock) == []


def test_a_large_font_starts_compact_when_the_panels_would_crowd_the_image(
        make_window, qtbot) -> None:  # noqa: ANN001
    """At 16 pt on a 1440-px-wide screen the two panels took 920 px and left the image 392
    (a third of the window): the layout is compact when they would leave it under half."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    before = app.font()
    big = QFont(before)
    big.setPointSizeF(20)
    app.setFont(big)
    try:
        w = make_window()
        w.fit_screen(QRect(0, 0, 2560, 1440))  # wide: the window is 1440 px (or its least)
        assert w.tabifiedDockWidgets(w.controls_dock) == [w.maps_dock]
    finally:
        app.setFont(before)
    normal = make_window()
    normal.fit_screen(QRect(0, 0, 2560, 1440))  # the usual font: panels side by side
    assert normal.tabifiedDockWidgets(normal.controls_dock) == []


def test_the_maps_button_brings_a_tab_behind_to_the_front(make_window, qtbot) -> None:  # noqa: ANN001
    """In the compact layout the dock's own toggle hid the Maps tab (no visible change),
    then brought it back still behind: the panel never came to the front."""
    from PySide6.QtCore import QRect

    w = make_window()
    w.fit_screen(QRect(0, 0, 1366, 768))
    qtbot.waitUntil(lambda: not w._maps_shown)  # a tab behind the Restoration panel
    a = w.maps_panel_action
    assert a.isChecked() and a in w.findChild(QToolBar, "mainToolbar").actions()
    a.trigger()
    qtbot.waitUntil(lambda: w._maps_shown)  # in front
    assert not w.maps_dock.isHidden() and a.isChecked()
    a.trigger()  # in front: the button hides it
    assert w.maps_dock.isHidden() and not a.isChecked()
    a.trigger()
    qtbot.waitUntil(lambda: w._maps_shown)  # shown again, in front
    assert a.isChecked()
    w.controls_panel_action.trigger()  # the Restoration tab, behind now, comes forward
    qtbot.waitUntil(lambda: not w._maps_shown)
    assert not w.controls_dock.isHidden() and w.controls_panel_action.isChecked()


def test_hide_panels_and_show_them_again(make_window, image_path, open_settled) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    before = w.viewer.width()
    w.panels_action.trigger()
    assert w.controls_dock.isHidden() and w.maps_dock.isHidden()
    assert w.panels_action.text() == "Show &Panels"
    QApplication.processEvents()
    assert w.viewer.width() > before
    w.panels_action.trigger()
    assert not w.controls_dock.isHidden() and not w.maps_dock.isHidden()
    assert w.panels_action.text() == "Hide &Panels"
    w.maps_dock.hide()  # one hidden by hand stays hidden
    w.panels_action.trigger()
    w.panels_action.trigger()
    assert not w.controls_dock.isHidden() and w.maps_dock.isHidden()


def test_a_floating_maps_panel_gets_its_maps(make_window, image_path, open_settled,
                                             qtbot) -> None:  # noqa: ANN001
    w = make_window()
    w.maps_dock.setFloating(True)
    qtbot.waitUntil(w.maps_dock.isVisible)
    open_settled(w, image_path)
    assert w._maps_on_screen() and len(w.maps.maps()) == 4


def test_panels_label_follows_panels_hidden_by_hand(make_window) -> None:  # noqa: ANN001
    w = make_window()
    w.controls_dock.toggleViewAction().trigger()
    w.maps_dock.toggleViewAction().trigger()
    assert w.controls_dock.isHidden() and w.maps_dock.isHidden()
    assert w.panels_action.text() == "Show &Panels"
    w.panels_action.trigger()
    assert not w.controls_dock.isHidden() and not w.maps_dock.isHidden()


def test_panels_hidden_when_last_closed_are_hidden_and_labelled_so(make_window) -> None:  # noqa: ANN001
    """The menu had said "Hide Panels" over a window restored with none shown."""
    w = make_window()
    w.panels_action.trigger()
    w.save_settings()
    w.close()
    again = make_window()
    assert again.controls_dock.isHidden() and again.maps_dock.isHidden()
    assert again.panels_action.text() == "Show &Panels"
    again.panels_action.trigger()
    assert not again.controls_dock.isHidden() and not again.maps_dock.isHidden()


def test_ea_view_bypass_then_trained(make_window, image_path, open_settled, weights_dir,
                                     add_weights, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    w.set_view_mode("ea")
    qtbot.waitUntil(lambda: w.viewer.has_ea() and w.is_settled())
    a = w.preview.analysis
    assert a.with_ea is not None and a.without_ea is not None
    assert not np.allclose(a.with_ea, a.without_ea)
    assert "spatial selection removed" in w.viewer.ea_label.text()
    assert w.viewer.ea_canvases[3].captions[0].startswith("|difference| ×")

    add_weights(weights_dir, noea=True)
    w.controls.set_task("derain")  # reload: switch away and back
    qtbot.waitUntil(lambda: w.model_missing)
    w.controls.set_task("denoise")
    qtbot.waitUntil(lambda: w.info is not None and w.viewer.has_ea() and w.is_settled()
                    and "trained" in w.viewer.ea_label.text())
    assert w.info.noea_weights is not None


def test_ea_view_names_weights_trained_without_ea(make_window, image_path, open_settled,
                                                  tmp_path, qtbot) -> None:  # noqa: ANN001
    """Opened as the model itself, w/o-EA weights have no EA selection to remove: off is
    the network as trained (it had said 'spatial selection removed')."""
    torch.manual_seed(5)
    noea = tmp_path / "noea.safetensors"
    save_weights(noea, DRCNet(wf=8, depth=2, ea=False), {"task": "denoise"})
    w = make_window()
    assert w.open_weights(noea)
    qtbot.waitUntil(lambda: w.info is not None and w.info.weights == noea.resolve(),
                    timeout=30000)
    open_settled(w, image_path)
    w.set_view_mode("ea")
    qtbot.waitUntil(lambda: w.viewer.has_ea() and w.is_settled())
    assert "these weights, trained without EA" in w.viewer.ea_label.text()


def test_ea_view_says_what_it_shows(make_window, image_path, open_settled, qtbot) -> None:  # noqa: ANN001
    """Its label names the knobs and, below 100 % strength, that the pair is the network's
    two outputs at full strength; the pixel readout gives the hovered panel's values; a task
    change clears the old model's pair at once."""
    from drcnet.compare import format_delta

    w = make_window()
    open_settled(w, image_path)
    w.set_view_mode("ea")
    w.controls.delta_spin.setValue(2.51e-3)  # as the slider's steps give: not one digit
    qtbot.waitUntil(lambda: w.viewer.has_ea() and w.is_settled()
                    and w.preview.analysis.knobs.delta == w.knobs().delta)
    k, a = w.knobs(), w.preview.analysis
    nb = "\u00a0"  # the header wraps between its parts, never inside one
    assert f"t{nb}{k.t:.2f} · δ{nb}{format_delta(k.delta)}" in w.viewer.ea_label.text()
    assert f"δ{nb}2.51e-03" in w.viewer.ea_label.text()
    assert "full strength" not in w.viewer.ea_label.text()
    w.controls.set_strength(0.4, notify=True)
    assert "both at full strength" in w.viewer.ea_label.text()
    assert a.with_ea.shape == w.image.rgb.shape  # a small image: the preview is full size
    x, y = 20, 30
    readout = {}
    for i, panel in enumerate(("with", "without", "diff"), start=1):
        w.viewer._on_canvas_hover(w.viewer.ea_canvases[i], x, y)
        assert w.viewer.hovered_panel() == panel
        readout[panel] = w.pixel_label.text()
    level = "".join(f"{round(float(c) * 255):3d}" for c in a.with_ea[y, x][:1])
    assert f"with EA {level}" in readout["with"] and " out " not in readout["with"]
    assert "without EA" in readout["without"] and "|difference|" in readout["diff"]
    w.viewer._on_canvas_hover(w.viewer.ea_canvases[0], x, y)
    assert w.viewer.hovered_panel() == ""
    w.controls.set_task("derain")  # the old model's pair goes at once, not at the next preview
    assert not w.viewer.has_ea()


def test_missing_weights_says_so(qtbot, empty_weights_dir, image_path) -> None:  # noqa: ANN001
    from app.main_window import MainWindow

    w = MainWindow(task="deblur", device="cpu")
    qtbot.addWidget(w)
    w.show()
    try:
        w.open_image(image_path)
        qtbot.waitUntil(lambda: w.image is not None and w.is_settled())
        assert w.model_missing
        banner = w.controls.model_status.text()
        assert "No trained deblur weights" in banner
        assert "deblur.safetensors" in banner
        assert w.viewer.single.primary is None  # said in full where the result would be
        assert "No trained deblur weights" in w.viewer.single.placeholder
        assert w.preview is None and w.full is None
        assert w.engine.worker.forward_count == 0  # random weights never ran
        assert not w.controls.restore_button.isEnabled()
        # The EA view says why it is empty, also after another image is opened.
        w.set_view_mode("ea")
        w.open_image(image_path)
        qtbot.waitUntil(lambda: w.image is not None and w.is_settled())
        assert w.viewer.ea_canvases[1].placeholder == "No model is loaded."
    finally:
        w.shutdown()


def test_switching_to_a_task_without_weights(make_window, image_path, open_settled,
                                             qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    assert w.full is not None
    w.controls.set_task("deblur")
    qtbot.waitUntil(lambda: w.model_missing and w.is_settled())
    assert w.full is None and w.viewer.single.primary is None  # no old result
    assert w._full_mix is None and w._full_qimage is None  # the old result is let go
    assert "No trained deblur weights" in w.controls.model_status.text()


@pytest.mark.parametrize("content, reason", [
    (b"this is not an image", "not an image"),
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image"),
])
def test_bad_file_gives_message_box(make_window, tmp_path, boxes, qtbot, content, reason) -> None:  # noqa: ANN001, E501
    w = make_window()
    bad = tmp_path / "broken.png"
    bad.write_bytes(content)
    w.open_image(bad)
    qtbot.waitUntil(lambda: len(boxes) == 1)
    title, text = boxes[0]
    assert "broken.png" in text and reason in text
    assert w.image is None
    assert "broken.png" not in w.windowTitle()


def test_missing_file_and_folder(make_window, tmp_path, boxes, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    w.open_image(tmp_path / "nowhere.png")
    w.open_image(tmp_path)
    qtbot.waitUntil(lambda: len(boxes) == 2)
    texts = " ".join(t for _, t in boxes)
    assert "does not exist" in texts and "folder" in texts


def test_bad_file_keeps_current_image(make_window, image_path, tmp_path, boxes, open_settled,
                                      qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 garbage")
    w.open_image(bad)
    qtbot.waitUntil(lambda: len(boxes) == 1)
    assert w.image.path == image_path
    assert "noisy.png" in w.windowTitle()


def test_drop_opens_file(make_window, image_path, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(image_path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(w.imageOpened, timeout=10000) as blocker:
        w.dropEvent(event)
    assert blocker.args == [str(image_path)]


def test_recent_files_and_settings_persist(make_window, image_path, open_settled, qtbot) -> None:  # noqa: ANN001, E501
    w = make_window()
    open_settled(w, image_path)
    w.controls.set_knobs(Knobs(0.8, 1e-3, False), notify=True)
    w.set_compare_style("side")
    titles = [a.text() for a in w.recent_menu.actions()]
    assert "noisy.png" in titles
    w.close()  # saves settings
    w2 = make_window(task=None)
    assert w2.controls.knobs() == Knobs(0.8, 1e-3, False)
    assert w2.controls.task() == "denoise"
    assert w2.viewer.compare_style() == "side"
    assert w2.settings.recent_files()[0] == str(image_path.resolve())
    assert w2.settings.last_folder() == str(image_path.parent)


def test_next_and_previous_image_in_the_folder(make_window, image_path, open_settled,
                                                picture, qtbot) -> None:  # noqa: ANN001
    second = picture(image_path.parent / "noisy2.png", seed=1)
    w = make_window()
    w.step_image(1)
    assert "Open an image first" in w.statusBar().currentMessage()
    open_settled(w, image_path)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    t = w.controls.knobs().t
    w.controls.t_spin.setFocus()
    qtbot.keyClick(w.controls.t_spin, Qt.Key.Key_PageDown)  # the box's own page step
    assert w.controls.knobs().t < t
    assert w._requested_path == image_path
    w.viewer.setFocus()
    qtbot.keyClick(w.viewer, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: w.image.path == second and w.is_settled(), timeout=30000)
    w.next_action.trigger()
    qtbot.waitUntil(lambda: "noisy2.png is the last image in its folder"
                    in w.statusBar().currentMessage(), timeout=10000)
    qtbot.keyClick(w.viewer, Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: w.image.path == image_path and w.is_settled(), timeout=30000)
    w.prev_action.trigger()
    qtbot.waitUntil(lambda: "first image" in w.statusBar().currentMessage(), timeout=10000)


def test_a_letter_typed_in_a_combo_box_picks_its_entry_not_a_view(make_window, image_path,
                                                                    open_settled, qtbot) -> None:  # noqa: ANN001, E501
    w = make_window()
    open_settled(w, image_path)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    w.maps_dock.show()
    combo = w.maps.kind_combo
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=5000)
    qtbot.keyClick(combo, "e")  # E is also the EA view's shortcut
    assert w.viewer.mode() != "ea"
    assert combo.currentData() == "energy"  # type-ahead: the entry starting with "E"…
    w.viewer.setFocus()
    qtbot.keyClick(w.viewer, "e")  # …and on the image, the view
    assert w.viewer.mode() == "ea"


def test_next_lists_the_folder_off_the_gui_thread_and_presses_add_up(
        make_window, tmp_path, picture, open_settled, make_gate, qtbot,
        monkeypatch) -> None:  # noqa: ANN001
    import app.main_window as mw

    names = ["p1.png", "p2.png", "p3.png", "p10.png"]
    for i, n in enumerate(names):
        picture(tmp_path / n, seed=i)
    w = make_window()
    open_settled(w, tmp_path / "p1.png")
    gate = make_gate(mw.folder_images)  # a slow (network) folder
    monkeypatch.setattr(mw, "folder_images", gate)
    for _ in range(2):
        w.next_action.trigger()  # returns at once: the window is not frozen by the listing
    qtbot.waitUntil(gate.entered.is_set, timeout=10000)
    assert not w.is_settled()
    w.next_action.trigger()  # while the folder is still being listed
    gate.release()
    qtbot.waitUntil(lambda: w.image.path == tmp_path / "p10.png" and w.is_settled(),
                    timeout=30000)
    assert gate.calls == 1  # three presses, one listing, three places on
    for _ in range(5):
        w.prev_action.trigger()  # past the first: it stops there
    qtbot.waitUntil(lambda: w.image.path == tmp_path / "p1.png" and w.is_settled(),
                    timeout=30000)
    # An image opened while the folder is listed wins: the press before it is dropped.
    gate2 = make_gate(mw.folder_images.fn)
    monkeypatch.setattr(mw, "folder_images", gate2)
    w.next_action.trigger()
    qtbot.waitUntil(gate2.entered.is_set, timeout=10000)
    w.open_image(tmp_path / "p3.png")
    gate2.release()
    qtbot.waitUntil(lambda: w.image.path == tmp_path / "p3.png" and w.is_settled(),
                    timeout=30000)
    qtbot.wait(200)
    assert w.image.path == tmp_path / "p3.png" and w.is_settled()


def test_open_recent_names_folders_and_forgets_missing_files(make_window, tmp_path, picture,
                                                            open_settled, boxes, qtbot) -> None:  # noqa: ANN001
    a = picture((tmp_path / "a").mkdir() or tmp_path / "a" / "photo.png")
    b = picture((tmp_path / "b").mkdir() or tmp_path / "b" / "photo.png", seed=1)
    gone = picture(tmp_path / "gone.png", seed=2)
    w = make_window()
    for p in (gone, a, b):
        open_settled(w, p)
    assert [x.text() for x in w.recent_menu.actions()][:3] == [
        "photo.png — b", "photo.png — a", "gone.png"]
    assert w.recent_menu.toolTipsVisible()
    gone.unlink()
    w.recent_menu.actions()[2].trigger()
    qtbot.waitUntil(lambda: len(boxes) == 1)
    assert "does not exist" in boxes[0][1]
    assert str(gone.resolve()) not in w.settings.recent_files()
    assert "gone.png" not in [x.text() for x in w.recent_menu.actions()]


def test_each_model_keeps_its_own_knobs(make_window, image_path, open_settled, weights_dir,
                                        qtbot) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    save_weights(weights_dir / "derain.safetensors", DRCNet(wf=8, depth=2, t=0.6, delta=1e-2),
                 {"task": "derain", "train_config": {"crop": 64}})
    save_weights(weights_dir / "denoise-gaussian.safetensors", DRCNet(wf=8, depth=2))
    w = make_window()
    open_settled(w, image_path)
    assert w.controls.knobs() == Knobs(0.75, 1e-6, True)  # the denoise file's values
    w.controls.set_knobs(Knobs(0.8, 1e-3, False), notify=True)

    w.controls.set_task("derain")  # never tuned: starts at its file's t and δ
    qtbot.waitUntil(lambda: w.info is not None and w.info.task == "derain" and w.is_settled())
    assert w.controls.knobs() == Knobs(0.6, 1e-2, True)
    assert w.preview.analysis.knobs == Knobs(0.6, 1e-2, True)
    assert "trained on 64-px crops" in w.controls.model_status.text()
    w.controls.set_knobs(Knobs(0.9, 1e-4, True), notify=True)
    w.controls.reset_knobs()
    assert w.controls.knobs() == Knobs(0.6, 1e-2, True)

    assert not w.controls.reset_button.isEnabled()  # already at the file's values

    w.controls.set_task("denoise")  # back: the knobs the user left there
    assert w.controls.knobs() == Knobs(0.8, 1e-3, False)  # shown at once, before the load
    qtbot.waitUntil(lambda: w.info is not None and w.info.task == "denoise" and w.is_settled())
    assert w.preview.analysis.knobs == Knobs(0.8, 1e-3, False)
    assert w.controls.reset_button.isEnabled()

    # The Gaussian variant is another model, with knobs of its own.
    w.controls.set_variant("denoise", "gaussian")
    qtbot.waitUntil(lambda: w.info is not None and w.info.variant == "gaussian"
                    and w.is_settled())
    assert w.controls.knobs() == Knobs(0.75, 1e-6, True)

    w.close()  # saves settings: only knobs that differ from their file's are kept
    assert w.settings.knobs("denoise", "default") == Knobs(0.8, 1e-3, False)
    assert w.settings.knobs("derain", "default") is None  # reset: its file's values again
    assert w.settings.knobs("denoise", "gaussian") is None
    w2 = make_window(task="denoise")
    assert w2.controls.variant() == "gaussian" and w2.controls.knobs() == Knobs(0.75, 1e-6, True)
    w2.controls.set_variant("denoise", "default")
    assert w2.controls.knobs() == Knobs(0.8, 1e-3, False)


def test_a_model_without_weights_keeps_no_knobs(make_window, image_path, open_settled,
                                                 weights_dir, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    w.controls.set_knobs(Knobs(0.8, 1e-3, False), notify=True)
    w.controls.set_task("deblur")  # no weights: the knobs show the paper's, kept for nothing
    qtbot.waitUntil(lambda: w.model_missing and w.is_settled())
    assert w.controls.knobs() == Knobs(0.75, 1e-6, True)
    w.controls.set_knobs(Knobs(0.9, 1e-2, True), notify=True)
    w.close()
    assert w.settings.knobs("deblur", "default") is None
    # Weights installed later bring their own values.
    torch.manual_seed(0)
    save_weights(weights_dir / "deblur.safetensors", DRCNet(wf=8, depth=2, t=0.6, delta=2.5e-3),
                 {"task": "deblur"})
    w2 = make_window(task="deblur")
    assert w2.controls.knobs() == Knobs(0.6, 2.5e-3, True)
    assert "δ = 2.5e-03" in w2.controls.reset_button.toolTip()


def test_shortcuts(make_window, image_path, open_settled, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    w.activateWindow()
    w.viewer.setFocus()
    qtbot.keyClick(w, Qt.Key.Key_C)
    assert w.viewer.mode() == "compare"
    qtbot.keyClick(w, Qt.Key.Key_C)
    assert w.viewer.mode() == "after"
    qtbot.keyClick(w, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert w.viewer.scale() == pytest.approx(1.0)
    qtbot.keyClick(w, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert w.viewer.scale() == pytest.approx(1.25)
    qtbot.keyClick(w, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert w.viewer.state.fit


def test_zoom_is_shown_in_the_status_bar(make_window, image_path, open_settled, qtbot) -> None:  # noqa: ANN001, E501
    w = make_window()
    assert w.zoom_label.text() == ""
    open_settled(w, image_path)
    assert w.zoom_label.text() == f"fit {w.viewer.scale() * 100:.0f} %"
    qtbot.keyClick(w, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert w.zoom_label.text() == "100 %"
    qtbot.keyClick(w, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert w.zoom_label.text() == "125 %"


def test_pixel_readout(make_window, image_path, open_settled, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    w.enlarge_action.setChecked(True)  # the 96×72 image fitted at a few times 100 %
    c = w.viewer.single
    s, o = c.transform()
    qtbot.mouseMove(c, QPoint(round(o.x() + 10.5 * s), round(o.y() + 5.5 * s)))
    qtbot.waitUntil(lambda: "in" in w.pixel_label.text())
    text = w.pixel_label.text()
    rgb = np.round(w.image.rgb[5, 10] * 255).astype(int)
    assert "x    10" in text and "y     5" in text
    assert " ".join(f"{v:3d}" for v in rgb) in text
    assert "out" in text and "alpha" not in text
    assert w.pixel_label.isVisible()
    w._on_hover(-1, -1)  # off the image: the readout gives its room to the messages
    assert w.pixel_label.text() == "" and not w.pixel_label.isVisible()


def test_a_long_message_is_not_cut_by_the_pixel_readout(make_window, image_path,
                                                        open_settled) -> None:  # noqa: ANN001
    w = make_window()
    w.resize(1024, 700)
    open_settled(w, image_path)
    w._on_hover(10, 5)
    assert w.pixel_label.isVisible()
    bar = w.statusBar()
    bar.showMessage("Short")  # room for both
    assert w.pixel_label.isVisible()
    bar.showMessage("Full-resolution restore done in 12.3 s; 4 tiles repaired with colours "
                    "pulled towards gray, as the range check asked")
    assert not w.pixel_label.isVisible()  # the message, shown whole, wins while it stands
    assert w.pixel_label.text()  # the readout still follows the pointer meanwhile
    bar.clearMessage()
    assert w.pixel_label.isVisible()
    w.resize(1900, 700)
    bar.showMessage("Full-resolution restore done in 12.3 s; 4 tiles repaired with colours "
                    "pulled towards gray, as the range check asked")
    assert w.pixel_label.isVisible()  # a wide window holds both
    # A large font: the reading is wider than the fixed 420 px it had been judged by, which
    # left both shown and the message cut ("Full-resolution rest").
    big = w.pixel_label.font()
    big.setPointSize(24)
    w.pixel_label.setFont(big)
    message = "Full-resolution restore done in 12.3 s"
    others = sum(x.sizeHint().width() + 6 for x in (w.zoom_label, w.run_label, w.progress,
                                                    w.cancel_button) if not x.isHidden())
    room = bar.fontMetrics().horizontalAdvance(message) + 24 + others + 420 + 40
    w.resize(room, 700)  # room for a 420-px reading beside the message, not for this one
    bar.showMessage(message)
    assert w.pixel_label.sizeHint().width() > 460 and not w.pixel_label.isVisible()


def test_pixel_readout_gives_the_alpha(make_window, tmp_path, open_settled) -> None:  # noqa: ANN001
    rgba = np.full((40, 50, 4), 200, np.uint8)
    rgba[:10, :10, 3] = 0  # a transparent corner
    cv2.imwrite(str(tmp_path / "a.png"), rgba)
    w = make_window()
    open_settled(w, tmp_path / "a.png")
    w._on_hover(5, 5)
    assert w.pixel_label.text().endswith("alpha   0")
    w._on_hover(30, 30)
    assert w.pixel_label.text().endswith("alpha 200")


def test_reference_metrics(make_window, image_path, tmp_path, picture, open_settled,
                           qtbot) -> None:  # noqa: ANN001
    clean = picture(tmp_path / "clean.png", 96, 72, seed=5)
    w = make_window()
    open_settled(w, image_path)
    w.load_reference(clean)
    qtbot.waitUntil(lambda: "input" in w._metrics and "output" in w._metrics)
    text = w.controls.metrics_label.text()
    assert "clean.png" in text and text.count("dB") == 2
    from drcnet.metrics import psnr

    assert w._metrics["input"][0] == pytest.approx(psnr(w.image.rgb, w.reference.rgb))


def test_the_input_is_scored_at_the_restored_image_s_scale(make_window, tmp_path, picture,
                                                          open_settled, qtbot) -> None:  # noqa: ANN001
    """A preview's score beside the input's full-resolution one is no comparison (scaling
    down averages noise away): the Input row follows the Restored row's scale."""
    from drcnet.compare import resize_to
    from drcnet.metrics import psnr

    path = picture(tmp_path / "big.png", 600, 400)
    clean = picture(tmp_path / "clean.png", 600, 400, seed=5)
    w = make_window()
    w.controls.set_run(512, 256, False)  # no full-resolution refine by itself
    open_settled(w, path)
    texts: list[str] = []
    shown = w.controls.set_metrics_text
    w.controls.set_metrics_text = lambda text: texts.append(text) or shown(text)
    w.load_reference(clean)
    qtbot.waitUntil(lambda: "input" in w._metrics and "output" in w._metrics)
    assert "computing" in texts[0]  # at once, not "No reference" until the first score
    assert w.statusBar().currentMessage().startswith("Reference clean.png")
    assert w._metrics["input"][2] == w._metrics["output"][2] == "preview 512×341"
    ref = resize_to(w.reference.rgb, 512, 341)
    assert w._metrics["input"][0] == pytest.approx(psnr(w.preview.source, ref))
    w.start_full_restore()
    qtbot.waitUntil(lambda: w.is_settled() and w._metrics.get("output", "")[2:] == (
        "full resolution",), timeout=30000)
    assert w._metrics["input"][2] == "full resolution"
    assert w._metrics["input"][0] == pytest.approx(psnr(w.image.rgb, w.reference.rgb))
    assert w.controls.metrics_label.text().count("full resolution") == 2


def test_a_bundled_sample_is_scored_against_its_clean_photo(make_window, tmp_path, picture,
                                                           open_settled, qtbot,
                                                           monkeypatch) -> None:  # noqa: ANN001
    """The bundled samples come with their clean photos, so opening one shows PSNR and SSIM
    at once, quietly; a photo elsewhere with a ``-clean`` file beside it gets no reference
    unasked, and leaving a sample does not report clearing a reference nobody loaded."""
    import app.main

    samples = tmp_path / "samples"
    samples.mkdir()
    monkeypatch.setattr(app.main, "SAMPLES_DIR", samples)
    sample = picture(samples / "rain.png", 96, 72)
    picture(samples / "Rain-Clean.png", 96, 72, seed=5)  # names compared as find_sample does
    odd = picture(samples / "blurry.png", 96, 72)
    picture(samples / "blurry-clean.png", 80, 60, seed=5)  # another size: skipped, unsaid
    w = make_window()
    open_settled(w, sample)
    qtbot.waitUntil(lambda: "input" in w._metrics and "output" in w._metrics)
    assert w.reference is not None and w.reference.path.name == "Rain-Clean.png"
    assert "Rain-Clean.png" in w.controls.metrics_label.text()
    assert not w.statusBar().currentMessage().startswith("Reference")  # the open's line stays
    open_settled(w, samples / "Rain-Clean.png")  # the clean photo itself has none
    assert w.reference is None
    open_settled(w, odd)
    qtbot.wait(200)
    assert w.reference is None
    mine = tmp_path / "mine"
    mine.mkdir()
    photo = picture(mine / "rain.png", 96, 72)
    picture(mine / "rain-clean.png", 96, 72, seed=5)
    open_settled(w, sample)
    qtbot.waitUntil(lambda: w.reference is not None)
    open_settled(w, photo)
    assert w.reference is None
    assert "cleared" not in w.statusBar().currentMessage()


def test_the_reference_stays_with_its_photo(make_window, image_path, tmp_path, picture,
                                           open_settled, qtbot) -> None:  # noqa: ANN001
    clean = picture(tmp_path / "clean.png", 96, 72, seed=5)
    w = make_window()
    open_settled(w, image_path)
    w.load_reference(clean)
    qtbot.waitUntil(lambda: w.reference is not None)
    open_settled(w, image_path)  # the same photo again: its reference still applies
    assert w.reference is not None
    qtbot.waitUntil(lambda: "input" in w._metrics and "output" in w._metrics)
    other = picture(tmp_path / "other.png", 96, 72, seed=9)
    open_settled(w, other)  # another photo: the reference is not its clean version
    assert w.reference is None
    assert "reference clean.png cleared (it belongs to the last image)" in \
        w.statusBar().currentMessage()


def test_a_panorama_s_thin_preview_scores_the_input_at_full_resolution(
        make_window, tmp_path, picture, open_settled, qtbot) -> None:  # noqa: ANN001
    pano = picture(tmp_path / "pano.png", 1400, 24)
    w = make_window()
    w.controls.set_run(512, 256, False)  # the preview is 512×9: under SSIM's 11×11
    open_settled(w, pano)
    w.load_reference(picture(tmp_path / "clean.png", 1400, 24, seed=5))
    qtbot.waitUntil(lambda: "input" in w._metrics and "output" in w._metrics)
    assert w._metrics["input"][2] == "full resolution"
    text = w.controls.metrics_label.text()
    assert "preview 512×9 is under 11 px a side" in text and "unexpectedly" not in text


def test_a_kept_reference_is_scored_without_a_model(make_window, image_path, tmp_path,
                                                    picture, open_settled, qtbot,
                                                    empty_weights_dir) -> None:  # noqa: ANN001
    w = make_window()
    qtbot.waitUntil(lambda: w.model_missing and w.is_settled(), timeout=30000)
    open_settled(w, image_path)
    w.load_reference(picture(tmp_path / "clean.png", 96, 72, seed=5))
    qtbot.waitUntil(lambda: "input" in w._metrics)
    open_settled(w, image_path)  # the same photo again: the reference stays, and is scored
    qtbot.waitUntil(lambda: "input" in w._metrics)
    assert "computing" not in w.controls.metrics_label.text()


def test_a_score_that_fails_says_so(make_window, tmp_path, picture, open_settled,
                                    qtbot) -> None:  # noqa: ANN001
    tiny = picture(tmp_path / "tiny.png", 8, 8)
    w = make_window()
    open_settled(w, tiny)
    w.load_reference(picture(tmp_path / "clean.png", 8, 8, seed=5))
    qtbot.waitUntil(lambda: isinstance(w._metrics.get("input"), str))
    text = w.controls.metrics_label.text()
    assert "could not be scored: SSIM needs images at least 11×11 px, this one is 8×8" in text
    assert "unexpectedly" not in text


def test_the_input_as_its_own_reference_says_so(make_window, image_path, open_settled,
                                                qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    w.load_reference(image_path)  # easy by mistake: the dialog opens in the input's folder
    qtbot.waitUntil(lambda: "input" in w._metrics)
    text = w.controls.metrics_label.text()
    assert "(the input itself)" in text and "identical" in text and "inf" not in text


def test_another_model_drops_the_last_ones_scores_and_maps(make_window, image_path,
                                                           tmp_path, picture, open_settled,
                                                           add_weights, weights_dir,
                                                           qtbot) -> None:  # noqa: ANN001
    add_weights(weights_dir, "deblur")
    clean = picture(tmp_path / "clean.png", 96, 72, seed=5)
    w = make_window()
    open_settled(w, image_path)
    w.load_reference(clean)
    qtbot.waitUntil(lambda: "output" in w._metrics and w.maps.has_maps())
    w.controls.task_combo.setCurrentIndex(w.controls.task_combo.findData("deblur"))
    # Until the deblur model's first preview, nothing of the denoiser's is shown as its.
    assert "output" not in w._metrics and "computing" in w.controls.metrics_label.text()
    assert not w.maps.has_maps()
    assert w.statusBar().currentMessage() == "Loading the deblur model…"
    qtbot.waitUntil(lambda: w.is_settled() and "output" in w._metrics and w.maps.has_maps(),
                    timeout=30000)
    # A task without weights: its row says there is no model, not "computing…" for ever.
    w.controls.task_combo.setCurrentIndex(w.controls.task_combo.findData("derain"))
    qtbot.waitUntil(lambda: w.model_missing and w.is_settled(), timeout=30000)
    assert "no model" in w.controls.metrics_label.text()
    assert "computing" not in w.controls.metrics_label.text()


def test_reference_of_wrong_size(make_window, image_path, tmp_path, picture, boxes,
                                 open_settled, qtbot) -> None:  # noqa: ANN001
    other = picture(tmp_path / "other.png", 50, 40)
    w = make_window()
    open_settled(w, image_path)
    w.load_reference(other)
    qtbot.waitUntil(lambda: len(boxes) == 1)
    assert "50×40" in boxes[0][1] and w.reference is None


def file_hash(path) -> str:  # noqa: ANN001
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_no_gui_thread_block_on_open(make_window, image_path, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    w.open_image(image_path)
    assert w.image is None  # reading happens in the pool, not here
    qtbot.waitUntil(lambda: w.image is not None)
    assert QApplication.instance() is not None


def test_device_switch_moves_model_or_says_why(qtbot, weights_dir, image_path, open_settled,
                                               boxes, monkeypatch) -> None:  # noqa: ANN001
    import app.main_window
    from app.main_window import MainWindow

    monkeypatch.setattr(app.main_window, "available_devices",
                        lambda: [("cpu", "CPU"), ("cuda:7", "CUDA 7: not here")])
    w = MainWindow(task="denoise", device="cpu")
    qtbot.addWidget(w)
    try:
        open_settled(w, image_path)
        assert w.controls.device_combo.count() == 2
        w.controls.set_device("cuda:7")
        qtbot.waitUntil(lambda: len(boxes) == 1)
        assert "cuda:7" in boxes[0][1] and "stays on cpu" in boxes[0][1]
        assert w.controls.device() == "cpu" and w.info.device == "cpu"
        assert w.settings.device() == "cpu"
        w.controls.t_slider.setValue(70)  # the model still works
        qtbot.waitUntil(lambda: w.preview.analysis.knobs.t == 0.7 and w.is_settled())
    finally:
        w.shutdown()


def test_a_failed_device_switch_during_a_restore_restores_on(qtbot, weights_dir, tmp_path,
                                                              picture, open_settled, boxes,
                                                              make_gate, monkeypatch) -> None:  # noqa: ANN001
    """The switch cancels the running restore; when the model stayed where it was, nothing
    started it again: the preview stood as the result, unsettled, until a knob moved."""
    import app.main_window
    import drcnet.inference
    from app.main_window import MainWindow

    monkeypatch.setattr(app.main_window, "available_devices",
                        lambda: [("cpu", "CPU"), ("cuda:7", "CUDA 7: not here")])
    w = MainWindow(task="denoise", device="cpu")
    qtbot.addWidget(w)
    try:
        w.controls.set_run(256, 64, True)  # previews of 256 px, the rest restored in tiles
        gate = make_gate(drcnet.inference.forward_batch)
        monkeypatch.setattr(drcnet.inference, "forward_batch", gate)
        w.open_image(picture(tmp_path / "big.png", 400, 300))
        qtbot.waitUntil(gate.entered.is_set, timeout=30000)  # the restore runs
        w.controls.set_device("cuda:7")
        gate.release()
        qtbot.waitUntil(lambda: len(boxes) == 1)
        assert "stays on cpu" in boxes[0][1] and "--device" not in boxes[0][1]
        qtbot.waitUntil(lambda: w.is_settled() and w._full_current(), timeout=30000)
    finally:
        w.shutdown()


def test_first_run_prefers_an_accelerator(qtbot, weights_dir, monkeypatch) -> None:  # noqa: ANN001
    import app.main_window
    from app.main_window import MainWindow

    monkeypatch.setattr(app.main_window, "available_devices",
                        lambda: [("cpu", "CPU"), ("cuda:0", "CUDA 0: test")])
    w = MainWindow(task="denoise")  # nothing remembered yet
    qtbot.addWidget(w)
    try:
        assert w.controls.device() == "cuda:0"
        qtbot.waitUntil(lambda: not w.model_pending)  # no CUDA here: it says why, no crash
    finally:
        w.shutdown()


@pytest.mark.parametrize("native_bf16", [True, False])
def test_run_label_names_the_precision(make_window, image_path, open_settled, monkeypatch,
                                       native_bf16) -> None:  # noqa: ANN001
    import drcnet.devices

    monkeypatch.setattr(drcnet.devices, "cpu_has_native_bf16", lambda: native_bf16)
    w = make_window()
    open_settled(w, image_path)
    assert w.info.precision == ("bf16" if native_bf16 else "fp32")
    assert ("bf16" in w.run_label.text()) is native_bf16
    assert w.info.precision in w.controls.model_status.text()


def test_side_panels_are_never_narrower_than_their_contents(make_window, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    qtbot.waitUntil(lambda: w.info is not None, timeout=20000)  # block names fill the maps panel
    for dock, panel in ((w.controls_dock, w.controls), (w.maps_dock, w.maps)):
        # The panels scroll vertically only; a narrower dock would cut them off at the right.
        need = panel.minimumSizeHint().width()
        assert dock.widget().minimumSizeHint().width() >= need
        qtbot.waitUntil(lambda d=dock, n=need: d.widget().width() >= n, timeout=5000)


def test_choosing_the_gaussian_denoise_weights(make_window, image_path, open_settled,
                                               weights_dir, qtbot) -> None:  # noqa: ANN001
    torch.manual_seed(5)
    save_weights(weights_dir / "denoise-gaussian.safetensors", DRCNet(wf=8, depth=2))
    w = make_window()
    open_settled(w, image_path)
    combo = w.controls.variant_combo
    assert w.info.weights.name == "denoise.safetensors" and w.info.noea_weights is None
    assert [combo.itemText(i) for i in range(combo.count())] == ["Camera noise",
                                                                 "Gaussian noise"]
    assert not combo.isHidden()
    before = w.full.restored.copy()
    combo.setCurrentIndex(combo.findData("gaussian"))
    qtbot.waitUntil(lambda: w.info is not None and w.info.variant == "gaussian"
                    and w.is_settled() and w.full is not None, timeout=30000)
    assert w.info.weights.name == "denoise-gaussian.safetensors"
    assert "denoise-gaussian.safetensors" in w.controls.model_status.text()
    assert not np.array_equal(before, w.full.restored)  # other weights, another restoration
    w.save_settings()
    assert w.settings.variant("denoise") == "gaussian"
    # Tasks without a choice hide the row; coming back restores the choice.
    w.controls.set_task("derain")
    assert combo.isHidden()
    w.controls.set_task("denoise")
    assert w.controls.variant() == "gaussian" and not combo.isHidden()
    qtbot.waitUntil(lambda: w.info is not None and w.is_settled(), timeout=30000)
    assert w.info.variant == "gaussian"  # the variant was chosen before the model loaded
    # A new window remembers it.
    w2 = make_window()
    assert w2.controls.variant() == "gaussian"


def test_the_gaussian_weights_compare_with_their_own_no_ea_partner(
        make_window, image_path, open_settled, weights_dir, qtbot) -> None:  # noqa: ANN001
    """The Gaussian model's w/o-EA partner serves its EA view, and is not offered as a model
    of its own; the camera-noise model keeps denoise-noea."""
    torch.manual_seed(5)
    save_weights(weights_dir / "denoise-gaussian.safetensors", DRCNet(wf=8, depth=2))
    save_weights(weights_dir / "denoise-gaussian-noea.safetensors",
                 DRCNet(wf=8, depth=2, ea=False))
    w = make_window()
    open_settled(w, image_path)
    combo = w.controls.variant_combo
    assert [combo.itemData(i) for i in range(combo.count())] == ["default", "gaussian"]
    assert w.info.noea_weights is None  # the camera-noise model has no partner installed here
    w.controls.set_variant("denoise", "gaussian")
    qtbot.waitUntil(lambda: w.info is not None and w.info.variant == "gaussian"
                    and w.is_settled(), timeout=30000)
    assert w.info.noea_weights.name == "denoise-gaussian-noea.safetensors"
    w.set_view_mode("ea")
    qtbot.waitUntil(lambda: w.viewer.has_ea() and w.is_settled(), timeout=30000)
    assert w.preview.analysis.without_ea_source == NOEA_TRAINED


def test_a_damaged_partner_file_leaves_its_model_loadable(make_window, image_path, open_settled,
                                                          weights_dir, qtbot) -> None:  # noqa: ANN001
    """A damaged w/o-EA file had failed the whole model's load: EA ± switches EA off
    instead, as with no partner installed."""
    save_weights(weights_dir / "denoise-gaussian.safetensors", DRCNet(wf=8, depth=2))
    (weights_dir / "denoise-gaussian-noea.safetensors").write_bytes(b"not a weight file")
    w = make_window()
    open_settled(w, image_path)
    w.controls.set_variant("denoise", "gaussian")
    qtbot.waitUntil(lambda: w.info is not None and w.info.variant == "gaussian"
                    and w.is_settled(), timeout=30000)
    assert w.info.noea_weights is None and not w.model_missing


def test_no_weights_choice_without_a_variant(make_window) -> None:  # noqa: ANN001
    w = make_window()
    assert w.controls.variant() == "default" and w.controls.variant_combo.isHidden()


def test_banner_says_what_the_repair_did_and_did_not_try(make_window, image_path,
                                                          open_settled) -> None:  # noqa: ANN001
    """One tile flagged, two repaired (the sweets through the default denoiser): the banner
    had named the flagged tile only and said the repair did not bring it back, though the
    denoiser repairs only past 20x its limit and had not tried that tile."""
    from drcnet.inference import TilePeak
    from drcnet.range_check import check_peaks

    w = make_window()
    open_settled(w, image_path)
    tiles = [TilePeak(0, 0, 10, 10, 5.0, colour=0.5, first_peak=900.0, tried=True),
             TilePeak(0, 10, 10, 10, 6.0, colour=0.5, first_peak=800.0, tried=True),
             TilePeak(10, 0, 10, 10, 13.0), TilePeak(10, 10, 10, 10, 2.0)]
    w._show_range(check_peaks(tiles, 10.0))  # 1.3x the limit: under the denoiser's 20x
    text = w.viewer.warning()
    assert ("Something in 1 of 4 tiles of the full-resolution restore (outlined in amber) "
            "drives") in text
    assert ("(Run) left it as it is: it restores a tile again only past 20× the limit for "
            "this model, and never a gray one. 2 other tiles (outlined in blue) were restored "
            "again with colours pulled towards gray, which brought them back.") in text
    # The outlines tell the two apart, as the banner says (they had looked alike).
    assert [m.getRect() for m in w.viewer.repaired_marks()] == [(0, 0, 10, 10),
                                                                 (10, 0, 10, 10)]
    assert [m.getRect() for m in w.viewer.marks()] == [(0, 10, 10, 10), (0, 0, 10, 10),
                                                       (10, 0, 10, 10)]
    tiles[2] = TilePeak(10, 0, 10, 10, 300.0, tried=True)  # tried, and still out
    w._show_range(check_peaks(tiles, 10.0))
    assert ("(Run) did not bring it back. 2 other tiles (outlined in blue)"
            in w.viewer.warning())


@pytest.mark.parametrize("limit", [1e-6, 1e9])
def test_banner_says_when_the_image_is_outside_the_trained_range(
        make_window, weights_dir, tmp_path, picture, qtbot, open_settled, limit) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    save_weights(weights_dir / "denoise.safetensors", DRCNet(wf=8, depth=2),
                 {"task": "denoise", "activation_limit": limit})
    w = make_window()
    w.controls.set_run(128, 128, False)  # no full restore when idle: the preview is shown
    open_settled(w, picture(tmp_path / "big.png", 300, 200))
    out = limit < 1
    assert bool(w.viewer.warning()) is out and w.viewer.warning_label.isVisible() is out
    if out:
        assert "Outside what this model was trained on" in w.viewer.warning()
        assert "this image" in w.viewer.warning()  # the preview: one pass over the image
        assert "(Run) did not bring it back" in w.viewer.warning()  # repair is on, tried
        # Any image passes a limit this low: the whole image is outlined on the result.
        assert [m.getRect() for m in w.viewer.marks()] == [(0, 0, 300, 200)]
        assert w.viewer.single.marks  # the compare view's canvas draws them
    else:
        assert w.viewer.marks() == []
    with qtbot.waitSignal(w.restoreShown, timeout=20000):
        w.start_full_restore()
    assert w.full.range is not None and len(w.full.range.tiles) == 6
    assert bool(w.viewer.warning()) is out
    if out:
        assert "6 of 6 tiles of the full-resolution restore" in w.viewer.warning()
        # The tiles' peak maps, stitched: all over a limit this low, so one box round all.
        assert [m.getRect() for m in w.viewer.marks()] == [(0, 0, 300, 200)]
    qtbot.waitUntil(w.is_settled, timeout=30000)


def test_outlines_follow_the_peak_map_when_the_preview_is_the_result(
        make_window, image_path, open_settled, qtbot) -> None:  # noqa: ANN001
    from drcnet.range_check import flagged_boxes

    w = make_window()
    open_settled(w, image_path)  # 96×72: the one-pass preview is also the full result
    a = w.preview.analysis
    assert a.range is not None and not a.range.checked  # the tiny weights have no limit
    # A limit between the map's values: some areas over it, not all.
    limit = float(np.percentile(a.range.tiles[0].map, 90))
    w.engine.worker._model.activation_limit = limit  # the worker is idle: settled
    w.request_preview()
    qtbot.waitUntil(lambda: w.is_settled() and w.preview.analysis.range.checked,
                    timeout=30000)
    a = w.preview.analysis
    want = flagged_boxes(a.range, (72, 96), a.restored.shape[:2])
    assert want and want != [(0, 0, 96, 72)]
    assert w._full_current() and w.full.range is a.range  # shown as the full result
    assert [tuple(round(v) for v in m.getRect()) for m in w.viewer.marks()] == want
    assert "this image" in w.viewer.warning()
    # A peak under twice the limit gets the milder banner.
    assert ("At the edge of what this model was trained on" in w.viewer.warning()) is (
        a.range.peak <= 2 * limit)


def test_opening_a_smaller_image_under_the_mouse(make_window, image_path, open_settled,  # noqa: ANN001
                                                 qtbot, tmp_path) -> None:
    from tests.app.conftest import make_image

    w = make_window()
    open_settled(w, image_path)
    h, w_ = w.image.rgb.shape[:2]
    w._on_hover(w_ - 1, h - 1)  # the mouse at the far corner of this image
    small = make_image(tmp_path / "small.png", width=24, height=20)
    open_settled(w, small)  # would raise in a slot and never settle
    assert w.image.rgb.shape[:2] == (20, 24)
    text = w.pixel_label.text()  # empty, or (a pointer left over the view by an earlier
    if text:  # test) the new image's pixel under it: never the old corner's
        x, y = (int(v) for v in text.split()[1:4:2])
        assert 0 <= x < 24 and 0 <= y < 20


def test_non_finite_settings_read_as_unset() -> None:
    from app.settings import Settings

    s = Settings()
    for value in ("nan", "inf", "-inf"):
        s._set("knobs/derain-default/t", value)
        s._set("knobs/derain-default/delta", "1e-6")
        assert s.knobs("derain", "default") is None  # the weight file's knobs, not a crash


def test_a_quiet_cancel_of_a_queued_restore_is_not_the_users(make_window, image_path,  # noqa: ANN001
                                                            open_settled, monkeypatch) -> None:
    w = make_window()
    open_settled(w, image_path)
    w._restore_job = job = w.engine.restore(w.image.rgb, w.knobs(), w._tiles())
    w._exports = [waiting := ExportRequest("image", Path("o.png"))]  # waiting for it

    def queued_cancel() -> bool:  # what the engine does for a job still in the queue
        w.engine.worker.restoreCancelled.emit(job.serial, True)
        return True

    monkeypatch.setattr(w.engine, "cancel_restore", queued_cancel)
    w.statusBar().clearMessage()
    w.cancel_restore(quiet=True)  # a knob moved: the restore is replaced, not abandoned
    assert w._restore_job is None and w._export is waiting
    assert "cancelled" not in w.statusBar().currentMessage()
    w._exports = []


def test_a_waiting_export_dropped_by_opening_says_so(make_window, image_path, open_settled,  # noqa: ANN001
                                                     qtbot, tmp_path) -> None:
    from tests.app.conftest import make_image

    w = make_window()
    open_settled(w, image_path)
    w._exports = [ExportRequest("image", tmp_path / "o.png")]  # waiting for its restore
    seen: list[str] = []
    w.statusBar().messageChanged.connect(seen.append)
    open_settled(w, make_image(tmp_path / "other.png"))
    assert w._export is None
    assert any("the waiting export was cancelled" in m for m in seen)


def test_repaired_preview_says_so_and_the_switch_turns_it_off(
        make_window, tmp_path, open_settled, qtbot) -> None:  # noqa: ANN001
    from drcnet.imageio import write_image
    from drcnet.inference import REPAIR_COLOURS, desaturate
    from tests.helpers import peak_of

    # A magenta block on white: with these tiny weights, pulling its colour towards gray
    # lowers the peak a little (an untrained network's peak hardly follows saturation).
    rgb = np.ones((72, 96, 3), np.float32)
    rgb[20:50, 30:70] = (1.0, 0.0, 1.0)
    write_image(tmp_path / "magenta.png", rgb)
    w = make_window()
    open_settled(w, tmp_path / "magenta.png")  # one pass: the preview is the full result
    model = w.engine.worker._model  # the worker is idle: settled

    first = peak_of(model, w.small)
    low = min(peak_of(model, desaturate(w.small, f)) for f in REPAIR_COLOURS)
    assert low < first  # the premise
    model.activation_limit = (first + low) / 2  # one of the repair's passes is within it
    model.repair_above = 1.0  # a denoiser's repair waits for 20x the limit; this is 1.01x
    w.request_preview()
    qtbot.waitUntil(lambda: w.is_settled() and w.preview.analysis.range.checked,
                    timeout=30000)
    report = w.preview.analysis.range
    assert report.repaired and not report.out_of_range
    assert w.viewer.warning().startswith("<b>Repaired.</b>") and w.viewer.marks()
    assert w.controls.repair_check.isChecked() and w.settings.repair()
    assert w._full_current() and w.full.range.repaired  # the one-pass preview is the result
    assert "towards gray (the repair)" in w.maps.info.text()  # the maps are the repair's
    w.controls.repair_check.setChecked(False)  # the preview is made again, as it comes out
    assert not w._full_current()  # the repaired result is no longer what the settings make
    qtbot.waitUntil(lambda: w.is_settled() and w.preview.analysis.range.out_of_range,
                    timeout=30000)
    assert "what this model was trained on" in w.viewer.warning()  # mild: just over
    assert "Repaired" not in w.viewer.warning()
    assert "is off; turning it on may fix this" in w.viewer.warning()  # what to do
    assert "towards gray" not in w.maps.info.text()
    assert not w.settings.repair() and w._tiles().repair is False


def test_a_wide_gamut_photo_shows_through_its_profile(make_window, tmp_path, picture,
                                                       open_settled) -> None:  # noqa: ANN001
    import qimage2ndarray
    from PySide6.QtGui import QColorSpace

    from app.viewer import to_qimage
    from drcnet.imageio import read_image, write_image

    p3 = bytes(QColorSpace(QColorSpace.NamedColorSpace.DisplayP3).iccProfile())
    src = tmp_path / "p3.png"
    write_image(src, read_image(picture(tmp_path / "p.png")).rgb, icc=p3)
    w = make_window()
    said: list[str] = []
    w.statusBar().messageChanged.connect(said.append)
    open_settled(w, src)
    assert w.image.icc == p3
    assert any("Display P3 profile (shown as sRGB)" in m for m in said)
    def pixels(qimage) -> np.ndarray:  # noqa: ANN001
        return qimage2ndarray.rgb_view(qimage).astype(int)  # a copy: the QImage may go

    view = pixels(w._full_qimage)
    np.testing.assert_array_equal(view, pixels(to_qimage(w.full.restored, p3)))
    assert np.abs(view - pixels(to_qimage(w.full.restored))).max() >= 5  # not the raw numbers


def all_menus(w):  # noqa: ANN001, ANN201
    """The window's menus and submenus, as objects kept alive (before PySide6 6.11.2 a menu
    reached through QAction.menu() and kept had been deleted under its wrapper)."""
    from PySide6.QtWidgets import QMenu

    return w.menuBar().findChildren(QMenu)


def test_menu_mnemonics_do_not_collide(make_window) -> None:  # noqa: ANN001
    import re

    w = make_window()
    menus = all_menus(w)
    for menu in [None, *menus]:
        actions = w.menuBar().actions() if menu is None else menu.actions()
        letters = [m.group(1).lower() for a in actions
                   if (m := re.search(r"&([^&\s])", a.text().split("\t")[0]))]
        assert len(letters) == len(set(letters)), (menu and menu.title(), letters)
    view = next(m for m in menus if m.title() == "&View")
    assert sum("&" in a.text() for a in view.actions() if a.text()) >= 8


def test_menu_items_are_in_title_case(make_window) -> None:  # noqa: ANN001
    """Every menu item capitalises its words but the short joining ones, as the platforms'
    menus do; a few had been in sentence case ("Zoom in", "Load reference…")."""
    import re

    small = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to",
             "with"}
    w = make_window()
    menus = all_menus(w)
    texts = [a.text().split("\t")[0].replace("&", "") for m in menus for a in m.actions()
             if a.text() and m is not w.recent_menu]  # the recent files' names as they are
    assert "Zoom In" in texts
    lower = [t for t in texts for i, word in enumerate(re.findall(r"[A-Za-z']+", t))
             if word[0].islower() and (i == 0 or word not in small)]
    assert not lower, lower


def test_about_names_the_versions_and_fits_the_screen(make_window, large_font) -> None:  # noqa: ANN001
    """A message box had been 792 px tall at 16 pt, past a 150 % laptop screen (720 px),
    its OK button out of reach; it scrolls within the screen now."""
    from PySide6.QtWidgets import QTextBrowser

    import drcnet

    w = make_window()
    dlg = w.about()
    said = dlg.findChild(QTextBrowser).toPlainText()
    assert f"DRCNet Studio {drcnet.__version__}" in said
    assert f"PyTorch {torch.__version__}" in said and "Qt 6." in said
    assert dlg.height() <= w.screen().availableGeometry().height() * 0.85 + 1
    dlg.close()


def test_slow_previews_bring_a_hint_once(make_window, image_path, open_settled, qtbot,
                                         picture, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import app.main_window

    w = make_window()
    open_settled(w, image_path)
    w._note_preview_speed(9.0, 512)
    assert "Previews take" not in w.statusBar().currentMessage()  # one may be the warm-up
    w._note_preview_speed(9.0, 512)
    said = w.statusBar().currentMessage()
    assert said.startswith("Previews take 9.0 s here (cpu)") and "384 px: about 5.1 s" in said
    w.statusBar().clearMessage()
    w._note_preview_speed(9.0, 512)
    w._note_preview_speed(9.0, 512)
    assert w.statusBar().currentMessage() == ""  # once a session
    w2 = make_window()
    w2._note_preview_speed(9.0, 256)  # the smallest size already: nothing to suggest
    w2._note_preview_speed(9.0, 256)
    w2._note_preview_speed(0.1, 512)
    w2._note_preview_speed(9.0, 512)
    assert "Previews take" not in w2.statusBar().currentMessage()
    monkeypatch.setattr(app.main_window, "SLOW_PREVIEW_S", 0.0)  # every preview is "slow"
    w2.controls.set_run(384, 128, False)
    open_settled(w2, picture(tmp_path / "big.png", 600, 400))  # a 384×256 preview
    w2.controls.t_slider.setValue(60)
    qtbot.waitUntil(w2.is_settled, timeout=30000)
    qtbot.waitUntil(lambda: w2._slow_hint_given, timeout=30000)
    assert "(256 px: about" in w2.statusBar().currentMessage()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # QDragEnterEvent's only constructor
def test_a_drag_of_what_a_drop_would_refuse_is_not_accepted(make_window, image_path,
                                                            tmp_path) -> None:  # noqa: ANN001
    from PySide6.QtGui import QDragEnterEvent

    w = make_window()
    notes = tmp_path / "notes.txt"
    notes.write_text("x")

    def accepted(*paths) -> bool:  # noqa: ANN002
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
        event = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        event.ignore()
        w.dragEnterEvent(event)
        return event.isAccepted()

    assert not accepted(notes)  # the cursor says no, instead of an error box after the drop
    assert accepted(image_path) and accepted(tmp_path) and accepted(notes, image_path)
    download = tmp_path / "download"  # a PNG saved without its extension opens: accepted
    download.write_bytes(image_path.read_bytes())
    assert accepted(download)


def test_a_notice_is_not_covered_by_the_restore_s_routine_lines(make_window, tmp_path,
                                                               picture, open_settled,
                                                               qtbot, monkeypatch) -> None:  # noqa: ANN001
    import app.main_window

    monkeypatch.setattr(app.main_window, "NOTICE_S", 600.0)  # however slow the machine
    path = picture(tmp_path / "big.png", 640, 480)
    w = make_window()
    w.controls.set_run(256, 128, True)
    open_settled(w, path)
    w.notice("Copy waits for the full-resolution restore…")
    w.controls.t_slider.setValue(w.controls.t_slider.value() - 3)  # a new full restore
    qtbot.waitUntil(lambda: w._full_current() and w.is_settled(), timeout=30000)
    assert w.statusBar().currentMessage() == "Copy waits for the full-resolution restore…"
    w._notice = (w._notice[0], w._notice[1] - 1000)  # one that has stood its time gives way
    w.controls.t_slider.setValue(w.controls.t_slider.value() + 3)
    qtbot.waitUntil(lambda: w._full_current() and w.is_settled(), timeout=30000)
    assert w.statusBar().currentMessage().startswith("Full-resolution restore done")


def test_what_an_open_notes_stands_while_the_restore_runs(make_window, tmp_path, picture,
                                                          open_settled, monkeypatch) -> None:  # noqa: ANN001
    """"Opened …: only the first of its 2 pages is restored" (or 16-bit, a profile) was
    covered by "Restoring at full resolution…" within half a second."""
    import app.main_window

    monkeypatch.setattr(app.main_window, "NOTICE_S", 600.0)  # however slow the machine
    path = picture(tmp_path / "deep.png", 640, 480, bit_depth=16)
    w = make_window()
    w.controls.set_run(256, 128, True)  # a full restore in tiles follows the preview
    open_settled(w, path)
    assert w._full_current()
    assert w.statusBar().currentMessage() == "Opened deep.png: 640×480, 16-bit"


def test_the_next_shot_in_the_folder_keeps_the_zoom(make_window, image_path, picture,
                                                   open_settled) -> None:  # noqa: ANN001
    second = picture(image_path.parent / "noisy2.png", seed=1)  # the same size
    w = make_window()
    open_settled(w, image_path)
    w.viewer.zoom_by(3.0)
    scale = w.viewer.scale()
    open_settled(w, second)
    assert w.viewer.scale() == pytest.approx(scale) and not w.viewer.state.fit


def test_a_first_run_starts_in_compare_and_the_view_is_remembered(make_window) -> None:  # noqa: ANN001
    from app.settings import Settings

    Settings()._q.remove("view/mode")  # a first run: nothing stored
    w = make_window()
    assert w.viewer.mode() == "compare"  # the sample's first look shows what changed
    w.set_view_mode("after")
    w.save_settings()
    assert make_window().viewer.mode() == "after"
    w.set_view_mode("before")  # a first look at the next photo would show nothing restored
    w.save_settings()
    assert make_window().viewer.mode() == "compare"
    w.set_view_mode("ea")
    w.save_settings()
    assert make_window().viewer.mode() == "after"  # a session does not start on the EA view


def test_no_view_button_looks_on_until_an_image_opens(make_window, image_path,
                                                    open_settled) -> None:  # noqa: ANN001
    """A first run starts in Compare: its toolbar button had been drawn checked while greyed
    out, which reads as on. The view chosen meanwhile is the one shown once an image opens."""
    from app.settings import Settings

    Settings()._q.remove("view/mode")  # a first run: Compare
    w = make_window()
    buttons = [w.findChild(QToolBar, "mainToolbar").widgetForAction(a)
               for a in w.mode_actions.values()]
    assert w.viewer.mode() == "compare" and not any(b.isEnabled() for b in buttons)
    assert not any(b.isChecked() for b in buttons)
    assert not any(a.isChecked() for a in w.mode_actions.values())  # nor in the View menu
    w.set_view_mode("after")  # main.py's --view, say: taken, still not drawn on
    assert w.viewer.mode() == "after" and not any(b.isChecked() for b in buttons)
    w.set_view_mode("compare")
    open_settled(w, image_path)
    assert w.viewer.mode() == "compare"
    assert [m for m, a in w.mode_actions.items() if a.isChecked()] == ["compare"]
    assert w.findChild(QToolBar, "mainToolbar").widgetForAction(
        w.mode_actions["compare"]).isChecked()
    w.toggle_compare()  # C, with an image: the buttons follow the view again
    assert [m for m, a in w.mode_actions.items() if a.isChecked()] == ["after"]
    w.mode_actions["before"].trigger()
    assert w.viewer.mode() == "before" and w.mode_actions["before"].isChecked()


def test_the_bundled_samples_are_not_the_user_s_folder(make_window, open_settled, tmp_path,
                                                      picture, monkeypatch) -> None:  # noqa: ANN001
    import app.main

    samples = tmp_path / "samples"
    samples.mkdir()
    monkeypatch.setattr(app.main, "SAMPLES_DIR", samples.resolve())
    sample = picture(samples / "rain.png")
    w = make_window()
    open_settled(w, sample)
    assert w.settings.last_folder() != str(samples)  # File ▸ Open does not start there
    assert w.user_folder(samples) != samples  # nor Export and Restore Files
    mine = tmp_path / "mine"
    mine.mkdir()
    photo = picture(mine / "p.png")
    open_settled(w, photo)
    assert w.settings.last_folder() == str(mine)
    assert w.user_folder(samples) == mine and w.user_folder(mine) == mine
    w.settings.set_last_folder(str(samples))  # what an earlier version stored
    assert w.user_folder(samples) != samples and w.user_folder() != samples


def test_closing_while_a_photo_is_read_hides_the_window_first(qtbot, weights_dir, image_path,
                                                                make_gate, monkeypatch) -> None:  # noqa: ANN001
    """close() waited for the pool with the window still on screen: a 58 MB photo being
    read froze it in view for 2.6 s."""
    import threading

    import app.main_window
    from app.main_window import MainWindow

    gate = make_gate(app.main_window.read_image)
    monkeypatch.setattr(app.main_window, "read_image", gate)
    w = MainWindow(task="denoise", device="cpu")
    qtbot.addWidget(w)
    w.show()
    w.open_image(image_path)
    qtbot.waitUntil(gate.entered.is_set)
    seen: list[bool] = []

    def later() -> None:  # while close() waits for the read
        seen.append(w.isVisible())
        gate.release()

    threading.Timer(0.5, later).start()
    w.close()
    assert seen == [False]


def test_a_whole_image_pass_that_would_not_fit_is_restored_in_tiles(
        make_window, tmp_path, picture, open_settled, monkeypatch, qtbot) -> None:  # noqa: ANN001
    """The core refuses it; the GUI tried again on every knob move, each time with an error
    box (the autouse fixture fails the test on one)."""
    import drcnet.inference
    from drcnet.inference import DEFAULT_TILE

    # Enough for the 256-px preview (forward_image meets the check too), not for one pass
    # over the whole 400×300 photo.
    monkeypatch.setattr(drcnet.inference, "available_memory", lambda: 100 * 2**20)
    w = make_window()
    w.controls.set_run(256, 0, True)  # Tile: whole image
    open_settled(w, picture(tmp_path / "big.png", 400, 300))
    assert w._full_current() and w.full.tiles.tile == DEFAULT_TILE
    assert "so it is restored in 256-px tiles" in w.statusBar().currentMessage()
    w.controls.t_slider.setValue(w.controls.t_slider.value() - 3)  # again, in tiles, no box
    qtbot.waitUntil(lambda: w.is_settled() and w._full_current(), timeout=30000)
    assert w.full.tiles.tile == DEFAULT_TILE
    assert "tile 256" in w.run_label.text()  # what runs, not "whole image"
    w.controls.set_run(256, 512, True)  # a tile as large as the image: one pass too
    qtbot.waitUntil(lambda: w.is_settled() and w._full_current(), timeout=30000)
    assert w.full.tiles.tile == DEFAULT_TILE


def test_cancelling_a_restore_not_yet_started_says_it_is_cancelled(
        make_window, tmp_path, picture, open_settled, make_gate, qtbot, monkeypatch) -> None:  # noqa: ANN001
    """A queued restore's cancel arrives during the call: "cancelled" was then covered by
    "Cancelling after the tiles in progress…", which stood for good (found by fuzzing)."""
    import app.workers

    w = make_window()
    w.controls.set_run(256, 128, False)  # no restore when idle: the user's Ctrl+R
    open_settled(w, picture(tmp_path / "big.png", 600, 400))
    gate = make_gate(app.workers.analyse)  # hold a preview, so the restore waits in line
    monkeypatch.setattr(app.workers, "analyse", gate)
    w.request_preview()
    qtbot.waitUntil(gate.entered.is_set)
    w.start_full_restore()
    w.cancel_restore()
    assert w.statusBar().currentMessage() == "Full-resolution restore cancelled"
    assert w.cancel_button.isEnabled() or w.cancel_button.isHidden()
    gate.release()
    qtbot.waitUntil(w.is_settled, timeout=30000)
    assert w.statusBar().currentMessage() in ("Full-resolution restore cancelled", "")


def test_what_needs_an_image_is_greyed_out_until_one_is_open(make_window, image_path,
                                                            tmp_path, picture,
                                                            open_settled, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    needs = (w.export_action, w.copy_action, w.next_action, w.reference_action,
             w.restore_action, w.zoom_in_action, w.mode_actions["compare"])
    assert not any(a.isEnabled() for a in needs)
    assert not w.clear_reference_action.isEnabled()
    assert not w.controls.restore_button.isEnabled()  # as its action (it clicked to nothing)
    open_settled(w, image_path)
    assert all(a.isEnabled() for a in needs if a is not w.restore_action)
    assert not w.clear_reference_action.isEnabled()
    # The 96×72 photo's preview is its full-resolution result: a restore has nothing to do.
    assert not w.restore_action.isEnabled() and not w.controls.restore_button.isEnabled()
    assert "already" in w.controls.restore_button.toolTip()
    w.controls.t_slider.setValue(60)  # other knobs: it has
    assert w.restore_action.isEnabled() and w.controls.restore_button.isEnabled()
    w.load_reference(picture(tmp_path / "clean.png", 96, 72, seed=5))
    qtbot.waitUntil(w.clear_reference_action.isEnabled)
    w.clear_reference()
    assert not w.clear_reference_action.isEnabled()


def test_the_pixel_readout_without_a_mouse(make_window, image_path, open_settled, qtbot,
                                           monkeypatch) -> None:  # noqa: ANN001
    """The readout had come from mouse moves only: a keyboard user could not get it at
    all. Ctrl+arrows move a probe a pixel (Ctrl+Shift: ten) from the middle of the view."""
    from PySide6.QtCore import QPoint, Qt

    w = make_window()
    open_settled(w, image_path)  # 96×72
    c = w.viewer.single
    c.setFocus()
    assert w.pixel_label.text() == ""
    qtbot.keyClick(c, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    probe = c.state.probe
    assert probe is not None and (probe.x(), probe.y()) == (48, 36)  # the middle pixel
    rgb = np.round(w.image.rgb[36, 48] * 255).astype(int)
    text = w.pixel_label.text()
    assert "x    48" in text and "y    36" in text and w.pixel_label.isVisible()
    assert " ".join(f"{v:3d}" for v in rgb) in text
    qtbot.keyClick(c, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert (c.state.probe.x(), c.state.probe.y()) == (48, 46)
    assert "y    46" in w.pixel_label.text()
    for _ in range(5):  # held against the edge
        qtbot.keyClick(c, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier
                       | Qt.KeyboardModifier.ShiftModifier)
    assert c.state.probe.y() == 71
    # Drawn where it is: a white frame just outside that pixel, the pixel itself as it is.
    w.viewer.zoom_by(4.0)  # the probe stays on its pixel, and so does the readout
    assert (c.state.probe.x(), c.state.probe.y()) == (48, 71) and "y    71" in w.pixel_label.text()
    s, o = c.transform()
    shot = c.grab().toImage()
    # the white line lies in the screen column left of the pixel's edge, or across two where
    # the image's offset is a half pixel (an odd canvas width)
    edge, row = o.x() + 48 * s, int(o.y() + 71.5 * s)
    lefts = [shot.pixelColor(x, row) for x in {math.floor(edge - 1), math.ceil(edge - 1)}]
    assert max(min(c.red(), c.green(), c.blue()) for c in lefts) > 200
    inside = shot.pixelColor(int(o.x() + 48.5 * s), int(o.y() + 71.5 * s))
    assert (inside.red(), inside.green(), inside.blue()) != (255, 255, 255)
    qtbot.keyClick(c, Qt.Key.Key_Left)  # a plain pan, the pointer elsewhere: still the probe
    assert "x    48" in w.pixel_label.text()
    # With a screen reader running, each probe step's reading is announced.
    from PySide6.QtGui import QAccessible

    said: list[str] = []
    monkeypatch.setattr(QAccessible, "isActive", staticmethod(lambda: True))
    monkeypatch.setattr(QAccessible, "updateAccessibility",
                        staticmethod(lambda event: said.append(event.message())))
    qtbot.keyClick(c, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert said and "x    48  y    70" in said[-1]
    # Only a key's move is announced: a strength step or a view switch refreshes the
    # readout, and had said it again, over the slider's own value.
    n = len(said)
    w.controls.strength_spin.setValue(60)
    w.set_view_mode("compare")
    qtbot.wait(50)
    assert len(said) == n and "y    70" in w.pixel_label.text()
    w.controls.strength_spin.setValue(100)
    # Qt before 6.8 has no announcements (the import had stopped the app from starting):
    # the readout is shown without one.
    import PySide6.QtGui

    monkeypatch.delattr(PySide6.QtGui, "QAccessibleAnnouncementEvent")
    qtbot.keyClick(c, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert len(said) == n and "y    69" in w.pixel_label.text()
    monkeypatch.undo()
    qtbot.mouseMove(c, QPoint(5, 5))  # the pointer takes over again
    assert c.state.probe is None
    qtbot.keyClick(c, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert c.state.probe is not None
    w.open_image(image_path)  # a new image: the probe and its reading go
    qtbot.waitUntil(lambda: w.image is not None and w.is_settled(), timeout=30000)
    assert c.state.probe is None


def test_the_readout_mixes_strength_with_what_the_network_saw(make_window, tmp_path, qtbot,
                                                              open_settled) -> None:  # noqa: ANN001
    """Under alpha 0 the views mix strength with the nearest visible colour (what the network
    saw); the full-resolution readout had mixed with the colour the file hides there."""
    from drcnet.imageio import read_image, write_image

    rgb = np.full((48, 64, 3), 0.6, np.float32)
    rgb[:, :16] = (0.0, 0.0, 1.0)  # hidden under alpha 0: a blue no one sees
    alpha = np.ones((48, 64), np.float32)
    alpha[:, :16] = 0.0
    path = write_image(tmp_path / "clear.png", rgb, alpha=alpha)
    w = make_window()
    w.controls.set_run(256, 128, False)
    open_settled(w, path)
    w.controls.restore_button.click()
    qtbot.waitUntil(lambda: w.is_settled() and w._full_current(), timeout=30000)
    w.controls.strength_spin.setValue(0)  # the output is the source the views mix with
    w._on_hover(4, 20)
    seen = np.round(read_image(path).restorable[20, 4] * 255).astype(int)
    assert "out " + " ".join(f"{v:3d}" for v in seen) in w.pixel_label.text()
    assert seen[2] < 200  # the nearest visible gray, not the hidden blue


def test_the_scores_fit_a_900_px_high_window_unscrolled(make_window, weights_dir, image_path,
                                                        picture, tmp_path, open_settled,
                                                        qtbot, dark_theme) -> None:  # noqa: ANN001
    """With a weight file of the user's the model's lines had wrapped to seven, and the
    Reference group's Restored row fell below the fold of a 1440×900 window."""
    import shutil

    long = tmp_path / "my_very_long_experiment_name_denoise_run42_epoch0150_final_v3.safetensors"
    shutil.copy(weights_dir / "denoise.safetensors", long)
    w = make_window()
    w.resize(1440, 900)
    open_settled(w, image_path)
    assert w.open_weights(long)
    qtbot.waitUntil(lambda: w.info is not None and w.info.weights == long.resolve()
                    and w.is_settled(), timeout=30000)
    w.load_reference(picture(tmp_path / "clean.png", 96, 72, seed=5))
    w.controls.strength_spin.setValue(50)  # a longer note beside the Restored score
    qtbot.waitUntil(lambda: w.is_settled() and "strength 50 %" in w.controls.metrics_label.text(),
                    timeout=30000)
    scroll, label = w.controls_dock.widget(), w.controls.metrics_label
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()))
    bottom = label.mapTo(scroll.viewport(), QPoint(0, label.height())).y()
    assert bottom <= scroll.viewport().height()
    assert scroll.verticalScrollBar().maximum() == 0
    text = w.controls.model_status.text()
    assert text.count("<br>") == 3 and w.info.sha256[:16] in text  # four lines, SHA kept
    assert w.info.sha256 in w.controls.model_status.toolTip()  # and in full, with the path
    assert str(long.resolve()) in w.controls.model_status.toolTip()
    assert label.toolTip() == str(tmp_path / "clean.png")  # the reference's path


def test_the_about_box_is_as_tall_as_its_text(make_window, qtbot) -> None:  # noqa: ANN001
    """It was measured after the browser had set its document to its own width (about
    100 px before it is shown): 1254 px of text, a dialog 85 % of the screen, mostly empty."""
    from PySide6.QtWidgets import QTextBrowser

    w = make_window()
    dlg = w.about()
    qtbot.waitExposed(dlg)
    text = dlg.findChild(QTextBrowser)
    assert text.verticalScrollBar().maximum() == 0  # all of it shows
    assert text.viewport().height() - text.document().size().height() < 20  # and no more
    dlg.close()


def test_restore_full_resolution_is_greyed_out_while_it_would_do_nothing(
        make_window, tmp_path, picture, make_gate, open_settled, qtbot, monkeypatch) -> None:  # noqa: ANN001
    """The button stayed on during a restore, clicking to nothing, and ran the same restore
    again once its result was shown."""
    w = make_window()
    w.controls.set_run(256, 128, False)
    open_settled(w, picture(tmp_path / "big.png", 300, 200))
    button = w.controls.restore_button
    assert button.isEnabled() and w.restore_action.isEnabled()
    gate = make_gate(drcnet.inference.forward_batch)
    monkeypatch.setattr(drcnet.inference, "forward_batch", gate)
    button.click()
    qtbot.waitUntil(gate.entered.is_set)
    assert not button.isEnabled() and not w.restore_action.isEnabled()
    assert "Restoring at full resolution now" in button.toolTip()
    gate.release()
    qtbot.waitUntil(lambda: w.is_settled() and w._full_current(), timeout=30000)
    assert not button.isEnabled() and not w.restore_action.isEnabled()
    assert "at full resolution for these settings already" in button.toolTip()
    calls = gate.calls
    w.start_full_restore()  # Ctrl+R's slot, called anyway: nothing runs again
    assert w._restore_job is None and gate.calls == calls
    w.controls.t_slider.setValue(60)  # other knobs: there is something to do again
    assert button.isEnabled() and w.restore_action.isEnabled()
    assert "Run the tiled engine" in button.toolTip()


def test_settled_is_sent_again_once_a_reference_is_scored(make_window, image_path, picture,
                                                          tmp_path, open_settled, qtbot) -> None:  # noqa: ANN001
    """Pool work started without a word: with no model (so only the input is scored), a
    reference was read and scored after ``settled``, which was not sent again, and a
    ``--screenshot`` caught the Reference group half drawn."""
    from safetensors.torch import save_file

    other = tmp_path / "other.safetensors"
    save_file({"fc.weight": torch.zeros(3, 3)}, str(other), {"task": "denoise"})
    w = make_window(weights=other)
    open_settled(w, image_path)
    assert w.info is None and w.model_error  # no DRCNet in it
    with qtbot.waitSignal(w.settled, timeout=30000):
        w.load_reference(picture(tmp_path / "clean.png", 96, 72, seed=5))
    assert w.is_settled() and "input" in w._metrics


def test_the_overlay_box_is_greyed_out_in_the_ea_view(make_window, image_path, open_settled,
                                                      qtbot) -> None:  # noqa: ANN001
    """It stayed ticked there, drawing nothing, without a word."""
    w = make_window()
    open_settled(w, image_path)
    box = w.maps.overlay_check
    box.setChecked(True)
    w.set_view_mode("ea")
    assert not box.isEnabled() and not w.maps.opacity_slider.isEnabled()
    assert "EA ± view draws no map overlay" in box.toolTip()
    assert box.isChecked()  # kept for the views that draw it
    w.set_view_mode("after")
    assert box.isEnabled() and w.maps.opacity_slider.isEnabled()
    assert "EA ±" not in box.toolTip()
    qtbot.waitUntil(lambda: w.viewer.single.overlay is not None, timeout=30000)


def test_the_maps_panel_says_none_come_without_a_model(make_window, image_path, tmp_path,
                                                       open_settled) -> None:  # noqa: ANN001
    """Opening a photo after weights failed to load had put back "Maps appear with the next
    preview.", a preview that never comes."""
    from safetensors.torch import save_file

    other = tmp_path / "other.safetensors"
    save_file({"fc.weight": torch.zeros(3, 3)}, str(other), {"task": "denoise"})
    w = make_window(weights=other)
    open_settled(w, image_path)
    assert w.info is None and w.model_error
    assert w.maps.info.text() == "No maps: no model is loaded."


def test_a_camera_raw_file_is_refused_when_opened(make_window, tmp_path, image_path, boxes,
                                                  qtbot) -> None:  # noqa: ANN001
    """Its small embedded preview had opened and been restored, as if it were the photo;
    Restore Files and `drcnet restore` refuse it."""
    w = make_window()
    raw = tmp_path / "DSC_0001.NEF"
    raw.write_bytes(image_path.read_bytes())  # a file OpenCV decodes, named as RAW
    w.open_image(raw)
    qtbot.waitUntil(lambda: bool(boxes), timeout=20000)
    assert boxes[-1][0] == "Cannot open image"
    assert "DSC_0001.NEF is a camera's RAW file (.NEF)" in boxes[-1][1]
    assert boxes[-1][1].endswith("convert it to TIFF or PNG first")  # no folder to name here
    assert w.image is None


def test_a_gray_reference_for_a_colour_photo_is_refused(make_window, image_path, tmp_path,
                                                        open_settled, boxes, qtbot) -> None:  # noqa: ANN001
    """Its PSNR and SSIM (18 dB, 0.6) had been shown as if they meant something."""
    import cv2

    w = make_window()
    open_settled(w, image_path)
    gray = tmp_path / "gray.png"
    cv2.imwrite(str(gray), cv2.cvtColor(cv2.imread(str(image_path)), cv2.COLOR_BGR2GRAY))
    w.load_reference(gray)
    qtbot.waitUntil(lambda: bool(boxes), timeout=20000)
    assert boxes[-1] == ("Cannot use reference", "“gray.png” is grayscale but the input is in "
                         "colour; a reference must be the clean version of the same photo, "
                         "in colour as it is.")
    assert w.reference is None
    rgb_gray = tmp_path / "rgb_gray.png"  # a gray photo saved as RGB is gray too: taken
    cv2.imwrite(str(rgb_gray), cv2.imread(str(gray)))  # read as 3 equal channels
    open_settled(w, rgb_gray)
    w.load_reference(gray)
    qtbot.waitUntil(lambda: w.reference is not None, timeout=20000)


def test_run_menu_offers_cancel_and_reset_only_when_they_would_do_something(
        make_window, tmp_path, picture, open_settled, make_gate, qtbot, monkeypatch) -> None:  # noqa: ANN001
    """Both had been enabled with nothing running and the knobs at the model's values, and
    did nothing; the View menu's panel items had no mnemonic."""
    import drcnet.inference

    w = make_window()
    assert not w.cancel_action.isEnabled() and not w.reset_action.isEnabled()
    w.controls.set_run(256, 128, False)
    w.controls.refine_check.setChecked(False)
    open_settled(w, picture(tmp_path / "big.png", 300, 200))
    assert not w.cancel_action.isEnabled() and not w.reset_action.isEnabled()
    w.controls.t_slider.setValue(60)
    assert w.reset_action.isEnabled() == w.controls.reset_button.isEnabled() is True
    w.reset_action.trigger()
    assert not w.reset_action.isEnabled()
    qtbot.waitUntil(w.is_settled, timeout=30000)
    gate = make_gate(drcnet.inference.forward_batch)
    monkeypatch.setattr(drcnet.inference, "forward_batch", gate)
    w.start_full_restore()
    assert w.cancel_action.isEnabled()
    qtbot.waitUntil(gate.entered.is_set)
    w.cancel_action.trigger()
    assert not w.cancel_action.isEnabled()  # asked: "Cancelling…" until it stops
    gate.release()
    qtbot.waitUntil(lambda: w._restore_job is None, timeout=30000)
    assert not w.cancel_action.isEnabled()
    texts = [a.text() for a in w.menuBar().actions()[2].menu().actions()]
    assert "&Restoration" in texts and "&Maps" in texts

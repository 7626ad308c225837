"""Strength: the share of the restoration shown, measured, exported and batch-written."""

from __future__ import annotations

import numpy as np
import pytest
import qimage2ndarray
from PySide6.QtWidgets import QLabel

from app.controls import ControlsPanel
from app.export_dialog import ExportRequest
from drcnet.imageio import read_image, read_png_text
from drcnet.inference import restore_tiled, run


def shown(qimage) -> np.ndarray:  # noqa: ANN001
    return qimage2ndarray.rgb_view(qimage).astype(np.float32) / 255


def mix(src: np.ndarray, out: np.ndarray, s: float) -> np.ndarray:
    return src + s * (out - src)


def test_strength_slider_and_spin_box_follow_each_other(qtbot) -> None:  # noqa: ANN001
    p = ControlsPanel([("cpu", "CPU")])
    qtbot.addWidget(p)
    assert p.strength() == 1.0
    seen: list[float] = []
    p.strengthChanged.connect(seen.append)
    p.strength_slider.setValue(40)
    assert p.strength_spin.value() == 40 and seen == [0.4]
    p.strength_spin.setValue(85)
    assert p.strength_slider.value() == 85 and seen == [0.4, 0.85]
    p.set_strength(0.25)  # silent unless asked
    assert p.strength_slider.value() == p.strength_spin.value() == 25 and len(seen) == 2
    p.set_strength(1.7, notify=True)
    assert seen[-1] == 1.0


def test_strength_mixes_the_shown_result_without_running_the_model(
        make_window, image_path, open_settled, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)  # 96×72: the preview is the full result
    forwards = w.engine.worker.forward_count
    restored = w.full.restored
    w.controls.strength_slider.setValue(50)
    qtbot.waitUntil(w.is_settled, timeout=10000)
    assert w.engine.worker.forward_count == forwards  # nothing ran again
    assert w.full.restored is restored and w._full_current()
    np.testing.assert_allclose(shown(w._full_qimage), mix(w.image.rgb, restored, 0.5),
                               atol=1 / 255 + 1e-6)
    assert "strength 50 %" in w.viewer.single.captions[0]
    w.viewer.hovered.emit(10, 5)  # the pointer over pixel (10, 5): test_pixel_readout
    value = np.round(mix(w.image.rgb[5, 10], restored[5, 10], 0.5) * 255).astype(int)
    assert "out " + " ".join(f"{v:3d}" for v in value) in w.pixel_label.text()
    w.save_settings()
    w2 = make_window()
    assert w2.controls.strength() == 0.5  # remembered


def test_a_tiled_result_is_mixed_in_the_background_and_when_it_arrives(
        make_window, tmp_path, picture, open_settled, qtbot) -> None:  # noqa: ANN001
    path = picture(tmp_path / "big.png", 300, 200)
    w = make_window()
    w.controls.set_run(256, 128, True)
    w.controls.set_strength(0.3)  # before the restore: its image comes mixed
    open_settled(w, path)
    assert w.full is not None and w.full.restored.shape == (200, 300, 3)
    assert w._full_shows(0.3)
    np.testing.assert_allclose(shown(w._full_qimage), mix(w.image.rgb, w.full.restored, 0.3),
                               atol=1 / 255 + 1e-6)
    forwards = w.engine.worker.forward_count
    for percent in (60, 70, 100):  # quicker than the pool: mixed one at a time, the last wins
        w.controls.strength_spin.setValue(percent)
    qtbot.waitUntil(w.is_settled, timeout=10000)
    assert w.engine.worker.forward_count == forwards and w._full_shows(1.0)
    np.testing.assert_allclose(shown(w._full_qimage), w.full.restored, atol=1 / 255 + 1e-6)
    assert "strength" not in w.viewer.single.captions[0]
    assert "updating" not in w.viewer.single.captions[0]


def test_metrics_export_and_restore_files_use_the_strength(
        make_window, image_path, open_settled, picture, tmp_path, qtbot) -> None:  # noqa: ANN001
    from drcnet.metrics import psnr

    clean = picture(tmp_path / "clean.png", 96, 72, seed=5)
    w = make_window()
    open_settled(w, image_path)
    w.controls.set_strength(0.25, notify=True)
    w.load_reference(clean)
    qtbot.waitUntil(lambda: "output" in w._metrics, timeout=10000)
    expected = psnr(mix(w.image.rgb, w.full.restored, 0.25), w.reference.rgb)
    assert w._metrics["output"][0] == pytest.approx(expected)
    assert "strength 25 %" in w.controls.metrics_label.text()

    out = tmp_path / "out.png"
    with qtbot.waitSignal(w.exported, timeout=20000):
        w.export(ExportRequest("image", out))
    np.testing.assert_allclose(read_image(out).rgb, mix(w.image.rgb, w.full.restored, 0.25),
                               atol=1 / 255 + 1e-6)
    assert read_png_text(out)["drcnet.strength"] == "0.25"

    folder = tmp_path / "many"
    folder.mkdir()
    picture(folder / "a.png", 80, 60)
    dlg = w.make_batch_dialog()
    assert "strength\u00a025\u00a0%" in dlg.findChild(QLabel, "hint").text()
    dlg.add_inputs([folder])
    qtbot.waitUntil(lambda: not dlg.scanning(), timeout=10000)
    finished: list[bool] = []
    w.engine.worker.batchFinished.connect(lambda s, r, c: finished.append(c))
    assert dlg.start()
    qtbot.waitUntil(lambda: bool(finished) and not dlg.running(), timeout=30000)
    written = folder / "restored" / "a.png"
    assert read_png_text(written)["drcnet.strength"] == "0.25"
    src = read_image(folder / "a.png").rgb
    model = w.engine.worker._model  # idle now: the batch is over
    model.configure(t=dlg.knobs.t, delta=dlg.knobs.delta, ea=dlg.knobs.ea)
    full = run(restore_tiled(model, src, dlg.tiles))
    assert np.abs(full - src).mean() > 0.01  # the model changes it: the mix can be told apart
    np.testing.assert_allclose(read_image(written).rgb, mix(src, full, 0.25),
                               atol=1.5 / 255)
    dlg.done(0)


def test_a_mix_that_fails_goes_back_to_the_strength_shown(
        make_window, tmp_path, picture, open_settled, qtbot, monkeypatch) -> None:  # noqa: ANN001
    import app.main_window

    path = picture(tmp_path / "big.png", 300, 200)
    w = make_window()
    w.controls.set_run(256, 128, True)
    open_settled(w, path)
    assert w._full_current() and w._full_shows(1.0)
    real = app.main_window.apply_strength

    def no_memory(src, out, s):  # noqa: ANN001, ANN202
        if src.shape == (200, 300, 3):
            raise MemoryError("out of memory")
        return real(src, out, s)

    monkeypatch.setattr(app.main_window, "apply_strength", no_memory)
    w.controls.strength_slider.setValue(40)
    qtbot.waitUntil(lambda: w.is_settled() and not w._mixing, timeout=10000)
    assert w.controls.strength() == 1.0 and w.settings.strength() == 1.0
    assert w._full_shows(1.0)
    caption = w.viewer.single.captions[0]
    assert "full resolution" in caption and "strength" not in caption and "updating" not in caption
    assert "Could not apply a strength of 40 %" in w.statusBar().currentMessage()
    assert not w.history.can_undo() and not w.history.can_redo()  # 40 % left no step
    monkeypatch.setattr(app.main_window, "apply_strength", real)
    w.controls.strength_slider.setValue(40)  # works again once memory is back
    qtbot.waitUntil(lambda: w.is_settled() and w._full_shows(0.4), timeout=10000)

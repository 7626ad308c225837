"""Exports from the window and the export dialog: files, sizes, parameters, atomicity."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from app.export_dialog import ExportDialog, ExportRequest
from drcnet.imageio import read_image, read_png_text, write_image
from drcnet.weights import sha256


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export(qtbot, w, layout: str, path: Path, **kw) -> Path:  # noqa: ANN001, ANN003
    with qtbot.waitSignal(w.exported, timeout=20000) as blocker:
        w.export(ExportRequest(layout, path, **kw))
    assert blocker.args == [str(path)]
    return path


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".part")]


def test_export_restored_png(make_window, image_path, open_settled, weights_dir, tmp_path,
                             qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    before = digest(image_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = export(qtbot, w, "image", out_dir / "restored.png")
    img = read_image(out)
    assert img.rgb.shape == (72, 96, 3) and img.bit_depth == 8
    assert np.abs(img.rgb - w.full.restored).max() <= 1 / 255 + 1e-6
    meta = read_png_text(out)
    side = json.loads((out_dir / "restored.json").read_text())
    expected_sha = sha256(weights_dir / "denoise.safetensors")
    assert side["task"] == "denoise" and meta["drcnet.task"] == "denoise"
    assert side["t"] == 0.75 and float(meta["drcnet.t"]) == 0.75
    assert side["delta"] == 1e-6 and float(meta["drcnet.delta"]) == 1e-6
    assert side["ea"] is True and meta["drcnet.ea"] == "true"
    assert side["weights_sha256"] == expected_sha == meta["drcnet.weights_sha256"]
    assert side["device"] == "cpu" and side["tile"] == w.controls.tile() == 256
    assert side["precision"] == w.info.precision == meta["drcnet.precision"]
    assert side["ensemble"] == 1 and side["repair"] is True
    assert side["range_check"] == "not checked (no calibrated limit)"  # tiny weights: no limit
    assert side["input"] == "noisy.png" and side["size"] == [96, 72]
    assert no_temp_files(out_dir) and no_temp_files(image_path.parent)
    assert digest(image_path) == before


def test_export_uses_current_knobs(make_window, image_path, open_settled, tmp_path,
                                   qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    w.controls.t_spin.setValue(0.6)
    w.controls.delta_slider.setValue(-300)
    w.controls.ea_check.setChecked(False)
    out = export(qtbot, w, "image", tmp_path / "k.png")
    side = json.loads(out.with_suffix(".json").read_text())
    assert (side["t"], side["delta"], side["ea"]) == (0.6, 1e-3, False)
    assert w.full.knobs.t == 0.6


def test_export_side_split_sheet(make_window, image_path, open_settled, tmp_path,
                                 qtbot) -> None:  # noqa: ANN001
    w = make_window()
    w.maps_dock.hide()  # the sheet must fetch maps and the EA pair by itself
    open_settled(w, image_path)
    side = read_image(export(qtbot, w, "side", tmp_path / "side.png"))
    assert side.rgb.shape == (72, 2 * 96 + 8, 3)

    w.viewer.set_split_position(0.25)
    split_path = export(qtbot, w, "split", tmp_path / "split.png", labels=False)
    split = read_image(split_path).rgb
    assert split.shape == (72, 96, 3)
    x = 24
    assert np.abs(split[:, : x - 2] - w.image.rgb[:, : x - 2]).max() <= 1 / 255 + 1e-6
    assert np.abs(split[:, x + 2 :] - w.full.restored[:, x + 2 :]).max() <= 1 / 255 + 1e-6
    assert np.allclose(split[:, x], 1.0)  # the divider line
    assert json.loads(split_path.with_suffix(".json").read_text())["split"] == 0.25

    sheet_path = export(qtbot, w, "sheet", tmp_path / "sheet.png")
    sheet = read_image(sheet_path).rgb
    assert sheet.shape[1] > 3 * 400 and sheet.shape[0] > 3 * 300  # three rows of panels
    record = json.loads(sheet_path.with_suffix(".json").read_text())
    assert record["layout"] == "sheet" and record["block"] == w.maps.block()
    assert record["colormap"] == w.maps.cmap()
    assert record["analysis_size"] == max(w.preview.analysis.restored.shape[:2])
    assert "spatial selection removed" in record["noea"]
    assert no_temp_files(tmp_path)


def test_export_16_bit_kept(make_window, tmp_path, picture, open_settled, qtbot) -> None:  # noqa: ANN001
    src = picture(tmp_path / "deep.png", 80, 64, bit_depth=16)
    w = make_window()
    open_settled(w, src)
    assert w.image.bit_depth == 16
    for name in ("deep_out.png", "deep_out.tif"):
        assert read_image(export(qtbot, w, "image", tmp_path / name)).bit_depth == 16
    assert "keeps no" not in w.statusBar().currentMessage()  # nothing lost: no note
    jpg = export(qtbot, w, "image", tmp_path / "deep_out.jpg")
    assert read_image(jpg).bit_depth == 8
    assert w.statusBar().currentMessage().endswith(" · the .jpg output keeps no 16-bit depth; "
                                                   "it is written in 8 bits")
    assert json.loads(jpg.with_suffix(".json").read_text())["task"] == "denoise"


def test_export_waits_for_full_resolution(make_window, tmp_path, picture, open_settled,
                                          qtbot) -> None:  # noqa: ANN001
    src = picture(tmp_path / "big.png", 300, 200)
    w = make_window()
    w.controls.set_run(256, 128, False)  # no refine when idle: export must run it
    open_settled(w, src)
    assert not w._full_current()
    out = export(qtbot, w, "image", tmp_path / "big_out.png")
    assert read_image(out).rgb.shape == (200, 300, 3)
    assert json.loads(out.with_suffix(".json").read_text())["tile"] == 128


def test_exports_asked_for_in_a_row_are_all_written(make_window, tmp_path, picture,
                                                   open_settled, make_gate, qtbot,
                                                   monkeypatch) -> None:  # noqa: ANN001
    import app.export_queue as mw

    src = picture(tmp_path / "big.png", 300, 200)
    w = make_window()
    w.controls.set_run(256, 128, False)  # the first waits for the full-resolution restore
    open_settled(w, src)
    gate = make_gate(mw.write_export)  # holds the first write, so the third is asked during it
    monkeypatch.setattr(mw, "write_export", gate)
    done: list[str] = []
    w.exported.connect(done.append)
    names = [tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.jpg"]
    w.export(ExportRequest("image", names[0]))
    w.export(ExportRequest("side", names[1]))  # while the first waits: it used to replace it
    qtbot.waitUntil(gate.entered.is_set, timeout=30000)  # the event loop runs the restore
    assert not done
    w.export(ExportRequest("image", names[2]))  # while one is written: it used to stall
    gate.release()
    qtbot.waitUntil(lambda: len(done) == 3 and w.is_settled(), timeout=30000)
    assert done == [str(n) for n in names]
    assert read_image(names[1]).rgb.shape == (200, 608, 3)


def test_closing_with_an_export_waiting_asks_before_dropping_it(make_window, tmp_path, picture,
                                                              open_settled, make_gate, qtbot,
                                                              monkeypatch) -> None:  # noqa: ANN001
    """Closing the window had dropped an export waiting for the full-resolution restore
    without a word. Cancel stays; Save writes it, then closes; Discard closes."""
    import app.workers

    src = picture(tmp_path / "big.png", 300, 200)
    restore = app.workers.restore_tiled
    asked: list[str] = []
    answer = [QMessageBox.StandardButton.Cancel]

    def question(parent, title, text, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        asked.append(text)
        return answer[0]

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))

    def waiting(name: str):  # noqa: ANN202
        """A window whose export of ``name`` waits for a full-resolution restore held at a
        gate; and the gate."""
        w = make_window()
        w.controls.set_run(256, 128, False)  # no refine when idle: the export waits for it
        open_settled(w, src)
        gate = make_gate(restore)
        monkeypatch.setattr(app.workers, "restore_tiled", gate)
        w.export(ExportRequest("image", tmp_path / name))
        qtbot.waitUntil(gate.entered.is_set, timeout=30000)
        return w, gate

    w, gate = waiting("a.png")
    assert not w.close() and w.isVisible()  # Cancel: nothing changes
    assert asked == ["An export waits for the full-resolution restore (a.png).\n\n"
                     "Write it before closing?"]
    answer[0] = QMessageBox.StandardButton.Save
    assert not w.close() and w.isVisible()
    assert w.statusBar().currentMessage() == "Closing once a.png is written…"
    gate.release()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=30000)
    assert read_image(tmp_path / "a.png").rgb.shape == (200, 300, 3)

    w2, gate2 = waiting("b.png")
    answer[0] = QMessageBox.StandardButton.Discard
    gate2.release()  # the pool finishes the restore while the window shuts down
    assert w2.close() and not (tmp_path / "b.png").exists()

    # The last answer counts: Cancel after Save had still closed it once the export was done.
    w3, gate3 = waiting("c.png")
    answer[0] = QMessageBox.StandardButton.Save
    assert not w3.close()
    answer[0] = QMessageBox.StandardButton.Cancel
    assert not w3.close()
    gate3.release()
    qtbot.waitUntil(lambda: (tmp_path / "c.png").is_file() and w3.is_settled(), timeout=30000)
    qtbot.wait(50)  # a close would have been posted by now
    assert w3.isVisible()


def test_an_export_without_sidecar_removes_the_one_that_described_the_old_file(
        make_window, image_path, open_settled, qtbot, tmp_path) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    out = export(qtbot, w, "image", tmp_path / "x.png")
    assert out.with_suffix(".json").is_file()
    (tmp_path / "y.json").write_text('{"output": "y.tif"}')  # another file's: left alone
    export(qtbot, w, "image", out, sidecar=False)
    export(qtbot, w, "image", tmp_path / "y.png", sidecar=False)
    assert not out.with_suffix(".json").exists() and (tmp_path / "y.json").is_file()


def test_an_export_s_note_is_about_the_image_it_wrote(make_window, tmp_path, picture,
                                                     open_settled, make_gate, qtbot,
                                                     monkeypatch) -> None:  # noqa: ANN001
    import app.export_queue as mw

    w = make_window()
    open_settled(w, picture(tmp_path / "a8.png", 60, 40))
    gate = make_gate(mw.write_export)
    monkeypatch.setattr(mw, "write_export", gate)
    done: list[str] = []
    w.exported.connect(done.append)
    w.export(ExportRequest("image", tmp_path / "out.jpg"))
    assert gate.entered.wait(10)
    w.open_image(picture(tmp_path / "b16.png", 60, 40, bit_depth=16))  # while it writes
    qtbot.waitUntil(lambda: w.image.bit_depth == 16, timeout=20000)
    messages: list[str] = []
    w.statusBar().messageChanged.connect(messages.append)
    gate.release()
    qtbot.waitUntil(lambda: bool(done), timeout=20000)
    assert not any("16-bit" in m for m in messages)  # the 8-bit photo lost nothing


def test_exports_waiting_when_a_device_switch_fails_go_on(make_window, tmp_path, picture,
                                                          open_settled, qtbot, boxes) -> None:  # noqa: ANN001
    w = make_window()
    w.controls.set_run(256, 128, False)
    open_settled(w, picture(tmp_path / "big.png", 300, 200))
    w.export(ExportRequest("image", tmp_path / "o.png"))
    assert w._restore_job is not None
    w.cancel_restore(quiet=True)  # as a device switch does; then moving the model fails
    w.model_pending = True
    task, variant, path = w._chosen()
    w._on_load_failed(task, variant, str(path) if path else "", "no such GPU", False)
    qtbot.waitUntil(lambda: w.is_settled() and not w._exports, timeout=30000)
    assert (tmp_path / "o.png").is_file()


def test_a_failed_restore_says_the_waiting_exports_are_dropped(make_window, tmp_path, picture,
                                                               open_settled, boxes) -> None:  # noqa: ANN001
    w = make_window()
    w.controls.set_run(256, 128, False)
    open_settled(w, picture(tmp_path / "big.png", 300, 200))
    w.export(ExportRequest("image", tmp_path / "o.png"))
    w.export(ExportRequest("side", tmp_path / "s.png"))
    job = w._restore_job
    w._on_restore_failed(job.serial, "out of memory")
    assert not w._exports and "the waiting 2 exports were cancelled" in boxes[-1][1]


def test_export_never_overwrites_input(make_window, image_path, open_settled, boxes,
                                       qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    before = digest(image_path)
    w.export(ExportRequest("image", image_path))
    qtbot.waitUntil(lambda: len(boxes) == 1)
    assert "input" in boxes[0][1]
    assert digest(image_path) == before
    assert not image_path.with_suffix(".json").exists()
    assert no_temp_files(image_path.parent)


def test_export_to_missing_folder(make_window, image_path, open_settled, boxes, tmp_path,
                                  qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    w.export(ExportRequest("side", tmp_path / "nope" / "x.png"))
    qtbot.waitUntil(lambda: len(boxes) == 1)
    assert "does not exist" in boxes[0][1]
    assert not (tmp_path / "nope").exists()


def test_export_names_a_format_it_does_not_write(make_window, image_path, open_settled, boxes,
                                                 tmp_path, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    w.export(ExportRequest("restored", tmp_path / "n.gif"))  # it said GIF was no image type
    w.export(ExportRequest("restored", tmp_path / "n"))
    qtbot.waitUntil(lambda: len(boxes) == 2)
    assert boxes[0][1].startswith("GIF is not a format Studio writes; use one of .png")
    assert boxes[1][1].startswith("“n” has no file extension")
    assert not list(tmp_path.glob("n*"))


def test_export_without_weights(qtbot, empty_weights_dir, image_path, boxes, tmp_path) -> None:  # noqa: ANN001, E501
    from app.main_window import MainWindow

    w = MainWindow(task="derain", device="cpu")
    qtbot.addWidget(w)
    try:
        w.open_image(image_path)
        qtbot.waitUntil(lambda: w.image is not None and w.is_settled())
        w.export(ExportRequest("image", tmp_path / "x.png"))
        assert boxes and "No trained derain weights" in boxes[0][1]
        assert not (tmp_path / "x.png").exists()
    finally:
        w.shutdown()


def test_export_dialog_names_and_formats(qtbot, tmp_path) -> None:  # noqa: ANN001
    dlg = ExportDialog(tmp_path, "rain", "derain", 0.4, 16)
    qtbot.addWidget(dlg)
    assert dlg.request() == ExportRequest("image", tmp_path / "rain_derain.png")
    dlg.set_layout_key("split")
    assert dlg.request().path.name == "rain_derain_split.png"
    assert "40%" in dlg.layout_buttons["split"].text()
    dlg.format_combo.setCurrentIndex(dlg.format_combo.findData("tiff"))
    assert dlg.request().path.name == "rain_derain_split.tif"
    dlg.sidecar_check.setChecked(False)
    dlg.labels_check.setChecked(False)
    r = dlg.request()
    assert (r.layout, r.sidecar, r.labels) == ("split", False, False)
    dlg.set_layout_key("sheet")
    assert not dlg.labels_check.isEnabled() and not dlg.exif_check.isEnabled()
    dlg.path_edit.setText(str(tmp_path / "mine.tif"))
    dlg.path_edit.textEdited.emit("mine.tif")  # typed by the user: the name stays theirs
    dlg.set_layout_key("side")
    assert dlg.labels_check.isEnabled() and not dlg.exif_check.isEnabled()
    dlg.set_layout_key("image")
    assert dlg.exif_check.isEnabled() and dlg.request().path.name == "mine.tif"
    dlg.exif_check.setChecked(False)
    assert dlg.request().exif is False


def test_export_dialog_asks_before_replacing_and_keeps_relative_names_in_its_folder(
        qtbot, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    dlg = ExportDialog(tmp_path, "rain", "derain", 0.4, 8)
    qtbot.addWidget(dlg)
    dlg.path_edit.setText("mine.png")
    assert dlg.request().path == tmp_path / "mine.png"  # not the process's working folder
    asked: list[Path] = []
    answer = {"replace": False}

    def confirm(path: Path) -> bool:
        asked.append(path)
        return answer["replace"]

    monkeypatch.setattr(dlg, "confirm_replace", confirm)
    dlg.accept()
    assert asked == [] and dlg.result() == dlg.DialogCode.Accepted  # a new file: no question
    (tmp_path / "mine.png").write_bytes(b"")
    dlg.setResult(dlg.DialogCode.Rejected)
    dlg.accept()
    assert asked == [tmp_path / "mine.png"] and dlg.result() == dlg.DialogCode.Rejected
    answer["replace"] = True
    dlg.accept()
    assert dlg.result() == dlg.DialogCode.Accepted


def test_export_dialog_refuses_the_input_without_asking_to_replace_it(
        qtbot, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    photo = tmp_path / "rain.png"
    photo.write_bytes(b"")
    dlg = ExportDialog(tmp_path, "rain", "derain", 0.4, 8, source=photo)
    qtbot.addWidget(dlg)
    told: list[str] = []
    monkeypatch.setattr(QMessageBox, "information",
                        staticmethod(lambda parent, title, text: told.append(text)))
    monkeypatch.setattr(dlg, "confirm_replace", lambda path: pytest.fail("asked to replace"))
    dlg.path_edit.setText("rain.png")
    dlg.accept()
    assert dlg.result() == dlg.DialogCode.Rejected and "is the input photo" in told[0]


def test_export_dialog_refuses_a_size_the_format_cannot_hold(qtbot, tmp_path,
                                                             monkeypatch) -> None:  # noqa: ANN001
    """Said in the dialog, not after the restore for the export has run."""
    dlg = ExportDialog(tmp_path, "pano", "derain", 0.4, 8, size=(9000, 40))
    qtbot.addWidget(dlg)
    told: list[str] = []
    monkeypatch.setattr(QMessageBox, "information",
                        staticmethod(lambda parent, title, text: told.append(text)))
    dlg.layout_buttons["side"].setChecked(True)
    dlg.path_edit.setText("pano.webp")
    dlg.accept()
    assert dlg.result() == dlg.DialogCode.Rejected and "18008×40; use .png" in told[0]
    dlg.layout_buttons["image"].setChecked(True)  # 9000 px fits a WebP
    dlg.accept()
    assert len(told) == 1 and dlg.result() == dlg.DialogCode.Accepted


def test_export_dialog_refuses_a_folder_that_does_not_exist(qtbot, tmp_path,
                                                            monkeypatch) -> None:  # noqa: ANN001
    dlg = ExportDialog(tmp_path, "rain", "derain", 0.4, 8)
    qtbot.addWidget(dlg)
    told: list[str] = []
    monkeypatch.setattr(QMessageBox, "information",
                        staticmethod(lambda parent, title, text: told.append(text)))
    dlg.path_edit.setText(str(tmp_path / "nodir" / "x.png"))
    dlg.accept()
    assert dlg.result() == dlg.DialogCode.Rejected
    assert told == [f"The folder {tmp_path / 'nodir'} does not exist; choose another "
                    "(Browse…), or create it first."]


def test_export_dialog_refuses_a_folder_nothing_can_be_written_into(qtbot, tmp_path,
                                                                     monkeypatch) -> None:  # noqa: ANN001
    """A read-only folder had passed the dialog; the export failed after the full-resolution
    restore it waited for (18 s for a 12 MP photo)."""
    from tests.helpers import read_only

    dlg = ExportDialog(tmp_path, "rain", "derain", 0.4, 8)
    qtbot.addWidget(dlg)
    told: list[str] = []
    monkeypatch.setattr(QMessageBox, "information",
                        staticmethod(lambda parent, title, text: told.append(text)))
    read_only(monkeypatch, tmp_path)
    dlg.path_edit.setText(str(tmp_path / "x.png"))
    dlg.accept()
    assert dlg.result() == dlg.DialogCode.Rejected
    assert told == [f"Nothing can be written into {tmp_path} (Read-only file system); "
                    "choose another folder."]


def test_export_dialog_refuses_a_read_only_file_before_asking_to_replace_it(
        qtbot, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """A read-only target was offered "Replace?", and refused after the full-resolution
    restore the export waited for."""
    import os
    import stat

    target = tmp_path / "x.png"
    target.write_bytes(b"mine")
    os.chmod(target, stat.S_IREAD)
    dlg = ExportDialog(tmp_path, "rain", "derain", 0.4, 8)
    qtbot.addWidget(dlg)
    told: list[str] = []
    monkeypatch.setattr(QMessageBox, "information",
                        staticmethod(lambda parent, title, text: told.append(text)))
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    dlg.path_edit.setText(str(target))
    try:
        dlg.accept()
    finally:
        os.chmod(target, stat.S_IREAD | stat.S_IWRITE)
    assert dlg.result() == dlg.DialogCode.Rejected
    assert told == [f"{target} exists and is read-only; make it writable, or choose another "
                    "name."]


def test_export_dialog_keeps_typed_names_and_refuses_no_name(qtbot, tmp_path,
                                                            monkeypatch) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QMessageBox

    said: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda _p, _t, text: said.append(text))
    dlg = ExportDialog(tmp_path, "rain", "derain", 0.4, 8)
    qtbot.addWidget(dlg)
    for typed in ("", "  ", str(tmp_path)):  # nothing, or the folder: stay in the dialog
        dlg.setResult(dlg.DialogCode.Rejected)
        dlg.path_edit.setText(typed)
        dlg.accept()
        assert dlg.result() == dlg.DialogCode.Rejected and said[-1].startswith("Name the file")
    dlg.path_edit.setText("shot")
    assert dlg.request().path == tmp_path / "shot.png"  # the chosen format's extension
    dlg.path_edit.setText("shot.webp")
    dlg.path_edit.textEdited.emit("shot.webp")
    dlg.set_layout_key("side")  # a layout change keeps what the user typed
    assert dlg.request().path.name == "shot.webp"
    dlg.path_edit.setText("shot.jpeg")
    dlg.path_edit.textEdited.emit("shot.jpeg")
    assert dlg.format_combo.currentData() == "jpeg"  # a typed extension picks the format
    dlg.path_edit.setText("v1.2")
    dlg.path_edit.textEdited.emit("v1.2")
    dlg.format_combo.setCurrentIndex(dlg.format_combo.findData("tiff"))
    assert dlg.request().path.name == "v1.2.tif"  # the dot is the name's, not an extension


def test_export_dialog_takes_a_relative_name_in_its_own_folder(qtbot, tmp_path,
                                                               monkeypatch) -> None:  # noqa: ANN001
    (tmp_path / "cwd" / "shots").mkdir(parents=True)  # a folder of that name elsewhere
    monkeypatch.chdir(tmp_path / "cwd")
    (tmp_path / "out").mkdir()
    dlg = ExportDialog(tmp_path / "out", "rain", "derain", 0.4, 8)
    qtbot.addWidget(dlg)
    dlg.path_edit.setText("shots")
    dlg.accept()
    assert dlg.result() == dlg.DialogCode.Accepted
    assert dlg.request().path == tmp_path / "out" / "shots.png"


def test_export_dialog_asks_before_taking_another_exports_sidecar(
        qtbot, tmp_path, monkeypatch, boxes) -> None:  # noqa: ANN001
    import json

    def studio(output: str) -> dict:
        return {"task": "derain", "weights_sha256": "ab", "size": [8, 8], "output": output}

    dlg = ExportDialog(tmp_path, "rain", "derain", 0.4, 8)
    qtbot.addWidget(dlg)
    asked: list[tuple[str, str]] = []
    monkeypatch.setattr(dlg, "confirm_sidecar",
                        lambda p, other: asked.append((p.name, other.name)) or False)
    (tmp_path / "shot.png").write_bytes(b"")
    (tmp_path / "shot.json").write_text(json.dumps(studio("shot.png")))
    dlg.path_edit.setText("shot.jpg")
    dlg.setResult(dlg.DialogCode.Rejected)
    dlg.accept()
    assert asked == [("shot.jpg", "shot.png")] and dlg.result() == dlg.DialogCode.Rejected
    dlg.sidecar_check.setChecked(False)  # no sidecar: nothing to replace
    dlg.accept()
    assert len(asked) == 1 and dlg.result() == dlg.DialogCode.Accepted
    # Its own sidecar, or one whose export is gone: no question.
    dlg.sidecar_check.setChecked(True)
    for name, record in (("shot.png", studio("shot.png")), ("gone.jpg", studio("gone.png"))):
        side = tmp_path / f"{Path(name).stem}.json"
        side.write_text(json.dumps(record))
        dlg.path_edit.setText(name)
        dlg.setResult(dlg.DialogCode.Rejected)
        monkeypatch.setattr(dlg, "confirm_replace", lambda p: True)
        dlg.accept()
        assert len(asked) == 1 and dlg.result() == dlg.DialogCode.Accepted, name
    # A JSON file Studio did not write (or cannot read) is never replaced: the dialog stays.
    for name, text in (("notes.png", '{"my": "notes"}'), ("odd.jpg", "not json {")):
        (tmp_path / f"{Path(name).stem}.json").write_text(text)
        dlg.path_edit.setText(name)
        dlg.setResult(dlg.DialogCode.Rejected)
        dlg.accept()
        assert dlg.result() == dlg.DialogCode.Rejected, name
        assert "not a record DRCNet Studio wrote" in boxes[-1][1]
        assert (tmp_path / f"{Path(name).stem}.json").read_text() == text


def test_exports_keep_the_colour_profile_and_camera_record(make_window, tmp_path, picture,
                                                           open_settled, qtbot) -> None:  # noqa: ANN001
    from drcnet.imageio import write_image

    icc = b"\x00\x00\x02\x00" + b"x" * 12 + b"RGB " + b"y" * 492
    exif = b"II*\x00" + (8).to_bytes(4, "little") + bytes(6)
    src = tmp_path / "tagged.png"
    write_image(src, read_image(picture(tmp_path / "p.png")).rgb, icc=icc, exif=exif,
                dpi=(300, 300), text={"Author": "Jane"})
    w = make_window()
    open_settled(w, src)
    out = tmp_path / "out"
    out.mkdir()
    image = read_image(export(qtbot, w, "image", out / "r.jpg"))
    assert image.icc == icc and image.exif == exif
    assert image.dpi == (300, 300)  # print resolution too (it had been dropped)
    bare = read_image(export(qtbot, w, "image", out / "bare.png", exif=False))
    assert bare.icc == icc and bare.exif is None  # the camera record only when asked
    assert bare.png_text["Author"] == "Jane"
    side = read_image(export(qtbot, w, "side", out / "s.png"))
    assert side.icc == icc and side.exif is None  # a composite is not the camera's photo
    assert side.dpi is not None and round(side.dpi[0]) == 300 and "Author" not in side.png_text
    assert read_image(export(qtbot, w, "sheet", out / "m.png")).icc is None  # a figure


def test_the_export_dialog_opens_with_the_last_layout_and_format(make_window, image_path,
                                                                open_settled, monkeypatch,
                                                                tmp_path) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QDialog

    from app.export_dialog import ExportDialog as Dialog

    w = make_window()
    open_settled(w, image_path)
    seen: list[tuple[str, str, str]] = []
    asked: list[object] = []

    def answer(self) -> int:  # noqa: ANN001
        seen.append((self.layout_key(), str(self.format_combo.currentData()),
                     self.path().suffix))
        if not seen[1:]:  # the first time: side by side, as JPEG, into tmp_path
            self.set_layout_key("side")
            self.format_combo.setCurrentIndex(self.format_combo.findData("jpeg"))
            self.path_edit.setText(str(tmp_path / "x.jpg"))
            return QDialog.DialogCode.Accepted
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(Dialog, "exec", answer)
    monkeypatch.setattr(w, "export", lambda request: asked.append(request))
    w.export_dialog()
    w.export_dialog()
    assert seen[0][:2] == ("image", "png") and asked
    assert seen[1] == ("side", "jpeg", ".jpg")
    w.image = replace(w.image, bit_depth=16)  # JPEG would lose what this one has
    w.export_dialog()
    assert seen[2][:2] == ("side", "png")


def test_a_jpeg_export_is_written_at_the_quality_chosen(make_window, image_path, open_settled,
                                                       tmp_path, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    low = export(qtbot, w, "image", tmp_path / "low.jpg", sidecar=False, jpeg_quality=20)
    high = export(qtbot, w, "image", tmp_path / "high.jpg", sidecar=False, jpeg_quality=98)
    assert low.stat().st_size < high.stat().st_size * 0.6
    dlg = ExportDialog(tmp_path, "x", "denoise", 0.5, 8)
    qtbot.addWidget(dlg)
    assert not dlg.quality_spin.isEnabled()  # PNG: no quality to choose
    dlg.format_combo.setCurrentIndex(dlg.format_combo.findData("jpeg"))
    assert dlg.quality_spin.isEnabled() and dlg.request().jpeg_quality == 95


def test_an_export_that_waited_says_the_settings_changed_meanwhile(
        make_window, tmp_path, picture, open_settled, qtbot) -> None:  # noqa: ANN001
    path = picture(tmp_path / "p.png", 160, 120)
    w = make_window()
    w.controls.set_run(64, 32, False)  # no full-resolution restore until asked for
    open_settled(w, path)
    assert w.full is None or not w._full_current()
    with qtbot.waitSignal(w.exported, timeout=30000):
        w.export(ExportRequest("image", tmp_path / "out.png"))  # waits for the restore
        w.controls.t_spin.setValue(0.6)  # changed while it waits
        w.start_full_restore()
    said = w.statusBar().currentMessage()
    assert "made with the settings as they are now (t 0.60" in said
    assert "they changed while it waited" in said
    with qtbot.waitSignal(w.exported, timeout=30000):
        w.export(ExportRequest("image", tmp_path / "again.png"))  # nothing changed: no note
    assert "changed while it waited" not in w.statusBar().currentMessage()


def test_a_comparison_export_says_what_its_format_cannot_keep(make_window, tmp_path,
                                                              open_settled, qtbot) -> None:  # noqa: ANN001
    deep = tmp_path / "deep.png"
    write_image(deep, np.linspace(0, 1, 96 * 72 * 3, dtype=np.float32).reshape(72, 96, 3),
                bit_depth=16)
    w = make_window()
    open_settled(w, deep)
    export(qtbot, w, "side", tmp_path / "side.jpg", sidecar=False)
    assert "keeps no 16-bit depth" in w.statusBar().currentMessage()


def test_typing_a_webp_or_bmp_name_picks_that_format(qtbot, tmp_path) -> None:  # noqa: ANN001
    dlg = ExportDialog(tmp_path, "x", "denoise", 0.5, 8)
    qtbot.addWidget(dlg)
    for name, fmt in (("t.webp", "webp"), ("t.bmp", "bmp"), ("t.jpg", "jpeg")):
        dlg.path_edit.setText(name)
        dlg.path_edit.textEdited.emit(name)
        assert dlg.format_combo.currentData() == fmt, name


def test_the_dialogs_open_wide_enough_for_a_large_font(qtbot, tmp_path, large_font) -> None:  # noqa: ANN001
    """A fixed minimum width (520 px) switched the layout's own off: at 14 pt the Export
    dialog opened 50 px narrower than it needs, its EXIF box cut and the note over it."""
    from app.export_dialog import ExportDialog

    dlg = ExportDialog(tmp_path, "rain", "derain", 0.4, 8)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    assert dlg.width() >= dlg.layout().totalMinimumSize().width()
    assert dlg.exif_check.width() >= dlg.exif_check.sizeHint().width()
    assert dlg.quality_spin.accessibleName() == "JPEG quality"  # not "quality 95"


def test_a_name_in_a_format_studio_does_not_write_is_refused(qtbot, tmp_path, boxes) -> None:  # noqa: ANN001
    """"x.gif" was written as x.gif.png without a word; "shot.v2" still gets the format's."""
    from app.export_dialog import ExportDialog

    dlg = ExportDialog(tmp_path, "rain", "derain", 0.4, 8)
    qtbot.addWidget(dlg)
    dlg.path_edit.setText("x.gif")
    dlg.accept()
    assert boxes and boxes[-1][1].startswith("GIF is not a format Studio writes")
    assert dlg.result() != dlg.DialogCode.Accepted
    dlg.path_edit.setText("shot.v2")
    assert dlg.path().name == "shot.v2.png"


def test_choosing_a_format_after_a_gif_name_replaces_its_extension(qtbot, tmp_path) -> None:  # noqa: ANN001
    """Refused, "x.gif" then became x.gif.jpg when the user chose JPEG as the box said."""
    from app.export_dialog import ExportDialog

    dlg = ExportDialog(tmp_path, "rain", "derain", 0.4, 8)
    qtbot.addWidget(dlg)
    dlg.path_edit.setText("x.gif")
    dlg._on_typed("x.gif")
    dlg.format_combo.setCurrentIndex(dlg.format_combo.findData("jpeg"))
    assert Path(dlg.path_edit.text()).name == "x.jpg"


def test_export_maps_writes_the_preview_s_maps_even_with_the_panel_hidden(
        make_window, image_path, open_settled, tmp_path, qtbot, monkeypatch) -> None:  # noqa: ANN001
    """File ▸ Export Maps: the maps are computed for it when the Maps panel is not in front
    (they are computed only for the panel or an overlay otherwise)."""
    from PySide6.QtWidgets import QFileDialog

    w = make_window()
    w.maps_dock.hide()
    open_settled(w, image_path)
    assert w.preview is not None and not w.preview.analysis.maps  # not computed for no one
    out = tmp_path / "m"  # typed without its extension: .npz added
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(out), "")))
    w.export_maps_action.trigger()
    qtbot.waitUntil(lambda: w.is_settled() and out.with_suffix(".npz").is_file(),
                    timeout=30000)
    with np.load(out.with_suffix(".npz")) as d:
        record = json.loads(str(d["parameters"]))
        assert record["blocks"] == list(w.info.block_names)
        assert record["t"] == w.knobs().t and record["input"] == image_path.name
        h, w_ = w.preview.analysis.restored.shape[:2]
        assert record["maps_from"] == f"{w_}x{h} preview of {image_path.name}"
        m = d[f"{record['blocks'][-1]}.self_aware"]
        assert np.array_equal(d[f"{record['blocks'][-1]}.mask"],
                              (m >= record["t"]).astype(np.float32))
    assert "Exported the maps of" in w.statusBar().currentMessage()
    assert record["tile"] == 0 and record["ensemble"] == 1  # one pass over the preview


def test_export_maps_is_dropped_when_the_preview_it_waits_for_fails(
        make_window, image_path, open_settled, tmp_path, qtbot, monkeypatch, boxes) -> None:  # noqa: ANN001
    """It had stayed armed, keeping the window unsettled, and been written by a later
    preview, with other knobs, unasked."""
    from PySide6.QtWidgets import QFileDialog

    import app.workers
    from drcnet.errors import DRCNetError

    w = make_window()
    w.maps_dock.hide()
    open_settled(w, image_path)
    out = tmp_path / "m.npz"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(out), "")))

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise DRCNetError("the preview broke")

    real = app.workers.analyse
    monkeypatch.setattr(app.workers, "analyse", broken)
    w.export_maps_action.trigger()
    qtbot.waitUntil(w.is_settled, timeout=30000)
    assert w._maps_export is None and boxes and "the preview broke" in boxes[-1][1]
    monkeypatch.setattr(app.workers, "analyse", real)  # previews work again: nothing is
    # written unasked
    w.controls.t_slider.setValue(60)
    qtbot.waitUntil(w.is_settled, timeout=30000)
    assert not out.exists()


def test_a_sheet_waiting_for_a_failed_preview_is_dropped_and_the_rest_go_on(
        make_window, image_path, open_settled, tmp_path, qtbot, monkeypatch, boxes) -> None:  # noqa: ANN001
    """It had waited for ever for maps that would not come, holding the exports behind it
    and keeping the window unsettled."""
    import app.workers
    from drcnet.errors import DRCNetError

    w = make_window()
    open_settled(w, image_path)

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise DRCNetError("the preview broke")

    monkeypatch.setattr(app.workers, "analyse", broken)
    w.controls.t_slider.setValue(60)  # the maps it needs are for new knobs
    w.export(ExportRequest("sheet", tmp_path / "sheet.png"))
    w.export(ExportRequest("image", tmp_path / "after.png"))
    qtbot.waitUntil(lambda: w.is_settled() and not w._exports and not w._exporting,
                    timeout=60000)
    assert boxes and "the preview broke" in boxes[-1][1] and "sheet.png" in boxes[-1][1]
    assert not (tmp_path / "sheet.png").exists()
    assert (tmp_path / "after.png").is_file()  # the export behind it was written


def test_the_restore_s_progress_says_the_export_waiting_for_it(
        make_window, tmp_path, picture, open_settled) -> None:  # noqa: ANN001
    """Its own notice had gone after 4 s, and Cancel then dropped it with no word before."""
    from app.main_window import CANCEL_TIP

    w = make_window()
    w.controls.set_run(256, 128, False)
    open_settled(w, picture(tmp_path / "big.png", 300, 200))
    w.export(ExportRequest("image", tmp_path / "o.png"))
    job = w._restore_job
    assert job is not None
    w._notice = ("", 0.0)  # the export's notice has had its time
    w._on_progress(job.serial, 1, 6, "tile 1/6, 5 s left")
    assert w.statusBar().currentMessage() == ("Restoring at full resolution: tile 1/6, 5 s left"
                                              " · then export of o.png")
    assert w.cancel_button.toolTip().endswith("; the waiting export of o.png is cancelled too")
    w._drop_export()
    w.cancel_restore(quiet=True)
    w.start_full_restore()  # the next restore's Cancel names nothing (it had kept o.png)
    assert w.cancel_button.toolTip() == CANCEL_TIP
    w.cancel_restore(quiet=True)


def test_cancel_s_tooltip_names_a_copy_as_soon_as_it_waits(
        make_window, tmp_path, picture, open_settled) -> None:  # noqa: ANN001
    """Copy asked for while a restore runs: Cancel, which drops the copy too, said so only
    from the restore's next tile (a restore in one slow tile never said it)."""
    from app.main_window import CANCEL_TIP

    w = make_window()
    w.controls.set_run(256, 128, False)
    open_settled(w, picture(tmp_path / "big.png", 300, 200))
    w.start_full_restore()
    assert w._restore_job is not None and w.cancel_button.toolTip() == CANCEL_TIP
    w.copy_result()  # no tick of the restore in between: nothing else refreshes the tip
    assert w._copy_waiting
    assert w.cancel_button.toolTip() == CANCEL_TIP + "; the waiting copy is cancelled too"
    w._drop_export()
    assert w.cancel_button.toolTip() == CANCEL_TIP
    w.cancel_restore(quiet=True)


def test_cancel_s_tooltip_forgets_a_sheet_dropped_by_a_failed_preview(
        make_window, tmp_path, picture, open_settled, boxes) -> None:  # noqa: ANN001
    """The sheet at the head of the queue is dropped when the preview whose maps it needs
    fails; Cancel had gone on naming it until the restore's next tile."""
    from app.main_window import CANCEL_TIP

    w = make_window()
    w.controls.set_run(256, 128, False)
    open_settled(w, picture(tmp_path / "big.png", 300, 200))
    w.export(ExportRequest("sheet", tmp_path / "sheet.png"))
    assert w._restore_job is not None  # the sheet waits for it
    assert w.cancel_button.toolTip().endswith("; the waiting export of sheet.png is "
                                              "cancelled too")
    # The failure as the worker sends it, between two of the restore's ticks.
    w._on_preview_failed(w._preview_serial, "the preview broke")
    assert not w._exports and boxes and "sheet.png" in boxes[-1][1]
    assert w._restore_job is not None and w.cancel_button.toolTip() == CANCEL_TIP
    w.cancel_restore(quiet=True)

"""File ▸ Restore Files: many images with the current model and settings, progress, cancel."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel

import drcnet.inference
from app.export_dialog import ExportRequest
from drcnet.imageio import read_image, read_png_text
from drcnet.inference import restore_tiled, run


def added(dlg, qtbot, paths) -> bool:  # noqa: ANN001
    """``dlg.add_inputs(paths)``, waiting until any folder is listed (in the background)."""
    ok = dlg.add_inputs(paths)
    qtbot.waitUntil(lambda: not dlg.scanning(), timeout=10000)
    return ok


def gated_window(make_window, image_path, open_settled, make_gate, monkeypatch):  # noqa: ANN001, ANN201
    """A window with ``image_path`` open, small tiles, no refine, and the model's forward
    passes held by a gate (returned with it) until released."""
    w = make_window()
    w.controls.set_run(256, 32, True)
    w.controls.refine_check.setChecked(False)
    open_settled(w, image_path)
    gate = make_gate(drcnet.inference.forward_batch)
    monkeypatch.setattr(drcnet.inference, "forward_batch", gate)
    return w, gate


def shown_dialog(make_window, qtbot, paths):  # noqa: ANN001, ANN201
    """A shown Restore Files dialog over a new window's loaded model, ``paths`` added."""
    w = make_window()
    qtbot.waitUntil(lambda: w.info is not None, timeout=30000)
    dlg = w.make_batch_dialog()
    dlg.show()
    assert added(dlg, qtbot, paths)
    return dlg


def test_restore_files_writes_each_image_with_the_window_s_settings(
        make_window, image_path, open_settled, picture, tmp_path, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    w.controls.t_slider.setValue(60)
    qtbot.waitUntil(w.is_settled, timeout=30000)
    folder = tmp_path / "shots"
    folder.mkdir()
    for i in range(2):
        picture(folder / f"s{i}.png", 80, 60)
    dlg = w.make_batch_dialog()
    assert dlg is not None and "t\u00a00.60" in dlg.findChild(QLabel, "hint").text()
    assert not dlg.start_button.isEnabled()  # nothing to restore yet
    assert added(dlg, qtbot, [folder])
    assert dlg.output_edit.text() == str(folder / "restored")
    finished: list[bool] = []
    # (Run on the worker's thread, so the dialog's own handler may come after: each wait
    # below is for both.)
    w.engine.worker.batchFinished.connect(lambda s, r, c: finished.append(c))
    assert dlg.start()
    assert not dlg.add_files_button.isEnabled() and dlg.close_button.text() == "Cancel"
    assert not dlg.browse_button.isEnabled()  # it had changed the folder Open Output opens
    qtbot.waitUntil(lambda: bool(finished) and not dlg.running(), timeout=30000)
    assert finished == [False] and not dlg.running()
    assert dlg.status.text() == "Done: 2 of 2 restored"
    assert not dlg.open_folder_button.isHidden() and dlg.close_button.text() == "Close"
    assert "s0.png → " in dlg.log.toPlainText()
    # Enter after the run closes; it does not restore everything again over the log.
    assert dlg.close_button.isDefault() and not dlg.start_button.isDefault()
    dlg.existing_combo.setCurrentIndex(1 - dlg.existing_combo.currentIndex())
    assert dlg.start_button.isDefault()  # a changed option: Restore is the next step again
    dlg.existing_combo.setCurrentIndex(1 - dlg.existing_combo.currentIndex())
    model = w.engine.worker._model
    assert dlg.knobs.t == 0.60
    model.configure(t=dlg.knobs.t, delta=dlg.knobs.delta, ea=dlg.knobs.ea)  # worker idle
    expected = run(restore_tiled(model, read_image(folder / "s1.png").rgb, dlg.tiles))
    got = read_image(folder / "restored" / "s1.png").rgb
    assert np.abs(got - expected).max() <= 1 / 255 + 1e-6
    meta = read_png_text(folder / "restored" / "s1.png")
    assert meta["drcnet.t"] == "0.6" and meta["drcnet.input"] == "s1.png"
    assert meta["drcnet.weights_sha256"] == w.info.sha256
    # Run again (say, after new knobs) with "Keep it": every output exists, so nothing would
    # be restored; it says so instead of a run that skips them all.
    assert not dlg.existing_combo.currentData()
    assert not dlg.start() and "All 2 outputs exist" in dlg.status.text()
    dlg.existing_combo.setCurrentIndex(dlg.existing_combo.findData(True))
    assert dlg.start()
    qtbot.waitUntil(lambda: len(finished) == 2 and not dlg.running(), timeout=30000)
    dlg.done(0)


def test_the_running_dialog_grows_so_nothing_overlaps(make_window, tmp_path, picture,
                                                     qtbot) -> None:  # noqa: ANN001
    """The progress bar and log appear on a shown dialog; the list's buttons were drawn
    over the list (offscreen, 620×467 kept)."""
    for i in range(12):
        picture(tmp_path / f"p{i}.png", 40, 30, seed=i)
    dlg = shown_dialog(make_window, qtbot, [tmp_path])
    assert dlg.start()
    qtbot.waitUntil(lambda: not dlg.running(), timeout=60000)
    assert dlg.add_files_button.geometry().top() > dlg.file_list.geometry().bottom()
    assert dlg.log.height() >= dlg.log.minimumHeight() >= 100
    dlg.done(0)


def test_restore_files_refuses_to_write_over_the_inputs(make_window, image_path, open_settled,
                                                        qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    dlg = w.make_batch_dialog()
    assert added(dlg, qtbot, [image_path])
    dlg.output_edit.setText(str(image_path.parent))
    assert not dlg.start() and not dlg.running()
    assert "holds the images to restore" in dlg.status.text()
    assert not added(dlg, qtbot, [image_path.parent / "nowhere"])  # neither file nor folder...
    notes = image_path.parent / "notes.png"
    notes.write_text("not a picture")  # refused when added, as File > Open refuses it
    assert not added(dlg, qtbot, [notes])
    assert "notes.png is not an image that can be decoded" in dlg.status.text()
    assert dlg.file_list.count() == 1
    raw = image_path.parent / "DSC_0001.NEF"  # a camera's RAW file starts as a TIFF does
    raw.write_bytes(b"II*\x00" + bytes(12))  # (OpenCV would give its thumbnail)
    assert not added(dlg, qtbot, [raw])
    assert "DSC_0001.NEF is a camera's RAW file" in dlg.status.text()
    assert dlg.file_list.count() == 1
    big = image_path.parent / "big.tif"  # a BigTIFF header, which File > Open reads
    big.write_bytes(b"II+\x00" + bytes(12))
    assert added(dlg, qtbot, [big])  # taken as an image when added
    # then decoded in the background: a header alone is taken off again, saying why
    qtbot.waitUntil(lambda: "Left out big.tif, as it is not an image" in dlg.status.text(),
                    timeout=10000)
    assert dlg.file_list.count() == 1
    dlg.done(0)


def test_cancel_stops_the_batch_and_keeps_what_was_done(make_window, image_path, open_settled,
                                                       picture, tmp_path, make_gate, qtbot,
                                                       monkeypatch) -> None:  # noqa: ANN001
    w = make_window()
    w.controls.set_run(256, 32, True)
    open_settled(w, image_path)
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(3):
        picture(folder / f"m{i}.png", 90, 70)
    gate = make_gate(drcnet.inference.forward_batch)
    monkeypatch.setattr(drcnet.inference, "forward_batch", gate)
    dlg = w.make_batch_dialog()
    added(dlg, qtbot, [folder])
    finished: list[bool] = []
    w.engine.worker.batchFinished.connect(lambda s, r, c: finished.append(c))
    assert dlg.start()
    qtbot.waitUntil(gate.entered.is_set)
    dlg.reject()  # Cancel while running: the dialog stays until the batch stops
    assert dlg.running() and not dlg.close_button.isEnabled()
    gate.release()
    qtbot.waitUntil(lambda: bool(finished) and not dlg.running(), timeout=30000)
    assert finished == [True]
    assert dlg.status.text() == "Cancelled: 0 of 3 restored, 3 cancelled"
    assert dlg.progress.format() == "stopped · 0 of 3 done"  # not the file it was on
    assert not (folder / "restored").exists() or not any((folder / "restored").iterdir())
    assert gate.calls == 1
    dlg.done(0)


def test_without_a_model_restore_files_says_why(qtbot, empty_weights_dir, boxes) -> None:  # noqa: ANN001
    from app.main_window import MainWindow

    w = MainWindow(task="deblur", device="cpu")
    qtbot.addWidget(w)
    try:
        qtbot.waitUntil(lambda: w.model_missing, timeout=30000)
        assert w.make_batch_dialog() is None
        assert boxes and "No trained deblur weights" in boxes[-1][1]
    finally:
        w.shutdown()


def test_a_batch_waiting_behind_a_restore_cancels_at_once(make_window, image_path, open_settled,
                                                          picture, tmp_path, make_gate, qtbot,
                                                          monkeypatch) -> None:  # noqa: ANN001
    w, gate = gated_window(make_window, image_path, open_settled, make_gate, monkeypatch)
    w.export(ExportRequest("image", tmp_path / "o.png"))  # holds the model thread; an
    qtbot.waitUntil(gate.entered.is_set)  # export waits for it, so the batch waits too
    dlg = w.make_batch_dialog()
    added(dlg, qtbot, [picture(tmp_path / "one.png", 80, 60)])
    assert dlg.start()
    assert dlg.status.text() == ("Waiting for the window's full-resolution restore to "
                                 "finish (export of o.png waiting for it)…")
    dlg.reject()  # the waiting batch is dropped at once
    assert not dlg.running() and dlg.close_button.isEnabled()
    assert dlg.status.text() == "Cancelled: nothing restored"
    gate.release()
    qtbot.waitUntil(w.is_settled, timeout=30000)
    assert not (tmp_path / "restored" / "one.png").exists()
    assert (tmp_path / "o.png").is_file()
    dlg.done(0)


def test_a_batch_pauses_a_restore_the_window_started_by_itself(
        make_window, image_path, open_settled, picture, tmp_path, make_gate, qtbot,
        monkeypatch) -> None:  # noqa: ANN001
    """A 6000×4000 photo's refine had held a one-image run for 136 s, the modal dialog
    hiding the window's Cancel. Paused, it runs again once the batch is done."""
    w, gate = gated_window(make_window, image_path, open_settled, make_gate, monkeypatch)
    w.start_full_restore()  # holds the model thread
    qtbot.waitUntil(gate.entered.is_set)
    dlg = w.make_batch_dialog()
    added(dlg, qtbot, [picture(tmp_path / "one.png", 80, 60)])
    finished: list[bool] = []
    w.engine.worker.batchFinished.connect(lambda s, r, c: finished.append(c))
    assert dlg.start()
    assert dlg.status.text() == ("Restoring 1 image… (the window's full-resolution restore "
                                 "stops, and starts again when this run ends)")
    assert w._restore_job is None
    gate.release()
    qtbot.waitUntil(lambda: bool(finished) and not dlg.running(), timeout=30000)
    assert finished == [False] and (tmp_path / "restored" / "one.png").is_file()
    qtbot.waitUntil(lambda: w.is_settled() and w._full_current(), timeout=30000)
    dlg.done(0)


def test_restore_files_says_an_unwritable_folder_before_the_run(
        make_window, image_path, open_settled, picture, tmp_path, qtbot, monkeypatch) -> None:  # noqa: ANN001
    """A run had restored every image and then failed to write each one."""
    import app.batch_dialog

    w = make_window()
    open_settled(w, image_path)
    dlg = w.make_batch_dialog()
    added(dlg, qtbot, [picture(tmp_path / "one.png", 80, 60)])
    monkeypatch.setattr(app.batch_dialog, "folder_write_problem",
                        lambda folder: "Operation not permitted")
    assert not dlg.start() and not dlg.running()
    assert dlg.status.text() == (f"Nothing can be written into {tmp_path / 'restored'} "
                                 "(Operation not permitted); choose another folder.")
    dlg.done(0)


def test_a_start_refused_after_a_run_does_not_show_that_run_s_results(
        make_window, picture, tmp_path, qtbot, monkeypatch) -> None:  # noqa: ANN001
    """The last run's log, full progress bar and Open Output Folder had stayed under the
    refusal, read as this attempt's results; a new run's bar had said the last run's
    "2 of 2" until its first file."""
    import app.batch_dialog

    for i in range(2):
        picture(tmp_path / f"p{i}.png", 40, 30, seed=i)
    dlg = shown_dialog(make_window, qtbot, [tmp_path / "p0.png", tmp_path / "p1.png"])
    assert dlg.start()
    qtbot.waitUntil(lambda: not dlg.running(), timeout=30000)
    assert "p0.png → " in dlg.log.toPlainText() and dlg.progress.isVisible()
    assert dlg.open_folder_button.isVisible() and dlg.results is not None
    dlg.output_edit.setText(str(tmp_path / "locked"))
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url.toLocalFile())))
    dlg.open_folder_button.click()  # the run's folder, not the one typed since
    assert opened == [str(tmp_path / "restored")]
    monkeypatch.setattr(app.batch_dialog, "folder_write_problem",
                        lambda folder: "Permission denied")
    assert not dlg.start()
    assert dlg.status.text().startswith(f"Nothing can be written into {tmp_path / 'locked'}")
    assert not dlg.log.isVisible() and not dlg.log.toPlainText()
    assert not dlg.progress.isVisible() and not dlg.open_folder_button.isVisible()
    assert dlg.results is None
    monkeypatch.undo()
    dlg.output_edit.setText(str(tmp_path / "restored"))
    assert not dlg.start() and "All 2 outputs exist" in dlg.status.text()  # also refused
    assert not dlg.log.isVisible() and not dlg.progress.isVisible()
    dlg.existing_combo.setCurrentIndex(dlg.existing_combo.findData(True))
    assert dlg.start()
    assert dlg.progress.isVisible() and dlg.log.isVisible()
    assert "2 of 2" not in dlg.progress.text()  # before this run's first file
    qtbot.waitUntil(lambda: not dlg.running(), timeout=30000)
    assert dlg.status.text() == "Done: 2 of 2 restored" and "p1.png → " in dlg.log.toPlainText()
    dlg.done(0)


def test_the_camera_record_is_kept_unless_unticked(make_window, image_path, open_settled,
                                                   tmp_path, qtbot) -> None:  # noqa: ANN001
    from drcnet.imageio import write_image

    w = make_window()
    open_settled(w, image_path)
    exif = b"II*\x00" + (8).to_bytes(4, "little") + bytes(6)
    folder = tmp_path / "cam"
    folder.mkdir()
    write_image(folder / "c.jpg", read_image(image_path).rgb, exif=exif)
    finished: list[bool] = []
    w.engine.worker.batchFinished.connect(lambda s, r, c: finished.append(c))
    for keep in (True, False):
        dlg = w.make_batch_dialog()
        assert dlg.exif_check.isChecked()  # the default, and what the first run kept
        dlg.exif_check.setChecked(keep)
        added(dlg, qtbot, [folder])
        dlg.existing_combo.setCurrentIndex(dlg.existing_combo.findData(True))  # replace
        assert dlg.start()
        qtbot.waitUntil(lambda n=len(finished), d=dlg: len(finished) > n and not d.running(),
                        timeout=30000)
        assert read_image(folder / "restored" / "c.jpg").exif == (exif if keep else None)
        dlg.done(0)
    assert not w.make_batch_dialog().exif_check.isChecked()  # remembered


def test_dropping_several_images_or_a_folder_opens_restore_files(
        make_window, image_path, open_settled, picture, tmp_path, qtbot,
        monkeypatch) -> None:  # noqa: ANN001
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    from app.batch_dialog import BatchDialog

    w = make_window()
    open_settled(w, image_path)
    shown: list[list[str]] = []
    def shown_list(self) -> int:  # noqa: ANN001
        qtbot.waitUntil(lambda: not self.scanning(), timeout=10000)  # a folder is listed
        shown.append([self.file_list.item(i).text() for i in range(self.file_list.count())])
        return 0

    monkeypatch.setattr(BatchDialog, "exec", shown_list)
    folder = tmp_path / "drop"
    folder.mkdir()
    a, b = picture(folder / "a.png", 40, 30), picture(folder / "b.png", 40, 30)

    def drop(*paths) -> None:  # noqa: ANN002
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
        w.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                               Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))

    drop(a, b)
    qtbot.waitUntil(lambda: len(shown) == 1)
    assert shown[0] == [str(a), str(b)]
    drop(folder)
    qtbot.waitUntil(lambda: len(shown) == 2)
    assert shown[1] == [str(a), str(b)]
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    drop(a, notes)  # what is not an image is left out, and said
    qtbot.waitUntil(lambda: len(shown) == 3)
    assert shown[2] == [str(a)] and "Left out 1 dropped file" in w.statusBar().currentMessage()
    gif = folder / "anim.gif"  # read, not written, by Studio: taken as `drcnet restore` does
    assert cv2.imwrite(str(gif), np.zeros((30, 40, 3), np.uint8))
    drop(a, gif)
    qtbot.waitUntil(lambda: len(shown) == 4)
    assert shown[3] == [str(a), str(gif)]
    assert w.image.path == image_path  # the open photo stays


def test_a_folder_s_files_that_cannot_be_decoded_are_left_out_when_added(
        make_window, picture, tmp_path, qtbot) -> None:  # noqa: ANN001
    """As a named file is refused when added, a folder's misnamed or empty files are left
    out and named, not found failing once the run reaches them."""
    w = make_window()
    qtbot.waitUntil(lambda: w.info is not None, timeout=30000)
    folder = tmp_path / "shots"
    folder.mkdir()
    picture(folder / "a.png", 40, 30)
    (folder / "notes.png").write_text("not a picture")
    (folder / "empty.jpg").write_bytes(b"")
    dlg = w.make_batch_dialog()
    assert added(dlg, qtbot, [folder])
    assert [dlg.file_list.item(i).text() for i in range(dlg.file_list.count())] == [
        str(folder / "a.png")]
    assert dlg.status.text() == ("1 image to restore; left out 2 files that are not images "
                                 "that can be decoded: empty.jpg, notes.png")
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "x.png").write_text("nope")
    assert added(dlg, qtbot, [junk])  # a folder: said once it is listed
    assert dlg.status.text() == f"No image that can be decoded in {junk}"
    assert dlg.file_list.count() == 1
    dlg.done(0)


def test_the_images_own_folder_is_refused_as_the_output_and_delete_removes_entries(
        make_window, picture, tmp_path, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt

    w = make_window()
    qtbot.waitUntil(lambda: w.info is not None, timeout=30000)
    folder = tmp_path / "shots"
    folder.mkdir()
    for i in range(3):
        picture(folder / f"s{i}.png", 40, 30, seed=i)
    dlg = w.make_batch_dialog()
    assert "device\u00a0cpu" in dlg.findChild(QLabel, "hint").text()  # kept on one line
    assert dlg.file_list.accessibleName() == "Images to restore"  # had none
    assert added(dlg, qtbot, [folder])
    dlg.output_edit.setText(str(folder))
    assert not dlg.start()
    assert dlg.status.text().startswith(f"{folder} holds the images to restore")
    dlg.show()
    dlg.activateWindow()
    qtbot.waitUntil(dlg.isActiveWindow, timeout=5000)
    dlg.file_list.setFocus()
    qtbot.waitUntil(dlg.file_list.hasFocus, timeout=5000)
    dlg.file_list.setCurrentRow(1)
    qtbot.keyClick(dlg.file_list, Qt.Key.Key_Delete)
    assert [dlg.file_list.item(i).text() for i in range(dlg.file_list.count())] == [
        str(folder / "s0.png"), str(folder / "s2.png")]
    assert dlg._inputs == [folder / "s0.png", folder / "s2.png"]
    assert dlg.status.text() == "2 images to restore"
    dlg.done(0)


def test_a_folder_is_listed_in_the_background(make_window, picture, tmp_path, make_gate,
                                              qtbot, monkeypatch) -> None:  # noqa: ANN001
    """Listing a folder and reading each file's first bytes ran on the GUI thread: a network
    share with thousands of files froze the window. Now the list grows when it is done."""
    import app.batch_dialog

    w = make_window()
    qtbot.waitUntil(lambda: w.info is not None, timeout=30000)
    folder = tmp_path / "share"
    folder.mkdir()
    picture(folder / "a.png", 40, 30)
    gate = make_gate(app.batch_dialog.expand_inputs)
    monkeypatch.setattr(app.batch_dialog, "expand_inputs", gate)
    dlg = w.make_batch_dialog()
    assert dlg.add_inputs([folder])  # returns while the listing waits at the gate
    qtbot.waitUntil(gate.entered.is_set)
    assert dlg.scanning() and dlg.status.text() == "Looking for images in share…"
    assert not dlg.start_button.isEnabled() and not dlg.start()
    gate.release()
    qtbot.waitUntil(lambda: not dlg.scanning(), timeout=10000)
    assert dlg.file_list.count() == 1 and dlg.start_button.isEnabled()
    # Cleared while a listing runs: it is not added after all.
    gate2 = make_gate(app.batch_dialog.expand_inputs.fn)
    monkeypatch.setattr(app.batch_dialog, "expand_inputs", gate2)
    assert dlg.add_inputs([folder])
    qtbot.waitUntil(gate2.entered.is_set)
    dlg.clear_inputs()
    assert not dlg.scanning()
    gate2.release()
    qtbot.waitUntil(lambda: w.jobs.pending() == 0, timeout=10000)
    assert dlg.file_list.count() == 0
    # Closed while a listing runs: it reports to no one (the dialog is deleted after exec).
    gate3 = make_gate(gate2.fn)
    monkeypatch.setattr(app.batch_dialog, "expand_inputs", gate3)
    assert dlg.add_inputs([folder])
    qtbot.waitUntil(gate3.entered.is_set)
    dlg.done(0)
    gate3.release()
    qtbot.waitUntil(lambda: w.jobs.pending() == 0, timeout=10000)
    assert dlg.file_list.count() == 0 and dlg.scanning()  # untouched since the close


def test_restore_files_tiles_a_file_a_whole_pass_would_not_fit(make_window, image_path,
                                                               open_settled, picture, tmp_path,
                                                               qtbot, monkeypatch) -> None:  # noqa: ANN001
    """Tile "whole image" was decided from the open image: a larger file in the batch failed
    ("restore it in tiles"), with no tile to change in the dialog."""
    import drcnet.inference

    w = make_window()
    w.controls.set_run(256, 0, True)
    open_settled(w, image_path)  # 96×72: fits
    monkeypatch.setattr(drcnet.inference, "available_memory", lambda: 100 * 2**20)
    folder = tmp_path / "big"
    folder.mkdir()
    picture(folder / "b.png", 400, 300)  # 0.12 MP: about 160 MB in one pass
    dlg = w.make_batch_dialog()
    assert added(dlg, qtbot, [folder])
    finished: list[bool] = []
    w.engine.worker.batchFinished.connect(lambda s, r, c: finished.append(c))
    assert dlg.start()
    qtbot.waitUntil(lambda: bool(finished) and not dlg.running(), timeout=30000)
    assert dlg.status.text() == "Done: 1 of 1 restored"
    assert "so it was restored in 256-px tiles" in dlg.log.toPlainText()
    dlg.done(0)


def test_the_suggested_output_is_never_inside_the_bundled_samples(
        make_window, monkeypatch, tmp_path, qtbot) -> None:  # noqa: ANN001
    """Adding a bundled sample (or a pasted image) had suggested ``samples/restored``: inside
    the installed package, perhaps read-only, and no place for a user's results. The output
    goes where the window's dialogs start instead (the last photo's folder, Pictures, home)."""
    from app.main import SAMPLES_DIR

    monkeypatch.setattr("app.main_window.MainWindow.user_folder", lambda self, f=None: tmp_path)
    w = make_window()
    qtbot.waitUntil(lambda: w.info is not None, timeout=30000)
    dlg = w.make_batch_dialog()
    sample = next(p for p in sorted(SAMPLES_DIR.iterdir()) if p.suffix == ".png")
    assert added(dlg, qtbot, [sample])
    assert dlg.output_edit.text() == str(tmp_path / "restored")
    # Through the dialog's own buttons too (they had set the samples' folder as the one
    # to fall back on).
    from PySide6.QtWidgets import QFileDialog

    for button, fake in ((dlg.add_files_button, ("getOpenFileNames", ([str(sample)], ""))),
                         (dlg.add_folder_button, ("getExistingDirectory", str(SAMPLES_DIR)))):
        dlg.clear_inputs()
        dlg.output_edit.clear()
        monkeypatch.setattr(QFileDialog, fake[0], staticmethod(lambda *a, r=fake[1], **k: r))
        button.click()
        qtbot.waitUntil(lambda: not dlg.scanning(), timeout=10000)
        assert dlg.output_edit.text() == str(tmp_path / "restored"), button.text()


def test_the_settings_line_breaks_only_between_settings(make_window, image_path, open_settled,
                                                        qtbot) -> None:  # noqa: ANN001
    """"strength 40 %" had broken as "40" at a line's end and "%" at the next one's start."""
    import re

    w = make_window()
    open_settled(w, image_path)
    w.controls.strength_spin.setValue(40)
    w.controls.ensemble_check.setChecked(True)
    dlg = w.make_batch_dialog()
    said = dlg.findChild(QLabel, "hint").text()
    settings = said.removeprefix("With ").split(". Inputs")[0]
    assert "strength\u00a040\u00a0%" in settings and "best\u00a0quality" in settings
    for part in settings.split(" · "):
        assert " " not in part, part  # each setting unbroken
    assert not re.search(r"\d [%p]", said)  # no number parted from its unit
    dlg.done(0)


def test_an_image_that_does_not_decode_is_taken_off_the_list(make_window, picture, tmp_path,
                                                             qtbot) -> None:  # noqa: ANN001
    """A truncated PNG starts as a PNG does, so it passed the check when added and failed
    only once the run reached it; it is decoded in the background now."""
    w = make_window()
    qtbot.waitUntil(lambda: w.info is not None, timeout=30000)
    folder = tmp_path / "shots"
    folder.mkdir()
    picture(folder / "a.png", 40, 30)
    whole = picture(folder / "b.png", 40, 30, seed=1).read_bytes()
    (folder / "b.png").write_bytes(whole[: len(whole) // 2])  # a download cut short
    (folder / "c.png").write_bytes(b"")
    dlg = w.make_batch_dialog()
    assert added(dlg, qtbot, [folder])
    qtbot.waitUntil(lambda: dlg.file_list.count() == 1, timeout=10000)
    assert dlg._inputs == [folder / "a.png"] and dlg.file_list.item(0).text() == str(
        folder / "a.png")
    assert dlg.status.text() == ("1 image to restore. Left out 2 files that cannot be "
                                 "decoded: c.png, b.png")
    assert "b.png is not an image that can be decoded" in dlg.status.toolTip()
    assert dlg.start_button.isEnabled()
    dlg.clear_inputs()
    assert added(dlg, qtbot, [folder / "b.png"])  # named on its own: the reason is said
    qtbot.waitUntil(lambda: dlg.file_list.count() == 0, timeout=10000)
    assert dlg.status.text().startswith("0 images to restore. Left out b.png, as it is not "
                                        "an image that can be decoded")
    assert not dlg.start_button.isEnabled()
    dlg.done(0)


def test_only_an_image_that_does_not_decode_is_taken_off_the_list(make_window, picture,
                                                                  tmp_path, qtbot,
                                                                  monkeypatch) -> None:  # noqa: ANN001
    """The background check had taken any failure for a file that does not decode: a good
    photo read while memory ran short was taken off the list."""
    from pathlib import Path

    import app.batch_dialog

    checked: list[str] = []

    def short_of_memory(path: Path, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        checked.append(path.name)
        if path.name == "big.png":
            raise MemoryError
        return read_image(path, *args, **kwargs)

    monkeypatch.setattr(app.batch_dialog, "read_image", short_of_memory)
    w = make_window()
    qtbot.waitUntil(lambda: w.info is not None, timeout=30000)
    folder = tmp_path / "shots"
    folder.mkdir()
    for name in ("a.png", "big.png", "c.png"):
        picture(folder / name, 40, 30)
    dlg = w.make_batch_dialog()
    assert added(dlg, qtbot, [folder])
    qtbot.waitUntil(lambda: len(checked) == 3 and not dlg._checking, timeout=10000)
    assert [p.name for p in dlg._inputs] == ["a.png", "big.png", "c.png"]
    dlg.done(0)


def test_a_restore_the_user_cancelled_is_not_started_again_by_a_batch(
        make_window, image_path, open_settled, picture, tmp_path, make_gate, qtbot,
        monkeypatch) -> None:  # noqa: ANN001
    """Stopped for the batch as one nothing waits for, it had come back after the run."""
    w, gate = gated_window(make_window, image_path, open_settled, make_gate, monkeypatch)
    w.start_full_restore()
    qtbot.waitUntil(gate.entered.is_set)
    w.cancel_restore()  # Esc: it ends after its tile
    dlg = w.make_batch_dialog()
    added(dlg, qtbot, [picture(tmp_path / "one.png", 80, 60)])
    finished: list[bool] = []
    w.engine.worker.batchFinished.connect(lambda s, r, c: finished.append(c))
    assert dlg.start()
    assert dlg.status.text() == "Waiting for the window's full-resolution restore to finish…"
    gate.release()
    qtbot.waitUntil(lambda: bool(finished) and not dlg.running(), timeout=30000)
    qtbot.waitUntil(w.is_settled, timeout=30000)
    assert not w._gave_way and not w._full_current()  # not run again unasked
    dlg.done(0)

"""Edit ▸ Copy Restored Image: the full-resolution result at the current strength."""

from __future__ import annotations

import numpy as np
import qimage2ndarray
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from drcnet.imageio import write_image


def clipboard_rgb() -> np.ndarray:
    img = QApplication.clipboard().image()
    assert not img.isNull()
    rgb32 = img.convertToFormat(QImage.Format.Format_RGB32)  # held while its view is read
    return qimage2ndarray.rgb_view(rgb32).astype(np.float32) / 255


def test_copy_waits_for_the_full_result_and_uses_the_strength(
        make_window, tmp_path, picture, qtbot) -> None:  # noqa: ANN001
    path = picture(tmp_path / "big.png", 300, 200)
    w = make_window()
    w.controls.set_run(256, 128, False)  # no refine when idle: only the copy asks for one
    w.open_image(path)
    qtbot.waitUntil(lambda: w.image is not None and w.is_settled(), timeout=30000)
    assert w.full is None
    QApplication.clipboard().clear()
    w.controls.set_strength(0.4, notify=True)
    w.copy_action.trigger()
    assert w._copy_waiting and not w.is_settled()
    qtbot.waitUntil(lambda: w.is_settled(), timeout=30000)
    assert w.full is not None and w.full.restored.shape == (200, 300, 3)
    want = w.image.rgb + 0.4 * (w.full.restored - w.image.rgb)
    np.testing.assert_allclose(clipboard_rgb(), want, atol=1 / 255 + 1e-6)
    w.controls.set_strength(1.0, notify=True)
    w.copy_action.trigger()  # the result is there; its mix at 100 % is made in the pool
    qtbot.waitUntil(lambda: not w._copy_waiting and w.is_settled(), timeout=10000)
    w.copy_action.trigger()  # now shown at 100 %: copied at once
    assert not w._copy_waiting
    np.testing.assert_allclose(clipboard_rgb(), w.full.restored, atol=1 / 255 + 1e-6)
    assert "Copied the restored image (300×200)" in w.statusBar().currentMessage()


def test_copy_keeps_transparency_and_a_cancel_drops_it(make_window, tmp_path,
                                                       qtbot) -> None:  # noqa: ANN001
    rgb = np.full((60, 80, 3), 0.5, np.float32)
    alpha = np.ones((60, 80), np.float32)
    alpha[:, :40] = 0.0
    path = tmp_path / "cut.png"
    write_image(path, rgb, alpha=alpha)
    w = make_window()
    w.open_image(path)
    qtbot.waitUntil(lambda: w.image is not None and w.is_settled(), timeout=30000)
    w.copy_action.trigger()
    img = QApplication.clipboard().image()
    assert img.hasAlphaChannel()
    assert img.pixelColor(10, 30).alpha() == 0 and img.pixelColor(70, 30).alpha() == 255
    # Waiting for a restore that the user cancels: nothing is copied, nothing waits.
    big = tmp_path / "big.png"
    write_image(big, np.random.default_rng(0).random((200, 300, 3)).astype(np.float32))
    w.controls.set_run(256, 128, False)
    w.open_image(big)
    qtbot.waitUntil(lambda: w.image is not None and w.is_settled(), timeout=30000)
    messages: list[str] = []
    w.statusBar().messageChanged.connect(messages.append)
    w.copy_action.trigger()
    w.cancel_restore()
    qtbot.waitUntil(lambda: w.is_settled(), timeout=30000)
    assert not w._copy_waiting
    assert any("copy was cancelled" in m for m in messages), messages


def test_paste_opens_the_clipboard_image_saved_as_a_png(make_window, tmp_path, qtbot,
                                                        monkeypatch) -> None:  # noqa: ANN001
    import app.main_window as main_window
    from app.viewer import to_qimage

    monkeypatch.setattr(main_window, "paste_folder", lambda: tmp_path / "pasted")
    w = make_window()
    before = w.settings.last_folder()
    messages: list[str] = []
    w.statusBar().messageChanged.connect(messages.append)
    QApplication.clipboard().clear()
    w.paste_action.trigger()
    assert any("holds no image" in m for m in messages)
    rgb = np.random.default_rng(3).random((50, 70, 3)).astype(np.float32)
    QApplication.clipboard().setImage(to_qimage(rgb))
    w.paste_action.trigger()
    qtbot.waitUntil(lambda: w.image is not None and w.is_settled(), timeout=30000)
    assert w.image.path.parent == tmp_path / "pasted" and w.image.path.suffix == ".png"
    np.testing.assert_allclose(w.image.rgb, np.round(rgb * 255) / 255, atol=1e-6)
    assert w.image.alpha is None
    assert w.settings.last_folder() == before  # File > Open still starts where it did
    # Files copied in a file manager open as if dropped.
    from PySide6.QtCore import QMimeData, QUrl

    other = tmp_path / "other.png"
    write_image(other, np.full((30, 40, 3), 0.25, np.float32))
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(other))])
    QApplication.clipboard().setMimeData(data)
    w.paste_action.trigger()
    qtbot.waitUntil(lambda: w.image is not None and w.image.path == other, timeout=30000)


def test_a_pasted_image_keeps_its_transparency(make_window, tmp_path, qtbot,
                                               monkeypatch) -> None:  # noqa: ANN001
    import app.main_window as main_window

    monkeypatch.setattr(main_window, "paste_folder", lambda: tmp_path / "pasted")
    img = QImage(40, 30, QImage.Format.Format_ARGB32)
    img.fill(0xFF3366CC)
    for y in range(30):
        for x in range(20):
            img.setPixel(x, y, 0x003366CC)  # the left half transparent
    QApplication.clipboard().setImage(img)
    w = make_window()
    w.paste_action.trigger()
    qtbot.waitUntil(lambda: w.image is not None and w.is_settled(), timeout=30000)
    assert w.image.alpha is not None
    assert w.image.alpha[:, :20].max() == 0.0 and w.image.alpha[:, 20:].min() == 1.0


def test_ctrl_c_in_a_label_with_selected_text_copies_the_text(make_window, image_path,
                                                             open_settled, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt

    w = make_window()
    open_settled(w, image_path)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    label = w.controls.model_status
    label.setFocus()
    qtbot.waitUntil(label.hasFocus, timeout=5000)
    label.setSelection(0, 5)
    QApplication.clipboard().clear()
    qtbot.keyClick(label, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == label.selectedText() != ""
    assert QApplication.clipboard().image().isNull() and not w._copy_waiting


def test_a_waiting_copy_survives_a_tile_change_without_auto_refine(
        make_window, tmp_path, picture, qtbot) -> None:  # noqa: ANN001
    path = picture(tmp_path / "big.png", 300, 200)
    w = make_window()
    w.controls.set_run(256, 128, False)
    w.open_image(path)
    qtbot.waitUntil(lambda: w.image is not None and w.is_settled(), timeout=30000)
    w.copy_action.trigger()
    w.controls.tile_spin.setValue(64)  # cancels the restore the copy waits for
    qtbot.waitUntil(lambda: w.is_settled(), timeout=30000)
    assert not w._copy_waiting and w.full.tiles.tile == 64
    np.testing.assert_allclose(clipboard_rgb(), w.full.restored, atol=1 / 255 + 1e-6)


def test_two_pastes_at_once_keep_both_images(make_window, tmp_path, qtbot,
                                             monkeypatch) -> None:  # noqa: ANN001
    import time

    import app.main_window as main_window
    from app.viewer import to_qimage

    monkeypatch.setattr(main_window, "paste_folder", lambda: tmp_path / "pasted")
    import types

    clock = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if k[0] != "_"})
    clock.time = lambda: 1_800_000_000.0  # both pastes in the same millisecond
    monkeypatch.setattr(main_window, "time", clock)
    w = make_window()
    for value in (0.2, 0.8):
        QApplication.clipboard().setImage(to_qimage(np.full((20, 30, 3), value, np.float32)))
        w.paste_action.trigger()
    qtbot.waitUntil(lambda: w.image is not None and w.is_settled() and not w._pasting,
                    timeout=30000)
    files = sorted((tmp_path / "pasted").glob("*.png"))
    assert len(files) == 2


def test_a_pasted_wide_gamut_image_keeps_its_profile(make_window, tmp_path, qtbot,
                                                     monkeypatch) -> None:  # noqa: ANN001
    from PySide6.QtGui import QColorSpace

    import app.main_window as main_window
    from app.viewer import to_qimage

    monkeypatch.setattr(main_window, "paste_folder", lambda: tmp_path / "pasted")
    img = to_qimage(np.full((20, 30, 3), 0.5, np.float32))
    p3 = QColorSpace(QColorSpace.NamedColorSpace.DisplayP3)
    img.setColorSpace(p3)
    QApplication.clipboard().setImage(img)
    w = make_window()
    w.paste_action.trigger()
    qtbot.waitUntil(lambda: w.image is not None and w.is_settled(), timeout=30000)
    assert w.image.icc == bytes(p3.iccProfile())


def test_only_the_newest_pasted_images_are_kept(tmp_path) -> None:  # noqa: ANN001
    import os

    from app.main_window import prune_pasted

    for i in range(6):
        f = tmp_path / f"Pasted {i}.png"
        f.write_bytes(b"x")
        os.utime(f, (1000 + i, 1000 + i))
    (tmp_path / "mine.png").write_bytes(b"y")  # not a pasted image: never touched
    prune_pasted(tmp_path, keep=4)
    assert sorted(f.name for f in tmp_path.iterdir()) == [
        "Pasted 2.png", "Pasted 3.png", "Pasted 4.png", "Pasted 5.png", "mine.png"]


def test_pruning_passes_over_files_it_cannot_touch(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from pathlib import Path

    from app.main_window import prune_pasted

    for i in range(4):
        (tmp_path / f"Pasted {i}.png").write_bytes(b"x")
    (tmp_path / "Pasted dir.png").mkdir()  # cannot be unlinked
    real = Path.stat

    def stat(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if self.name == "Pasted 1.png":
            raise FileNotFoundError(self)  # removed by another paste meanwhile
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    prune_pasted(tmp_path, keep=1)  # no exception
    assert len(list(tmp_path.iterdir())) <= 3


def test_faint_pixels_keep_their_colour_on_the_clipboard(make_window, tmp_path,
                                                         qtbot) -> None:  # noqa: ANN001
    """The copy had been premultiplied (setAlphaChannel): at alpha 5/255 only five colour
    levels were left (51, 102, …), 25 levels off; raised opacity showed bands."""
    rng = np.random.default_rng(0)
    rgb = rng.random((40, 60, 3)).astype(np.float32)
    alpha = np.full((40, 60), 5 / 255, np.float32)
    alpha[:, 30:] = 1.0
    path = tmp_path / "faint.png"
    write_image(path, rgb, alpha=alpha)
    w = make_window()
    w.open_image(path)
    qtbot.waitUntil(lambda: w.image is not None and w.is_settled(), timeout=30000)
    w.copy_action.trigger()
    qtbot.waitUntil(lambda: not w._copy_waiting and w.is_settled(), timeout=30000)
    img = QApplication.clipboard().image().convertToFormat(QImage.Format.Format_ARGB32)
    argb = qimage2ndarray.byte_view(img)  # B, G, R, A as stored, not premultiplied
    want = np.round(np.clip(w.full.restored, 0, 1) * 255)[..., ::-1]
    assert (argb[:, :30, 3] == 5).all() and (argb[:, 30:, 3] == 255).all()
    assert np.abs(argb[:, :30, :3].astype(int) - want[:, :30]).max() <= 1
    assert np.abs(argb[:, 30:, :3].astype(int) - want[:, 30:]).max() <= 1

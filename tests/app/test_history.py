"""Undo and redo of the knobs and strength: the History list and the window's Edit menu."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from app.history import History


def test_history_undoes_redoes_and_forgets_the_redo_branch() -> None:
    h: History[int] = History(limit=3)
    assert not h.can_undo() and h.undo() is None and h.redo() is None
    h.reset(0)
    h.record(0)  # the current state again: not a step
    assert not h.can_undo()
    h.record(1)
    h.record(2)
    assert h.undo() == 1 and h.undo() == 0 and h.undo() is None
    assert h.redo() == 1
    h.record(5)  # a new change after an undo: 2 can no longer be redone
    assert not h.can_redo() and h.undo() == 1
    h.redo()
    h.record(6)
    h.record(7)  # over the limit: the oldest go
    assert [h.undo(), h.undo(), h.undo()] == [6, 5, None]
    with pytest.raises(ValueError):
        History(limit=0)


def test_undo_and_redo_in_the_window(make_window, image_path, open_settled, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    start = w.controls.knobs()
    assert not w.undo_action.isEnabled() and not w.redo_action.isEnabled()
    for value in (60, 61, 62):  # one quick run of changes: one step
        w.controls.t_slider.setValue(value)
    assert w.undo_action.isEnabled()
    qtbot.waitUntil(lambda: not w._history_timer.isActive(), timeout=5000)
    w.controls.strength_spin.setValue(70)
    w.undo_action.trigger()  # before the pause: the strength change is the step undone
    assert w.controls.strength() == 1.0 and w.controls.knobs().t == pytest.approx(0.62)
    w.undo_action.trigger()
    assert w.controls.knobs() == start and not w.undo_action.isEnabled()
    qtbot.waitUntil(w.is_settled, timeout=30000)
    assert w.full is not None and w.full.knobs == start  # restored again with those knobs
    w.redo_action.trigger()
    w.redo_action.trigger()
    assert w.controls.knobs().t == pytest.approx(0.62) and w.controls.strength() == 0.7
    assert not w.redo_action.isEnabled()
    qtbot.waitUntil(w.is_settled, timeout=30000)
    w.controls.set_task("deblur")  # another model: its knobs have no history here
    qtbot.waitUntil(lambda: not w.model_pending, timeout=10000)
    assert not w.undo_action.isEnabled() and not w.redo_action.isEnabled()


def test_undo_keys_in_a_knob_box_undo_the_setting(make_window, image_path, open_settled,
                                                  qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt

    w = make_window()
    open_settled(w, image_path)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    start = w.controls.knobs()
    box = w.controls.t_spin
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=5000)
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, "0.6")
    qtbot.keyClick(box, Qt.Key.Key_Return)  # typed and entered: one change of t
    assert w.controls.knobs().t == pytest.approx(0.6) and w.undo_action.isEnabled()
    qtbot.keyClick(box, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.controls.knobs() == start  # the window's Undo, not the box's text undo
    assert box.value() == pytest.approx(start.t)
    qtbot.keyClick(box, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert w.controls.knobs().t == pytest.approx(0.6)
    qtbot.keyClick(box, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(box, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)  # Redo's other key
    assert w.controls.knobs().t == pytest.approx(0.6)


def test_undo_with_a_value_typed_but_not_entered_puts_only_the_box_back(
        make_window, image_path, open_settled, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt

    w = make_window()
    open_settled(w, image_path)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    w.controls.delta_spin.setValue(2e-5)  # one change, entered
    qtbot.waitUntil(w.undo_action.isEnabled, timeout=5000)
    entered = w.controls.knobs()
    box = w.controls.t_spin
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=5000)
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, "0.6")  # typed, not entered
    qtbot.keyClick(box, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert box.cleanText() == box.textFromValue(entered.t)  # the typing is undone…
    assert w.controls.knobs() == entered  # …and only that: δ keeps its step
    qtbot.keyClick(box, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.controls.knobs().delta != pytest.approx(2e-5)  # the next press undoes δ


def test_paste_of_an_image_in_a_knob_box_reaches_the_window(make_window, image_path,
                                                             open_settled, qtbot, tmp_path,
                                                             monkeypatch) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    import app.main_window

    monkeypatch.setattr(app.main_window, "paste_folder", lambda: tmp_path / "pasted")
    w = make_window()
    open_settled(w, image_path)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    pasted: list[bool] = []
    w.paste_action.triggered.connect(lambda *_: pasted.append(True))
    img = QImage(8, 8, QImage.Format.Format_RGB32)
    img.fill(0xFF336699)
    QApplication.clipboard().setImage(img)
    box = w.controls.strength_spin
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=5000)
    qtbot.keyClick(box, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert pasted == [True]


def test_the_shortcut_list_is_read_from_the_actions(make_window) -> None:  # noqa: ANN001
    w = make_window()
    text = w.shortcuts_text()
    for row in ("Undo</td><td style='white-space:nowrap'><b>Ctrl+Z",
                "Redo</td><td style='white-space:nowrap'><b>Ctrl+Y or Ctrl+Shift+Z",
                "Copy Restored Image</td><td style='white-space:nowrap'><b>Ctrl+C",
                "Compare</td><td style='white-space:nowrap'><b>C<", "Esc", "double-click",
                "Quit</td><td style='white-space:nowrap'><b>Ctrl+Q"):  # bound where no Quit key is
        assert row in text, row
    w.reset_action.setShortcut("Ctrl+Alt+K")  # a changed binding shows at once
    assert "Ctrl+Alt+K" in w.shortcuts_text()


def test_the_shortcut_list_fits_a_small_screen(make_window, qtbot) -> None:  # noqa: ANN001
    w = make_window()
    dlg = w.show_shortcuts()
    qtbot.waitExposed(dlg)
    screen = w.screen().availableGeometry()
    assert dlg.height() <= screen.height() * 0.85 + 1  # scrolls instead of running off it
    assert "Ctrl+Z" in dlg.findChild(__import__("PySide6.QtWidgets").QtWidgets.QTextBrowser
                                     ).toPlainText()
    dlg.close()


def test_the_shortcut_list_needs_no_sideways_scrolling_at_a_large_font(make_window, qtbot,
                                                                       large_font) -> None:  # noqa: ANN001
    """A fixed 620-px dialog: from 11 pt the Menu column broke letter by letter and the
    Keys column went off to the right."""
    from PySide6.QtWidgets import QTextBrowser

    w = make_window()
    dlg = w.show_shortcuts()
    qtbot.waitExposed(dlg)
    text = dlg.findChild(QTextBrowser)
    assert not text.horizontalScrollBar().isVisible()
    assert text.document().size().width() <= text.viewport().width() + 1


def test_switching_back_to_a_model_brings_its_steps_back(make_window, image_path,
                                                         open_settled, add_weights,
                                                         weights_dir, qtbot) -> None:  # noqa: ANN001
    add_weights(weights_dir, "deblur")
    w = make_window()
    open_settled(w, image_path)
    start = w.controls.knobs()
    w.controls.t_spin.setValue(0.6)
    w._record_history()  # as when the change pauses
    assert w.undo_action.isEnabled()
    w.controls.set_task("deblur")
    qtbot.waitUntil(lambda: w.info is not None and w.info.task == "deblur", timeout=30000)
    assert not w.undo_action.isEnabled()  # the denoiser's steps mean nothing here
    w.controls.set_task("denoise")
    qtbot.waitUntil(lambda: w.info is not None and w.info.task == "denoise", timeout=30000)
    assert w.controls.knobs().t == pytest.approx(0.6) and w.undo_action.isEnabled()
    w.undo_action.trigger()
    assert w.controls.knobs().t == pytest.approx(start.t)

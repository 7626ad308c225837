"""File ▸ Open Weights… and ``--weights``: restoring with a weight file of the user's own."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QStyle, QStyleOptionComboBox
from safetensors.torch import save_file
from test_studio_main import run_main  # tests/app is on sys.path (rootdir conftest)

from drcnet import DRCNet
from drcnet.weights import save_weights


def own_weights(path: Path, task: str | None = "denoise", seed: int = 7, t: float = 0.6) -> Path:
    torch.manual_seed(seed)
    save_weights(path, DRCNet(wf=8, depth=2, t=t), {"task": task} if task else {})
    return path


def _combo_option(combo: QComboBox) -> QStyleOptionComboBox:
    opt = QStyleOptionComboBox()
    opt.initFrom(combo)
    return opt


def settled_on(w, qtbot, path: Path) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: w.info is not None and w.info.weights == path.resolve()
                    and w.is_settled() and w.full is not None, timeout=30000)


def test_open_weights_restores_with_the_file(make_window, image_path, open_settled, qtbot,
                                             tmp_path) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    shipped = w.full.restored.copy()
    mine = own_weights(tmp_path / "mine.safetensors")
    assert w.open_weights(mine)
    settled_on(w, qtbot, mine)
    combo = w.controls.variant_combo
    assert w.info.variant == "file" and w.info.noea_weights is None
    assert combo.currentText() == "File: mine" and not combo.isHidden()
    assert str(mine.resolve()) in combo.toolTip()
    assert "mine.safetensors" in w.controls.model_status.text()
    assert not np.array_equal(shipped, w.full.restored)  # other weights, another restoration
    assert w.controls.knobs().t == 0.6  # the file's own knobs
    # The shipped model is still a choice, and coming back to it restores as before.
    combo.setCurrentIndex(combo.findData("default"))
    qtbot.waitUntil(lambda: w.info is not None and w.info.variant == "default"
                    and w.is_settled() and w.full is not None, timeout=30000)
    assert np.array_equal(shipped, w.full.restored)
    assert w.controls.knobs().t == 0.75
    # A new window offers the file again, chosen if it was the last choice.
    combo.setCurrentIndex(combo.findData("file"))
    w.save_settings()
    w2 = make_window()
    assert w2.controls.variant() == "file" and w2.controls.weight_file() == mine.resolve()


def test_a_dropped_weight_file_is_opened_as_weights(make_window, image_path, open_settled,
                                                    qtbot, tmp_path) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    mine = own_weights(tmp_path / "mine.safetensors")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(mine))])
    w.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                           Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    settled_on(w, qtbot, mine)
    assert w.image is not None and w.image.path == image_path  # the photo stays


def test_a_long_file_name_does_not_widen_the_panel(make_window, qtbot, tmp_path) -> None:  # noqa: ANN001
    w = make_window()
    before = w.controls_dock.widget().minimumSizeHint().width()
    name = "derain-sat-cpu10-step000400-with-a-long-run-name-that-goes-on.safetensors"
    mine = own_weights(tmp_path / name)
    assert w.open_weights(mine)
    qtbot.waitUntil(lambda: w.info is not None and w.info.weights == mine.resolve(),
                    timeout=30000)
    combo, status = w.controls.variant_combo, w.controls.model_status
    assert combo.currentText() == "File: derain-s…t-goes-on"
    # The item fits the box at the default size: its end had been cut off mid-word.
    w.resize(1440, 900)
    QApplication.processEvents()
    room = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox,
                                        _combo_option(combo),
                                        QStyle.SubControl.SC_ComboBoxEditField, combo).width()
    assert combo.fontMetrics().horizontalAdvance(combo.currentText()) <= room
    assert combo.toolTip().endswith(name)
    assert status.toolTip().splitlines()[0] == str(mine.resolve())  # then its SHA-256
    assert name not in status.text() and "derain-sat-…that-goes-on.safetensors" in status.text()
    assert w.controls_dock.widget().minimumSizeHint().width() <= before
    # Restore Files names it shortened too: the whole name, one unbreakable run there, had
    # made the dialog wider than a 1280-px screen.
    dlg = w.make_batch_dialog()
    assert dlg is not None and dlg.minimumSizeHint().width() < 800
    assert any("derain-sat-…that-goes-on.safetensors" in lab.text()
               for lab in dlg.findChildren(QLabel))
    dlg.deleteLater()


def test_a_second_file_replaces_the_first(make_window, image_path, open_settled, qtbot,
                                          tmp_path) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    first = own_weights(tmp_path / "first.safetensors", seed=7)
    second = own_weights(tmp_path / "second.safetensors", seed=8, t=0.9)
    assert w.open_weights(first)
    settled_on(w, qtbot, first)
    w.controls.set_knobs(replace(w.controls.knobs(), t=0.55), notify=True)
    assert w.open_weights(second)  # the choice is "file" already: the combo does not signal
    settled_on(w, qtbot, second)
    assert w.controls.variant_combo.currentText() == "File: second"
    assert w.controls.knobs().t == 0.9  # the new file's knobs, not those tuned on the first


def test_opening_a_rewritten_file_again_reads_it_again(make_window, image_path, open_settled,
                                                      qtbot, tmp_path) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    last = own_weights(tmp_path / "last.safetensors", seed=7, t=0.6)
    assert w.open_weights(last)
    settled_on(w, qtbot, last)
    old_sha, old = w.info.sha256, w.full.restored.copy()
    own_weights(last, seed=8, t=0.9)  # training wrote a newer snapshot in place
    assert w.open_weights(last)
    qtbot.waitUntil(lambda: w.info is not None and w.info.sha256 != old_sha and w.is_settled()
                    and w.full is not None, timeout=30000)
    assert not np.array_equal(old, w.full.restored)
    assert w.controls.knobs().t == 0.9 and w.controls.model_knobs().t == 0.9


def test_weights_for_another_task_switch_to_it(make_window, image_path, open_settled, qtbot,
                                              tmp_path) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    deblur = own_weights(tmp_path / "deblur-run.safetensors", task="deblur")
    assert w.open_weights(deblur)
    qtbot.waitUntil(lambda: w.controls.task() == "deblur")  # once the file has loaded
    settled_on(w, qtbot, deblur)
    assert w.info.task == "deblur"
    w.controls.set_task("denoise")  # the denoise choice is untouched
    qtbot.waitUntil(lambda: w.info is not None and w.info.task == "denoise" and w.is_settled(),
                    timeout=30000)
    assert w.info.variant == "default"
    assert w.controls.variant_combo.findData("file") < 0


def test_a_file_naming_no_task_serves_the_current_one(make_window, image_path, open_settled,
                                                     qtbot, tmp_path) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    bare = own_weights(tmp_path / "bare.safetensors", task=None)
    assert w.open_weights(bare)
    settled_on(w, qtbot, bare)
    assert w.info.task == "denoise" and w.controls.task() == "denoise"
    assert "bare.safetensors names no task; restoring denoise with it" in \
        w.statusBar().currentMessage()
    odd = own_weights(tmp_path / "odd.safetensors", task="superres")
    assert w.open_weights(odd)
    settled_on(w, qtbot, odd)
    assert "names the task 'superres', which is none of derain, denoise, deblur" in \
        w.statusBar().currentMessage()


def test_unreadable_or_missing_weights_give_a_message_box(make_window, image_path, open_settled,
                                                         boxes, tmp_path) -> None:  # noqa: ANN001
    w = make_window()
    open_settled(w, image_path)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not safetensors at all")
    assert not w.open_weights(junk)
    assert not w.open_weights(tmp_path / "nowhere.safetensors")
    assert [title for title, _ in boxes] == ["Cannot open weights"] * 2
    assert "junk.safetensors" in boxes[0][1] and "does not exist" in boxes[1][1]
    assert w.controls.variant() == "default" and w.info.variant == "default"
    assert w.controls.variant_combo.findData("file") < 0


def test_files_that_cannot_be_weights_are_refused(make_window, boxes, tmp_path) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    state = DRCNet(wf=8, depth=2).state_dict()
    bad_configs = {"list": "[1, 2]", "text": '{"wf": 8, "depth": 2, "t": "high"}',
                   "json": "{nope"}
    for name, config in bad_configs.items():
        save_file(state, str(tmp_path / f"{name}.safetensors"),
                  {"task": "denoise", "config": config})
    (tmp_path / "notes.txt").write_text("hello")
    w = make_window()
    for name in (*bad_configs, "notes"):
        path = tmp_path / (f"{name}.safetensors" if name != "notes" else "notes.txt")
        assert not w.open_weights(path), name
    assert [t for t, _ in boxes] == ["Cannot open weights"] * 4
    assert "'high'" in boxes[1][1] and "not a weight file" in boxes[3][1]
    assert w.controls.variant_combo.findData("file") < 0
    w.save_settings()
    assert w.settings.weight_file("denoise") == ""


def test_a_file_that_is_no_drcnet_leaves_the_working_model(make_window, image_path,
                                                            open_settled, boxes, qtbot,
                                                            tmp_path) -> None:  # noqa: ANN001
    """Its header reads, but it holds no DRCNet: the file is loaded once before anything is
    switched, so the model in use, and the file chosen before it, stay."""
    w = make_window()
    open_settled(w, image_path)
    mine = own_weights(tmp_path / "mine.safetensors")
    assert w.open_weights(mine)
    settled_on(w, qtbot, mine)
    other = tmp_path / "other.safetensors"
    save_file({"fc.weight": torch.zeros(3, 3)}, str(other), {"task": "denoise"})
    assert w.open_weights(other)  # the header reads; the load in the pool finds no DRCNet
    qtbot.waitUntil(lambda: bool(boxes) and w.is_settled(), timeout=30000)
    assert boxes[0][0] == "Cannot open weights" and "other.safetensors" in boxes[0][1]
    assert "The denoise model in use stays: mine.safetensors" in boxes[0][1]
    assert w.info.weights == mine.resolve() and not w.model_error
    assert w.controls.variant_combo.currentText() == "File: mine"
    assert w.settings.weight_file("denoise") == str(mine.resolve())


def test_a_remembered_file_that_is_gone_is_not_offered(make_window, qtbot,
                                                       tmp_path) -> None:  # noqa: ANN001
    mine = own_weights(tmp_path / "mine.safetensors")
    w = make_window()
    assert w.open_weights(mine)
    qtbot.waitUntil(lambda: w.info is not None and w.info.weights == mine.resolve(),
                    timeout=30000)
    w.save_settings()
    mine.unlink()
    w2 = make_window()
    assert w2.controls.variant() == "default" and w2.controls.variant_combo.isHidden()


def test_weights_option_opens_the_files_task(weights_dir: Path, tmp_path: Path) -> None:
    mine = own_weights(tmp_path / "deblur-run.safetensors", task="deblur")
    out = tmp_path / "shot.png"
    r = run_main(["--weights", str(mine), "--screenshot", str(out), "--size", "1000x640"],
                 weights_dir, tmp_path)  # no deblur weights are shipped in weights_dir
    assert r.returncode == 0, r.stderr
    assert out.exists() and "names no task" not in r.stderr
    bare = own_weights(tmp_path / "bare.safetensors", task=None)
    r = run_main(["--weights", str(bare), "--task", "derain", "--screenshot", str(out)],
                 weights_dir, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "bare.safetensors names no task; restoring derain with it" in r.stderr


def test_weights_option_refuses_what_it_cannot_use(weights_dir: Path, tmp_path: Path) -> None:
    mine = own_weights(tmp_path / "deblur-run.safetensors", task="deblur")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"nope")
    for args, says, code in (  # 1: what a file or the machine says; 2: options that conflict
        (["--weights", str(tmp_path / "nowhere.safetensors")], "does not exist", 1),
        (["--weights", str(junk)], "junk.safetensors", 1),
        (["--weights", str(mine), "--task", "denoise"], "was trained for deblur, not denoise",
         1),
        (["--weights", str(mine), "--variant", "default"], "drop --variant", 2),
        (["--weights", str(tmp_path)], "is a folder, not a weight file", 1),
    ):
        r = run_main([*args, "--screenshot", str(tmp_path / "s.png")], weights_dir, tmp_path)
        assert r.returncode == code, args
        assert "drcnet-studio: error:" in r.stderr and says in r.stderr, (args, r.stderr)


def test_a_file_still_loading_when_the_user_moves_on_is_not_switched_to(
        make_window, image_path, open_settled, make_gate, monkeypatch, qtbot,
        tmp_path) -> None:  # noqa: ANN001
    import app.main_window

    w = make_window()
    open_settled(w, image_path)
    gate = make_gate(app.main_window.build_model)
    monkeypatch.setattr(app.main_window, "build_model", gate)
    mine = own_weights(tmp_path / "mine.safetensors")
    assert w.open_weights(mine)
    qtbot.waitUntil(gate.entered.is_set)
    w.controls.task_combo.setCurrentIndex(w.controls.task_combo.findData("deblur"))
    gate.release()  # the check ends after the user chose another task
    qtbot.waitUntil(lambda: w.jobs.pending() == 0 and w.is_settled(), timeout=30000)
    assert w.controls.task() == "deblur"
    assert w.controls.weight_file("denoise") is None and w.settings.weight_file("denoise") == ""


def test_a_file_that_breaks_the_header_check_is_said_not_silent(make_window, tmp_path, boxes,
                                                                monkeypatch) -> None:  # noqa: ANN001
    """An exception other than WeightsError from the header check went to stderr only: Open
    Weights did nothing, without a word."""
    import app.main_window

    def broken(path):  # noqa: ANN001, ANN202
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(app.main_window, "check_weight_file", broken)
    w = make_window()
    assert not w.open_weights(tmp_path / "deep.safetensors")
    assert boxes and boxes[-1][0] == "Cannot open weights"
    assert "RecursionError: maximum recursion depth" in boxes[-1][1]

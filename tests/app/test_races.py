"""Interleavings of background work with what the user does meanwhile (from a review of the
GUI's threads): each is held at a chosen point with a gate, so the order is certain."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication


def test_a_preview_for_an_old_preview_size_is_not_taken_as_the_full_result(
        make_window, tmp_path: Path, picture, qtbot, open_settled, make_gate,  # noqa: ANN001
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A 256-px preview finished after Preview was raised to 512, where the photo (300×200)
    is its own preview: it had become the full result, so Copy put 256×171 pixels on the
    clipboard while saying 300×200 (and Export failed with a ValueError)."""
    import app.workers

    w = make_window()
    w.controls.set_run(256, 0, False)  # Preview 256, whole image, no full restore by itself
    open_settled(w, picture(tmp_path / "big.png", 300, 200))
    assert w.preview.analysis.restored.shape[:2] == (171, 256)
    gate = make_gate(app.workers.analyse)
    monkeypatch.setattr(app.workers, "analyse", gate)
    w.controls.t_slider.setValue(70)  # a 256-px preview is computed…
    qtbot.waitUntil(gate.entered.is_set)
    qtbot.wait(400)  # (past the drag gap: the next one is no draft)
    combo = w.controls.preview_combo
    combo.setCurrentIndex(combo.findData(512))  # …and the size goes up meanwhile
    w.copy_result()  # waits for the full-resolution result
    gate.release()
    qtbot.waitUntil(w.is_settled, timeout=30000)
    copied = QApplication.clipboard().image()
    assert (copied.width(), copied.height()) == (300, 200)


def test_a_device_switch_that_reads_a_rewritten_weight_file_drops_the_old_results(
        make_window, tmp_path: Path, picture, qtbot, open_settled) -> None:  # noqa: ANN001
    """Training rewrote the weight file in use; a device switch read it again, but the
    full result from the old bytes stayed current, and an export named the new SHA-256
    over the old pixels."""
    import torch

    from drcnet import DRCNet
    from drcnet.weights import save_weights

    def own_weights(seed: int) -> Path:
        torch.manual_seed(seed)
        path = tmp_path / "mine.safetensors"
        save_weights(path, DRCNet(wf=8, depth=2), {"task": "denoise"})
        return path

    w = make_window()
    w.controls.set_run(256, 128, True)
    mine = own_weights(7)
    assert w.open_weights(mine)
    qtbot.waitUntil(lambda: w.info is not None and w.info.weights == mine.resolve(),
                    timeout=30000)
    open_settled(w, picture(tmp_path / "big.png", 300, 200))
    old_full, old_sha = w.full, w.info.sha256
    assert old_full is not None
    own_weights(8)  # the snapshot rewritten in place
    w.controls.deviceChanged.emit("cpu")  # the user picks a device
    qtbot.waitUntil(lambda: w.info.sha256 != old_sha and w.is_settled(), timeout=30000)
    assert w.full is not None and w.full is not old_full


def test_a_failed_reread_on_a_device_switch_keeps_the_model_in_use(
        make_window, tmp_path: Path, picture, qtbot, open_settled, boxes) -> None:  # noqa: ANN001
    """The weight file in use was cut short (training mid-write) when the device changed:
    the window said the model stays, but the model thread had dropped it, so the next
    preview never came back (the window never settled) and Restore said no model."""
    import torch

    from drcnet import DRCNet
    from drcnet.weights import save_weights

    torch.manual_seed(7)
    mine = tmp_path / "mine.safetensors"
    save_weights(mine, DRCNet(wf=8, depth=2), {"task": "denoise"})
    w = make_window()
    w.controls.set_run(256, 128, True)
    assert w.open_weights(mine)
    qtbot.waitUntil(lambda: w.info is not None and w.info.weights == mine.resolve(),
                    timeout=30000)
    open_settled(w, picture(tmp_path / "big.png", 300, 200))
    mine.write_bytes(mine.read_bytes()[:200])  # cut short mid-write
    w.controls.deviceChanged.emit("cpu")
    qtbot.waitUntil(lambda: not w.model_pending and w.is_settled(), timeout=30000)
    assert "The model stays on cpu" in boxes[-1][1]
    before = w.full
    w.controls.t_slider.setValue(70)  # a knob move: a preview and a restore are asked
    qtbot.waitUntil(lambda: w.is_settled() and w.full is not before, timeout=30000)
    assert w.full is not None and w.full.knobs.t == 0.7


def test_a_waiting_restore_files_run_refuses_a_model_switched_under_it(
        make_window, image_path, open_settled, picture, tmp_path: Path, make_gate,  # noqa: ANN001
        qtbot, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """Open Weights' check ended while a Restore Files run waited behind the window's
    restore: the run had gone ahead with the new weights, not the ones its dialog named."""
    import torch
    from test_batch_dialog import added

    import drcnet.inference
    from drcnet import DRCNet
    from drcnet.weights import save_weights

    w = make_window()
    w.controls.set_run(256, 32, True)
    w.controls.refine_check.setChecked(False)
    open_settled(w, image_path)
    torch.manual_seed(8)
    mine = tmp_path / "mine.safetensors"
    save_weights(mine, DRCNet(wf=8, depth=2), {"task": "denoise"})
    gate = make_gate(drcnet.inference.forward_batch)
    monkeypatch.setattr(drcnet.inference, "forward_batch", gate)
    w.start_full_restore()  # holds the model thread
    qtbot.waitUntil(gate.entered.is_set)
    assert w.open_weights(mine)  # chosen a moment before Restore Files: checked in the pool
    dlg = w.make_batch_dialog()
    added(dlg, qtbot, [picture(tmp_path / "one.png", 80, 60)])
    assert dlg.start()  # waits behind the window's restore
    qtbot.waitUntil(lambda: w.model_pending, timeout=30000)  # the check ended: switching
    gate.release()
    qtbot.waitUntil(lambda: not dlg.running(), timeout=60000)
    assert "switched to mine.safetensors" in dlg.status.text()
    assert not (tmp_path / "restored" / "one.png").exists()
    dlg.done(0)


def test_a_one_pass_that_no_longer_fits_is_restored_in_tiles_without_a_box(
        make_window, tmp_path: Path, picture, qtbot, open_settled, boxes,  # noqa: ANN001
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Tile: whole image fitted when the photo was opened; free memory fell later. The
    window kept asking one pass (its answer is kept per image) and the model thread refused
    it: an error box on every knob move."""
    import drcnet.inference

    free = {"bytes": 64 * 2**30}
    monkeypatch.setattr(drcnet.inference, "available_memory", lambda: free["bytes"])
    w = make_window()
    w.controls.set_run(256, 0, True)  # Tile: whole image
    open_settled(w, picture(tmp_path / "big.png", 300, 200))
    assert w.full is not None and w.full.tiles.tile == 0
    free["bytes"] = 70 * 2**20  # another program took the memory (the preview still fits)
    w.controls.t_slider.setValue(70)
    qtbot.waitUntil(lambda: w.is_settled() and w.full is not None and w.full.knobs.t == 0.7,
                    timeout=30000)
    assert w.full.tiles.tile > 0 and boxes == []
    w.controls.t_slider.setValue(65)  # and so on, without asking again
    qtbot.waitUntil(lambda: w.is_settled() and w.full is not None and w.full.knobs.t == 0.65,
                    timeout=30000)
    assert boxes == []


def test_a_job_that_raises_outside_its_own_handling_does_not_stall_the_queue(
        qtbot, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    """An exception escaping a job (an import, a finally) had left the queue's later jobs
    waiting and the window never told it was idle."""
    from app.workers import ModelWorker

    worker = ModelWorker()  # driven here, on this thread
    ran, idle = [], []
    worker.idle.connect(lambda: idle.append(1))
    worker._run_load = lambda job: (_ for _ in ()).throw(RuntimeError("a bug"))  # first
    worker._run_preview = lambda job: ran.append(job)  # then
    worker.submit("preview", "p")
    worker.submit("load", "l")
    worker.drain()
    assert ran == ["p"] and idle == [1]
    assert "RuntimeError: a bug" in capsys.readouterr().err


def test_a_job_whose_callback_raises_still_says_it_ended(qtbot) -> None:  # noqa: ANN001
    """``ended`` was sent after the callback, so one that raised left the window thinking
    work was still under way, and a ``--screenshot`` waited for its timeout."""
    from app.workers import Jobs

    jobs = Jobs()
    ended: list[int] = []
    jobs.ended.connect(lambda: ended.append(1))

    def boom(_: object) -> None:
        raise RuntimeError("a bug in a callback")

    with qtbot.capture_exceptions() as raised:
        jobs.run(lambda: 1, boom, lambda _: None)
        qtbot.waitUntil(lambda: bool(ended), timeout=10000)
    assert jobs.pending() == 0 and len(raised) == 1
    jobs.wait()


def test_closed_jobs_start_nothing(qtbot) -> None:  # noqa: ANN001
    """A callback delivered after the window's shutdown had started a job whose end reached
    a Jobs object Qt was deleting ("Signal source has been deleted", in the next test)."""
    from app.workers import Jobs

    jobs = Jobs()
    ran: list[int] = []
    jobs.close()
    jobs.run(lambda: ran.append(1), lambda _: None, lambda _: None)
    jobs.wait()
    assert ran == [] and jobs.pending() == 0

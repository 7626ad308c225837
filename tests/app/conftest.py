"""Fixtures for the GUI tests: private settings, tiny weights, sample images, windows."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox

from drcnet import DRCNet
from drcnet.imageio import write_image
from drcnet.weights import save_weights


@pytest.fixture(autouse=True)
def gc_on_gui_thread():  # noqa: ANN201
    """No automatic garbage collection during a GUI test: a collection started by the model
    thread could free Qt objects left by earlier tests in that thread and crash. Collect on
    this (the GUI) thread afterwards instead; the app does the same with MainThreadGC."""
    gc.disable()
    yield
    gc.collect()
    gc.enable()


@pytest.fixture(autouse=True)
def one_torch_thread():  # noqa: ANN201
    """The tiny test networks run fastest on one thread, and a busy 2-core machine makes
    several OpenMP threads spin against each other (a 7 ms forward took 0.5 s). Restored
    after each test so other test modules keep their setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def no_modal_boxes(monkeypatch):  # noqa: ANN001, ANN201
    """A message box no test expected fails the test instead of hanging it (offscreen, a
    modal box waits for a click that never comes). Tests that expect one use ``boxes``."""

    def unexpected(parent, title, text, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise AssertionError(f"unexpected message box: {title}: {text}")

    for name in ("critical", "information", "warning", "question"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(unexpected))

    def unexpected_dialog(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("unexpected file dialog: a test that opens one must patch it")

    for name in ("getOpenFileName", "getOpenFileNames", "getSaveFileName",
                 "getExistingDirectory"):  # a native file dialog would wait the same way
        monkeypatch.setattr(QFileDialog, name, staticmethod(unexpected_dialog))


@pytest.fixture(autouse=True)
def private_settings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test gets its own empty QSettings folder (never the user's)."""
    folder = tmp_path_factory.mktemp("settings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    from app.settings import Settings

    # The tests were written for windows that start in the After view; a first run starts
    # in Compare (test_a_first_run_starts_in_compare_and_the_view_is_remembered).
    Settings().set_view_mode("after")
    return folder


def tiny_weights(folder: Path, task: str = "denoise", noea: bool = False) -> Path:
    torch.manual_seed(0)
    path = folder / f"{task}.safetensors"
    save_weights(path, DRCNet(wf=8, depth=2), {"task": task})
    if noea:
        torch.manual_seed(1)
        save_weights(folder / f"{task}-noea.safetensors", DRCNet(wf=8, depth=2, ea=False),
                     {"task": task, "variant": "noea"})
    return path


@pytest.fixture
def add_weights():  # noqa: ANN201
    """``add_weights(folder, task="denoise", noea=False)`` writes tiny weights."""
    return tiny_weights


@pytest.fixture
def weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A weights folder with tiny (wf=8, depth=2) denoise weights, used by the registry."""
    import drcnet.registry

    folder = tmp_path / "weights"
    folder.mkdir()
    tiny_weights(folder)
    monkeypatch.setattr(drcnet.registry, "WEIGHTS_DIR", folder)
    return folder


@pytest.fixture
def empty_weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import drcnet.registry

    folder = tmp_path / "no-weights"
    folder.mkdir()
    monkeypatch.setattr(drcnet.registry, "WEIGHTS_DIR", folder)
    return folder


@pytest.fixture
def picture():  # noqa: ANN201
    """``picture(path, width, height, bit_depth)`` writes a test image."""
    return make_image


def make_image(path: Path, width: int = 96, height: int = 72, bit_depth: int = 8,
               seed: int = 0) -> Path:
    """A structured test picture: gradients, a bright square, noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([x / width, y / height, 0.5 + 0.4 * np.sin(x / 7) * np.cos(y / 5)], axis=2)
    rgb[height // 4 : height // 2, width // 4 : width // 2] = 0.9
    rgb = np.clip(rgb + rng.normal(0, 0.08, rgb.shape), 0, 1).astype(np.float32)
    write_image(path, rgb, bit_depth=bit_depth)
    return path


@pytest.fixture
def image_path(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    return make_image(folder / "noisy.png")


@pytest.fixture
def make_window(qtbot, weights_dir):  # noqa: ANN001, ANN201
    """Build MainWindows on the tiny weights; they are shut down after the test."""
    from app.main_window import MainWindow

    windows = []

    def make(task: str = "denoise", **kwargs):  # noqa: ANN003, ANN202
        w = MainWindow(task=task, device="cpu", **kwargs)
        qtbot.addWidget(w)
        w.show()
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.shutdown()


@pytest.fixture
def open_settled(qtbot):  # noqa: ANN001, ANN201
    """``open_settled(window, path)``: open an image and wait until nothing is left to
    compute."""

    def run(window, path: Path, timeout: int = 30000) -> None:  # noqa: ANN001
        window.open_image(path)
        qtbot.waitUntil(lambda: window.image is not None and window.is_settled(),
                        timeout=timeout)

    return run


@pytest.fixture
def make_gate(make_window):  # noqa: ANN001, ANN201
    """``make_gate(fn)`` → a :class:`Gate`. Gates are released before the windows shut down
    (this fixture depends on ``make_window``, so it is torn down first)."""
    gates = []

    def make(fn):  # noqa: ANN001, ANN202
        g = Gate(fn)
        gates.append(g)
        return g

    yield make
    for g in gates:
        g.release()


class Gate:
    """Wraps a function so calls block until :meth:`release`; counts calls and entries."""

    def __init__(self, fn) -> None:  # noqa: ANN001
        self.fn = fn
        self.open = threading.Event()
        self.entered = threading.Event()
        self.calls = 0

    def __call__(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN204
        self.calls += 1
        self.entered.set()
        if not self.open.wait(timeout=30):
            raise RuntimeError("gate never released")
        return self.fn(*args, **kwargs)

    def release(self) -> None:
        self.open.set()


@pytest.fixture
def boxes(monkeypatch):  # noqa: ANN001, ANN201
    """Record QMessageBox.critical calls instead of showing modal boxes."""
    calls: list[tuple[str, str]] = []

    def critical(parent, title, text, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append((title, text))
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "critical", staticmethod(critical))
    monkeypatch.setattr(QMessageBox, "information", staticmethod(critical))
    return calls


@pytest.fixture
def large_font():  # noqa: ANN201
    """The application font at 14 pt for the test (a large desktop font), then back."""
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    before = app.font()
    big = QFont(before)
    big.setPointSizeF(14)
    app.setFont(big)
    yield
    app.setFont(before)


@pytest.fixture
def dark_theme(qapp):  # noqa: ANN001, ANN201
    """The application's own theme (``app.main.apply_theme``) for the test, then Qt's
    again: its group boxes' margins decide what fits in a window."""
    from app.main import apply_theme

    style, palette, sheet = qapp.style().name(), qapp.palette(), qapp.styleSheet()
    apply_theme(qapp)
    yield
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    qapp.setStyle(style)

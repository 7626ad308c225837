"""Fixtures shared by the drcnet tests: pictures, photo folders, tiny weights."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from drcnet import DRCNet
from drcnet.weights import save_weights

Scene = Callable[..., np.ndarray]


def _scene(h: int = 96, w: int = 112, seed: int = 0) -> np.ndarray:
    """Flat patches with sharp edges over a smooth gradient: what blur and noise show on."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([0.3 + 0.2 * np.sin(xx / 9 + c) * np.cos(yy / 13) for c in range(3)], -1)
    for _ in range(8):
        x0, y0 = int(rng.integers(0, w - 16)), int(rng.integers(0, h - 16))
        x1, y1 = x0 + int(rng.integers(6, 24)), y0 + int(rng.integers(6, 24))
        cv2.rectangle(img, (x0, y0), (x1, y1), tuple(float(v) for v in rng.uniform(0.1, 0.9, 3)),
                      -1)
    return np.clip(img, 0, 1).astype(np.float32)


@pytest.fixture(scope="session")
def scene() -> Scene:
    """``scene(h, w, seed)``: a float32 RGB test picture."""
    return _scene


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded random DRCNet(wf=8, depth=2) saved as safetensors."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    save_weights(path, DRCNet(wf=8, depth=2))
    return path


def write_photo(path: Path, h: int, w: int, seed: int) -> Path:
    """Write a smooth random colour photo (``h×w`` PNG) and return its path."""
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8), (w, h))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)
    return path


@pytest.fixture
def make_photo() -> Callable[[Path, int, int, int], Path]:
    """``make_photo(path, h, w, seed)``: :func:`write_photo` for tests that build folders."""
    return write_photo


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A folder of three small clean photos of different sizes."""
    for i in range(3):
        write_photo(tmp_path / "clean" / f"p{i}.png", 80 + 8 * i, 96, i)
    return tmp_path / "clean"

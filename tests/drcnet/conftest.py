"""Fixtures shared by the evaluation, baseline and sweep tests."""

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

"""Small helpers shared by the drcnet and app tests."""

from __future__ import annotations

import numpy as np
import torch

from drcnet import DRCNet
from drcnet.inference import forward_image


def peak_of(model: DRCNet, rgb: np.ndarray) -> float:
    """The range check's peak (the deepest stage-2 block's largest |activation|) of one
    forward pass over ``rgb``."""
    store: list[torch.Tensor] = []
    model.peak_probe = store
    try:
        forward_image(model, rgb)
    finally:
        model.peak_probe = None
    return float(store[0].max())


def read_only(monkeypatch, folder) -> None:  # noqa: ANN001
    """Make ``folder`` refuse new files as a read-only mount does (tests run as root here,
    who writes past permission bits, so a read-only folder cannot simply be made)."""
    import errno
    import tempfile

    real = tempfile.TemporaryFile

    def temporary_file(*a, dir=None, **kw):  # noqa: ANN002, ANN003, ANN202, A002
        if dir is not None and str(dir) == str(folder):
            raise OSError(errno.EROFS, "Read-only file system")
        return real(*a, dir=dir, **kw)

    monkeypatch.setattr(tempfile, "TemporaryFile", temporary_file)

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

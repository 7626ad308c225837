"""DRCNet: the Dynamic Image Restoration Contrastive Network, as a library (no Qt)."""

from __future__ import annotations

from .errors import (
    Cancelled,
    DeviceError,
    DRCNetError,
    ImageReadError,
    ImageWriteError,
    NoWeightsError,
    UnsafeCheckpointError,
    WeightsError,
)
from .network import DRCNet, ModelConfig
from .registry import TASKS, load_model

__all__ = [
    "TASKS",
    "Cancelled",
    "DRCNet",
    "DRCNetError",
    "DeviceError",
    "ImageReadError",
    "ImageWriteError",
    "ModelConfig",
    "NoWeightsError",
    "UnsafeCheckpointError",
    "WeightsError",
    "load_model",
]
__version__ = "0.1.0"

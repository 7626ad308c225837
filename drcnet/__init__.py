"""DRCNet: the Dynamic Image Restoration Contrastive Network, as a library (no Qt)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import (
    Cancelled,
    DeviceError,
    DRCNetError,
    ImageReadError,
    ImageWriteError,
    NoWeightsError,
    UnsafeCheckpointError,
    UsageError,
    WeightsError,
)

if TYPE_CHECKING:  # for type checkers and editors; at run time they load on first use
    from .network import DRCNet, ModelConfig
    from .registry import TASKS, load_model

# The network and the registry import torch; they load on first use, so that importing a
# torch-free module (``drcnet.console``, ``drcnet.errors``) stays fast and Ctrl+C-safe.
_LAZY = {
    "DRCNet": "network",
    "ModelConfig": "network",
    "TASKS": "registry",
    "load_model": "registry",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'drcnet' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


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
    "UsageError",
    "WeightsError",
    "load_model",
]


def __dir__() -> list[str]:
    """What loads lazily too, so a notebook's completion offers ``load_model``."""
    return sorted({*globals(), *__all__})
__version__ = "0.1.0"

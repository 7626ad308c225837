from __future__ import annotations

import pytest
import torch

from drcnet.devices import DeviceError, available_devices, resolve_device


def test_cpu_always_listed_and_resolves() -> None:
    assert available_devices()[0] == ("cpu", "CPU")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}


def test_missing_devices_give_one_line_errors(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match="not available") as err:
        resolve_device("cuda")
    assert "\n" not in str(err.value)
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu")

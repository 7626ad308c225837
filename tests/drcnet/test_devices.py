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


def test_precision_auto_is_bf16_only_on_a_cpu_with_native_bfloat16(monkeypatch) -> None:
    import drcnet.devices as devices

    cpu = torch.device("cpu")
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: True)
    assert devices.resolve_precision("auto", cpu) == "bf16"
    assert devices.resolve_precision("auto", torch.device("cuda")) == "fp32"  # not measured
    assert devices.resolve_precision("fp32", cpu) == "fp32"
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)
    assert devices.resolve_precision("auto", cpu) == "fp32"
    assert devices.resolve_precision("fp16", torch.device("cuda")) == "fp16"
    with pytest.raises(DeviceError, match="fp16 runs emulated on the CPU"):
        devices.resolve_precision("fp16", cpu)
    with pytest.raises(DeviceError, match="bf16 runs emulated on this CPU"):
        devices.resolve_precision("bf16", cpu)  # about 130× slower than fp32 on AVX2
    with pytest.raises(DeviceError, match="unknown precision 'int8'"):
        devices.resolve_precision("int8", cpu)


def test_cpu_flags_are_read_from_cpuinfo(monkeypatch, tmp_path) -> None:
    import drcnet.devices as devices

    for flags, expect in (("fpu sse2 avx2 avx512f avx512_bf16", True), ("fpu sse2 avx2", False)):
        info = tmp_path / "cpuinfo"
        info.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
        monkeypatch.setattr(devices, "Path", lambda _p, info=info: info)
        devices.cpu_has_native_bf16.cache_clear()
        assert devices.cpu_has_native_bf16() is expect
    devices.cpu_has_native_bf16.cache_clear()


def test_malformed_cuda_names_are_a_device_error(monkeypatch) -> None:  # noqa: ANN001
    import torch

    from drcnet.devices import resolve_device
    from drcnet.errors import DeviceNameError

    for cuda in (True, False):  # a bad name is a usage error (exit 2) on every machine
        monkeypatch.setattr(torch.cuda, "is_available", lambda cuda=cuda: cuda)
        for name in ("cuda0", "cudax", "cuda:x"):
            with pytest.raises(DeviceNameError, match=f"unknown device '{name}'"):
                resolve_device(name)


def test_a_gpu_index_names_cuda_and_other_types_are_refused(monkeypatch) -> None:  # noqa: ANN001
    from drcnet.errors import DeviceNameError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match="'cuda:0' is not available"):
        resolve_device(0)  # torch's way of naming the first GPU
    for bad in (None, 1.5, True):  # had been AttributeError: no attribute 'strip'
        with pytest.raises(DeviceNameError, match="named by a string"):
            resolve_device(bad)


@pytest.mark.parametrize("avx512_bf16, amx", [(True, False), (False, True), (False, False)])
def test_native_bf16_is_found_without_proc_cpuinfo(monkeypatch, avx512_bf16, amx) -> None:  # noqa: ANN001
    """Windows and macOS have no /proc/cpuinfo: bf16 had been refused there, and auto had
    run fp32, on CPUs that compute it natively. torch's checks answer instead."""
    from pathlib import Path

    import drcnet.devices as devices

    real = Path.read_text

    def read_text(self, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        if str(self) == "/proc/cpuinfo":
            raise FileNotFoundError(self)
        return real(self, *a, **kw)

    monkeypatch.setattr(Path, "read_text", read_text)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16,
                        raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    devices.cpu_has_native_bf16.cache_clear()
    try:
        assert devices.cpu_has_native_bf16() is (avx512_bf16 or amx)
    finally:
        devices.cpu_has_native_bf16.cache_clear()

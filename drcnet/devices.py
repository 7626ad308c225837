"""Compute devices: what is really there, and turning a user's choice into a torch.device."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import torch

from .errors import DeviceError, DeviceNameError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
PRECISION_CHOICES = ("auto", "fp32", "fp16", "bf16")


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX-BF16): Linux's
    /proc/cpuinfo, else (Windows, macOS) what torch's CPU checks say."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return _torch_sees_bf16()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            return bool(flags & {"avx512_bf16", "amx_bf16"})
    return _torch_sees_bf16()


def _torch_sees_bf16() -> bool:
    """torch's own x86 checks (private, so any failure counts as no): AVX512-BF16, or AMX,
    whose every CPU so far also has AMX-BF16."""
    for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        check = getattr(torch.cpu, name, None)
        try:
            if check is not None and check():
                return True
        except Exception:  # noqa: BLE001 - a private API; absent or failing means no
            continue
    return False


def resolve_precision(name: str, device: torch.device) -> str:
    """Turn ``auto|fp32|fp16|bf16`` into the precision to run on ``device``.

    ``auto`` is bf16 autocast on a CPU with native bfloat16 (23–29 % faster there; outputs
    score 58–61 dB PSNR against fp32 and validation PSNR moves by at most 0.03 dB:
    docs/PERFORMANCE.md) and fp32 everywhere else; GPU precisions are chosen explicitly until
    they are measured. bf16 is refused on a CPU without native bfloat16, where it is emulated
    about 130× slower than fp32 (docs/PERFORMANCE.md), as fp16 is on every CPU.
    """
    if name not in PRECISION_CHOICES:
        raise DeviceNameError(f"unknown precision '{name}'; choose one of "
                              f"{', '.join(PRECISION_CHOICES)}")
    if name == "fp16" and device.type == "cpu":
        raise DeviceNameError("fp16 runs emulated on the CPU (minutes per image); use bf16, "
                              "fp32 or auto")
    if name == "bf16" and device.type == "cpu" and not cpu_has_native_bf16():
        # What this machine lacks, not a bad name: exit status 1, as for a missing GPU.
        raise DeviceError("bf16 runs emulated on this CPU (it has no AVX512-BF16 or AMX; "
                          "about 130× slower than fp32 here); use fp32 or auto")
    if name != "auto":
        return name
    return "bf16" if device.type == "cpu" and cpu_has_native_bf16() else "fp32"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[tuple[str, str]]:
    """Devices present on this machine as ``(id, label)``: CPU always, each CUDA device by
    name, and MPS on Apple silicon."""
    found = [("cpu", "CPU")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            found.append((f"cuda:{i}", f"CUDA {i}: {torch.cuda.get_device_name(i)}"))
    if _mps_available():
        found.append(("mps", "Apple MPS"))
    return found


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """Turn ``auto|cpu|cuda|cuda:N|mps`` (or a GPU's index N) into an available
    :class:`torch.device`.

    ``auto`` picks CUDA, then MPS, then the CPU.

    Raises:
        DeviceError: the device is unknown or not present on this machine.
    """
    if isinstance(name, torch.device):
        name = str(name)
    elif isinstance(name, int) and not isinstance(name, bool):
        name = f"cuda:{name}"  # torch's way of naming a GPU by its index
    elif not isinstance(name, str):
        raise DeviceNameError(f"a device is named by a string such as 'cpu' or 'cuda:0', "
                              f"got {name!r}")
    name = name.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not _mps_available():
            raise DeviceError("device 'mps' is not available on this machine; use --device cpu")
        return torch.device("mps")
    if re.fullmatch(r"cuda(:\d+)?", name):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device '{name}' is not available (no CUDA GPU found); use --device cpu"
            )
        dev = torch.device(name)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(
                f"device '{name}' does not exist; this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
        return dev
    raise DeviceNameError(f"unknown device '{name}'; use auto, cpu, cuda, cuda:N or mps")

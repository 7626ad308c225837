"""Saving and safely loading DRCNet weights.

Everything this project writes is safetensors, with the model configuration in the file's
metadata so a weight file is self-describing. Pickle-based ``.pth``/``.pt`` files (for
example from the reference implementation) are read only through
``torch.load(weights_only=True)``; a file that would run code on load is refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import pickle
import pickletools
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from . import keymap
from .errors import DRCNetError, UnsafeCheckpointError, UsageError, WeightsError
from .imageio import make_temp
from .network import DRCNet, ModelConfig
from .range_check import activation_limit, repair_above

_PICKLE_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin")
WEIGHT_SUFFIXES = (".safetensors", *_PICKLE_SUFFIXES)  # what load_state_dict reads
# Wrappers that training frameworks put around a state dict.
_WRAPPER_KEYS = ("state_dict", "params", "params_ema", "model", "net", "network")


def sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file (weights are identified by it in exports)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_weights_output(path: Path, what: str = "the output") -> None:
    """Refuse, before any work, a weight-file path that :func:`save_weights` could not write
    at the end: a folder, a name that is not ``.safetensors``, a folder that cannot be made
    (made here if missing) or written. ``what`` is how messages name it.

    Raises:
        UsageError: not a ``.safetensors`` name.
        DRCNetError: a folder, or a folder that cannot be made or written.
    """
    if path.is_dir():
        raise DRCNetError(f"{what} {path} is a folder; name a .safetensors file")
    if path.suffix.lower() != ".safetensors":
        raise UsageError(f"{what} must be a .safetensors file, got {path}")
    blocker = next((p for p in path.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise DRCNetError(f"cannot write {what} {path}: {blocker} is a file, not a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DRCNetError(f"cannot make the folder of {what} {path} "
                          f"({exc.strerror or exc})") from None
    if not os.access(path.parent, os.W_OK):
        raise DRCNetError(f"cannot write {what} {path}: its folder is not writable")


def save_weights(
    path: str | os.PathLike[str],
    model: DRCNet,
    metadata: dict[str, Any] | None = None,
    half: bool = False,
) -> None:
    """Write ``model``'s weights and configuration to a safetensors file, atomically.

    Args:
        path: target ``.safetensors`` file.
        model: the network (a DDP wrapper's ``.module`` too).
        metadata: extra JSON-serialisable facts (task, steps, data, …).
        half: store fp16 to halve the file size.
    """
    path = Path(path)
    state = {
        k: (v.detach().half() if half and v.is_floating_point() else v.detach()).cpu().contiguous()
        for k, v in model.state_dict().items()
    }
    meta = {"config": json.dumps(dataclasses.asdict(model.config)), "format": "drcnet-1"}
    for key, value in (metadata or {}).items():
        meta[key] = value if isinstance(value, str) else json.dumps(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = make_temp(path)
    mode = os.fstat(fd).st_mode & 0o777  # the umask's, which save_file's own file drops
    os.close(fd)
    try:
        save_file(state, tmp, metadata=meta)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The metadata of a safetensors weight file (empty for other formats)."""
    if not str(path).lower().endswith(".safetensors"):
        return {}
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except (SafetensorError, OSError) as exc:
        raise WeightsError(_unreadable(Path(path), exc, "safetensors weight file")) from None


def _unreadable(p: Path, exc: BaseException, kind: str) -> str:
    """Plain words first for a file that cannot be read; the reader's own words after."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot read {p}: {exc.strerror}"
    detail = str(exc).splitlines()[0] if str(exc) else ""
    if not any(c.isalpha() for c in detail):  # KeyError: 174812789 says more than 174812789
        detail = f"{type(exc).__name__}: {detail}".rstrip(": ")
    return (f"{p} is not a {kind} that can be read: damaged, cut short or another kind "
            f"of file ({detail})")


def _is_pickle(p: Path) -> bool:
    """Whether ``p`` is a zip (``torch.save``'s format) or a stream of pickle opcodes from end
    to end: then what ``weights_only`` refused is what it builds, not damage. Nothing in it is
    run: :mod:`pickletools` only reads the opcodes."""
    try:
        raw = p.read_bytes()
    except OSError:
        return False
    if raw.startswith(b"PK\x03\x04"):
        return True
    try:
        for _ in pickletools.genops(raw):
            pass
    except Exception:  # noqa: BLE001 (any parse failure means: not a pickle)
        return False
    return True


def load_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a state dict from safetensors or, safely, from a pickle checkpoint.

    Reference-implementation key names are translated by :mod:`drcnet.keymap`.

    Raises:
        WeightsError: missing or unreadable file, or no state dict inside.
        UnsafeCheckpointError: a pickle file that would run code or build arbitrary objects.
    """
    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"weight file {p} "
                           + ("is a folder" if p.is_dir() else "does not exist"))
    if p.suffix.lower() == ".safetensors":
        try:
            state = load_file(str(p))
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsError(_unreadable(p, exc, "safetensors weight file")) from None
    elif p.suffix.lower() in _PICKLE_SUFFIXES:
        try:
            with warnings.catch_warnings():  # "Detected pickle protocol 4": said below if
                warnings.simplefilter("ignore", UserWarning)  # it matters, in our words
                obj = torch.load(str(p), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            if not _is_pickle(p):  # junk ("Unsupported operand 103"), not code
                detail = str(exc).rpartition("WeightsUnpickler error:")[2].strip()
                raise WeightsError(_unreadable(p, Exception(detail), "PyTorch checkpoint")) \
                    from None
            raise UnsafeCheckpointError(
                f"refused to load {p.name}: it would run code or build arbitrary objects on "
                "load; convert it to safetensors from a trusted source"
            ) from None
        except Exception as exc:  # junk makes torch.load raise KeyError, EOFError, …
            raise WeightsError(_unreadable(p, exc, "PyTorch checkpoint")) from None
        state = _unwrap(obj, p)
    else:
        raise WeightsError(
            f"unknown weight format {p.name}; use .safetensors (or a .pth/.pt state dict)"
        )
    if keymap.is_reference(state):
        state = keymap.from_reference(state)
    return state


def _unwrap(obj: Any, p: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict):
        for key in _WRAPPER_KEYS:
            if isinstance(obj.get(key), dict):
                return _unwrap(obj[key], p)
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    if isinstance(obj, dict) and "optimizer" in obj and "step" in obj:
        raise WeightsError(
            f"{p.name} is drcnet train's optimizer checkpoint, not weights; use "
            f"last.safetensors, best.safetensors or final.safetensors from {p.parent}")
    raise WeightsError(f"{p.name} holds no state dict of tensors")


def config_from_metadata(meta: dict[str, str]) -> ModelConfig | None:
    """The :class:`ModelConfig` stored in a weight file's metadata, if any.

    Raises:
        WeightsError: a ``config`` entry that is not a JSON object of numbers and booleans
            of the fields' kinds (weight files come from anywhere).
    """
    raw = meta.get("config")
    if not raw:
        return None
    try:
        stored = json.loads(raw)
    except ValueError:
        stored = None
    if not isinstance(stored, dict):
        raise WeightsError("the weight file's stored configuration is not a JSON object")
    values = {}
    for f in dataclasses.fields(ModelConfig):
        if f.name not in stored:
            continue
        v = stored[f.name]
        kind = {"int": int, "float": float, "bool": bool}[str(f.type)]
        ok = (isinstance(v, bool) if kind is bool else
              isinstance(v, int | float) and not isinstance(v, bool)
              and (kind is float or float(v).is_integer()))
        if not ok or (kind is float and not math.isfinite(v)):
            raise WeightsError(f"the weight file's stored configuration has {f.name}={v!r}, "
                               f"not {'a boolean' if kind is bool else 'a number'}")
        values[f.name] = kind(v)
    return ModelConfig(**values)


def trained_crop(meta: dict[str, str]) -> int | None:
    """The training crop side recorded in a weight file's metadata (``train_config.crop``)."""
    try:
        crop = json.loads(meta.get("train_config") or "{}").get("crop")
        return int(crop) if crop else None
    except (ValueError, TypeError, AttributeError):
        return None


def infer_config(state: dict[str, torch.Tensor]) -> ModelConfig:
    """Recover ``wf`` and ``depth`` from the tensor shapes of a state dict."""
    try:
        wf = state["embed1.weight"].shape[0]
        in_ch = state["embed1.weight"].shape[1]
    except KeyError:
        raise WeightsError("weights do not look like a DRCNet (no embed1/conv_01)") from None
    depth = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("encoder1."))
    return ModelConfig(wf=wf, depth=depth, in_ch=in_ch)


def build_model(
    path: str | os.PathLike[str], config: ModelConfig | None = None
) -> DRCNet:
    """Build a :class:`DRCNet` from a weight file, in eval mode on the CPU, in float32.

    The configuration comes from ``config``, else the file's metadata, else the shapes;
    ``model.train_crop`` from the metadata's training config; ``model.activation_limit``
    from :func:`drcnet.range_check.activation_limit`.
    """
    state = load_state_dict(path)
    meta = read_metadata(path)
    cfg = config or config_from_metadata(meta) or infer_config(state)
    try:
        model = DRCNet(wf=cfg.wf, depth=cfg.depth, t=cfg.t, delta=cfg.delta, ea=cfg.ea,
                       in_ch=cfg.in_ch)
    except ValueError as exc:
        raise WeightsError(f"{Path(path).name} does not fit DRCNet: {exc}") from None
    state = {k: v.float() for k, v in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        detail = ", ".join([*(f"missing {k}" for k in missing[:3]),
                            *(f"unexpected {k}" for k in unexpected[:3])])
        raise WeightsError(f"{Path(path).name} does not fit DRCNet(wf={cfg.wf}, "
                           f"depth={cfg.depth}): {detail}")
    model.train_crop = trained_crop(meta)
    model.activation_limit = activation_limit(path, meta)
    model.repair_above = repair_above(meta.get("task", ""))
    return model.eval()

"""Saving and safely loading DRCNet weights.

Everything this project writes is safetensors, with the model configuration in the file's
metadata so a weight file is self-describing. Pickle-based ``.pth``/``.pt`` files (for
example from the reference implementation) are read only through
``torch.load(weights_only=True)``; a file that would run code on load is refused.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import io
import json
import math
import os
import pickle
import pickletools
import stat
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load, load_file, save, save_file

from . import keymap
from .blocks import is_optional_key
from .errors import DRCNetError, UnsafeCheckpointError, UsageError, WeightsError
from .imageio import make_temp, remove_temp
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

    The configuration is ``model.config``, with the ``t``, ``delta`` and ``ea`` the model was
    built (and trained) with, which a loaded model starts with; knobs changed since with
    :meth:`~drcnet.network.DRCNet.configure` (``model.knobs``) are not stored.

    Args:
        path: target ``.safetensors`` file.
        model: the network (a DDP wrapper's ``.module`` too).
        metadata: extra JSON-serialisable facts (task, steps, data, …).
        half: store fp16 to halve the file size.

    Raises:
        UsageError: the arguments in ``torch.save``'s order (model first), or ``model`` not
            a network with a ``config``.
    """
    if isinstance(path, torch.nn.Module):  # torch.save(obj, f)'s order had met a raw TypeError
        raise UsageError(f"save_weights takes the file first: save_weights(path, model, "
                         f"metadata), got a {type(path).__name__} as the path")
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "config"):
        what = ("a state dict: pass the network it was loaded into" if isinstance(model, dict)
                else f"a {type(model).__name__}")
        raise UsageError(f"save_weights(path, model, metadata) saves a DRCNet, got {what}")
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
        if _utf8(tmp):
            save_file(state, tmp, metadata=meta)
        else:  # safetensors takes UTF-8 paths only
            with open(tmp, "wb") as f:
                f.write(save(state, metadata=meta))
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        remove_temp(tmp)
        raise


def _utf8(path: str | os.PathLike[str]) -> bool:
    """Whether safetensors, which takes UTF-8 paths only, can open ``path``: a Latin-1
    ``café.safetensors`` on Linux had been called damaged."""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _header_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """A safetensors file's metadata read from its header (an 8-byte little-endian length,
    then JSON), for a path safetensors cannot open."""
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        if not 2 <= size <= min(100 << 20, os.fstat(f.fileno()).st_size - 8):
            raise SafetensorError("invalid header size")
        try:
            header = json.loads(f.read(size))
        except ValueError as exc:
            raise SafetensorError(f"invalid header: {exc}") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The metadata of a safetensors weight file (empty for other formats)."""
    if not str(path).lower().endswith(".safetensors"):
        return {}
    try:
        if not _utf8(path):
            return _header_metadata(path)
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


def file_problem(p: Path) -> str | None:
    """Why ``p`` is not a file to read weights from, or None: it does not exist, is a folder,
    a link that loops or points nowhere, or not a regular file (a pipe would block)."""
    try:
        st = p.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{p} is a symbolic link that loops"
        if exc.errno != errno.ENOENT:  # a name too long, no permission on a folder, …
            return f"cannot read {p}: {exc.strerror or exc}"
        return f"{p} is a symbolic link to nothing" if os.path.islink(p) else f"{p} does not exist"
    if stat.S_ISDIR(st.st_mode):
        return f"{p} is a folder, not a weight file"
    if not stat.S_ISREG(st.st_mode):
        return f"{p} is not a regular file"
    return None


def _torch_reason(exc: BaseException) -> str:
    """What torch.load's refusal says about the file, without its preamble (which advises
    loading again with ``weights_only=False``, the thing never to do with such a file)."""
    text = str(exc).rpartition("WeightsUnpickler error:")[2]
    lines = [line.strip() for line in text.splitlines() if line.strip()
             and not line.startswith(("Weights only load failed", "Check the documentation"))]
    return lines[0] if lines else type(exc).__name__


def _is_pickle(p: Path) -> bool:
    """Whether ``p`` is a zip (``torch.save``'s format) or a stream of pickle opcodes from end
    to end: then what ``weights_only`` refused is what it builds, not damage. Nothing in it is
    run: :mod:`pickletools` only reads the opcodes."""
    try:
        raw = p.read_bytes()
    except OSError:
        return False
    if raw.startswith(b"PK\x03\x04"):  # torch.save's zip: its data.pkl is the pickle
        try:
            with zipfile.ZipFile(p) as z:
                name = next(n for n in z.namelist() if n.endswith("data.pkl"))
                raw = z.read(name)
        except (zipfile.BadZipFile, StopIteration, OSError, KeyError):
            return False
    # The old (non-zip) torch.save format is five pickles in a row (magic number, protocol,
    # system info, the object, its storages' keys), then raw storage bytes: each must parse
    # (reading only the first had called a damaged one "would run code").
    stream = io.BytesIO(raw)
    try:
        for _ in range(5):
            for _ in pickletools.genops(stream):
                pass
            if stream.tell() >= len(raw):
                break
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
    if (problem := file_problem(p)) is not None:
        raise WeightsError(f"weight file {problem}")
    if p.suffix.lower() == ".safetensors":
        try:
            state = load_file(str(p)) if _utf8(p) else load(p.read_bytes())
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsError(_unreadable(p, exc, "safetensors weight file")) from None
    elif p.suffix.lower() in _PICKLE_SUFFIXES:
        try:
            with warnings.catch_warnings():  # "Detected pickle protocol 4": said below if
                warnings.simplefilter("ignore", UserWarning)  # it matters, in our words
                obj = torch.load(str(p), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            # A global weights_only refused is what the file would build, however it ends
            # (torch's advice to re-run without weights_only is never passed on).
            unsafe = "unsupported global" in str(exc).lower()
            if not unsafe and not _is_pickle(p):  # junk ("Unsupported operand 103"), not code
                detail = _torch_reason(exc)
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
    except (ValueError, RecursionError):  # RecursionError: thousands of nested brackets
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
    for name, low, high in CONFIG_LIMITS:  # a 2.4 MB file had asked for a 23 GB network
        if name in values and not low <= values[name] <= high:
            raise WeightsError(f"the weight file's stored configuration has {name}="
                               f"{values[name]!r}, outside {low}..{high}")
    return ModelConfig(**values)


# Sizes a DRCNet weight file may ask for; beyond them it is damaged or hostile.
CONFIG_LIMITS = (("wf", 8, 1024), ("depth", 2, 8), ("in_ch", 1, 16))
CROP_RANGE = (16, 4096)  # training crops a file may record (they become the default tile)


def trained_crop(meta: dict[str, str]) -> int | None:
    """The training crop side recorded in a weight file's metadata (``train_config.crop``),
    when it is a whole number of pixels in :data:`CROP_RANGE` (-5 had become tile 0, one
    pass over the image, and 1e300 a 300-digit tile)."""
    try:
        crop = json.loads(meta.get("train_config") or "{}").get("crop")
    except (ValueError, TypeError, AttributeError, RecursionError):
        return None
    if isinstance(crop, bool) or not isinstance(crop, int | float) or not math.isfinite(crop):
        return None
    return int(crop) if float(crop).is_integer() and CROP_RANGE[0] <= crop <= CROP_RANGE[1] \
        else None


def infer_config(state: dict[str, torch.Tensor], name: str | None = None) -> ModelConfig:
    """Recover ``wf`` and ``depth`` from the tensor shapes of a state dict (read from the
    file ``name``, which messages name, if given).

    Raises:
        WeightsError: the shapes say no DRCNet (no ``embed1``, no ``encoder1.<n>`` blocks).
    """
    try:
        wf, in_ch = state["embed1.weight"].shape[:2]
        depth = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("encoder1."))
    except (KeyError, ValueError, IndexError):
        where = f" in {name}" if name else ""
        raise WeightsError(f"the weights{where} do not look like a DRCNet (no embed1 "
                           "convolution, or no encoder1.<n> blocks)") from None
    return ModelConfig(wf=int(wf), depth=depth, in_ch=int(in_ch))


def build_model(
    path: str | os.PathLike[str], config: ModelConfig | None = None
) -> DRCNet:
    """Build a :class:`DRCNet` from a weight file, in eval mode on the CPU, in float32.

    The configuration comes from ``config``, else the file's metadata, else the shapes;
    ``model.train_crop`` from the metadata's training config; ``model.activation_limit``
    from :func:`drcnet.range_check.activation_limit`.

    Raises:
        WeightsError: the file cannot be read (:func:`load_state_dict`), asks for sizes
            beyond :data:`CONFIG_LIMITS`, holds tensors that are not finite floats, or its
            tensors do not fit the network its configuration names (checked on meta
            tensors, before a network is built).
        UnsafeCheckpointError: a pickle that would run code.
    """
    state = load_state_dict(path)
    meta = read_metadata(path)
    name = Path(path).name
    cfg = config or config_from_metadata(meta) or infer_config(state, name)
    for key, low, high in CONFIG_LIMITS:
        if not low <= getattr(cfg, key) <= high:
            raise WeightsError(f"{name} asks for {key}={getattr(cfg, key)}, outside "
                               f"{low}..{high}")
    for key, v in state.items():  # NaN weights had given NaN outputs, blamed on each image
        if not v.is_floating_point():
            raise WeightsError(f"{name} stores {key} as {v.dtype}, not floating point")
        if v.numel() and not all(map(math.isfinite, (float(m) for m in torch.aminmax(v)))):
            raise WeightsError(f"{name} holds NaN or infinite values in {key}")  # (aminmax:
            # NaN and inf carry through it, 5× faster than isfinite on a 300 MB file)
    # The shapes first, on meta tensors (no memory): a network built before the check could
    # be far larger than the file, and torch's size mismatch is a multi-line RuntimeError.
    try:
        with torch.device("meta"):
            shape = DRCNet(wf=cfg.wf, depth=cfg.depth, t=cfg.t, delta=cfg.delta, ea=cfg.ea,
                           in_ch=cfg.in_ch)
    except ValueError as exc:
        raise WeightsError(f"{name} does not fit DRCNet: {exc}") from None
    wanted = shape.state_dict()
    missing = [k for k in wanted if k not in state and not is_optional_key(k)]
    unexpected = [k for k in state if k not in wanted]
    if missing or unexpected:
        detail = ", ".join([*(f"missing {k}" for k in missing[:3]),
                            *(f"unexpected {k}" for k in unexpected[:3])])
        raise WeightsError(f"{name} does not fit DRCNet(wf={cfg.wf}, depth={cfg.depth}): "
                           f"{detail}")
    for key, v in wanted.items():
        if key in state and state[key].shape != v.shape:
            raise WeightsError(
                f"{name} does not fit DRCNet(wf={cfg.wf}, depth={cfg.depth}): {key} is "
                f"{'×'.join(map(str, state[key].shape))} in the file, "
                f"{'×'.join(map(str, v.shape))} in the network")
    model = DRCNet(wf=cfg.wf, depth=cfg.depth, t=cfg.t, delta=cfg.delta, ea=cfg.ea,
                   in_ch=cfg.in_ch)
    model.load_state_dict({k: v.float() for k, v in state.items()})
    model.train_crop = trained_crop(meta)
    model.activation_limit = activation_limit(path, meta)
    model.repair_above = repair_above(meta.get("task", ""))
    return model.eval()

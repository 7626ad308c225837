"""Training DRCNet: a frozen :class:`TrainConfig` and the :func:`train` generator.

``train(cfg)`` yields :class:`TrainProgress` records and returns a :class:`TrainResult`. It
checkpoints into ``cfg.out_dir`` every ``ckpt_every`` steps and every ``ckpt_minutes`` minutes
(``last.safetensors`` weights + ``state.pt`` optimizer state, both written atomically), resumes
from there automatically, validates on a fixed set (keeping ``best.safetensors``), keeps
``step<N>.safetensors`` snapshots every ``keep_every`` steps when asked, logs to ``log.csv``,
stops cleanly at ``max_minutes`` of (cumulative) wall time, and exports fp16 weights with
their provenance in the metadata.

Under ``torchrun`` it trains with DistributedDataParallel (NCCL on CUDA where it is built, else
Gloo, as in PyTorch's Windows wheels; Gloo on the CPU; several processes on Apple's GPU are
refused, Gloo cannot exchange its tensors); every rank draws different samples and only rank 0
writes files.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import dataclasses
import difflib
import errno
import gc
import hashlib
import json
import math
import numbers
import os
import platform
import time
import typing
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
import yaml
from torch import distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, Sampler

from .datasets import (
    PairedFolder,
    SyntheticPairs,
    ValidationSet,
    small_note,
    unpaired_note,
)
from .degradations import get_degradation
from .devices import resolve_device
from .errors import Cancelled, DeviceError, DRCNetError, UsageError, first_line
from .gpu_synthesis import GpuSynthesizer, supports
from .imageio import make_temp
from .inference import run
from .losses import PIXEL_LOSSES, FeaturePyramid, LossParts, RestorationLoss
from .metrics import psnr, ssim
from .network import DRCNet
from .registry import check_variant, is_noea
from .weights import check_weights_output, load_state_dict, read_metadata, save_weights

CancelFlag = Callable[[], bool]


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a mapping that names a key twice (PyYAML keeps the
    last silently, so a setting written twice would quietly lose one of its values)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"setting '{key}' is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run. Load with :meth:`from_yaml`."""

    task: str = "denoise"
    variant: str = "default"  # "noea", "gaussian-noea": EA bypassed; "gaussian": a denoise variant
    name: str = ""  # the run's name in progress and summary lines; default task or task-variant
    # model
    wf: int = 16
    depth: int = 4
    t: float = 0.75
    delta: float = 1e-6
    ea: bool = True
    # data
    data: str = "data/corpus/train"
    val_data: str = "data/corpus/val"
    layout: str = ""  # "" = synthetic pairs from clean photos; or rain13k/gopro/sidd
    degradation: str = ""  # recipe name; default the task's
    crop: int = 128
    batch_size: int = 32
    num_workers: int = 3  # DataLoader workers for synth=cpu
    synth: str = "auto"  # gpu: batched synthesis on the device | cpu: DataLoader | auto
    scale_aug: float = 1.0  # crops from regions up to this many times larger, shrunk (1 = off)
    color_aug: float = 0.0  # per-channel gains exp(U(-c, c)) of the clean crop (0 = off)
    sat_aug: float = 1.0  # chroma gain of half the clean crops, log-uniform in [1, s] (1 = off)
    # optimisation
    steps: int = 20000
    lr: float = 1e-3
    min_lr: float = 1e-5
    warmup_steps: int = 200
    weight_decay: float = 0.0
    grad_clip: float = 1.0  # a step whose loss or gradient norm is not finite is skipped
    ema: float = 0.0  # decay of an exponential moving average of the weights (0 = off); when
    # on, validation, best, keep_every snapshots and the export use the averaged weights
    pixel_loss: str = "l1"
    lowfreq: float = 0.0  # weight of an L1 on lowfreq_pool-px block means, each stage (0 = off);
    # it pins down area brightness and colour; the log's pixel column includes it
    lowfreq_pool: int = 16
    cr: str = "intra"  # none | intra | extra
    cr_alpha: float = 0.02
    cr_features: str = ""  # VGG19 weights file; "" = the seeded random pyramid
    cr_levels: int = 4
    cr_seed: int = 0
    # budget, validation, checkpoints, logging
    max_minutes: float = 0.0  # 0 = no limit; the cosine schedule also follows it
    val_every: int = 1000
    val_minutes: float = 2.0
    val_size: int = 256
    val_seed: int = 0
    val_draws: int = 1  # degradations per validation photo (seeds val_seed, val_seed + 1, …)
    ckpt_every: int = 1000
    ckpt_minutes: float = 2.0
    keep_every: int = 0  # also keep step<N>.safetensors every N steps, to pick from (0 = off)
    log_every: int = 50
    # runtime
    seed: int = 0
    device: str = "auto"
    amp: bool = True  # bf16 autocast on CUDA
    channels_last: bool = False
    compile: bool = False  # torch.compile the network for training; eager if compiling fails
    init_weights: str = ""  # start a fresh run from these weights (not used on resume)
    # None (the default): runs/<weight_name>, so runs of other tasks or variants do not meet
    # (every run had defaulted to runs/denoise); with_overrides derives it again.
    out_dir: str = None  # type: ignore[assignment]  # a str once made
    export: str = ""  # final fp16 weights; default <out_dir>/final.safetensors
    config_file: str = ""

    def __post_init__(self) -> None:
        _check_types(self)
        if self.task not in ("denoise", "derain", "deblur"):
            raise UsageError(f"unknown task '{self.task}'; choose denoise, derain or deblur")
        check_variant(self.task, self.variant)  # a WeightsNameError: a UsageError
        derived = self.out_dir is None
        if derived:
            object.__setattr__(self, "out_dir", f"runs/{self.weight_name}")
        # Not a field: with_overrides derives it again for the new task, variant or name.
        object.__setattr__(self, "_derived_out_dir", derived)
        if self.synth not in ("auto", "gpu", "cpu"):
            raise UsageError(f"unknown synth '{self.synth}'; choose auto, gpu or cpu")
        if self.scale_aug < 1.0 or self.color_aug < 0.0 or self.sat_aug < 1.0:
            raise UsageError(f"scale_aug and sat_aug must be >= 1 and color_aug >= 0 (1, 1 and "
                             f"0 = off), got {self.scale_aug}, {self.sat_aug} and "
                             f"{self.color_aug}")
        if not 0.0 <= self.ema < 1.0:
            raise UsageError(f"ema must be in [0, 1) (0 = off; 0.999 is typical), got {self.ema}")
        if self.keep_every < 0:
            raise UsageError(f"keep_every must be >= 0 (0 = off), got {self.keep_every}")
        if self.lowfreq < 0 or self.lowfreq_pool < 2:
            raise UsageError(f"lowfreq must be >= 0 (0 = off) and lowfreq_pool >= 2, got "
                             f"{self.lowfreq} and {self.lowfreq_pool}")
        if self.lowfreq and self.lowfreq_pool > self.crop:
            raise UsageError(f"lowfreq_pool ({self.lowfreq_pool}) must not exceed the crop "
                             f"({self.crop})")
        if self.pixel_loss not in PIXEL_LOSSES:
            raise UsageError(f"unknown pixel_loss '{self.pixel_loss}'; choose "
                             f"{', '.join(PIXEL_LOSSES)}")
        if is_noea(self.variant) and self.ea:
            object.__setattr__(self, "ea", False)
        for key in ("steps", "batch_size", "crop", "log_every", "val_every", "ckpt_every",
                    "val_draws"):
            if getattr(self, key) < 1:
                raise UsageError(f"{key} must be >= 1, got {getattr(self, key)}")
        for key in ("min_lr", "warmup_steps", "weight_decay", "grad_clip", "cr_alpha",
                    "max_minutes", "val_minutes", "ckpt_minutes", "num_workers", "seed",
                    "val_seed", "cr_seed"):
            if not getattr(self, key) >= 0:  # also refuses NaN
                raise UsageError(f"{key} must be >= 0, got {getattr(self, key)}")
        if not self.lr > 0:
            raise UsageError(f"lr must be > 0, got {self.lr}")
        # What the loader takes (drcnet.weights.CONFIG_LIMITS, CROP_RANGE): a run past them
        # wrote files that were then refused, or whose crop was ignored.
        for key, low, high in (("wf", 8, 1024), ("depth", 2, 8), ("crop", 16, 4096)):
            if not low <= getattr(self, key) <= high:
                raise UsageError(f"{key} must be {low} to {high}, got {getattr(self, key)}")
        if self.cr == "off":  # as a user says it (YAML's off reaches here as "off" too)
            object.__setattr__(self, "cr", "none")
        if self.cr not in ("none", "intra", "extra"):
            raise UsageError(f"unknown cr '{self.cr}'; choose none, intra or extra")
        if self.cr == "extra" and self.cr_alpha > 0 and self.batch_size < 2:
            raise UsageError("cr=extra takes its negatives from the other images of a batch: "
                             f"batch_size must be >= 2, got {self.batch_size}")
        if self.val_data and 0 < self.val_size < 16:
            raise UsageError(f"val_size must be 0 (whole images) or >= 16 (SSIM needs 11×11), "
                             f"got {self.val_size}")
        if self.val_size < 0:
            raise UsageError(f"val_size must be >= 0 (0 = whole images), got {self.val_size}")
        for key, what in (("data", "a folder of training photos (or a paired set's)"),
                          ("out_dir", "a folder for the run")):
            if not getattr(self, key).strip():  # it had been read as the current folder
                raise UsageError(f"{key} is empty: it must name {what}")
        for key in _PATH_SETTINGS:
            value = getattr(self, key)
            if value.startswith("~"):  # as a shell would; YAML and --set leave it
                object.__setattr__(self, key, os.path.expanduser(value))
        out = Path(self.out_dir).resolve()
        for key in ("data", "val_data"):  # before the run's lock is made there
            if getattr(self, key) and out == Path(getattr(self, key)).resolve():
                raise UsageError(f"out_dir {self.out_dir} is the {key} folder: the run's "
                                 "weights, state and log would be written among its photos; "
                                 "give the run a folder of its own (e.g. runs/<name>)")

    @property
    def weight_name(self) -> str:
        return self.name or (self.task if self.variant == "default" else
                             f"{self.task}-{self.variant}")

    @property
    def export_path(self) -> Path:
        return Path(self.export) if self.export else Path(self.out_dir) / "final.safetensors"

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str] | None,
                  overrides: Sequence[str] | dict[str, Any] = ()) -> TrainConfig:
        """Read a YAML file (or none), then apply ``key=value`` overrides."""
        raw: dict[str, Any] = {}
        where: dict[str, str] = {}
        if path is not None:
            p = Path(path)
            try:
                text = p.read_text(encoding="utf-8")
            except OSError as exc:
                raise DRCNetError(f"cannot read config {p}: {exc.strerror or exc}") from None
            try:  # a file that is not YAML, or names a setting twice, is wrong in itself
                raw = yaml.load(text, Loader=_UniqueKeyLoader) or {}
            except yaml.YAMLError as exc:
                for mark in (getattr(exc, "context_mark", None),
                             getattr(exc, "problem_mark", None)):
                    if mark is not None:  # name the file, not "<unicode string>"
                        mark.name = str(p)
                raise UsageError(f"config {p} is not valid YAML: {exc}") from None
            if not isinstance(raw, dict):
                raise UsageError(f"config {p} must be a mapping of settings")
            where = {"config_file": p.as_posix()}
        cfg = cls(**_coerce(raw, str(path)), **where)
        return cfg.with_overrides(overrides)

    def with_overrides(self, overrides: Sequence[str] | dict[str, Any]) -> TrainConfig:
        """A copy with ``key=value`` strings (values parsed as YAML) or a dict applied."""
        if isinstance(overrides, dict):
            items = dict(overrides)
        else:
            items = {}
            for item in overrides:
                key, sep, value = item.partition("=")
                if not sep:
                    raise UsageError(f"override '{item}' must look like key=value")
                key, value = key.strip(), value.strip()
                if _is_text(key):  # as typed: YAML would read yes/no/off as true/false
                    items[key] = value[1:-1] if value[:1] == value[-1:] and value[:1] in "'\"" \
                        and len(value) > 1 else value
                else:
                    items[key] = yaml.safe_load(value) if value else ""
        items = _coerce(items, "overrides")
        if "out_dir" not in items and getattr(self, "_derived_out_dir", False):
            items["out_dir"] = None  # runs/<weight_name> of the new settings
        return dataclasses.replace(self, **items)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def synth_on(self, device: torch.device) -> str:
        """Where training pairs are made: ``gpu`` (batched on ``device``) or ``cpu``.

        ``auto`` means ``gpu`` on CUDA (the on-device synthesizer has every recipe) and
        ``cpu`` elsewhere; paired folders are always ``cpu``.
        """
        if self.layout:
            return "cpu"
        if self.synth == "auto":
            on_gpu = device.type == "cuda" and supports(self.degradation or self.task)
            return "gpu" if on_gpu else "cpu"
        return self.synth


_YES, _NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_PATH_SETTINGS = ("data", "val_data", "out_dir", "export", "init_weights", "cr_features")


def _is_text(key: str) -> bool:
    return typing.get_type_hints(TrainConfig).get(key) is str


def _check_types(cfg: TrainConfig) -> None:
    """Refuse a setting of another type than its field's, with its name, and make the ones
    that fit plain (YAML and ``--set`` values come through :func:`_coerce`; this is for
    Python callers: ``TrainConfig(steps="5")`` had failed with "'<' not supported between
    instances of 'str' and 'int'"). A whole float (``steps=2e4``) is an int, a path a str.

    Raises:
        UsageError: naming the setting, the type it takes and the value.
    """
    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(cfg):
        kind, value = hints[f.name], getattr(cfg, f.name)
        if f.name == "out_dir" and value is None:  # derived in __post_init__
            continue
        number = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        if kind is bool and (isinstance(value, (bool, np.bool_))
                             or isinstance(value, numbers.Integral) and value in (0, 1)):
            value = bool(value)  # 0 and 1 as _coerce takes them
        elif kind is int and number and float(value).is_integer():
            value = int(value)
        elif kind is float and number:
            value = float(value)
        elif kind is str and f.name in _PATH_SETTINGS and isinstance(value, os.PathLike):
            value = os.fspath(value)
        elif kind is not str or not isinstance(value, str):
            what = {bool: "True or False", int: "a whole number", float: "a number"}.get(
                kind, "a path" if f.name in _PATH_SETTINGS else "text")
            raise UsageError(f"{f.name} must be {what}, got {value!r}")
        object.__setattr__(cfg, f.name, value)


def _coerce(raw: dict[str, Any], where: str) -> dict[str, Any]:
    hints = typing.get_type_hints(TrainConfig)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in hints or key == "config_file":  # that one from_yaml sets itself
            names = sorted(k for k in hints if k != "config_file")
            typed = key.replace("-", "_")
            close = difflib.get_close_matches(typed, names, n=1, cutoff=0.7) or [
                k for k in names if len(typed) >= 3 and k.startswith(typed + "_")][:1]
            hint = (f"did you mean '{close[0]}'?" if close
                    else f"known settings: {', '.join(names)}")
            raise UsageError(f"unknown setting '{key}' in {where}; {hint}")
        kind = hints[key]
        try:
            if kind is bool:
                word = value.strip().lower() if isinstance(value, str) else value
                flag = True if word in _YES else False if word in _NO else word
                if not isinstance(flag, bool) and flag not in (0, 1):  # YAML null, 2, "ture"
                    raise UsageError(f"setting '{key}' in {where} must be true or false "
                                     f"(or yes/no, on/off, 1/0), got {value!r}")
                out[key] = bool(flag)
            elif kind in (int, float) and isinstance(value, bool):  # true had run as 1
                raise UsageError(f"setting '{key}' in {where} must be a number, got "
                                 f"{str(value).lower()}")
            elif kind is int:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError(value)
                out[key] = int(value)
            elif kind is float:
                out[key] = float(value)
            elif isinstance(value, bool):  # YAML read off/no/yes/false in a config file
                if key == "cr" and not value:
                    out[key] = "none"  # cr: off
                elif key in _PATH_SETTINGS and not value:
                    out[key] = ""  # val_data: false, init_weights: no — none
                else:
                    raise UsageError(f"setting '{key}' in {where} is text, but YAML read it as "
                                     f"{str(value).lower()}: put it in quotes")
            else:
                out[key] = "" if value is None else str(value)
        except UsageError:  # said already, in its own words
            raise
        except (TypeError, ValueError):
            article = "an" if kind.__name__[0] in "aeiou" else "a"
            raise UsageError(f"setting '{key}' in {where} must be {article} {kind.__name__}, "
                             f"got {value!r}") from None
    return out


@dataclass(frozen=True)
class TrainProgress:
    """A progress record yielded during training."""

    step: int
    total: int
    loss: float = float("nan")
    message: str = ""
    lr: float = 0.0
    steps_per_s: float = 0.0
    samples_per_s: float = 0.0
    elapsed_s: float = 0.0
    val_psnr: float | None = None
    val_ssim: float | None = None

    def __post_init__(self) -> None:
        # A run resumed with fewer steps than it has done reads "step 10/10", not "10/6"
        # (its message says how many were asked for).
        if self.step > self.total:
            object.__setattr__(self, "total", self.step)

    @property
    def done(self) -> int:  # the generic progress-record name
        return self.step


@dataclass(frozen=True)
class TrainResult:
    """What a finished (or time-limited) run produced."""

    weights: Path | None
    best: Path | None
    steps: int
    wall_time_s: float
    stopped: str  # "steps" | "time"
    val_psnr: float | None = None
    val_ssim: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    digest: str = ""  # SHA-256 of this rank's final parameters (replicas must agree)


# ------------------------------------------------------------------------- helpers
# Items each (re)start of a run may draw before the next start's indices begin: 10^8, far
# more than any run draws between two starts (1000 epochs of the synthetic set's 100,000
# items; many more of a paired set's few hundred).
ITEMS_PER_START = 10**8


class InfiniteSampler(Sampler[int]):
    """Endless shuffled indices, disjoint across ranks; epoch ``e`` yields ``e·size + i``
    so datasets that accept any index draw fresh items every epoch. ``start``: how many
    (re)starts of the run came before; each begins :data:`ITEMS_PER_START` items on, so a
    resumed run draws items the run before it never drew (it had walked the same indices
    again, in another order: the same crops and degradations)."""

    def __init__(self, size: int, rank: int = 0, world: int = 1, seed: int = 0,
                 start: int = 0) -> None:
        self.size, self.rank, self.world, self.seed = size, rank, world, seed
        self.first_epoch = start * -(-ITEMS_PER_START // size)

    def __iter__(self) -> Iterator[int]:
        epoch = self.first_epoch
        while True:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            perm = torch.randperm(self.size, generator=g)[self.rank :: self.world]
            base = epoch * self.size
            for i in perm.tolist():
                yield base + i
            epoch += 1


def usable_cores() -> int:
    """The cores this process may run on (its affinity, where the system says), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


def _worker_init(_: int) -> None:
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def _clip_and_check(net: torch.nn.Module, loss: torch.Tensor, clip: float, d: _Dist) -> bool:
    """Clip the gradients to norm ``clip`` (if > 0); true when loss and norm are finite.

    One host sync per step; under DDP every rank takes the same decision.
    """
    params = [p for p in net.parameters() if p.grad is not None]
    norm = torch.nn.utils.clip_grad_norm_(params, clip if clip > 0 else math.inf)
    bad = (~torch.isfinite(loss.detach()) | ~torch.isfinite(norm)).float()
    if d.on:
        dist.all_reduce(bad, op=dist.ReduceOp.MAX)
    return not bool(bad.item())


def lr_at(cfg: TrainConfig, step: int, elapsed_s: float) -> float:
    """Linear warm-up, then cosine to ``min_lr`` over the steps or the time budget,
    whichever runs out first."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    frac = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    if cfg.max_minutes > 0:
        frac = max(frac, elapsed_s / (cfg.max_minutes * 60.0))
    frac = min(max(frac, 0.0), 1.0)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * frac))


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.machine()} CPU ({os.cpu_count()} cores)"


def param_digest(model: torch.nn.Module) -> str:
    """SHA-256 over a model's parameters and buffers, in state-dict order."""
    h = hashlib.sha256()
    for key, value in model.state_dict().items():
        h.update(key.encode())
        h.update(value.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _atomic_torch_save(obj: dict[str, Any], path: Path) -> None:
    fd, tmp = make_temp(path)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@torch.inference_mode()
def validate(model: DRCNet, data: Dataset[tuple[torch.Tensor, torch.Tensor]],
             device: torch.device, amp: bool = False) -> tuple[float, float]:
    """Mean PSNR (dB) and SSIM of the model's final output over a paired dataset."""
    was_training = model.training
    model.eval()
    ps, ss = [], []
    try:
        for i in range(len(data)):  # type: ignore[arg-type]
            x, y = data[i]
            with torch.autocast(device.type, torch.bfloat16, enabled=amp):
                out = model(x[None].to(device))[-1]
            o = out[0].float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
            gt = y.permute(1, 2, 0).numpy()
            ps.append(psnr(o, gt))
            ss.append(ssim(o, gt))
    finally:
        model.train(was_training)
    return float(np.mean(ps)), float(np.mean(ss))


class _Ema:
    """An exponential moving average of a network's weights (Polyak averaging).

    Training-time validation of a fine-tune moved by up to 0.9 dB between checkpoints 13
    steps apart (docs/training/burst5/); the average smooths that step-to-step noise. The
    decay ramps up as ``min(decay, (1 + n) / (10 + n))`` over the first updates ``n`` of a run,
    so a fresh average does not hold on to its starting weights.
    """

    def __init__(self, net: DRCNet, decay: float, state: dict[str, Any] | None = None) -> None:
        self.decay = decay
        self.net = copy.deepcopy(net).requires_grad_(False).eval()
        self.updates = 0
        if state is not None:  # resumed
            self.net.load_state_dict(state["weights"])
            self.updates = int(state["updates"])

    def state(self) -> dict[str, Any]:
        return {"weights": self.net.state_dict(), "updates": self.updates}

    @torch.no_grad()
    def update(self, net: DRCNet) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        mine = [t for t in self.net.state_dict().values() if t.is_floating_point()]
        theirs = [t.detach() for t in net.state_dict().values() if t.is_floating_point()]
        torch._foreach_lerp_(mine, theirs, 1.0 - d)


def _input_scores(data: ValidationSet) -> tuple[float, float]:
    """Mean PSNR and SSIM of the degraded inputs themselves."""
    ps, ss = [], []
    for i in range(len(data)):
        d, c = (t.permute(1, 2, 0).numpy() for t in data[i])
        # data_range given: unclipped noise (gaussianu's) may reach past 2
        ps.append(psnr(d, c, 1.0))
        ss.append(ssim(d, c, 1.0))
    return float(np.mean(ps)), float(np.mean(ss))


@dataclass
class _Dist:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    owns_group: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def on(self) -> bool:
        return self.world > 1


def _import_before_group() -> None:
    """Import ``torch.distributed.nn.functional`` while no process group exists.

    Its functions take ``group=group.WORLD`` as a default, evaluated at import, and
    DistributedDataParallel imports it. Imported after ``init_process_group`` it would hold the
    world group for the life of the process, so ``destroy_process_group`` could not free it: the
    Gloo worker threads lived on into interpreter shutdown, and one still dropping its last
    collective's tensors there needed the GIL and aborted the process ("terminate called
    without an active exception", about one ``torchrun`` run in 30 on 2 CPU cores).
    """
    import torch.distributed.nn.functional  # noqa: F401


def _setup(cfg: TrainConfig) -> _Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist(device=resolve_device(cfg.device))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(cfg.device)
    if device.type == "mps":  # gloo, the one backend there, takes CPU and CUDA tensors only
        raise DeviceError("several processes cannot train on Apple's GPU (mps): its tensors "
                          "cannot be exchanged between them; train in one process, or with "
                          "device=cpu")
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    else:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    owns = False
    if not dist.is_initialized():
        _import_before_group()
        # NCCL where it is built (not in PyTorch's Windows wheels, where gloo takes CUDA too).
        nccl = device.type == "cuda" and dist.is_nccl_available()
        dist.init_process_group("nccl" if nccl else "gloo")
        owns = True
    return _Dist(rank, world, device, owns)


class _CsvLog:
    FIELDS = ("step", "elapsed_s", "lr", "loss", "pixel", "cr", "steps_per_s",
              "samples_per_s", "val_psnr", "val_ssim", "skipped")

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            with open(path, "w", newline="") as f:
                csv.writer(f).writerow(self.FIELDS)

    def trim_after(self, step: int) -> int:
        """Drop the rows after ``step`` (a run killed after its last checkpoint logged steps
        its resume trains again); returns how many were dropped."""
        with open(self.path, newline="") as f:
            rows = list(csv.reader(f))
        if not rows:  # emptied (a full disk, a hand edit): the header comes back
            with open(self.path, "w", newline="") as f:
                csv.writer(f).writerow(self.FIELDS)
            return 0
        keep = [r for r in rows[1:] if not (r and r[0].isdigit() and int(r[0]) > step)]
        if len(keep) == len(rows) - 1:
            return 0
        fd, tmp = make_temp(self.path)
        with open(fd, "w", newline="") as f:
            csv.writer(f).writerows([rows[0], *keep])
        os.replace(tmp, self.path)
        return len(rows) - 1 - len(keep)

    def write(self, **row: Any) -> None:
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow(
                ["" if row.get(k) is None else (f"{row[k]:.6g}" if isinstance(row[k], float)
                                                else row[k]) for k in self.FIELDS])


# The task each paired benchmark layout was published for.
_LAYOUT_TASKS = {"rain13k": "derain", "gopro": "deblur", "sidd": "denoise"}


def _worker_message(text: str) -> str:
    """A DataLoader worker's error re-raised in the trainer carries the worker's traceback
    in its message; the user needs its last line."""
    if "Original Traceback" not in text:
        return text
    last = text.rstrip().splitlines()[-1]
    return last.split("Error: ", 1)[-1] if "Error: " in last else last


def _val_key(c: dict[str, Any]) -> str:
    """What validation scores are comparable across: the set, its size, seeds and recipe
    (from a config dict, so a checkpoint's stored config gives its run's key). '' = none."""
    if not c.get("val_data"):
        return ""
    return json.dumps([str(Path(c["val_data"]).expanduser().resolve()), c.get("layout", ""),
                       c.get("degradation") or c.get("task"), c.get("val_size"),
                       c.get("val_seed"), c.get("val_draws")])


def _check_apart(cfg: TrainConfig) -> None:
    """Refuse validation data that is (inside) the training data or holds it: folders are
    searched recursively, so the scores would be of images the network trained on."""
    if not cfg.val_data:
        return
    data = Path(cfg.data).expanduser().resolve()
    val = Path(cfg.val_data).expanduser().resolve()
    if val == data or data in val.parents:
        raise UsageError(
            f"val_data {cfg.val_data} {'is' if val == data else 'lies inside'} data "
            f"{cfg.data}, whose images (searched recursively) are all trained on: validation "
            "would score images the network has seen. Give val_data a folder of its own "
            "(e.g. data/corpus/val beside data/corpus/train), or val_data= for none")
    if val in data.parents:
        raise UsageError(
            f"data {cfg.data} lies inside val_data {cfg.val_data} (searched recursively), so "
            "validation would score the training images: give each a folder of its own")


def _build_data(cfg: TrainConfig, d: _Dist, starts: int
                ) -> tuple[Dataset[Any] | GpuSynthesizer, ValidationSet | None]:
    try:
        train_set = _training_pairs(cfg, d, starts)
    except DRCNetError as e:  # which setting is wrong: data or val_data
        raise _named(e, "data", cfg.data, cfg.config_file) from None
    val = None
    # A paired set is only listed here (read when scored), so every rank lists it: a wrong
    # val_data then stops them all, not rank 0 alone.
    if cfg.val_data and (d.main or cfg.layout):
        try:
            val = ValidationSet(cfg.val_data, cfg.degradation or cfg.task, cfg.val_seed,
                                cfg.val_size, draws=cfg.val_draws, layout=cfg.layout)
        except DRCNetError as e:
            if not cfg.layout:
                raise _named(e, "val_data", cfg.val_data, cfg.config_file) from None
            raise DRCNetError(f"val_data: {e}. With layout={cfg.layout} training is on paired "
                              f"data, so validation is too: give val_data a {cfg.layout} folder"
                              f" (such as its test split), or an empty val_data for none") from e
    return train_set, (val if d.main else None)


CORPUS = Path("data") / "corpus"  # what scripts/build_corpus.py builds, the configs' data


def _named(e: DRCNetError, setting: str, folder: str = "", config: str = "") -> DRCNetError:
    """``e`` with the setting it is about in front (a usage error stays one); for a relative
    folder that exists beside the ``config`` file's project (run from another folder), where
    it is read from; for the default corpus, not built yet, how to build it."""
    text = f"{setting}: {e}"
    path = Path(folder)
    # The project a config file belongs to: configs/'s parent, else the config's own folder
    # (configs/.. for a config lying elsewhere had named an unrelated folder one level up).
    here = Path(config).resolve().parent if config else None
    root = here.parent if here is not None and here.name == "configs" else here
    if folder and not path.exists() and not path.is_absolute() and root is not None \
            and (root / path).exists():
        text += (f" (relative paths are read from the current folder, {Path.cwd()}; run from "
                 f"{root} or give {setting}={root / path})")
    elif folder and not path.exists() and path.parent.as_posix().endswith(CORPUS.as_posix()):
        text += " (build the corpus first: python scripts/build_corpus.py)"
    return (UsageError if isinstance(e, UsageError) else DRCNetError)(text)


def _training_pairs(cfg: TrainConfig, d: _Dist, starts: int) -> Dataset[Any] | GpuSynthesizer:
    if cfg.layout:
        return PairedFolder(cfg.data, cfg.layout, cfg.crop, seed=cfg.seed)
    if cfg.synth_on(d.device) == "gpu":
        # A fresh stream per rank and per (re)start, like the sampler's seed below.
        seed = (cfg.seed * 1_000_003 + 7919 * starts) * 64 + d.rank
        return GpuSynthesizer(cfg.data, cfg.degradation or cfg.task, cfg.crop,
                              cfg.batch_size, d.device, seed=seed, scale_aug=cfg.scale_aug,
                              color_aug=cfg.color_aug, sat_aug=cfg.sat_aug)
    return SyntheticPairs(cfg.data, cfg.degradation or cfg.task, cfg.crop, seed=cfg.seed,
                          length=100_000, scale_aug=cfg.scale_aug, color_aug=cfg.color_aug,
                          sat_aug=cfg.sat_aug)


def _load_init(cfg: TrainConfig, net: DRCNet) -> None:
    """Start from ``cfg.init_weights`` (any precision) when it matches the model's shape."""
    path = Path(cfg.init_weights)
    stored = json.loads(read_metadata(path).get("config", "{}")) if path.is_file() else {}
    if stored and (stored.get("wf"), stored.get("depth")) != (cfg.wf, cfg.depth):
        raise DRCNetError(
            f"init_weights {path} has wf={stored.get('wf')}, depth={stored.get('depth')} but "
            f"the config asks for wf={cfg.wf}, depth={cfg.depth}; to train from it, "
            f"--set wf={stored.get('wf')} --set depth={stored.get('depth')} (a file drcnet "
            "widen wrote needs its new width), or set init_weights= to start from scratch")
    state = load_state_dict(path)  # raises WeightsError for a missing file
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise DRCNetError(f"init_weights {path} does not fit the model: "
                          f"{str(exc).splitlines()[0]}") from None
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise DRCNetError(f"init_weights {path} holds non-finite values (e.g. {bad[0]}); "
                          "start from scratch with init_weights=")


def _claim_out_dir(out: Path) -> Any:
    """Make ``out`` and hold an exclusive lock on its ``.lock`` file for the run, so a second
    run into the same folder is refused instead of mixing its checkpoints and log with this
    one's. The lock goes with the process, so a killed run leaves no stale claim. Returns
    the open lock file (close it to release): flock on POSIX, a region lock on Windows
    (:func:`_lock`); on a file system without locks the run goes on unlocked.

    Raises:
        DRCNetError: ``out`` is a file, cannot be made, or another run holds it.
    """
    if out.exists() and not out.is_dir():
        raise DRCNetError(f"out_dir {out} is a file, not a folder; choose another out_dir")
    try:
        out.mkdir(parents=True, exist_ok=True)
        f = open(out / ".lock", "a+")  # noqa: SIM115 (held open for the whole run)
    except OSError as exc:
        raise DRCNetError(f"cannot use out_dir {out} ({exc.strerror or exc})") from None
    try:
        _lock(f)
    except OSError as exc:
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES, errno.EDEADLK):
            return f  # a file system without locks (some network shares): run unlocked
        f.close()
        raise DRCNetError(f"another drcnet train is running into {out}; wait for it, stop "
                          "it, or use another out_dir") from None
    return f


def _lock(f: IO[str]) -> None:
    """Hold an exclusive lock on the open file ``f`` without waiting: flock on POSIX, a
    one-byte region lock on Windows. Raises OSError when another process holds it."""
    try:
        import fcntl
    except ImportError:
        import msvcrt

        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)  # EACCES or EDEADLK when held
        return
    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _refuse_old_run(out: Path) -> None:
    """A fresh run must not write into another run's folder: its log would continue the old
    one's and its first validation would replace the old run's best weights."""
    last = out / "last.safetensors"
    if last.is_file():
        step = read_metadata(last).get("step", "?")
        raise DRCNetError(f"{out} holds a run at step {step}; a fresh run (no resume) would mix "
                          "into its log and replace its best weights: use another out_dir, or "
                          "delete that one first")


# What a resume may change and the run then learns differently from (said in a note): the
# data, the losses, the optimiser's schedule, the knobs. Validation, the budget and the
# weight decay have notes of their own; paths, logging and the device change nothing learnt.
RESUME_NOTED = ("t", "delta", "data", "layout", "degradation", "crop", "batch_size",
                "scale_aug", "color_aug", "sat_aug", "lr", "min_lr", "warmup_steps",
                "grad_clip", "ema", "pixel_loss", "lowfreq", "lowfreq_pool", "cr", "cr_alpha",
                "cr_features", "cr_levels", "cr_seed", "seed", "amp")


def changed_settings(before: dict[str, Any], cfg: TrainConfig) -> list[str]:
    """``key old -> new`` for each :data:`RESUME_NOTED` setting ``cfg`` changes from the
    ``before`` one (a run's recorded ``train_config``)."""
    return [f"{k} {before[k]} -> {getattr(cfg, k)}" for k in RESUME_NOTED
            if k in before and before[k] != getattr(cfg, k)]


def _load_resume(cfg: TrainConfig, out: Path, net: DRCNet,
                 opt: torch.optim.Optimizer) -> dict[str, Any]:
    last, state_path = out / "last.safetensors", out / "state.pt"
    if not last.is_file():
        return {}
    meta = read_metadata(last)
    stored = json.loads(meta.get("config", "{}"))
    if (stored.get("wf"), stored.get("depth")) != (cfg.wf, cfg.depth):
        raise DRCNetError(
            f"{last} was trained with wf={stored.get('wf')}, depth={stored.get('depth')} but "
            f"the config asks for wf={cfg.wf}, depth={cfg.depth}; use another out_dir")
    # A run that changed what it learns would export one model's weights under another's
    # name, and compare validation scores of two problems for its best.
    was = {"task": meta.get("task"), "variant": meta.get("variant"), "ea": stored.get("ea")}
    for key, value in was.items():
        if value is not None and value != getattr(cfg, key):
            raise DRCNetError(
                f"{last} is a run with {key}={value} but the config asks for "
                f"{key}={getattr(cfg, key)}; use another out_dir (init_weights= starts a new "
                "run from its weights)")
    net.load_state_dict(load_state_dict(last))
    step = int(meta.get("step", "0"))
    saved: dict[str, Any] = {}
    if state_path.is_file():
        saved = torch.load(state_path, map_location="cpu", weights_only=True)
    notes: list[str] = []
    fits = [len(g["params"]) for g in saved.get("optimizer", {}).get("param_groups", [])] == [
        len(g["params"]) for g in opt.param_groups]  # a run from before a parameter was added
    same_step = int(saved.get("step", -1)) == step
    if same_step and fits:
        opt.load_state_dict(saved["optimizer"])
        state = saved
        was_wd = {g.get("weight_decay") for g in opt.param_groups}
        for g in opt.param_groups:  # the saved groups carry the old run's weight decay
            g["weight_decay"] = cfg.weight_decay
        if was_wd != {cfg.weight_decay}:
            notes.append(f"weight_decay {', '.join(map(str, sorted(was_wd)))} -> "
                         f"{cfg.weight_decay} from the config")
    elif same_step:
        # Only Adam's moments do not fit: the rest (the average, the best score, the count
        # of starts that keeps a resume's data fresh) carries on.
        state = {k: v for k, v in saved.items() if k != "optimizer"}
        notes.append(f"{state_path.name} holds Adam's moments for another set of parameters "
                     "(a run from before the spatial filter's region-norm scale and shift): "
                     "they start afresh; the rest of the run's state is kept")
    else:
        # Killed between the two writes of a checkpoint, or the file was deleted: the step,
        # the elapsed time (the schedule's clock) and the best score come from the weight
        # files' metadata; only Adam's moments are lost.
        why = ("is missing" if not saved else f"is from step {saved.get('step')}, not {step}")
        state = {"step": step, "elapsed_s": float(meta.get("wall_time_s", "0") or 0),
                 "skipped": int(meta.get("skipped_steps", "0") or 0),
                 # the count of starts is lost with it: one per step run is more than any
                 # run had, so the next start's data is still fresh (InfiniteSampler)
                 "starts": max(int(saved.get("starts", 0)), step)}
        best = out / "best.safetensors"
        if best.is_file():
            bm = read_metadata(best)
            with contextlib.suppress(ValueError, TypeError):
                state["best_psnr"] = float(bm["val_psnr"])
                state["val_key"] = _val_key(json.loads(bm.get("train_config", "{}")))
        notes.append(f"{state_path.name} {why}: Adam's moments start afresh; the step, "
                     f"elapsed time ({state['elapsed_s']:.0f} s) and best score come from "
                     "the weight files")
    with contextlib.suppress(ValueError, TypeError):  # a file without the record: no note
        before = json.loads(meta.get("train_config", "{}"))
        was = before.get("steps")  # a note of its own, with the lr it gives; a re-export
        # with fewer steps than done records those: the run's length was at least its step
        state["steps_was"] = max(was, step) if isinstance(was, int) else was
        changed = changed_settings(before, cfg)
        if changed:  # applied from here on; the export's record keeps the last values only
            notes.append("settings changed since the run's last checkpoint, used from here "
                         f"on: {', '.join(changed)}")
    state["notes"] = notes
    return state


# ---------------------------------------------------------------------------- train
def train(
    cfg: TrainConfig, resume: bool = True, cancel: CancelFlag | None = None
) -> Generator[TrainProgress, None, TrainResult]:
    """Train DRCNet as ``cfg`` says, yielding progress; returns the :class:`TrainResult`.

    Args:
        cfg: the run's configuration.
        resume: continue from ``cfg.out_dir`` if it holds a checkpoint.
        cancel: polled every step; when it returns true the run checkpoints and raises
            :class:`Cancelled` (resume later with the same ``out_dir``).
    """
    d = _setup(cfg)
    lock = None
    out = Path(cfg.out_dir)
    made = not out.exists()
    try:
        refused: DRCNetError | None = None
        if d.main:  # before any step: a long run must not fail at its end for its paths
            try:
                lock = _claim_out_dir(out)
                check_weights_output(cfg.export_path, "export")
            except DRCNetError as exc:
                refused = exc
        if d.on:  # the others stop too, in one line (they had died in DDP's first collective,
            # with a 30-line gloo traceback under rank 0's message)
            kind = 0.0 if refused is None else 2.0 if isinstance(refused, UsageError) else 1.0
            flag = torch.tensor([kind], device=d.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            if flag.item() and refused is None:  # with rank 0's kind, for the exit status
                error = UsageError if flag.item() == 2.0 else DRCNetError
                raise error(f"rank 0 could not start the run (its message says why); "
                            f"rank {d.rank} stops")
        if refused is not None:
            raise refused
        result = yield from _train(cfg, d, resume, cancel)
        if d.owns_group and dist.is_initialized():
            # Tear down only once every rank is past its last collective (rank 0 still
            # exports while the others finish); gloo could abort a rank whose peer closed
            # its sockets mid-shutdown.
            dist.barrier()
        return result
    finally:
        if lock is not None:
            lock.close()  # releases the claim (so does the process's end, however it ends)
            if made and [p.name for p in out.iterdir()] == [".lock"]:
                # a run that failed before writing anything leaves no folder of its own
                with contextlib.suppress(OSError):
                    (out / ".lock").unlink()
                    out.rmdir()
        if d.owns_group and dist.is_initialized():
            # Anything left in a reference cycle with the DDP wrapper would still hold the
            # group; collect it so destroy_process_group frees the group and joins its worker
            # threads now, while the interpreter can still serve them (_import_before_group).
            gc.collect()
            dist.destroy_process_group()


def _train(cfg: TrainConfig, d: _Dist, resume: bool, cancel: CancelFlag | None
           ) -> Generator[TrainProgress, None, TrainResult]:
    t0 = time.monotonic()
    device, cuda = d.device, d.device.type == "cuda"
    out = Path(cfg.out_dir)
    if d.main:
        out.mkdir(parents=True, exist_ok=True)
    if cuda:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(cfg.seed)
    net = DRCNet(wf=cfg.wf, depth=cfg.depth, t=cfg.t, delta=cfg.delta, ea=cfg.ea)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if resume:
        state = _load_resume(cfg, out, net, opt)
    else:
        _refuse_old_run(out)
        state = {}
    if not state and cfg.init_weights:
        _load_init(cfg, net)
    ema = _Ema(net, cfg.ema, state.get("ema")) if cfg.ema else None
    step = int(state.get("step", 0))
    prior_s = float(state.get("elapsed_s", 0.0))
    best_psnr = float(state.get("best_psnr", -math.inf))
    ema_note = ""
    if step and bool(cfg.ema) != ("ema" in state):
        best_psnr = -math.inf  # the best so far was scored on the other network
        ema_note = ("ema: no saved average to resume, a fresh one starts from these weights"
                    if cfg.ema else "ema off: the saved average is dropped")
    starts = int(state.get("starts", 0)) + 1
    notes: list[str] = list(state.get("notes", []))
    val_key = _val_key(cfg.to_dict())
    # The last validation, so a resume that trains no further step neither scores (and logs)
    # it again nor exports without its scores.
    val_scores: tuple[float, float] | None = None
    val_step = 0  # the step val_scores were measured at
    if step and "val_key" in state and state["val_key"] != val_key:
        if math.isfinite(best_psnr):
            notes.append(f"validation changed since step {step} (val_data, its size, seeds or "
                         f"recipe): the best so far ({best_psnr:.2f} dB) does not compare, so "
                         "the next validation replaces best.safetensors")
        best_psnr = -math.inf
    elif step and state.get("val_scores") is not None:
        val_scores = tuple(state["val_scores"])  # type: ignore[assignment]
        val_step = int(state.get("val_step", 0))
    budget_was = state.get("max_minutes")
    if step and budget_was is not None and float(budget_was) != cfg.max_minutes:
        notes.append(f"max_minutes {float(budget_was):g} -> {cfg.max_minutes:g}: the budget "
                     "counts the whole run, and the cosine schedule follows the new one from "
                     f"its {prior_s / 60:.1f} min so far (lr now {lr_at(cfg, step, prior_s):.2e})")
    steps_was = state.get("steps_was")
    if step and isinstance(steps_was, int) and steps_was != cfg.steps and step < cfg.steps:
        # A longer run had restarted the cosine from near its floor without a word.
        notes.append(f"steps {steps_was} -> {cfg.steps}: the cosine schedule follows the new "
                     f"length from step {step} (lr now {lr_at(cfg, step, prior_s):.2e})")
    net.to(device)
    if cfg.channels_last:
        net.to(memory_format=torch.channels_last)
    if ema is not None:
        ema.net.to(device)
    shown = ema.net if ema is not None else net  # what is validated, kept and exported
    for s in opt.state.values():  # optimizer state follows the parameters' device
        for k, v in s.items():
            if isinstance(v, torch.Tensor) and k != "step":
                s[k] = v.to(device)
    model: torch.nn.Module = net
    if d.on:
        model = DistributedDataParallel(net, device_ids=[device.index] if cuda else None)
    eager_model = model
    compiled_ok = False
    if cfg.compile:
        model = torch.compile(model)

    features = FeaturePyramid(cfg.cr_features or None, cfg.cr_levels, cfg.cr_seed)
    loss_fn = RestorationLoss(cfg.pixel_loss, cfg.cr, cfg.cr_alpha, features, cfg.lowfreq,
                              cfg.lowfreq_pool).to(device)
    _check_apart(cfg)
    train_set, val_set = _build_data(cfg, d, starts)
    batches: Iterator[Any]
    if isinstance(train_set, GpuSynthesizer):
        batches = iter(train_set)
    else:
        workers = min(cfg.num_workers, usable_cores())
        if workers < cfg.num_workers:  # more had made PyTorch warn that loading may freeze
            notes.append(f"num_workers {cfg.num_workers} -> {workers}: no more than the "
                         f"{workers} core{'s' if workers > 1 else ''} this run may use")
        loader = DataLoader(
            train_set, batch_size=cfg.batch_size,
            sampler=InfiniteSampler(len(train_set), d.rank, d.world,  # type: ignore[arg-type]
                                    cfg.seed + 7919 * starts, start=starts - 1),
            num_workers=workers, pin_memory=cuda, drop_last=True,
            worker_init_fn=_worker_init, persistent_workers=workers > 0,
            prefetch_factor=4 if workers > 0 else None,
            # Spawned, not forked: a worker forked after validation had used OpenCV's thread
            # pool hung for ever in cv2.setNumThreads (OpenCV 4.10 and 5.1 alike), so every
            # CPU run with workers stopped at step 0. The photos reach spawned workers in
            # one shared block (SyntheticPairs), not a copy each.
            multiprocessing_context="spawn" if workers > 0 else None,
        )
        batches = iter(loader)
    if d.main and not step and (out / "log.csv").is_file():
        # A run that left a log but no checkpoint (killed before its first one): this fresh
        # run starts its own log; the old one is kept beside it.
        n = 1
        while (out / f"log.old{n}.csv").exists():
            n += 1
        (out / "log.csv").rename(out / f"log.old{n}.csv")
        notes.append(f"log.csv held a run with no checkpoint (killed before its first): kept "
                     f"as log.old{n}.csv, and this run starts its own")
    log = _CsvLog(out / "log.csv") if d.main else None
    if log is not None and step:
        dropped = log.trim_after(step)
        if dropped:
            notes.append(f"log.csv: dropped {dropped} rows logged after the checkpoint at "
                         f"step {step} (those steps are trained again)")
    input_scores = _input_scores(val_set) if val_set is not None else None
    if input_scores:
        assert val_set is not None
        n, last = val_set.draws, cfg.val_seed + val_set.draws - 1
        draws = f" x {n} draws (seeds {cfg.val_seed}-{last})" if n > 1 else ""
        what = f"{cfg.layout} pairs" if cfg.layout else "images"
        yield TrainProgress(step, cfg.steps, message=(
            f"validation: {len(val_set.files)} {what}{draws}, "
            f"input PSNR {input_scores[0]:.2f} dB SSIM {input_scores[1]:.4f}"))
    if step:
        yield TrainProgress(step, cfg.steps, message=f"resumed from {out} at step {step}")
    elif cfg.init_weights:
        yield TrainProgress(step, cfg.steps, message=f"initialised from {cfg.init_weights}")
    for note in [*notes, ema_note]:
        if note:
            yield TrainProgress(step, cfg.steps, message=note)
    if ema is not None:
        yield TrainProgress(step, cfg.steps, message=(
            f"ema {cfg.ema}: validation, snapshots and the export use the averaged weights"))
    yield TrainProgress(step, cfg.steps, message=(
        f"training pairs: {type(train_set).__name__} on "
        f"{device if isinstance(train_set, GpuSynthesizer) else 'cpu'}"))
    if isinstance(train_set, PairedFolder):
        made_for = _LAYOUT_TASKS.get(cfg.layout)
        if made_for is not None and made_for != cfg.task:  # allowed: any paired data fits
            yield TrainProgress(step, cfg.steps, message=(
                f"layout={cfg.layout} is the {made_for} benchmark's layout, but this run "
                f"trains a {cfg.task} model (its weights are exported for {cfg.task})"))
        note = small_note(train_set.mirrored, len(train_set), cfg.crop, mirrored=True)
        if train_set.unpaired:
            yield TrainProgress(step, cfg.steps,
                                message=unpaired_note(train_set.unpaired, train_set.layout))
    else:  # SyntheticPairs or GpuSynthesizer
        recipe = get_degradation(cfg.degradation or cfg.task)
        if recipe.task != cfg.task:  # allowed, as a layout of another task is
            yield TrainProgress(step, cfg.steps, message=(
                f"degradation={recipe.name} is a {recipe.task} recipe, but this run trains a "
                f"{cfg.task} model (its weights are exported for {cfg.task})"))
        note = small_note(train_set.upscaled, len(train_set.files), train_set.need,
                          train_set.margin)
    if note:
        yield TrainProgress(step, cfg.steps, message=note)

    amp = cfg.amp and cuda
    elapsed = prior_s
    stopped = "steps"
    run_loss = torch.zeros(3, device=device)
    run_n = 0
    skipped = int(state.get("skipped", 0))
    rate_t, rate_step = time.monotonic(), step
    last_ckpt_t = last_val_t = time.monotonic()
    sps = 0.0
    stop = 0.0
    first_step = step
    if cfg.max_minutes > 0 and prior_s >= cfg.max_minutes * 60:
        stopped = "time"  # the budget was spent by earlier runs: just re-export
        yield TrainProgress(step, cfg.steps, message=(
            f"the {cfg.max_minutes:g}-minute budget was spent by earlier runs into {out} "
            f"({prior_s / 60:.1f} min): nothing to train, the weights are exported again; "
            "raise max_minutes to train further"))
    elif step >= cfg.steps:  # a finished run again, or one resumed with fewer steps
        yield TrainProgress(step, cfg.steps, message=(
            f"the run in {out} is at step {step} of the {cfg.steps} asked for: nothing to "
            "train, the weights are exported again; raise steps to train further"))

    def meta(extra: dict[str, Any] | None = None) -> dict[str, Any]:
        m: dict[str, Any] = {
            "task": cfg.task, "variant": cfg.variant, "step": step, "steps": step,
            "wall_time_s": round(elapsed, 1), "hardware": hardware(device),
            "world_size": d.world, "config_file": cfg.config_file,
            "train_config": cfg.to_dict(),
            "loss": _loss_text(cfg),
            "G": features.kind if cfg.cr != "none" else "none",
            "data": (f"{cfg.layout}:{cfg.data}" if cfg.layout else
                     f"synthetic {cfg.degradation or cfg.task} on {cfg.data} "
                     f"({len(getattr(train_set, 'files', []))} images), crop {cfg.crop}, "
                     f"made on the {'device' if isinstance(train_set, GpuSynthesizer) else 'cpu'}"),
            "torch": torch.__version__,
            "skipped_steps": skipped,
        }
        if cfg.init_weights:
            m["init_weights"] = cfg.init_weights
        if ema is not None:
            m["ema"] = cfg.ema
        if val_scores:
            m["val_psnr"], m["val_ssim"] = round(val_scores[0], 3), round(val_scores[1], 4)
            m["val_step"] = val_step  # a snapshot between validations carries an older score
        if input_scores:
            m["val_input_psnr"] = round(input_scores[0], 3)
        m.update(extra or {})
        return m

    def checkpoint() -> None:
        m = meta()
        if ema is not None:  # last holds the raw weights: the average's scores are not theirs
            for key in ("ema", "val_psnr", "val_ssim", "val_step"):
                m.pop(key, None)
            m["weights"] = "raw, not the ema average (that is in state.pt)"
        save_weights(out / "last.safetensors", net, m)
        saved = {"step": step, "optimizer": opt.state_dict(), "elapsed_s": elapsed,
                 "best_psnr": best_psnr, "starts": starts, "skipped": skipped,
                 "val_key": val_key, "val_scores": val_scores, "val_step": val_step,
                 "max_minutes": cfg.max_minutes}
        if ema is not None:
            saved["ema"] = ema.state()
        _atomic_torch_save(saved, out / "state.pt")

    model.train()
    while step < cfg.steps and stopped != "time":
        lr = lr_at(cfg, step, elapsed)
        for g in opt.param_groups:
            g["lr"] = lr
        try:
            x, y = next(batches)
        except DRCNetError as exc:  # from a DataLoader worker: its traceback is in the text
            raise DRCNetError(_worker_message(str(exc))) from None
        if run_n == 0 and step == first_step:  # periodic clocks start after the warm-up
            last_ckpt_t = last_val_t = time.monotonic()
        x = x.to(device, non_blocking=True)
        y = y.to(device, non_blocking=True)
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if model is eager_model or compiled_ok:
            parts = _forward_backward(model, loss_fn, opt, x, y, device, amp)
        else:
            # The first compiled step compiles. If that fails, train eagerly (one process
            # only: under DDP a rank that retried alone would fall out of step with the
            # others, so there the error ends the run). Later failures are real errors.
            failure = ""
            try:
                parts = _forward_backward(model, loss_fn, opt, x, y, device, amp)
                compiled_ok = True
            except torch.cuda.OutOfMemoryError:
                raise
            except Exception as exc:  # noqa: BLE001 - compilers fail with many types
                if d.on:
                    raise DRCNetError(f"torch.compile failed ({first_line(exc)}); "
                                      "train with compile=false") from exc
                failure = first_line(exc)
            if failure:  # retried outside the handler: the failed step's graph is freed
                model = eager_model
                yield TrainProgress(step, cfg.steps, message=(
                    f"torch.compile failed ({failure}); training eagerly"))
                parts = _forward_backward(model, loss_fn, opt, x, y, device, amp)
        if not _clip_and_check(net, parts.total, cfg.grad_clip, d):
            # One inf/NaN would poison Adam's moments (and clipping by a non-finite norm
            # multiplies every gradient by NaN): drop this step's gradients instead.
            opt.zero_grad(set_to_none=True)
            skipped += 1
        else:
            opt.step()
            if ema is not None:
                ema.update(net)
            run_loss += torch.stack([parts.total.detach(), parts.pixel, parts.cr])
            run_n += 1
        step += 1

        # One clock and one decision for everyone, so replicas keep identical learning
        # rates and stop at the same step: the latest elapsed time and the strongest stop
        # of any rank (a SIGTERM may reach one worker only: a `kill`, a node's agent; when
        # rank 0's flag was broadcast, that rank ignored it, then took the next Ctrl+C as a
        # second signal and died, and rank 0 with it, without a checkpoint).
        now = time.monotonic()
        elapsed = prior_s + (now - t0)
        stop = 0.0
        if cfg.max_minutes > 0 and elapsed >= cfg.max_minutes * 60:
            stop = 1.0
        if cancel is not None and cancel():
            stop = 2.0
        if d.on:
            flag = torch.tensor([stop, elapsed], dtype=torch.float64, device=device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            stop, elapsed = float(flag[0]), float(flag[1])

        if not d.main:
            if stop:
                break
            continue
        # ---- rank 0 only below: logging, validation, checkpoints
        is_log = step % cfg.log_every == 0 or step == cfg.steps or stop
        if is_log:
            vals = (run_loss / run_n).tolist() if run_n else [math.nan] * 3
            run_loss.zero_()
            run_n = 0
            t_now = time.monotonic()
            sps = (step - rate_step) / max(t_now - rate_t, 1e-9)
            rate_t, rate_step = t_now, step
            assert log is not None
            log.write(step=step, elapsed_s=elapsed, lr=lr, loss=vals[0], pixel=vals[1],
                      cr=vals[2], steps_per_s=sps, samples_per_s=sps * cfg.batch_size * d.world,
                      skipped=skipped)
            note = f" ({skipped} non-finite steps skipped)" if skipped else ""
            yield TrainProgress(step, cfg.steps, vals[0], f"loss {vals[0]:.4f}{note}", lr, sps,
                                sps * cfg.batch_size * d.world, elapsed)
        due_val = val_set is not None and (
            step % cfg.val_every == 0
            or (cfg.val_minutes > 0 and now - last_val_t >= cfg.val_minutes * 60))
        if due_val and not stop and step < cfg.steps:
            assert val_set is not None and log is not None
            val_scores, val_step = validate(shown, val_set, device, amp), step
            last_val_t = time.monotonic()
            if val_scores[0] > best_psnr:
                best_psnr = val_scores[0]
                save_weights(out / "best.safetensors", shown, meta())
            log.write(step=step, elapsed_s=elapsed, val_psnr=val_scores[0],
                      val_ssim=val_scores[1])
            yield TrainProgress(step, cfg.steps, message=(
                f"val PSNR {val_scores[0]:.2f} dB SSIM {val_scores[1]:.4f} "
                f"(best {best_psnr:.2f})"), elapsed_s=elapsed, val_psnr=val_scores[0],
                val_ssim=val_scores[1])
        if (step % cfg.ckpt_every == 0
                or (cfg.ckpt_minutes > 0 and now - last_ckpt_t >= cfg.ckpt_minutes * 60)):
            checkpoint()
            last_ckpt_t = time.monotonic()
        if cfg.keep_every and step % cfg.keep_every == 0:
            # fp16, as files ship (and small enough to come back from a lent GPU machine)
            save_weights(out / f"step{step:06d}.safetensors", shown, meta(), half=True)
        if stop:
            break
    if stop:
        stopped = "cancel" if stop == 2.0 else "time"

    result = TrainResult(None, None, step, elapsed, stopped, digest=param_digest(net))
    if d.main:
        checkpoint()  # first: a second Ctrl+C or a kill during validation loses nothing
        if stopped == "cancel":  # stop promptly: the next run validates
            raise Cancelled(f"training cancelled at step {step} (checkpoint saved); run it "
                            f"again with the same out_dir ({out}) to resume")
        if val_set is not None and (val_scores is None or val_step != step):
            val_scores, val_step = validate(shown, val_set, device, amp), step
            if val_scores[0] > best_psnr:
                best_psnr = val_scores[0]
                save_weights(out / "best.safetensors", shown, meta())
            assert log is not None
            log.write(step=step, elapsed_s=elapsed, val_psnr=val_scores[0],
                      val_ssim=val_scores[1])
            checkpoint()
        # best.safetensors counts only when scored on this validation (a changed one
        # dropped the old best's score, and the file is replaced at the next validation)
        best = (out / "best.safetensors" if (out / "best.safetensors").is_file()
                and math.isfinite(best_psnr) else None)
        export_net, export_meta = shown, meta({"stopped": stopped})
        if best is not None and val_scores is not None and best_psnr > val_scores[0]:
            # The best validated weights are exported; their scores come from its metadata.
            bm = read_metadata(best)
            export_net = DRCNet(wf=cfg.wf, depth=cfg.depth, t=cfg.t, delta=cfg.delta,
                                ea=cfg.ea)
            export_net.load_state_dict(load_state_dict(best))
            best_step = int(bm.get("step", "0"))
            export_meta.update(exported="best", exported_step=best_step, val_step=best_step,
                               val_psnr=float(bm.get("val_psnr", "nan")),
                               val_ssim=float(bm.get("val_ssim", "nan")))
            if bm.get("data"):  # what those weights were trained on, if the data changed since
                export_meta["data"] = bm["data"]
        else:
            export_meta["exported"] = "last"
        save_weights(cfg.export_path, export_net, export_meta, half=True)
        result = TrainResult(
            cfg.export_path, best, step, elapsed, stopped,
            export_meta.get("val_psnr"), export_meta.get("val_ssim"), export_meta,
            result.digest)
        scored = export_meta.get("val_psnr")
        yield TrainProgress(step, cfg.steps, message=(
            f"exported {cfg.export_path} ({export_meta['exported']}"
            + (f", val PSNR {scored:.2f} dB)" if scored is not None and math.isfinite(scored)
               else ", not validated)")),
            elapsed_s=elapsed, val_psnr=result.val_psnr, val_ssim=result.val_ssim)
    elif stopped == "cancel":
        raise Cancelled(f"training cancelled at step {step}")
    return result


def _loss_text(cfg: TrainConfig) -> str:
    """The loss in words, for the exported file's metadata."""
    text = f"{cfg.pixel_loss} on both stages"
    if cfg.lowfreq:
        text += f" + {cfg.lowfreq} * L1 of {cfg.lowfreq_pool}-px block means on both stages"
    if cfg.cr != "none":
        text += f" + {cfg.cr_alpha} * {cfg.cr}-CR"
    return text


def _forward_backward(model: torch.nn.Module, loss_fn: RestorationLoss,
                      opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                      device: torch.device, amp: bool) -> LossParts:
    """One training step's loss and gradients (the optimizer step is the caller's)."""
    with torch.autocast(device.type, torch.bfloat16, enabled=amp):
        outs = model(x)
        parts = loss_fn([o.float() for o in outs], y, x)
    opt.zero_grad(set_to_none=True)
    parts.total.backward()
    return parts


def run_to_end(gen: Generator[TrainProgress, None, TrainResult]) -> TrainResult:
    """Drain a training generator without reporting; returns its result."""
    return run(gen)

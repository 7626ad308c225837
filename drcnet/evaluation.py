"""``drcnet eval``: PSNR and SSIM of a trained model beside the degraded input and classical
baselines, on synthetic degradations of clean photos or on public paired folders.

Long work is a generator: :func:`evaluate` yields a :class:`~drcnet.inference.Progress`
record after each method on each image and returns an :class:`EvalResult`; a cancel callable
is checked before each of them. :class:`EvalData` (the images, degraded deterministically)
is shared with :mod:`drcnet.sweep`.

Conventions:

- Synthetic image ``i`` is degraded with ``numpy.random.default_rng((seed, i))``, the
  convention of :class:`drcnet.datasets.ValidationSet`, so ``--seed 0`` on the training
  validation folder scores the same pairs as the validation during training; unlike
  ``ValidationSet`` the drawn parameters (noise σ, blur kernel) are kept for the baselines.
- Images are centre-cropped to at most ``size``×``size`` (0 = whole). A recipe that needs
  context (blur) is applied to a crop ``margin`` px larger on each side that is then trimmed.
- The model runs on tiles of the crop it was trained on by default (its weight file records
  it; 256 px for every shipped model, and 256 when a file does not say), as ``drcnet
  restore`` does. DRCNet normalises over space, so tiles and whole images see different
  statistics and score differently; ``tile=0`` measures whole-image passes.
- Scores are means over images of per-image PSNR (dB, on [0, 1]) and SSIM; ``seconds`` is
  the wall time of the method summed over images (the model after one untimed warm-up pass).
- The model's passes are range-checked as ``drcnet restore``'s are (:mod:`drcnet.range_check`):
  :attr:`EvalResult.out_of_range` names the images where its activations left the trained
  range, so a score from a broken output is not read as a restoration.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .baselines import (
    GUIDED_EPS,
    GUIDED_RADIUS,
    MEDIAN_KSIZE,
    RAIN_AWARE_KSIZE,
    WIENER_LINEAR_NSR_SCALE,
    WIENER_NSR_PER_VAR,
    WIENER_SIGMA_FLOOR,
    BaselineUnavailable,
    bm3d_available,
    cbm3d_denoise,
    estimate_noise_sigma,
    guided_derain,
    median_derain,
    nlm_denoise,
    wiener_deconvolve,
    wiener_nsr,
)
from .compare import format_delta
from .datasets import (
    LAYOUTS,
    MIN_SIDE,
    check_min_side,
    list_images,
    match_pairs,
    read_pair,
    synthetic_pair,
    unpaired_note,
)
from .degradations import TASK_DEFAULT, get_degradation, linear_to_srgb, srgb_to_linear
from .errors import Cancelled, DRCNetError, ImageReadError, UsageError
from .imageio import atomic_write, clean_text, has_image_signature, image_size, read_image
from .inference import (
    DEFAULT_OVERLAP,
    DEFAULT_TILE,
    VIEWS,
    Progress,
    TileConfig,
    TilePeak,
    default_tile,
    model_device,
    overlap_for,
    restore_tiled,
    run,
)
from .metrics import psnr, ssim
from .network import DRCNet
from .range_check import check_peaks, peak_text
from .registry import TASKS

INPUT = "input (degraded)"
MODEL = "DRCNet"


# ----------------------------------------------------------------------------- config
@dataclass(frozen=True)
class RunConfig:
    """The model, images and inference settings that ``drcnet eval`` and ``drcnet sweep``
    share.

    Attributes:
        task: ``derain``, ``denoise`` or ``deblur`` (picks the shipped weights and baselines).
        data: a folder of clean images, or the root of a paired layout.
        weights: a weight file; empty for the shipped one.
        variant: ``default``, ``noea``, ``gaussian`` or ``gaussian-noea`` (shipped weights
            only).
        degradation: synthetic recipe (``gaussian25``, ``rain``, …); empty = the task's default.
        seed: base seed of the synthetic degradation.
        draws: degradations per image, with seeds ``seed`` … ``seed + draws - 1``; the scores
            are means over all of them (one draw of a varied recipe such as rain on a few
            photos is a narrow sample). Synthetic pairs only.
        paired: a paired layout (``rain13k``, ``gopro``, ``sidd``) instead of synthetic pairs.
        size: centre-crop side limit in px; 0 = whole images.
        tile: tile side for inference; 0 = whole image in one pass; ``None`` = the crop the
            model was trained on, else 256 (a result's config holds the tile used).
        overlap: tile overlap in px (at most a quarter of the tile).
        device: ``auto|cpu|cuda|mps``.
        limit: use at most this many images; 0 = all.
        precision: ``fp32`` (default, the model card's figures), ``bf16``, ``fp16`` or
            ``auto`` (see :func:`drcnet.devices.resolve_precision`).
        ensemble: views averaged per tile (1 = one pass; 4 or 8 rotated/mirrored views,
            :func:`~drcnet.inference.ensemble_views` gives the task's; that many times the
            work).
        repair: restore a tile over the model's range-check limit again with its colours
            pulled towards gray (:func:`drcnet.inference.repair_tiles`), as ``drcnet restore``
            and the GUI do; tiles within the limit are unaffected.
    """

    task: str
    data: str
    weights: str = ""
    variant: str = "default"
    degradation: str = ""
    seed: int = 0
    draws: int = 1
    paired: str = ""
    size: int = 512
    tile: int | None = None
    overlap: int = DEFAULT_OVERLAP
    device: str = "auto"
    limit: int = 0
    precision: str = "fp32"
    ensemble: int = 1
    repair: bool = True

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise UsageError(f"unknown task '{self.task}'; choose one of {', '.join(TASKS)}")
        if self.paired and self.degradation:
            raise UsageError("give either --degradation (synthetic pairs) or --paired, not both")
        if self.paired and self.paired not in LAYOUTS:
            raise UsageError(f"unknown layout '{self.paired}'; choose one of "
                             f"{', '.join(LAYOUTS)}")
        if self.size and self.size < MIN_SIDE:
            raise UsageError(f"--max-size must be 0 (whole images) or >= {MIN_SIDE}, "
                             f"got {self.size}")
        if self.draws < 1:
            raise UsageError(f"--draws must be >= 1, got {self.draws}")
        if self.paired and self.draws > 1:
            raise UsageError("--draws is for synthetic degradations; a paired set has one "
                             "degraded image per photo")
        if (self.tile or 0) < 0 or self.limit < 0 or self.overlap < 0:
            raise UsageError("--tile, --overlap and --limit must not be negative")
        if self.ensemble not in VIEWS:
            raise UsageError(f"ensemble must be one of {sorted(VIEWS)} views, "
                             f"got {self.ensemble}")

    @property
    def recipe(self) -> str:
        """The synthetic recipe's name ('' for paired data); refuses unknown names."""
        if self.paired:
            return ""
        try:
            return get_degradation(self.degradation or TASK_DEFAULT[self.task]).name
        except ValueError as exc:
            raise UsageError(str(exc)) from None

    def tiles(self) -> TileConfig:
        tile = DEFAULT_TILE if self.tile is None else self.tile
        return TileConfig(tile=tile, overlap=overlap_for(tile, self.overlap),
                          ensemble=self.ensemble, repair=self.repair)

    def for_model(self, net: DRCNet) -> RunConfig:
        """This config with what runs filled in: an unset tile resolved to the model's (its
        training crop), and the device and precision those the model runs on (``auto``
        said nothing in a saved result: bf16 or fp32?)."""
        return dataclasses.replace(
            self, tile=default_tile(net) if self.tile is None else self.tile,
            device=str(model_device(net)), precision=getattr(net, "precision", self.precision))


@dataclass(frozen=True)
class EvalConfig(RunConfig):
    """What ``drcnet eval`` measures: a :class:`RunConfig`, ``baselines`` to also run
    the task's classical methods, and the model's knobs ``t``, ``delta`` and ``ea`` for the
    run (``None`` = the model's own: its weight file's, or a lent model's current ones)."""

    baselines: bool = False
    t: float | None = None
    delta: float | None = None
    ea: bool | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.t is not None and not 0.0 < self.t < 1.0:
            raise UsageError(f"--t must lie in (0, 1), got {self.t}")
        if self.delta is not None and not 0.0 < self.delta < math.inf:
            raise UsageError(f"--delta must be finite and > 0, got {self.delta}")


# ------------------------------------------------------------------------------- data
@dataclass(frozen=True, eq=False)
class Sample:
    """One evaluation pair.

    Attributes:
        name: the (degraded) file's name.
        degraded: float32 RGB in [0, 1]. Shape: (H, W, 3).
        clean: float32 RGB in [0, 1], same shape.
        info: the synthetic degradation's drawn parameters (``sigma``, ``kernel``, …);
            empty for paired data.
    """

    name: str
    degraded: np.ndarray
    clean: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


class EvalData:
    """The evaluation pairs, loaded lazily and deterministically.

    Args:
        data: clean-image folder (synthetic) or paired-layout root.
        recipe: synthetic degradation recipe; ignored when ``paired`` is given.
        seed: base seed; image ``i`` uses ``default_rng((seed, i))``.
        paired: paired layout name, or empty for synthetic pairs.
        size: centre-crop side limit (0 = whole images).
        limit: at most this many images (0 = all).
        draws: synthetic degradations per image: draw ``k`` of image ``i`` uses
            ``default_rng((seed + k, i))``, the pairs of ``seed + k`` (samples are ordered by
            draw, then image).
    """

    def __init__(self, data: str | os.PathLike[str], recipe: str = "", seed: int = 0,
                 paired: str = "", size: int = 512, limit: int = 0, draws: int = 1) -> None:
        self.paired = paired
        self.size = int(size)
        self.seed = int(seed)
        self.draws = 1 if paired else int(draws)
        self.pairs: list[tuple[Path, Path]] = []
        self.files: list[Path] = []
        left_out = ""
        if paired:
            self.pairs, unpaired = match_pairs(data, paired)
            left_out = unpaired_note(unpaired, paired)
        else:
            self.files = list_images(data)
            self.degradation = get_degradation(recipe)
        if limit:
            self.pairs, self.files = self.pairs[:limit], self.files[:limit]
        # From the headers, before any image is scored: a file that is not an image, a
        # thumbnail or a pair of two sizes used to end the run at that image, all lost.
        for f in self.files:
            _check_header(f)
        for inp, tgt in self.pairs:
            a, b = _check_header(inp), _check_header(tgt)
            # Sorted: an EXIF orientation can turn one upright when read (read_pair checks
            # the decoded shapes exactly).
            if a is not None and b is not None and sorted(a) != sorted(b):
                # Both paths: with subfolders (Rain13k's, GoPro's) a bare name is ambiguous.
                raise DRCNetError(f"{inp} is {a[0]}×{a[1]} but {tgt} is {b[0]}×{b[1]}: the "
                                  "two images of a pair must be the same size")
        crop = f"centre crops <= {self.size} px" if self.size else "whole images"
        seeds = (f"seeds {self.seed}-{self.seed + self.draws - 1}" if self.draws > 1 else
                 f"seed {self.seed}")
        draws = f" x {self.draws} draws" if self.draws > 1 else ""  # what "images" counts
        what = (f"{len(self)} {paired} pairs" if paired else
                f"{len(self.files)} images{draws}, {self.degradation.name} {seeds}")
        self.description = f"{data}: {what}, {crop}" + (f" ({left_out})" if left_out else "")

    def __len__(self) -> int:
        return len(self.pairs) if self.paired else len(self.files) * self.draws

    def __getitem__(self, index: int) -> Sample:
        if self.paired:
            inp_path, tgt_path = self.pairs[index]
            return Sample(inp_path.name, *read_pair(inp_path, tgt_path, self.size))
        draw, index = divmod(index, len(self.files))
        if not 0 <= draw < self.draws:
            raise IndexError(index)
        path = self.files[index]
        rgb = read_image(path).rgb
        check_min_side(path, rgb.shape[1], rgb.shape[0])
        degraded, clean, info = synthetic_pair(rgb, self.degradation,
                                               self.seed + draw, index, self.size)
        name = path.name if self.draws == 1 else f"{path.name} (seed {self.seed + draw})"
        return Sample(name, degraded, clean, info)


def _check_header(path: Path) -> tuple[int, int] | None:
    """An image file's (width, height) from its header, refusing one too small to score or
    that is not an image at all; None where the header does not give the size."""
    size = image_size(path)
    if size is None and not has_image_signature(path):
        raise ImageReadError(f"{path} is not an image that can be decoded (corrupt or "
                             "unsupported); remove it from the data folder")
    if size is not None:
        check_min_side(path, *size)
    return size


def eval_data(cfg: RunConfig) -> EvalData:
    """The :class:`EvalData` a configuration names."""
    return EvalData(cfg.data, cfg.recipe, cfg.seed, cfg.paired, cfg.size, cfg.limit,
                    cfg.draws)


# -------------------------------------------------------------------------- baselines
def _sigma(sample: Sample) -> tuple[float, bool]:
    """The noise σ (0–255) and whether it is the true one (else estimated)."""
    if sample.info.get("kind") == "gaussian":
        return float(sample.info["sigma"]), True
    return estimate_noise_sigma(sample.degraded), False


def _nlm(sample: Sample) -> tuple[np.ndarray, str]:
    sigma, known = _sigma(sample)
    return nlm_denoise(sample.degraded, sigma), "h = 0.65·σ" + ("" if known else ", σ estimated")


def _cbm3d(sample: Sample) -> tuple[np.ndarray, str]:
    sigma, known = _sigma(sample)
    out = cbm3d_denoise(sample.degraded, sigma)
    return out, "sigma_psd = σ/255" + ("" if known else ", σ estimated")


def _wiener(sample: Sample) -> tuple[np.ndarray, str]:
    kernel = sample.info.get("kernel")
    if kernel is None:
        raise BaselineUnavailable("needs the true blur kernel (synthetic blur only)")
    sigma = sample.info.get("sigma")
    note = (f"true kernel, NSR = {WIENER_NSR_PER_VAR:g}·(σ²+{WIENER_SIGMA_FLOOR:g}²)"
            if sigma is not None else f"true kernel, NSR = {wiener_nsr(None):g}")
    nsr = wiener_nsr(sigma)
    if sample.info.get("linear"):  # blurlin: undo the blur where it was made, in linear light
        lin = wiener_deconvolve(srgb_to_linear(sample.degraded), kernel,
                                nsr * WIENER_LINEAR_NSR_SCALE)
        return linear_to_srgb(lin), f"{note}, ×{WIENER_LINEAR_NSR_SCALE:g} in linear light"
    return wiener_deconvolve(sample.degraded, kernel, nsr), note


def _median(sample: Sample) -> tuple[np.ndarray, str]:
    return median_derain(sample.degraded), f"{MEDIAN_KSIZE}×{MEDIAN_KSIZE}"


def _median_rain_aware(sample: Sample) -> tuple[np.ndarray, str]:
    k = RAIN_AWARE_KSIZE
    return median_derain(sample.degraded, k, rain_aware=True), f"min(input, median {k}×{k})"


def _guided(sample: Sample) -> tuple[np.ndarray, str]:
    k = RAIN_AWARE_KSIZE
    return guided_derain(sample.degraded), (f"guide = median {k}×{k} luma, r {GUIDED_RADIUS}, "
                                            f"eps {GUIDED_EPS:g}, min(input, ·)")


Runner = Callable[[Sample], tuple[np.ndarray, str]]


@dataclass(frozen=True)
class Baseline:
    """A classical method: ``run(sample)`` returns the restored image and a short note, or
    raises :class:`BaselineUnavailable`; ``missing`` says why it cannot run at all."""

    name: str
    run: Runner
    missing: Callable[[], str] = lambda: ""


BASELINES: dict[str, tuple[Baseline, ...]] = {
    "denoise": (
        Baseline("NLM (OpenCV)", _nlm),
        Baseline("CBM3D", _cbm3d,
                 lambda: "" if bm3d_available() else "not installed (pip install bm3d)"),
    ),
    "deblur": (Baseline("Wiener (true kernel)", _wiener),),
    "derain": (
        Baseline("median", _median),
        Baseline("median, rain-aware", _median_rain_aware),
        Baseline("guided filter, rain-aware", _guided),
    ),
}


# ---------------------------------------------------------------------------- results
@dataclass(frozen=True)
class MethodScore:
    """One row of the table: a method's mean scores over the images it ran on."""

    method: str
    psnr: float
    ssim: float
    seconds: float
    images: int
    note: str = ""

    @property
    def seconds_per_image(self) -> float:
        return self.seconds / self.images if self.images else math.nan


@dataclass(frozen=True)
class EvalResult:
    """What :func:`evaluate` returns.

    Attributes:
        config: the configuration evaluated.
        data: a one-line description of the images.
        rows: input, model, then baselines.
        knobs: ``{"t", "delta", "ea"}``, the knobs the model ran with.
        per_image: ``{"image", "method", "psnr", "ssim", "seconds"}`` for every run; the
            model's also have ``peak`` and, when the model has a calibrated limit,
            ``out_of_range`` (:mod:`drcnet.range_check`), and ``repaired_tiles`` where the
            repair restored tiles again.
        limit: the model's range-check limit (``None``: not checked).
    """

    config: EvalConfig
    data: str
    rows: tuple[MethodScore, ...]
    per_image: tuple[dict[str, Any], ...]
    knobs: dict[str, Any] = field(default_factory=dict)  # the model's t, delta, ea as run
    limit: float | None = None

    def row(self, method: str) -> MethodScore:
        for r in self.rows:
            if r.method == method:
                return r
        raise KeyError(method)

    @property
    def out_of_range(self) -> list[str]:
        """The images on which the model's activations left its trained range."""
        return [d["image"] for d in self.per_image if d.get("out_of_range")]

    @property
    def repaired(self) -> list[str]:
        """The images where the range check's repair restored tiles again (their scores are
        of the repaired outputs)."""
        return [d["image"] for d in self.per_image if d.get("repaired_tiles")]

    def range_line(self) -> str:
        """The range check over the run, in one line (its scores on flagged images may come
        from broken, blocky outputs, not from the restoration the figures are read as)."""
        peaks = [d["peak"] for d in self.per_image if "peak" in d]
        if self.limit is None or not peaks:
            return "range check: not checked (the model has no calibrated limit)"
        top = max((p if math.isfinite(p) else math.inf for p in peaks), default=0.0)
        where = f"largest peak {peak_text(top)}, limit {peak_text(self.limit)}"
        bad, fixed = self.out_of_range, self.repaired

        def names(some: list[str]) -> str:
            return ", ".join(some[:5]) + (f" and {len(some) - 5} more" if len(some) > 5 else "")

        repaired = (f"; repaired (tiles restored again with colours pulled towards gray) in "
                    f"{len(fixed)}: {names(fixed)}" if fixed else "")
        if not bad:
            state = "every image" if not fixed else "every image, as restored,"
            return f"range check: {state} within the trained range ({where}){repaired}"
        return (f"range check: {len(bad)} of {len(peaks)} images outside the trained range "
                f"({where}): {names(bad)}{repaired}")


class _Tally:
    def __init__(self, name: str) -> None:
        self.name = name
        self.psnr: list[float] = []
        self.ssim: list[float] = []
        self.seconds = 0.0
        self.notes: list[str] = []

    def add(self, p: float, s: float, seconds: float, note: str = "") -> None:
        self.psnr.append(p)
        self.ssim.append(s)
        self.seconds += seconds
        self.note(note)

    def note(self, note: str) -> None:
        # A note that extends another ("h = 0.65·σ, σ estimated" and "h = 0.65·σ") is said
        # once, in its longer form.
        if not note or any(n.startswith(note) for n in self.notes):
            return
        self.notes = [n for n in self.notes if not note.startswith(n)] + [note]

    def score(self) -> MethodScore:
        n = len(self.psnr)
        mean = (lambda v: float(np.mean(v))) if n else (lambda v: math.nan)
        return MethodScore(self.name, mean(self.psnr), mean(self.ssim), self.seconds, n,
                           "; ".join(self.notes))


# ---------------------------------------------------------------------------- running
def _check_cancel(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("evaluation cancelled")


def load_eval_model(cfg: RunConfig) -> DRCNet:
    """The model a config names: its weight file, or the shipped weights for its task."""
    from .registry import load_model

    return load_model(cfg.task, device=cfg.device, variant=cfg.variant,
                      weights=cfg.weights or None, precision=cfg.precision)


def evaluate(
    cfg: EvalConfig,
    cancel: Callable[[], bool] | None = None,
    model: DRCNet | None = None,
) -> Generator[Progress, None, EvalResult]:
    """Score the model (and optionally baselines) on every image, yielding progress.

    Args:
        cfg: what to evaluate.
        cancel: called before each method on each image; True raises :class:`Cancelled`.
        model: an already loaded model to use instead of ``cfg.weights``/the shipped one;
            the knobs ``cfg`` sets apply for the run and its own are restored afterwards.

    Returns:
        an :class:`EvalResult` (as the generator's return value).

    Raises:
        UsageError: ``cfg`` is not an :class:`EvalConfig` (a :class:`RunConfig` lacks the
            knobs, and had failed on ``cfg.t``).
    """
    if not isinstance(cfg, EvalConfig):
        raise UsageError(f"evaluate takes an EvalConfig, not {type(cfg).__name__}: make "
                         "EvalConfig(task=..., data=..., ...) (RunConfig is the part it "
                         "shares with SweepConfig)")
    data = eval_data(cfg)
    net = model if model is not None else load_eval_model(cfg)
    cfg = cfg.for_model(net)
    before = (net.knobs.t, net.knobs.delta, net.knobs.ea)
    net.configure(t=cfg.t, delta=cfg.delta, ea=cfg.ea)
    try:
        return (yield from _evaluate(cfg, data, net, cancel))
    finally:  # a model the caller lent keeps its knobs
        net.configure(*before)


def _evaluate(cfg: EvalConfig, data: EvalData, net: DRCNet,
              cancel: Callable[[], bool] | None) -> Generator[Progress, None, EvalResult]:
    tiles = cfg.tiles()
    baselines = BASELINES[cfg.task] if cfg.baselines else ()
    tallies = {name: _Tally(name) for name in (INPUT, MODEL, *(b.name for b in baselines))}
    missing = {b.name: b.missing() for b in baselines}
    runnable = [b for b in baselines if not missing[b.name]]
    per_image: list[dict[str, Any]] = []
    total = len(data) * (2 + len(runnable))
    done = 0

    def record(sample: Sample, name: str, out: np.ndarray, seconds: float,
               note: str = "", **extra: Any) -> str:
        # data_range given: a degraded input with unclipped noise may reach past 2
        p, s = psnr(out, sample.clean, 1.0), ssim(out, sample.clean, 1.0)
        tallies[name].add(p, s, seconds, note)
        per_image.append({"image": sample.name, "method": name, "psnr": p, "ssim": s,
                          "seconds": seconds, **extra})
        return f"{sample.name} {name}: {p:.2f} dB"

    for i in range(len(data)):
        _check_cancel(cancel)
        sample = data[i]
        if i == 0:  # untimed warm-up: first-call setup is not the model's speed
            run(restore_tiled(net, sample.degraded, tiles))
        done += 1
        yield Progress(done, total, record(sample, INPUT, sample.degraded, 0.0))
        _check_cancel(cancel)
        t0 = time.perf_counter()
        peaks: list[TilePeak] = []
        out = run(restore_tiled(net, sample.degraded, tiles, cancel, peaks))
        seconds = time.perf_counter() - t0
        report = check_peaks(peaks, net.activation_limit)
        extra: dict[str, Any] = {"peak": report.peak}
        if report.checked:
            extra["out_of_range"] = report.out_of_range
        if report.repaired:
            extra["repaired_tiles"] = len(report.repaired)
        done += 1
        yield Progress(done, total, record(sample, MODEL, out, seconds, **extra))
        for b in runnable:
            _check_cancel(cancel)
            t0 = time.perf_counter()
            try:
                out, note = b.run(sample)
                msg = record(sample, b.name, out, time.perf_counter() - t0, note)
            except BaselineUnavailable as exc:
                tallies[b.name].note(str(exc))
                msg = f"{sample.name} {b.name}: skipped"
            done += 1
            yield Progress(done, total, msg)
    rows = []
    for name, tally in tallies.items():
        row = tally.score()
        if missing.get(name):
            row = dataclasses.replace(row, note=missing[name])
        rows.append(row)
    knobs = {"t": net.knobs.t, "delta": net.knobs.delta, "ea": net.knobs.ea}
    return EvalResult(cfg, data.description, tuple(rows), tuple(per_image), knobs,
                      net.activation_limit)


# ---------------------------------------------------------------------------- output
def _fmt(x: float, spec: str) -> str:
    """``x`` formatted by ``spec``; a dash as wide, right-aligned, where it is NaN."""
    return format("—", f">{spec.split('.')[0]}") if math.isnan(x) else format(x, spec)


def weights_label(cfg: RunConfig) -> str:
    """Which weights a run used, in words: the file given, or the shipped task-variant's."""
    if cfg.weights:
        return str(cfg.weights)
    variant = "" if cfg.variant == "default" else f"-{cfg.variant}"
    return f"shipped {cfg.task}{variant} weights"


def format_table(result: EvalResult) -> str:
    """The result as an aligned text table with a header line describing the run."""
    cfg = result.config
    used = cfg.tiles().overlap  # what ran: a requested overlap over a quarter tile is lowered
    how = ("whole-image inference" if not cfg.tile
           else f"{cfg.tile}-px tiles, {used}-px overlap")
    if cfg.precision != "fp32":
        how += f", {cfg.precision}"
    if cfg.ensemble > 1:
        how += f", {cfg.ensemble}-view self-ensemble"
    if not cfg.repair:
        how += ", range repair off"
    weights = weights_label(cfg)
    k = result.knobs
    knobs = (f", t {k['t']:g}, δ {format_delta(k['delta'])}, EA {'on' if k['ea'] else 'off'}"
             if k else "")
    lines = [f"{cfg.task} on {result.data}; {weights}, {how}{knobs}"]
    width = max(len(r.method) for r in result.rows)
    head = f"{'method':<{width}}  {'PSNR dB':>8}  {'SSIM':>6}  {'s/image':>8}  {'total s':>8}"
    lines += [head + "  note", "-" * (len(head) + 6)]
    for r in result.rows:
        lines.append(f"{r.method:<{width}}  {_fmt(r.psnr, '8.2f')}  {_fmt(r.ssim, '6.4f')}  "
                     f"{_fmt(r.seconds_per_image, '8.2f')}  {r.seconds:8.2f}  {r.note}".rstrip())
    return "\n".join(lines)


CSV_FIELDS = ("method", "psnr_db", "ssim", "seconds_total", "seconds_per_image", "images", "note")


def _num(x: float) -> float | None:
    return round(x, 6) if math.isfinite(x) else None


def _row_dict(r: MethodScore) -> dict[str, Any]:
    num = _num
    return {"method": r.method, "psnr_db": num(r.psnr), "ssim": num(r.ssim),
            "seconds_total": round(r.seconds, 4), "seconds_per_image": num(r.seconds_per_image),
            "images": r.images, "note": r.note}


def csv_text(result: EvalResult) -> str:
    """The table (one row per method) as CSV; empty cells where a method did not run."""
    f = io.StringIO(newline="")
    w = csv.DictWriter(f, fieldnames=CSV_FIELDS, lineterminator="\n")  # \r\n reached pipes
    w.writeheader()
    for r in result.rows:
        w.writerow({k: "" if v is None else v for k, v in _row_dict(r).items()})
    return f.getvalue()


def write_csv(result: EvalResult, path: str | os.PathLike[str]) -> Path:
    """Write :func:`csv_text` to ``path`` (as :func:`write_text_file`)."""
    return write_text_file(path, csv_text(result))


def write_json(result: EvalResult, path: str | os.PathLike[str]) -> Path:
    """Write :func:`to_json`, and a newline, to ``path`` (as :func:`write_text_file`)."""
    return write_text_file(path, to_json(result) + "\n")


def write_text_file(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` and return it. A file is replaced whole (temp
    file, fsync, rename), so a full disk keeps the old one and leaves no half-written one;
    what is not a file (``/dev/stdout``, a pipe) is written to, not replaced.

    Raises:
        DRCNetError: the folder is missing, or the write failed (one sentence with the
            system's reason, not a traceback: a full disk, ``/dev/full``).
    """
    path = Path(path)
    if path.parent and not path.parent.is_dir():
        raise DRCNetError(f"output folder {path.parent} does not exist")
    data = text.encode("utf-8")
    if path.exists() and not path.is_file():
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError as exc:
            raise DRCNetError(f"Cannot write {path} ({exc.strerror or exc}).") from None
    else:  # through a link to the file it names, as open() writes, not over the link
        atomic_write(path.resolve(), data)
    return path


def to_json(result: EvalResult) -> str:
    """The configuration, the table and the per-image scores as JSON (NaN and ∞ become
    null)."""
    doc = {
        "config": dataclasses.asdict(result.config),
        "overlap_used": result.config.tiles().overlap if result.config.tile else None,
        "data": result.data,
        "knobs": result.knobs,
        "range_check": {"limit": result.limit, "out_of_range": result.out_of_range,
                        "repaired": result.repaired},
        "rows": [_row_dict(r) for r in result.rows],
        "per_image": [{k: (_num(v) if isinstance(v, float) else v) for k, v in d.items()}
                      for d in result.per_image],
    }
    return clean_text(json.dumps(doc, indent=2, ensure_ascii=False))  # names as they read

"""``drcnet sweep``: how a trained model's scores move with the runtime knobs t and δ.

The paper's supplement (Tables 1–2) retrains the network for each t in 0.50…0.95 and each δ in
1e-1…1e-7. This sweep does not retrain: it changes the knobs of one trained model between
forward passes with ``model.configure`` (no reload), so it measures *inference-time
sensitivity*, and every output says so.

Long work is a generator: :func:`sweep` yields a :class:`SweepProgress` record after each
image at each setting and returns a :class:`SweepResult`; :func:`write_outputs` writes
``sweep_t.csv``, ``sweep_delta.csv`` and ``sweep.png`` (drawn with OpenCV). The record that ends
a setting carries the sweep so far, so a caller that is stopped keeps (and can write) the
settings measured until then, marked partial.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import numbers
import os
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .blocks import PAPER_DELTA, PAPER_T
from .compare import format_delta
from .errors import Cancelled, DRCNetError, UsageError
from .evaluation import RunConfig, eval_data, load_eval_model, weights_label
from .imageio import atomic_write, clean_text, write_image
from .inference import Progress, TilePeak, restore_tiled, run
from .metrics import psnr, ssim
from .network import DRCNet
from .range_check import check_peaks

T_VALUES: tuple[float, ...] = tuple(round(0.50 + 0.05 * i, 2) for i in range(10))
DELTA_VALUES: tuple[float, ...] = tuple(10.0**-k for k in range(1, 8))
CAVEAT = "inference-time sensitivity (the paper retrained per value)"


@dataclass(frozen=True)
class SweepConfig(RunConfig):
    """What ``drcnet sweep`` measures: a :class:`~drcnet.evaluation.RunConfig` and the values.

    Attributes:
        t_values: thresholds swept at ``delta = delta_fixed``.
        delta_values: coefficients swept at ``t = t_fixed``.
        t_fixed, delta_fixed: the other knob's value in each sweep; ``None`` = the value the
            weight file stores (the result's config holds the value used).
        repair: off here (unlike ``drcnet eval``): a sweep measures the network's own response
            to t and δ, which restoring out-of-range tiles again would hide.
    """

    repair: bool = False
    t_values: tuple[float, ...] = T_VALUES
    delta_values: tuple[float, ...] = DELTA_VALUES
    t_fixed: float | None = None
    delta_fixed: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("t_values", "delta_values"):
            object.__setattr__(self, name, _values(name, getattr(self, name)))
        if not self.t_values or not self.delta_values:
            raise UsageError("a sweep needs at least one t and one delta value")
        fixed_t = () if self.t_fixed is None else (self.t_fixed,)
        fixed_d = () if self.delta_fixed is None else (self.delta_fixed,)
        bad_t = [t for t in (*self.t_values, *fixed_t) if not 0.0 < t < 1.0]
        bad_d = [d for d in (*self.delta_values, *fixed_d) if not d > 0.0]
        if bad_t or bad_d:
            raise UsageError(f"t must lie in (0, 1) and delta be > 0; got {bad_t or bad_d}")


def _values(name: str, values: object) -> tuple[float, ...]:
    """``values`` (a sequence of numbers: a tuple, a list, an array) as a tuple of floats.

    Raises:
        UsageError: one number (``t_values=0.5`` had failed with "Value after * must be an
            iterable"), text, or an item that is not a number.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise UsageError(f"{name} must be a sequence of values, such as (0.5,) for one, got "
                         f"{values!r}")
    items = tuple(values)
    bad = [v for v in items if isinstance(v, bool) or not isinstance(v, numbers.Real)]
    if bad:
        raise UsageError(f"{name} must hold numbers, got {bad[0]!r}")
    return tuple(float(v) for v in items)


@dataclass(frozen=True)
class SweepPoint:
    """Mean scores at one knob setting; ``seconds`` is the summed inference time."""

    t: float
    delta: float
    psnr: float
    ssim: float
    seconds: float
    out_of_range: tuple[str, ...] = ()  # images whose activations left the trained range


@dataclass(frozen=True)
class SweepResult:
    """What :func:`sweep` returns: the input's scores and one point per swept value."""

    config: SweepConfig
    data: str
    images: int
    input_psnr: float
    input_ssim: float
    t_points: tuple[SweepPoint, ...]
    delta_points: tuple[SweepPoint, ...]
    limit: float | None = None  # the model's range-check limit (None: not checked)
    weights: str = ""  # which weights were swept, in words
    ea: bool = True  # energy attention on in the model

    @property
    def settings(self) -> tuple[int, int]:
        """How many settings were measured, and how many the configuration names (a setting
        shared by both sweeps counts in each, as in their CSVs)."""
        return (len(self.t_points) + len(self.delta_points),
                len(self.config.t_values) + len(self.config.delta_values))

    @property
    def partial(self) -> bool:
        """Whether the sweep was stopped before every setting was measured."""
        done, planned = self.settings
        return done < planned

    def partial_note(self) -> str:
        """The CSVs' and plot's mark of a partial sweep ("partial: stopped after 5 of 17
        settings"), or "" for a whole one."""
        done, planned = self.settings
        return f"partial: stopped after {done} of {planned} settings" if self.partial else ""

    @property
    def flagged(self) -> list[SweepPoint]:
        """The points where some image left the model's trained range: their scores may
        come from broken, blocky outputs (a sweep does not repair)."""
        return [p for p in (*self.t_points, *self.delta_points) if p.out_of_range]

    def range_line(self) -> str:
        """The range check over the sweep, in one line."""
        if self.limit is None:
            return "range check: not checked (the model has no calibrated limit)"
        bad = self.flagged
        if not bad:
            return "range check: every image within the trained range at every setting"
        images = sorted({name for p in bad for name in p.out_of_range})
        names = ", ".join(images[:5]) + (f" and {len(images) - 5} more" if len(images) > 5
                                         else "")
        n = len(self.t_points) + len(self.delta_points)
        return (f"range check: {len(bad)} of {n} settings (marked *) left the trained range "
                f"(limit {self.limit:g}) on {names}")


@dataclass(frozen=True)
class SweepProgress(Progress):
    """Yielded by :func:`sweep` after each image; ``result`` is the sweep so far (a partial
    :class:`SweepResult` of the settings whose every image is scored). A caller stopped part
    way (Ctrl+C, ``cancel``) writes the last record's with :func:`write_outputs`."""

    result: SweepResult | None = None


def sweep(
    cfg: SweepConfig,
    cancel: Callable[[], bool] | None = None,
    model: DRCNet | None = None,
) -> Generator[SweepProgress, None, SweepResult]:
    """Score the model at every t (δ fixed) and every δ (t fixed), yielding progress.

    The knobs are set with ``model.configure`` between passes and restored afterwards; a
    setting shared by both sweeps (t_fixed, delta_fixed) runs once.

    Args:
        cfg: what to sweep.
        cancel: called before each forward pass; True raises :class:`Cancelled` (the settings
            measured until then are in the last record's ``result``).
        model: an already loaded model to use instead of ``cfg.weights``/the shipped one.

    Returns:
        a :class:`SweepResult` (as the generator's return value).

    Raises:
        UsageError: ``cfg`` is not a :class:`SweepConfig`.
    """
    if not isinstance(cfg, SweepConfig):
        raise UsageError(f"sweep takes a SweepConfig, not {type(cfg).__name__}: make "
                         "SweepConfig(task=..., data=..., t_values=..., ...)")
    data = eval_data(cfg)
    net = model if model is not None else load_eval_model(cfg)
    cfg = dataclasses.replace(  # unset fixed knobs and tile: the model's own
        cfg.for_model(net), t_fixed=net.knobs.t if cfg.t_fixed is None else cfg.t_fixed,
        delta_fixed=net.knobs.delta if cfg.delta_fixed is None else cfg.delta_fixed)
    tiles = cfg.tiles()
    settings = [(t, cfg.delta_fixed) for t in cfg.t_values]
    settings += [(cfg.t_fixed, d) for d in cfg.delta_values]
    unique = list(dict.fromkeys(settings))
    samples = [data[i] for i in range(len(data))]
    total = len(unique) * len(samples)
    knobs = (net.knobs.t, net.knobs.delta)
    scores: dict[tuple[float, float], SweepPoint] = {}
    n = len(cfg.t_values)
    # data_range given: a degraded input with unclipped noise may reach past 2
    inputs = (float(np.mean([psnr(s.degraded, s.clean, 1.0) for s in samples])),
              float(np.mean([ssim(s.degraded, s.clean, 1.0) for s in samples])))

    def so_far() -> SweepResult:  # the settings measured, in each sweep's order
        return SweepResult(
            cfg, data.description, len(samples), *inputs,
            tuple(scores[k] for k in settings[:n] if k in scores),
            tuple(scores[k] for k in settings[n:] if k in scores),
            net.activation_limit, weights_label(cfg), bool(net.knobs.ea))

    done = 0
    try:
        if samples:
            run(restore_tiled(net, samples[0].degraded, tiles))  # untimed warm-up
        for t, delta in unique:
            net.configure(t=t, delta=delta)
            ps, ss, seconds, flagged = [], [], 0.0, []
            for sample in samples:
                if cancel is not None and cancel():
                    raise Cancelled("sweep cancelled")
                t0 = time.perf_counter()
                peaks: list[TilePeak] = []
                out = run(restore_tiled(net, sample.degraded, tiles, cancel, peaks))
                seconds += time.perf_counter() - t0
                if check_peaks(peaks, net.activation_limit).out_of_range:
                    flagged.append(sample.name)
                ps.append(psnr(out, sample.clean))
                ss.append(ssim(out, sample.clean))
                done += 1
                if len(ps) == len(samples):  # the setting's last image: its point is made
                    scores[(t, delta)] = SweepPoint(t, delta, float(np.mean(ps)),
                                                    float(np.mean(ss)), seconds,
                                                    tuple(flagged))
                yield SweepProgress(done, total, f"t={t:.2f} delta={format_delta(delta)} "
                                                 f"{sample.name}: {ps[-1]:.2f} dB", so_far())
    finally:
        net.configure(t=knobs[0], delta=knobs[1])
    return so_far()


# ---------------------------------------------------------------------------- output
SWEEP_FIELDS = ("t", "delta", "psnr_db", "ssim", "seconds_total", "input_psnr_db",
                "input_ssim", "out_of_range_images", "weights", "ea", "data", "note")


def _write_points(path: Path, points: Sequence[SweepPoint], result: SweepResult) -> None:
    note = "; ".join(n for n in (CAVEAT, result.partial_note()) if n)
    text = io.StringIO()
    w = csv.writer(text)
    w.writerow(SWEEP_FIELDS)
    for p in points:
        w.writerow([f"{p.t:.2f}", format_delta(p.delta), f"{p.psnr:.4f}", f"{p.ssim:.5f}",
                    f"{p.seconds:.3f}", f"{result.input_psnr:.4f}",
                    f"{result.input_ssim:.5f}", len(p.out_of_range),
                    clean_text(result.weights), "on" if result.ea else "off",
                    clean_text(result.data), note])  # names as they read
    atomic_write(path, text.getvalue().encode("utf-8"))  # a stop mid-write leaves the old one


def write_outputs(result: SweepResult, out_dir: str | os.PathLike[str]) -> tuple[Path, ...]:
    """Write ``sweep_t.csv``, ``sweep_delta.csv`` and ``sweep.png`` into ``out_dir``
    (created if needed) and return their paths. A partial result (:attr:`SweepResult.partial`)
    is written as a whole one is, each CSV row's ``note`` and the plot saying so; a sweep
    not reached has a CSV of its header alone and an empty panel."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DRCNetError(f"cannot create output folder {out}: {exc.strerror}") from None
    t_csv, d_csv, png = out / "sweep_t.csv", out / "sweep_delta.csv", out / "sweep.png"
    _write_points(t_csv, result.t_points, result)
    _write_points(d_csv, result.delta_points, result)
    write_image(png, plot_sweep(result))
    return t_csv, d_csv, png


def format_summary(result: SweepResult) -> str:
    """A few lines: each sweep's PSNR per value and its best value."""
    views = result.config.ensemble
    lines = [f"{result.config.task} on {result.data}"
             + (f" ({views}-view self-ensemble)" if views > 1 else "")
             + f", {result.weights}: input {result.input_psnr:.2f} dB; {CAVEAT}"]
    cfg = result.config
    for name, fixed, points, key in (
            ("t", f"delta = {format_delta(cfg.delta_fixed)}", result.t_points,
             lambda p: f"{p.t:.2f}"),
            ("delta", f"t = {cfg.t_fixed:.2f}", result.delta_points,
             lambda p: format_delta(p.delta))):
        sound = [p for p in points if not p.out_of_range]  # broken outputs are no "best"
        values = "  ".join(f"{key(p)}{'*' if p.out_of_range else ''}: {p.psnr:.2f}"
                           for p in points)
        flat = max(p.psnr for p in points) - min(p.psnr for p in points) < 1e-4
        # δ is a no-op where EA is off (a no-EA model): no "best" to pick among equals.
        if flat and len(points) > 1:
            verdict = "no effect: every value scores the same"
        elif not sound:
            verdict = "no best: every value left the trained range"
        else:
            best = max(sound, key=lambda p: p.psnr)
            verdict = f"best {key(best)}, {best.psnr:.2f} dB"
            if len(sound) < len(points):
                verdict += " among those within the trained range"
        lines.append(f"{name} ({fixed}): {values}  ({verdict})")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ plot
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_INK = (30, 30, 30)
_GRID = (225, 225, 225)
_LINE = (200, 90, 20)  # BGR
_MARK = (40, 40, 200)
_BAD = (30, 30, 220)  # BGR red: a point where an image left the trained range


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [lo, hi] (steps of 1, 2, 2.5 or 5 × 10^k)."""
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    raw = (hi - lo) / max(count - 1, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    v = start
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 10))
        v += step
    if ticks[-1] < hi:
        ticks.append(round(v, 10))
    return ticks


def _text(img: np.ndarray, s: str, org: tuple[int, int], scale: float = 0.45,
          align: str = "left", thickness: int = 1, color: tuple[int, int, int] = _INK) -> None:
    s = clean_text(s)  # OpenCV's text functions crash the process on a lone surrogate
    (w, h), _ = cv2.getTextSize(s, _FONT, scale, thickness)
    x, y = org
    if align == "center":
        x -= w // 2
    elif align == "right":
        x -= w
    cv2.putText(img, s, (x, y + h // 2), _FONT, scale, color, thickness, cv2.LINE_AA)


def _fit_text(s: str, room: int, scale: float) -> str:
    """``s`` cut in the middle with "..." to fit ``room`` pixels (a long path keeps both
    ends: its folder's start and the file's name)."""
    s = clean_text(s)  # a folder name not UTF-8 had crashed OpenCV (a segmentation fault)
    if cv2.getTextSize(s, _FONT, scale, 1)[0][0] <= room:
        return s
    keep = len(s)
    while keep > 8:
        keep -= 2
        cut = s[: keep // 2] + "..." + s[len(s) - keep // 2 :]
        if cv2.getTextSize(cut, _FONT, scale, 1)[0][0] <= room:
            return cut
    return s[:8]


def _dashed_vline(img: np.ndarray, x: int, y0: int, y1: int, color: tuple[int, int, int]) -> None:
    for y in range(y0, y1, 8):
        cv2.line(img, (x, y), (x, min(y + 4, y1)), color, 1, cv2.LINE_AA)


def _panel(img: np.ndarray, box: tuple[int, int, int, int], xs: Sequence[float],
           ys: Sequence[float], xlabels: Sequence[str], title: str, xlabel: str,
           ylim: tuple[float, float], mark_x: float | None, mark_label: str,
           bad: Sequence[bool] = ()) -> None:
    """One line chart with axes, ticks, grid, labels and a marked x value; points where
    ``bad`` is true (outside the trained range) are drawn as red rings."""
    x0, y0, x1, y1 = box  # plot area (inside the axes)
    yticks = nice_ticks(*ylim)
    lo, hi = yticks[0], yticks[-1]
    xmin, xmax = min(xs), max(xs)
    span = (xmax - xmin) or 1.0

    def px(x: float) -> int:
        return int(round(x0 + 12 + (x - xmin) / span * (x1 - x0 - 24)))

    def py(y: float) -> int:
        return int(round(y1 - (y - lo) / ((hi - lo) or 1.0) * (y1 - y0)))

    for v in yticks:
        cv2.line(img, (x0, py(v)), (x1, py(v)), _GRID, 1)
        cv2.line(img, (x0 - 5, py(v)), (x0, py(v)), _INK, 1)
        _text(img, f"{v:g}", (x0 - 9, py(v)), 0.4, "right")
    for x, label in zip(xs, xlabels):
        cv2.line(img, (px(x), y1), (px(x), y1 + 5), _INK, 1)
        _text(img, label, (px(x), y1 + 17), 0.4, "center")
    cv2.rectangle(img, (x0, y0), (x1, y1), _INK, 1)
    if mark_x is not None:
        _dashed_vline(img, px(mark_x), y0 + 1, y1, _MARK)
        _text(img, mark_label, (px(mark_x) + 5, y0 + 12), 0.4, color=_MARK)
    shown = [(px(x), py(y), i < len(bad) and bad[i])
             for i, (x, y) in enumerate(zip(xs, ys)) if math.isfinite(y)]
    if shown:
        pts = np.array([[x, y] for x, y, _ in shown], np.int32)
        cv2.polylines(img, [pts], False, _LINE, 2, cv2.LINE_AA)
        for x, y, out in shown:
            if out:
                cv2.circle(img, (x, y), 7, _BAD, 2, cv2.LINE_AA)
            else:
                cv2.circle(img, (x, y), 4, _LINE, -1, cv2.LINE_AA)
    _text(img, title, ((x0 + x1) // 2, y0 - 16), 0.5, "center", 1)
    _text(img, xlabel, ((x0 + x1) // 2, y1 + 40), 0.45, "center")
    # The y label, rotated: draw it on a strip and rotate the strip.
    label = "mean PSNR (dB)"
    (tw, th), _ = cv2.getTextSize(label, _FONT, 0.45, 1)
    strip = np.full((th + 8, tw + 4, 3), 255, np.uint8)
    cv2.putText(strip, label, (2, th + 2), _FONT, 0.45, _INK, 1, cv2.LINE_AA)
    strip = cv2.rotate(strip, cv2.ROTATE_90_COUNTERCLOCKWISE)
    sy = (y0 + y1) // 2 - strip.shape[0] // 2
    sx = x0 - 62
    img[sy : sy + strip.shape[0], sx : sx + strip.shape[1]] = strip


def _empty_panel(img: np.ndarray, box: tuple[int, int, int, int], title: str) -> None:
    """A panel's frame and title, saying that the sweep stopped before it."""
    x0, y0, x1, y1 = box
    cv2.rectangle(img, (x0, y0), (x1, y1), _GRID, 1)
    _text(img, title, ((x0 + x1) // 2, y0 - 16), 0.5, "center", 1)
    _text(img, "not measured: the sweep was stopped first", ((x0 + x1) // 2, (y0 + y1) // 2),
          0.45, "center")


def plot_sweep(result: SweepResult, width: int = 1200, height: int = 560) -> np.ndarray:
    """The sweep as a two-panel chart (PSNR vs t, PSNR vs δ), float32 RGB in [0, 1].

    Both panels share the PSNR axis; the paper's best value is marked; the title states
    that the network was not retrained per value.
    """
    img = np.full((height, width, 3), 255, np.uint8)
    cfg = result.config
    _text(img, f"DRCNet {cfg.task}: {CAVEAT}", (width // 2, 24), 0.65, "center", 2)
    ea = ", EA off" if not result.ea else ""
    partial = f"{result.partial_note()}; " if result.partial else ""
    line = (f"{partial}{result.data}; input {result.input_psnr:.2f} dB / SSIM "
            f"{result.input_ssim:.3f}; {result.weights}{ea}")
    _text(img, _fit_text(line, width - 24, 0.42), (width // 2, 52), 0.42, "center")
    ys = [p.psnr for p in (*result.t_points, *result.delta_points) if math.isfinite(p.psnr)]
    ylim = (min(ys), max(ys)) if ys else (0.0, 1.0)
    pad = max((ylim[1] - ylim[0]) * 0.1, 0.05)
    ylim = (ylim[0] - pad, ylim[1] + pad)
    top, bottom = 110, height - 70
    half = width // 2
    tp = result.t_points
    t_box = (90, top, half - 40, bottom)
    t_title = f"threshold t (delta = {format_delta(cfg.delta_fixed)})"
    if tp:
        _panel(img, t_box, [p.t for p in tp], [p.psnr for p in tp],
               [f"{p.t:.2f}" for p in tp], t_title, "spatial-filter threshold t", ylim,
               PAPER_T if min(p.t for p in tp) <= PAPER_T <= max(p.t for p in tp) else None,
               "paper best", [bool(p.out_of_range) for p in tp])
    else:
        _empty_panel(img, t_box, t_title)
    dp = result.delta_points
    logs = [math.log10(p.delta) for p in dp]
    d_box = (half + 90, top, width - 40, bottom)
    d_title = f"coefficient delta (t = {cfg.t_fixed:.2f})"
    if dp:
        _panel(img, d_box, logs, [p.psnr for p in dp],
               [f"1e{round(v)}" if abs(v - round(v)) < 1e-9 else f"{10**v:.0e}" for v in logs],
               d_title, "energy coefficient delta (log scale)", ylim,
               math.log10(PAPER_DELTA) if min(logs) <= math.log10(PAPER_DELTA) <= max(logs)
               else None, "paper best", [bool(p.out_of_range) for p in dp])
    else:
        _empty_panel(img, d_box, d_title)
    if result.flagged:
        _text(img, "red rings: an image left the model's trained range there (no repair in a "
                   "sweep); those scores may come from broken, blocky outputs",
              (width // 2, 76), 0.42, "center", color=_BAD)
    return img[..., ::-1].astype(np.float32) / np.float32(255.0)  # BGR drawing → RGB

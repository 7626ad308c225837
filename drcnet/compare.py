"""Before/after comparisons, map rendering and parameter-stamped exports (no Qt).

Everything here works on float32 RGB arrays in [0, 1] (``H×W×3``) and is shared by the GUI's
export and the ``drcnet compare`` command:

- :func:`analyse` runs one forward pass with the knobs set and collects what a comparison needs:
  the restored image, every DFR block's maps, and the result with and without energy attention.
- :func:`colorize`, :func:`overlay`, :func:`amplified_difference` render maps and differences.
- :func:`side_by_side`, :func:`split_view`, :func:`summary_sheet` compose comparison images.
- :func:`write_export` writes an image with its parameters in the PNG text chunks and in a JSON
  sidecar ``<name>.json``, both atomically and never over an input.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import math
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from .blocks import PAPER_DELTA, PAPER_T
from .colour import matrix_profile, to_srgb
from .errors import ImageWriteError, UsageError
from .inference import (
    DEFAULT_OVERLAP,
    DEFAULT_TILE,
    PeakProbe,
    TileConfig,
    TilePeak,
    overlap_for,
)
from .range_check import RangeReport, check_peaks

if TYPE_CHECKING:
    from .imageio import Image
    from .network import DRCNet

LAYOUTS = ("side", "split", "sheet")
MAP_KINDS = ("self_aware", "mask", "energy")
COLORMAPS: dict[str, int] = {
    "viridis": cv2.COLORMAP_VIRIDIS,
    "inferno": cv2.COLORMAP_INFERNO,
    "magma": cv2.COLORMAP_MAGMA,
    "plasma": cv2.COLORMAP_PLASMA,
    "turbo": cv2.COLORMAP_TURBO,
    "jet": cv2.COLORMAP_JET,
    "gray": -1,
}
# The block whose maps a sheet and the GUI show unless told: the deepest encoder block of the
# second stage, the one with the most structure in its self-aware map on the samples with every
# shipped model (spread 0.16-0.24, against 0.003-0.02 for stage2.enc0, which was the default
# until session 20 and shows one flat colour; scripts/map_spread.py, docs/eval/map_spread.txt).
DEFAULT_BLOCK = "stage2.enc3"


def default_block(names: Sequence[str]) -> str:
    """:data:`DEFAULT_BLOCK` where the network has it, else its deepest second-stage block
    (a shallower network of one's own), else its last block."""
    if DEFAULT_BLOCK in names:
        return DEFAULT_BLOCK
    second = [n for n in names if n.startswith("stage2.")]
    return (second or list(names))[-1]
SOFTWARE = "DRCNet Studio"

PathLike = str | os.PathLike[str]


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class Knobs:
    """The runtime knobs of one run: spatial-filter threshold ``t``, energy coefficient
    ``delta``, energy attention on/off."""

    t: float = PAPER_T
    delta: float = PAPER_DELTA
    ea: bool = True


@dataclass(frozen=True)
class MapSet:
    """One DFR block's maps as ``h×w`` float32 arrays at the block's resolution."""

    self_aware: np.ndarray
    mask: np.ndarray
    energy: np.ndarray

    def get(self, kind: str) -> np.ndarray:
        if kind not in MAP_KINDS:
            raise UsageError(f"unknown map kind '{kind}'; choose one of {', '.join(MAP_KINDS)}")
        return getattr(self, kind)


@dataclass(frozen=True)
class Analysis:
    """What one analysed forward pass produced.

    Attributes:
        knobs: the knobs it ran with.
        restored: the restored image, ``H×W×3``.
        maps: per block name (``stage1.enc0`` …), empty unless probed.
        with_ea / without_ea: the results with and without energy attention (``None`` unless
            the comparison was asked for).
        without_ea_source: how the result without EA was made, in words.
        seconds: wall time of the whole analysis.
        range: the main pass's :class:`~drcnet.range_check.RangeReport`: the image as one
            tile, with its peak map (where the peak is); ``None`` for a compiled model.
    """

    knobs: Knobs
    restored: np.ndarray
    maps: dict[str, MapSet] = field(default_factory=dict)
    with_ea: np.ndarray | None = None
    without_ea: np.ndarray | None = None
    without_ea_source: str = ""
    seconds: float = 0.0
    range: RangeReport | None = None


NOEA_TRAINED = "trained without EA (noea weights)"
NOEA_BYPASS = ("EA's spatial selection removed on the same weights, each channel at its "
               "mean weight (no trained noea weights)")
NOEA_BUILT = "EA off on a network trained without it: the same network as with EA off"
# --no-ea, for every command that has it
NO_EA_HELP = ("energy attention off (on weights trained with it each channel keeps its mean "
              "weight: only the spatial selection goes)")


def without_ea_source(model: DRCNet, noea_model: DRCNet | None) -> str:
    """What "without EA" is for ``model``: the trained no-EA model, EA's selection removed
    from ``model``, or ``model`` itself when it was trained without EA."""
    if noea_model is not None:
        return NOEA_TRAINED
    return NOEA_BYPASS if model.config.ea else NOEA_BUILT


def analyse(
    model: Any,
    rgb: np.ndarray,
    knobs: Knobs,
    probe: bool = False,
    ea_compare: bool = False,
    noea_model: Any = None,
    repair: bool = True,
) -> Analysis:
    """Run ``model`` on ``rgb`` with ``knobs`` and collect maps and the w/ vs w/o EA pair.

    Args:
        model: a :class:`~drcnet.network.DRCNet` in eval mode.
        rgb: the image, ``H×W×3`` float32 in [0, 1].
        knobs: t, delta and EA for the main result.
        probe: capture every DFR block's maps.
        ea_compare: also produce the results with and without energy attention. The one
            without comes from ``noea_model`` (trained without EA) when given, else from
            ``model`` with EA off (:func:`without_ea_source` says which).
        noea_model: the network trained without energy attention, or ``None``.
        repair: when the main pass is over the model's range-check limit (times its
            ``repair_above``), run again with the image's colours pulled towards gray (as
            :func:`drcnet.inference.repair_tiles` does per tile) and, once a pass is back in
            range, show it: its result, maps and EA pair, all from the same desaturated
            input.

    Returns:
        an :class:`Analysis`; the model's knobs are left as ``knobs``.

    Raises:
        UsageError: ``rgb`` is not an H×W×3 image in [0, 1], or another thread is running
            ``model`` or ``noea_model`` (:func:`drcnet.inference.exclusive_use`).
    """
    from .inference import exclusive_use

    with exclusive_use(model):  # its knobs and peak probe are this call's until it returns
        return _analyse(model, rgb, knobs, probe, ea_compare, noea_model, repair)


def _analyse(model: Any, rgb: np.ndarray, knobs: Knobs, probe: bool, ea_compare: bool,
             noea_model: Any, repair: bool) -> Analysis:
    from .inference import REPAIR_COLOURS, desaturate, forward_image, needs_repair, resaturate

    start = time.perf_counter()
    model.configure(t=knobs.t, delta=knobs.delta, ea=knobs.ea)
    limit = getattr(model, "activation_limit", None)

    def main_pass(src: np.ndarray) -> tuple[np.ndarray, dict[str, Any], TilePeak | None]:
        peaks = PeakProbe(model)
        with peaks:
            out, found = forward_image(model, src, probe=probe)
        return out, found, (peaks.tile_peaks([(0, 0)], *rgb.shape[:2])[0] if peaks.seen
                            else None)

    restored, raw, first = main_pass(rgb)
    tile, factor = first, 1.0
    if (repair and limit is not None and first is not None
            and needs_repair(first.peak, limit, getattr(model, "repair_above", 1.0), rgb)):
        tile = replace(first, tried=True)  # (kept so when no factor brings it back)
        for f in REPAIR_COLOURS:
            src = desaturate(rgb, f)
            out, found, again = main_pass(src)
            if again is not None and again.peak <= limit:  # NaN and inf never are
                factor, restored, raw = f, resaturate(out, f), found
                tile = replace(first, peak=again.peak, colour=f, first_peak=first.peak,
                               tried=True)
                rgb = src  # the EA pair below runs on the input the result did
                break

    def post(out: np.ndarray) -> np.ndarray:
        return out if factor == 1.0 else resaturate(out, factor)
    # forward_image has cropped each map to the part over the image (the network pads it to
    # a multiple of 2^(depth-1) at the bottom and right), so overlays line up with it.
    maps = {
        name: MapSet(self_aware=m.self_aware[0, 0].numpy(), mask=m.mask[0, 0].numpy(),
                     energy=m.energy[0, 0].numpy())
        for name, m in raw.items()
    }
    report = check_peaks([tile], limit) if tile is not None else None
    with_ea = without_ea = None
    source = ""
    if ea_compare:
        if knobs.ea:
            with_ea = restored
        else:
            model.configure(ea=True)
            with_ea = post(forward_image(model, rgb)[0])
        if noea_model is not None:
            noea_model.configure(t=knobs.t, delta=knobs.delta, ea=False)
            without_ea = post(forward_image(noea_model, rgb)[0])
            source = NOEA_TRAINED
        else:
            if knobs.ea:
                model.configure(ea=False)
                without_ea = post(forward_image(model, rgb)[0])
            else:
                without_ea = restored
            source = without_ea_source(model, None)
        model.configure(ea=knobs.ea)
    return Analysis(knobs, restored, maps, with_ea, without_ea, source,
                    time.perf_counter() - start, report)


def downscale(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """``rgb`` shrunk (area filter) so its longest side is at most ``max_side``; unchanged
    (same object) when it already fits."""
    h, w = rgb.shape[:2]
    if max(h, w) <= max_side:
        return rgb
    s = max_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


# While a knob is being dragged the GUI previews a smaller copy: half the preview side is a
# quarter of the pixels, so the picture keeps up with the hand (docs/PERFORMANCE.md), and the
# full-size preview follows as soon as the slider rests.
DRAFT_FACTOR = 2
MIN_DRAFT_SIDE = 128


def draft_of(rgb: np.ndarray) -> np.ndarray | None:
    """The drag-time copy of a preview image: ``1/DRAFT_FACTOR`` of its side (area filter),
    or ``None`` when that would be under ``MIN_DRAFT_SIDE`` px (small previews are quick)."""
    side = max(rgb.shape[:2]) // DRAFT_FACTOR
    if side < MIN_DRAFT_SIDE:
        return None
    return downscale(rgb, side)


def resize_to(img: np.ndarray, width: int, height: int, nearest: bool = False) -> np.ndarray:
    """``img`` resized to ``width×height`` (linear, area when shrinking, or nearest)."""
    if img.shape[1] == width and img.shape[0] == height:
        return img
    if nearest:
        interp = cv2.INTER_NEAREST
    elif width < img.shape[1] and height < img.shape[0]:
        interp = cv2.INTER_AREA
    else:
        interp = cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(img), (width, height), interpolation=interp)


# --------------------------------------------------------------------------- rendering


def normalize_map(values: np.ndarray, kind: str) -> np.ndarray:
    """Map values to [0, 1] for display: the self-aware map and the mask are already in
    [0, 1] (kept absolute, so the threshold ``t`` means the same everywhere); the energy
    weights are stretched between their minimum and maximum."""
    v = np.nan_to_num(np.asarray(values, dtype=np.float32))
    if kind == "energy":
        lo, hi = float(v.min()), float(v.max())
        return (v - lo) / (hi - lo) if hi - lo > 1e-12 else np.zeros_like(v)
    return np.clip(v, 0.0, 1.0)


def colorize(
    values: np.ndarray,
    cmap: str = "viridis",
    size: tuple[int, int] | None = None,
    nearest: bool = False,
) -> np.ndarray:
    """A ``h×w`` array in [0, 1] as an RGB heat map.

    Args:
        values: the map, already in [0, 1].
        cmap: one of :data:`COLORMAPS`.
        size: ``(width, height)`` to upsample to first, or ``None``.
        nearest: upsample with nearest neighbour (crisp binary masks).

    Returns:
        ``H×W×3`` float32 RGB in [0, 1].
    """
    if cmap not in COLORMAPS:
        raise UsageError(f"unknown colormap '{cmap}'; choose one of {', '.join(COLORMAPS)}")
    v = np.asarray(values, dtype=np.float32)
    if v.ndim != 2:
        raise ValueError(f"expected an h×w map, got shape {v.shape}")
    if size is not None:
        v = resize_to(v, size[0], size[1], nearest=nearest)
    u8 = np.round(np.clip(v, 0.0, 1.0) * 255.0).astype(np.uint8)
    if COLORMAPS[cmap] < 0:
        return np.repeat(u8[:, :, None], 3, axis=2).astype(np.float32) / 255.0
    bgr = cv2.applyColorMap(u8, COLORMAPS[cmap])
    return bgr[:, :, ::-1].astype(np.float32) / 255.0


def render_map(
    maps: MapSet, kind: str, cmap: str = "viridis", size: tuple[int, int] | None = None
) -> np.ndarray:
    """One kind of a block's maps normalised, upsampled to ``size`` and colour-mapped."""
    return colorize(normalize_map(maps.get(kind), kind), cmap, size, nearest=kind == "mask")


def map_extent(n: int, cells: int) -> int:
    """Pixels of an analysed image that ``cells`` map cells of a block span along a side of
    ``n``: the network pads the side to a multiple of the block's cell (a power of two), and
    ``ceil(n / cell)`` cells cover the image, the last reaching past its edge."""
    cell = 1
    while -(-n // cell) > cells:
        cell *= 2
    return cells * cell


def render_map_on(maps: MapSet, kind: str, cmap: str, size: tuple[int, int],
                  analysed: tuple[int, int]) -> np.ndarray:
    """:func:`render_map` to lie over an image of ``size`` (w, h) that was analysed at
    ``analysed`` (w, h): drawn over the padded extent the block computed and cropped, so
    each cell lies where it belongs (stretching a deep block over the image put its last
    row up to 4 % of the height off)."""
    (w, h), (aw, ah) = size, analysed
    ch, cw = maps.self_aware.shape
    ew = max(w, round(map_extent(aw, cw) * w / aw))
    eh = max(h, round(map_extent(ah, ch) * h / ah))
    return render_map(maps, kind, cmap, (ew, eh))[:h, :w]


def overlay(rgb: np.ndarray, colored: np.ndarray, opacity: float) -> np.ndarray:
    """``colored`` blended over ``rgb`` (resized to it) with ``opacity`` in [0, 1]."""
    h, w = rgb.shape[:2]
    a = float(np.clip(opacity, 0.0, 1.0))
    return rgb * (1.0 - a) + resize_to(colored, w, h) * a


def nice_gain(diff: np.ndarray, target: float = 0.8, limit: float = 1000.0) -> float:
    """A round amplification (1, 2, 5 × 10^k) that brings the 99.5th percentile of ``diff``
    near ``target``."""
    p = float(np.percentile(diff, 99.5)) if diff.size else 0.0
    if p <= 1e-9:
        return limit
    raw = min(max(target / p, 1.0), limit)
    k = math.floor(math.log10(raw))
    steps = [s * 10**k for s in (1, 2, 5, 10)]
    return float(max(s for s in steps if s <= raw))


def amplified_difference(
    a: np.ndarray, b: np.ndarray, gain: float | None = None, cmap: str = "inferno"
) -> tuple[np.ndarray, float]:
    """``|a − b|`` averaged over channels, amplified and colour-mapped.

    Args:
        a, b: images of the same shape (``b`` is resized to ``a`` when they differ).
        gain: amplification; ``None`` picks a round one with :func:`nice_gain`.

    Returns:
        the RGB heat map (``H×W×3``) and the gain used.
    """
    h, w = a.shape[:2]
    diff = np.abs(a - resize_to(b, w, h)).mean(axis=2)
    g = nice_gain(diff) if gain is None else float(gain)
    return colorize(np.clip(diff * g, 0.0, 1.0), cmap), g


def _text_mask(text: str, scale: float, thickness: int) -> np.ndarray:
    from .imageio import clean_text

    text = clean_text(text)  # OpenCV's text functions crash the process on a lone surrogate
    font = cv2.FONT_HERSHEY_SIMPLEX
    (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
    mask = np.zeros((th + base + 2, tw + 2), np.uint8)
    cv2.putText(mask, text, (1, th + 1), font, scale, 255, thickness, cv2.LINE_AA)
    return mask


def text_scale(width: int, height: int) -> float:
    """A readable label size for an image of this size: in proportion to its short side up
    to 1120 px, then with its square root, so a label stays legible when a large export is
    shrunk for the web (a cap at 1.6 had left a 6000×4000 photo's label 1.6 % of its height,
    about 8 px once its side by side was shown 1500 px wide)."""
    short = min(width, height)
    if short <= 1120:
        return float(max(short / 700.0, 0.4))
    return float(1.6 * math.sqrt(short / 1120.0))


def label_size(text: str, width: int, height: int, scale: float | None = None
               ) -> tuple[int, int]:
    """The ``(w, h)`` of the box :func:`draw_label` draws for ``text`` on a ``width×height``
    image."""
    scale = text_scale(width, height) if scale is None else scale
    mh, mw = _text_mask(text, scale, max(1, round(scale * 1.6))).shape
    pad = max(3, round(6 * scale))
    return mw + 2 * pad, mh + 2 * pad


def draw_label(
    img: np.ndarray,
    text: str,
    corner: str = "top-left",
    scale: float | None = None,
    color: tuple[float, float, float] = (1.0, 1.0, 1.0),
    box: float = 0.6,
) -> np.ndarray:
    """Draw ``text`` in a corner of ``img`` on a translucent dark box, anti-aliased at any
    bit depth (the text is rendered to an 8-bit mask and blended). Returns a new array."""
    out = np.array(img, dtype=np.float32, copy=True)
    h, w = out.shape[:2]
    scale = text_scale(w, h) if scale is None else scale
    thickness = max(1, round(scale * 1.6))
    mask = _text_mask(text, scale, thickness).astype(np.float32) / 255.0
    pad = max(3, round(6 * scale))
    mh, mw = mask.shape
    bh, bw = min(mh + 2 * pad, h), min(mw + 2 * pad, w)
    y0 = 0 if corner.startswith("top") else h - bh
    x0 = 0 if corner.endswith("left") else w - bw
    region = out[y0 : y0 + bh, x0 : x0 + bw]
    region *= 1.0 - box
    # On an image smaller than the padded text the text is clipped; on one at most the
    # padding in size only the box is drawn.
    sub = region[pad:, pad:]
    m = mask[: sub.shape[0], : sub.shape[1]]
    sub = sub[: m.shape[0], : m.shape[1]]
    sub[:] = sub * (1.0 - m[..., None]) + np.asarray(color, np.float32) * m[..., None]
    return out


def _check_rgb(name: str, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3 or x.shape[2] != 3:
        raise ValueError(f"{name} must be an H×W×3 image, got shape {x.shape}")
    return x


def side_by_side(
    before: np.ndarray,
    after: np.ndarray,
    labels: tuple[str, str] | None = ("Input", "Restored"),
    gap: int = 8,
    gap_color: float = 0.12,
) -> np.ndarray:
    """``before`` and ``after`` next to each other (``after`` resized to ``before``).

    Shape:
        inputs ``H×W×3``; returns ``H×(2W+gap)×3``.
    """
    before, after = _check_rgb("before", before), _check_rgb("after", after)
    h, w = before.shape[:2]
    after = resize_to(after, w, h)
    if labels:
        before, after = draw_label(before, labels[0]), draw_label(after, labels[1])
    sep = np.full((h, gap, 3), gap_color, np.float32)
    return np.concatenate([before, sep, after], axis=1)


def split_view(
    before: np.ndarray,
    after: np.ndarray,
    position: float = 0.5,
    labels: tuple[str, str] | None = ("Input", "Restored"),
    line: int | None = None,
) -> np.ndarray:
    """``before`` left of a vertical divider at ``position`` (fraction of the width) and
    ``after`` right of it, with a thin white line on the divider.

    Shape:
        inputs ``H×W×3``; returns ``H×W×3``.
    """
    before, after = _check_rgb("before", before), _check_rgb("after", after)
    if not 0.0 <= position <= 1.0:
        raise UsageError(f"split position must lie in [0, 1], got {position}")
    h, w = before.shape[:2]
    after = resize_to(after, w, h)
    x = round(position * w)
    out = np.concatenate([before[:, :x], after[:, x:]], axis=1)
    if labels:  # each only where its box fits its own side (they had crossed the divider)
        if label_size(labels[0], w, h)[0] + 4 <= x:
            out = draw_label(out, labels[0], "top-left")
        if label_size(labels[1], w, h)[0] + 4 <= w - x:
            out = draw_label(out, labels[1], "top-right")
    line = max(1, round(min(h, w) / 400)) if line is None else line
    if 0 < x < w:
        lo, hi = max(0, x - line), min(w, x + line)
        out[:, lo:hi] = 1.0
    return out


@dataclass(frozen=True)
class SheetPanel:
    """One labelled image on a summary sheet."""

    image: np.ndarray
    label: str


def _fit_panel(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """``img`` scaled to fit ``width×height``, centred on a dark background."""
    ih, iw = img.shape[:2]
    s = min(width / iw, height / ih)
    nw, nh = max(1, round(iw * s)), max(1, round(ih * s))
    canvas = np.full((height, width, 3), 0.08, np.float32)
    y, x = (height - nh) // 2, (width - nw) // 2
    canvas[y : y + nh, x : x + nw] = resize_to(img, nw, nh)
    return canvas


def summary_sheet(
    title: str,
    rows: list[list[SheetPanel]],
    panel_width: int = 480,
    footer: str = "",
) -> np.ndarray:
    """A labelled grid of panels under a title line: the one-page record of a restore.

    Args:
        title: text across the top (the parameters).
        rows: rows of panels; every panel gets the aspect ratio of the first one.
        panel_width: the width of one panel in pixels.
        footer: small text across the bottom.

    Returns:
        the sheet, ``H×W×3`` float32.
    """
    if not rows or not rows[0]:
        raise ValueError("a summary sheet needs at least one panel")
    first = rows[0][0].image
    ph = max(1, round(panel_width * first.shape[0] / first.shape[1]))
    # A panorama's panels are letterboxed (_fit_panel) into at least a quarter of their
    # width, so each label and map stays readable (a 3000×40 photo made 6-px panels).
    ph = min(max(ph, panel_width // 4), panel_width * 2)
    cols = max(len(r) for r in rows)
    margin = 12
    width = cols * panel_width + (cols + 1) * margin
    text_h = 34
    header = np.full((text_h, width, 3), 0.16, np.float32)
    title = fit_title(title, width - margin, TITLE_SCALE)
    header[:, margin - 6 :] = draw_label(header[:, margin - 6 :], title, scale=TITLE_SCALE,
                                         box=0.0)
    blocks = [header]
    for row in rows:
        strip = np.full((ph + margin, width, 3), 0.16, np.float32)
        for i, panel in enumerate(row):
            x = margin + i * (panel_width + margin)
            tile = _fit_panel(_check_rgb(panel.label, panel.image), panel_width, ph)
            strip[margin : margin + ph, x : x + panel_width] = draw_label(
                tile, panel.label, scale=0.5
            )
        blocks.append(strip)
    tail = np.full((text_h if footer else margin, width, 3), 0.16, np.float32)
    if footer:
        tail[:, margin - 6 :] = draw_label(tail[:, margin - 6 :], footer, scale=0.45,
                                           color=(0.75, 0.75, 0.75), box=0.0)
    blocks.append(tail)
    return np.concatenate(blocks, axis=0)


def share_text(share: float) -> str:
    """A share as a whole percentage that never reads 0 % or 100 % when it is not: a mask
    with 3 of 2,752 cells on says "<1%"."""
    text = f"{share:.0%}"
    if share > 0 and text == "0%":
        return "<1%"
    if share < 1 and text == "100%":
        return ">99%"
    return text


def format_delta(delta: float) -> str:
    """δ in short scientific notation that keeps its digits: ``1e-06``, ``2.51e-03``."""
    mantissa, exponent = f"{delta:.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{exponent}"


def knob_text(knobs: Knobs) -> str:
    """``t = 0.75, delta = 1e-06, EA on`` (ASCII: OpenCV fonts have no Greek letters)."""
    return (f"t = {knobs.t:.2f}, delta = {format_delta(knobs.delta)}, "
            f"EA {'on' if knobs.ea else 'off'}")


def sheet_rows(
    rgb: np.ndarray,
    restored: np.ndarray,
    analysis: Analysis | None,
    block: str = DEFAULT_BLOCK,
    cmap: str = "viridis",
    strength: float = 1.0,
) -> list[list[SheetPanel]]:
    """The standard sheet: input, restored (at ``strength``) and what was removed; the
    chosen block's three maps; the results with and without energy attention (the model's
    outputs, at full strength) and their difference.

    The maps and the EA pair come from ``analysis``, which may have been computed on a
    smaller copy of the photo (the GUI's preview, ``drcnet compare --preview-size``); their
    labels then say its size ("with EA (512x341 preview)"), as the GUI's maps and EA views
    do, since the pair shown beside *Restored* at that size visibly differs from it."""
    removed, gain = amplified_difference(restored, rgb)
    partial = strength < 1

    def preview(shape: tuple[int, ...]) -> str:  # "" at the photo's own size
        return "" if shape[:2] == rgb.shape[:2] else f"{shape[1]}x{shape[0]} preview"

    rows = [[
        SheetPanel(rgb, "Input"),
        SheetPanel(restored, f"Restored, strength {strength * 100:.0f} %" if partial
                   else "Restored"),
        SheetPanel(removed, f"|restored - input| x{gain:g}"),
    ]]
    if analysis is not None and block in analysis.maps:
        h, w = rgb.shape[:2]
        maps = analysis.maps[block]
        analysed = analysis.restored.shape[1::-1]  # (w, h) the maps were computed at
        t = analysis.knobs.t
        at = preview(analysis.restored.shape)
        at = f", {at}" if at else ""
        labels = {
            "self_aware": f"{block} self-aware map m (0..1){at}",
            "mask": f"{block} mask m >= {t:.2f} ({share_text(float(maps.mask.mean()))}){at}",
            "energy": f"{block} energy {maps.energy.min():.3f}..{maps.energy.max():.3f}{at}",
        }
        rows.append([
            SheetPanel(render_map_on(maps, kind, cmap, (w, h), analysed), labels[kind])
            for kind in MAP_KINDS
        ])
    if analysis is not None and analysis.with_ea is not None and analysis.without_ea is not None:
        diff, g = amplified_difference(analysis.with_ea, analysis.without_ea)
        at = preview(analysis.with_ea.shape)

        def said(*parts: str) -> str:
            return f" ({', '.join(p for p in parts if p)})" if any(parts) else ""

        full = "100 %" if partial else ""
        weights = "trained" if analysis.without_ea_source == NOEA_TRAINED else "same weights"
        rows.append([
            SheetPanel(analysis.with_ea, "with EA" + said(full, at)),
            SheetPanel(analysis.without_ea, "without EA" + said(weights, full, at)),
            SheetPanel(diff, f"|with - without| x{g:g}" + said(at)),
        ])
    return rows


# --------------------------------------------------------------------------- export


@dataclass(frozen=True)
class ExportParams:
    """Everything needed to reproduce an export; written to PNG text and the JSON sidecar."""

    task: str
    t: float
    delta: float
    ea: bool
    weights: str
    weights_sha256: str
    device: str
    tile: int
    overlap: int = 0
    layout: str = "image"
    split: float | None = None
    block: str | None = None
    colormap: str | None = None  # a sheet's map colours (COLORMAPS), so it can be remade
    noea: str | None = None
    input: str = ""
    precision: str = "fp32"
    ensemble: int = 1  # views averaged per tile (rotations/mirrors; 1 = one pass)
    range_check: str | None = None  # drcnet.range_check.RangeReport.summary of the restore
    repair: bool = True  # whether out-of-range tiles were restored again (TileConfig.repair)
    strength: float = 1.0  # share of the restoration kept (inference.apply_strength)
    # A sheet's maps and with/without-EA pair are computed on the photo downscaled to this
    # many pixels on its longer side (they change with it, as the mask's share does);
    # None for other layouts.
    analysis_size: int | None = None
    jpeg_quality: int | None = None  # a JPEG output's quality; None for other formats

    @classmethod
    def of_run(cls, task: str, knobs: Knobs, weights: str, weights_sha256: str, device: str,
               tiles: TileConfig, precision: str, **fields: Any) -> ExportParams:
        """The parameters of a restore with ``knobs`` and ``tiles`` (tile, overlap, views,
        repair), plus any other ``fields`` (layout, input, strength, …)."""
        return cls(task=task, t=knobs.t, delta=knobs.delta, ea=knobs.ea, weights=weights,
                   weights_sha256=weights_sha256, device=device, tile=tiles.tile,
                   overlap=tiles.overlap, precision=precision, ensemble=tiles.ensemble,
                   repair=tiles.repair, **fields)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["software"] = SOFTWARE
        return {k: v for k, v in d.items() if v is not None}

    def png_metadata(self) -> dict[str, str]:
        """PNG text chunks: one ``drcnet.<field>`` key per parameter, plus ``Software``."""
        meta = {"Software": SOFTWARE}
        for k, v in self.as_dict().items():
            if k != "software":
                meta[f"drcnet.{k}"] = json.dumps(v) if not isinstance(v, str) else v
        return meta


def sidecar_path(path: PathLike) -> Path:
    """The JSON sidecar beside an export: ``shot.png`` → ``shot.json``."""
    return Path(path).with_suffix(".json")


def sidecar_owner(path: PathLike) -> Path | None:
    """Another export whose parameters ``path``'s sidecar would replace: ``shot.png``, when
    ``shot.json`` records it and ``shot.jpg`` is being exported (they share the sidecar)."""
    path = Path(path)
    try:
        record = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = record.get("output") if isinstance(record, dict) else None
    if not isinstance(name, str) or not name or name == path.name or Path(name).name != name:
        return None
    other = path.parent / name
    return other if other.is_file() else None


def _stage_text(path: Path, text: str, image: Path | None = None) -> Path:
    """``text`` in a temp file beside ``path``, on disk (fsynced); :func:`_commit_text` puts
    it in place. ``image``: the export it records, named when its folder takes no file (the
    user asked for the image, and the sidecar's name had been the one said)."""
    from .imageio import make_temp

    if path.is_dir():
        raise ImageWriteError(f"Cannot write {path}: a folder has that name.")
    try:
        fd, tmp = make_temp(path)
    except OSError as e:
        if image is not None and e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise ImageWriteError(f"Cannot write {image}: the folder is not writable in "
                                  f"{image.parent} ({e.strerror or e}).") from e
        raise ImageWriteError(f"Cannot write {path} ({e.strerror or e}).") from e
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise ImageWriteError(f"Cannot write {path} ({e.strerror or e}).") from e
        raise
    return Path(tmp)


def _commit_text(tmp: Path, path: Path) -> None:
    try:
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ImageWriteError(f"Cannot write {path} ({e.strerror or e}).") from e


MAPS_SUFFIX = ".npz"
# What each array of a maps file holds (its "kinds" record).
MAP_MEANINGS = {
    "self_aware": "the spatial filter's self-aware map m, in [0, 1]",
    "mask": "the binary mask M = (m >= t), 0 or 1",
    "energy": "the energy-attention weights, in (0, 1)",
}


def check_maps_path(path: PathLike, inputs: Iterable[PathLike] = ()) -> None:
    """Refuse a maps file :func:`write_maps` cannot or must not write, before any work: a
    name not ending in ``.npz``, an input, a missing folder, a folder's name, a read-only
    file.

    Raises:
        ImageTypeError: the name is wrong in itself (a :class:`UsageError` too).
        ImageWriteError: what the disk holds.
    """
    from .errors import ImageTypeError
    from .imageio import read_only, same_file

    p = Path(path)
    if str(path).endswith(("/", os.sep)) or p.suffix.lower() != MAPS_SUFFIX:
        raise ImageTypeError(f"Cannot write {path}: maps are written as a NumPy file; name it "
                             f"with {MAPS_SUFFIX} (e.g. maps.npz).")
    for inp in inputs:
        if same_file(p, Path(inp)):
            raise ImageWriteError(f"{p} is an input file; choose another output path.")
    if not p.parent.is_dir():
        raise ImageWriteError(f"Cannot write {p}: the folder {p.parent} does not exist.")
    if p.is_dir():
        raise ImageWriteError(f"Cannot write {p}: a folder of that name exists.")
    if p.exists() and read_only(p):
        raise ImageWriteError(f"Cannot write {p}: the file is read-only.")


def write_maps(path: PathLike, maps: Mapping[str, MapSet], params: ExportParams,
               source: str = "", inputs: Iterable[PathLike] = ()) -> Path:
    """Write every block's maps to a NumPy ``.npz`` file, atomically, for analysis
    elsewhere: ``<block>.self_aware``, ``<block>.mask`` and ``<block>.energy`` (``h×w``
    float32 at the block's resolution, :data:`MAP_MEANINGS`), and ``parameters``, a JSON
    text with the run's parameters (as an export's sidecar holds them), the blocks in order,
    what each kind holds and ``maps_from``: ``source``, the image the maps were computed on
    (the window and ``compare`` compute them on a preview-size copy). ``np.load(path)``
    reads it without pickle.

    Raises:
        UsageError: no maps.
        ImageTypeError, ImageWriteError: as :func:`check_maps_path`, or the write failed.
    """
    import io

    from .imageio import atomic_write

    p = Path(path)
    if not maps:
        raise UsageError("no maps to write: the analysis was run without the probe")
    check_maps_path(p, inputs)
    record = params.as_dict()
    record.update(blocks=list(maps), kinds=MAP_MEANINGS, maps_from=source)
    arrays: dict[str, np.ndarray] = {"parameters": np.array(json.dumps(record, indent=2))}
    for block, ms in maps.items():
        for kind in MAP_KINDS:
            arrays[f"{block}.{kind}"] = np.ascontiguousarray(ms.get(kind), dtype=np.float32)
    buffer = io.BytesIO()  # a few MB at most: the maps of a preview
    np.savez_compressed(buffer, **arrays)
    atomic_write(p, buffer.getvalue())  # as images are written: temp file, fsync, rename
    return p


def write_export(
    path: PathLike,
    rgb: np.ndarray,
    params: ExportParams,
    inputs: Iterable[PathLike] = (),
    bit_depth: int = 8,
    alpha: np.ndarray | None = None,
    sidecar: bool = True,
    gray: bool = False,
    icc: bytes | None = None,
    exif: bytes | None = None,
    jpeg_quality: int = 95,
    dpi: tuple[float, float] | None = None,
    text: Mapping[str, str] | None = None,
) -> Path:
    """Write an export image (atomically, never over an input) with its parameters.

    The parameters go into the PNG's text chunks (other formats have none) and, unless
    ``sidecar`` is False, into ``<name>.json`` beside it; with ``sidecar`` False, a sidecar
    an earlier export left for this file is removed, as it no longer describes it. ``icc``,
    ``exif``, ``dpi`` and ``text`` are the input's colour profile, camera metadata, print
    resolution and PNG text (:func:`carried_meta`; :func:`drcnet.imageio.write_image` says
    which formats hold each).

    Raises:
        ImageWriteError: as :func:`drcnet.imageio.write_image`, or for the sidecar.
    """
    from .imageio import check_output_path, write_image

    inputs = [Path(p) for p in inputs]
    p = Path(path)
    if sidecar:  # check before writing anything so a refused sidecar leaves no image behind
        side = sidecar_path(p)
        if side.resolve() == p.resolve():
            raise ImageWriteError(f"{p} cannot have a .json sidecar; use an image extension.")
        for inp in inputs:
            if side.resolve() == inp.resolve():
                raise ImageWriteError(f"{side} is an input file; choose another output path.")
        check_sidecar_free(p)
    staged = None
    if sidecar:  # written first, put in place after the image: a sidecar that cannot be
        check_output_path(p, inputs)  # written leaves no image without its record
        record = params.as_dict()
        record["output"] = p.name
        record["size"] = [int(rgb.shape[1]), int(rgb.shape[0])]
        staged = _stage_text(sidecar_path(p), json.dumps(record, indent=2) + "\n", image=p)
    try:
        written = write_image(p, rgb, alpha=alpha, bit_depth=bit_depth, inputs=inputs,
                              metadata=params.png_metadata(), gray=gray, icc=icc, exif=exif,
                              jpeg_quality=jpeg_quality, dpi=dpi, text=text)
    except BaseException:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
    if staged is not None:
        _commit_text(staged, sidecar_path(p))
    elif _sidecar_names(p):  # an earlier export's record of this file would now be untrue
        with contextlib.suppress(OSError):
            sidecar_path(p).unlink()
    return written


def _sidecar_names(path: Path) -> bool:
    """Whether ``path``'s sidecar exists, is one Studio wrote (its task, weights digest and
    size) and records ``path`` as its output; any other JSON file is left alone."""
    record = _studio_record(sidecar_path(path))
    return record is not None and record.get("output") == path.name


def check_sidecar_free(path: PathLike) -> None:
    """Refuse an export whose sidecar would replace a JSON file Studio did not write (someone's
    own notes named like the image); a record Studio wrote is replaced, as the image is.

    Raises:
        ImageWriteError: that file exists and is not Studio's, or is read-only.
    """
    from .imageio import read_only

    side = sidecar_path(path)
    if side.is_file() and read_only(side):  # before the image is replaced, not after
        raise ImageWriteError(f"{side} exists and is read-only; make it writable, choose "
                              "another name, or export without the sidecar.")
    if side.is_file() and _studio_record(side) is None:  # a folder: said when staging
        raise ImageWriteError(f"{side} exists and is not a record DRCNet Studio wrote; the "
                              "export's sidecar would replace it. Move it, choose another "
                              "name, or export without the sidecar.")


def _studio_record(path: Path) -> dict[str, Any] | None:
    """The JSON record in ``path`` when it is one Studio wrote (its task, weights digest,
    size and output), else None."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(record, dict) and {"task", "weights_sha256", "size", "output"} <= record.keys():
        return record
    return None


def carried_meta(layout: str, icc: bytes | None, exif: bytes | None,
                 dpi: tuple[float, float] | None = None,
                 text: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What of an input's colour profile, EXIF, print resolution and PNG text (an
    :class:`~drcnet.imageio.Image`'s ``icc``, ``exif``, ``dpi``, ``png_text``) an export of
    ``layout`` carries: the profile and resolution wherever the input's pixels are shown as
    they are, one to one (image, side, split; a sheet is an sRGB figure with colour maps, its
    photo panels converted by :func:`compose` and shrunk), the camera record and the text
    only on the restored photo itself."""
    shown = layout in ("image", "side", "split")
    return {"icc": icc if shown else None, "exif": exif if layout == "image" else None,
            "dpi": dpi if shown else None, "text": text if layout == "image" else None}


CHECKER = (105 / 255, 150 / 255)  # checkerboard greys under transparency; the viewer's too


def over_checker(rgb: np.ndarray, alpha: np.ndarray, square: int = 8) -> np.ndarray:
    """``rgb`` composited with its ``alpha`` over a grey checkerboard of ``square``-px squares,
    as the viewer shows transparency. Shapes: ``H×W×3`` and ``H×W`` (resized to ``rgb``'s)."""
    h, w = rgb.shape[:2]
    if alpha.shape[:2] != (h, w):
        alpha = cv2.resize(alpha.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    yy, xx = np.indices((h, w))
    board = np.where((yy // square + xx // square) % 2 == 0, CHECKER[0], CHECKER[1])
    a = np.clip(np.nan_to_num(alpha, nan=1.0), 0.0, 1.0)[..., None].astype(np.float32)
    return (rgb * a + board[..., None].astype(np.float32) * (1.0 - a)).astype(np.float32)


def export_note(image: Image, path: PathLike, layout: str, keep_exif: bool = True) -> str:
    """What an export of ``image`` in ``layout`` cannot keep of it: for the restored image,
    what ``path``'s format cannot (:func:`drcnet.imageio.format_note`); of a comparison,
    which carries no camera record, its transparency (a comparison is opaque: shown over a
    checkerboard, :func:`compose`), and the depth and profile the format cannot keep;
    nothing of a sheet, an 8-bit sRGB figure whatever the photo."""
    from .imageio import format_note

    if layout == "sheet":
        return ""
    if layout == "image":
        return format_note(image, path, keep_exif)
    # A comparison is written in RGB, so a gray photo's gray profile is lost there too.
    shown = replace(image, alpha=None, xmp=False, iptc=False, png_text={}, exif=None,
                    gray=False, comment=False, raw_exif=False)
    notes = [format_note(shown, path, keep_exif)]
    if image.alpha is not None and float(np.min(image.alpha)) < 1.0:  # as compose draws it
        notes.insert(0, "a comparison keeps no transparency (it is shown over a checkerboard)")
    return "; ".join(n for n in notes if n)


def compose_size(layout: str, width: int, height: int) -> tuple[int, int] | None:
    """The size :func:`compose` makes of a ``width×height`` photo, or None for a sheet
    (whose panels are small, whatever the photo)."""
    if layout == "side":
        return 2 * width + 8, height  # side_by_side's default gap
    return None if layout == "sheet" else (width, height)


def compose(
    layout: str,
    rgb: np.ndarray,
    restored: np.ndarray,
    split: float = 0.5,
    labels: bool = True,
    analysis: Analysis | None = None,
    block: str = DEFAULT_BLOCK,
    title: str = "",
    cmap: str = "viridis",
    alpha: np.ndarray | None = None,
    icc: bytes | None = None,
    strength: float = 1.0,
) -> np.ndarray:
    """The comparison image for ``layout`` (``image``, ``side``, ``split`` or ``sheet``).

    ``strength`` is the share of the restoration ``restored`` keeps (:func:`apply_strength`):
    below 1 the labels say so, and a sheet's with/without-EA pair, which is the model's
    output as it is, says it is at full strength.

    ``alpha`` is the input's transparency. The comparison layouts are opaque, so they show the
    input and the result over a checkerboard where it is transparent; ``image`` returns the
    result as is (:func:`write_export` keeps the alpha channel there).

    ``icc`` is the input's colour profile. A sheet is sRGB (its colour maps and text are), so
    its photo panels are converted to sRGB (:func:`drcnet.colour.to_srgb`); the other layouts
    keep the photo's values and carry its profile instead (:func:`carried_meta`).
    """
    restored_name = "Restored" if strength >= 1 else f"Restored {strength * 100:.0f} %"
    names = ("Input", restored_name) if labels else None
    if layout == "image":
        return restored
    if alpha is not None and float(np.min(alpha)) < 1.0:
        rgb, restored = over_checker(rgb, alpha), over_checker(restored, alpha)
        if analysis is not None and analysis.with_ea is not None \
                and analysis.without_ea is not None:
            analysis = replace(analysis, with_ea=over_checker(analysis.with_ea, alpha),
                               without_ea=over_checker(analysis.without_ea, alpha))
    if layout == "side":
        return side_by_side(rgb, restored, names)
    if layout == "split":
        return split_view(rgb, restored, split, names)
    if layout == "sheet":
        h, w = rgb.shape[:2]
        if matrix_profile(icc) is not None:
            rgb, restored = to_srgb(rgb, icc), to_srgb(restored, icc)
            if analysis is not None and analysis.with_ea is not None \
                    and analysis.without_ea is not None:
                analysis = replace(analysis, with_ea=to_srgb(analysis.with_ea, icc),
                                   without_ea=to_srgb(analysis.without_ea, icc))
        return summary_sheet(title, sheet_rows(rgb, restored, analysis, block, cmap,
                                               strength),
                             footer=f"{SOFTWARE} - DRCNet (Li et al., ECCV 2022) - {w}x{h}")
    raise UsageError(f"unknown layout '{layout}'; choose image or one of {', '.join(LAYOUTS)}")


def sheet_title(params: ExportParams) -> str:
    knobs = Knobs(params.t, params.delta, params.ea)
    return (f"DRCNet {params.task}  |  {params.input}  |  {knob_text(knobs)}"
            + (f"  |  strength {params.strength * 100:.0f} %" if params.strength < 1 else "")
            + f"  |  weights {params.weights_sha256[:10]}  |  {params.device}, tile "
            f"{params.tile}" + (f", {params.ensemble} views" if params.ensemble > 1 else ""))


TITLE_SCALE = 0.55
TITLE_SEP = "  |  "


def fit_title(title: str, width: int, scale: float = TITLE_SCALE) -> str:
    """``title`` shortened to ``width`` pixels: its second part (the file name, as
    :func:`sheet_title` makes it) loses its middle to "..." first, down to 12 characters,
    then the longest part, until the whole fits; a sheet's header had cut a long name's
    title off at its end, strength first."""
    from .imageio import clean_text

    def fits(text: str) -> bool:
        return cv2.getTextSize(clean_text(text), cv2.FONT_HERSHEY_SIMPLEX, scale,
                               max(1, round(scale * 1.6)))[0][0] + 12 <= width

    parts = title.split(TITLE_SEP)
    while not fits(TITLE_SEP.join(parts)):
        name_left = len(parts) > 1 and len(parts[1].replace("...", "")) > 12
        i = 1 if name_left else max(range(len(parts)), key=lambda k: len(parts[k]))
        part = parts[i].replace("...", "")
        if len(part) <= 8:
            break  # nothing long left to shorten: drawn as it is, cut at the edge
        keep = len(part) - max(2, len(part) // 8)
        parts[i] = part[: keep - keep // 2] + "..." + part[len(part) - keep // 2 :]
    return TITLE_SEP.join(parts)


# --------------------------------------------------------------------------- CLI


DEFAULT_PREVIEW_SIZE = 512
# A smaller copy leaves the deepest block of the paper's network (1/8 of the side) a few
# cells; --preview-size 0 had built every map from a 1×1 copy of the photo.
MIN_PREVIEW_SIZE = 64
# The options only some layouts use (their defaults are None: given or not can be told).
LAYOUT_OPTIONS = {"--split": ("split",), "--block": ("sheet",), "--colormap": ("sheet",),
                  "--preview-size": ("sheet",), "--no-labels": ("side", "split")}


def unused_options(args: argparse.Namespace) -> str:
    """The options given that ``args.layout`` does not use, in words ("--split (for --layout
    split) has no effect with --layout side"), or "". Said, not refused: a script that
    switches layouts keeps its other options, as one that switches formats keeps
    ``--jpeg-quality`` (:func:`~drcnet.cli.jpeg_quality_note`)."""
    unused = [f"{opt} (for --layout {' or '.join(layouts)})"
              for opt, layouts in LAYOUT_OPTIONS.items()
              if getattr(args, opt[2:].replace("-", "_")) not in (None, False)
              and args.layout not in layouts
              # the size --maps computes them at, whatever the layout
              and not (opt == "--preview-size" and getattr(args, "maps", None))]
    if not unused:
        return ""
    return (f"{', '.join(unused)} {'has' if len(unused) == 1 else 'have'} no effect with "
            f"--layout {args.layout}")


def register(subparsers: Any) -> None:
    """Add ``drcnet compare`` to the CLI's subcommands."""
    from .cli import (
        add_jpeg_quality_option,
        add_max_pixels_option,
        add_repair_option,
        add_strength_option,
        add_variant_option,
    )
    from .devices import DEVICE_CHOICES, PRECISION_CHOICES
    from .registry import TASKS

    p = subparsers.add_parser(
        "compare", help="restore one image and export a before/after comparison",
        description="Restore INPUT and write a comparison: side by side, split at a divider, "
                    "or a summary sheet with maps and the w/ vs w/o energy attention pair. "
                    "Parameters go into the PNG text and a JSON sidecar (OUT with .json "
                    "for its extension).")
    p.add_argument("input", metavar="INPUT", help="image to restore")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="comparison image file")
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--layout", choices=LAYOUTS, default="side", help="comparison layout (side)")
    p.add_argument("--split", type=float, default=None,
                   help="divider position for --layout split, 0..1 (0.5)")
    p.add_argument("--t", type=float, default=None,
                   help="spatial-filter threshold (default: the weight file's)")
    p.add_argument("--delta", type=float, default=None,
                   help="energy-attention coefficient (default: the weight file's)")
    p.add_argument("--no-ea", action="store_true", help=NO_EA_HELP)
    p.add_argument("--weights", default=None, help="weight file instead of the shipped one")
    add_variant_option(p)
    p.add_argument("--device", default="auto",
                   help=f"compute device: {'|'.join(DEVICE_CHOICES)} or cuda:N (default auto)")
    # As restore's and the window's: compare had always run fp32, so its Restored panel
    # differed from what restore and the window give at their default.
    p.add_argument("--precision", default="auto", choices=PRECISION_CHOICES,
                   help="fp32, or fp16/bf16 autocast; auto = bf16 on a CPU with native "
                        "bfloat16, else fp32 (default auto, as restore)")
    p.add_argument("--tile", type=int, default=None,
                   help="tile size, 0 for one pass (default: the crop the weights were trained "
                        f"on, else {DEFAULT_TILE}; 0 is refused on a CPU whose free memory it "
                        "would not fit)")
    p.add_argument("--overlap", type=int, default=None,
                   help=f"tile overlap in pixels (default {DEFAULT_OVERLAP}; at most a quarter "
                        "of the tile)")
    p.add_argument("--ensemble", action="store_true",
                   help="best quality: average each tile's rotated/mirrored views "
                        "(8, or the 4 upright ones for derain; that many times slower)")
    p.add_argument("--block", default=None,
                   help=f"DFR block whose maps the sheet shows (default {DEFAULT_BLOCK}, or the "
                        "deepest second-stage block of a shallower network)")
    p.add_argument("--colormap", choices=tuple(COLORMAPS), default=None,
                   help="the sheet's map colours (viridis)")
    p.add_argument("--preview-size", type=int, default=None, metavar="N",
                   help="longest side, in pixels, of the copy of the photo the sheet's maps "
                        f"and EA pair are computed on, at least {MIN_PREVIEW_SIZE} (512; a "
                        "larger photo is shrunk to it, and its panels say the size)")
    p.add_argument("--no-labels", action="store_true", help="no text on side/split layouts")
    p.add_argument("--no-sidecar", action="store_true",
                   help="write no JSON sidecar; one Studio wrote earlier for this output is "
                        "removed, as it would no longer describe it")
    p.add_argument("--maps", default=None, metavar="PATH.npz",
                   help="also write every block's self-aware map, mask and energy-attention "
                        "map as float32 arrays to a NumPy .npz file (computed on the "
                        "--preview-size copy, as the sheet's maps are), with the run's "
                        "parameters")
    add_repair_option(p)
    add_jpeg_quality_option(p)
    add_strength_option(p)
    add_max_pixels_option(p)
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    """Run ``drcnet compare``; errors propagate as :class:`~drcnet.errors.DRCNetError`."""
    from .batch import check_input_name
    from .cli import (
        DEFAULT_JPEG_QUALITY,
        check_max_pixels,
        check_output_folder,
        jpeg_quality_note,
        read_checked,
    )
    from .errors import NoWeightsError, WeightsError
    from .imageio import check_image_type, check_output_size
    from .inference import (
        TileConfig,
        apply_strength,
        default_tile,
        ensemble_views,
        model_device,
        overlap_note,
        restore_tiled,
        run,
    )
    from .registry import load_model, noea_partner, weight_spec
    from .weights import sha256

    src, out = Path(args.input), Path(args.output)
    # What is wrong in the command line itself first (exit 2), whatever the disk holds.
    check_image_type(args.output)  # the text: a trailing slash names a folder
    check_input_name(src, folder_hint=False)  # a RAW file, as restore refuses it (one image)
    if args.split is not None and not 0.0 <= args.split <= 1.0:
        raise UsageError(f"--split must lie in [0, 1], got {args.split}")
    if args.preview_size is not None and args.preview_size < MIN_PREVIEW_SIZE:
        raise UsageError(f"--preview-size must be at least {MIN_PREVIEW_SIZE} (pixels), "
                         f"got {args.preview_size}")
    check_max_pixels(args.max_pixels)
    if unused := unused_options(args):
        print(f"drcnet: note: {unused}", file=sys.stderr)
    if note := jpeg_quality_note(args.jpeg_quality, [out]):  # as restore says it
        print(f"drcnet: note: {note}", file=sys.stderr)
    quality = args.jpeg_quality or DEFAULT_JPEG_QUALITY
    if out.resolve() == src.resolve() or sidecar_path(out).resolve() == src.resolve():
        raise ImageWriteError(f"{out} is the input file; choose another output path")
    check_output_folder(out.parent)  # said before the model runs, as restore does
    if not args.no_sidecar:
        check_sidecar_free(out)  # before the model runs
    if args.maps is not None:
        if Path(args.maps).resolve() in (out.resolve(), sidecar_path(out).resolve()):
            raise UsageError(f"--maps {args.maps} is the comparison's own file; name another")
        check_maps_path(args.maps, [src])
    image = read_checked(src, args.max_pixels)
    if size := compose_size(args.layout, image.rgb.shape[1], image.rgb.shape[0]):
        check_output_size(out, *size)  # before the model runs, not after
    weights = Path(args.weights) if args.weights else weight_spec(args.task, args.variant).path
    model = load_model(args.task, device=args.device, variant=args.variant,
                       weights=args.weights, precision=args.precision)
    model.configure(t=args.t, delta=args.delta, ea=False if args.no_ea else None)
    knobs = Knobs(model.knobs.t, model.knobs.delta, model.knobs.ea)  # unset: the file's
    tile = default_tile(model) if args.tile is None else args.tile
    tiles = TileConfig(tile=tile, overlap=overlap_for(tile, args.overlap),
                       ensemble=ensemble_views(args.task) if args.ensemble else 1,
                       repair=not args.no_repair)
    if note := overlap_note(args.overlap, tiles.tile, tiles.overlap):
        print(f"drcnet: note: {note}", file=sys.stderr)
    peaks: list[TilePeak] = []
    restored = run(restore_tiled(model, image.restorable, tiles, peaks=peaks))
    report = check_peaks(peaks, model.activation_limit)
    if report.out_of_range:
        print(f"drcnet: warning: {src.name}: {report.message()}", file=sys.stderr)
    elif report.repaired:
        print(f"drcnet: note: {src.name}: {report.message()}", file=sys.stderr)

    analysis = None
    noea_text = None
    split = 0.5 if args.split is None else args.split
    cmap = args.colormap or "viridis"
    if args.layout == "sheet":
        args.block = args.block or default_block(model.block_names())
        if args.block not in model.block_names():
            raise UsageError(f"unknown block '{args.block}'; choose one of "
                             f"{', '.join(model.block_names())}")
        noea = None
        partner = noea_partner(args.task, args.variant)
        if args.weights is None and partner is not None:  # the pair trained together
            try:
                noea = load_model(args.task, device=model_device(model), variant=partner,
                                  precision=model.precision)
            except (NoWeightsError, WeightsError):
                noea = None
        small = downscale(image.restorable, args.preview_size or DEFAULT_PREVIEW_SIZE)
        analysis = analyse(model, small, knobs, probe=True, ea_compare=True, noea_model=noea,
                           repair=tiles.repair)
        noea_text = analysis.without_ea_source
        if noea is not None:  # named as the GUI's exports name it
            noea_path = weight_spec(args.task, partner).path
            noea_text += f": {noea_path.name} sha256 {sha256(noea_path)}"
    mapped = analysis  # what --maps writes: the sheet's, else one probed pass of its own
    if args.maps is not None and mapped is None:
        small = downscale(image.restorable, args.preview_size or DEFAULT_PREVIEW_SIZE)
        mapped = analyse(model, small, knobs, probe=True, repair=tiles.repair)

    params = ExportParams.of_run(
        args.task, knobs, weights.name, sha256(weights), str(model_device(model)), tiles,
        model.precision, layout=args.layout,
        split=split if args.layout == "split" else None,
        block=args.block if args.layout == "sheet" else None,
        colormap=cmap if args.layout == "sheet" else None,
        noea=noea_text, input=src.name, range_check=report.summary(), strength=args.strength,
        analysis_size=max(analysis.restored.shape[:2]) if analysis is not None else None,
        jpeg_quality=quality if out.suffix.lower() in (".jpg", ".jpeg") else None)
    restored = apply_strength(image.restorable, restored, args.strength)
    result = compose(args.layout, image.rgb, restored, split=split, alpha=image.alpha,
                     labels=not args.no_labels, analysis=analysis,
                     block=args.block or DEFAULT_BLOCK,
                     title=sheet_title(params), cmap=cmap, icc=image.icc,
                     strength=args.strength)
    depth = 8 if args.layout == "sheet" else image.bit_depth
    other = None if args.no_sidecar else sidecar_owner(out)
    write_export(out, result, params, inputs=[src], bit_depth=depth,
                 sidecar=not args.no_sidecar, jpeg_quality=quality,
                 **carried_meta(args.layout, image.icc, image.exif, image.dpi,
                                image.png_text))
    print(f"{src} -> {out}", file=sys.stderr)
    if mapped is not None and args.maps is not None:
        mh, mw = mapped.restored.shape[:2]
        write_maps(args.maps, mapped.maps, replace(  # one pass over the copy: no tiles
            params, layout="maps", split=None, block=None, colormap=None, noea=None,
            tile=0, overlap=0, ensemble=1, analysis_size=max(mh, mw), jpeg_quality=None),
            source=f"{mw}x{mh} copy of {src.name}", inputs=[src])
        print(f"{src} -> {args.maps} (maps, {mw}x{mh})", file=sys.stderr)
    if lost := export_note(image, out, args.layout):
        print(f"drcnet: note: {src.name}: {lost}", file=sys.stderr)
    if other is not None:
        print(f"drcnet: note: {sidecar_path(out).name} described {other.name}; it now "
              f"describes {Path(out).name}", file=sys.stderr)
    return 0


def read_sidecar(path: PathLike) -> Mapping[str, Any]:
    """The parameters recorded beside an export."""
    return json.loads(sidecar_path(path).read_text(encoding="utf-8"))

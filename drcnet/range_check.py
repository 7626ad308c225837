"""Is an image inside what a model was trained on? A check on the network's own activations.

Every shipped model breaks on strongly saturated colours (docs/eval/saturated/): green sweets
on white come out as coloured blocks. When that happens the deepest stage-2 block's
activations run away, to a peak of thousands where the training photos keep it in the tens
(docs/eval/range/). Each weight file gets a *limit* on that peak, calibrated on the training
and validation photos (``scripts/calibrate_range.py``); a tile whose peak passes it is flagged
as out of range, so the GUI and ``drcnet restore`` can say so instead of handing back blocks
without a word.

The peak comes from :attr:`drcnet.network.DRCNet.peak_probe`, which costs one reduction per
forward pass; :func:`drcnet.inference.restore_tiled` gathers it per tile (``peaks=``).

The limit is stored in the weight file's metadata (``activation_limit``) or, for the shipped
files, in ``resources/weights/activation_limits.json``, found by SHA-256 (a copy of a shipped
file anywhere has its limit; a replaced file never inherits another's). A file with neither is
not checked.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from .inference import TilePeak

LIMITS_FILE = "activation_limits.json"
# The limit is MARGIN times the PERCENTILE-th percentile of the peaks on the calibration tiles
# (scripts/calibrate_range.py; what it catches and misses: docs/eval/range/calibration.txt).
MARGIN = 5.0
PERCENTILE = 99.0
# Up to this many times the limit, a flag is "mild" (RangeReport.mild).
MILD = 2.0
# The repair (drcnet.inference.repair_tiles) restores a tile again when its peak passes this
# many times the limit; tasks not named here: at the limit. Tiles of the validation photos with
# their colour pushed 3x and 5x from grey, and of the sweets (docs/eval/repair/pertile.txt): for
# derain and deblur every flagged tile gained from the repair (+3.0 to +10.7 dB on average per
# set); for the denoisers, flagged validation tiles up to 10x the limit were not broken (26-29
# dB) and the repair was mixed there (-0.51 to +0.28 dB per set, down to -2.3 dB on a tile),
# since putting the colour back scales the residual colour noise up, while the camera-noise
# denoiser's broken tiles (the sweets, 14-18 dB) ran at 69-334x.
REPAIR_ABOVE = {"denoise": 20.0}


def repair_above(task: str) -> float:
    """How many times its limit a tile's peak must pass before the repair restores it again,
    for a model of ``task`` (a weight file's ``task`` metadata)."""
    return REPAIR_ABOVE.get(task, 1.0)


def limit_from_metadata(meta: dict[str, str]) -> float | None:
    """The ``activation_limit`` recorded in a weight file's metadata, if any."""
    try:
        value = float(meta.get("activation_limit", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def _table_entries(table: Path) -> list[dict]:
    """The entries of an ``activation_limits.json`` (none when it is missing or unreadable)."""
    try:
        entries = json.loads(table.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [e for e in entries.values() if isinstance(e, dict)] \
        if isinstance(entries, dict) else []


def limit_from_table(path: str | os.PathLike[str],
                     shipped: str | os.PathLike[str] | None = None) -> float | None:
    """The limit for ``path`` from an ``activation_limits.json``: the one beside it, else the
    shipped weights' (``shipped``: that folder, by default the bundled one), from the entry
    with the file's SHA-256. The same bytes have the same limit whatever their name, so a
    copy of a shipped file (a ``DRCNET_WEIGHTS_DIR`` folder, ``--weights``) is checked as the
    shipped file is (it had not been, without a word), and a replaced file never inherits
    another's limit."""
    from .weights import sha256  # weights imports this module

    if shipped is None:
        from .registry import RESOURCES  # registry imports weights, which imports this
        shipped = RESOURCES / "weights"
    p = Path(path)
    tables = [p.parent / LIMITS_FILE]
    if Path(shipped).resolve() != p.parent.resolve():
        tables.append(Path(shipped) / LIMITS_FILE)
    digest = None
    for table in tables:
        entries = _table_entries(table) if table.is_file() else []
        if entries and digest is None:
            digest = sha256(p)
        for entry in entries:
            if entry.get("sha256") == digest:
                return limit_from_metadata({"activation_limit": str(entry.get("limit", ""))})
    return None


def activation_limit(path: str | os.PathLike[str], meta: dict[str, str]) -> float | None:
    """The calibrated limit for a weight file: its metadata, else the table beside it."""
    return limit_from_metadata(meta) or limit_from_table(path)


@dataclass(frozen=True)
class RangeReport:
    """What the range check found in one restore.

    Attributes:
        limit: the model's calibrated limit, or ``None`` when it has none (not checked).
        peak: the largest peak over all tiles (0 when nothing was measured), of the passes
            kept.
        tiles: every tile's peak; ``flagged`` the ones over the limit (as kept: after any
            repair); ``repaired`` the ones the repair brought back within it
            (:func:`drcnet.inference.repair_tiles`).
    """

    limit: float | None
    peak: float = 0.0
    tiles: tuple[TilePeak, ...] = ()
    flagged: tuple[TilePeak, ...] = ()
    repaired: tuple[TilePeak, ...] = ()

    @property
    def checked(self) -> bool:
        return self.limit is not None and bool(self.tiles)

    @property
    def out_of_range(self) -> bool:
        return bool(self.flagged)

    def summary(self) -> str:
        """One line for an export's record: checked or not, and what was found."""
        if not self.checked:
            return "not checked (no calibrated limit)"
        where = f"{len(self.flagged)} of {len(self.tiles)} tiles"
        state = f"outside the trained range in {where}" if self.out_of_range else \
            "within the trained range"
        return (f"{state} (peak {peak_text(self.peak)}, limit {peak_text(self.limit)})"
                f"{self._repair_note()}")

    def first_peak_text(self) -> str:
        """The largest as-is peak of the repaired tiles, in words ("overflowed" for a pass
        whose activations overflowed)."""
        first = max((_finite(t.first_peak) for t in self.repaired), default=0.0)
        return peak_text(first)

    def _repair_note(self) -> str:
        if not self.repaired:
            return ""
        factors = sorted({t.colour for t in self.repaired}, reverse=True)
        where = ("the image" if len(self.tiles) == 1
                 else f"{len(self.repaired)} of {len(self.tiles)} tiles")
        return (f"; {where} repaired (peak {self.first_peak_text()} as is; restored again with "
                f"colours x{'/x'.join(f'{f:g}' for f in factors)} towards gray)")

    @property
    def any_marks(self) -> bool:
        """Whether anything is worth outlining: tiles out of range or repaired."""
        return bool(self.flagged or self.repaired)

    @property
    def mild(self) -> bool:
        """Out of range, but by less than :data:`MILD` times the limit: faint stripes or
        fringes rather than blocks (the new Gaussian denoiser on the sweets: 1.2-1.3×, against
        10× to 10⁹× where the old models broke; docs/eval/range/)."""
        return (self.out_of_range and self.limit is not None
                and self.peak <= MILD * self.limit)

    def message(self) -> str:
        """One line for a user; empty when nothing is out of range or repaired."""
        if not self.out_of_range:
            if not self.repaired:
                return ""
            n, total = len(self.repaired), len(self.tiles)
            where = "the image" if total == 1 else f"{n} of {total} tiles"
            return (f"{where} drove this model outside what it was trained on (activation peak "
                    f"{self.first_peak_text()}, limit {peak_text(self.limit)}; strongly saturated "
                    f"colours are the known cause) and {'was' if n == 1 else 'were'} restored "
                    f"again with colours pulled towards gray, which brings the model back in "
                    f"range; check {'that area' if n == 1 else 'those areas'}.")
        n, total = len(self.flagged), len(self.tiles)
        where = "the image" if total == 1 else f"{n} of {total} tiles"
        numbers = f"(activation peak {peak_text(self.peak)}, limit {peak_text(self.limit)})"
        m = len(self.repaired)  # others brought back: said too, they were made differently
        also = (f" {m} other tile{'s were' if m > 1 else ' was'} restored again with colours "
                f"pulled towards gray, which brought {'them' if m > 1 else 'it'} back in range."
                if m else "")
        if self.mild:
            return (f"slightly outside what this model was trained on in {where} {numbers}; "
                    f"check those areas for faint stripes or colour fringes.{also}")
        return (f"outside what this model was trained on in {where} {numbers}; expect "
                f"blocky, wrongly coloured patches there. Strongly saturated colours are the "
                f"known cause.{also}")


def peak_text(value: float) -> str:
    """An activation peak or limit in words: grouped digits up to a million, then three
    significant figures (a broken pass's 1.5e+33 had been printed as 34 digits), and
    "overflowed" for an infinite or NaN one."""
    if not math.isfinite(value):
        return "overflowed"
    return f"{value:,.0f}" if abs(value) < 1e6 else f"{value:.3g}"


def stitched_map(tiles: tuple[TilePeak, ...] | list[TilePeak], hw: tuple[int, int]
                 ) -> np.ndarray | None:
    """The tiles' peak maps placed into one map of an ``hw`` image (the largest value where
    tiles overlap), at the maps' resolution; ``None`` when no tile has a map."""
    with_maps = [t for t in tiles if t.map is not None and t.map.size]
    if not with_maps:
        return None
    first = with_maps[0]
    # Image pixels per map cell: the network's down-sampling, the same on both axes.
    cell = first.cell or math.ceil(first.h / first.map.shape[0])
    grid = np.zeros((math.ceil(hw[0] / cell), math.ceil(hw[1] / cell)), np.float32)
    for t in with_maps:
        y0, x0 = min(round(t.y / cell), grid.shape[0]), min(round(t.x / cell), grid.shape[1])
        m = t.map[: grid.shape[0] - y0, : grid.shape[1] - x0]
        area = grid[y0 : y0 + m.shape[0], x0 : x0 + m.shape[1]]
        np.maximum(area, m, out=area)
    return grid


def flagged_boxes(report: RangeReport, image_hw: tuple[int, int],
                  source_hw: tuple[int, int] | None = None) -> list[tuple[int, int, int, int]]:
    """Where the trouble is, as ``(x, y, w, h)`` boxes in the pixels of an ``image_hw`` image.

    The report's tiles' peak maps, stitched over the restored image of ``source_hw`` (e.g. a
    downscaled preview, one tile; default: the image itself): their connected areas over the
    limit, boxed and grown by one map cell. Flagged tiles without a map, or whose map shows
    nothing over the limit (the peak was in another view of an ensemble), are boxed whole.
    """
    if not report.any_marks or report.limit is None:
        return []
    ih, iw = image_hw
    sh, sw = source_hw or image_hw
    fy, fx = ih / sh, iw / sw
    boxes = []
    grid = stitched_map(report.tiles, (sh, sw))
    if grid is not None:
        over = (~(grid <= report.limit)).astype(np.uint8)  # NaN counts as over
        count, _, stats, _ = cv2.connectedComponentsWithStats(over, connectivity=8)
        mh, mw = grid.shape
        # One map cell in image pixels: the map's cells are square, at the network's
        # down-sampling; the last row and column may hang over the source's edge.
        cells = [t.cell for t in report.tiles if t.cell]
        cell = cells[0] if cells else max(sh / mh, sw / mw)
        cy, cx = cell * fy, cell * fx
        for x, y, w, h, _ in stats[1:count]:
            x0, y0 = max(0.0, (x - 1) * cx), max(0.0, (y - 1) * cy)
            x1, y1 = min(float(iw), (x + w + 1) * cx), min(float(ih), (y + h + 1) * cy)
            boxes.append((round(x0), round(y0), round(x1 - x0), round(y1 - y0)))
    # A repaired tile keeps its as-is pass's map, so the stitched map outlines it too.
    for t in report.flagged + report.repaired:
        if t.map is None or (t.map <= report.limit).all():
            boxes.append((round(t.x * fx), round(t.y * fy), round(t.w * fx), round(t.h * fy)))
    return boxes


def marked_boxes(report: RangeReport, image_hw: tuple[int, int],
                 source_hw: tuple[int, int] | None = None
                 ) -> tuple[list[tuple[int, int, int, int]], list[tuple[int, int, int, int]]]:
    """:func:`flagged_boxes` in two lists: round the areas of the tiles still out of range,
    and round those of the tiles the repair brought back (their as-is passes' maps), so a
    view can tell them apart."""
    still = replace(report, tiles=tuple(t for t in report.tiles if not t.repaired),
                    repaired=())
    fixed = replace(report, tiles=report.repaired, flagged=())
    return (flagged_boxes(still, image_hw, source_hw),
            flagged_boxes(fixed, image_hw, source_hw))


def _finite(x: float | None) -> float:
    """``x`` for ordering, a NaN (an overflowed pass) as infinity, ``None`` as 0."""
    if x is None:
        return 0.0
    return math.inf if math.isnan(x) else x


def check_peaks(peaks: list[TilePeak], limit: float | None) -> RangeReport:
    """Compare each tile's peak with ``limit`` (``None``: the model has none)."""
    top = max((p.peak if math.isfinite(p.peak) else math.inf for p in peaks), default=0.0)
    # Not "peak > limit": a pass that overflowed has a NaN peak, the surest sign of all.
    flagged = tuple(p for p in peaks if limit is not None and not p.peak <= limit)
    repaired = tuple(p for p in peaks if p.repaired)  # kept only when back within the limit
    return RangeReport(limit=limit, peak=top, tiles=tuple(peaks), flagged=flagged,
                       repaired=repaired)

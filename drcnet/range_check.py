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
files, in ``resources/weights/activation_limits.json``, keyed by file name and SHA-256 so a
replaced file never inherits another's limit. A file with neither is not checked.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .inference import TilePeak

LIMITS_FILE = "activation_limits.json"
# The limit is MARGIN times the PERCENTILE-th percentile of the peaks on the calibration tiles
# (scripts/calibrate_range.py; what it catches and misses: docs/eval/range/calibration.txt).
MARGIN = 5.0
PERCENTILE = 99.0


def limit_from_metadata(meta: dict[str, str]) -> float | None:
    """The ``activation_limit`` recorded in a weight file's metadata, if any."""
    try:
        value = float(meta.get("activation_limit", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def limit_from_table(path: str | os.PathLike[str]) -> float | None:
    """The limit for ``path`` from the ``activation_limits.json`` beside it, if the table has
    the file under its name with the same SHA-256."""
    from .weights import sha256  # weights imports this module

    p = Path(path)
    table = p.parent / LIMITS_FILE
    if not table.is_file():
        return None
    try:
        entry = json.loads(table.read_text(encoding="utf-8")).get(p.name)
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("sha256") != sha256(p):
        return None
    try:
        return float(entry["limit"])
    except (KeyError, TypeError, ValueError):
        return None


def activation_limit(path: str | os.PathLike[str], meta: dict[str, str]) -> float | None:
    """The calibrated limit for a weight file: its metadata, else the table beside it."""
    return limit_from_metadata(meta) or limit_from_table(path)


@dataclass(frozen=True)
class RangeReport:
    """What the range check found in one restore.

    Attributes:
        limit: the model's calibrated limit, or ``None`` when it has none (not checked).
        peak: the largest peak over all tiles (0 when nothing was measured).
        tiles: every tile's peak; ``flagged`` the ones over the limit.
    """

    limit: float | None
    peak: float = 0.0
    tiles: tuple[TilePeak, ...] = ()
    flagged: tuple[TilePeak, ...] = ()

    @property
    def checked(self) -> bool:
        return self.limit is not None and bool(self.tiles)

    @property
    def out_of_range(self) -> bool:
        return bool(self.flagged)

    def area_fraction(self, h: int, w: int) -> float:
        """The share of an ``h×w`` image the flagged tiles cover."""
        if not self.flagged:
            return 0.0
        mask = np.zeros((h, w), bool)
        for t in self.flagged:
            mask[t.y : t.y + t.h, t.x : t.x + t.w] = True
        return float(mask.mean())

    def message(self) -> str:
        """One line for a user; empty when nothing is out of range."""
        if not self.out_of_range:
            return ""
        n, total = len(self.flagged), len(self.tiles)
        where = "the image" if total == 1 else f"{n} of {total} tiles"
        return (f"outside what this model was trained on in {where} (activation peak "
                f"{self.peak:.0f}, limit {self.limit:.0f}); expect blocky, wrongly coloured "
                f"patches there. Strongly saturated colours are the known cause.")


def check_peaks(peaks: list[TilePeak], limit: float | None) -> RangeReport:
    """Compare each tile's peak with ``limit`` (``None``: the model has none)."""
    top = max((p.peak for p in peaks), default=0.0)
    flagged = tuple(p for p in peaks if limit is not None and p.peak > limit)
    return RangeReport(limit=limit, peak=top, tiles=tuple(peaks), flagged=flagged)

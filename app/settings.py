"""Persistent user settings (QSettings, organisation "DRCNet", application "DRCNet Studio").

One typed accessor per setting, so the rest of the GUI never spells a key or converts a
QVariant. Tests point QSettings at a temporary folder (``QSettings.setPath``) before
creating the window.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from drcnet.compare import Knobs
from drcnet.inference import DEFAULT_TILE

ORGANIZATION = "DRCNet"
APPLICATION = "DRCNet Studio"
MAX_RECENT = 10
# The maps panel's default block until session 20 (a flat map on every shipped model); a
# stored one from before then is read as "not chosen", once.
OLD_DEFAULT_BLOCK = "stage2.enc0"


class Settings:
    """Typed access to the application's QSettings.

    Args:
        persist: when False, nothing is written and the stored values are ignored: every
            setting reads as its default (screenshot runs are reproducible and leave the
            user's preferences alone).
    """

    def __init__(self, persist: bool = True) -> None:
        if persist:
            self._q = QSettings(
                QSettings.defaultFormat(), QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
            )
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="drcnet-studio-")
            self._q = QSettings(str(Path(self._tmp.name) / "settings.ini"),
                                QSettings.Format.IniFormat)
        self.persist = persist
        for key in ("knobs/t", "knobs/delta", "knobs/ea"):  # before knobs were kept per model
            self._q.remove(key)

    # ------------------------------------------------------------------ plumbing
    def _get(self, key: str, default: object, kind: type) -> object:
        value = self._q.value(key, default)
        if value is None:
            return default
        try:
            if kind is bool:
                if isinstance(value, str):
                    return value.lower() in ("1", "true", "yes")
                return bool(value)
            result = kind(value)
        except (TypeError, ValueError):
            return default
        if kind is float and not math.isfinite(result):  # "nan" and "inf" parse as floats
            return default
        return result

    def _set(self, key: str, value: object) -> None:
        self._q.setValue(key, value)

    def sync(self) -> None:
        if self.persist:
            self._q.sync()

    def file_name(self) -> str:
        return self._q.fileName()

    # ------------------------------------------------------------------ values
    def last_folder(self) -> str:
        return str(self._get("files/last_folder", str(Path.home()), str))

    def set_last_folder(self, folder: str) -> None:
        self._set("files/last_folder", folder)

    def export_choice(self) -> tuple[str, str]:
        """The Export dialog's last layout and format (e.g. ``("side", "jpeg")``)."""
        return (str(self._get("files/export_layout", "image", str)),
                str(self._get("files/export_format", "png", str)))

    def set_export_choice(self, layout: str, fmt: str) -> None:
        self._set("files/export_layout", layout)
        self._set("files/export_format", fmt)

    def jpeg_quality(self) -> int:
        q = int(self._get("files/jpeg_quality", 95, int))
        return q if 1 <= q <= 100 else 95

    def set_jpeg_quality(self, quality: int) -> None:
        self._set("files/jpeg_quality", quality)

    def export_folder(self) -> str:
        return str(self._get("files/export_folder", "", str))

    def set_export_folder(self, folder: str) -> None:
        self._set("files/export_folder", folder)

    def recent_files(self) -> list[str]:
        value = self._q.value("files/recent", [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in (value or [])][:MAX_RECENT]

    def add_recent_file(self, path: str) -> list[str]:
        files = [path, *[p for p in self.recent_files() if p != path]][:MAX_RECENT]
        self._set("files/recent", files)
        return files

    def remove_recent_file(self, path: str) -> None:
        self._set("files/recent", [p for p in self.recent_files() if p != path])

    def clear_recent_files(self) -> None:
        self._set("files/recent", [])

    def task(self, default: str = "denoise") -> str:
        return str(self._get("model/task", default, str))

    def set_task(self, task: str) -> None:
        self._set("model/task", task)

    def variant(self, task: str) -> str:
        """The shipped model last chosen for ``task`` (``default``, ``gaussian``, …)."""
        return str(self._get(f"model/variant_{task}", "default", str))

    def set_variant(self, task: str, variant: str) -> None:
        self._set(f"model/variant_{task}", variant)

    def weight_file(self, task: str) -> str:
        """The weight file last opened for ``task`` ("" if none)."""
        return str(self._get(f"model/file_{task}", "", str))

    def set_weight_file(self, task: str, path: str) -> None:
        self._set(f"model/file_{task}", path)

    def device(self, default: str = "cpu") -> str:
        return str(self._get("model/device", default, str))

    def set_device(self, device: str) -> None:
        self._set("model/device", device)

    def knobs(self, task: str, variant: str) -> Knobs | None:
        """The knobs last used with one shipped model, or None if it was never tuned (it then
        starts at the values its weight file stores)."""
        key = f"knobs/{task}-{variant}"
        t = self._get(f"{key}/t", None, float)
        delta = self._get(f"{key}/delta", None, float)
        if t is None or delta is None:
            return None
        return Knobs(float(t), float(delta), bool(self._get(f"{key}/ea", True, bool)))

    def set_knobs(self, task: str, variant: str, knobs: Knobs) -> None:
        key = f"knobs/{task}-{variant}"
        self._set(f"{key}/t", knobs.t)
        self._set(f"{key}/delta", knobs.delta)
        self._set(f"{key}/ea", knobs.ea)

    def clear_knobs(self, task: str, variant: str) -> None:
        """Forget a model's knobs: it starts at its weight file's values again."""
        self._q.remove(f"knobs/{task}-{variant}")

    def tile(self, default: int = DEFAULT_TILE) -> int:
        tile = int(self._get("run/tile", default, int))
        return default if tile < 0 else tile  # a damaged value must not mean "whole image"

    def set_tile(self, tile: int) -> None:
        self._set("run/tile", tile)

    def tile_auto(self) -> bool:
        """Whether the tile follows the loaded model's training crop: on by default, unless
        an earlier version stored a tile of its own (that choice is kept)."""
        own = self._get("run/tile", None, int)
        return bool(self._get("run/tile_auto", own in (None, DEFAULT_TILE), bool))

    def set_tile_auto(self, on: bool) -> None:
        self._set("run/tile_auto", on)

    def preview_size(self, default: int = 512) -> int:
        return int(self._get("run/preview_size", default, int))

    def set_preview_size(self, size: int) -> None:
        self._set("run/preview_size", size)

    def auto_refine(self, default: bool = True) -> bool:
        return bool(self._get("run/auto_refine", default, bool))

    def set_auto_refine(self, on: bool) -> None:
        self._set("run/auto_refine", on)

    def ensemble(self, default: bool = False) -> bool:
        return bool(self._get("run/ensemble", default, bool))

    def set_ensemble(self, on: bool) -> None:
        self._set("run/ensemble", on)

    def repair(self, default: bool = True) -> bool:
        return bool(self._get("run/repair", default, bool))

    def set_repair(self, on: bool) -> None:
        self._set("run/repair", on)

    def enlarge_small(self, default: bool = False) -> bool:
        """Whether Fit enlarges an image smaller than the view (View ▸ Enlarge Small Images
        to Fit)."""
        return bool(self._get("view/enlarge_small", default, bool))

    def set_enlarge_small(self, on: bool) -> None:
        self._set("view/enlarge_small", on)

    def keep_exif(self, default: bool = True) -> bool:
        """Whether saved images keep the photo's EXIF (the Export and Restore Files box)."""
        return bool(self._get("export/keep_exif", default, bool))

    def set_keep_exif(self, on: bool) -> None:
        self._set("export/keep_exif", on)

    def strength(self, default: float = 1.0) -> float:
        """The share of the restoration shown and written (1: all of it); a stored value
        outside [0, 1] reads as the default."""
        value = float(self._get("run/strength", default, float))
        return value if 0.0 <= value <= 1.0 else default

    def set_strength(self, value: float) -> None:
        self._set("run/strength", value)

    def maps(self) -> dict[str, object]:
        block = str(self._get("maps/block", "", str))
        if block == OLD_DEFAULT_BLOCK and not self._get("maps/block_v2", False, bool):
            block = ""  # saved before session 20 changed the default: take the new one, once
        return {
            "block": block,
            "kind": str(self._get("maps/kind", "self_aware", str)),
            "cmap": str(self._get("maps/cmap", "viridis", str)),
            "opacity": int(self._get("maps/opacity", 60, int)),
            "overlay": bool(self._get("maps/overlay", False, bool)),
        }

    def set_maps(self, block: str, kind: str, cmap: str, opacity: int, show: bool) -> None:
        self._set("maps/block", block)
        self._set("maps/block_v2", True)  # from now on a stored stage2.enc0 was chosen
        self._set("maps/kind", kind)
        self._set("maps/cmap", cmap)
        self._set("maps/opacity", opacity)
        self._set("maps/overlay", show)

    def view_mode(self) -> str:
        """The view the window shows at start: the last one used, at first Compare, so the
        first look at a sample shows what the model did."""
        return str(self._get("view/mode", "compare", str))

    def set_view_mode(self, mode: str) -> None:
        self._set("view/mode", mode)

    def compare_style(self) -> str:
        return str(self._get("view/compare_style", "split", str))

    def set_compare_style(self, style: str) -> None:
        self._set("view/compare_style", style)

    def geometry(self) -> QByteArray | None:
        value = self._q.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def window_state(self) -> QByteArray | None:
        value = self._q.value("window/state")
        return value if isinstance(value, QByteArray) else None

    def set_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self._set("window/geometry", geometry)
        self._set("window/state", state)

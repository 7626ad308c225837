"""The maps panel: every DFR block's self-aware map, binary mask and energy attention.

Pick a block and a map kind; the map is drawn over the image in the viewer with a colour map
and an opacity. A grid of thumbnails shows the chosen kind for every block at once (click one
to select it). Maps come from the live preview, so they follow t and δ; the main window asks
for them only while this panel is visible.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from drcnet.compare import (
    COLORMAPS,
    DEFAULT_BLOCK,
    MAP_KINDS,
    MapSet,
    colorize,
    default_block,
    render_map,
    render_map_on,
    share_text,
)

from .viewer import to_qimage

KIND_LABELS = {"self_aware": "Self-aware map m", "mask": "Binary mask M = (m ≥ t)",
               "energy": "Energy attention"}
SHORT_KINDS = {"self_aware": "m", "mask": "mask M", "energy": "energy"}  # for captions
THUMB = 60
THUMB_ASPECT = 3  # the longest side a thumbnail shows, in widths of its shortest
OVERLAY_TIP = ("Tint the image in the Before, After and Compare views (input and restored) "
               "with the selected map, at the opacity beside")


class ColourBar(QWidget):
    """The selected map's colour scale, drawn at the widget's size in screen pixels, so the
    ramp and the t tick stay sharp on a high-DPI display."""

    def __init__(self) -> None:
        super().__init__()
        self.setFixedHeight(12)
        self.cmap, self.steps, self.tick = "viridis", False, None

    def set_scale(self, cmap: str, steps: bool = False, tick: float | None = None) -> None:
        """``steps``: two colours (a binary mask); ``tick``: where to mark t, in [0, 1]."""
        self.cmap, self.steps, self.tick = cmap, steps, tick
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt name)
        dpr = self.devicePixelRatioF()
        w, h = max(1, round(self.width() * dpr)), max(1, round(self.height() * dpr))
        ramp = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :].repeat(h, axis=0)
        bar = colorize(np.round(ramp) if self.steps else ramp, self.cmap)
        if self.tick is not None:  # white between dark edges: seen at either end of a
            x, half = round(self.tick * (w - 1)), max(1, round(dpr))  # scale (on gray's
            lo, hi = max(0, x - half), min(w, x + half)  # white end, white alone was not)
            bar[:, max(0, lo - half) : lo] = 0.0
            bar[:, hi : hi + half] = 0.0
            bar[:, lo:hi] = 1.0
        image = to_qimage(bar)
        image.setDevicePixelRatio(dpr)
        QPainter(self).drawImage(0, 0, image)


class MapsPanel(QWidget):
    """Block, kind, colour map and opacity pickers plus thumbnails of all blocks.

    Signals:
        changed(): the selection, colour map, opacity or visibility of the overlay changed.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._maps: dict[str, MapSet] = {}
        self._t = 0.75
        self._source = ""
        self._wanted = DEFAULT_BLOCK
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(8)

        form = QFormLayout()
        self.block_combo = QComboBox()
        self.kind_combo = QComboBox()
        for kind in MAP_KINDS:
            self.kind_combo.addItem(KIND_LABELS[kind], kind)
        self.cmap_combo = QComboBox()
        for name in COLORMAPS:
            self.cmap_combo.addItem(name.title(), name)
        self.block_combo.setToolTip("Which DFR block's maps to show (stage 1 or 2, encoder "
                                    "level); the thumbnails below pick one too")
        self.kind_combo.setToolTip("The spatial filter's self-aware map m, its binary mask "
                                   "M = (m ≥ t), or the energy-attention map")
        self.cmap_combo.setToolTip("Colours for the map's values (the legend shows the scale)")
        form.addRow("Block", self.block_combo)
        form.addRow("Map", self.kind_combo)
        form.addRow("Colour map", self.cmap_combo)
        layout.addLayout(form)

        row = QHBoxLayout()
        self.overlay_check = QCheckBox("Overlay on image")
        self.overlay_check.setToolTip(OVERLAY_TIP)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setToolTip("Overlay opacity")
        self.opacity_slider.setAccessibleName("Overlay opacity")
        self.opacity_label = QLabel()
        self.opacity_label.setMinimumWidth(36)
        row.addWidget(self.overlay_check)
        row.addWidget(self.opacity_slider, 1)
        row.addWidget(self.opacity_label)
        layout.addLayout(row)

        self.legend = ColourBar()
        self.legend.setToolTip("Colour scale of the selected map")
        self.legend.setAccessibleName("Colour scale of the selected map")
        layout.addWidget(self.legend)
        ends = QHBoxLayout()
        # The scale's ends under its ends, and what to read it by between them.
        self.legend_low, self.legend_note, self.legend_high = QLabel(), QLabel(), QLabel()
        for lab in (self.legend_low, self.legend_note, self.legend_high):
            lab.setObjectName("hint")
        self.legend_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.legend_high.setAlignment(Qt.AlignmentFlag.AlignRight)
        ends.addWidget(self.legend_low)
        ends.addWidget(self.legend_note, 1)
        ends.addWidget(self.legend_high)
        layout.addLayout(ends)

        self.info = QLabel("Maps appear with the next preview.")
        self.info.setWordWrap(True)
        self.info.setObjectName("hint")
        layout.addWidget(self.info)

        self.grid_title = QLabel()
        self.grid_title.setWordWrap(True)
        layout.addWidget(self.grid_title)
        self.grid = QGridLayout()
        self.grid.setSpacing(4)
        layout.addLayout(self.grid)
        # File ▸ Export Maps, where the maps are (the window connects it).
        self.export_button = QPushButton("Export Maps…")
        self.export_button.setToolTip("Save every block's self-aware map, mask and "
                                      "energy-attention map as float32 arrays in a NumPy "
                                      ".npz file, with the run's parameters")
        export_row = QHBoxLayout()
        export_row.addWidget(self.export_button)
        export_row.addStretch(1)
        layout.addLayout(export_row)
        layout.addStretch(1)
        self.buttons: dict[str, QToolButton] = {}
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)

        self.block_combo.currentIndexChanged.connect(self._on_block)
        self.kind_combo.currentIndexChanged.connect(self._on_kind)
        self.cmap_combo.currentIndexChanged.connect(self._on_kind)
        self.overlay_check.toggled.connect(lambda _: self.changed.emit())
        self.opacity_slider.valueChanged.connect(self._on_opacity)
        self.set_options(DEFAULT_BLOCK, "self_aware", "viridis", 60, False)

    # ------------------------------------------------------------------ setup
    def expected_width(self, levels: int = 4) -> int:
        """Its minimum width once a model's thumbnails fill it (``levels`` blocks a stage, as
        the shipped models have), for a window sized before the model loads: measured
        empty, it had been 51 px narrower, and a first window just over 1280 px had opened
        with the image under half its width."""
        margins = self.layout().contentsMargins()
        grid = levels * (THUMB + 14) + (levels - 1) * self.grid.spacing()
        return max(self.minimumSizeHint().width(), grid + margins.left() + margins.right())

    def set_blocks(self, names: list[str] | tuple[str, ...]) -> None:
        """The model's block names (``stage1.enc0`` …); rebuilds the thumbnail grid."""
        current = self._wanted
        self.block_combo.blockSignals(True)
        self.block_combo.clear()
        for name in names:
            self.block_combo.addItem(name, name)
        i = self.block_combo.findData(current)
        if i < 0:
            i = max(0, self.block_combo.findData(default_block(list(names))))
        self.block_combo.setCurrentIndex(i)
        self.block_combo.blockSignals(False)
        for button in self.buttons.values():
            self.group.removeButton(button)
            button.deleteLater()
        self.buttons = {}
        stages = sorted({n.split(".")[0] for n in names})
        for name in names:
            stage, level = name.split(".")
            b = QToolButton()
            b.setCheckable(True)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            b.setIconSize(QSize(THUMB, THUMB))
            b.setFixedSize(THUMB + 14, THUMB + 26)
            b.setText(name.replace("stage", "s").replace(".enc", "·e"))
            b.setToolTip(name)
            b.setAccessibleName(f"Block {name}")  # not "s1·e0", read out letter by letter
            b.clicked.connect(lambda _=False, n=name: self.set_block(n))
            self.group.addButton(b)
            self.grid.addWidget(b, stages.index(stage), int(level.removeprefix("enc")))
            self.buttons[name] = b
        # Made after the panel's other controls, the thumbnails joined the end of the
        # window's Tab order (after the toolbar); they come right after the opacity.
        last: QWidget = self.opacity_slider
        for b in self.buttons.values():
            QWidget.setTabOrder(last, b)
            last = b
        self._refresh()

    def set_options(self, block: str, kind: str, cmap: str, opacity: int, show: bool) -> None:
        for combo, value in ((self.kind_combo, kind), (self.cmap_combo, cmap)):
            i = combo.findData(value)
            if i >= 0:
                combo.setCurrentIndex(i)
        if block:
            self.set_block(block)
        self.opacity_slider.setValue(int(opacity))
        self.overlay_check.setChecked(bool(show))
        self._on_opacity(self.opacity_slider.value())

    # ------------------------------------------------------------------ values
    def block(self) -> str:
        return str(self.block_combo.currentData() or DEFAULT_BLOCK)

    def set_block(self, name: str) -> None:
        self._wanted = name
        i = self.block_combo.findData(name)
        if i >= 0:
            self.block_combo.setCurrentIndex(i)

    def kind(self) -> str:
        return str(self.kind_combo.currentData())

    def cmap(self) -> str:
        return str(self.cmap_combo.currentData())

    def opacity(self) -> float:
        return self.opacity_slider.value() / 100.0

    def overlay_enabled(self) -> bool:
        return self.overlay_check.isChecked()

    def set_overlay_available(self, available: bool, why: str = "") -> None:
        """Offer the overlay, or grey its box and opacity out with ``why`` as their tooltip
        (the EA ± view draws none: the box had stayed ticked there, doing nothing). The
        choice is kept for the views that draw it."""
        for w in (self.overlay_check, self.opacity_slider, self.opacity_label):
            w.setEnabled(available)
        self.overlay_check.setToolTip(OVERLAY_TIP if available else why)
        self.opacity_slider.setToolTip("Overlay opacity" if available else why)

    def has_maps(self) -> bool:
        return bool(self._maps)

    def maps(self) -> dict[str, MapSet]:
        return self._maps

    # ------------------------------------------------------------------ content
    def set_maps(self, maps: dict[str, MapSet], t: float, source: str = "") -> None:
        """New maps from a preview at threshold ``t``; ``source`` says at what size."""
        self._maps = dict(maps)
        self._t = t
        self._source = source
        self._refresh()
        self.changed.emit()

    def clear_maps(self, message: str = "Maps appear with the next preview.") -> None:
        self._maps = {}
        self.info.setText(message)
        self._refresh()
        self.changed.emit()

    def overlay_caption(self) -> str:
        """What the overlay shows, for the view's captions: block, kind and opacity."""
        return (f"overlay {self.block()} {SHORT_KINDS[self.kind()]} "
                f"{self.opacity_slider.value()} %")

    def overlay_array(self) -> np.ndarray | None:
        """The selected map, colour-mapped at the preview's size, or ``None``."""
        maps = self._maps.get(self.block())
        if maps is None:
            return None
        h, w = next(iter(self._maps.values())).self_aware.shape
        return render_map_on(maps, self.kind(), self.cmap(), (w, h), (w, h))

    def _on_block(self, _: int) -> None:
        self._wanted = self.block()
        self._refresh()
        self.changed.emit()

    def _on_kind(self, _: int) -> None:
        self._refresh()
        self.changed.emit()

    def _on_opacity(self, value: int) -> None:
        self.opacity_label.setText(f"{value} %")
        self.changed.emit()

    def _update_legend(self, maps: MapSet | None) -> None:
        kind = self.kind()
        # The threshold t is marked on the scale, that of the maps shown: none while there
        # are none (the last maps' t may no longer be the knob's).
        tick = self._t if kind == "self_aware" and maps is not None else None
        self.legend.set_scale(self.cmap(), steps=kind == "mask", tick=tick)
        note = ""
        if kind == "self_aware":
            low, high = "0", "1"
            note = f"white tick: t = {self._t:.2f}" if tick is not None else ""
        elif kind == "mask":
            low, high = "m < t", "m ≥ t"
        elif maps is not None and float(np.ptp(maps.energy)) <= 1e-6:
            low = high = f"{float(maps.energy.min()):.3f}"
            # EA off: a network built without EA passes its features on unweighted (1
            # everywhere); one trained with it weights each channel by its mean weight.
            note = "EA is off: no attention, 1 everywhere" if abs(
                float(maps.energy.min()) - 1.0) <= 1e-6 else (
                "EA is off: each channel at its mean weight, no spatial selection")
        elif maps is not None:
            low, high = f"{maps.energy.min():.3f}", f"{maps.energy.max():.3f}"
            note = "stretched to this block's range"
        else:
            low, high, note = "min", "max", "stretched to the block's range"
        self.legend_low.setText(low)
        self.legend_note.setText(note)
        self.legend_high.setText(high)

    def thumbnail(self, maps: MapSet, kind: str, cmap: str) -> QPixmap:
        """A block's map in a ``THUMB`` square, centred: a map longer than
        :data:`THUMB_ASPECT` times its width shows its middle at that shape (a panorama's
        64×6 map had been a 60×6 strip at the top of its button)."""
        h, w = maps.self_aware.shape
        dpr = self.devicePixelRatioF()  # drawn in screen pixels: sharp on high-DPI displays
        box = max(1, round(THUMB * dpr))
        s = max(box / max(h, w), box / THUMB_ASPECT / min(h, w))
        rgb = render_map(maps, kind, cmap, (max(1, round(w * s)), max(1, round(h * s))))
        rh, rw = rgb.shape[:2]
        y, x = max(0, (rh - box) // 2), max(0, (rw - box) // 2)
        rgb = np.ascontiguousarray(rgb[y:y + box, x:x + box])
        pixmap = QPixmap(box, box)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.drawImage((box - rgb.shape[1]) // 2, (box - rgb.shape[0]) // 2, to_qimage(rgb))
        painter.end()
        pixmap.setDevicePixelRatio(dpr)
        return pixmap

    def _refresh(self) -> None:
        kind, cmap = self.kind(), self.cmap()
        label = KIND_LABELS[kind]  # "binary mask M = (m ≥ t)": only the first letter lowered
        self.grid_title.setText(f"All blocks: {label[0].lower()}{label[1:]}"
                                + (" (each stretched to its own range)" if kind == "energy"
                                   else ""))
        block = self.block()
        for name, button in self.buttons.items():
            button.setChecked(name == block)
            maps = self._maps.get(name)
            if maps is None:
                button.setIcon(QIcon())
                continue
            button.setIcon(QIcon(self.thumbnail(maps, kind, cmap)))
            h, w = maps.self_aware.shape
            button.setToolTip(name if max(h, w) <= THUMB_ASPECT * min(h, w) else
                              f"{name} (its middle: the map is {w}×{h})")
        maps = self._maps.get(block)
        self._update_legend(maps)
        if maps is None:
            return
        h, w = maps.self_aware.shape
        cover = float(maps.mask.mean())
        e = maps.energy
        # Rich text: "<1%" had been read as a tag, and everything after it vanished.
        text = (f"<b>{html.escape(block)}</b> · {w}×{h} · mask m ≥ t={self._t:.2f} covers "
                f"{html.escape(share_text(cover))} · m in [{maps.self_aware.min():.2f}, "
                f"{maps.self_aware.max():.2f}] · energy in [{e.min():.3f}, {e.max():.3f}]")
        if self._source:
            text += f"<br>{html.escape(self._source)}"
        self.info.setText(text)

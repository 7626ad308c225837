"""The restoration controls: task, device, the t and δ knobs, EA, tiling, reference metrics.

Sliders and spin boxes are bound both ways: moving either updates the other and emits
``knobsChanged`` once. ``t`` is linear (0.50–0.95 in steps of 0.01); ``δ`` is logarithmic
(1e-7–1e-1 in tenths of a decade) with a spin box in scientific notation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from drcnet.compare import PAPER_DELTA, PAPER_T, Knobs, format_delta
from drcnet.inference import DEFAULT_TILE, MIN_TILE, ensemble_views, legal_tile
from drcnet.registry import TASKS, installed_tasks, is_noea

T_MIN, T_MAX = 0.50, 0.95
LOG_DELTA_MIN, LOG_DELTA_MAX = -7.0, -1.0

PREVIEW_SIZES = (256, 384, 512, 768, 1024)
TASK_LABELS = {"derain": "Derain", "denoise": "Denoise", "deblur": "Deblur"}
# The task's shipped models a user picks between (the no-EA model only serves the EA view).
VARIANT_LABELS = {("denoise", "default"): "Camera noise", ("denoise", "gaussian"): "Gaussian noise"}
VARIANT_TIPS = {
    ("denoise", "default"): "Trained for realistic camera noise: signal-dependent sensor noise, "
                            "some JPEG, some plain Gaussian. The right choice for photos.",
    ("denoise", "gaussian"): "Fine-tuned for plain Gaussian noise of unknown σ (0–55), clipped "
                             "to the image's range as an 8-bit file holds it; camera noise is "
                             "better served by the default.",
}
FILE_VARIANT = "file"  # the task's weight file opened by the user (File ▸ Open Weights…)
RESTORE_TIP = "Run the tiled engine on the whole image (Ctrl+R)."
STEM_CHARS = 24  # a longer file name is shortened in the middle in the model panel


def short_name(path: Path, limit: int = STEM_CHARS) -> str:
    """``path``'s name with its stem cut to ``limit`` characters, "…" in the middle: both
    ends (a run's name, a snapshot's step) and the suffix stay, and the panel keeps its
    width."""
    stem = path.stem
    if len(stem) > limit:
        head = (limit - 1) // 2
        stem = f"{stem[:head]}…{stem[len(stem) - (limit - 1 - head):]}"
    return stem + path.suffix


def file_label(path: Path) -> str:
    """The Weights box's item for a weight file of the user's: "File: " and its name, the stem
    shortened harder than the panel's line and the usual ``.safetensors`` left out, as the
    box is narrower (a 24-character stem and its suffix had been cut off mid-word); the
    item's tooltip names the whole path."""
    name = short_name(path, 18)
    if path.suffix.lower() == ".safetensors":
        name = name[: -len(path.suffix)]
    return f"File: {name}"


# A number being typed: a sign, digits, a decimal point, an exponent, each perhaps unfinished.
PARTIAL_NUMBER = re.compile(r"[+-]?\d*\.?\d*(?:[eE][+-]?\d*)?")


class ClampTyped:
    """For spin boxes: a typed number out of range is taken as the nearest limit on Enter or
    leaving the box (Qt's default refuses the keystroke, so "150" in a 0–100 box became 15,
    or puts the old value back without a word)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToNearestValue)

    def _core(self, text: str) -> str:
        """The typed number without prefix and suffix, with a '.' for a decimal point."""
        core = text.removeprefix(self.prefix()).removesuffix(self.suffix()).strip()
        return core.replace(self.locale().decimalPoint(), ".")

    def _typed_number(self, text: str) -> float | None:
        try:
            return float(self._core(text))
        except ValueError:
            return None

    def _one_point(self, text: str, point: str) -> str:
        """``text`` with a typed '.' or ',' as ``point`` in a box of fractions: people type
        either, whatever the locale, and Qt took the other as a thousands separator ("0,7"
        read as 7) or dropped it. The boxes hold no thousands."""
        if isinstance(self, QDoubleSpinBox):
            other = "," if point == "." else "."
            if other in text and point not in text:
                return text.replace(other, point)
        return text

    def validate(self, text: str, pos: int) -> object:
        text = self._one_point(text, self.locale().decimalPoint())
        state, text, pos = super().validate(text, pos)
        if state == QValidator.State.Invalid and PARTIAL_NUMBER.fullmatch(self._core(text)):
            return QValidator.State.Intermediate, text, pos  # a number: clamped on Enter
        return state, text, pos

    def fixup(self, text: str) -> str:
        # Qt's own CorrectToNearestValue clamps zero, not the typed number.
        v = self._typed_number(text)
        if v is None or math.isnan(v):
            return text
        v = min(max(v, self.minimum()), self.maximum())
        return self.prefix() + self.textFromValue(v) + self.suffix()


class ClampedSpinBox(ClampTyped, QSpinBox):
    """A QSpinBox that clamps typed numbers (:class:`ClampTyped`)."""


class ClampedDoubleSpinBox(ClampTyped, QDoubleSpinBox):
    """A QDoubleSpinBox that clamps typed numbers (:class:`ClampTyped`)."""


class SciSpinBox(ClampTyped, QDoubleSpinBox):
    """A spin box for small positive numbers, shown as ``1.00e-06``; the arrows step by a
    tenth of a decade."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(14)
        self.setRange(10**LOG_DELTA_MIN, 10**LOG_DELTA_MAX)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt name)
        return f"{value:.2e}"

    def valueFromText(self, text: str) -> float:  # noqa: N802
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> object:
        text = self._one_point(text, ".")  # shown as 1.00e-06 in every locale
        try:
            v = float(text)
        except ValueError:
            ok = all(ch in "0123456789.eE+-" for ch in text)
            state = QValidator.State.Intermediate if ok else QValidator.State.Invalid
            return state, text, pos
        if self.minimum() <= v <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802
        v = math.log10(max(self.value(), 1e-30)) + 0.1 * steps
        self.setValue(10 ** min(max(v, LOG_DELTA_MIN), LOG_DELTA_MAX))


def shown_knobs(knobs: Knobs) -> Knobs:
    """``knobs`` as the panel holds them: t in [0.50, 0.95] to 0.01, δ in [1e-7, 1e-1] to
    three significant figures."""
    t = min(max(knobs.t, T_MIN), T_MAX)
    delta = min(max(knobs.delta, 10**LOG_DELTA_MIN), 10**LOG_DELTA_MAX)
    return Knobs(round(t, 2), float(f"{delta:.3g}"), bool(knobs.ea))


def delta_to_slider(delta: float) -> int:
    return round(100 * math.log10(delta))


def slider_to_delta(value: int) -> float:
    return float(10 ** (value / 100))


class SpokenSlider(QSlider):
    """A slider whose accessible description is its value as the box beside it shows it
    ("1.00e-06", "75 %"): a screen reader had read δ's position, -600 (log10 δ × 100)."""

    def __init__(self, text: Callable[[int], str]) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        self._text = text

    def sliderChange(self, change: QSlider.SliderChange) -> None:  # noqa: N802 (Qt name)
        super().sliderChange(change)  # called on every change, signals blocked or not
        if change == QSlider.SliderChange.SliderValueChange:
            self.setAccessibleDescription(self._text(self.value()))


class ControlsPanel(QWidget):
    """Task, device, knobs and run settings.

    Signals:
        taskChanged(task), variantChanged(variant), deviceChanged(device), knobsChanged(Knobs),
        runChanged(): preview size, tile size, auto-refine or best quality changed,
        restoreRequested(): the user asked for a full-resolution restore,
        strengthChanged(float): the share of the restoration kept (0..1) changed.
    """

    taskChanged = Signal(str)
    variantChanged = Signal(str)
    deviceChanged = Signal(str)
    knobsChanged = Signal(object)
    dragFinished = Signal()  # a knob slider was let go
    runChanged = Signal()
    restoreRequested = Signal()
    strengthChanged = Signal(float)  # the share of the restoration kept, 0..1
    resetAvailable = Signal(bool)  # Reset would change the knobs (its button's state)

    def __init__(self, devices: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._sync = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)  # the five groups fit a 900-px-high window unscrolled

        # ---------------------------------------------------------------- model
        model = QGroupBox("Model")
        form = QFormLayout(model)
        self.task_combo = QComboBox()
        for task in TASKS:
            self.task_combo.addItem(TASK_LABELS.get(task, task.title()), task)
        self.task_combo.setToolTip("The restoration task; each has its own trained weights.")
        self.variant_combo = QComboBox()
        self.variant_combo.setSizeAdjustPolicy(  # not as wide as a long file name
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.variant_combo.setMinimumContentsLength(12)
        self._variants = {t: [v for v in vs if not is_noea(v)]
                          for t, vs in installed_tasks().items()}
        self._chosen: dict[str, str] = {}  # the variant picked per task
        self._files: dict[str, Path] = {}  # a weight file the user opened, per task
        self.device_combo = QComboBox()
        for dev, label in devices:
            self.device_combo.addItem(label, dev)
        self.device_combo.setToolTip("Where the network runs; switching moves the model.")
        form.addRow("Task", self.task_combo)
        form.addRow("Weights", self.variant_combo)
        self._model_form = form
        form.addRow("Device", self.device_combo)
        self.model_status = QLabel("Loading weights…")
        self.model_status.setWordWrap(True)
        self.model_status.setObjectName("modelStatus")
        self.model_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.model_status)
        layout.addWidget(model)

        # ---------------------------------------------------------------- knobs
        knobs = QGroupBox("DFR knobs")
        grid = QVBoxLayout(knobs)
        grid.setSpacing(4)
        t_row = QHBoxLayout()
        t_label = QLabel("Threshold t")
        t_label.setToolTip("Spatial-filter threshold on the self-aware map (paper: 0.75).")
        self.t_spin = ClampedDoubleSpinBox()
        self.t_spin.setRange(T_MIN, T_MAX)
        self.t_spin.setSingleStep(0.01)
        self.t_spin.setDecimals(2)
        self.t_spin.setKeyboardTracking(False)
        t_row.addWidget(t_label)
        t_row.addStretch(1)
        t_row.addWidget(self.t_spin)
        self.t_slider = SpokenSlider(lambda v: f"{v / 100:.2f}")
        self.t_slider.setRange(round(T_MIN * 100), round(T_MAX * 100))
        self.t_slider.setPageStep(5)
        self.t_slider.setToolTip(t_label.toolTip())
        grid.addLayout(t_row)
        grid.addWidget(self.t_slider)

        d_row = QHBoxLayout()
        d_label = QLabel("Energy coefficient δ")
        d_label.setToolTip("Energy-attention coefficient δ, log scale (paper: 1e-6).")
        self.delta_spin = SciSpinBox()
        d_row.addWidget(d_label)
        d_row.addStretch(1)
        d_row.addWidget(self.delta_spin)
        self.delta_slider = SpokenSlider(lambda v: f"{slider_to_delta(v):.2e}")
        self.delta_slider.setRange(round(LOG_DELTA_MIN * 100), round(LOG_DELTA_MAX * 100))
        self.delta_slider.setSingleStep(10)
        self.delta_slider.setPageStep(100)
        self.delta_slider.setToolTip(d_label.toolTip())
        # Screen readers name these by their labels, not by the group box around them.
        for label, box, slider in ((t_label, self.t_spin, self.t_slider),
                                   (d_label, self.delta_spin, self.delta_slider)):
            label.setBuddy(box)
            box.setToolTip(label.toolTip())
            box.setAccessibleName(label.text())
            slider.setAccessibleName(label.text())
        grid.addLayout(d_row)
        grid.addWidget(self.delta_slider)
        scale = QHBoxLayout()
        for text, align in (("1e-7", Qt.AlignmentFlag.AlignLeft),
                            ("1e-4", Qt.AlignmentFlag.AlignCenter),
                            ("1e-1", Qt.AlignmentFlag.AlignRight)):
            lab = QLabel(text)
            lab.setAlignment(align)
            lab.setObjectName("hint")
            scale.addWidget(lab)
        grid.addLayout(scale)

        self.ea_check = QCheckBox("Energy attention (EA)")
        self.ea_check.setToolTip("Off removes energy attention's spatial selection: each channel "
                                 "keeps its mean weight, so the branch keeps its trained gain "
                                 "(a model trained without EA has none to remove).")
        grid.addWidget(self.ea_check)
        self.reset_button = QPushButton("Reset to the model's values")
        self._model_knobs = Knobs(PAPER_T, PAPER_DELTA, True)
        self._tip_reset()
        grid.addWidget(self.reset_button)
        layout.addWidget(knobs)

        # ---------------------------------------------------------------- output
        output = QGroupBox("Output")
        ogrid = QVBoxLayout(output)
        ogrid.setSpacing(4)
        s_row = QHBoxLayout()
        s_label = QLabel("Strength")
        s_label.setToolTip(
            "How much of the restoration to apply: the result is the input plus this share "
            "of the change the model makes. 100 %: the model's output; lower keeps some of "
            "the photo's own grain and texture. It is applied after the network, so the "
            "model does not run again; exports and Restore Files use it too.")
        self.strength_spin = ClampedSpinBox()
        self.strength_spin.setRange(0, 100)
        self.strength_spin.setSuffix(" %")
        self.strength_spin.setKeyboardTracking(False)
        self.strength_spin.setToolTip(s_label.toolTip())
        s_row.addWidget(s_label)
        s_row.addStretch(1)
        s_row.addWidget(self.strength_spin)
        self.strength_slider = SpokenSlider(lambda v: f"{v} %")
        self.strength_slider.setRange(0, 100)
        self.strength_slider.setPageStep(10)
        self.strength_slider.setToolTip(s_label.toolTip())
        s_label.setBuddy(self.strength_spin)
        self.strength_spin.setAccessibleName("Strength")
        self.strength_slider.setAccessibleName("Strength")
        ogrid.addLayout(s_row)
        ogrid.addWidget(self.strength_slider)
        layout.addWidget(output)

        # ---------------------------------------------------------------- run
        run = QGroupBox("Run")
        rform = QFormLayout(run)
        self.preview_combo = QComboBox()
        for size in PREVIEW_SIZES:
            self.preview_combo.addItem(f"{size} px", size)
        self.preview_combo.setToolTip("Longest side of the live preview.")
        self.tile_spin = ClampedSpinBox()
        self.tile_spin.setRange(0, 4096)
        self.tile_spin.setSingleStep(64)
        self.tile_spin.setSuffix(" px")
        self.tile_spin.setSpecialValueText("whole image")
        self.tile_spin.setToolTip("Tile size of the full-resolution restore, at least "
                                  f"{MIN_TILE} px. 0, whole image: one pass, which Cancel "
                                  "cannot stop midway and which takes about 1.3 GB of memory "
                                  "per megapixel on a CPU (when that is not free, the image is "
                                  "restored in tiles of the training crop instead).")
        self.tile_spin.setKeyboardTracking(False)  # typing 64 is not a tile of 6 first
        self.tile_auto_check = QCheckBox("Training crop")
        self.tile_auto_check.setToolTip(
            "Use the crop side the loaded weights were trained on as the tile size (256 px "
            "for the shipped ones, else what the file records). The network tunes itself to "
            "that size: other tiles cost up to 0.7 dB. Off: the size set here.")
        self._auto_tile = DEFAULT_TILE  # the loaded model's training crop
        self._own_tile = DEFAULT_TILE  # the user's own size, shown while Training crop is off
        self.refine_check = QCheckBox("Refine to full resolution when idle")
        self.refine_check.setToolTip(
            "After the knobs rest, restore the whole photo at full resolution (tile by tile, "
            "the area in view first); off, the preview stays until Run ▸ Restore Full "
            "Resolution (Ctrl+R)")
        self.ensemble_check = QCheckBox()  # its text names the task's views: _label_views()
        self.repair_check = QCheckBox("Repair out-of-range areas")
        self.repair_check.setToolTip(
            "Where the image drives the model outside what it was trained on (the range "
            "check; strongly saturated colours are the known cause), restore that area again "
            "with its colours pulled towards gray, then put the colour back. Areas within the "
            "range are not touched. Off: keep what the model made there (outlined, with a "
            "warning).")
        self._problem, self._restore_possible = False, True  # set_restore_possible
        self.restore_button = QPushButton("Restore full resolution")
        self.restore_button.setToolTip(RESTORE_TIP)
        rform.addRow("Preview", self.preview_combo)
        tile_row = QHBoxLayout()
        tile_row.addWidget(self.tile_spin, 1)
        tile_row.addWidget(self.tile_auto_check)
        rform.addRow("Tile", tile_row)
        self.tile_spin.setAccessibleName("Tile")
        rform.addRow(self.refine_check)
        rform.addRow(self.ensemble_check)
        rform.addRow(self.repair_check)
        rform.addRow(self.restore_button)
        layout.addWidget(run)

        # ---------------------------------------------------------------- reference
        ref = QGroupBox("Reference")
        rlay = QVBoxLayout(ref)
        self.metrics_label = QLabel("No reference image. File ▸ Load Reference… to measure "
                                    "PSNR and SSIM against a clean image.")
        self.metrics_label.setWordWrap(True)
        self.metrics_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        rlay.addWidget(self.metrics_label)
        layout.addWidget(ref)
        layout.addStretch(1)

        self.set_knobs(Knobs())
        self.set_strength(1.0)
        self.set_run(512, DEFAULT_TILE, True)
        self._label_views()
        self._fill_variants()
        self.t_slider.valueChanged.connect(self._t_from_slider)
        self.t_slider.sliderReleased.connect(self.dragFinished)
        self.delta_slider.sliderReleased.connect(self.dragFinished)
        self.t_spin.valueChanged.connect(self._t_from_spin)
        self.delta_slider.valueChanged.connect(self._delta_from_slider)
        self.delta_spin.valueChanged.connect(self._delta_from_spin)
        self.ea_check.toggled.connect(lambda _: self._emit())
        self.reset_button.clicked.connect(self.reset_knobs)
        self.task_combo.currentIndexChanged.connect(self._label_views)
        self.task_combo.currentIndexChanged.connect(self._fill_variants)  # before taskChanged
        self.task_combo.currentIndexChanged.connect(
            lambda _: self.taskChanged.emit(self.task()))
        self.variant_combo.currentIndexChanged.connect(self._on_variant_index)
        self.device_combo.currentIndexChanged.connect(
            lambda _: self.deviceChanged.emit(self.device()))
        self.preview_combo.currentIndexChanged.connect(lambda _: self.runChanged.emit())
        self.tile_spin.valueChanged.connect(self._on_tile_value)
        self.tile_auto_check.toggled.connect(self._on_tile_auto)
        self.refine_check.toggled.connect(lambda _: self.runChanged.emit())
        self.ensemble_check.toggled.connect(lambda _: self.runChanged.emit())
        self.repair_check.toggled.connect(lambda _: self.runChanged.emit())
        self.restore_button.clicked.connect(self.restoreRequested)
        self.strength_slider.valueChanged.connect(self._strength_from)
        self.strength_spin.valueChanged.connect(self._strength_from)

    # ------------------------------------------------------------------ binding
    def _t_from_slider(self, value: int) -> None:
        if self._sync:
            return
        self._sync = True
        self.t_spin.setValue(value / 100)
        self._sync = False
        self._emit()

    def _t_from_spin(self, value: float) -> None:
        if self._sync:
            return
        self._sync = True
        self.t_slider.setValue(round(value * 100))
        self._sync = False
        self._emit()

    def _delta_from_slider(self, value: int) -> None:
        if self._sync:
            return
        self._sync = True
        self.delta_spin.setValue(slider_to_delta(value))
        self._sync = False
        self._emit()

    def _delta_from_spin(self, value: float) -> None:
        if self._sync:
            return
        self._sync = True
        self.delta_slider.setValue(delta_to_slider(value))
        self._sync = False
        self._emit()

    def _emit(self) -> None:
        if not self._sync:
            self._update_reset()
            self.knobsChanged.emit(self.knobs())

    def _update_reset(self) -> None:
        """Reset is offered only while the knobs differ from the model's."""
        available = self.knobs() != self._model_knobs
        self.reset_button.setEnabled(available)
        self.resetAvailable.emit(available)

    # ------------------------------------------------------------------ values
    def dragging(self) -> bool:
        """Whether a knob slider is held down."""
        return self.t_slider.isSliderDown() or self.delta_slider.isSliderDown()

    def knobs(self) -> Knobs:
        return shown_knobs(Knobs(self.t_spin.value(), self.delta_spin.value(),
                                 self.ea_check.isChecked()))

    def set_knobs(self, knobs: Knobs, notify: bool = False) -> None:
        """Show ``knobs`` in the widgets; emit ``knobsChanged`` only if ``notify``."""
        self._sync = True
        shown = shown_knobs(knobs)
        t, delta = shown.t, shown.delta
        self.t_spin.setValue(t)
        self.t_slider.setValue(round(t * 100))
        self.delta_spin.setValue(delta)
        self.delta_slider.setValue(delta_to_slider(delta))
        self.ea_check.setChecked(knobs.ea)
        self._sync = False
        self._update_reset()
        if notify:
            self._emit()

    def model_knobs(self) -> Knobs:
        """The knobs stored in the loaded weight file (the paper's until a model loads)."""
        return self._model_knobs

    def set_model_knobs(self, knobs: Knobs) -> None:
        """Set the values "Reset" returns to: those the model's weight file stores (as the
        knobs can show them: clamped to the sliders' ranges and rounded like the spin boxes)."""
        self._model_knobs = shown_knobs(knobs)
        self._tip_reset()
        self._update_reset()

    def _tip_reset(self) -> None:
        k = self._model_knobs
        paper = " (the paper's)" if (k.t, k.delta) == (PAPER_T, PAPER_DELTA) else ""
        self.reset_button.setToolTip(
            f"The values stored in the model's weight file{paper}: t = {k.t:g}, "
            f"δ = {format_delta(k.delta)}, EA {'on' if k.ea else 'off'}")

    def reset_knobs(self) -> None:
        if self.knobs() != self._model_knobs:
            self.set_knobs(self._model_knobs, notify=True)

    def task(self) -> str:
        return str(self.task_combo.currentData())

    def set_task(self, task: str) -> None:
        i = self.task_combo.findData(task)
        if i >= 0:
            self.task_combo.setCurrentIndex(i)

    def variant(self) -> str:
        """The chosen model of the current task: a shipped variant (``default`` unless there
        is a choice) or ``file``, the weight file the user opened."""
        data = self.variant_combo.currentData()
        return str(data) if data is not None else "default"

    def set_variant(self, task: str, variant: str) -> None:
        """Choose ``variant`` for ``task`` (ignored unless that task has it installed)."""
        if variant in self._variants.get(task, []):
            self._chosen[task] = variant
            if task == self.task():
                self.variant_combo.setCurrentIndex(self.variant_combo.findData(variant))

    def weight_file(self, task: str | None = None) -> Path | None:
        """The weight file the user opened for ``task`` (default: the current one), if any."""
        return self._files.get(task or self.task())

    def set_weight_file(self, task: str, path: Path | None) -> None:
        """Offer ``path`` as ``task``'s *file* choice beside its shipped models (None takes
        the choice away). Choosing it is :meth:`set_variant`'s job."""
        if path is None:
            self._files.pop(task, None)
        else:
            self._files[task] = Path(path)
        shipped = [v for v in self._variants.get(task, []) if v != FILE_VARIANT]
        self._variants[task] = shipped + ([FILE_VARIANT] if path is not None else [])
        if task == self.task():
            self._fill_variants()

    def _tip(self, task: str, variant: str) -> str:
        if variant == FILE_VARIANT and task in self._files:
            return f"Weights opened from {self._files[task]}"
        return VARIANT_TIPS.get((task, variant), "")

    def _fill_variants(self) -> None:
        task = self.task()
        variants = self._variants.get(task, [])
        self.variant_combo.blockSignals(True)
        self.variant_combo.clear()
        for v in variants:
            label = (file_label(self._files[task]) if v == FILE_VARIANT
                     else VARIANT_LABELS.get((task, v), v.title()))
            self.variant_combo.addItem(label, v)
            self.variant_combo.setItemData(self.variant_combo.count() - 1, self._tip(task, v),
                                           Qt.ItemDataRole.ToolTipRole)
        i = self.variant_combo.findData(self._chosen.get(task, "default"))
        self.variant_combo.setCurrentIndex(max(i, 0))
        self.variant_combo.setToolTip(self._tip(task, self.variant()))
        self.variant_combo.blockSignals(False)
        self._model_form.setRowVisible(self.variant_combo,
                                       len(variants) > 1 or FILE_VARIANT in variants)

    def _on_variant_index(self, _: int) -> None:
        self._chosen[self.task()] = self.variant()
        self.variant_combo.setToolTip(self._tip(self.task(), self.variant()))
        self.variantChanged.emit(self.variant())

    def device(self) -> str:
        return str(self.device_combo.currentData())

    def set_device(self, device: str) -> None:
        i = self.device_combo.findData(device)
        self.device_combo.setCurrentIndex(i if i >= 0 else 0)

    def preview_size(self) -> int:
        return int(self.preview_combo.currentData())

    def tile(self) -> int:
        self.tile_spin.interpretText()  # a size typed but not yet entered counts
        return legal_tile(self.tile_spin.value())

    def tile_auto(self) -> bool:
        """Whether the tile follows the loaded model's training crop."""
        return self.tile_auto_check.isChecked()

    def own_tile(self) -> int:
        """The user's own tile size (in use while *Training crop* is off)."""
        return self._own_tile

    def set_auto_tile(self, crop: int) -> None:
        """The loaded model's training crop: the tile while *Training crop* is on (shown
        without a signal; the caller has already dropped results of another model)."""
        self._auto_tile = legal_tile(crop)
        if self.tile_auto():
            self._show_tile(self._auto_tile)

    def _show_tile(self, tile: int) -> None:
        self.tile_spin.blockSignals(True)
        self.tile_spin.setValue(tile)
        self.tile_spin.blockSignals(False)

    def _on_tile_value(self, value: int) -> None:
        if 0 < value < MIN_TILE:
            self.tile_spin.setValue(MIN_TILE)  # emits again with the smallest tile
            return
        if not self.tile_auto():
            self._own_tile = int(value)
        self.runChanged.emit()

    def _on_tile_auto(self, on: bool) -> None:
        self.tile_spin.setEnabled(not on)
        self._show_tile(self._auto_tile if on else self._own_tile)
        self.runChanged.emit()

    def auto_refine(self) -> bool:
        return self.refine_check.isChecked()

    def ensemble(self) -> int:
        """Views the full-resolution restore averages: 1 unless best quality is on."""
        return ensemble_views(self.task()) if self.ensemble_check.isChecked() else 1

    def repair(self) -> bool:
        """Whether out-of-range tiles are restored again desaturated (TileConfig.repair)."""
        return self.repair_check.isChecked()

    def _label_views(self) -> None:
        n = ensemble_views(self.task())
        self.ensemble_check.setText(f"Best quality ({n} views, {n}× slower)")
        upright = (" Rain removal uses the 4 upright views: its model was trained on rain "
                   "falling down." if n == 4 else "")
        self.ensemble_check.setToolTip(
            f"The full-resolution restore runs each tile in {n} rotated and mirrored views "
            f"and averages the results.{upright} The live preview stays one pass.")

    def set_run(self, preview_size: int, tile: int, auto_refine: bool,
                ensemble: bool = False, tile_auto: bool = False, repair: bool = True) -> None:
        blockers = [self.preview_combo, self.tile_spin, self.refine_check, self.ensemble_check,
                    self.tile_auto_check, self.repair_check]
        for w in blockers:
            w.blockSignals(True)
        i = self.preview_combo.findData(preview_size)
        self.preview_combo.setCurrentIndex(i if i >= 0 else PREVIEW_SIZES.index(512))
        tile = self._own_tile = legal_tile(tile)  # settings from before the minimum
        self.tile_auto_check.setChecked(tile_auto)
        self.tile_spin.setEnabled(not tile_auto)
        self.tile_spin.setValue(self._auto_tile if tile_auto else tile)
        self.refine_check.setChecked(auto_refine)
        self.ensemble_check.setChecked(ensemble)
        self.repair_check.setChecked(repair)
        for w in blockers:
            w.blockSignals(False)

    def strength(self) -> float:
        """The share of the restoration shown and written, in [0, 1] (1: all of it)."""
        return self.strength_spin.value() / 100

    def set_strength(self, value: float, notify: bool = False) -> None:
        percent = round(min(max(value, 0.0), 1.0) * 100)
        for w in (self.strength_slider, self.strength_spin):
            w.blockSignals(True)
            w.setValue(percent)
            w.blockSignals(False)
        if notify:
            self.strengthChanged.emit(self.strength())

    def _strength_from(self, percent: int) -> None:
        """Slider and spin box follow each other; one ``strengthChanged`` per change."""
        if self.strength_slider.value() == self.strength_spin.value():
            return
        self.set_strength(percent / 100, notify=True)

    # ------------------------------------------------------------------ status
    def set_model_status(self, text: str, problem: bool = False, tip: str = "") -> None:
        """Show the loaded weights, or (``problem``) a plain warning banner; ``tip`` is its
        tooltip (the weight file's full path)."""
        self.model_status.setText(text)
        self.model_status.setToolTip(tip)
        self.model_status.setProperty("problem", problem)
        self.model_status.setStyleSheet(
            "QLabel { background: #5a2323; color: #ffe7e7; border: 1px solid #a84848;"
            " border-radius: 4px; padding: 6px; }" if problem else
            "QLabel { color: #aab4c0; }")
        self._problem = problem
        self.restore_button.setEnabled(not problem and self._restore_possible)

    def set_restore_possible(self, possible: bool, why: str = "") -> None:
        """Whether a full-resolution restore would do something, as the window's *Run ▸
        Restore Full Resolution*; ``why`` not (the button's tooltip while it is greyed out).
        The button had stayed on, doing nothing, with no image open, while a model loaded
        and while a restore ran."""
        self._restore_possible = possible
        self.restore_button.setEnabled(possible and not self._problem)
        self.restore_button.setToolTip(RESTORE_TIP if possible or not why else why)

    def set_metrics_text(self, html: str) -> None:
        self.metrics_label.setText(html)

"""DRCNet Studio's main window: wires the viewer, controls, maps panel and workers together.

The flow: opening an image reads it in the pool and makes a downscaled *preview* copy. Every
knob change submits a preview job (coalesced in the model thread) and restarts an idle timer;
when the user stops for a moment the tiled engine refines the result at full resolution, with
progress and Cancel in the status bar. Maps and the w/ vs w/o EA pair are computed with the
preview, only while something shows them. ``settled`` fires when nothing is left to compute.
"""

from __future__ import annotations

import contextlib
import functools
import html
import math
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PySide6 import QtGui
from PySide6.QtCore import (
    QEvent,
    QObject,
    QRect,
    QSize,
    QStandardPaths,
    Qt,
    QTimer,
    Signal,
    qVersion,
)
from PySide6.QtGui import (
    QAccessible,
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QFontMetrics,
    QImage,
    QKeyEvent,
    QKeySequence,
    QResizeEvent,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStyle,
    QVBoxLayout,
    QWidget,
)

import drcnet
from drcnet.batch import check_input_name, folder_images, step_in
from drcnet.compare import (
    NOEA_BUILT,
    NOEA_TRAINED,
    Knobs,
    amplified_difference,
    downscale,
    draft_of,
    format_delta,
    resize_to,
)
from drcnet.devices import available_devices
from drcnet.errors import WeightsError, first_line
from drcnet.imageio import (
    READABLE_EXTENSIONS,
    Image,
    frames_note,
    has_image_signature,
    read_image,
    same_file,
    write_image,
)
from drcnet.inference import (
    DEFAULT_TILE,
    ONE_PASS_REFUSAL,
    AreaDone,
    Box,
    TileConfig,
    apply_strength,
    is_gray,
    one_pass,
    overlap_for,
    tile_that_fits,
)
from drcnet.metrics import SSIM_WINDOW, psnr, ssim
from drcnet.range_check import RangeReport, marked_boxes, peak_text, repair_above
from drcnet.registry import TASKS, check_weight_file, stored_config, task_note, weight_spec
from drcnet.weights import WEIGHT_SUFFIXES, build_model

from .batch_dialog import BatchDialog
from .controls import FILE_VARIANT, PREVIEW_SIZES, RESTORE_TIP, ControlsPanel, short_name
from .ea_view import EAViewMixin
from .export_dialog import ExportRequest
from .export_queue import ExportMixin
from .history import History
from .maps_panel import MapsPanel
from .settings import Settings
from .viewer import EA_PENDING, SRGB, Viewer, alpha_qimage, display_space, from_qimage, to_qimage
from .workers import (
    EAAreaJob,
    EAAreaResult,
    Engine,
    Jobs,
    ModelInfo,
    PreviewResult,
    RestoreJob,
    RestoreResult,
)

APP_NAME = "DRCNet Studio"
IDLE_MS = 400
# A full-resolution restore does the area in view first when the view shows it at more than
# this many times the preview's resolution (the stretched preview looks soft there).
FOCUS_GAIN = 1.25
# The EA view zoomed in asks for the area in view at full resolution once the view has rested
# this long (not on every step of a pan); app.ea_view has the margin round it.
EA_AREA_MS = 250
DRAG_GAP_MS = 250  # knob changes closer together than this are a drag (keys, wheel, mouse)
HISTORY_MS = 600  # knob and strength changes this close together are one step of Undo
SHARPEN_MS = 250  # this long after the last drag change, the full-size preview follows
# Previews at rest slower than this, twice in a row (the first after a load includes the
# model's warm-up), bring a one-time hint that a smaller preview size answers sooner.
SLOW_PREVIEW_S = 1.5
# An image, or a function that makes it (in the pool): what the reference metrics compare.
Pixels = np.ndarray | Callable[[], np.ndarray]
# How long a status notice (MainWindow.notice) stands before the full restore's routine
# progress lines may cover it.
NOTICE_S = 4.0
CANCEL_TIP = "Stop the full-resolution restore after the current tile (Esc)"
# The space before each score column of the Reference table (padding, not cell spacing,
# which adds height too).
SCORE_GAP = "style='padding-left: 8px'"
NBSP = "\u00a0"  # a space no line breaks at
NO_MODEL_MAPS = "No maps: no model is loaded."
EA_NO_OVERLAY = ("The EA ± view draws no map overlay: its panes compare the restorations "
                 "with and without energy attention, and a tint would hide the difference. "
                 "The overlay comes back in the other views.")


class _PanelScroll(QScrollArea):
    """A side panel's vertical scroller, never narrower than the panel's own minimum (the
    horizontal scroll bar is off, so a narrower dock would cut combo boxes and labels off at
    the right). Follows the panel as its contents change, e.g. once a model's block names
    fill the maps panel."""

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        hint = super().minimumSizeHint()
        panel = self.widget()
        if panel is None:
            return hint
        width = panel.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
        return QSize(max(240, width), hint.height())


class WindowUndoKeys(QObject):
    """An event filter for input boxes whose value the window's Edit ▸ Undo covers: it keeps
    a box from claiming the Undo and Redo keys for its own text, so they reach the window.
    Undo with a value typed but not yet entered puts the box's value back first (and only
    that), as the typing is the last change; Paste with an image (and no text) on the
    clipboard reaches the window, which opens it."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(event, QKeyEvent):
            return False
        if event.matches(QKeySequence.StandardKey.Undo) and isinstance(obj, QAbstractSpinBox) \
                and obj.cleanText() != obj.textFromValue(obj.value()):
            obj.lineEdit().setText(obj.textFromValue(obj.value()))  # clears the box's own undo
            event.accept()  # handled here: the window's Undo waits for the next press
            return True
        if event.matches(QKeySequence.StandardKey.Undo) \
                or event.matches(QKeySequence.StandardKey.Redo):
            event.ignore()  # not the box's: the shortcut system gives the key to the action
            return True
        if event.matches(QKeySequence.StandardKey.Paste):
            data = QApplication.clipboard().mimeData()
            if data is not None and data.hasImage() and not data.hasText():
                event.ignore()  # a picture, not a number: Edit ▸ Paste opens it
                return True
        return False


class OwnPageKeys(QObject):
    """An event filter for controls that use keys themselves: Page Up and Page Down step spin
    boxes, sliders and lists (not the folder's next or previous image), and a letter or digit
    in a combo box or list picks an entry by its first letters (not the view shortcuts A, B,
    C and E: E over the Map choice switched to the EA view)."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(event, QKeyEvent):
            return False
        plain = event.modifiers() in (Qt.KeyboardModifier.NoModifier,
                                      Qt.KeyboardModifier.ShiftModifier)
        page = event.key() in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown) \
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
        typed = plain and isinstance(obj, (QComboBox, QAbstractItemView)) \
            and event.text().isprintable() and event.text().strip() != ""
        if page or typed:
            event.accept()  # the widget's key, delivered to it as a key press
            return True
        return False


def paste_folder() -> Path:
    """Where pasted images are saved (the application's data folder)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".drcnet-studio") / "pasted"


def ctrl_name() -> str:
    """How this system writes Qt's Ctrl: "Ctrl", or on macOS, where it is the Command key,
    "⌘"."""
    native = QKeySequence("Ctrl+Right").toString(QKeySequence.SequenceFormat.NativeText)
    return native.removesuffix("Right").removesuffix("→").removesuffix("+")


def probe_keys() -> str:
    """How this system writes Ctrl+arrows ("Ctrl+arrow keys", "⌘ arrow keys")."""
    mod = ctrl_name()
    return f"{mod} arrow keys" if mod == "⌘" else f"{mod}+arrow keys"


def is_app_folder(folder: Path) -> bool:
    """Whether ``folder`` is the application's own (pasted images, the bundled samples): not
    where the user's photos are, nor where exports belong (it may be read-only)."""
    from .main import SAMPLES_DIR  # here: app.main imports this module when it runs

    try:
        return folder.resolve() in (paste_folder().resolve(), SAMPLES_DIR)
    except OSError:
        return False


# Keys of keyboards with a key per command, which QKeySequence's standard keys include.
DEDICATED_KEYS = frozenset({"Open", "Undo", "Redo", "Copy", "Paste", "Cut", "Help", "Save",
                            "Close", "New", "Find", "Print", "Back", "Forward", "Refresh"})
# Pasted images kept (the newest; more than Open Recent lists, so it never lists a deleted one).
KEEP_PASTED = 50
# The first window takes this size, or this share of a smaller screen. Narrower than
# COMPACT_WIDTH, the two panels side by side would leave the image under half the window
# (1024 px: 362 of 1024), so the Maps panel starts as a tab behind the Restoration panel.
START_SIZE = QSize(1440, 900)
SCREEN_SHARE = 0.92
COMPACT_WIDTH = 1280


def prune_pasted(folder: Path, keep: int = KEEP_PASTED) -> None:
    """Delete all but the ``keep`` newest pasted images in ``folder``; housekeeping, so a file
    another paste removed first, or one that cannot be removed now, is passed over."""
    dated = []
    for f in folder.glob("Pasted *.png"):
        with contextlib.suppress(OSError):
            dated.append((f.stat().st_mtime, f))
    for _, old in sorted(dated, reverse=True)[keep:]:
        with contextlib.suppress(OSError):
            old.unlink()


def knob_caption(knobs: Knobs) -> str:
    return f"t {knobs.t:.2f} · δ {format_delta(knobs.delta)} · EA {'on' if knobs.ea else 'off'}"


def model_summary(info: ModelInfo) -> tuple[str, str]:
    """The model panel's lines for the loaded weights, and their tooltip. Four short lines
    that do not wrap in the panel's width: a wrapped six or seven had pushed the Reference
    scores below the fold of a 900-px-high window. The tooltip holds the long forms: the
    full path and SHA-256, and what the EA ± view compares."""
    noea = ("EA ± compares with the trained no-EA weights" if info.noea_weights is not None
            else "No trained no-EA weights: the EA ± view removes EA's spatial selection "
            "on these weights")
    crop = f" · trained on {info.train_crop}-px crops" if info.train_crop else ""
    text = (f"<b>{html.escape(short_name(info.weights))}</b><br>"
            f"wf {info.wf}, depth {info.depth}{crop}<br>"
            f"{info.precision} · SHA-256 {info.sha256[:16]}…<br>"
            + ("EA ±: trained no-EA weights" if info.noea_weights is not None
               else "EA ±: these weights with EA switched off"))
    tip = f"{info.weights}\nSHA-256 {info.sha256}\n{noea}"
    return text, tip


@dataclass(frozen=True)
class Opened:
    """An image read in the pool, with its preview-size copy."""

    image: Image
    small: np.ndarray
    qimage: QImage
    alpha: QImage | None = None  # its transparency, for the viewer (None: opaque)


SHORTCUTS_NOTE = ("<p>In the t, δ and strength boxes Undo and Redo are the window's; in other "
                  "boxes, and in a label with selected text, the usual text keys apply.</p>")


def colour_mismatch(a: Image, b: Image) -> bool:
    """Whether one of two images is grayscale and the other holds colour (a gray photo
    saved as RGB does not count), so that scoring one against the other means nothing."""
    if a.gray == b.gray:
        return False
    return not is_gray((b if a.gray else a).rgb, tolerance=2.0 / 255.0)


class MainWindow(EAViewMixin, ExportMixin, QMainWindow):
    """The application window.

    Args:
        settings: where preferences live (a non-persisting one for screenshot runs).
        task, device: override the remembered task and device.

    Signals:
        settled(): nothing is left to compute for what is on screen.
        failed(message): a user-facing error (also shown in a message box when
            ``interactive``).
        imageOpened(path), previewShown(), restoreShown(), exported(path).
    """

    settled = Signal()
    failed = Signal(str)
    imageOpened = Signal(str)
    previewShown = Signal()
    restoreShown = Signal()
    exported = Signal(str)

    def __init__(self, settings: Settings | None = None, task: str | None = None,
                 device: str | None = None, variant: str | None = None,
                 weights: str | Path | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.engine = Engine(self)
        self.jobs = Jobs(self)
        self.image: Image | None = None
        self.small: np.ndarray | None = None
        self.reference: Image | None = None
        self._reference_auto = False  # the reference is a bundled sample's, loaded unasked
        self.info: ModelInfo | None = None
        self.model_error = ""
        self.model_missing = False
        self.model_pending = True
        self.preview: PreviewResult | None = None
        self.full: RestoreResult | None = None
        self._preview_qimage = None
        self._full_qimage = None
        # The full result and the strength _full_qimage shows them at (None: nothing yet);
        # a strength change remakes it in the pool, one at a time (_remix_full).
        self._full_mix: tuple[RestoreResult, float] | None = None
        self._mixing = False
        self._open_serial = 0
        self._requested_path: Path | None = None  # the image last asked for
        self._steps = 0  # Next/Previous presses waiting for the folder listing
        self._same_cache: tuple[tuple[Path, Path], bool] | None = None  # _reference_is_input
        self._listing = False  # a folder is being listed for them
        self._step_from: Path | None = None  # the image they step from
        self._image_serial = 0
        self._preview_serial = 0
        self._preview_repair = True  # the repair setting the last preview was asked with
        self._preview_done = 0
        self._preview_floor = 0
        self._restore_job: RestoreJob | None = None
        self._cancelling = -1  # serial of the restore a user cancelled, until it stops
        # The area in view, which a full-resolution restore does first (RestoreJob.focus;
        # read from the worker thread), and that area once done, with the strength its
        # image shows it at: the view shows it over the preview until the whole is done.
        self._focus_box: Box | None = None
        self._area: tuple[RestoreJob, AreaDone] | None = None
        # The area's image for the view: the AreaDone and strength it shows (mixed in the
        # pool, as the full result is: a zoomed-out view's area can be megapixels).
        self._area_image: tuple[QImage, AreaDone, float, RestoreJob] | None = None
        self._area_mixing = False
        # The EA view zoomed in: the area in view with and without EA at full resolution
        # (EAAreaJob), asked for once the view rests; the gain and source line of the
        # preview's pair, which the area's difference and caption follow.
        self._ea_job: EAAreaJob | None = None
        self._ea_failed: EAAreaJob | None = None  # the last that failed: not asked again
        self._gave_way = False  # a full-resolution restore was stopped for the EA view
        self._ea_area: EAAreaResult | None = None
        self._ea_shown: EAAreaResult | None = None
        self._ea_gain: float | None = None
        self._ea_source = ""
        self._ea_timer = QTimer(self)
        self._ea_timer.setSingleShot(True)
        self._ea_timer.setInterval(EA_AREA_MS)
        self._ea_timer.timeout.connect(self._request_ea_area)
        self._exports: list[ExportRequest] = []  # waiting, in the order asked for
        self._copy_waiting = False  # Copy asked for while the full result was not ready
        self._pasting: set[Path] = set()  # pasted images being written
        self._exporting = False
        self._close_after_exports = False  # closing asked to wait for the exports (Save)
        self._maps_export: Path | None = None  # File > Export Maps, waiting for the maps
        self._dropped_export = ""  # a notice for the next "model ready" message
        self._ready_note = ""  # likewise: an opened weight file names no task we have, …
        self._notice = ("", -math.inf)  # the status bar's last notice and until when it stands
        self._one_pass_checked: tuple[object, int | None] = (None, None)  # _one_pass_fallback
        self._device_kept = ""  # a remembered device not here now: kept for the next start
        self._weights_serial = 0  # the latest Open Weights (an earlier one's check is stale)
        # key → (PSNR, SSIM, note), or the reason it could not be scored
        self._metrics: dict[str, tuple[float, float, str] | str] = {}
        self._metrics_seq: dict[str, int] = {}
        self._metrics_asked: dict[str, str] = {}  # key → the scale last asked for
        self._was_settled = False
        self._shut = False
        # Pool work (a reference read, its scores) makes the window busy and, once its
        # callback has run, perhaps settled again: ``settled`` had been sent before a
        # sample's reference was read and not after its scores.
        self.jobs.started.connect(self._on_work_started)
        self.jobs.ended.connect(self._check_settled)
        self._hover = (-1, -1)
        self.interactive = True
        self._maps_shown = False  # the Maps panel on the screen (maps_dock.visibilityChanged)

        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.resize(START_SIZE)
        self.setDockNestingEnabled(True)
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(IDLE_MS)
        self._idle.timeout.connect(self._on_idle)
        # While a knob is dragged, previews run on a half-size draft; the full-size preview
        # follows when the slider is let go or the changes pause.
        self._sharpen = QTimer(self)
        self._sharpen.setSingleShot(True)
        self._sharpen.setInterval(SHARPEN_MS)
        self._sharpen.timeout.connect(self._on_sharpen)
        self._last_knob_change = -1.0
        # Undo/redo of the knobs and strength, recorded once changes pause: one history per
        # model (task, variant, weight file), so switching back to a model brings its steps.
        self.history: History[tuple[Knobs, float]] = History()
        self._histories: dict[tuple[str, str, Path | None], History[tuple[Knobs, float]]] = {}
        self._history_timer = QTimer(self)
        self._history_timer.setSingleShot(True)
        self._history_timer.setInterval(HISTORY_MS)
        self._history_timer.timeout.connect(self._on_history_timer)
        self._latest_draft = False
        self._slow_previews = 0  # previews at rest in a row slower than SLOW_PREVIEW_S
        self._slow_hint_given = False
        self._draft: tuple[np.ndarray, np.ndarray | None] | None = None
        self._build_ui()
        self._build_actions()
        # Ctrl+Z in the t, δ and strength boxes is the window's Undo of those settings, not
        # the box's own undo of its text.
        self._undo_keys = WindowUndoKeys(self)
        for box in (self.controls.t_spin, self.controls.delta_spin,
                    self.controls.strength_spin):
            box.installEventFilter(self._undo_keys)
        self._page_keys = OwnPageKeys(self)
        for kind in (QAbstractSpinBox, QAbstractSlider, QComboBox, QAbstractItemView):
            for w in self.findChildren(kind):
                w.installEventFilter(self._page_keys)
        self._restore_settings(task, device, variant, weights)
        self._connect()
        self._on_dock_shown()  # panels hidden when last closed: "Show Panels", not "Hide"
        self._update_actions()
        app = QApplication.instance()
        if app is not None:  # quitting without closing the window must still stop the thread
            app.aboutToQuit.connect(self._on_quit)
        self._load_model()

    # ================================================================== building
    def _build_ui(self) -> None:
        self.viewer = Viewer()
        self.setCentralWidget(self.viewer)

        self.controls = ControlsPanel(available_devices())
        self.controls_dock = self._dock("Restoration", "controlsDock", self.controls,
                                        Qt.DockWidgetArea.LeftDockWidgetArea)
        self.maps = MapsPanel()
        self.maps_dock = self._dock("Maps", "mapsDock", self.maps,
                                    Qt.DockWidgetArea.RightDockWidgetArea)

        bar = self.statusBar()
        self.pixel_label = QLabel()
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.pixel_label.setFont(mono)
        # Wide enough for an 8-bit reading in this font (it had been 420 px whatever the
        # font: at 16 pt the reading was 670), so the figures stay still as the pointer moves.
        self.pixel_label.setMinimumWidth(QFontMetrics(mono).horizontalAdvance(
            "x 00000  y 00000   in 000 000 000   out 000 000 000") + 8)
        self.pixel_label.hide()  # until the pointer is over an image
        self.run_label = QLabel()
        self.zoom_label = QLabel()
        self.zoom_label.setToolTip("Zoom: screen pixels per image pixel (Ctrl+0 shows the "
                                   "whole image, never past actual size unless View ▸ Enlarge "
                                   "Small Images to Fit; Ctrl+1 is 100 %; Ctrl+= and Ctrl+-, "
                                   "a mouse wheel or a pinch zoom)")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip(CANCEL_TIP)
        self.cancel_button.hide()
        bar.addPermanentWidget(self.pixel_label)
        bar.addPermanentWidget(self.zoom_label)
        bar.addPermanentWidget(self.run_label)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        bar.messageChanged.connect(self._fit_status)

    def _dock(self, title: str, name: str, widget: QWidget,
              area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        scroll = _PanelScroll()
        scroll.setWidget(widget)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # no empty Tab stop; it still scrolls
        dock.setWidget(scroll)                         # to the control that has the focus
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot: object, shortcut: object = None, tip: str = "",
                checkable: bool = False) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, QKeySequence.StandardKey)):
                a.setShortcuts(shortcut)  # a standard key: every platform binding, not the first
            else:
                a.setShortcut(shortcut)
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(f"{tip} ({a.shortcut().toString()})" if shortcut else tip)
        a.setCheckable(checkable)
        if slot is not None:
            a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        K = QKeySequence  # noqa: N806
        self.open_action = self._action("&Open…", self.open_dialog, K.StandardKey.Open,
                                        "Open an image")
        self.next_action = self._action(
            "Ne&xt Image in Folder", lambda: self.step_image(1), K("PgDown"),
            "Open the next image in this image's folder (by name)")
        self.prev_action = self._action(
            "Pre&vious Image in Folder", lambda: self.step_image(-1), K("PgUp"),
            "Open the previous image in this image's folder (by name)")
        self.weights_action = self._action(
            "Open &Weights…", self.open_weights_dialog, K("Ctrl+Shift+O"),
            "Restore with a weight file of your own (e.g. one drcnet train wrote)")
        self.reference_action = self._action("Load Refere&nce…", self.reference_dialog,
                                             None, "A clean image to measure PSNR/SSIM against")
        self.clear_reference_action = self._action("C&lear Reference", self.clear_reference)
        self.export_action = self._action("&Export…", self.export_dialog, K("Ctrl+E"),
                                          "Export the restored image or a comparison")
        self.export_maps_action = self._action(
            "Export &Maps…", self.export_maps_dialog, None,
            "Save every block's self-aware map, mask and energy-attention map as float32 "
            "arrays in a NumPy .npz file, with the run's parameters")
        self.paste_action = self._action(
            "&Paste Image", self.paste_image, K.StandardKey.Paste,
            "Open the image on the clipboard (or the image files copied there)")
        self.copy_action = self._action(
            "&Copy Restored Image", self.copy_result, K.StandardKey.Copy,
            "Copy the restored image, full resolution at the current strength, to the "
            "clipboard")
        self.batch_action = self._action(
            "Restore &Files…", lambda: self.batch_dialog(), K("Ctrl+Shift+B"),
            "Restore many images or a folder with the current model and settings")
        # Ctrl+Q where the platform binds no Quit key (Windows, and the offscreen platform).
        quit_action = self._action("&Quit", self.close, K.StandardKey.Quit
                                   if K.keyBindings(K.StandardKey.Quit) else K("Ctrl+Q"))

        self.mode_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for mode, text, key, tip in (
            ("before", "&Before", "B", "Show the input"),
            ("after", "&After", "A", "Show the restored image"),
            ("compare", "&Compare", "C", "Compare input and restored (C toggles)"),
            ("ea", "&EA ±", "E", "Results with and without energy attention, and their "
                                "difference"),
        ):
            a = self._action(text, None, None if mode == "compare" else K(key), tip, True)
            if mode == "compare":  # C is bound to the toggle; the menu still shows it
                a.setText(f"{text}\t{key}")
                a.setIconText(text.replace("&", ""))
            a.triggered.connect(lambda _=False, m=mode: self.set_view_mode(m))
            group.addAction(a)
            self.mode_actions[mode] = a
        self.compare_toggle = self._action("Toggle compare", self.toggle_compare, K("C"))
        self.style_combo = QComboBox()
        self.style_combo.addItem("Split", "split")
        self.style_combo.addItem("Side by side", "side")
        self.style_combo.setToolTip("How Compare shows input and output")
        self.style_combo.setAccessibleName("Compare style")

        self.fit_action = self._action("&Fit", self.viewer.fit, K("Ctrl+0"),
                                       "The whole image in view, never past actual size (one "
                                       "image pixel per logical pixel) unless View ▸ Enlarge "
                                       "Small Images to Fit")
        self.zoom100_action = self._action("&100 %", self.viewer.zoom_100, K("Ctrl+1"),
                                           "Actual pixels")
        self.zoom_in_action = self._action("Zoom &In", lambda: self.viewer.zoom_by(1.25),
                                           [K("Ctrl+="), K("Ctrl++")], "Zoom in")
        self.zoom_out_action = self._action("Zoom &Out", lambda: self.viewer.zoom_by(0.8),
                                            K("Ctrl+-"), "Zoom out")
        self.restore_action = self._action("&Restore Full Resolution", self.start_full_restore,
                                           K("Ctrl+R"), RESTORE_TIP)
        self.cancel_action = self._action("&Cancel Restore", self.cancel_restore, K("Esc"))
        self.reset_action = self._action("Re&set Knobs to the Model's Values",
                                         self.controls.reset_knobs, K("Ctrl+Shift+R"))
        # Offered as the panel's button is: only when they would do something.
        self.reset_action.setEnabled(self.controls.reset_button.isEnabled())
        self.controls.resetAvailable.connect(self.reset_action.setEnabled)
        self.cancel_action.setEnabled(False)
        self.undo_action = self._action("&Undo", self.undo, K.StandardKey.Undo,
                                        "Undo the last change of t, δ, EA or strength")
        self.redo_action = self._action("&Redo", self.redo, K.StandardKey.Redo,
                                        "Redo what Undo took back")

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setToolTipsVisible(True)  # the full path of each
        file_menu.addAction(self.next_action)
        file_menu.addAction(self.prev_action)
        file_menu.addAction(self.weights_action)
        file_menu.addSeparator()
        file_menu.addAction(self.reference_action)
        file_menu.addAction(self.clear_reference_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.export_maps_action)
        file_menu.addAction(self.batch_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        edit_menu = menu.addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.copy_action)
        edit_menu.addAction(self.paste_action)
        view_menu = menu.addMenu("&View")
        for a in self.mode_actions.values():
            view_menu.addAction(a)
        style_menu = view_menu.addMenu("Compare &Style")
        self.style_actions: dict[str, QAction] = {}
        sgroup = QActionGroup(self)
        for style, text in (("split", "S&plit with Divider"), ("side", "Si&de by Side")):
            a = self._action(text, None, None, "", True)
            a.triggered.connect(lambda _=False, s=style: self.set_compare_style(s))
            sgroup.addAction(a)
            style_menu.addAction(a)
            self.style_actions[style] = a
        view_menu.addSeparator()
        for a in (self.fit_action, self.zoom100_action, self.zoom_in_action,
                  self.zoom_out_action):
            view_menu.addAction(a)
        self.enlarge_action = self._action(
            "En&large Small Images to Fit", None, None,
            "Fit enlarges an image smaller than the view by a whole multiple (200 %, 300 %…), "
            "drawn crisp; off, Fit shows it at actual size", True)
        self.enlarge_action.setChecked(self.settings.enlarge_small())
        self.viewer.set_enlarge_small(self.enlarge_action.isChecked())
        self.enlarge_action.toggled.connect(self._on_enlarge_small)
        view_menu.addAction(self.enlarge_action)
        view_menu.addSeparator()
        self.controls_panel_action = self._panel_action(self.controls_dock)
        self.maps_panel_action = self._panel_action(self.maps_dock)
        view_menu.addAction(self.controls_panel_action)
        view_menu.addAction(self.maps_panel_action)
        self.panels_action = self._action(
            "Hide &Panels", self.toggle_panels, K("Ctrl+Shift+H"),
            "Hide both panels to give the image the whole window; again to bring them back")
        view_menu.addAction(self.panels_action)
        run_menu = menu.addMenu("&Run")
        run_menu.addAction(self.restore_action)
        run_menu.addAction(self.cancel_action)
        run_menu.addAction(self.reset_action)
        help_menu = menu.addMenu("&Help")
        self.shortcuts_action = self._action("&Keyboard and Mouse", self.show_shortcuts,
                                             K.StandardKey.HelpContents,
                                             "Every shortcut and mouse gesture of the window")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self._action("&About DRCNet Studio", self.about))

        tb = self.addToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setIconSize(QSize(16, 16))
        tb.addAction(self.open_action)
        tb.addAction(self.export_action)
        tb.addSeparator()
        for a in self.mode_actions.values():
            tb.addAction(a)
        tb.addWidget(self.style_combo)
        tb.addSeparator()
        for a in (self.fit_action, self.zoom100_action, self.zoom_in_action,
                  self.zoom_out_action):
            tb.addAction(a)
        tb.addSeparator()
        tb.addAction(self.maps_panel_action)

    def _on_enlarge_small(self, on: bool) -> None:
        self.settings.set_enlarge_small(on)
        self.viewer.set_enlarge_small(on)

    def _panel_action(self, dock: QDockWidget) -> QAction:
        """Show or hide ``dock``, or, when it is a tab behind the other panel, bring it to the
        front (the dock's own toggle hid it there, with no visible change, then showed it
        behind again: in the compact layout the Maps button never showed the maps)."""
        own = dock.toggleViewAction()
        a = QAction(f"&{own.text()}", self)  # a mnemonic, as the menu's other items have
        a.setCheckable(True)
        a.setChecked(own.isChecked())
        a.setToolTip(f"Show or hide the {dock.windowTitle()} panel; bring it to the front "
                     "when it is a tab behind another")
        own.toggled.connect(a.setChecked)
        on_screen = [False]
        dock.visibilityChanged.connect(lambda shown: on_screen.__setitem__(0, shown))

        def trigger(checked: bool) -> None:
            if not checked and not dock.isHidden() and not on_screen[0]:  # a tab behind
                a.setChecked(True)
                dock.raise_()
                return
            dock.setVisible(checked)
            if checked:
                dock.raise_()

        a.triggered.connect(trigger)
        return a

    def fit_screen(self, available: QRect) -> None:
        """Size a first window for a screen whose free area is *available*: START_SIZE, or
        SCREEN_SHARE of a smaller screen, centred; narrower than COMPACT_WIDTH, the Maps panel
        becomes a tab behind the Restoration panel. A saved layout replaces all of this."""
        size = START_SIZE.boundedTo(QSize(int(available.width() * SCREEN_SHARE),
                                          int(available.height() * SCREEN_SHARE)))
        self.resize(size)
        self.move(available.center() - QRect(0, 0, size.width(), size.height()).center())
        # Also when the panels, at this font, would leave the image under half the window
        # (at 16 pt on a 1440-px-wide screen they took 920 px and left it 392).
        panels = (self.controls_dock.widget().minimumSizeHint().width() + 12
                  + self.maps.expected_width() + 12)  # with the thumbnails it will show
        if size.width() < COMPACT_WIDTH or size.width() - panels < size.width() / 2:
            self.compact_layout()

    def compact_layout(self) -> None:
        """The Maps panel as a tab behind the Restoration panel, which takes no more width
        than it needs: the layout of a first window narrower than COMPACT_WIDTH."""
        self.tabifyDockWidget(self.controls_dock, self.maps_dock)
        self.controls_dock.raise_()
        wide = max(d.widget().minimumSizeHint().width()
                   for d in (self.controls_dock, self.maps_dock))
        self.resizeDocks([self.controls_dock], [max(wide, 340)], Qt.Orientation.Horizontal)

    def toggle_panels(self) -> None:
        """Hide the panels that are shown, or show again the ones this hid (both if the user
        had hidden them one by one)."""
        docks = (self.controls_dock, self.maps_dock)
        shown = [d for d in docks if not d.isHidden()]
        if shown:
            self._hidden_docks = shown
            for d in shown:
                d.hide()
        else:
            for d in getattr(self, "_hidden_docks", None) or docks:
                d.show()
            self._hidden_docks = []

    def _on_dock_shown(self) -> None:
        # The actions' checks: toggled comes before the dock is hidden.
        any_shown = any(d.toggleViewAction().isChecked()
                        for d in (self.controls_dock, self.maps_dock))
        self.panels_action.setText("Hide &Panels" if any_shown else "Show &Panels")

    def _restore_settings(self, task: str | None, device: str | None,
                          variant: str | None = None, weights: str | Path | None = None) -> None:
        s = self.settings
        task = task or s.task()
        self.controls.set_task(task if task in TASKS else "denoise")
        for t in TASKS:
            remembered = s.weight_file(t)
            if remembered and Path(remembered).is_file():  # offered again while it exists
                self.controls.set_weight_file(t, Path(remembered))
            self.controls.set_variant(t, s.variant(t))
        if weights is not None:
            self._choose_weight_file(self.controls.task(), Path(weights))
        elif variant is not None:
            self.controls.set_variant(self.controls.task(), variant)
        # First run: the first accelerator if there is one (CUDA, then MPS), else the CPU.
        found = [d for d, _ in available_devices()]
        wanted = device or s.device(found[1] if len(found) > 1 else "cpu")
        if wanted not in found and device is None:  # remembered, on a machine without it
            same_kind = [d for d in found if d.split(":")[0] == wanted.split(":")[0]]
            used = same_kind[0] if same_kind else "cpu"
            self._device_kept = wanted  # a GPU away for now stays the choice for next time
            self._ready_note = f"{wanted}, used last, is not available: using {used}"
            wanted = used
        self.controls.set_device(wanted)
        self._show_model_knobs()
        self.controls.set_run(s.preview_size(), s.tile(), s.auto_refine(), s.ensemble(),
                              s.tile_auto(), s.repair())
        self.controls.set_strength(s.strength())
        self._reset_history()
        m = s.maps()
        self.maps.set_options(str(m["block"]), str(m["kind"]), str(m["cmap"]),
                              int(m["opacity"]), bool(m["overlay"]))
        style = s.compare_style()
        self.set_compare_style(style if style in Viewer.STYLES else "split")
        # A session starts where the result shows: not on Before (whose first look at a photo
        # shows nothing restored) nor the EA view (which runs more).
        mode = {"before": "compare", "ea": "after"}.get(s.view_mode(), s.view_mode())
        self.set_view_mode(mode if mode in ("after", "compare") else "after")
        if s.geometry() is not None:
            self.restoreGeometry(s.geometry())
        if s.window_state() is None or not self.restoreState(s.window_state()):
            self.resizeDocks([self.controls_dock, self.maps_dock], [280, 330],
                             Qt.Orientation.Horizontal)
        self._rebuild_recent()

    def save_settings(self) -> None:
        s = self.settings
        s.set_task(self.controls.task())
        s.set_variant(self.controls.task(), self.controls.variant())
        if not self._device_kept:  # else the remembered one, not the stand-in, stays
            s.set_device(self.controls.device())
        self._remember_knobs()
        self._remember_tile()
        s.set_preview_size(self.controls.preview_size())
        s.set_auto_refine(self.controls.auto_refine())
        s.set_ensemble(self.controls.ensemble() > 1)
        s.set_repair(self.controls.repair())
        s.set_strength(self.controls.strength())
        s.set_maps(self.maps.block(), self.maps.kind(), self.maps.cmap(),
                   self.maps.opacity_slider.value(), self.maps.overlay_enabled())
        s.set_compare_style(self.viewer.compare_style())
        s.set_view_mode(self.viewer.mode())
        s.set_window(self.saveGeometry(), self.saveState())
        s.sync()

    def _connect(self) -> None:
        w = self.engine.worker
        w.loaded.connect(self._on_loaded)
        w.loadFailed.connect(self._on_load_failed)
        w.previewReady.connect(self._on_preview)
        w.previewFailed.connect(self._on_preview_failed)
        w.progress.connect(self._on_progress)
        w.restoreFinished.connect(self._on_restore_finished)
        w.areaReady.connect(self._on_area)
        w.eaAreaReady.connect(self._on_ea_area)
        w.eaAreaEnded.connect(self._on_ea_area_ended)
        w.idle.connect(self._on_engine_idle)
        w.restoreCancelled.connect(self._on_restore_cancelled)
        w.restoreFailed.connect(self._on_restore_failed)
        c = self.controls
        c.taskChanged.connect(self._on_task_changed)
        c.variantChanged.connect(self._on_variant_changed)
        c.deviceChanged.connect(self._on_device_changed)
        # Picking the device already shown sends no change; it still is the user's choice
        # (over one remembered from a machine with a GPU).
        c.device_combo.activated.connect(lambda _: self._keep_device_choice())
        c.knobsChanged.connect(self._on_knobs_changed)
        c.dragFinished.connect(self._on_drag_finished)
        c.runChanged.connect(self._on_run_changed)
        c.restoreRequested.connect(self.start_full_restore)
        c.strengthChanged.connect(self._on_strength_changed)
        c.knobsChanged.connect(self._tuned_changed)
        c.strengthChanged.connect(self._tuned_changed)
        # After the handlers above, which cancel a restore the change makes obsolete.
        c.knobsChanged.connect(self._update_restore_action)
        c.runChanged.connect(self._update_restore_action)
        self.maps.changed.connect(self._update_overlay)
        self.maps.export_button.clicked.connect(self.export_maps_dialog)
        self.maps_dock.visibilityChanged.connect(self._on_maps_visibility)
        for dock in (self.controls_dock, self.maps_dock):
            dock.toggleViewAction().toggled.connect(self._on_dock_shown)
        self.viewer.hovered.connect(self._on_hover)
        self.viewer.probeMoved.connect(self._announce_probe)
        self.viewer.modeChanged.connect(self._on_mode_changed)
        self.viewer.viewChanged.connect(self._update_focus)
        self.viewer.viewChanged.connect(self._update_preview_caption)
        self.viewer.viewChanged.connect(self._update_zoom_label)
        self.style_combo.currentIndexChanged.connect(
            lambda _: self.set_compare_style(str(self.style_combo.currentData())))
        self.cancel_button.clicked.connect(self.cancel_restore)

    # ================================================================== files
    def _error(self, title: str, text: str) -> None:
        """Report a user-facing failure: a message box, never a traceback."""
        self.failed.emit(text.replace("\n\n", " "))
        if self.interactive:
            QMessageBox.critical(self, title, text)

    def open_dialog(self) -> None:
        pattern = " ".join(f"*{e}" for e in READABLE_EXTENSIONS)
        pattern += " " + pattern.upper()
        path, _ = QFileDialog.getOpenFileName(
            self, "Open image", str(self.user_folder()),
            f"Images ({pattern});;All files (*)")
        if path:
            self.open_image(path)

    def open_image(self, path: str | Path) -> None:
        """Read ``path`` in the background; show it, or a message box saying why not."""
        p = Path(path)
        self._requested_path = p  # where Next/Previous Image go on from
        self._open_serial += 1
        serial = self._open_serial
        size = self.controls.preview_size()
        self.statusBar().showMessage(f"Opening {p.name}…")

        def read() -> Opened:
            check_input_name(p, folder_hint=False)  # a RAW file: its small preview had opened
            image = read_image(p)
            # (image.restorable is worked out here, in the pool, once for the photo)
            return Opened(image, downscale(image.restorable, size),
                          to_qimage(image.rgb, image.icc),
                          alpha_qimage(image.alpha))

        self.jobs.run(read, lambda r: self._on_opened(serial, r),
                      lambda msg: self._on_open_failed(serial, p, msg))

    def _current_path(self) -> Path | None:
        return self._requested_path or (self.image.path if self.image else None)

    def step_image(self, step: int) -> None:
        """Open the image ``step`` places after the one open (or being opened) in its
        folder, in the order a file manager shows; the status bar says when there is none.
        The folder is listed off the GUI thread (a large or network folder takes a while);
        presses made meanwhile add up, and stop at the first or last image."""
        current = self._current_path()
        if current is None:
            self.statusBar().showMessage("Open an image first", 4000)
            return
        if self._listing and current != self._step_from:  # another image opened meanwhile
            self._steps = 0
        self._steps += step
        self._step_from = current
        if not self._listing:
            self._list_folder(current.parent)

    def _list_folder(self, folder: Path) -> None:
        self._listing = True
        self._was_settled = False
        self.jobs.run(lambda: folder_images(folder), lambda names: self._on_listed(folder, names),
                      lambda _msg: self._on_listed(folder, None))

    def _on_listed(self, folder: Path, names: list[str] | None) -> None:
        self._listing = False
        step, self._steps = self._steps, 0
        current = self._current_path()
        if current is None or current != self._step_from or not step:
            self._check_settled()  # another image was opened meanwhile: it wins
            return
        if current.parent != folder:  # pressed again from an image opened in another folder
            self._steps = step
            self._list_folder(current.parent)
            return
        found = step_in(names or [], current.name, step, clamp=True)
        if found is None:
            which = "last" if step > 0 else "first"
            self.statusBar().showMessage(  # the point, not a long name, in a narrow window
                f"{short_name(current)} is the {which} image in its folder", 4000)
            self._check_settled()
            return
        self.open_image(folder / found)

    def _on_open_failed(self, serial: int, path: Path, message: str) -> None:
        if serial == self._open_serial:
            self.notice(f"Could not open {path.name}", 8000)
        if not path.exists():  # moved or deleted: Open Recent no longer offers it
            self.settings.remove_recent_file(str(path.resolve()))
            self._rebuild_recent()
        self._error("Cannot open image", f"Could not open “{path.name}”.\n\n{message}")
        self._check_settled()

    def _on_opened(self, serial: int, opened: Opened) -> None:
        if serial != self._open_serial:
            return  # a later open superseded this one
        self._image_serial += 1
        self.cancel_restore(quiet=True)
        dropped = self._drop_export()
        before = self.image
        self.image, self.small = opened.image, opened.small
        self._forget_results()
        self._preview_floor = self._preview_serial + 1
        self._metrics, self._metrics_asked = {}, {}
        # The reference is the clean version of one photo: it stays when that photo is
        # opened again (as it was), and goes, said, with another one.
        ref = self.reference
        if ref is not None and not (before is not None and same_file(before.path,
                                                                       opened.image.path)
                                    and ref.rgb.shape == opened.image.rgb.shape):
            self.reference = None
            if not self._reference_auto:  # not said of one the user never loaded
                dropped = "; ".join(x for x in (dropped, f"reference {ref.path.name} cleared "
                                                "(it belongs to the last image)") if x)
        self._hover = (-1, -1)  # a position on the last image means nothing on this one
        path = opened.image.path
        h, w = opened.image.rgb.shape[:2]
        self.setWindowTitle(f"{path.name} — {APP_NAME}")
        self.setWindowFilePath(str(path))
        burst = (before is not None and not is_app_folder(path.parent)  # not two pastes
                 and same_file(before.path.parent, path.parent))
        self.viewer.set_input(opened.qimage, opened.alpha, keep_view=burst)
        self._clear_maps()
        if not is_app_folder(path.parent):  # File > Open starts where the user's photos are
            self.settings.set_last_folder(str(path.parent))
        self.settings.add_recent_file(str(path.resolve()))
        self._rebuild_recent()
        depth = f", {opened.image.bit_depth}-bit" if opened.image.bit_depth != 8 else ""
        space = display_space(opened.image.icc)
        if space is not None:
            depth += f", {space.description() or 'wide-gamut'} profile (shown as sRGB)"
        if opened.image.frames > 1:
            depth += f" · {frames_note(opened.image)}"
        opened = f"Opened {path.name}: {w}×{h}{depth}"
        if dropped:
            self.notice(f"{opened} · {dropped}", 8000)
        elif depth:  # a note (pages, 16 bits, a profile): not covered by the restore's lines
            self.notice(opened, 8000)
        else:
            self.statusBar().showMessage(opened, 5000)
        self._show_output()
        if self.reference is not None:  # kept (the same photo): its input row now, whether
            self._refresh_output_metrics()  # or not a model's preview follows
        self._update_metrics_text()
        self.imageOpened.emit(str(path))
        self.request_preview()
        from .main import sample_reference  # here: app.main imports this module

        clean = sample_reference(path)
        if self.reference is None and clean is not None:  # a bundled sample: score it
            self.load_reference(clean, auto=True)

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        files = self.settings.recent_files()
        names = [Path(f).name for f in files]
        for f, name in zip(files, names, strict=True):
            if names.count(name) > 1:  # the same name in two folders: say which folder
                name = f"{name} — {Path(f).parent.name or Path(f).parent}"
            a = self.recent_menu.addAction(name)
            a.setToolTip(f)
            a.setStatusTip(f)
            a.triggered.connect(lambda _=False, p=f: self.open_image(p))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear List", self._clear_recent)
        self.recent_menu.setEnabled(bool(files))

    def _clear_recent(self) -> None:
        self.settings.clear_recent_files()
        self._rebuild_recent()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt name)
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        paths = [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]
        # The cursor says "no" over the window for what a drop could not open (a text file);
        # a single file is opened by its content, so an image without its extension is fine.
        if any(p.suffix.lower() in (*READABLE_EXTENSIONS, *WEIGHT_SUFFIXES) for p in paths) \
                or (len(paths) == 1 and has_image_signature(paths[0])) \
                or any(p.is_dir() for p in paths):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        """One image opens; one weight file loads; several images, or a folder, go to
        *Restore Files* with the window's model and settings."""
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        self._open_paths(paths)

    def user_folder(self, folder: Path | None = None) -> Path:
        """``folder`` unless it is the application's own, else the folder of the last photo
        the user opened, else their Pictures folder, else home: where dialogs start."""
        if folder is not None and folder.is_dir() and not is_app_folder(folder):
            return folder
        for candidate in (self.settings.last_folder(), QStandardPaths.writableLocation(
                QStandardPaths.StandardLocation.PicturesLocation)):
            # (an earlier version stored the samples' folder as the last one)
            if candidate and Path(candidate).is_dir() and not is_app_folder(Path(candidate)):
                return Path(candidate)
        return Path.home()

    def _open_paths(self, paths: list[Path]) -> None:
        """Files dropped or pasted: as :meth:`dropEvent` says."""
        # Dialogs and message boxes open after the drop returns: inside it they would hold
        # the program the files were dragged from.
        if len(paths) == 1 and paths[0].suffix.lower() in WEIGHT_SUFFIXES:
            QTimer.singleShot(0, lambda p=paths[0]: self.open_weights(p))
        elif len(paths) == 1 and not paths[0].is_dir():
            self.open_image(paths[0])
        else:
            images = [p for p in paths
                      if p.is_dir() or p.suffix.lower() in READABLE_EXTENSIONS]
            skipped = len(paths) - len(images)
            if skipped:
                self.statusBar().showMessage(
                    f"Left out {skipped} dropped file{'s' * (skipped != 1)} that "
                    f"{'are not images' if skipped != 1 else 'is not an image'} or folders",
                    8000)
            if images:
                QTimer.singleShot(0, lambda: self.batch_dialog(images))

    def paste_image(self) -> None:
        """Open what the clipboard holds: files copied in a file manager as if dropped, or
        an image (a screenshot, one copied from a browser), saved first as a PNG in
        :func:`paste_folder` so that it has a file as every opened image does."""
        data = QApplication.clipboard().mimeData()
        paths = [Path(u.toLocalFile()) for u in data.urls() if u.isLocalFile()] \
            if data is not None and data.hasUrls() else []
        if paths:
            self._open_paths(paths)
            return
        qimage = QApplication.clipboard().image()
        if qimage.isNull():
            self.statusBar().showMessage("The clipboard holds no image", 6000)
            return
        stamp = time.time()
        name = time.strftime("Pasted %Y-%m-%d %H-%M-%S", time.localtime(stamp))
        name += f".{int(stamp * 1000) % 1000:03d}"
        path = paste_folder() / f"{name}.png"
        n = 1
        while path.exists() or path in self._pasting:  # two pastes in one millisecond
            n += 1
            path = paste_folder() / f"{name} ({n}).png"
        self._pasting.add(path)
        self.statusBar().showMessage("Saving the pasted image…")

        def write() -> Path:
            rgb, alpha = from_qimage(qimage)
            space = qimage.colorSpace()  # a Display P3 screenshot, say: kept as its profile
            icc = bytes(space.iccProfile()) if space.isValid() and space != SRGB else None
            path.parent.mkdir(parents=True, exist_ok=True)
            write_image(path, rgb, alpha=alpha, icc=icc or None)
            prune_pasted(path.parent)
            return path

        def done(written: Path) -> None:
            self._pasting.discard(path)
            self.open_image(written)

        def failed(message: str) -> None:
            self._pasting.discard(path)
            self._error("Cannot paste", f"The pasted image could not be saved as {path}."
                        f"\n\n{message}")
            self._check_settled()

        self.jobs.run(write, done, failed)

    # ================================================================== weights
    def open_weights_dialog(self) -> None:
        current = self.controls.weight_file()
        folder = str(current.parent) if current is not None else str(Path.cwd())
        path, _ = QFileDialog.getOpenFileName(
            self, "Open weights", folder,
            f"DRCNet weights ({' '.join('*' + e for e in WEIGHT_SUFFIXES)});;All files (*)")
        if path:
            self.open_weights(path)

    def open_weights(self, path: str | Path) -> bool:
        """Restore with the weight file ``path`` from now on, for the task its metadata names
        (else the current task), beside the shipped models in the *Weights* choice. The
        header is read here; the whole file is loaded once in the pool before anything is
        switched, so a file that holds no DRCNet leaves the working model (and its entry in
        the *Weights* choice) alone and says why in a message box. Returns False, after a
        message box, for a file whose header already rules it out; True when it is being
        loaded."""
        p = Path(path).expanduser()
        try:
            task = check_weight_file(p) or self.controls.task()
            note = task_note(p, task)
        except WeightsError as exc:
            self._error("Cannot open weights", str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 (a file from anywhere: said, never silent)
            self._error("Cannot open weights", f"Could not read “{p.name}”: {first_line(exc)}")
            return False
        self._weights_serial += 1
        serial = self._weights_serial

        def done(_: object) -> None:
            if serial == self._weights_serial and not self._shut:
                self._ready_note = "; ".join(x for x in (self._ready_note, note) if x)
                self._use_weight_file(task, p)

        def failed(message: str) -> None:
            if serial == self._weights_serial and not self._shut:
                self.statusBar().clearMessage()
                kept = "" if self.info is None else (
                    f"\n\nThe {self.info.task} model in use stays: "
                    f"{short_name(self.info.weights)}.")
                self._error("Cannot open weights", f"Could not load “{p.name}”.\n\n"
                            f"{message}{kept}")

        self.statusBar().showMessage(f"Loading {p.name}…")
        def check() -> None:  # the whole file, as the model thread will load it
            build_model(p)  # (this CPU copy is dropped)

        self.jobs.run(check, done, failed)
        return True

    def _use_weight_file(self, task: str, p: Path) -> None:
        """Switch to the weight file ``p`` (checked by :meth:`open_weights`) for ``task``."""
        was_file = self._chosen()[1] == FILE_VARIANT
        self._choose_weight_file(task, p.resolve())
        if task != self.controls.task():
            self.controls.set_task(task)  # loads it, as any task change does
        elif was_file:  # the choice was a file already, so the combo did not signal
            self._on_variant_changed(FILE_VARIANT)

    def _choose_weight_file(self, task: str, path: Path) -> None:
        """Offer ``path`` as ``task``'s weight file and choose it (for the current task the
        combo then signals a change, unless it showed a file already)."""
        if self.controls.weight_file(task) != path:  # another file starts at its own knobs
            self.settings.clear_knobs(task, FILE_VARIANT)
        self.controls.set_weight_file(task, path)
        self.settings.set_weight_file(task, str(path))
        self.settings.set_variant(task, FILE_VARIANT)
        self.controls.set_variant(task, FILE_VARIANT)

    # ================================================================== reference
    def reference_dialog(self) -> None:
        if self.image is None:
            QMessageBox.information(self, "Load Reference", "Open an image first.")
            return
        pattern = " ".join(f"*{e}" for e in READABLE_EXTENSIONS)
        pattern += " " + pattern.upper()
        path, _ = QFileDialog.getOpenFileName(
            self, "Load clean reference", str(self.image.path.parent), f"Images ({pattern})")
        if path:
            self.load_reference(path)

    def load_reference(self, path: str | Path, auto: bool = False) -> None:
        """Score the shown images against the clean image at ``path``. ``auto``: a bundled
        sample's own clean photo, loaded unasked, so it stays quiet (no dialog, no scrolling,
        no status line) and gives way to a reference the user loads meanwhile."""
        p = Path(path)
        serial = self._image_serial
        image = self.image

        def read() -> tuple[Image, bool]:  # in the pool: a 24 MP check takes a second or two
            ref = read_image(p)
            return ref, (image is not None and ref.rgb.shape == image.rgb.shape
                         and colour_mismatch(ref, image))

        def done(read: tuple[Image, bool]) -> None:
            ref, mismatch = read
            if serial != self._image_serial or self.image is None:
                return
            if auto and self.reference is not None:  # the user's own came first
                return
            if ref.rgb.shape != self.image.rgb.shape:
                if auto:
                    return
                h, w = ref.rgb.shape[:2]
                ih, iw = self.image.rgb.shape[:2]
                self._error("Cannot use reference",
                            f"“{p.name}” is {w}×{h} but the input is {iw}×{ih}; "
                            "a reference must have the input's size.")
                return
            if mismatch:  # scores had been shown as if they meant
                if not auto:  # something (18 dB for a gray copy of the clean photo)
                    gray, colour = ("“" + p.name + "”", "the input") if ref.gray else \
                        ("the input", "“" + p.name + "”")
                    self._error("Cannot use reference",
                                f"{gray[0].upper()}{gray[1:]} is grayscale but {colour} is in "
                                "colour; a reference must be the clean version of the same "
                                "photo, in colour as it is.")
                return
            self.reference = ref
            self._reference_auto = auto
            self._metrics, self._metrics_asked = {}, {}
            self._refresh_output_metrics()
            self._update_metrics_text()  # "computing…" at once, not the old "No reference"
            if auto:
                return
            if self.controls_dock.isVisible():  # below the fold on a small screen
                self.controls_dock.widget().ensureWidgetVisible(self.controls.metrics_label)
            self.statusBar().showMessage(
                f"Reference {short_name(p)}: PSNR and SSIM are in the Restoration panel", 6000)

        def failed(message: str) -> None:
            if not auto:
                self._error("Cannot open reference",
                            f"Could not open “{p.name}”.\n\n{message}")

        self.jobs.run(read, done, failed)

    def clear_reference(self) -> None:
        self.reference = None
        self._metrics, self._metrics_asked = {}, {}
        self._update_metrics_text()

    def _compute_metrics(self, key: str, a: Pixels, b: Pixels, note: str,
                         source: np.ndarray | None = None) -> None:
        """PSNR and SSIM of ``a`` against ``b`` in the pool; with ``source`` (the image ``a``
        restores), of ``a`` at the current strength. ``a`` and ``b`` may be functions that
        make them (a resize of a full-resolution photo), called in the pool too."""
        serial = self._image_serial
        strength = self.strength()
        if source is not None and strength < 1.0:
            note += f", strength {strength * 100:.0f} %"

        def measure() -> tuple[float, float]:
            x, ref = (p() if callable(p) else p for p in (a, b))
            out = x if source is None else apply_strength(source, x, strength)
            return psnr(out, ref), ssim(out, ref)

        self._metrics_seq[key] = seq = self._metrics_seq.get(key, 0) + 1
        self._metrics_asked[key] = note

        def current() -> bool:  # a newer request, image or reference supersedes it
            return (serial == self._image_serial and self.reference is not None
                    and seq == self._metrics_seq.get(key))

        def done(values: tuple[float, float]) -> None:
            if current():
                self._metrics[key] = (values[0], values[1], note)
                self._update_metrics_text()
                self._check_settled()

        def failed(message: str) -> None:  # e.g. SSIM of an image under 11×11
            if current():
                self._metrics[key] = message.strip().splitlines()[-1] if message else "failed"
                self._update_metrics_text()
                self._check_settled()

        self.jobs.run(measure, done, failed)

    def _refresh_output_metrics(self) -> None:
        """Score the restored image, and the input at the same scale: a preview against the
        reference scaled to it, a full result at full resolution. (The input scored at full
        resolution beside a preview's score is no comparison: downscaling averages noise
        away, so the preview seemed to gain 0.24 SSIM where the full result gained 0.003.)"""
        if self.reference is None or self.image is None:
            return
        full_scale = "full resolution"
        if self._full_current():
            self._score_input(self.image.rgb, self.reference.rgb, full_scale)
            self._compute_metrics("output", self.full.restored, self.reference.rgb,
                                  full_scale, source=self.image.restorable)  # as the views mix
        elif self.preview is not None:
            out = self.preview.analysis.restored
            h, w = out.shape[:2]
            ref_rgb, image_rgb = self.reference.rgb, self.image.rgb
            ref = functools.cache(lambda: resize_to(ref_rgb, w, h))  # in the pool, once
            scale = f"{'draft' if self.preview.draft else 'preview'} {w}×{h}"
            if min(w, h) < SSIM_WINDOW:  # a panorama's preview: too thin for SSIM
                self._score_input(self.image.rgb, self.reference.rgb, full_scale)
                self._metrics_seq["output"] = self._metrics_seq.get("output", 0) + 1
                self._metrics["output"] = (f"the {scale} is under {SSIM_WINDOW} px a side; "
                                           "a full-resolution result is, once made")
                self._update_metrics_text()
                return
            src = self.preview.source
            if src is None or src.shape != out.shape:
                src = None  # scored without the strength; the input scaled as it is
            self._score_input((lambda: resize_to(image_rgb, w, h)) if src is None else src,
                              ref, scale)
            self._compute_metrics("output", out, ref, scale, source=src)
        else:
            self._score_input(self.image.rgb, self.reference.rgb, full_scale)

    def _score_input(self, rgb: Pixels, ref: Pixels, scale: str) -> None:
        """The input's score at ``scale``, unless it is asked for or known already."""
        if self._metrics_asked.get("input") != scale:
            self._compute_metrics("input", rgb, ref, scale)

    def _reference_is_input(self) -> bool:
        """Whether the reference is the open image's own file: two ``stat`` calls once per
        pair of paths, not on every metrics update (a network share makes each one slow)."""
        if self.image is None or self.reference is None:
            return False
        key = (self.reference.path, self.image.path)
        if self._same_cache is None or self._same_cache[0] != key:
            self._same_cache = (key, same_file(*key))
        return self._same_cache[1]

    def _update_metrics_text(self) -> None:
        self._update_actions()  # a reference loaded or cleared
        self.controls.metrics_label.setToolTip("")
        if self.reference is None:
            self.controls.set_metrics_text(
                "No reference image. File ▸ Load Reference… to measure PSNR and SSIM "
                "against a clean image.")
            return
        rows = []
        for key, label in (("input", "Input"), ("output", "Restored")):
            if isinstance(self._metrics.get(key), str):
                rows.append(f"<tr><td>{label}</td><td colspan='2'>could not be scored: "
                            f"{html.escape(self._metrics[key])}</td></tr>")
            elif key in self._metrics:
                p, s, note = self._metrics[key]
                note = f" <small>({html.escape(note)})</small>" if note else ""
                shown = "identical" if math.isinf(p) else f"{p:.2f} dB"  # not "inf dB"
                rows.append(f"<tr><td>{label}{note}</td><td align='right' {SCORE_GAP}>{shown}</td>"
                            f"<td align='right' {SCORE_GAP}>{s:.4f}</td></tr>")
            elif key == "output" and self.info is None and self.model_error:
                rows.append(f"<tr><td>{label}</td><td colspan='2'>— (no model)</td></tr>")
            else:
                rows.append(f"<tr><td>{label}</td><td colspan='2'>computing…</td></tr>")
        itself = " (the input itself)" if self._reference_is_input() else ""
        # The reference's name heads the table's first column, and the cells are padded
        # rather than spaced: the group had run below the fold of a 900-px-high window.
        self.controls.set_metrics_text(
            "<table cellspacing='0' cellpadding='2'><tr><th align='left' "
            f"style='font-weight: normal'>vs <b>{html.escape(short_name(self.reference.path))}"
            f"</b>{itself}</th><th {SCORE_GAP}>PSNR</th><th {SCORE_GAP}>SSIM</th></tr>"
            + "".join(rows) + "</table>")
        self.controls.metrics_label.setToolTip(str(self.reference.path))  # its name is cut

    # ================================================================== model
    def knobs(self) -> Knobs:
        return self.controls.knobs()

    def _show_model_knobs(self) -> None:
        """Show the chosen model's knobs: those the user left it at, else its weight file's
        (read from the file's metadata; the paper's if it has none)."""
        task, variant, path = self._chosen()
        cfg = stored_config(task, variant, path)
        self.controls.set_model_knobs(
            Knobs(cfg.t, cfg.delta, cfg.ea) if cfg is not None else Knobs())
        self.controls.set_knobs(self.settings.knobs(task, variant) or self.controls.model_knobs())
        self._reset_history()  # another model's knobs mean nothing to this one

    def _remember_knobs(self) -> None:
        """Keep the loaded model's knobs, all three, but only when they differ from its file's
        (so a replaced weight file brings its own values to a model the user never tuned)."""
        task, variant = self.controls.task(), self.controls.variant()
        if self.info is None or self._key(self.info) != self._chosen():
            return  # loading or missing: what the knobs show is not this model's yet
        knobs = self.controls.knobs()
        if knobs == self.controls.model_knobs():
            self.settings.clear_knobs(task, variant)
        else:
            self.settings.set_knobs(task, variant, knobs)

    def _remember_tile(self) -> None:
        """The tile setting: *Training crop* on or off, and the user's own size (not the crop
        shown while it is on: that is the model's, not a choice)."""
        self.settings.set_tile_auto(self.controls.tile_auto())
        self.settings.set_tile(self.controls.own_tile())

    def _chosen(self) -> tuple[str, str, Path | None]:
        """The model the controls ask for: task, variant and, for ``file``, its path."""
        variant = self.controls.variant()
        return (self.controls.task(), variant,
                self.controls.weight_file() if variant == FILE_VARIANT else None)

    @staticmethod
    def _key(info: ModelInfo) -> tuple[str, str, Path | None]:
        return (info.task, info.variant,
                info.weights if info.variant == FILE_VARIANT else None)

    def _load_model(self) -> None:
        task, variant, path = self._chosen()
        self.model_pending = True
        self.model_missing = False
        self.model_error = ""
        self.controls.set_model_status(f"Loading {task} weights…")
        self.engine.load(task, self.controls.device(), variant, path)

    def _on_loaded(self, info: ModelInfo) -> None:
        if self._key(info) != self._chosen():
            return
        # Another model, or the same file rewritten (a training run's snapshot) and read
        # again by a device switch: results from the old bytes are not this model's.
        changed_task = (self.info is None or self._key(self.info) != self._key(info)
                        or self.info.sha256 != info.sha256)
        self.info = info
        self.model_pending = False
        text, tip = model_summary(info)
        self.controls.set_model_status(text, tip=tip)
        self.maps.set_blocks(list(info.block_names))
        if changed_task:  # the knobs were shown at the switch; the file has the last word
            self.controls.set_model_knobs(Knobs(info.t, info.delta, info.ea))
            self.controls.set_auto_tile(info.train_crop or DEFAULT_TILE)
        self.maps_dock.widget().updateGeometry()  # the block names may widen the panel
        dropped, self._dropped_export = self._dropped_export, ""
        note, self._ready_note = self._ready_note, ""
        said = " · ".join(x for x in (dropped, note) if x)
        ready = f"{info.task} model ready on {info.device}"
        if said:
            self.notice(f"{ready} · {said}", 10000)
        elif not self._notice_showing():  # routine: it does not cover what an open noted
            self.statusBar().showMessage(ready, 4000)
        self._set_run_label()
        if changed_task:
            self._forget_results()
            self._preview_floor = self._preview_serial + 1
        self._show_output()
        self.request_preview()

    def _on_load_failed(self, task: str, variant: str, weights: str, message: str,
                        missing: bool) -> None:
        key = (task, variant, Path(weights) if weights else None)
        if key != self._chosen():
            return  # a load the user has since moved on from
        self.model_pending = False
        if not missing and self.info is not None and self._key(self.info) == key:
            # Moving the loaded model failed: it stays where it was.
            self.controls.device_combo.blockSignals(True)
            self.controls.set_device(self.info.device)
            self.controls.device_combo.blockSignals(False)
            self.settings.set_device(self.info.device)
            said = message.replace("; use --device cpu", "")  # the command line's advice
            self._error("Cannot switch device", f"{said}\n\nThe model stays on "
                        f"{self.info.device}.")
            self._advance_export()  # what waited for the switch goes on where it is
            self._advance_copy()
            self._idle.start()  # the switch cancelled the restore: it starts again when idle
            self._check_settled()
            return
        self.model_missing = missing
        self.model_error = message
        self._ready_note = ""  # about the model that did not load
        self.info = None
        if variant == FILE_VARIANT and self.settings.weight_file(task) == weights:
            # Not chosen again at the next start (it stays in this session's choice).
            self.settings.set_weight_file(task, "")
            self.settings.set_variant(task, "default")
        self._forget_results()
        self._preview_done = self._preview_serial
        if missing and variant != FILE_VARIANT:
            name = weight_spec(task, variant).path.name
            banner = (f"<b>No trained {task} weights</b><br>{html.escape(name)} is not "
                      "installed, so nothing is restored for this task (random weights never "
                      "run). Train them with <code>drcnet train</code>, or choose another task.")
            status = (f"No trained {task} weights are installed ({name} is missing): nothing "
                      "is restored for this task.")
        else:
            banner = f"<b>Could not load the {task} model</b><br>{html.escape(message)}"
            status = f"Could not load the {task} model: {message}"
        self.controls.set_model_status(banner, problem=True)
        self.maps.clear_maps(NO_MODEL_MAPS)
        self.viewer.set_ea(None, None, None, message="No model is loaded.")
        dropped, self._dropped_export = self._dropped_export, ""
        self.notice(status + (f" ({dropped})" if dropped else ""), 30000)
        self.run_label.setText("no model")
        self._show_output()
        self._check_settled()

    def _on_task_changed(self, task: str) -> None:
        self._weights_serial += 1  # an Open Weights still being checked is for another choice
        self.settings.set_task(task)
        self._show_model_knobs()
        self.controls.set_auto_tile(DEFAULT_TILE)  # until the new model says its crop
        self.cancel_restore(quiet=True)
        self._dropped_export = self._drop_export()  # said when the new model is ready
        self.info = None
        self._forget_results()
        self._preview_floor = self._preview_serial + 1
        self._load_model()
        self._show_output()
        if self.image is not None:  # not the last model's "done in 1.1 s"
            self.statusBar().showMessage(f"Loading the {task} model…")

    def _on_variant_changed(self, variant: str) -> None:
        self.settings.set_variant(self.controls.task(), variant)
        self._on_task_changed(self.controls.task())  # another model: as a task change

    def _keep_device_choice(self) -> None:
        if self._device_kept:
            self._device_kept = ""
            self.settings.set_device(self.controls.device())

    def _on_device_changed(self, device: str) -> None:
        self._device_kept = ""  # the user's own choice now
        self._weights_serial += 1  # an Open Weights checked for the last choice is stale
        self.settings.set_device(device)
        self.cancel_restore(quiet=True)
        self.model_pending = True
        task, variant, path = self._chosen()
        self.engine.load(task, device, variant, path)

    def _on_knobs_changed(self, knobs: Knobs) -> None:
        self._remember_knobs()
        if self._ea_job is not None and self._ea_job.knobs != knobs:
            self._drop_ea_area()
        self._gave_way = False  # a restore for other knobs is not owed
        if self._restore_job is not None and self._restore_job.knobs != knobs:
            self.cancel_restore(quiet=True)
        now = time.monotonic()
        dragging = self.controls.dragging() or (
            now - self._last_knob_change) * 1000 < DRAG_GAP_MS
        self._last_knob_change = now
        if self.statusBar().currentMessage().startswith("Full-resolution restore done"):
            self.statusBar().clearMessage()  # that result no longer matches the knobs
        self.request_preview(draft=dragging)

    def _on_drag_finished(self) -> None:
        if self._latest_draft:
            self.request_preview()

    def _on_sharpen(self) -> None:
        # The knobs have rested for SHARPEN_MS (handle released or merely held still).
        if self._latest_draft:
            self.request_preview()
        self._check_settled()

    def _on_run_changed(self) -> None:
        if self._restore_job is not None and not self._same_output(self._restore_job.tiles):
            self.cancel_restore(quiet=True)  # e.g. best quality turned off: stop the 8 views
        self._sync_area()
        self._remember_tile()
        self.settings.set_auto_refine(self.controls.auto_refine())
        self.settings.set_ensemble(self.controls.ensemble() > 1)
        self.settings.set_repair(self.controls.repair())
        size = self.controls.preview_size()
        self.settings.set_preview_size(size)
        repair_changed = self._preview_repair != self.controls.repair()
        if self.image is not None and self.small is not None and (repair_changed or max(
                self.small.shape[:2]) != min(size, max(self.image.rgb.shape[:2]))):
            self.small = downscale(self.image.restorable, size)
            self.preview = None
            self.request_preview()
        elif self.image is not None and self.info is not None and not self._full_current():
            if self._preview_is_full():
                self.request_preview()  # the one-pass preview is the full result again
            else:
                self._idle.start()  # tiling changed: refine again once the user settles
        self._set_run_label()
        # A waiting export or copy needs a restore with the new settings even when the
        # window does not refine by itself.
        self._advance_export()
        self._advance_copy()
        self._check_settled()

    def _icc(self) -> bytes | None:
        """The open photo's colour profile: what its pixels mean, for the views (to_qimage)."""
        return self.image.icc if self.image is not None else None

    def _forget_results(self) -> None:
        """Drop the preview and full results and the images made of them (a new image,
        task or model)."""
        self.preview = self.full = None
        self._preview_qimage = self._full_qimage = None
        self._full_mix = None
        self._area = self._area_image = None
        self._drop_ea_area()
        self._ea_area = self._ea_failed = self._ea_gain = None
        self._ea_source = ""
        self._gave_way = False
        # Their scores and maps go with them (the new model's come with its first preview).
        self._metrics.pop("output", None)
        self._metrics_seq["output"] = self._metrics_seq.get("output", 0) + 1
        self._update_metrics_text()
        self._clear_maps()
        # Not the old model's pair; with no model coming, its "No model is loaded." stays.
        self.viewer.set_ea(None, None, None, message=EA_PENDING if self._model_coming() else "")

    def _model_coming(self) -> bool:
        """Whether a model is loaded or loading, so that previews (and their maps) come."""
        return self.info is not None or self.model_pending

    def _clear_maps(self) -> None:
        """Empty the Maps panel, saying why: maps come with the next preview, or, with no
        model loaded or coming, none will (it had said they would after a failed load)."""
        if self._model_coming():
            self.maps.clear_maps()
        else:
            self.maps.clear_maps(NO_MODEL_MAPS)

    # ================================================================== undo
    def _tuned(self) -> tuple[Knobs, float]:
        return self.controls.knobs(), self.controls.strength()

    def _tuned_changed(self, _: object = None) -> None:
        self._history_timer.start()  # recorded once the changes pause
        self._update_history_actions()

    def _reset_history(self) -> None:
        """The chosen model's history: its own steps when it was tuned before in this
        session (another model's knobs mean nothing to it), else a new one."""
        self._history_timer.stop()
        key = self._chosen()
        history = self._histories.get(key)
        if history is None:
            history = self._histories[key] = History()
            history.reset(self._tuned())
        else:
            history.record(self._tuned())  # nothing, when it is as the user left it
        self.history = history
        self._update_history_actions()

    def _on_history_timer(self) -> None:
        if self.controls.dragging():
            self._history_timer.start()  # a drag held still is not over: one step in all
            return
        self._record_history()

    def _record_history(self) -> None:
        self._history_timer.stop()
        self.history.record(self._tuned())
        self._update_history_actions()

    def _update_history_actions(self) -> None:
        self.undo_action.setEnabled(self.history.can_undo() or self._history_timer.isActive())
        self.redo_action.setEnabled(self.history.can_redo())

    def undo(self) -> None:
        """Go back to the knobs and strength before the last change."""
        if self._history_timer.isActive():
            self._record_history()  # a change still settling is the step undone
        self._apply_tuned(self.history.undo())

    def redo(self) -> None:
        self._apply_tuned(self.history.redo())

    def _apply_tuned(self, state: tuple[Knobs, float] | None) -> None:
        if state is not None:
            knobs, strength = state
            if knobs != self.controls.knobs():
                self.controls.set_knobs(knobs, notify=True)
            if strength != self.controls.strength():
                self.controls.set_strength(strength, notify=True)
            self._history_timer.stop()  # what those changes restart: not a new step
        self._update_history_actions()

    # ================================================================== strength
    def strength(self) -> float:
        """The share of the restoration shown, measured and written (1: all of it)."""
        return self.controls.strength()

    def _strength_caption(self) -> str:
        s = self.strength()
        return "" if s == 1.0 else f" · strength {s * 100:.0f} %"

    def _preview_output(self, result: PreviewResult) -> np.ndarray:
        """The preview's restored image at the current strength."""
        restored = result.analysis.restored
        if result.source is None or result.source.shape != restored.shape:
            return restored
        return apply_strength(result.source, restored, self.strength())

    def _on_strength_changed(self, strength: float) -> None:
        """Mix again what is already restored; the model does not run."""
        self.settings.set_strength(strength)
        if self.preview is not None:
            self._preview_qimage = to_qimage(self._preview_output(self.preview), self._icc())
            if self.full is not None and self.full.restored is self.preview.analysis.restored:
                self._full_qimage = self._preview_qimage  # the preview is the full result
                self._full_mix = (self.full, strength)
        self._remix_full()
        self._show_output()
        self._show_ea_area()  # its label says the pair is at full strength
        self._refresh_output_metrics()
        self._check_settled()

    def _full_shows(self, strength: float) -> bool:
        """Whether the full-resolution image shown is the current full result at
        ``strength``."""
        return (self._full_mix is not None and self._full_mix[0] is self.full
                and self._full_mix[1] == strength)

    def _remix_full(self) -> None:
        """Make the full-resolution image shown at the current strength, in the pool: a
        12-megapixel mix takes a noticeable moment. One at a time; when one ends and the
        strength has moved on, the next starts."""
        full, image, strength = self.full, self.image, self.strength()
        if self._mixing or full is None or image is None or self._full_shows(strength):
            return
        if strength == 1.0 and full.qimage is not None and full.qimage_strength == 1.0:
            self._full_qimage, self._full_mix = full.qimage, (full, 1.0)
            return
        self._mixing = True

        def done(qimage: QImage) -> None:
            self._mixing = False
            if self.full is full:
                self._full_qimage, self._full_mix = qimage, (full, strength)
                self._show_output()
            self._remix_full()
            self._advance_copy()
            self._check_settled()

        def failed(message: str) -> None:
            self._mixing = False
            if self.full is full and self._full_mix is not None:
                # Go back to the strength on screen, so that exports, the readout and the
                # metrics describe what is shown.
                shown = self._full_mix[1]
                self.controls.set_strength(shown)
                self._on_strength_changed(shown)
                self._record_history()  # the strength on screen is where Undo starts from
                self.statusBar().showMessage(
                    f"Could not apply a strength of {strength * 100:.0f} % to the full-"
                    f"resolution result ({message}); it stays at {shown * 100:.0f} %", 10000)
            else:
                self._remix_full()
            self._check_settled()

        self.jobs.run(lambda: to_qimage(apply_strength(image.restorable, full.restored, strength),
                                        image.icc), done, failed)

    # ================================================================== preview
    def _wants_maps(self) -> bool:
        return self._maps_on_screen() or self._overlay_on() or (
            any(r.layout == "sheet" for r in self._exports)) or self._maps_export is not None

    def _maps_on_screen(self) -> bool:
        # A panel that is a tab behind another is "visible" to Qt, though off the screen; its
        # visibilityChanged says so (docked, tabbed or floating alike).
        return self.maps_dock.isVisible() and self._maps_shown

    def _overlay_on(self) -> bool:
        # The overlay stays while the Maps panel is open, even as a tab behind another, so
        # the knobs can be moved with the overlay in view.
        return (self.maps_dock.isVisible() and self.maps.overlay_enabled())

    def _wants_ea(self) -> bool:
        return self.viewer.mode() == "ea" or (
            any(r.layout == "sheet" for r in self._exports))

    def _draft_image(self) -> np.ndarray | None:
        """The half-size copy of the preview image used while dragging (``None``: too small
        to be worth it)."""
        if self.small is None:
            return None
        if self._draft is None or self._draft[0] is not self.small:
            self._draft = (self.small, draft_of(self.small))
        return self._draft[1]

    def request_preview(self, draft: bool = False) -> None:
        """Ask for a preview with the current knobs (coalesced with any not yet started).
        ``draft``: a half-size preview, quick enough to follow a dragged slider; the
        full-size one is requested :data:`SHARPEN_MS` after the last draft."""
        if self.image is None or self.small is None or self.info is None:
            self._check_settled()
            return
        rgb = self._draft_image() if draft else None
        draft = rgb is not None
        self._preview_repair = self.controls.repair()
        self._preview_serial = self.engine.preview(
            rgb if draft else self.small, self.knobs(), probe=self._wants_maps(),
            ea_compare=self._wants_ea(), draft=draft, repair=self._preview_repair)
        self._latest_draft = draft
        if draft:
            self._sharpen.start()
        else:
            self._sharpen.stop()
        self._was_settled = False
        self._idle.start()
        self.run_label.setText("updating preview…")

    def _on_preview(self, result: PreviewResult) -> None:
        self._preview_done = max(self._preview_done, result.serial)
        if result.serial < self._preview_floor or self.image is None:
            self._check_settled()
            return
        self.preview = result
        a = result.analysis
        h, w = a.restored.shape[:2]
        self._preview_qimage = to_qimage(self._preview_output(result), self._icc())
        if (self._preview_is_full() and a.knobs == self.knobs() and not result.draft
                and result.repair == self.controls.repair()
                and a.restored.shape == self.image.rgb.shape):  # not made for an old Preview
            # size (a larger size chosen while it ran makes the photo its own preview)
            self.full = RestoreResult(result.serial, a.knobs, a.restored, a.seconds,
                                      result.device, self._tiles(),
                                      precision=self.info.precision, range=a.range)
            self._full_qimage = self._preview_qimage
            self._full_mix = (self.full, self.strength())
        if a.maps:
            source = f"from the {w}×{h} {'draft' if result.draft else 'preview'}"
            if a.range is not None and a.range.repaired:  # the maps are the repair pass's
                source += (f", restored again with colours ×{a.range.repaired[0].colour:g} "
                           "towards gray (the repair)")
            self.maps.set_maps(a.maps, a.knobs.t, source)
        if a.with_ea is not None and a.without_ea is not None:
            diff, gain = amplified_difference(a.with_ea, a.without_ea)
            mad = float(np.abs(a.with_ea - a.without_ea).mean())
            source = {
                NOEA_TRAINED: "Without EA: <b>trained no-EA weights</b>",
                NOEA_BUILT: "Without EA: <b>these weights, trained without EA</b> (with EA: "
                            "attention they never trained with)",
            }.get(a.without_ea_source, "Without EA: <b>EA's spatial selection removed on "
                  "the same weights</b> (no trained no-EA weights installed)")
            self._ea_gain = gain
            nb = NBSP  # a narrow window wraps between the parts, never inside one
            wj = "\u2060"  # nor after a "|", where Qt's line breaking allows one
            self._ea_source = (f"{source} · t{nb}{a.knobs.t:.2f} · "
                               f"δ{nb}{format_delta(a.knobs.delta)} · "
                               f"mean{nb}|{wj}difference{wj}|{nb}{mad:.4f} · "
                               f"{'draft' if result.draft else 'preview'}{nb}{w}×{h}")
            self.viewer.set_ea(
                to_qimage(a.with_ea, self._icc()), to_qimage(a.without_ea, self._icc()),
                to_qimage(diff),
                ("With EA", "Without EA", f"|difference| × {gain:g}"), self._ea_caption())
            if not result.draft:
                self._ea_timer.start()
        self._show_output()
        self._set_run_label(f"{'draft' if result.draft else 'preview'} {a.seconds:.2f} s")
        if not result.draft:
            self._note_preview_speed(a.seconds, max(h, w))
        self._refresh_output_metrics()
        self.previewShown.emit()
        # A view that needed maps or the EA pair may have opened while this was computed.
        if (self._wants_maps() and not a.maps) or (self._wants_ea() and a.with_ea is None):
            if result.serial >= self._preview_serial:
                self.request_preview()
        self._advance_export()
        self._advance_maps_export()
        self._advance_copy()
        self._check_settled()

    def _note_preview_speed(self, seconds: float, side: int) -> None:
        """Once a session: say that a smaller preview size answers sooner on this machine."""
        slow = seconds > SLOW_PREVIEW_S and side > min(PREVIEW_SIZES)
        self._slow_previews = self._slow_previews + 1 if slow else 0
        if self._slow_previews >= 2 and not self._slow_hint_given:
            self._slow_hint_given = True
            smaller = max(s for s in PREVIEW_SIZES if s < side)
            self.notice(  # held: a restore's tile lines had covered it within 2 s
                f"Previews take {seconds:.1f} s here"
                + (f" ({self.info.device})" if self.info else "")
                + f"; a smaller Preview size in the Run group ({smaller} px: about "
                f"{(smaller / side) ** 2 * seconds:.1f} s) answers sooner.", 15000, hold=10)

    def _on_preview_failed(self, serial: int, message: str) -> None:
        self._preview_done = max(self._preview_done, serial)
        if serial >= self._preview_serial:
            # The maps they wait for will not come: a maps export had stayed armed, and been
            # written by a later preview, with other knobs, unasked; a summary sheet had
            # waited for ever, holding the exports behind it.
            # Only a sheet at the head of the queue waits for this preview; one behind it
            # asks for its own when its turn comes.
            head = self._exports[0] if self._exports and not self._exporting else None
            sheets = [head.path.name] if head is not None and head.layout == "sheet" else []
            dropped = ([self._maps_export.name] if self._maps_export is not None else []) \
                + sheets
            if dropped:
                self._maps_export = None
                if sheets:
                    self._exports.pop(0)
                    self._update_cancel_tip()  # a restore's Cancel no longer drops it
                self._close_after_exports = False  # the user reads why, and decides again
                title = ("Export Maps failed" if not sheets else
                         "Export failed" if len(dropped) == 1 else "Exports failed")
                self._error(title, f"The preview failed: {message}\n\n"
                            f"Not written, as {'it needs' if len(dropped) == 1 else 'they need'}"
                            f" the preview's maps: {', '.join(dropped)}.")
                self._advance_export()  # those behind a sheet go on
        if self.info is not None:  # else a load failed, and its banner and notice say why
            self.notice(f"Preview failed: {message}", 10000)
        self._check_settled()

    def _preview_is_full(self) -> bool:
        """Whether the preview already is the full-resolution result (small images, one
        view)."""
        if self.image is None or self.small is None or self.controls.ensemble() > 1:
            return False
        side = max(self.image.rgb.shape[:2])
        tile = self.controls.tile()
        return self.small.shape == self.image.rgb.shape and (tile == 0 or side <= tile)

    def _tiles(self) -> TileConfig:
        tile = self.controls.tile()
        if self.image is not None and one_pass(*self.image.rgb.shape[:2], tile):
            tile = self._one_pass_fallback() or tile  # would be refused: tiles that cut it up
        return TileConfig(tile=tile, overlap=overlap_for(tile), ensemble=self.controls.ensemble(),
                          repair=self.controls.repair())

    def _one_pass_fallback(self) -> int | None:
        """The tile to use instead of one pass over the open image (Tile: whole image, or
        one as large) when that would not fit in the free memory (drcnet.inference.
        tile_that_fits), or None; asked once per image, model and device, and said once in
        the status bar. The core refuses such a pass, and the GUI restored it again on every
        knob move, each time with an error box; it restores in tiles instead."""
        if self.image is None or self.info is None:
            return None
        h, w = self.image.rgb.shape[:2]
        key = (self._image_serial, self.info.device, self.info.wf, h, w)
        if self._one_pass_checked[0] != key:
            tile, problem = tile_that_fits(h, w, 0, self.info.wf, self.info.device,
                                           self.info.train_crop or DEFAULT_TILE)
            self._one_pass_checked = (key, tile if problem else None)
            if problem is not None:
                self.notice(f"{problem}, so it is restored in {tile}-px tiles", 10000)
        return self._one_pass_checked[1]

    def _refit_one_pass(self, tiles: TileConfig) -> bool:
        """After a failed one pass over the open image: ask again whether it fits in the
        free memory (the answer is kept per image) and True when it now does not, so tiles
        are used from now on (:meth:`_one_pass_fallback` says so)."""
        if self.image is None or self.info is None:
            return False
        h, w = self.image.rgb.shape[:2]
        if not one_pass(h, w, tiles.tile) or self._one_pass_checked[1] is not None:
            return False
        self._one_pass_checked = (None, None)
        return self._one_pass_fallback() is not None

    def _same_output(self, tiles: TileConfig) -> bool:
        """Whether a restore with ``tiles`` gives what the current settings would: the
        same settings, or both one pass over this image with the same views."""
        now = self._tiles()
        if tiles == now:
            return True
        if self.image is None or tiles.ensemble != now.ensemble or tiles.repair != now.repair:
            return False
        h, w = self.image.rgb.shape[:2]
        return one_pass(h, w, tiles.tile) and one_pass(h, w, now.tile)

    def _full_current(self) -> bool:
        return self.full is not None and self.full.knobs == self.knobs() and (
            self.info is None or self.full.precision == self.info.precision) and (
            self._same_output(self.full.tiles)
            or (self._preview_is_full() and self.full.tiles.ensemble == 1
                and self.full.tiles.repair == self.controls.repair()))

    def _update_actions(self) -> None:
        """Grey out what needs an image (or a reference, or a model) while there is none, as
        Undo and Open Recent are: some said 'Open an image first', some did nothing."""
        has = self.image is not None
        for a in (self.next_action, self.prev_action, self.reference_action,
                  self.export_action, self.export_maps_action, self.copy_action,
                  self.fit_action, self.zoom100_action, self.zoom_in_action,
                  self.zoom_out_action, self.compare_toggle,
                  *self.mode_actions.values()):
            a.setEnabled(has)
        self._check_mode_action()
        self.maps.export_button.setEnabled(has)
        self.clear_reference_action.setEnabled(self.reference is not None)
        self._update_restore_action()

    def _restore_idle_reason(self) -> str:
        """Why a full-resolution restore would do nothing now ("" when it would do
        something): one with these settings runs, or its result is shown already."""
        if self.image is None or self.info is None:
            return "Needs an image and a loaded model"
        if self._restore_running_as_asked():
            return "Restoring at full resolution now (Esc cancels)"
        if self._full_current():
            return "The result shown is at full resolution for these settings already"
        return ""

    def _restore_running_as_asked(self) -> bool:
        """Whether the running restore is one with the current settings (one being
        cancelled does not count)."""
        job = self._restore_job
        return (job is not None and job.serial != self._cancelling
                and job.knobs == self.knobs() and self._same_output(job.tiles))

    def _update_restore_action(self) -> None:
        """*Restore Full Resolution* and its button are offered only when they would do
        something: the button had stayed on during a restore, clicking to nothing, and run
        the same restore again once it was shown."""
        why = self._restore_idle_reason()
        self.restore_action.setEnabled(not why)
        # Cancel Restore as its button: it had been offered with nothing running, and did
        # nothing.
        self.cancel_action.setEnabled(self._restore_job is not None
                                      and self._cancelling != self._restore_job.serial)
        self._update_cancel_tip()  # a tooltip naming the last restore's export had stayed
        self.restore_action.setToolTip(why or RESTORE_TIP)
        self.controls.set_restore_possible(not why, why)  # its button

    def _show_output(self) -> None:
        self._update_actions()
        if self.image is None:
            return
        task = self.controls.task()
        self._show_range(None)  # the branch that shows a result says whether it is out
        area = None  # the focus area done at full resolution, over a preview
        if self.model_missing or (self.model_error and self.info is None):
            self.viewer.set_output(None, caption="", message=(
                f"No trained {task} weights are installed.\nNothing is restored for this "
                f"task until they are trained (random weights never run)."
                if self.model_missing else f"The {task} model could not be loaded:\n"
                f"{self.model_error}"), problem=True)
        elif self._full_current():
            stale = "" if self._full_shows(self.strength()) else " · updating…"
            self.viewer.set_output(self._full_qimage,
                                   f"Restored · full resolution · {knob_caption(self.full.knobs)}"
                                   f"{self._strength_caption()}{stale}")
            self._show_range(self.full.range, self.full.restored.shape[:2])
            self.restoreShown.emit()
        elif self.preview is not None:
            a = self.preview.analysis
            area = self._current_area()
            self.viewer.set_output(self._preview_qimage, self._preview_caption(area))
            self._show_range(a.range, a.restored.shape[:2])
        else:
            self.viewer.set_output(None, caption="", message=(
                f"Loading {task} weights…" if self.info is None else "Restoring…"))
        self._show_area(area)
        self._show_ea_area()
        self._update_overlay()
        self._on_hover(*self._hover)

    # ================================================================== focus area
    def _update_focus(self) -> None:
        """Tell a full-resolution restore which area to do first: the one in view, when the
        view shows it at more than the preview's resolution (none otherwise)."""
        box = self._zoomed_box(self.viewer.visible_area())
        self._focus_box = box  # one assignment: the worker thread reads it between tiles
        if self.viewer.mode() == "ea":
            self._show_ea_area()  # its label claims the view only while the piece covers it
            self._ea_timer.start()

    def _zoomed_box(self, area: QRect, share: float = 1.0) -> Box | None:
        """``area`` (image pixels in view) as a box when the view shows it at more than
        :data:`FOCUS_GAIN` times the preview's resolution and it is at most ``share`` of the
        image; else ``None``."""
        if self.image is None or self.small is None or area.isEmpty():
            return None
        h, w = self.image.rgb.shape[:2]
        if (self.viewer.screen_scale() <= self.small.shape[1] / w * FOCUS_GAIN
                or area.width() * area.height() > share * h * w):
            return None
        return (area.y(), area.x(), area.height(), area.width())

    def _preview_caption(self, area: AreaDone | None) -> str:
        """The caption over a preview, with the finished focus area ``area``: "full
        resolution in view" only while that area covers the view (panned on, the view shows
        the stretched preview until the new area is done)."""
        assert self.preview is not None
        a = self.preview.analysis
        h, w = a.restored.shape[:2]
        stale = "" if a.knobs == self.knobs() else " · updating…"
        kind = "draft" if self.preview.draft else "preview"
        shows = f"{kind} {w}×{h}"
        if area is not None:
            y, x, ah, aw = area.box
            view = self.viewer.visible_area()
            covers = not view.isEmpty() and QRect(x, y, aw, ah).contains(view)
            shows = (f"full resolution in view, {shows} elsewhere" if covers else
                     f"{shows}, full resolution in part")
        return (f"Restored · {shows} · {knob_caption(a.knobs)}{self._strength_caption()}"
                f"{stale}")

    def _update_preview_caption(self) -> None:
        """As the view moves: whether the focus area still covers it."""
        area = self._current_area()
        if area is not None and self.preview is not None and not self._full_current():
            self.viewer.set_output_caption(self._preview_caption(area))

    def _current_area(self) -> AreaDone | None:
        """The focus area the running restore has finished, if it restores what the
        settings ask for."""
        job = self._restore_job
        if self._area is None or job is None or self._area[0] is not job:
            return None
        if job.knobs != self.knobs() or not self._same_output(job.tiles):
            return None
        return self._area[1]

    def _on_area(self, serial: int, area: AreaDone | None) -> None:
        """The running restore finished the area in view (``None``: it started again after
        running out of memory, so what it handed over no longer holds)."""
        job = self._restore_job
        if job is None or serial != job.serial or self.image is None:
            return
        self._area = (job, area) if area is not None else None
        self._show_output()

    def _sync_area(self) -> None:
        """Take the area off the view once it no longer belongs to the restore running for
        the current settings (cancelled, failed, other tiles)."""
        if self.viewer.has_detail() and self._current_area() is None:
            self._show_output()

    def _show_area(self, area: AreaDone | None) -> None:
        """Draw ``area`` over the preview at the current strength; made in the pool, so the
        view shows it once it is ready (an older image of the same area meanwhile)."""
        made = self._area_image
        if area is None or self.image is None:
            self.viewer.set_detail(None, None)
            return
        if made is not None and made[3] is self._restore_job:
            # This area, or one the same restore finished before (its pixels still hold).
            y, x, h, w = made[1].box
            if self.viewer.detail_image() is not made[0]:
                self.viewer.set_detail(QRect(x, y, w, h), made[0])
        else:
            self.viewer.set_detail(None, None)
        if made is None or made[1] is not area or made[2] != self.strength():
            self._mix_area()

    def _mix_area(self) -> None:
        area, image, strength = self._current_area(), self.image, self.strength()
        job = self._restore_job
        if self._area_mixing or area is None or image is None or job is None:
            return
        self._area_mixing = True
        y, x, h, w = area.box
        icc = self._icc()

        def done(qimage: QImage) -> None:
            self._area_mixing = False
            if self._current_area() is area:
                self._area_image = (qimage, area, strength, job)
            if self._current_area() is not None:
                self._show_output()  # mixes again if the area or the strength moved on
            self._check_settled()

        def failed(message: str) -> None:
            self._area_mixing = False
            self.notice(f"Could not show the area in view: {message}", 8000)
            self._check_settled()

        self.jobs.run(lambda: to_qimage(apply_strength(image.restorable[y : y + h, x : x + w],
                                                       area.pixels, strength), icc),
                      done, failed)

    def _show_range(self, report: RangeReport | None,
                    source_hw: tuple[int, int] | None = None) -> None:
        """The banner over the views, and outlines on the result, when the shown result is
        outside what the model was trained on (drcnet.range_check); nothing otherwise."""
        if report is None or not report.any_marks or self.image is None:
            self.viewer.set_warning("")
            self.viewer.set_marks([])
            return
        n, total = len(report.flagged), len(report.tiles)
        where = (f"{n} of {total} tiles of the full-resolution restore" if total > 1
                 else "this image")
        # Amber round what is still out of range, blue round what the repair brought back.
        self.viewer.set_marks(*marked_boxes(report, self.image.rgb.shape[:2], source_hw))
        numbers = (f"(activation peak {peak_text(report.peak)}; its limit is "
                   f"{peak_text(report.limit)})")
        task = self.controls.task()
        if not report.out_of_range:  # everything over the limit was repaired
            fixed = len(report.repaired)
            where = (f"{fixed} of {total} tiles of the full-resolution restore" if total > 1
                     else "this image")
            what = ("Those tiles were restored again with their colours" if fixed > 1 else
                    "That tile was restored again with its colours" if total > 1 else
                    "It was restored again with its colours")
            self.viewer.set_warning(
                f"<b>Repaired.</b> Something in {where} (outlined in blue) drove the {task} "
                f"model outside what its training photos did (activation peak "
                f"{report.first_peak_text()}; its limit is {peak_text(report.limit)}), which "
                f"breaks it into blocky, wrongly coloured patches. Strongly saturated colours "
                f"are the known cause. {what} pulled towards gray and the colour put back; "
                f"check the outlined areas. <i>Repair out-of-range areas</i> (Run) turns this "
                f"off.")
            return
        # What the user can act on: the switch is off, it did not help, or it did not try
        # (this model repairs only past a multiple of its limit; gray tiles never); and the
        # other outlines, when some tiles were repaired.
        tried = [t for t in report.flagged if t.tried]
        above = repair_above(self.info.task) if self.info is not None else 1.0
        repair = (" <i>Repair out-of-range areas</i> (Run) is off; turning it on may fix this."
                  if not self.controls.repair() else
                  " <i>Repair out-of-range areas</i> (Run) did not bring "
                  f"{'them' if len(tried) > 1 else 'it'} back." if len(tried) == n else
                  " <i>Repair out-of-range areas</i> (Run) left "
                  f"{'them' if n > 1 else 'it'} as {'they are' if n > 1 else 'it is'}: it "
                  f"restores a tile again only past {above:g}× the limit for this model, and "
                  "never a gray one." if not tried else
                  f" <i>Repair out-of-range areas</i> (Run) did not bring {len(tried)} of "
                  f"them back and left the others as they are.")
        if report.repaired:
            fixed = len(report.repaired)
            repair += (f" {fixed} other tile{'s' if fixed > 1 else ''} (outlined in blue) "
                       f"{'were' if fixed > 1 else 'was'} restored again with colours pulled "
                       f"towards gray, which brought {'them' if fixed > 1 else 'it'} back.")
        if report.mild:
            self.viewer.set_warning(
                f"<b>At the edge of what this model was trained on.</b> Something in {where} "
                f"(outlined in amber) drives the {task} model a little beyond its training "
                f"photos {numbers}. Check those areas for faint stripes or colour fringes."
                + repair)
            return
        self.viewer.set_warning(
            f"<b>Outside what this model was trained on.</b> Something in {where} (outlined "
            f"in amber) drives the {task} model far beyond anything its training photos did "
            f"{numbers}. "
            f"Expect blocky, wrongly coloured patches there. Strongly saturated colours are "
            f"the known cause (see the model card)." + repair)

    def _update_overlay(self) -> None:
        arr = self.maps.overlay_array() if self._overlay_on() else None
        if arr is None:
            self.viewer.set_overlay(None)
        else:
            self.viewer.set_overlay(to_qimage(arr), self.maps.opacity(),
                                    self.maps.overlay_caption())

    def _on_maps_visibility(self, visible: bool) -> None:
        self._maps_shown = visible
        self._update_overlay()
        if visible and self.preview is not None and not self.preview.analysis.maps:
            # What the panel holds is from an earlier preview (other knobs, say): not shown
            # as if current while this one's maps are computed.
            if self.maps.maps():
                self.maps.clear_maps()
            self.request_preview()

    # ================================================================== view
    def set_view_mode(self, mode: str) -> None:
        self.viewer.set_mode(mode)
        self._check_mode_action()
        self.style_combo.setEnabled(mode == "compare")

    def _check_mode_action(self) -> None:
        """Check the view's mode among the mode actions, or none while no image is open: a
        greyed-out Compare drawn checked read as on. The viewer keeps the mode, so the view
        shown once an image opens is the same, and its action is checked then."""
        has = self.image is not None
        for mode, a in self.mode_actions.items():
            a.setChecked(has and mode == self.viewer.mode())

    def toggle_compare(self) -> None:
        self.set_view_mode("after" if self.viewer.mode() == "compare" else "compare")

    def set_compare_style(self, style: str) -> None:
        self.viewer.set_compare_style(style)
        self.style_actions[style].setChecked(True)
        i = self.style_combo.findData(style)
        if i != self.style_combo.currentIndex():
            self.style_combo.setCurrentIndex(i)

    def _on_mode_changed(self, mode: str) -> None:
        self._check_mode_action()
        self.style_combo.setEnabled(mode == "compare")
        self.maps.set_overlay_available(mode != "ea", EA_NO_OVERLAY)
        if mode == "ea" and self.preview is not None and self.preview.analysis.with_ea is None:
            # The EA pair first: a full-resolution restore, which this view does not show,
            # gives way (it would hold the preview back) and starts again when idle.
            if self._restore_job is not None:
                self.cancel_restore(quiet=True)
                self._gave_way = True
            self.request_preview()
        elif mode != "ea" and self._ea_job is not None:
            self._drop_ea_area()  # not shown any more
            self._idle.start()

    def _on_hover(self, x: int, y: int) -> None:
        self._hover = (x, y)
        if self.image is None or not (0 <= x < self.image.rgb.shape[1]
                                      and 0 <= y < self.image.rgb.shape[0]):
            self._set_pixel_text("")  # off the image, or a position on the last one
            return
        scale = 65535 if self.image.bit_depth == 16 else 255
        width = 5 if scale == 65535 else 3

        def fmt(v: np.ndarray) -> str:
            return " ".join(f"{round(float(c) * scale):{width}d}" for c in v)

        text = f"x {x:5d}  y {y:5d}   in {fmt(self.image.rgb[y, x])}"
        panel = self.viewer.hovered_panel()
        if panel:  # an EA ± panel: its own values, not the restored image's
            pair = self._ea_pixel(x, y)
            if pair is not None:
                with_ea, without_ea = pair
                value, name = {"with": (with_ea, "with EA"), "without": (without_ea, "without EA"),
                               "diff": (np.abs(with_ea - without_ea), "|difference|")}[panel]
                text += f"   {name} {fmt(value)}"
            self._set_pixel_text(text)
            return
        out = src = None
        full = self._full_current()
        area = None if full else self._current_area()
        if full:  # strength mixes with what the network saw, as the views and writers do
            out, src = self.full.restored[y, x], self.image.restorable[y, x]
        elif area is not None and (0 <= y - area.box[0] < area.box[2]
                                   and 0 <= x - area.box[1] < area.box[3]):
            out, src = area.pixels[y - area.box[0], x - area.box[1]], self.image.restorable[y, x]
        elif self.preview is not None:
            r = self.preview.analysis.restored
            py, px = self._preview_pixel(x, y, r.shape)
            out = r[py, px]
            if self.preview.source is not None and self.preview.source.shape == r.shape:
                src = self.preview.source[py, px]
        if out is not None and src is not None:
            out = apply_strength(src, out, self.strength())  # the value shown
        if out is not None:
            text += f"   out {fmt(out)}"
        if self.image.alpha is not None:  # kept by every output; a transparent pixel shows
            text += f"   alpha {fmt(self.image.alpha[y, x, None])}"  # as the checkerboard
        self._set_pixel_text(text)

    def _preview_pixel(self, x: int, y: int, shape: tuple[int, ...]) -> tuple[int, int]:
        """(row, column) in a preview-sized array of ``shape`` of image pixel (x, y)."""
        h, w = self.image.rgb.shape[:2]
        return min(shape[0] - 1, y * shape[0] // h), min(shape[1] - 1, x * shape[1] // w)

    def _set_pixel_text(self, text: str) -> None:
        # Empty, the readout gives its room to the status messages (its fixed width keeps
        # the figures still while the pointer moves over the image).
        self.pixel_label.setText(text)
        self._fit_status()

    def _announce_probe(self, x: int, y: int) -> None:
        """A key moved the pixel probe: a screen reader says its reading (only then, not on
        every refresh of the readout, which would talk over a slider being moved). Qt has
        announcements from 6.8; before it the readout is shown only."""
        text = self.pixel_label.text()
        announcement = getattr(QtGui, "QAccessibleAnnouncementEvent", None)
        if text and announcement is not None and self._hover == (x, y) \
                and QAccessible.isActive():
            canvas = QApplication.focusWidget() or self.viewer
            QAccessible.updateAccessibility(announcement(canvas, text))

    def _fit_status(self) -> None:
        """Show the pixel readout unless it would cut the status message short: in a narrow
        window a long message (a restore's summary, a notice) wins while it stands, and the
        readout, still kept up to date, comes back when the message goes."""
        text = self.pixel_label.text()
        message = self.statusBar().currentMessage()
        fits = True
        if text and message:
            bar = self.statusBar()
            others = sum(x.sizeHint().width() + 6 for x in (self.zoom_label, self.run_label,
                                                              self.progress, self.cancel_button)
                         if not x.isHidden())
            need = bar.fontMetrics().horizontalAdvance(message) + 24
            reading = max(self.pixel_label.minimumWidth(), self.pixel_label.sizeHint().width())
            fits = need + reading + others <= bar.width()
        self.pixel_label.setVisible(bool(text) and fits)

    def _update_zoom_label(self) -> None:
        if self.image is None:
            self.zoom_label.setText("")
            return
        pct = self.viewer.screen_scale() * 100
        text = f"{pct:.0f} %" if pct >= 10 else f"{pct:.1f} %"
        self.zoom_label.setText(f"fit {text}" if self.viewer.state.fit else text)

    def _set_run_label(self, extra: str = "") -> None:
        parts = []
        if self.info is not None:
            parts.append(self.info.device)
            if self.info.precision != "fp32":
                parts.append(self.info.precision)
        tile = self._tiles().tile  # what runs (a whole-image pass that cannot fit: tiles)
        parts.append(f"tile {tile}" if tile else "whole image")
        if self.controls.ensemble() > 1:
            parts.append(f"{self.controls.ensemble()} views")
        if extra:
            parts.append(extra)
        self.run_label.setText(" · ".join(parts))

    # ================================================================== full restore
    def _on_idle(self) -> None:
        # The EA view zoomed in: its full-resolution area comes first.
        view = self._ea_view() if self.viewer.mode() == "ea" else None
        if view is not None and not self._ea_fits(self._ea_area, view):
            self._request_ea_area()
            if self._ea_job is not None:
                return
        if self._gave_way:  # a restore that gave way to the EA view runs again, asked or not
            self._gave_way = False
            if self.image is not None and self.info is not None and not self._full_current():
                self.start_full_restore()
        # Never refine behind a draft: the full-size preview comes first (the sharpen timer
        # requests it, which restarts this timer).
        if (self.controls.auto_refine() and self.image is not None and self.info is not None
                and not self._latest_draft and not self._preview_is_full()
                and not self._full_current()):
            self.start_full_restore()
        self._check_settled()

    def start_full_restore(self) -> None:
        """Restore the whole image with the tiled engine (progress and Cancel in the bar)."""
        if self.image is None or self.info is None:
            if self.model_missing:
                self.statusBar().showMessage(self.model_error, 10000)
            return
        if self._restore_running_as_asked() or self._full_current():
            return  # nothing to do: running with these settings, or shown already
        self._update_focus()
        self._restore_job = self.engine.restore(self.image.restorable, self.knobs(),
                                                self._tiles(),
                                                self.strength(), self.image.icc,
                                                focus=lambda: self._focus_box)
        self._was_settled = False
        self.progress.setRange(0, 0)
        self.progress.setFormat("starting…")
        self.progress.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        self._update_restore_action()
        if not self._notice_showing():
            self.statusBar().showMessage("Restoring at full resolution…")

    def cancel_restore(self, quiet: bool = False) -> None:
        job = self._restore_job
        if job is None:
            return
        if quiet:  # first: a queued job's cancel signal arrives during the call below
            self._restore_job = None
            self._end_progress()
            self._sync_area()
        # A queued job's cancel arrives during the call (its end is said there, and a copy
        # or export waiting for it dropped): "Cancelling…" is only for one that is running.
        if self.engine.cancel_restore() and not quiet and self._restore_job is job:
            self._cancelling = job.serial  # its later progress must not cover this message
            self.statusBar().showMessage("Cancelling after the tiles in progress…")
            self.cancel_button.setEnabled(False)
            self._update_restore_action()  # the user may ask again meanwhile

    def notice(self, text: str, ms: int = 0, hold: float | None = None) -> None:
        """Show ``text`` in the status bar as a notice (what an open dropped, a copy or export
        waiting, a failure): for ``hold`` seconds (:data:`NOTICE_S`) the full restore's
        routine progress and "done" lines do not cover it (they did within a second)."""
        self.statusBar().showMessage(text, ms)
        self._notice = (text, time.monotonic() + (NOTICE_S if hold is None else hold))

    def _notice_showing(self) -> bool:
        text, until = self._notice
        return self.statusBar().currentMessage() == text and time.monotonic() < until

    def _end_progress(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()
        self._update_restore_action()
        if self.statusBar().currentMessage().startswith(("Restoring at full resolution",
                                                         "Cancelling after the tiles")):
            self.statusBar().clearMessage()  # a restore replaced or stopped says no more

    def _on_progress(self, serial: int, done: int, total: int, message: str) -> None:
        if (self._restore_job is None or serial != self._restore_job.serial
                or serial == self._cancelling):
            return
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        views = self._restore_job.tiles.ensemble
        # With several views the count is of tile passes: show a share instead.
        self.progress.setFormat(f"tile {done}/{total}" if views == 1 else "%p %")
        # What waits for it, said on every line: the export's own notice had gone after
        # 4 s, and Cancel then dropped it with no word before.
        waiting = self._waiting_for_restore()
        if not self._notice_showing():  # the bar counts the tiles meanwhile
            self.statusBar().showMessage(f"Restoring at full resolution: {message}"
                                         + (f" · then {waiting}" if waiting else ""))
        self._update_cancel_tip()

    def _update_cancel_tip(self) -> None:
        """Cancel's tooltip, saying what waiting for the restore it drops too."""
        waiting = self._waiting_for_restore()
        self.cancel_button.setToolTip(CANCEL_TIP + (f"; the waiting {waiting} is cancelled "
                                                    "too" if waiting else ""))

    def _waiting_for_restore(self) -> str:
        """What waits for the full-resolution restore, in words ("export of a.png", "2
        exports and copy"), or ""."""
        n = len(self._exports)
        parts = [f"export of {short_name(self._exports[0].path)}" if n == 1 else
                 f"{n} exports" if n else "", "copy" if self._copy_waiting else ""]
        return " and ".join(p for p in parts if p)

    def _on_restore_finished(self, result: RestoreResult) -> None:
        job = self._restore_job
        if job is None or result.serial != job.serial:
            self._check_settled()
            return
        self._restore_job = None
        self._end_progress()
        self.full = result
        if result.qimage is not None:
            self._full_qimage, shown = result.qimage, result.qimage_strength
        else:
            self._full_qimage, shown = to_qimage(result.restored, self._icc()), 1.0
        self._full_mix = (result, shown)
        self._remix_full()
        if not self._notice_showing():  # the run label says the time too
            self.statusBar().showMessage(
                f"Full-resolution restore done in {result.seconds:.1f} s", 8000)
        self._set_run_label(f"{result.seconds:.1f} s")
        self._show_output()
        self._refresh_output_metrics()
        self._advance_export()
        self._advance_copy()
        self._check_settled()

    def _on_restore_cancelled(self, serial: int, by_user: bool) -> None:
        job = self._restore_job
        if job is not None and serial == job.serial:
            self._restore_job = None
            self._end_progress()
            if by_user:
                self.statusBar().showMessage("Full-resolution restore cancelled", 8000)
                dropped = self._drop_export()
                if dropped:
                    self.notice(f"Restore cancelled: {dropped}", 8000)
            self._sync_area()
        self._check_settled()

    def _on_restore_failed(self, serial: int, message: str) -> None:
        job = self._restore_job
        if job is not None and serial == job.serial:
            self._restore_job = None
            self._end_progress()
            if message.startswith(ONE_PASS_REFUSAL) and self._refit_one_pass(job.tiles):
                # free memory fell since it was checked:
                self._idle.start()  # restore in tiles, said once, instead of a box per move
                self._check_settled()
                return
            dropped = self._drop_export()
            self._sync_area()
            self._error("Restore failed", message + (f"\n\nAlso, {dropped}." if dropped
                                                     else ""))
        self._check_settled()

    # ================================================================== batch
    def make_batch_dialog(self) -> BatchDialog | None:
        """The *Restore Files* dialog over the loaded model and the current knobs, tile and
        run options; None (with the reason shown) while no model is loaded."""
        if self.info is None:
            self._no_model("Restore Files", "restore with")
            return None
        tile = self.controls.tile()  # the setting, not the open image's fallback: each file
        tiles = replace(self._tiles(), tile=tile, overlap=overlap_for(tile))  # decides its own
        # Each short setting is kept on one line ("strength 40" had ended a line, "%" begun
        # the next); the line breaks between them.
        whole = "one pass (in tiles where it would not fit in memory)"
        # The name shortened, as the panel shows it: a 200-character one had made the
        # dialog wider than a laptop's screen (the NBSPs keep it one unbreakable run).
        items = [f"{short_name(self.info.weights)} ({self.info.task})",
                 *knob_caption(self.knobs()).split(" · "),
                 f"tiles {tiles.tile} px" if tiles.tile else whole]
        if tiles.ensemble > 1:
            items.append(f"best quality ({tiles.ensemble} views)")
        items.append("repair " + ("on" if tiles.repair else "off"))
        if self.strength() < 1.0:
            items.append(f"strength {self.strength() * 100:.0f} %")
        items.append(f"device {self.info.device}")  # "repair on on cpu" read badly
        settings = " · ".join(item if item == whole else item.replace(" ", NBSP)
                              for item in items)
        folder = self.user_folder(self.image.path.parent if self.image is not None else None)
        dlg = BatchDialog(self.engine, self.knobs(), tiles, settings, folder, self,
                          strength=self.strength(), jobs=self.jobs, model=self.info,
                          make_way=self._make_way_for_batch)
        dlg.exif_check.setChecked(self.settings.keep_exif())
        dlg.exif_check.toggled.connect(self.settings.set_keep_exif)
        return dlg

    def _make_way_for_batch(self) -> str | None:
        """Stop a full-resolution restore nothing waits for, so a *Restore Files* run does
        not wait behind it (a 6000×4000 photo's refine had held a one-image run for 136 s,
        the modal dialog hiding the window's Cancel); it starts again, from its first tile,
        once the model thread is idle. None if stopped; else what waits for the restore
        (an export or copy: it runs on), or "" (none running, or one the user cancelled,
        which ends after its tile and is not started again)."""
        job = self._restore_job
        waiting = self._waiting_for_restore()
        if job is None or waiting or self._cancelling == job.serial:
            return waiting
        self.cancel_restore(quiet=True)
        self._gave_way = True
        self.statusBar().showMessage("Full-resolution restore stopped for Restore Files; it "
                                     "starts again when the run ends")
        return None

    def batch_dialog(self, inputs: list[Path] | None = None) -> None:
        """*Restore Files*, with ``inputs`` (files or folders) already added."""
        dlg = self.make_batch_dialog()
        if dlg is None:
            return
        if inputs:
            dlg.add_inputs(inputs)  # a problem is said in the dialog
        dlg.exec()
        dlg.deleteLater()

    # ================================================================== state
    def is_settled(self) -> bool:
        """Nothing is left to compute or write for what is on screen."""
        if self.model_pending or self._export is not None or self._exporting or self._listing \
                or self._copy_waiting or self._ea_job is not None or self._ea_timer.isActive() \
                or self._maps_export is not None:
            return False
        if self.jobs.pending():
            return False
        if self.image is None or self.info is None:
            return True
        if self._preview_done < self._preview_serial or self._idle.isActive():
            return False
        if self._latest_draft or self._sharpen.isActive():
            return False
        if self._restore_job is not None or self.engine.restore_active():
            return False
        return self._full_current() or not self.controls.auto_refine()

    def _on_work_started(self) -> None:
        self._was_settled = False  # settled is sent again when this work is done

    def _on_engine_idle(self) -> None:
        if self._gave_way:  # a restore paused for Restore Files: due again once it ends
            self._idle.start()
        self._check_settled()

    def _check_settled(self) -> None:
        if self._shut:
            return
        settled = self.is_settled()
        if settled and not self._was_settled:
            self._was_settled = True
            self.settled.emit()
        elif not settled:
            self._was_settled = False

    def shortcuts_text(self) -> str:
        """The window's keyboard shortcuts, read from its actions (so the list cannot go
        stale), and its mouse gestures, as rich text."""
        rows = []
        seen: set[str] = set()
        for menu_action in self.menuBar().actions():
            top = menu_action.menu().actions() if menu_action.menu() else []
            for a in [x for t in top for x in ([t, *t.menu().actions()] if t.menu() else [t])]:
                keys = [k.toString(QKeySequence.SequenceFormat.NativeText)
                        for k in a.shortcuts() if not k.isEmpty()]
                # Dedicated keys few keyboards have ("Copy", "Undo") and old alternatives.
                keys = [k for k in keys if k not in DEDICATED_KEYS
                        and "Backspace" not in k and "Ins" not in k][:2]
                name = a.text().split("\t")[0].replace("&", "").rstrip("…")
                if name in seen or not name:
                    continue
                seen.add(name)
                if name == "Compare":  # its key is bound to the toggle (C)
                    keys = ["C"]
                if keys:
                    rows.append((menu_action.text().replace("&", ""), name, " or ".join(keys)))
        mouse = [("View", "Zoom in or out at the pointer", "wheel"),
                 ("View", f"Pan; with {ctrl_name()}, zoom",
                  "two-finger scroll on a trackpad (macOS, Wayland)"),
                 ("View", "Zoom at the fingers", "pinch on a trackpad"),
                 ("View", "Pan", "drag"),
                 ("View", "Actual pixels there (an image Fit already shows between actual size "
                  "and one pixel per logical pixel: enlarged), or fit again", "double-click"),
                 ("View", "Move the compare divider", "drag the divider"),
                 ("View", "Pan (Shift: half a view) in the image, after a click or Tab",
                  "arrow keys"),
                 ("View", "Move the compare divider in the image", "[ and ]"),
                 ("View", "Read the pixel values without a mouse: move a probe a pixel "
                  "(Shift: ten) in the image, after a click or Tab", probe_keys()),
                 ("File", "Open an image or a weight file; several, or a folder: Restore Files",
                  "drop on the window")]
        # The menu and the keys never break (they had, letter by letter, at 11 pt); a long
        # command wraps instead where the screen is narrow.
        body = "".join(f"<tr><td style='white-space:nowrap'>{html.escape(m)}</td>"
                       f"<td>{html.escape(n)}</td><td style='white-space:nowrap'>"
                       f"<b>{html.escape(k)}</b></td></tr>" for m, n, k in rows + mouse)
        return (f"<table cellspacing='0' cellpadding='3'><tr><th align='left'>Menu</th>"
                f"<th align='left'>Command</th><th align='left'>Keys</th></tr>{body}</table>"
                f"{SHORTCUTS_NOTE}")

    def show_shortcuts(self) -> QDialog:
        """The list in a dialog that fits the screen and scrolls (a message box grew to
        740 px, past a 768-px laptop screen, its OK button out of reach)."""
        # As wide as the table wants at this font (it had a fixed 620 px, and from 11 pt
        # the Keys column went off to the right), within the screen.
        table = QTextDocument()
        table.setDefaultFont(self.font())
        table.setHtml(self.shortcuts_text().replace(SHORTCUTS_NOTE, ""))
        width = max(520, int(table.idealWidth()) + 60 + self.style().pixelMetric(
            QStyle.PixelMetric.PM_ScrollBarExtent))
        return self._text_dialog("Keyboard and Mouse", self.shortcuts_text(), width)

    def about(self) -> QDialog:
        """About, in a dialog that fits the screen and scrolls (a message box was 792 px tall
        at 16 pt, past a 150 % laptop screen's 720, its OK button out of reach)."""
        return self._text_dialog("About DRCNet Studio", self.about_text(), 520)

    def about_text(self) -> str:
        return (
            f"<b>DRCNet Studio {drcnet.__version__}</b><br>"
            f"PyTorch {torch.__version__} · Qt {qVersion()} · Python {platform.python_version()}"
            "<br><br>Interactive image restoration (derain, denoise, deblur) "
            "with DRCNet, the Dynamic Image Restoration Contrastive Network (Li, Shen, Mi, Li; "
            "ECCV 2022).<br><br>Tune the spatial-filter threshold t and the energy coefficient "
            "δ, inspect every DFR block's maps, and compare results with and without energy "
            "attention.<br><br>The shipped weights were trained by this project on its own "
            "corpus; its model card (docs/MODEL_CARD.md in the source) says how, and what "
            "they score.<br><br>Sample photos: <i>Path</i> by Risto Saukonpää (KDE Plasma "
            "wallpapers, LGPLv3), <i>chelsea</i> (scikit-image, CC0) and "
            "<i>rubberwhale1</i> (OpenCV samples, Apache-2.0 and BSD-3-Clause); "
            "the samples folder's README.md lists them, and LICENSES/ beside it holds the "
            "licences' texts.<br><br>DRCNet Studio and its weights: MIT licence.")

    def _text_dialog(self, title: str, html: str, width: int) -> QDialog:
        """``html`` in a scrolling dialog ``width`` px wide (within the screen) and as tall
        as it needs, up to 85 % of the screen; opened, not run modally."""
        from PySide6.QtWidgets import QDialogButtonBox, QTextBrowser

        dlg = QDialog(self)
        dlg.setWindowTitle(title)
        text = QTextBrowser(dlg)
        text.setHtml(html)
        text.setOpenLinks(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dlg)
        buttons.rejected.connect(dlg.reject)
        lay = QVBoxLayout(dlg)
        lay.addWidget(text)
        lay.addWidget(buttons)
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is not None:
            width = min(width, int(screen.width() * 0.9))
        # Measured on a copy: the browser lays its own document out at its current width
        # (about 100 px before it is shown), which had made the About text 1254 px tall and
        # the dialog 85 % of the screen, mostly empty.
        left, top, right, bottom = lay.getContentsMargins()
        frame = 2 * text.frameWidth()
        doc = text.document().clone(dlg)
        doc.setDefaultFont(text.font())
        doc.setTextWidth(width - left - right - frame
                         - text.verticalScrollBar().sizeHint().width())
        want = (math.ceil(doc.size().height()) + frame + top + bottom + lay.spacing()
                + buttons.sizeHint().height())
        tallest = int(screen.height() * 0.85) if screen is not None else 600
        dlg.resize(width, min(want, tallest))
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.open()  # not modal to the workers: the window goes on restoring behind it
        return dlg

    def shutdown(self) -> None:
        """Stop the workers (idempotent); called when the window closes."""
        if self._shut:
            return
        self._shut = True
        self._idle.stop()
        self._sharpen.stop()
        self.engine.shutdown()
        self.jobs.close()

    def _on_quit(self) -> None:
        if not self._shut:
            self.save_settings()
            # Gone from the screen before waiting for the pool: a large photo still being
            # read (2.6 s for 58 MB) had frozen the window in view.
            self.hide()
        self.shutdown()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit_status()  # a wider window may hold both the message and the readout

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self._shut and not self._may_close():  # exports waiting: asked first
            event.ignore()
            return
        self._on_quit()
        super().closeEvent(event)

"""Entry point: ``drcnet-studio [IMAGE] [--task T] [--weights FILE] [--device D]
[--screenshot OUT.png]``.

With no IMAGE a bundled sample from ``resources/samples/`` opens, with the task its name
suggests. ``--screenshot`` opens the window, waits (on signals) until the restore has
finished, saves a grab of the whole window and exits: 0 on success, 1 with a one-line message
on stderr otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from drcnet.console import missing_text
from drcnet.registry import (
    RESOURCES,
    TASKS,
    VARIANT_TASKS,
    VARIANTS,
    has_variant,
    is_noea,
    task_note,
)

SAMPLES_DIR = RESOURCES / "samples"
ICON = RESOURCES / "icons" / "drcnet-studio.svg"
# Words in a sample's file name that tell its task.
SAMPLE_HINTS = {"derain": ("rain",), "denoise": ("nois",), "deblur": ("blur",)}
VIEWS = ("before", "after", "split", "side", "ea")


def task_for(path: Path) -> str | None:
    """The task a sample's name suggests (``rain.png`` → derain), if any."""
    name = path.stem.lower()
    for task, hints in SAMPLE_HINTS.items():
        if any(h in name for h in hints):
            return task
    return None


def find_sample(task: str | None, folder: Path = SAMPLES_DIR) -> Path | None:
    """A bundled degraded sample: one matching ``task`` if given, else the derain one (the
    shipped model that restores most visibly). ``*-clean`` references are never opened."""
    from drcnet.imageio import IMAGE_EXTENSIONS

    if not folder.is_dir():
        return None
    images = sorted(p for p in folder.iterdir()
                    if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                    and not p.stem.lower().endswith("-clean"))
    for wanted in ([task] if task is not None else list(SAMPLE_HINTS)):
        for p in images:
            if task_for(p) == wanted:
                return p
    return images[0] if images else None


def sample_reference(path: Path, folder: Path | None = None) -> Path | None:
    """The clean photo of a bundled sample (``rain.png`` → ``rain-clean.png`` beside it in
    the samples folder), or None: a photo elsewhere never gets a reference it was not given."""
    folder = SAMPLES_DIR if folder is None else folder
    try:
        if path.parent.resolve() != folder.resolve():
            return None
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop, before Python 3.13
        return None
    if path.stem.lower().endswith("-clean"):
        return None
    wanted = f"{path.stem}-clean{path.suffix}".lower()
    try:
        return next((p for p in folder.iterdir() if p.name.lower() == wanted and p.is_file()),
                    None)
    except OSError:
        return None


def device_id(name: str) -> str:
    """The device list's id for a ``--device`` value (``auto|cpu|cuda|cuda:N|mps``), e.g.
    ``cuda`` -> ``cuda:0``. Raises :class:`~drcnet.errors.DeviceError` for a device this
    machine does not have."""
    from drcnet.devices import resolve_device

    dev = resolve_device(name)
    if dev.type == "cuda":
        return f"cuda:{dev.index or 0}"
    return dev.type


def _window_size(text: str) -> tuple[int, int]:
    """``--size``: WxH, each side 200 to 10000 pixels."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be WxH, e.g. 1440x900, got {text!r}") from None
    if not (200 <= w <= 10000 and 200 <= h <= 10000):
        raise argparse.ArgumentTypeError(f"each side must be 200 to 10000 pixels, got {text!r}")
    return w, h


def _seconds(text: str) -> float:
    """``--timeout``: a number of seconds above 0 (not nan or inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not (0 < value < 1e6):  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be above 0 and under 1e6 s, got {text!r}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="drcnet-studio", description="DRCNet Studio: interactive image restoration.")
    p.add_argument("image", nargs="?", help="image to open (default: a bundled sample)")
    p.add_argument("--task", choices=TASKS, help="restoration task")
    p.add_argument("--variant", choices=[v for v in VARIANTS if not is_noea(v)],
                   help="the task's shipped model: default, or gaussian for denoise "
                        "(default: remembered)")
    p.add_argument("--weights", metavar="FILE",
                   help="restore with this weight file (e.g. one drcnet train wrote) instead "
                        "of the shipped one; the task is the one the file was trained for")
    p.add_argument("--device", help="compute device: auto, cpu, cuda, cuda:N or mps "
                                    "(default: the one used last)")
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="restore, save a grab of the whole window to OUT.png and exit "
                        "(rendered offscreen where there is no display)")
    p.add_argument("--view", choices=VIEWS, default=None,
                   help="view to show (default: the last one used, at first Compare; with "
                        "--screenshot, after)")
    p.add_argument("--no-maps", action="store_true", help="hide the maps panel")
    p.add_argument("--size", type=_window_size, default=(1440, 900), metavar="WxH",
                   help="window size for --screenshot (default 1440x900; under 1280 px wide, "
                        "the compact layout a first run that narrow gets)")
    p.add_argument("--timeout", type=_seconds, default=900.0, metavar="SECONDS",
                   help="give up a --screenshot run after this many seconds")
    return p.parse_args(argv)


# 4.3:1 against the window colour and 5.1:1 against a box (WCAG asks 3:1 of controls;
# tests/app/test_studio_main.py computes them)
INDICATOR_EDGE = "#8b9098"


def outlined_style() -> object:
    """Fusion, with a light edge round check boxes and radio buttons: on the dark palette
    its own edge is darker than the window, and an unticked box (#1e1f22 on #2b2d31, 1.2:1)
    was all but invisible."""
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor, QPainter, QPen
    from PySide6.QtWidgets import QCheckBox, QProxyStyle, QRadioButton, QStyle

    class OutlinedIndicators(QProxyStyle):
        def drawPrimitive(self, element, option, painter, widget=None) -> None:  # noqa: ANN001, N802
            if element == QStyle.PrimitiveElement.PE_FrameFocusRect and \
                    isinstance(widget, (QCheckBox, QRadioButton)):
                # A check box's focus frame in the highlight colour, 2 px: Fusion's blend of
                # it (61, 76, 101) stood at 1.6:1 on the dark window, under WCAG's 3:1. As
                # Fusion, only once focus came by keyboard (not after a click); other widgets
                # (item views' rows, whose text a 2-px frame would cut) keep Fusion's.
                if not option.state & QStyle.StateFlag.State_KeyboardFocusChange:
                    return
                painter.save()
                painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
                painter.setPen(QPen(option.palette.highlight().color(), 2))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRoundedRect(QRectF(option.rect).adjusted(1, 1, -1, -1), 2, 2)
                painter.restore()
                return
            super().drawPrimitive(element, option, painter, widget)
            radio = element == QStyle.PrimitiveElement.PE_IndicatorRadioButton
            if not radio and element != QStyle.PrimitiveElement.PE_IndicatorCheckBox:
                return
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setPen(QPen(QColor(INDICATOR_EDGE), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            r = QRectF(option.rect).adjusted(0.5, 0.5, -1.5, -1.5)
            if radio:
                painter.drawEllipse(r)
            else:
                painter.drawRoundedRect(r, 2, 2)
            painter.restore()

    return OutlinedIndicators("Fusion")


def apply_theme(app: object) -> None:
    """Fusion with a dark palette: images read better on a neutral dark surround."""
    from PySide6.QtGui import QColor, QPalette

    app.setStyle(outlined_style())
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#2b2d31", QPalette.ColorRole.WindowText: "#e3e5e8",
        QPalette.ColorRole.Base: "#1e1f22", QPalette.ColorRole.AlternateBase: "#2b2d31",
        QPalette.ColorRole.ToolTipBase: "#1e1f22", QPalette.ColorRole.ToolTipText: "#e3e5e8",
        QPalette.ColorRole.Text: "#e3e5e8", QPalette.ColorRole.Button: "#383a40",
        QPalette.ColorRole.ButtonText: "#e3e5e8", QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Highlight: "#4c8bf5", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#7aa7ff", QPalette.ColorRole.PlaceholderText: "#8b9098",
    }
    for role, color in roles.items():
        pal.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6d7178"))
    # A greyed-out slider's filled groove (Fusion draws it in the highlight), not blue as
    # an enabled one's: the overlay's opacity in the EA ± view.
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, QColor("#5a5e66"))
    app.setPalette(pal)
    app.setStyleSheet(
        "QLabel#hint { color: #9aa1ab; }"
        "QLabel#eaSource { color: #c9ced6; background: #1e1f22; }"
        "QGroupBox { font-weight: bold; border: 1px solid #44474e; border-radius: 5px;"
        " margin-top: 14px; padding-top: 6px; }"
        "QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; }"
        "QGroupBox QLabel, QGroupBox QCheckBox { font-weight: normal; }"
        "QToolBar { spacing: 4px; }"
        "QToolButton:checked { background: #4c5261; border-radius: 3px; }"
        "QStatusBar QLabel { padding: 0 6px; }")


def flush_events(app: object, rounds: int = 8) -> None:
    """Deliver the events waiting, and those they post in turn, before a grab: a label's new
    text posts a layout request to its parent, whose new size posts one to its own, and so
    on up to the window (a screenshot had caught the Reference group's header without its
    rows). ``rounds`` covers the window's nesting of layouts."""
    from PySide6.QtCore import QCoreApplication

    for _ in range(rounds):
        app.processEvents()
        QCoreApplication.sendPostedEvents()


def _has_display(screenshot: bool) -> bool:
    """Whether Qt can open a window here. On Linux with neither an X nor a Wayland display
    (an SSH session, a container) Qt aborted with advice to install libxcb-cursor0; a
    screenshot needs no display, so it renders offscreen there."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return True
    if screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return True
    return False


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.screenshot is not None and not args.screenshot.lower().endswith(".png"):
        print("drcnet-studio: error: --screenshot needs a .png file", file=sys.stderr)
        return 2
    from drcnet.errors import DeviceError, UsageError

    weights, trained_for = None, None
    if args.weights is not None:
        from drcnet.errors import WeightsError
        from drcnet.registry import check_weight_file

        weights = Path(args.weights).expanduser().resolve()
        try:
            trained_for = check_weight_file(weights)
        except WeightsError as exc:  # missing or unreadable: not a usage error
            print(f"drcnet-studio: error: {exc}", file=sys.stderr)
            return 1
        if args.variant is not None:
            print("drcnet-studio: error: --weights replaces the shipped models; drop --variant",
                  file=sys.stderr)
            return 2
        if trained_for is not None and args.task not in (None, trained_for):
            print(f"drcnet-studio: error: {weights.name} was trained for {trained_for}, not "
                  f"{args.task}", file=sys.stderr)
            return 1  # what the file says, as drcnet's commands
        args.task = args.task or trained_for
    device = None
    if args.device is not None:
        try:
            device = device_id(args.device)
        except DeviceError as exc:  # 2 for a name that is not a device, 1 for one not here
            print(f"drcnet-studio: error: {exc}", file=sys.stderr)
            return 2 if isinstance(exc, UsageError) else 1
    image = Path(args.image) if args.image else find_sample(args.task)
    shot = args.screenshot is not None
    if shot and image is None:  # before the window and its model thread exist
        print(f"drcnet-studio: error: no IMAGE given and no sample in {SAMPLES_DIR}",
              file=sys.stderr)
        return 1
    if not _has_display(shot):
        print("drcnet-studio: error: no display to open the window on (DISPLAY and "
              "WAYLAND_DISPLAY are unset); use drcnet restore on the command line, or "
              "--screenshot, which renders without one", file=sys.stderr)
        return 1
    try:
        import cv2
        from PySide6.QtCore import QTimer
        from PySide6.QtGui import QIcon
        from PySide6.QtWidgets import QApplication

        from .main_window import COMPACT_WIDTH, MainWindow
        from .settings import APPLICATION, ORGANIZATION, Settings
        from .workers import MainThreadGC
    except ModuleNotFoundError as exc:  # a dependency not installed: one line, not a trace
        print(f"drcnet-studio: error: {missing_text(exc)}", file=sys.stderr)
        return 1

    # The pool's OpenCV work (reading, resizing, scoring) runs beside the model thread; on all
    # cores it slows a concurrent preview forward 5.0×, on one core 3.5×
    # (scripts/thread_contention.py, docs/PERFORMANCE.md). The model keeps torch's threads.
    cv2.setNumThreads(1)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    collector = MainThreadGC(parent=app)  # noqa: F841 (lives as the app's child)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setDesktopFileName("drcnet-studio")  # Wayland and taskbars match the window by it
    if ICON.is_file():
        app.setWindowIcon(QIcon(str(ICON)))
    apply_theme(app)

    task = args.task or (task_for(image) if image is not None and not args.image else None)
    window = MainWindow(Settings(persist=not shot), task=task, device=device,
                        variant=args.variant, weights=weights)
    shown = window.controls.task()
    note = task_note(weights, shown) if weights is not None and trained_for is None else None
    if note:
        print(f"drcnet-studio: note: {note} (--task chooses)", file=sys.stderr)
    if args.variant is not None and window.controls.variant() != args.variant:
        why = (f"no {args.variant} weights are installed for {shown}"
               if has_variant(shown, args.variant) else
               f"the {args.variant} variant exists only for "
               f"{', '.join(VARIANT_TASKS[args.variant])}")
        print(f"drcnet-studio: warning: {why}; using {window.controls.variant()}",
              file=sys.stderr)
    if shot:
        window.interactive = False
        window.resize(*args.size)
        if args.size[0] < COMPACT_WIDTH and not args.no_maps:  # as a first run that narrow
            window.compact_layout()
        window.maps_dock.setVisible(not args.no_maps)
    else:
        screen = app.primaryScreen()
        if window.settings.geometry() is None and screen is not None:  # a first run
            window.fit_screen(screen.availableGeometry())
        if args.no_maps:
            window.maps_dock.hide()
    view = args.view or ("after" if shot else None)
    if view in ("split", "side"):
        window.set_compare_style(view)
        window.set_view_mode("compare")
    elif view is not None:
        window.set_view_mode(view)
    window.show()
    if image is not None:
        window.open_image(image)

    if not shot:
        return app.exec()

    outcome: dict[str, str] = {}

    def fail(message: str) -> None:
        outcome.setdefault("error", message)
        if window.image is None and window.is_settled():  # nothing will open: stop now
            QTimer.singleShot(0, finish)
        # else the image being read comes first: a grab then had caught it half drawn

    def finish(force: bool = False) -> None:
        if "done" in outcome:
            return
        flush_events(app)
        if "done" in outcome:  # the timeout's finish ran among those events
            return
        if not force and not window.is_settled():
            # The events brought more to compute. Looked at again shortly rather than left to
            # the next ``settled``: work a timer starts (the EA area after a resize) can end
            # with nothing to do, and no ``settled`` is sent then.
            QTimer.singleShot(50, finish)
            return
        outcome["done"] = "1"
        out = Path(args.screenshot)
        if not window.grab().save(str(out), "PNG"):
            outcome.setdefault("error", f"cannot write the screenshot {out}")
        window.close()
        app.quit()

    def on_settled() -> None:
        if window.image is None and "error" not in outcome:
            return  # the image is still to come
        if window.model_missing or window.model_error:
            outcome.setdefault("error", window.model_error.split("\n")[0])
        QTimer.singleShot(50, finish)  # let queued repaints land before the grab

    window.settled.connect(on_settled)
    window.failed.connect(fail)
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(lambda: (outcome.setdefault(
        "error", f"timed out after {args.timeout:.0f} s"), finish(force=True)))
    timer.start(int(args.timeout * 1000))
    app.exec()
    if "error" in outcome:
        print(f"drcnet-studio: error: {outcome['error']}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The batch dialog: restore many files with the current model and settings, with progress
and cancel. The work runs on the model thread (:meth:`app.workers.Engine.batch`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from drcnet.batch import (
    CANCELLED,
    FAILED,
    RESTORED,
    SKIPPED,
    BatchProgress,
    FileResult,
    check_input_name,
    expand_inputs,
    plan_outputs,
    readable_name,
    summary,
)
from drcnet.compare import Knobs
from drcnet.errors import DRCNetError, ImageReadError
from drcnet.imageio import (
    READABLE_EXTENSIONS,
    folder_write_problem,
    has_image_signature,
    read_image,
    same_file,
)
from drcnet.inference import TileConfig

from .export_dialog import EXIF_TIP, fit_width
from .workers import BatchJob, Engine, Jobs, ModelInfo


class BatchDialog(QDialog):
    """Pick input files or folders and an output folder, then restore them all.

    ``settings`` is one line naming the model and knobs the batch will use (as the main
    window shows them); the knobs, tiles and strength (the share of the restoration each
    output keeps) are fixed when the dialog opens.
    """

    def __init__(self, engine: Engine, knobs: Knobs, tiles: TileConfig, settings: str,
                 folder: Path, parent: QWidget | None = None, strength: float = 1.0,
                 jobs: Jobs | None = None, model: ModelInfo | None = None,
                 make_way: Callable[[], str | None] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Restore Files")
        # Asks the window to stop a full-resolution restore nothing waits for, to start again
        # after the run, so the run asked for here does not wait behind it: None if it did,
        # else what waits for that restore ("export of a.png"; "" if nothing in particular).
        self._make_way = make_way
        self.engine, self.knobs, self.tiles = engine, knobs, tiles
        self.model = model  # the model ``settings`` names: a run refuses another
        self.strength = strength
        self._folder = folder
        self._home = folder  # where the user's files are: outputs never go to an app folder
        self._inputs: list[Path] = []
        self._folder_input = False
        self.job: BatchJob | None = None
        self.results: list[FileResult] | None = None
        self._run_folder: Path | None = None  # where the last run wrote: Open Output Folder
        # Folders are listed in the background: the window's pool (long-lived, so a
        # listing that ends after the dialog closed has somewhere to report), else our own.
        self.jobs = jobs if jobs is not None else Jobs(self)
        self._scans, self._scan_serial, self._closed = 0, 0, False
        # Images added but not yet decoded (in the pool, one at a time), whether one is being
        # decoded, and those left out since the last add or clear, with why.
        self._unchecked: list[Path] = []
        self._checking = False
        self._undecodable: list[tuple[Path, str]] = []
        self._runs = 0  # runs started: a check begun before one is not applied after it
        layout = QVBoxLayout(self)

        list_label = QLabel("&Images to restore")
        layout.addWidget(list_label)
        self.file_list = QListWidget()
        list_label.setBuddy(self.file_list)  # Alt+I goes there
        self.file_list.setAccessibleName("Images to restore")
        self.file_list.setMinimumHeight(140)
        self.file_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.file_list.setToolTip("Delete removes the selected images from the list")
        self.remove_action = remove = QAction("Remove from the List", self.file_list)
        remove.setShortcuts([QKeySequence(QKeySequence.StandardKey.Delete),
                             QKeySequence(Qt.Key.Key_Backspace)])
        remove.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        remove.triggered.connect(self.remove_selected)
        self.file_list.addAction(remove)  # also its right-click menu
        self.file_list.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        layout.addWidget(self.file_list)
        row = QHBoxLayout()
        self.add_files_button = QPushButton("Add &Files…")
        self.add_folder_button = QPushButton("Add F&older…")
        self.clear_button = QPushButton("C&lear")
        for b in (self.add_files_button, self.add_folder_button, self.clear_button):
            row.addWidget(b)
        row.addStretch(1)
        layout.addLayout(row)

        form = QFormLayout()
        out_row = QHBoxLayout()
        self.output_edit = QLineEdit()
        # Short enough to read at the dialog's width; the rest is in the tooltip (the whole
        # sentence had been cut off at "(a PNG where Stu").
        self.output_edit.setPlaceholderText("a folder for the outputs")
        self.output_edit.setToolTip("A folder; each output keeps its input's name (a PNG "
                                    "where Studio does not write the input's format: GIF, "
                                    "PGM, no extension)")
        self.browse_button = browse = QPushButton("Bro&wse…")
        out_row.addWidget(self.output_edit, 1)
        out_row.addWidget(browse)
        save_label = QLabel("Save &to")
        save_label.setBuddy(self.output_edit)
        form.addRow(save_label, out_row)
        self.existing_combo = QComboBox()
        self.existing_combo.addItem("Keep it (skip that image)", False)
        self.existing_combo.addItem("Replace it", True)
        form.addRow("If an output &exists", self.existing_combo)
        layout.addLayout(form)
        self.exif_check = QCheckBox("&Keep the camera record (EXIF; never the GPS location)")
        self.exif_check.setChecked(True)
        self.exif_check.setToolTip(EXIF_TIP)
        layout.addWidget(self.exif_check)

        note = QLabel(f"With {settings}. Inputs are never replaced; alpha, 16-bit depth, "
                      "gray and the colour profile are kept as the command line's drcnet "
                      "restore keeps them.")
        note.setWordWrap(True)
        note.setObjectName("hint")
        layout.addWidget(note)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(10000)
        self.log.setMinimumHeight(110)  # six lines
        self.log.hide()
        layout.addWidget(self.log, 1)

        buttons = QHBoxLayout()
        self.open_folder_button = QPushButton("Open Output Fol&der")
        self.open_folder_button.hide()
        buttons.addWidget(self.open_folder_button)
        buttons.addStretch(1)
        self.start_button = QPushButton("&Restore")
        self.start_button.setDefault(True)
        self.close_button = QPushButton("Close")
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)

        self.add_files_button.clicked.connect(self._add_files_dialog)
        self.add_folder_button.clicked.connect(self._add_folder_dialog)
        self.clear_button.clicked.connect(self.clear_inputs)
        browse.clicked.connect(self._browse_output)
        self.start_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self.reject)
        self.open_folder_button.clicked.connect(self._open_output)
        # After a run, Enter closes; it restores again only once the files or options change.
        self._ran = False
        self.output_edit.textChanged.connect(self._on_changed)
        self.existing_combo.currentIndexChanged.connect(self._on_changed)
        self.exif_check.toggled.connect(self._on_changed)
        w = engine.worker
        w.batchProgress.connect(self._on_progress)
        w.batchFinished.connect(self._on_finished)
        w.batchFailed.connect(self._on_failed)
        self._update_buttons()
        fit_width(self, 620)

    def _fit_height(self) -> None:
        """Grow to hold the progress bar and log that a run shows. Qt does not grow a shown
        dialog for them, and its minimum size ignores the wrapped labels' height at this
        width, so without this the list, its buttons and the log were drawn over each other."""
        lay = self.layout()
        lay.activate()
        need = lay.totalHeightForWidth(self.width()) if lay.hasHeightForWidth() else -1
        need = max(need, lay.totalMinimumSize().height())
        screen = self.screen().availableGeometry().height() if self.screen() else need
        if need > self.height():
            self.resize(self.width(), min(need, screen))

    # ---------------------------------------------------------------- inputs
    def add_inputs(self, paths: list[str | Path]) -> bool:
        """Add files and folders (their top-level images). Named files are checked here; a
        folder is listed, and its files' first bytes read, in the background (slow on a
        network share with thousands of files), the list growing when that is done
        (:meth:`scanning`). False, with the reason shown, if a named one cannot be added;
        a folder with no image that can be decoded is said when its listing ends. The images
        added are then decoded in the background (:meth:`_check_next`)."""
        paths = [Path(p) for p in paths]
        self._undecodable = []  # what this add leaves out is said afresh
        try:
            for p in paths:
                if not p.exists():
                    raise DRCNetError(f"{p} does not exist")
                # A named file is taken as a folder's files are (folder_inputs): named as an
                # image Studio reads, GIF and PGM too (they had been refused as types it
                # does not write, though the output is a PNG), or with no extension; not a
                # camera's RAW file, which starts as a TIFF does and would give its thumbnail.
                if not p.is_dir():
                    check_input_name(p)  # a camera's RAW file, said as such
                    if not readable_name(p):
                        raise ImageReadError(f"{p} is not named as an image Studio reads "
                                             f"({', '.join(READABLE_EXTENSIONS[:7])}, …)")
                    if not has_image_signature(p):  # as File > Open says, before the run
                        raise ImageReadError(f"{p} is not an image that can be decoded "
                                             "(corrupt or unsupported)")
        except DRCNetError as exc:
            self._say(str(exc), error=True)
            return False

        def scan() -> tuple[list[Path], list[Path], bool]:
            found, folder = expand_inputs(paths)
            # A folder's files are checked as a named file is, so a misnamed or empty file
            # is left out (and named) here rather than failing once the run reaches it.
            bad = [p for p in found if not has_image_signature(p)]
            return [p for p in found if p not in bad], bad, folder

        serial = self._scan_serial
        self._scans += 1
        if any(p.is_dir() for p in paths):
            names = ", ".join(p.name or str(p) for p in paths[:2]) + (", …" if len(paths) > 2
                                                                    else "")
            self._say(f"Looking for images in {names}…")
        self._update_buttons()

        def done(result: tuple[list[Path], list[Path], bool]) -> None:
            if self._scanned(serial):
                self._add_found(paths, *result)

        def failed(message: str) -> None:
            if self._scanned(serial):
                self._say(message, error=True)

        self.jobs.run(scan, done, failed)
        return True

    def scanning(self) -> bool:
        """Whether a folder added is still being listed."""
        return self._scans > 0

    def _scanned(self, serial: int) -> bool:
        """One listing ended; whether its result still counts (the dialog is open and the
        list was not cleared meanwhile)."""
        if self._closed or serial != self._scan_serial:
            return False
        self._scans -= 1
        self._update_buttons()
        return True

    def _add_found(self, paths: list[Path], found: list[Path], bad: list[Path],
                   folder: bool) -> None:
        if bad and not found:
            self._say(f"No image that can be decoded in {', '.join(map(str, paths))}",
                      error=True)
            return
        have = {p.resolve() for p in self._inputs}
        new = [p for p in found if p.resolve() not in have]
        self._inputs += new
        self._ran = self._ran and not new
        self._folder_input = self._folder_input or folder
        for p in new:
            self.file_list.addItem(str(p))
        if new and not self.output_edit.text():
            from .main_window import is_app_folder  # which imports this module

            # Beside the photos, unless they are the bundled samples or pasted images: not
            # a place for the user's results (the samples' may be read-only).
            base = self._home if is_app_folder(new[0].parent) else new[0].parent
            self.output_edit.setText(str(base / "restored"))
        n = len(self._inputs)
        said = f"{n} image{'s' * (n != 1)} to restore"
        if bad:
            names = ", ".join(p.name for p in bad[:3]) + (", …" if len(bad) > 3 else "")
            said += (f"; left out {len(bad)} file{'s' * (len(bad) != 1)} that "
                     f"{'is not an image' if len(bad) == 1 else 'are not images'} "
                     f"that can be decoded: {names}")
        self._say(said)
        self._undecodable += [(p, f"{p} is empty, or does not start as an image file does.")
                              for p in bad]
        self._update_buttons()
        self._unchecked += new
        if not self._checking:
            self._check_next()

    def _check_next(self) -> None:
        """Decode the next image added, in the pool, and take it off the list if that fails:
        the first bytes checked when it was added pass a truncated file, which had failed
        only once the run reached it. One at a time, so a folder of large photos keeps one
        pool thread busy, never the window; Restore does not wait for it (the run tries an
        image not yet checked, and its log names a failure), and a run, Clear or closing
        the dialog stops it."""
        while self._unchecked and self._unchecked[0] not in self._inputs:
            self._unchecked.pop(0)  # removed by the user meanwhile
        if self._closed or self.running() or not self._unchecked:
            self._checking = False
            return
        self._checking = True
        path = self._unchecked.pop(0)
        serial, runs = self._scan_serial, self._runs

        def check() -> str | None:
            try:
                read_image(path)  # as the run reads it; the pixels are dropped here
            except ImageReadError as exc:  # not other errors (no memory, say): the run tries
                return str(exc)
            return None

        def current() -> bool:  # not cleared, and no run started since (its log says)
            return serial == self._scan_serial and runs == self._runs

        def done(message: str | None) -> None:
            if current():
                if message is not None:
                    self._leave_out(path, message)
                self._check_next()

        def failed(_: str) -> None:  # unexpected: kept, for the run to try and report
            if current():
                self._check_next()

        self.jobs.run(check, done, failed)

    def _leave_out(self, path: Path, message: str) -> None:
        """Take ``path``, which cannot be decoded, off the list, and say so."""
        if self._closed or self.running() or path not in self._inputs:
            return  # a run tries it and logs the failure; removed by the user meanwhile
        row = self._inputs.index(path)
        del self._inputs[row]
        self.file_list.takeItem(row)
        message = message.strip()
        self._undecodable.append((path, message))
        n = len(self._inputs)
        said = f"{n} image{'s' * (n != 1)} to restore. "
        if len(self._undecodable) == 1:  # "…/b.png is not an image…": "b.png, as it is not…"
            said += (f"Left out {path.name}, as it{message.removeprefix(str(path))}"
                     if message.startswith(str(path)) else f"Left out {path.name}: {message}")
        else:
            names = [p.name for p, _ in self._undecodable]
            said += (f"Left out {len(names)} files that cannot be decoded: "
                     + ", ".join(names[:3]) + (", …" if len(names) > 3 else ""))
        self._say(said, error=not self._inputs,
                  tip="\n".join(m.replace(str(p), p.name) for p, m in self._undecodable))
        self._update_buttons()

    def _on_changed(self) -> None:
        self._ran = False
        self._update_buttons()

    def clear_inputs(self) -> None:
        self._scan_serial += 1  # a folder still being listed is not added after all
        self._scans = 0
        self._unchecked, self._checking, self._undecodable = [], False, []
        self._inputs, self._folder_input, self._ran = [], False, False
        self.file_list.clear()
        self._say("")
        self._update_buttons()

    def _add_files_dialog(self) -> None:
        pattern = " ".join(f"*{e}" for e in READABLE_EXTENSIONS)
        pattern += " " + pattern.upper()
        paths, _ = QFileDialog.getOpenFileNames(self, "Add images", str(self._folder),
                                                f"Images ({pattern});;All files (*)")
        if paths:
            self._folder = Path(paths[0]).parent
            self.add_inputs(paths)

    def _add_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add the images of a folder",
                                                str(self._folder))
        if path:
            self._folder = Path(path)
            self.add_inputs([path])

    def _browse_output(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Save restored images to",
                                                self.output_edit.text() or str(self._folder))
        if path:
            self.output_edit.setText(path)

    def output_folder(self) -> Path:
        return Path(self.output_edit.text().strip()).expanduser()

    # ---------------------------------------------------------------- the run
    def running(self) -> bool:
        return self.job is not None

    def start(self) -> bool:
        """Plan the outputs and start; False, with the reason shown, if it cannot start."""
        if self.running() or not self._inputs or self.scanning():
            return False
        if not self.output_edit.text().strip():
            return self._refuse("Choose a folder to save to.")
        out = self.output_folder()
        try:
            if out.exists() and not out.is_dir():
                raise DRCNetError(f"{out} is a file; choose a folder to save to")
            if out.is_dir() and any(same_file(p.parent, out) for p in self._inputs):
                raise DRCNetError(f"{out} holds the images to restore; their outputs would "
                                  "replace them. Choose another folder (such as its "
                                  "restored/ folder).")
            pairs = plan_outputs(self._inputs, out, folder=True, name="the output")
            out.mkdir(parents=True, exist_ok=True)
            if (problem := folder_write_problem(out)) is not None:  # said now: a run had
                # restored every image and then failed to write each one
                raise DRCNetError(f"Nothing can be written into {out} ({problem}); choose "
                                  "another folder.")
        except DRCNetError as exc:
            return self._refuse(str(exc))
        except OSError as exc:
            return self._refuse(f"cannot create the folder {out}: {exc.strerror or exc}")
        keep = not self.existing_combo.currentData()
        if keep and all(dst.exists() for _, dst in pairs):  # a run again, say with new knobs
            every = f"All {len(pairs)} outputs exist" if len(pairs) > 1 else "The output exists"
            self.existing_combo.setFocus()
            return self._refuse(f"{every} in {out} already and would be kept: choose "
                                "“Replace it” to restore them again, or another folder.")
        self.results, self._run_folder = None, out
        self.log.clear()
        self.log.show()
        self.open_folder_button.hide()
        self.progress.setValue(0)
        self.progress.setFormat("%p %")  # not the last run's "3 of 3" or "stopped" while
        # this one waits for its first file
        self.progress.show()
        self._fit_height()
        self._unchecked = []  # the run tries them, and logs a failure
        self._runs += 1
        self.job = self.engine.batch(pairs, self.knobs, self.tiles,
                                     overwrite=not keep,
                                     strength=self.strength,
                                     keep_exif=self.exif_check.isChecked(),
                                     model=self.model)
        restoring = f"Restoring {len(pairs)} image{'s' * (len(pairs) != 1)}…"
        why = self._make_way() if self._make_way is not None and self.engine.restore_active() \
            else ""
        if not self.engine.restore_active():
            self._say(restoring)
        elif why is None:
            self._say(f"{restoring} (the window's full-resolution restore stops, and starts "
                      "again when this run ends)")
        else:  # the user asked for it (an export or copy waits for it): it finishes first
            self._say("Waiting for the window's full-resolution restore to finish"
                      + (f" ({why} waiting for it)…" if why else "…"))
        self._update_buttons()
        return True

    def _refuse(self, text: str) -> bool:
        """Say why Restore does not start, and take the last run's log, progress and Open
        Output Folder away: kept under this message, they read as this attempt's results.
        False, for :meth:`start` to return."""
        self.results = None
        self.log.clear()
        self.log.hide()
        self.progress.hide()
        self.open_folder_button.hide()
        self._say(text, error=True)
        return False

    def cancel(self) -> None:
        # A batch still waiting is dropped at once (its end arrives inside cancel_batch).
        if self.running() and self.engine.cancel_batch() and self.running():
            self._say("Cancelling after the tiles in progress…")
            self.close_button.setEnabled(False)

    def _on_progress(self, serial: int, p: BatchProgress) -> None:
        if self.job is None or serial != self.job.serial:
            return
        self.progress.setValue(round(1000 * p.fraction))
        self.progress.setFormat(f"{p.index + 1} of {p.count} · %p %")
        if p.result is None:
            self._say(f"{p.src.name}: {p.tile.message or 'restoring'}")
            return
        r = p.result
        if r.status == RESTORED:
            line = f"{r.src.name} → {r.dst}  ({r.seconds:.1f} s)"
            if r.range is not None and (r.range.out_of_range or r.range.repaired):
                line += f"\n    {'warning' if r.range.out_of_range else 'note'}: " \
                        f"{r.range.message()}"
            if r.note:
                line += f"\n    note: {r.note}"
        elif r.status == SKIPPED:
            line = f"{r.src.name}: skipped, {r.dst.name} exists"
        else:
            said = r.message.replace(str(r.src), r.src.name)  # the list shows the folder
            line = f"failed: {said}" if r.src.name in said else f"{r.src.name}: failed: {said}"
        self.log.appendPlainText(line)

    def _on_finished(self, serial: int, results: list[FileResult], cancelled: bool) -> None:
        if self.job is None or serial != self.job.serial:
            return
        self.job, self.results = None, results
        done = summary(results) if results else "nothing restored"
        self.progress.setValue(1000 if not cancelled else self.progress.value())
        if cancelled:  # the file it was on is not done: "3 of 5" had stood beside "2 of 5
            # restored"
            finished = sum(r.status != CANCELLED for r in results)
            self.progress.setFormat(f"stopped · {finished} of {len(results)} done"
                                    if results else "stopped")
        self._say(("Cancelled: " if cancelled else "Done: ") + done,
                  error=any(r.status == FAILED for r in results))
        self.open_folder_button.setVisible(any(r.status == RESTORED for r in results))
        self._ran = True
        self._update_buttons()

    def _on_failed(self, serial: int, message: str) -> None:
        if self.job is None or serial != self.job.serial:
            return
        self.job = None
        self._say(f"The batch failed: {message}", error=True)
        self._ran = True
        self._update_buttons()

    def _open_output(self) -> None:
        # The run's folder: the box may name the next run's by now (it had opened that).
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._run_folder
                                                        or self.output_folder())))

    # ---------------------------------------------------------------- looks
    def _say(self, text: str, error: bool = False, tip: str = "") -> None:
        self.status.setText(text)
        self.status.setToolTip(tip)
        self.status.setStyleSheet("color: #e06c6c;" if error else "")

    def _update_buttons(self) -> None:
        busy = self.running()
        self.remove_action.setEnabled(not busy)
        for w in (self.add_files_button, self.add_folder_button, self.clear_button,
                  self.output_edit, self.browse_button, self.existing_combo, self.exif_check):
            w.setEnabled(not busy)
        self.start_button.setEnabled(not busy and bool(self._inputs) and not self.scanning())
        self.close_button.setText("Cancel" if busy else "Close")
        self.start_button.setDefault(not self._ran)
        self.close_button.setDefault(self._ran)
        self.close_button.setEnabled(True)

    def reject(self) -> None:
        """Close, or while running, cancel first (the dialog stays until the batch stops)."""
        if self.running():
            self.cancel()
            return
        super().reject()

    def done(self, result: int) -> None:
        self._closed = True  # a folder still being listed reports to no one
        w = self.engine.worker
        for signal, slot in ((w.batchProgress, self._on_progress),
                             (w.batchFinished, self._on_finished),
                             (w.batchFailed, self._on_failed)):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        super().done(result)

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if event.key() == Qt.Key.Key_Escape:  # Esc cancels a run, as in the main window
            self.reject()
            return
        super().keyPressEvent(event)

    def remove_selected(self) -> None:
        """Take the selected images off the list (Delete, or the list's context menu)."""
        if self.running():
            return
        rows = sorted((self.file_list.row(i) for i in self.file_list.selectedItems()),
                      reverse=True)
        for row in rows:
            self.file_list.takeItem(row)
            del self._inputs[row]
        if rows:
            self._ran = False
            n = len(self._inputs)
            self._say(f"{n} image{'s' * (n != 1)} to restore" if n else "")
            self._update_buttons()

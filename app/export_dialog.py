"""The export dialog: what to export (restored image or a comparison), format and file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from drcnet.compare import check_sidecar_free, compose_size, sidecar_owner, sidecar_path
from drcnet.errors import ImageWriteError
from drcnet.imageio import (
    IMAGE_EXTENSIONS,
    RAW_EXTENSIONS,
    check_output_size,
    folder_write_problem,
    read_only,
    same_file,
)

FORMATS = {"png": ("PNG", ".png"), "jpeg": ("JPEG", ".jpg"), "tiff": ("TIFF", ".tif"),
           "webp": ("WebP (lossless)", ".webp"), "bmp": ("BMP", ".bmp")}
LAYOUT_LABELS = {
    "image": "&Restored image",
    "side": "Side &by side (input | restored)",
    "split": "S&plit at the current divider",
    "sheet": "Su&mmary sheet (input, output, maps, w/ vs w/o EA)",
}
SUFFIXES = {"image": "", "side": "_side", "split": "_split", "sheet": "_sheet"}


EXIF_TIP = ("PNG, JPEG, TIFF and WebP outputs keep the photo's EXIF: camera, lens, exposure and "
            "date (BMP has no place for it). The "
            "orientation is set upright; the thumbnail of the unrestored photo and any GPS "
            "location are removed. The colour profile is kept either way.")


@dataclass(frozen=True)
class ExportRequest:
    """What the user asked to export."""

    layout: str
    path: Path
    labels: bool = True
    sidecar: bool = True
    exif: bool = True  # keep the photo's EXIF in a restored-image export (carried_meta)
    jpeg_quality: int = 95  # a .jpg export's quality, 1-100
    # What was set when the user asked (knobs, strength, divider); an export waiting for the
    # full-resolution restore is made with what is set when it is written, and says so.
    asked: tuple[object, ...] | None = None


def default_name(stem: str, task: str, layout: str, ext: str) -> str:
    return f"{stem}_{task}{SUFFIXES[layout]}{ext}"


# Image formats a name may end in that Studio does not write: refused, not given a second
# extension (a name with another dot, "shot.v2", still gets the chosen format's).
OTHER_IMAGE_FORMATS = (".gif", ".heic", ".heif", ".avif", ".jxl", ".jp2", ".j2k", ".exr",
                       ".hdr", ".ico", ".svg", ".psd", ".tga", ".ppm", ".pgm", ".pbm",
                       *RAW_EXTENSIONS)


def _image_suffix(p: Path) -> bool:
    """Whether ``p`` ends in an image format's extension, one Studio writes or not: choosing
    a format replaces it (x.gif, JPEG: x.jpg, not x.gif.jpg)."""
    return p.suffix.lower() in IMAGE_EXTENSIONS or p.suffix.lower() in OTHER_IMAGE_FORMATS


def fit_width(dialog: QDialog, least: int) -> None:
    """Open ``dialog`` at least ``least`` px wide and as wide as its layout wants at the font
    in use, within the screen. A fixed minimum width switched the layout's own minimum off:
    at 14 pt the Export dialog opened 50 px too narrow, its texts cut and overlapping."""
    want = max(least, dialog.sizeHint().width())
    screen = dialog.screen().availableGeometry().width() if dialog.screen() else want
    dialog.resize(min(want, int(screen * 0.95)), dialog.sizeHint().height())


class ExportDialog(QDialog):
    """Choose layout, format and output file. :meth:`request` gives the answer."""

    def __init__(self, folder: Path, stem: str, task: str, split: float, bit_depth: int,
                 parent: QWidget | None = None, source: Path | None = None,
                 size: tuple[int, int] | None = None) -> None:
        super().__init__(parent)
        self._source = source  # the input photo, which an export never replaces
        self._size = size  # the photo's width and height, for the format's size limit
        self.setWindowTitle("Export")
        self._folder, self._stem, self._task = folder, stem, task
        self._edited = False
        self._replace_ok: Path | None = None  # a path the save dialog already asked about
        layout = QVBoxLayout(self)

        self.layout_group = QButtonGroup(self)
        self.layout_buttons: dict[str, QRadioButton] = {}
        for key, text in LAYOUT_LABELS.items():
            if key == "split":
                text += f" ({split:.0%})"
            b = QRadioButton(text)
            self.layout_group.addButton(b)
            self.layout_buttons[key] = b
            layout.addWidget(b)
        self.layout_buttons["image"].setChecked(True)

        form = QFormLayout()
        self.format_combo = QComboBox()
        for key, (label, _) in FORMATS.items():
            self.format_combo.addItem(label, key)
        fmt_row = QHBoxLayout()
        fmt_row.addWidget(self.format_combo, 1)
        self.quality_spin = QSpinBox()
        self.quality_spin.setRange(1, 100)
        self.quality_spin.setValue(95)
        self.quality_spin.setAccessibleName("JPEG quality")  # its prefix is not its name
        self.quality_spin.setPrefix("quality ")
        self.quality_spin.setToolTip("JPEG quality, 1-100 (95 keeps fine detail; chroma at "
                                     "half resolution, 4:2:0)")
        fmt_row.addWidget(self.quality_spin)
        form.addRow("&Format", fmt_row)
        form.labelForField(fmt_row).setBuddy(self.format_combo)
        row = QHBoxLayout()
        self.path_edit = QLineEdit()
        browse = QPushButton("Bro&wse…")
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        file_label = QLabel("F&ile")
        file_label.setBuddy(self.path_edit)  # Alt+I goes to the name, not the row
        form.addRow(file_label, row)
        layout.addLayout(form)

        self.labels_check = QCheckBox("&Label the panels (side by side, split)")
        self.labels_check.setChecked(True)
        self.sidecar_check = QCheckBox("Write the parameters to a &JSON sidecar (<name>.json)")
        self.sidecar_check.setChecked(True)
        self.exif_check = QCheckBox("&Keep the camera record in the restored image (EXIF; "
                                    "never the GPS location)")
        self.exif_check.setChecked(True)
        self.exif_check.setToolTip(EXIF_TIP)
        layout.addWidget(self.labels_check)
        layout.addWidget(self.sidecar_check)
        layout.addWidget(self.exif_check)
        depth = ("16-bit input: PNG and TIFF keep 16 bits; " if bit_depth == 16 else "")
        note = QLabel(depth + "task, t, δ, EA, weights SHA-256, device and tile go into the "
                      "sidecar, and into a PNG's own text (other formats hold none). The "
                      "photo's colour profile is kept, except by the summary sheet (an sRGB "
                      "figure). Files are written atomically and never over the input.")
        note.setWordWrap(True)
        note.setObjectName("hint")
        layout.addWidget(note)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        browse.clicked.connect(self._browse)
        self.path_edit.textEdited.connect(self._on_typed)
        self.format_combo.currentIndexChanged.connect(lambda _: self._update_path(True))
        self.layout_group.buttonToggled.connect(lambda *_: self._update_path())
        self._update_path()
        fit_width(self, 520)

    def layout_key(self) -> str:
        return next(k for k, b in self.layout_buttons.items() if b.isChecked())

    def set_layout_key(self, key: str) -> None:
        self.layout_buttons[key].setChecked(True)

    def set_choice(self, layout: str, fmt: str) -> None:
        """Start at a remembered layout and format (unknown names are passed over)."""
        if layout in self.layout_buttons:
            self.set_layout_key(layout)
        i = self.format_combo.findData(fmt)
        if i >= 0:
            self.format_combo.setCurrentIndex(i)

    def extension(self) -> str:
        return FORMATS[str(self.format_combo.currentData())][1]

    def _on_typed(self, text: str) -> None:
        """A name the user typed stays theirs; its image extension picks the format."""
        self._edited = True
        ext = Path(text).suffix.lower()
        key = next((k for k, (_, e) in FORMATS.items()
                    if e == {".jpeg": ".jpg", ".tiff": ".tif"}.get(ext, ext)), None)
        if key is not None and key != self.format_combo.currentData():
            self.format_combo.blockSignals(True)
            self.format_combo.setCurrentIndex(self.format_combo.findData(key))
            self.format_combo.blockSignals(False)

    def _update_path(self, format_changed: bool = False) -> None:
        """Follow the layout and format: the options that apply, and the file name. A name
        the user typed is kept; choosing a format then changes only its extension."""
        self.labels_check.setEnabled(self.layout_key() in ("side", "split"))
        self.exif_check.setEnabled(self.layout_key() == "image")
        ext = self.extension()
        self.quality_spin.setEnabled(ext == ".jpg")
        if self._edited and self.path_edit.text():
            if format_changed:
                p = Path(self.path_edit.text())
                p = p.with_suffix(ext) if _image_suffix(p) else \
                    p.with_name(p.name + ext)  # "v1.2": the dot is part of the name
                self.path_edit.setText(str(p))
            return
        name = default_name(self._stem, self._task, self.layout_key(), ext)
        self.path_edit.setText(str(self._folder / name))

    def _browse(self) -> None:
        filters = ";;".join(f"{label} (*{ext})" for label, ext in FORMATS.values())
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path_edit.text(), filters)
        if path:
            p = Path(path)
            chosen = p
            if p.suffix.lower() in OTHER_IMAGE_FORMATS:  # x.gif: another format, not a name
                p = p.with_suffix(self.extension())
            elif p.suffix.lower() not in IMAGE_EXTENSIONS:  # "v1.2": the dot is the name's
                p = p.with_name(p.name + self.extension())
            self.path_edit.setText(str(p))
            self._on_typed(str(p))
            # The file dialog asked about replacing the file it named, not one renamed since.
            self._replace_ok = p if p == chosen else None

    def path(self) -> Path:
        """The export path; a relative one is taken in the folder the dialog started in, and
        a name without an image extension gets the chosen format's."""
        p = Path(self.path_edit.text().strip()).expanduser()
        p = p if p.is_absolute() else self._folder / p
        if not _image_suffix(p) and self.path_edit.text().strip():
            p = p.with_name(p.name + self.extension())
        return p

    def accept(self) -> None:
        typed = self.path_edit.text().strip()
        where = Path(typed).expanduser()
        where = where if where.is_absolute() else self._folder / where  # as path() takes it
        if not typed or typed.endswith(("/", "\\")) or where.is_dir():
            QMessageBox.information(self, "Export", "Name the file to export to.")
            return  # back to the dialog
        other = Path(typed).suffix.lower()
        if other in OTHER_IMAGE_FORMATS:  # "x.gif" had become x.gif.png without a word
            QMessageBox.information(self, "Export", f"{other.lstrip('.').upper()} is not a "
                                    f"format Studio writes; choose one in Format "
                                    f"({', '.join(IMAGE_EXTENSIONS)}).")
            return
        p = self.path()
        if p.is_dir():
            QMessageBox.information(self, "Export", f"{p} is a folder; name a file.")
            return
        if not p.parent.is_dir():  # said now, not after the restore for the export has run
            QMessageBox.information(self, "Export", f"The folder {p.parent} does not exist; "
                                    "choose another (Browse…), or create it first.")
            return
        problem = folder_write_problem(p.parent)
        if problem is not None:  # also said now: it had failed after the restore ran
            QMessageBox.information(self, "Export", f"Nothing can be written into "
                                    f"{p.parent} ({problem}); choose another folder.")
            return
        if self._source is not None and p.exists() and same_file(p, self._source):
            QMessageBox.information(self, "Export", f"{p.name} is the input photo; an export "
                                    "never replaces it. Choose another name.")
            return  # not "Replace?" first and a refusal after
        if p.is_file() and read_only(p):  # refused now, not after the restore it waits for
            QMessageBox.information(self, "Export", f"{p} exists and is read-only; make it "
                                    "writable, or choose another name.")
            return
        size = (None if self._size is None else
                compose_size(self.layout_key(), *self._size))
        if size is not None:
            try:  # refused now, not once the restore for it has run
                check_output_size(p, *size)
            except ImageWriteError as exc:
                QMessageBox.information(self, "Export", str(exc))
                return
        if self.sidecar_check.isChecked():
            try:
                check_sidecar_free(p)
            except ImageWriteError as exc:  # someone's own JSON file: never replaced
                QMessageBox.information(self, "Export", str(exc))
                return
        if p.exists() and p != self._replace_ok and not self.confirm_replace(p):
            return  # back to the dialog to pick another name
        other = sidecar_owner(p) if self.sidecar_check.isChecked() else None
        if other is not None and not self.confirm_sidecar(p, other):
            return  # back to the dialog: another name, or no sidecar
        super().accept()

    def confirm_sidecar(self, path: Path, other: Path) -> bool:
        keeps = (f"{other.name} keeps its own copy in its PNG text." if other.suffix.lower()
                 == ".png" else f"{other.name} has no other copy of them.")
        answer = QMessageBox.question(
            self, "Replace parameters?",
            f"{sidecar_path(path).name} holds the parameters of {other.name}, another export. "
            f"Exporting {path.name} with a sidecar replaces them; {keeps}\n\n"
            "Replace them? (No goes back, to pick another name or untick the sidecar.)")
        return answer == QMessageBox.StandardButton.Yes

    def confirm_replace(self, path: Path) -> bool:
        answer = QMessageBox.question(
            self, "Replace file?", f"{path.name} already exists in {path.parent}.\n"
            "Do you want to replace it?")
        return answer == QMessageBox.StandardButton.Yes

    def request(self) -> ExportRequest:
        return ExportRequest(self.layout_key(), self.path(), self.labels_check.isChecked(),
                             self.sidecar_check.isChecked(), self.exif_check.isChecked(),
                             self.quality_spin.value())

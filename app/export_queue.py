"""The main window's exports and Copy: the Export dialog, the queue that writes each export
in turn once the full-resolution restore it needs is ready, and the clipboard copy that waits
for it the same way.

A mixin of :class:`app.main_window.MainWindow`: its methods use the window's state (the
image, the full result, the preview, the settings, the job pool) and are split out only to
keep that file short.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QLabel, QMessageBox

from drcnet.compare import (
    MAPS_SUFFIX,
    NOEA_TRAINED,
    ExportParams,
    carried_meta,
    check_maps_path,
    compose,
    export_note,
    sheet_title,
    write_export,
    write_maps,
)
from drcnet.errors import DRCNetError
from drcnet.imageio import IMAGE_EXTENSIONS
from drcnet.inference import TileConfig, apply_strength

from .export_dialog import ExportDialog, ExportRequest
from .viewer import alpha_qimage, straight_alpha


class ExportMixin:
    """The export and copy methods of the main window (see the module docstring)."""

    @property
    def _export(self) -> ExportRequest | None:
        """The next waiting export (others wait behind it)."""
        return self._exports[0] if self._exports else None

    def _drop_export(self) -> str:
        """Forget the waiting exports and copy (their image or model is gone); what to tell
        the user."""
        n = len(self._exports)
        what = [w for w, waiting in ((f"{n} exports" if n > 1 else "export", n),
                                     ("maps export", self._maps_export is not None),
                                     ("copy", self._copy_waiting)) if waiting]
        self._exports, self._copy_waiting, self._maps_export = [], False, None
        self._close_after_exports = False
        self._update_cancel_tip()
        one = len(what) == 1 and not what[0].endswith("exports")
        return f"the waiting {' and '.join(what)} {'was' if one else 'were'} cancelled" \
            if what else ""

    def _may_close(self) -> bool:
        """Whether the window may close now. With exports still waiting for the
        full-resolution restore it asks first (they had been dropped without a word):
        *Save* writes them and then closes, *Discard* closes without them, *Cancel* stays."""
        waiting = [r.path.name for r in self._exports]
        if self._maps_export is not None:  # waits for a preview: seconds, but asked alike
            waiting.append(self._maps_export.name)
        if not waiting or not self.interactive:
            return True
        names = ", ".join(waiting[:3]) + (f" and {len(waiting) - 3} more" if len(waiting) > 3
                                          else "")
        answer = QMessageBox.question(
            self, "Exports waiting",
            f"{'An export waits' if len(waiting) == 1 else f'{len(waiting)} exports wait'} "
            f"for the full-resolution restore ({names}).\n\nWrite "
            f"{'it' if len(waiting) == 1 else 'them'} before closing?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
        # The last answer counts: Cancel after an earlier Save had still closed the window
        # once the export was written.
        self._close_after_exports = answer == QMessageBox.StandardButton.Save
        if answer == QMessageBox.StandardButton.Discard:
            return True
        if self._close_after_exports:
            self.notice(f"Closing once {names} {'is' if len(waiting) == 1 else 'are'} "
                        "written…")
        return False

    def _close_if_asked(self) -> None:
        """Close the window once the exports it waited for are written."""
        if self._close_after_exports and not self._exports and not self._exporting \
                and self._maps_export is None:
            QTimer.singleShot(0, self.close)

    # ================================================================== maps
    def export_maps_dialog(self) -> None:
        """File ▸ Export Maps: every block's maps of the preview, as float32 arrays in a
        NumPy ``.npz`` (:func:`drcnet.compare.write_maps`), once the preview has them."""
        if not self._can_export():
            return
        folder = self._export_folder()
        name = f"{self.image.path.stem}_{self.info.task}_maps{MAPS_SUFFIX}"
        path, _ = QFileDialog.getSaveFileName(self, "Export maps", str(folder / name),
                                              f"NumPy arrays (*{MAPS_SUFFIX})")
        if not path:
            return
        p = Path(path)
        if p.suffix.lower() != MAPS_SUFFIX:  # a name typed without it
            p = p.with_name(p.name + MAPS_SUFFIX)
        try:
            check_maps_path(p, [self.image.path])
        except DRCNetError as exc:
            self._error("Export Maps failed", str(exc))
            return
        self._maps_export = p
        self._was_settled = False
        self._advance_maps_export()

    def _advance_maps_export(self) -> None:
        """Write the waiting maps export once the preview has maps for the current knobs."""
        p = self._maps_export
        if p is None or self.image is None or self.info is None:
            return
        a = self.preview.analysis if self.preview is not None else None
        if a is None or a.knobs != self.knobs() or not a.maps or self.preview.draft:
            self.request_preview()  # it probes while an export of maps waits (_wants_maps)
            self.notice("Export Maps waits for the maps…")
            return
        self._maps_export = None
        image, info = self.image, self.info
        h, w = a.restored.shape[:2]
        params = ExportParams.of_run(  # one pass over the preview: no tiles, one view
            info.task, a.knobs, info.weights.name, info.sha256, str(info.device),
            TileConfig(tile=0, repair=self._preview_repair), info.precision, layout="maps",
            input=image.path.name,
            analysis_size=max(h, w),
            range_check=a.range.summary() if a.range is not None else None)
        maps, source = a.maps, f"{w}x{h} preview of {image.path.name}"

        def done(path: Path) -> None:
            self.settings.set_export_folder(str(path.parent))
            self.notice(f"Exported the maps of {len(maps)} blocks ({w}×{h} preview) to "
                        f"{path}", 10000)
            self._check_settled()
            self._close_if_asked()

        def failed(message: str) -> None:
            self._close_after_exports = False  # the user reads why, and decides again
            self.notice("Export Maps failed", 8000)
            self._error("Export Maps failed", message)
            self._check_settled()

        self.statusBar().showMessage(f"Writing {p.name}…")
        self.jobs.run(lambda: write_maps(p, maps, params, source=source,
                                         inputs=[image.path]), done, failed)

    # ================================================================== export
    def _export_folder(self) -> Path:
        """Where the Export dialogs start: the last export's folder, else the photo's (a
        pasted or sample image's: not the application's own folders)."""
        from .main_window import is_app_folder  # here: main_window imports this module

        own = self.user_folder(self.image.path.parent)
        folder = Path(self.settings.export_folder() or own)
        return own if not folder.is_dir() or is_app_folder(folder) else folder

    def export_dialog(self) -> None:
        if not self._can_export():
            return
        dlg = ExportDialog(self._export_folder(), self.image.path.stem, self.controls.task(),
                           self.viewer.split_position(), self.image.bit_depth, self,
                           source=self.image.path,
                           size=(self.image.rgb.shape[1], self.image.rgb.shape[0]))
        dlg.exif_check.setChecked(self.settings.keep_exif())
        layout, fmt = self.settings.export_choice()  # as the last export was made, but not
        if fmt == "jpeg" and (self.image.bit_depth == 16  # JPEG for what it would lose
                              or self.image.alpha is not None):
            fmt = "png"
        dlg.set_choice(layout, fmt)
        dlg.quality_spin.setValue(self.settings.jpeg_quality())
        accepted = dlg.exec() == QDialog.DialogCode.Accepted
        request = dlg.request()
        fmt = str(dlg.format_combo.currentData())
        dlg.deleteLater()  # parented to the window: it would live as long as the window
        if accepted:
            if dlg.exif_check.isEnabled():  # the box applied: remember the answer
                self.settings.set_keep_exif(request.exif)
            self.settings.set_export_choice(request.layout, fmt)
            self.settings.set_jpeg_quality(request.jpeg_quality)
            self.export(request)

    def _can_export(self) -> bool:
        if self.image is None:
            QMessageBox.information(self, "Export", "Open an image first.")
            return False
        if self.info is None:
            self._no_model("Export", "export")
            return False
        return True

    def _no_model(self, title: str, what: str) -> None:
        """Say why ``what`` (a verb) cannot be done while no model is loaded."""
        if self.model_missing:
            text = (f"No trained {self.controls.task()} weights are installed, so there is "
                    f"nothing to {what}.\n\n{self.model_error}")
        elif not self.model_error:  # no failure: a moment's wait, not a critical error
            QMessageBox.information(self, title,
                                    "The model is still loading; try again in a moment.")
            return
        else:
            text = self.model_error
        self._error(title, text)

    # ================================================================== copy
    def copy_result(self) -> None:
        """Put the restored image on the clipboard: full resolution, at the current strength,
        as the views show it (a wide-gamut photo converted to sRGB, the input's transparency
        kept). Waits for the full-resolution restore if it is not done yet.

        Text selected in a label that has the focus (the model's details, the metrics) is
        copied as text instead: Ctrl+C means that there."""
        focus = QApplication.focusWidget()
        if isinstance(focus, QLabel) and focus.hasSelectedText():
            QApplication.clipboard().setText(focus.selectedText())
            return
        if self.image is None or self.info is None:
            self.statusBar().showMessage(
                "Nothing to copy: open an image first" if self.image is None
                else "Nothing to copy: no model is loaded", 6000)
            return
        self._copy_waiting = True
        self._update_cancel_tip()  # a restore running now drops it too: said at once
        self._was_settled = False
        self._advance_copy()

    def _full_ready(self, what: str) -> bool:
        """Whether the full-resolution result for the current settings is there; if not,
        start restoring it (unless that runs already) and say that ``what`` waits for it."""
        if self._full_current():
            return True
        if self._restore_job is None:
            self.start_full_restore()
        self.notice(f"{what} waits for the full-resolution restore…")
        return False

    def _advance_copy(self) -> None:
        if not self._copy_waiting or self.image is None or self.info is None:
            return
        if not self._full_ready("Copy"):
            return
        image, strength = self.image, self.strength()
        if not self._full_shows(strength) or self._full_qimage is None:
            self._remix_full()  # in the pool; its end comes back here
            return
        self._copy_waiting = False
        self._update_cancel_tip()
        qimage = self._full_qimage
        if alpha_qimage(image.alpha) is not None:  # some pixel not opaque
            qimage = straight_alpha(qimage, image.alpha)
        QApplication.clipboard().setImage(qimage)
        h, w = image.rgb.shape[:2]
        self.statusBar().showMessage(
            f"Copied the restored image ({w}×{h}{self._strength_caption()}) to the clipboard",
            6000)
        self._check_settled()

    def export(self, request: ExportRequest) -> None:
        """Export as ``request`` says once the full-resolution result (and, for a sheet,
        the maps and EA pair) are ready."""
        if not self._can_export():
            return
        ext = request.path.suffix.lower()
        if ext not in IMAGE_EXTENSIONS:
            what = (f"{ext.lstrip('.').upper()} is not a format Studio writes" if ext else
                    f"“{request.path.name}” has no file extension")
            self._error("Export failed", f"{what}; use one of {', '.join(IMAGE_EXTENSIONS)}.")
            return
        if self._exports or self._exporting:  # each is written in turn, none replaced
            self.notice(f"Export of {request.path.name} waits for the one before it", 5000)
        self._exports.append(replace(request, asked=self._export_settings(request.layout)))
        self._update_cancel_tip()
        self._was_settled = False
        self._advance_export()

    def _export_settings(self, layout: str) -> tuple[object, ...]:
        """What an export of ``layout`` is made with, beside the model: the knobs, the
        strength and, for a split, the divider."""
        split = round(self.viewer.split_position(), 3) if layout == "split" else None
        return (self.knobs(), round(self.strength(), 3), split)

    def _changed_note(self, req: ExportRequest) -> str:
        """Said when the settings changed while the export waited (it is made with the new
        ones, as its record says)."""
        if req.asked is None or req.asked == self._export_settings(req.layout):
            return ""
        from .main_window import knob_caption  # here: main_window imports this module

        knobs, strength, split = self._export_settings(req.layout)
        now = [knob_caption(knobs)]
        if strength < 1.0:
            now.append(f"strength {strength * 100:.0f} %")
        if split is not None:
            now.append(f"split {split:.0%}")
        return (f"made with the settings as they are now ({', '.join(now)}): they changed "
                "while it waited")

    def _advance_export(self) -> None:
        req = self._export
        if req is None or self._exporting or self.image is None or self.info is None:
            return
        if not self._full_ready("Export"):
            return
        a = self.preview.analysis if self.preview is not None else None
        if req.layout == "sheet" and (a is None or a.knobs != self.knobs() or not a.maps
                                      or a.with_ea is None or self.preview.draft):
            self.request_preview()
            self.notice("Export waits for the maps…")
            return
        self._exports.pop(0)
        self._update_cancel_tip()
        self._exporting = True
        image, full, info = self.image, self.full, self.info
        noea = None
        if req.layout == "sheet" and a is not None:
            noea = a.without_ea_source
            if info.noea_weights is not None and a.without_ea_source == NOEA_TRAINED:
                noea += f": {info.noea_weights.name} sha256 {info.noea_sha256}"
        params = ExportParams.of_run(
            info.task, full.knobs, info.weights.name, info.sha256, full.device, full.tiles,
            full.precision, layout=req.layout,
            split=round(self.viewer.split_position(), 4) if req.layout == "split" else None,
            block=self.maps.block() if req.layout == "sheet" else None,
            colormap=self.maps.cmap() if req.layout == "sheet" else None, noea=noea,
            input=image.path.name, strength=self.strength(),
            range_check=full.range.summary() if full.range is not None else None,
            analysis_size=(max(a.restored.shape[:2]) if req.layout == "sheet" and a is not None
                           else None),
            jpeg_quality=(req.jpeg_quality if req.path.suffix.lower() in (".jpg", ".jpeg")
                          else None))
        split = self.viewer.split_position()
        block, cmap = self.maps.block(), self.maps.cmap()

        def write() -> Path:
            restored = apply_strength(image.restorable, full.restored, params.strength)
            rgb = compose(req.layout, image.rgb, restored, split=split,
                          labels=req.labels, analysis=a, block=block,
                          title=sheet_title(params), cmap=cmap, alpha=image.alpha,
                          icc=image.icc, strength=params.strength)
            depth = 8 if req.layout == "sheet" else image.bit_depth
            alpha = image.alpha if req.layout == "image" else None
            return write_export(req.path, rgb, params, inputs=[image.path], bit_depth=depth,
                                alpha=alpha, sidecar=req.sidecar,
                                gray=image.gray and req.layout == "image",
                                jpeg_quality=req.jpeg_quality,
                                **carried_meta(req.layout, image.icc,
                                               image.exif if req.exif else None,
                                               image.dpi, image.png_text))

        self.statusBar().showMessage(f"Writing {req.path.name}…")
        lost = "; ".join(n for n in (export_note(image, req.path, req.layout, req.exif),
                                     self._changed_note(req)) if n)
        self.jobs.run(write, lambda path: self._on_exported(path, lost),
                      self._on_export_failed)

    def _on_exported(self, path: Path, lost: str = "") -> None:
        """``lost``: what the format could not keep of the exported image."""
        self._exporting = False
        self.settings.set_export_folder(str(path.parent))
        self.notice(f"Exported {path}" + (f" · {lost}" if lost else ""), 10000)
        self.exported.emit(str(path))
        self._advance_export()  # the next one waiting, if any
        self._check_settled()
        self._close_if_asked()

    def _on_export_failed(self, message: str) -> None:
        self._exporting = False
        self._close_after_exports = False  # the user reads why, and decides again
        self.notice("Export failed", 8000)
        self._error("Export failed", message)
        self._advance_export()
        self._check_settled()

"""The main window's EA ± view: where its pair comes from, its label and pixel values, and,
zoomed in, the area in view with and without energy attention at full resolution
(:func:`drcnet.inference.ea_area_pair`, run by the worker as an :class:`EAAreaJob`).

A mixin of :class:`app.main_window.MainWindow`: its methods use the window's state (the
preview, the knobs, the engine, the viewer) and are split out only to keep that file short.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect

from drcnet.inference import Box, clip_box

from .workers import EAAreaJob, EAAreaResult

EA_AREA_MARGIN = 64  # image pixels round the area in view, so small pans need nothing new
EA_AREA_SHARE = 0.5  # no full-resolution pair for a view of more of the image than this


class EAViewMixin:
    """The EA view's methods of the main window (see the module docstring)."""

    def _ea_view(self) -> Box | None:
        """The area the EA view shows, when it shows it at more than the preview's resolution
        and it is at most half the image (else ``None``: the pair for most of the image
        would cost two whole restores, and the preview's pair shows it)."""
        return self._zoomed_box(self.viewer.ea_visible_area(), EA_AREA_SHARE)

    def _ea_fits(self, made: EAAreaJob | EAAreaResult | None, view: Box | None = None) -> bool:
        """Whether ``made`` is for the current knobs, tiles and precision (and covers
        ``view``)."""
        if made is None or made.knobs != self.knobs() or not self._same_output(made.tiles):
            return False
        if isinstance(made, EAAreaResult) and self.info is not None \
                and made.precision != self.info.precision:
            return False
        if view is None:
            return True
        (y, x, h, w), (my, mx, mh, mw) = view, made.box
        return my <= y and mx <= x and y + h <= my + mh and x + w <= mx + mw

    def _request_ea_area(self) -> None:
        """Ask for the EA view's area at full resolution, unless it is there or coming. A
        full-resolution restore gives way (the EA view does not show it); it starts again
        once the area is done."""
        view = self._ea_view()
        a = self.preview.analysis if self.preview is not None else None
        if (view is None or self.image is None or self.info is None or a is None
                or a.with_ea is None or a.knobs != self.knobs() or self._ea_gain is None
                or self._latest_draft or self._sharpen.isActive()
                or self._ea_fits(self._ea_area, view) or self._ea_fits(self._ea_job, view)
                or self._ea_fits(self._ea_failed, view)):
            self._check_settled()
            return
        self.engine.cancel_ea_area()  # one for another area or other settings
        if self._restore_job is not None:
            self.cancel_restore(quiet=True)
            self._gave_way = True
        m = EA_AREA_MARGIN
        y, x, h, w = view
        box = clip_box((y - m, x - m, h + 2 * m, w + 2 * m), *self.image.rgb.shape[:2])
        self._ea_job = self.engine.ea_area(self.image.restorable, self.knobs(), self._tiles(), box,
                                           self._ea_gain, self._icc())
        self._was_settled = False

    def _drop_ea_area(self) -> None:
        """Stop a running EA area (another image, task or model; other knobs)."""
        if self._ea_job is not None:
            self._ea_job = None
            self.engine.cancel_ea_area()

    def _on_ea_area(self, result: EAAreaResult) -> None:
        if self._ea_job is None or result.serial != self._ea_job.serial:
            self._check_settled()
            return
        self._ea_job = None
        self._ea_area = result
        self._show_ea_area()
        self._idle.start()  # a full-resolution restore may be due, given way to the area
        self._check_settled()

    def _on_ea_area_ended(self, serial: int, message: str) -> None:
        if self._ea_job is not None and serial == self._ea_job.serial:
            if message:  # not asked again for these settings and this area
                self._ea_failed = self._ea_job
                self.statusBar().showMessage(
                    f"The full-resolution EA comparison failed: {message}", 10000)
            self._ea_job = None
            self._idle.start()
        self._check_settled()

    def _show_ea_area(self) -> None:
        """The EA view's full-resolution pieces, when they are for what is shown."""
        made = self._ea_area if self._ea_fits(self._ea_area) else None
        if made is not self._ea_shown:
            self._ea_shown = made
            if made is None:
                self.viewer.set_ea_detail(None, None)
            else:
                y, x, h, w = made.box
                self.viewer.set_ea_detail(QRect(x, y, w, h), made.images)
        view = self._ea_view()
        if made is None or view is None or not self._ea_fits(made, view):
            self.viewer.ea_label.setText(self._ea_caption())  # no claim once zoomed out or away
        else:
            h, w = made.box[2:]
            self.viewer.ea_label.setText(self._ea_caption(f"full resolution in view "
                                                          f"({w}×{h}, {made.seconds:.1f} s)"))

    def _ea_caption(self, extra: str = "") -> str:
        """The EA view's label: where its pair comes from, the knobs, and that the pair is
        the network's two outputs at full strength whatever the Strength (which mixes only
        the restored image)."""
        if not self._ea_source:
            return ""
        parts = [self._ea_source, extra] if extra else [self._ea_source]
        if self.strength() < 1.0:
            parts.append("both at full strength")
        return " · ".join(parts)

    def _ea_pixel(self, x: int, y: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The EA pair's values at image pixel (x, y), as the EA view draws them: from the
        full-resolution area where it is shown, else from the preview (full strength)."""
        made = self._ea_shown
        if made is not None:
            by, bx, bh, bw = made.box
            if 0 <= y - by < bh and 0 <= x - bx < bw:
                return made.with_ea[y - by, x - bx], made.without_ea[y - by, x - bx]
        a = self.preview.analysis if self.preview is not None else None
        if a is None or a.with_ea is None or a.without_ea is None or self.image is None:
            return None
        py, px = self._preview_pixel(x, y, a.with_ea.shape)
        return a.with_ea[py, px], a.without_ea[py, px]

"""The image viewer: before, after, compare (split or side by side) and w/ vs w/o EA.

Every canvas draws in *full-image coordinates*: a layer of any resolution (a preview, a map
at a block's resolution) is stretched over the whole image, so a 512-pixel preview and the
full-resolution result line up, and the pixel readout always speaks of input pixels. All
canvases share one :class:`ViewState`, which keeps zoom and pan synchronised.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QObject,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QColorSpace,
    QCursor,
    QFocusEvent,
    QFont,
    QFontMetrics,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QTextOption,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QBoxLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

# qimage2ndarray picks its Qt binding from QT_DRIVER (it would look for PyQt5 first).
os.environ.setdefault("QT_DRIVER", "PySide6")
import qimage2ndarray  # noqa: E402

from drcnet.colour import matrix_profile  # noqa: E402
from drcnet.compare import CHECKER  # noqa: E402

MIN_SCALE, MAX_SCALE = 0.02, 64.0
PAN_STEP, PAN_SHIFT_STEP = 0.1, 0.5  # shares of the view an arrow key pans
DIVIDER_STEP = 0.05  # share of the width [ and ] move the compare divider
PROBE_SHIFT_STEP = 10  # image pixels Ctrl+Shift+arrows move the pixel probe
BACKGROUND = QColor(32, 33, 36)
DIVIDER_GRAB = 8  # pixels either side of the divider that grab it
# A message's distance from the edges of the area it is about: clear of the divider's handle
# (9 px each side), which had covered the first letter of one on the right of a split.
MESSAGE_MARGIN = 16
CANVAS_MARGIN = 8  # pixels round the whole image at Fit
PANE_SPACING = 2  # pixels between the panes of Side by side and EA ±
ARRANGE_GAIN = 1.05  # how much larger another arrangement must show the image to be taken


def to_qimage(rgb: np.ndarray, icc: bytes | None = None) -> QImage:
    """An ``H×W×3`` float [0, 1] (or uint8) RGB array as a QImage that owns its pixels.

    ``icc``: the colour profile of the photo the pixels belong to (``Image.icc``); the image
    is then converted to sRGB, as screens are taken to be, so a wide-gamut photo (Display P3,
    Adobe RGB) shows its real colours instead of looking duller: about 50 ms more at
    12 MP on this project's 2-core machine (scripts/view_ops.py, docs/eval/view_ops.txt).
    No profile, an unreadable one or an sRGB one: the pixels as they are."""
    if rgb.dtype != np.uint8:
        rgb = np.round(np.clip(np.nan_to_num(rgb), 0.0, 1.0) * 255.0).astype(np.uint8)
    image = qimage2ndarray.array2qimage(rgb)
    space = display_space(icc)
    if space is not None:
        image.setColorSpace(space)
        image = image.convertedToColorSpace(SRGB)
    return image


def from_qimage(image: QImage) -> tuple[np.ndarray, np.ndarray | None]:
    """A QImage's pixels as ``H×W×3`` float32 RGB in [0, 1], and its alpha as ``H×W`` (or
    ``None`` when it has none or is opaque)."""
    has_alpha = image.hasAlphaChannel()
    argb = image.convertToFormat(QImage.Format.Format_ARGB32 if has_alpha
                                 else QImage.Format.Format_RGB32)  # held while read below
    rgb = qimage2ndarray.rgb_view(argb).astype(np.float32) / 255
    alpha = qimage2ndarray.alpha_view(argb).astype(np.float32) / 255 if has_alpha else None
    if alpha is not None and float(alpha.min()) >= 1.0:
        alpha = None
    return rgb, alpha


SRGB = QColorSpace(QColorSpace.NamedColorSpace.SRgb)


def display_space(icc: bytes | None) -> QColorSpace | None:
    """The colour space of an RGB ICC profile when showing it needs a conversion to sRGB;
    ``None`` for no profile, an sRGB one, or one Qt cannot use (gray, CMYK, broken). Only
    the matrix profiles the summary sheet converts too (:func:`drcnet.colour.
    matrix_profile`): a LUT profile Qt would convert and the sheet not had made the views and
    the sheet disagree by up to 118 levels (and Qt showed some at half brightness)."""
    if not icc or icc[16:20] != b"RGB " or matrix_profile(icc) is None:
        return None
    return _parsed_space(icc)


@functools.lru_cache(maxsize=8)
def _parsed_space(icc: bytes) -> QColorSpace | None:
    """Parsed once per profile: every preview and Strength step shows the same photo (and
    a broken profile's Qt warning is logged once, not per view)."""
    space = QColorSpace.fromIccProfile(QByteArray(icc))
    if not space.isValid() or space == SRGB:
        return None
    return space


def spoken(caption: str) -> str:
    """A caption as a screen reader should say it: "|difference| × 50" as "Difference"."""
    words = caption.replace("|", "").split(" × ")[0].strip()
    return words[:1].upper() + words[1:]


def straight_alpha(image: QImage, alpha: np.ndarray) -> QImage:
    """``image``'s colours with ``alpha`` (``H×W`` float [0, 1]) as an ARGB32 image, the
    colours kept as they are (not premultiplied: QImage.setAlphaChannel premultiplies, which
    left a pixel at alpha 5/255 five colour levels) and black where fully transparent."""
    rgb32 = image.convertToFormat(QImage.Format.Format_RGB32)  # held while its view is read
    rgb = qimage2ndarray.rgb_view(rgb32).copy()
    a = np.round(np.clip(np.nan_to_num(alpha, nan=1.0), 0.0, 1.0) * 255.0).astype(np.uint8)
    rgb[a == 0] = 0
    out = qimage2ndarray.array2qimage(np.dstack([rgb, a]))  # Format_ARGB32, straight
    out.setColorSpace(image.colorSpace())
    return out


def alpha_qimage(alpha: np.ndarray | None) -> QImage | None:
    """An ``H×W`` float [0, 1] alpha channel as a grayscale QImage for :meth:`Viewer.set_input`;
    ``None`` for no alpha or one that is opaque everywhere (nothing to show)."""
    if alpha is None:
        return None
    a = np.round(np.clip(np.nan_to_num(alpha, nan=1.0), 0.0, 1.0) * 255.0).astype(np.uint8)
    if a.size == 0 or int(a.min()) == 255:
        return None
    h, w = a.shape
    return QImage(a.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


_CHECKER: QBrush | None = None


def checker_brush() -> QBrush:
    """The grey checkerboard drawn under transparent pixels, as image editors do (the greys of
    :data:`drcnet.compare.CHECKER`, so exports show transparency the same way)."""
    global _CHECKER
    if _CHECKER is None:
        dark, light = (QColor.fromRgbF(c, c, c) for c in CHECKER)
        tile = QPixmap(16, 16)
        tile.fill(light)
        p = QPainter(tile)
        p.fillRect(0, 0, 8, 8, dark)
        p.fillRect(8, 8, 8, 8, dark)
        p.end()
        _CHECKER = QBrush(tile)
    return _CHECKER


def fit_caption(fm: QFontMetrics, text: str, room: int) -> str:
    """``text`` shortened to ``room`` pixels: a caption such as "Restored · preview 512×320 ·
    t 0.75 · δ 1e-06 · EA on" first loses the part after its name (which resolution), then
    its name, so the knobs stay readable; only then is it cut with "…". A map overlay's part
    ("overlay stage2.enc3 m 60 %", last) is cut to "overlay" before anything else goes (the
    Maps panel names it in full)."""
    parts = text.split(" · ")
    candidates = [text]
    if parts[-1].startswith("overlay "):
        parts[-1] = "overlay"
        candidates.append(" · ".join(parts))
    if len(parts) >= 3:
        candidates += [" · ".join([parts[0], *parts[2:]]), " · ".join(parts[2:])]
    for candidate in candidates:
        if fm.horizontalAdvance(candidate) <= room:
            return candidate
    return fm.elidedText(candidates[-1], Qt.TextElideMode.ElideRight, room)


# The outlines' colours (RGB): areas out of the model's range, and areas the repair brought
# back; amber against blue stays apart for the common colour-vision deficiencies.
MARK_COLOURS = {"flagged": (255, 184, 28), "repaired": (90, 170, 255)}
EA_PENDING = "The w/ vs w/o EA comparison appears after the next preview."


def fit_cap_for(dpr: float) -> float:
    """The largest scale Fit enlarges to on a display of device pixel ratio ``dpr``: one
    image pixel per logical pixel, as other applications show an image, when that is a whole
    number of screen pixels (2 on a 2× display, where one per screen pixel looked like a
    postage stamp), else the whole number of screen pixels below it (1 on a 1.5× display, 2
    on a 2.5× one), so it is drawn crisp."""
    return max(1, math.floor(dpr + 1e-9)) / dpr


def enlarged_scale_for(whole: float, dpr: float) -> float:
    """The largest whole number of screen pixels per image pixel under ``whole`` (the scale
    that just fills the view), at least :func:`fit_cap_for`, within the zoom limit."""
    one = 1.0 / dpr
    times = max(1, math.floor(whole / one + 1e-9))
    return min(max(times * one, fit_cap_for(dpr)), MAX_SCALE)


def fit_scale_for(whole: float, dpr: float, enlarge: bool) -> float:
    """The scale Fit shows an image at, ``whole`` being the one at which it just fills the
    view: shrunk to the view, never enlarged past :func:`fit_cap_for`, or with ``enlarge``
    (:attr:`ViewState.enlarge_small`) enlarged by the largest whole multiple of a screen
    pixel that fits. The canvases and the panes' arrangement (:meth:`Viewer._arrange`) both
    use it."""
    cap = fit_cap_for(dpr)
    if whole * dpr <= 1:  # shrunk: drawn smoothed, as any shrunk image
        return whole
    if whole <= cap:  # between one screen pixel and the cap (a 2× display, a narrow
        # view): a whole number of screen pixels, or it is drawn soft or uneven
        return math.floor(whole * dpr + 1e-9) / dpr
    return enlarged_scale_for(whole, dpr) if enlarge else cap


class ViewState:
    """Zoom and pan shared by canvases: *fit* (whole image visible) or an explicit scale
    (screen pixels per image pixel) around a centre in image coordinates."""

    def __init__(self) -> None:
        self.fit = True
        # Fit enlarges an image smaller than the view only when asked (View ▸ Enlarge Small
        # Images to Fit), and then by a whole multiple, drawn crisp: the bundled 451×300 noisy
        # sample, fitted to a 1440×900 window at 169 % (docs/gui/strength.jpg before session
        # 27), was drawn soft and looked less noisy than it is.
        self.enlarge_small = False
        # The pixel the keyboard's probe is on (Ctrl+arrows), shared by the canvases, or None:
        # the pixel readout without a mouse.
        self.probe: QPoint | None = None
        self.scale = 1.0
        self.center = QPointF()
        self.canvases: list[ImageCanvas] = []
        self.changed: Callable[[], None] | None = None  # called after zoom or pan changes

    def set(self, scale: float, center: QPointF, clamp: bool = True,
            rehover: bool = True) -> None:
        """Zoom to ``scale`` around ``center``. ``clamp``: keep the centre on the image, so
        it cannot be panned away (a zoom about a pixel under the pointer needs none: that
        pixel stays put). ``rehover``: name the pixel under a still pointer again (not from
        a mouse event, which names it itself)."""
        self.fit = False
        self.scale = float(np.clip(scale, MIN_SCALE, MAX_SCALE))
        size = next((c.image_size for c in self.canvases if not c.image_size.isEmpty()), None)
        if clamp and size is not None:
            center = QPointF(float(np.clip(center.x(), 0, size.width())),
                             float(np.clip(center.y(), 0, size.height())))
        self.center = QPointF(center)
        self.update(rehover)

    def set_fit(self) -> None:
        self.fit = True
        self.update()

    def update(self, rehover: bool = True) -> None:
        for c in self.canvases:
            c.update()
            # Zoomed or panned by key: the pointer is over another pixel now, unless the
            # keyboard's probe is what the readout reads (it stays on its pixel).
            if rehover and self.probe is None and c.underMouse() and c.isVisible():
                c._emit_hover(QPointF(c.mapFromGlobal(QCursor.pos())))
        if self.changed is not None:
            self.changed()


class ImageCanvas(QWidget):
    """Paints one image (or two, split by a draggable divider) with an optional overlay.

    Signals:
        hovered(x, y): the image pixel under the mouse, ``(-1, -1)`` outside the image.
        splitMoved(position): the divider was dragged to ``position`` (0..1 of the width).
        probeMoved(x, y): a key moved the pixel probe to ``(x, y)`` (after ``hovered``).
    """

    hovered = Signal(int, int)
    splitMoved = Signal(float)
    probeMoved = Signal(int, int)

    def __init__(self, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        state.canvases.append(self)
        self.image_size = QSize()
        self.primary: QPixmap | None = None
        self.secondary: QPixmap | None = None
        self.split = False
        self.split_position = 0.5
        self.overlay: QPixmap | None = None
        self.overlay_opacity = 0.6
        # A full-resolution piece of the restored image (its area in image pixels) drawn
        # over the restored layer, which may be a stretched preview (Viewer.set_detail).
        self.detail: tuple[QRectF, QPixmap] | None = None
        self.marks: list[QRectF] = []  # outlined areas, in image pixels: out of range
        self.repaired_marks: list[QRectF] = []  # and repaired (MARK_COLOURS)
        self._caption_texts: tuple[str, str] = ("", "")
        self.placeholder = ""
        self.secondary_placeholder = ""
        self._drag: str | None = None
        self._last = QPointF()
        self.setMouseTracking(True)
        self.setMinimumSize(160, 120)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # Tab reaches it: arrows pan
        self.setAccessibleName("Image view")  # its captions are its description
        self._key_focus = False  # focus came from the keyboard: show it

    @property
    def captions(self) -> tuple[str, str]:
        """The left (or only) and right captions painted over the view."""
        return self._caption_texts

    @captions.setter
    def captions(self, value: tuple[str, str]) -> None:
        self._caption_texts = value
        # Painted text a screen reader cannot see: it reads this description instead, and
        # the captions' first words name the view ("Input", "With EA"): every canvas had
        # been "Image view", four of them at once in the EA view.
        self.setAccessibleDescription(" | ".join(c for c in value if c))
        names = [spoken(c.split(" · ")[0]) for c in value if c]
        self.setAccessibleName(" and ".join(names) if names else "Image view")

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(event)
        if self.isVisible() and self.state.changed is not None:
            self.state.changed()  # the visible area changed

    # ------------------------------------------------------------------ geometry
    def fit_scale(self) -> float:
        """The whole image in view: :func:`fit_scale_for` this view."""
        return fit_scale_for(self.whole_scale(), self.devicePixelRatioF(),
                             self.state.enlarge_small)

    def fit_cap(self) -> float:
        """The largest scale Fit enlarges to (:func:`fit_cap_for`)."""
        return fit_cap_for(self.devicePixelRatioF())

    def whole_scale(self) -> float:
        """The scale at which the image just fills the view (less a margin)."""
        if self.image_size.isEmpty():
            return 1.0
        w = max(1, self.width() - 2 * CANVAS_MARGIN)
        h = max(1, self.height() - 2 * CANVAS_MARGIN)
        return min(w / self.image_size.width(), h / self.image_size.height())

    def enlarged_scale(self) -> float:
        """The largest whole number of screen pixels per image pixel at which the image fits
        the view (at least :meth:`fit_cap`), within the zoom limit."""
        return enlarged_scale_for(self.whole_scale(), self.devicePixelRatioF())

    def transform(self) -> tuple[float, QPointF]:
        """(scale, widget position of image pixel (0, 0))."""
        if self.state.fit:
            s = self.fit_scale()
            c = QPointF(self.image_size.width() / 2, self.image_size.height() / 2)
        else:
            s, c = self.state.scale, self.state.center
        return s, QPointF(self.width() / 2 - c.x() * s, self.height() / 2 - c.y() * s)

    def to_image(self, pos: QPointF) -> QPointF:
        s, o = self.transform()
        return QPointF((pos.x() - o.x()) / s, (pos.y() - o.y()) / s)

    def _explicit(self) -> tuple[float, QPointF]:
        """The current scale and centre, turning *fit* into explicit values."""
        if self.state.fit:
            c = QPointF(self.image_size.width() / 2, self.image_size.height() / 2)
            return self.fit_scale(), c
        return self.state.scale, QPointF(self.state.center)

    def zoom_at(self, factor: float, pos: QPointF | None = None, rehover: bool = True) -> None:
        if self.image_size.isEmpty():
            return
        s, c = self._explicit()
        if (factor > 1 and s >= MAX_SCALE) or (factor < 1 and s <= MIN_SCALE):
            return  # a tiny image fits above the zoom range, a panorama below it: clipping
            # to the range would move the other way than asked
        pos = QPointF(self.width() / 2, self.height() / 2) if pos is None else pos
        p = self.to_image(pos)
        s2 = float(np.clip(s * factor, MIN_SCALE, MAX_SCALE))
        centre = QPointF(p.x() - (pos.x() - self.width() / 2) / s2,
                         p.y() - (pos.y() - self.height() / 2) / s2)
        on_image = 0 <= p.x() <= self.image_size.width() and 0 <= p.y() <= self.image_size.height()
        self.state.set(s2, centre, clamp=not on_image, rehover=rehover)

    def divider_x(self) -> float:
        s, o = self.transform()
        return o.x() + self.split_position * self.image_size.width() * s

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt name)
        p = QPainter(self)
        p.fillRect(self.rect(), BACKGROUND)
        if self.image_size.isEmpty():
            self._text(p, self.placeholder or "No image", self.rect())
            return
        s, o = self.transform()
        target = QRectF(o.x(), o.y(), self.image_size.width() * s, self.image_size.height() * s)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._smooth(None, s))
        if self.split:
            x = self.divider_x()
            left = QRectF(target.left(), target.top(), max(0.0, x - target.left()),
                          target.height())
            right = QRectF(x, target.top(), max(0.0, target.right() - x), target.height())
            self._layer(p, self.primary, target, left, self.placeholder)
            self._layer(p, self.secondary, target, right, self.secondary_placeholder)
            self._detail(p, s, o, right, self.secondary)
        else:
            self._layer(p, self.primary, target, QRectF(self.rect()), self.placeholder)
            self._detail(p, s, o, QRectF(self.rect()), self.primary)
        if self.overlay is not None and self.overlay_opacity > 0:
            p.setOpacity(self.overlay_opacity)
            p.drawPixmap(target, self.overlay, QRectF(self.overlay.rect()))
            p.setOpacity(1.0)
        if self.marks or self.repaired_marks:  # on the result only: right of a divider
            x = self.divider_x() if self.split else target.left()
            self._marks(p, s, o, QRectF(x, target.top(), max(0.0, target.right() - x),
                                        target.height()))
        if self.split:
            self._divider(p, target)
        if self.state.probe is not None:
            self._probe(p, s, o)
        self._captions(p)
        if self._key_focus and self.hasFocus():  # where the arrow keys go
            p.setPen(QPen(self.palette().highlight().color(), 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRectF(self.rect()).adjusted(1, 1, -1, -1))

    def _smooth(self, pm: QPixmap | None, s: float, width: float | None = None) -> bool:
        """Whether to draw ``pm`` (None: a map overlay), which covers ``width`` image pixels
        (the whole image's by default), smoothly at zoom ``s``: when shrinking or mildly
        enlarging; crisp pixels when peeping at 2× and up (screen pixels: on a 2× display,
        from 100 % of the status bar), but only the image's own pixels. A preview or draft,
        a fraction of the photo's size, stays smooth, or its pixels would show as blocks
        like a tiling failure."""
        full = self.image_size.width() if width is None else width
        if pm is not None and pm.width() < full:
            return True
        return s * self.devicePixelRatioF() < 2.0

    def _layer(self, p: QPainter, pm: QPixmap | None, target: QRectF, clip: QRectF,
               placeholder: str) -> None:
        p.save()
        p.setClipRect(clip)
        if pm is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform,
                            self._smooth(pm, target.width() / self.image_size.width()))
            if pm.hasAlphaChannel():  # transparent pixels show a checkerboard, not black
                p.fillRect(target, checker_brush())
            p.drawPixmap(target, pm, QRectF(pm.rect()))
        else:
            p.fillRect(target, QColor(44, 45, 50))
            if placeholder:
                self._text(p, placeholder, clip.intersected(QRectF(self.rect())).toRect())
        p.restore()

    def _detail(self, p: QPainter, s: float, o: QPointF, clip: QRectF,
                under: QPixmap | None) -> None:
        """The full-resolution piece over the restored layer it belongs to (none over a
        placeholder)."""
        if self.detail is None or under is None:
            return
        area, pm = self.detail
        p.save()
        p.setClipRect(clip)
        rect = QRectF(o.x() + area.x() * s, o.y() + area.y() * s, area.width() * s,
                      area.height() * s)
        if pm.hasAlphaChannel():  # over the checkerboard, as the whole result, not the layer
            p.fillRect(rect, checker_brush())
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform,
                        self._smooth(pm, s, area.width()))  # a piece: its area's pixels
        p.drawPixmap(rect, pm, QRectF(pm.rect()))
        p.restore()

    def _marks(self, p: QPainter, s: float, o: QPointF, clip: QRectF) -> None:
        """Dashed outlines (over a dark one, visible on any image) round the marks: amber
        where the result is out of range, blue where the repair brought it back."""
        p.save()
        p.setClipRect(clip.adjusted(-2, -2, 2, 2))
        p.setBrush(Qt.BrushStyle.NoBrush)
        for marks, colour in ((self.repaired_marks, MARK_COLOURS["repaired"]),
                              (self.marks, MARK_COLOURS["flagged"])):
            for pen in (QPen(QColor(0, 0, 0, 170), 4),
                        QPen(QColor(*colour), 2, Qt.PenStyle.DashLine)):
                p.setPen(pen)
                for r in marks:
                    p.drawRect(QRectF(o.x() + r.x() * s, o.y() + r.y() * s, r.width() * s,
                                      r.height() * s))
        p.restore()

    def _divider(self, p: QPainter, target: QRectF) -> None:
        x = self.divider_x()
        top, bottom = max(0.0, target.top()), min(float(self.height()), target.bottom())
        p.setPen(QPen(QColor(0, 0, 0, 140), 4))
        p.drawLine(QPointF(x, top), QPointF(x, bottom))
        p.setPen(QPen(QColor(255, 255, 255), 2))
        p.drawLine(QPointF(x, top), QPointF(x, bottom))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        mid = (top + bottom) / 2
        p.setBrush(QColor(255, 255, 255))
        p.setPen(QPen(QColor(0, 0, 0, 160), 1))
        p.drawEllipse(QPointF(x, mid), 9, 9)
        p.setPen(QPen(QColor(40, 40, 40), 2))
        p.drawLine(QPointF(x - 4, mid - 4), QPointF(x - 4, mid + 4))
        p.drawLine(QPointF(x + 4, mid - 4), QPointF(x + 4, mid + 4))

    def _captions(self, p: QPainter) -> None:
        p.setFont(self._caption_font())
        for box, text in self.caption_boxes(p.fontMetrics()):
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(0, 0, 0, 170))
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            p.drawRoundedRect(box, 4, 4)
            p.setPen(QColor(235, 235, 235))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _caption_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF()))
        return font

    def caption_boxes(self, fm: QFontMetrics | None = None) -> list[tuple[QRectF, str]]:
        """Where the captions are drawn, and their text: in the view's top corners, or, where
        the whole image sits lower with room above it, just above its corners (on a large
        window a small photo's "Input" had sat 900 px away from it)."""
        if fm is None:
            fm = QFontMetrics(self._caption_font())
        # The left caption gets up to half the width when both corners have one, the right
        # one what the left leaves; each is shortened to its room (fit_caption).
        captions = self.shown_captions()
        room = (self.width() // (2 if all(captions) else 1)) - 16 - 14
        used = 0
        sizes: list[tuple[int, float, float, str]] = []
        for i, text in enumerate(captions):
            if not text:
                continue
            if i == 1 and used:
                room = self.width() - used - 16 - 14 - 8
            text = fit_caption(fm, text, max(room, 0))
            if not text:
                continue
            w, h = fm.horizontalAdvance(text) + 14, fm.height() + 6
            used = w if i == 0 else used
            sizes.append((i, w, h, text))
        corners = [(QRectF(8 if i == 0 else self.width() - w - 8, 8, w, h), text)
                   for i, w, h, text in sizes]
        if not sizes or self.image_size.isEmpty():
            return corners
        s, o = self.transform()
        image = QRectF(o.x(), o.y(), self.image_size.width() * s, self.image_size.height() * s)
        h = max(h for _, _, h, _ in sizes)
        top = image.top() - h - 4
        if top < 8 or image.left() < 0 or image.right() > self.width():
            return corners  # no room above, or zoomed in: over the image, as they were
        boxes = []
        for i, w, h, text in sizes:
            x = image.left() if i == 0 else image.right() - w
            boxes.append((QRectF(min(max(x, 8), self.width() - w - 8), top, w, h), text))
        if len(boxes) == 2 and boxes[0][0].right() + 8 > boxes[1][0].left():
            return corners  # a narrow image: they would meet above it
        return boxes

    def shown_captions(self) -> list[str]:
        """The captions drawn: split and zoomed in past the divider, the side out of view
        gets none (an "Input" over nothing but the result misleads)."""
        captions = list(self.captions)
        if self.split:
            x = self.divider_x()
            captions = [captions[0] if x > 0 else "", captions[1] if x < self.width() else ""]
        return captions

    def _text(self, p: QPainter, text: str, rect: QRect | QRectF) -> None:
        """``text`` centred in ``rect``, wrapped within it (a word longer than the room, such
        as a path, is broken too): a split's right half had a model failure run off the
        view's right edge. None in a sliver too narrow to read (the panel and the status bar
        say it as well)."""
        area = QRectF(rect).adjusted(MESSAGE_MARGIN, MESSAGE_MARGIN, -MESSAGE_MARGIN,
                                     -MESSAGE_MARGIN)
        if area.width() < 8 * p.fontMetrics().averageCharWidth() or area.height() <= 0:
            return
        option = QTextOption(Qt.AlignmentFlag.AlignCenter)
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        p.setPen(QColor(200, 200, 200))
        p.drawText(area, text, option)

    # ------------------------------------------------------------------ mouse
    def _near_divider(self, x: float) -> bool:
        return self.split and abs(x - self.divider_x()) <= DIVIDER_GRAB

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton or self.image_size.isEmpty():
            return
        pos = event.position()
        self._drag = "divider" if self._near_divider(pos.x()) else "pan"
        self._last = pos
        if self._drag == "pan":
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        if self._drag == "divider":
            s, o = self.transform()
            frac = (pos.x() - o.x()) / max(1e-9, self.image_size.width() * s)
            self.set_split_position(float(np.clip(frac, 0.0, 1.0)))
            self.splitMoved.emit(self.split_position)
        elif self._drag == "pan":
            s, c = self._explicit()
            d = pos - self._last
            self._last = pos
            self.state.set(s, QPointF(c.x() - d.x() / s, c.y() - d.y() / s), rehover=False)
        else:
            self.setCursor(Qt.CursorShape.SplitHCursor if self._near_divider(pos.x())
                           else Qt.CursorShape.ArrowCursor)
        self._drop_probe()  # the pointer names pixels again
        self._emit_hover(pos)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag = None
        self.setCursor(Qt.CursorShape.ArrowCursor)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.state.fit:  # to 100 %: one image pixel per screen pixel, as Ctrl+1; an
            # image that Fit shows between 100 % and its cap (a small one at the cap, or one a
            # 2× display fits at one screen pixel): enlarged, so the click always does something
            one = 1.0 / self.devicePixelRatioF()
            fit, cap = self.fit_scale(), self.fit_cap()
            shown_whole = one * (1 - 1e-3) <= fit <= cap * (1 + 1e-3)
            target = max(self.enlarged_scale(), 2 * fit) if shown_whole else one
            self.zoom_at(target / fit, event.position())
        else:
            self.state.set_fit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        """A mouse wheel zooms at the pointer; a trackpad's two-finger scroll (pixel deltas in
        scroll phases: macOS, Wayland) pans, as photo viewers do, and zooms with Ctrl (a
        swipe had zoomed); a pinch zooms (:meth:`event`)."""
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        pixels = event.pixelDelta()
        if not pixels.isNull() and event.phase() != Qt.ScrollPhase.NoScrollPhase and not ctrl:
            if self.image_size.isEmpty():
                return
            self._drop_probe()
            s, c = self._explicit()
            self.state.set(s, QPointF(c.x() - pixels.x() / s, c.y() - pixels.y() / s),
                           rehover=False)
            self._emit_hover(event.position())
            return
        steps = event.angleDelta().y() / 120.0
        if steps:
            self._drop_probe()  # the mouse is reading again
            self.zoom_at(1.25**steps, event.position(), rehover=False)
            self._emit_hover(event.position())

    def event(self, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        """A trackpad's pinch (a native zoom gesture) zooms at the fingers."""
        if event.type() == QEvent.Type.NativeGesture and \
                event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:
            self._drop_probe()
            self.zoom_at(max(0.1, 1.0 + event.value()), event.position())
            return True
        return super().event(event)

    def _drop_probe(self) -> None:
        """Hand the readout back to the pointer, erasing the probe's frame (a zoom at its
        limit, which repaints nothing, had left it drawn)."""
        if self.state.probe is not None:
            self.state.probe = None
            self.state.update(rehover=False)

    def leaveEvent(self, event: object) -> None:  # noqa: N802
        if self.state.probe is None:  # the probe's reading stays while it is shown
            self.hovered.emit(-1, -1)

    # ------------------------------------------------------------------ keyboard
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        """Arrows pan a tenth of the view (Shift: half); Ctrl+arrows move the pixel probe a
        pixel (Shift: ten); [ and ] move the compare divider."""
        key, shift = event.key(), bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        steps = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0),
                 Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}
        ctrl = Qt.KeyboardModifier.ControlModifier
        if not self.image_size.isEmpty() and key in steps and event.modifiers() & ctrl and \
                not event.modifiers() & ~(ctrl | Qt.KeyboardModifier.ShiftModifier
                                          | Qt.KeyboardModifier.KeypadModifier):
            dx, dy = steps[key]
            self.move_probe(dx * (PROBE_SHIFT_STEP if shift else 1),
                            dy * (PROBE_SHIFT_STEP if shift else 1))
        elif self.image_size.isEmpty() or event.modifiers() & ~(
                Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier):
            super().keyPressEvent(event)
        elif key in steps:
            s, c = self._explicit()
            share = PAN_SHIFT_STEP if shift else PAN_STEP
            dx, dy = steps[key]
            self.state.set(s, QPointF(c.x() + dx * share * self.width() / s,
                                      c.y() + dy * share * self.height() / s))
        elif key in (Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight) and self.split:
            x = self.divider_x()
            iw = max(1, self.image_size.width())
            lo = max(0.0, self.to_image(QPointF(0, 0)).x() / iw)  # the view's span, as
            hi = min(1.0, self.to_image(QPointF(self.width(), 0)).x() / iw)  # shares
            if 0 <= x <= self.width():  # a step of the view (zoomed in, 5 % of the image
                step = DIVIDER_STEP * min(1.0, hi - lo)  # crossed the view), at most to its
                step = -step if key == Qt.Key.Key_BracketLeft else step  # edges
                self.set_split_position(float(np.clip(self.split_position + step, lo, hi)))
            else:  # out of view: it comes to the middle of the view, where it can be seen
                self.set_split_position((lo + hi) / 2)
            self.splitMoved.emit(self.split_position)
        else:
            super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        self._key_focus = event.reason() in (Qt.FocusReason.TabFocusReason,
                                             Qt.FocusReason.BacktabFocusReason)
        self.update()
        super().focusInEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        self._key_focus = False
        self.update()
        super().focusOutEvent(event)

    def move_probe(self, dx: int, dy: int) -> None:
        """Move the pixel probe by ``dx``, ``dy`` image pixels (it starts at the pixel in the
        middle of the view, or of its restored side when split), panning when it leaves the
        view, and name its pixel as the pointer's is named (:attr:`hovered`)."""
        w, h = self.image_size.width(), self.image_size.height()
        if self.state.probe is None:
            x0 = self.width() / 2
            if self.split:  # not under the divider's handle (in the middle at first): the
                s, o = self.transform()  # shown result side's middle
                right = min(float(self.width()), o.x() + w * s)
                x0 = (max(0.0, self.divider_x(), o.x()) + right) / 2
            q = self.to_image(QPointF(x0, self.height() / 2))
            x, y = int(np.floor(q.x())), int(np.floor(q.y()))
        else:
            x, y = self.state.probe.x() + dx, self.state.probe.y() + dy
        x, y = int(np.clip(x, 0, w - 1)), int(np.clip(y, 0, h - 1))
        self.state.probe = QPoint(x, y)
        area = self.visible_area()
        if not area.contains(self.state.probe):  # scrolled only as far as it takes, as
            s, c = self._explicit()             # editors do, with a few pixels to spare
            margin = min(8, area.width() // 4, area.height() // 4)
            dx = min(0, x - area.left() - margin) + max(0, x - area.right() + margin)
            dy = min(0, y - area.top() - margin) + max(0, y - area.bottom() + margin)
            self.state.set(s, QPointF(c.x() + dx, c.y() + dy), rehover=False)
        else:
            self.state.update(rehover=False)
        self.hovered.emit(x, y)
        self.probeMoved.emit(x, y)

    def _probe(self, p: QPainter, s: float, o: QPointF) -> None:
        """A white frame just outside the probe's pixel, so what it holds is that pixel and
        no other at any zoom, in a black one, and four ticks pointing at it, to be found on
        any image."""
        q = self.state.probe
        px = 1.0 / self.devicePixelRatioF()  # one screen pixel
        pixel = QRectF(o.x() + q.x() * s, o.y() + q.y() * s, s, s)
        p.save()
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(0, 0, 0, 220), px))
        p.drawRect(pixel.adjusted(-1.5 * px, -1.5 * px, 1.5 * px, 1.5 * px))
        p.setPen(QPen(QColor(255, 255, 255), px))
        p.drawRect(pixel.adjusted(-0.5 * px, -0.5 * px, 0.5 * px, 0.5 * px))
        c = pixel.center()
        reach, gap = 6.0, max(s / 2, 1.0) + 3 * px
        for pen in (QPen(QColor(0, 0, 0, 220), 3 * px), QPen(QColor(255, 255, 255), px)):
            p.setPen(pen)
            for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                p.drawLine(QPointF(c.x() + dx * gap, c.y() + dy * gap),
                           QPointF(c.x() + dx * (gap + reach), c.y() + dy * (gap + reach)))
        p.restore()

    def _emit_hover(self, pos: QPointF) -> None:
        if self.image_size.isEmpty():
            return
        half = 0.5 / self.devicePixelRatioF()  # the centre of the screen pixel under the
        q = self.to_image(pos + QPointF(half, half))  # pointer, where the drawing samples
        x, y = int(np.floor(q.x())), int(np.floor(q.y()))
        inside = 0 <= x < self.image_size.width() and 0 <= y < self.image_size.height()
        self.hovered.emit(x if inside else -1, y if inside else -1)

    def set_split_position(self, position: float) -> None:
        self.split_position = float(np.clip(position, 0.0, 1.0))
        self.update()

    def visible_area(self) -> QRect:
        """The image pixels this canvas shows now (empty when none)."""
        if self.image_size.isEmpty():
            return QRect()
        a, b = self.to_image(QPointF(0, 0)), self.to_image(QPointF(self.width(),
                                                                   self.height()))
        x0, y0 = max(0, int(np.floor(a.x()))), max(0, int(np.floor(a.y())))
        x1 = min(self.image_size.width(), int(np.ceil(b.x())))
        y1 = min(self.image_size.height(), int(np.ceil(b.y())))
        return QRect(x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else QRect()


class Viewer(QWidget):
    """The central view: Before, After, Compare (split or side by side) and EA ±.

    Signals:
        hovered(x, y): image pixel under the mouse in any canvas (``-1, -1`` outside).
        splitChanged(position): the compare divider moved.
        modeChanged(mode): the view mode changed.
        viewChanged(): zoom, pan, a canvas's size or the mode changed what is visible.
    """

    MODES = ("before", "after", "compare", "ea")
    STYLES = ("split", "side")
    hovered = Signal(int, int)
    probeMoved = Signal(int, int)
    splitChanged = Signal(float)
    modeChanged = Signal(str)
    viewChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = ViewState()
        self.state.changed = self.viewChanged.emit
        self._mode = "after"
        self._style = "split"
        self._input: QPixmap | None = None
        self._alpha: QImage | None = None  # the input's alpha, applied to restored images too
        self._masks: dict[tuple[int, int], QImage] = {}  # it, scaled to each layer size seen
        self._output: QPixmap | None = None
        self._output_caption = "Restored"
        self._output_message = ""
        self._output_problem = False  # the message says why there is no result at all
        self._detail: tuple[QRectF, QPixmap] | None = None
        self._detail_image: QImage | None = None
        # Full-resolution pieces of the EA view's with, without and difference images.
        self._ea_detail: tuple[QRectF, tuple[QPixmap, QPixmap, QPixmap]] | None = None
        self._overlay: QPixmap | None = None
        self._overlay_opacity = 0.6
        self._overlay_caption = ""
        self._marks: list[QRectF] = []
        self._repaired_marks: list[QRectF] = []
        self._ea: tuple[QPixmap, QPixmap, QPixmap] | None = None
        self._ea_captions = ("With EA", "Without EA", "Difference")
        self._ea_message = EA_PENDING
        self._hovered_canvas: ImageCanvas | None = None
        self._size = QSize()
        self._split = 0.5

        self.single = self._canvas()
        self.left, self.right = self._canvas(), self._canvas()
        # EA view: input for context, with EA, without EA, their amplified difference.
        self.ea_canvases = [self._canvas() for _ in range(4)]
        self.single.splitMoved.connect(self._on_split)

        side = QWidget()
        row = QHBoxLayout(side)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(PANE_SPACING)
        row.addWidget(self.left)
        row.addWidget(self.right)
        self._side_row = row

        ea = QWidget()
        col = QVBoxLayout(ea)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        self.ea_label = QLabel()
        self.ea_label.setWordWrap(True)
        self.ea_label.setObjectName("eaSource")
        self.ea_label.setContentsMargins(8, 4, 8, 4)
        col.addWidget(self.ea_label)
        self._ea_grid = QGridLayout()
        self._ea_grid.setSpacing(PANE_SPACING)
        self._ea_cols = 0
        self._side_cols = 2
        col.addLayout(self._ea_grid, 1)
        self._place_ea(2)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.single)
        self.stack.addWidget(side)
        self.stack.addWidget(ea)
        # Says when the model is outside what it was trained on (drcnet.range_check).
        self.warning_label = QLabel()
        self.warning_label.setObjectName("rangeWarning")
        self.warning_label.setWordWrap(True)
        self.warning_label.setContentsMargins(10, 6, 10, 6)
        self.warning_label.setStyleSheet(
            "QLabel#rangeWarning { background: #fff3cd; color: #5c4400; "
            "border-bottom: 1px solid #e0c36a; }")
        self.warning_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.warning_label)
        layout.addWidget(self.stack)
        self.stack.installEventFilter(self)
        self._refresh()

    def _canvas(self) -> ImageCanvas:
        c = ImageCanvas(self.state)
        c.hovered.connect(lambda x, y, c=c: self._on_canvas_hover(c, x, y))
        c.probeMoved.connect(self.probeMoved)
        return c

    # ------------------------------------------------------------------ arrangement
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        if watched is self.stack and event.type() == QEvent.Type.Resize:
            self._arrange()
        return super().eventFilter(watched, event)

    def pane_columns(self) -> tuple[int, int]:
        """How many columns Side by side's two panes and EA ±'s four are laid out in now."""
        return self._side_cols, self._ea_cols

    def _arrange(self) -> None:
        """Lay out Side by side's and EA ±'s panes in the columns that show the image largest
        at Fit: a panorama's one above another, a tall portrait's EA ± panes in one row. Side
        by side had drawn a 12:1 panorama as two strips across half the view each, at half
        the size one above the other shows it. The usual arrangement (two columns) stays
        unless another shows the image :data:`ARRANGE_GAIN` times larger."""
        side = ea = 2
        if not self._size.isEmpty():
            size = self.stack.size()
            side = self._best_columns(size.width(), size.height(), 2, (2, 1))
            label = self.ea_label.heightForWidth(size.width()) + PANE_SPACING
            ea = self._best_columns(size.width(), size.height() - label, 4, (2, 4, 1))
        if side != self._side_cols:
            self._side_cols = side
            self._side_row.setDirection(QBoxLayout.Direction.LeftToRight if side == 2
                                        else QBoxLayout.Direction.TopToBottom)
        self._place_ea(ea)

    def _best_columns(self, width: int, height: int, panes: int, choices: tuple[int, ...]) -> int:
        """Of ``choices`` (column counts, the usual first), the one whose panes show the
        image largest at Fit in ``width`` × ``height``."""
        def shown(cols: int) -> float:
            rows = -(-panes // cols)
            w = (width - (cols - 1) * PANE_SPACING) / cols - 2 * CANVAS_MARGIN
            h = (height - (rows - 1) * PANE_SPACING) / rows - 2 * CANVAS_MARGIN
            whole = max(1e-6, min(w / self._size.width(), h / self._size.height()))
            # As Fit shows it (capped, in whole screen pixels): two arrangements that both
            # show the photo at 100 % are the same to the eye, and the usual one stays.
            return fit_scale_for(whole, self.devicePixelRatioF(), self.state.enlarge_small)

        best = choices[0]
        for cols in choices[1:]:
            if shown(cols) > shown(best) * ARRANGE_GAIN:
                best = cols
        return best

    def _place_ea(self, cols: int) -> None:
        if cols == self._ea_cols:
            return
        self._ea_cols = cols
        for c in self.ea_canvases:
            self._ea_grid.removeWidget(c)
        for i, c in enumerate(self.ea_canvases):
            self._ea_grid.addWidget(c, i // cols, i % cols)

    def _on_canvas_hover(self, canvas: ImageCanvas, x: int, y: int) -> None:
        self._hovered_canvas = canvas
        self.hovered.emit(x, y)

    def hovered_panel(self) -> str:
        """Which of the EA view's panels the pointer is over: ``"with"``, ``"without"`` or
        ``"diff"``; ``""`` in the other views and over the EA view's input."""
        if self._mode != "ea" or self._hovered_canvas not in self.ea_canvases[1:]:
            return ""
        return ("with", "without", "diff")[self.ea_canvases.index(self._hovered_canvas) - 1]

    # ------------------------------------------------------------------ content
    def set_input(self, image: QImage | None, alpha: QImage | None = None,
                  keep_view: bool = False) -> None:
        """The input image; its size defines image coordinates for every layer.

        ``alpha`` (:func:`alpha_qimage`) is its transparency: the input and every restored
        image (any resolution) are shown with it, over a checkerboard."""
        self._alpha = alpha if image is not None else None
        self._masks = {}
        self._input = self._pixmap(image) if image is not None else None
        same_size = keep_view and image is not None and image.size() == self._size
        self._size = image.size() if image is not None else QSize()
        self._output = None
        self._detail, self._detail_image = None, None
        self._ea_detail = None
        self._ea = None
        self._overlay, self._overlay_caption = None, ""
        self._marks, self._repaired_marks = [], []
        self.state.probe = None  # a new image: its readout starts empty
        self.set_warning("")
        self._arrange()
        self._refresh()
        # After the canvases know the size (viewChanged reads the scale). With ``keep_view``
        # (the next shot of a burst: the same folder) an image of the same size keeps the
        # zoom and place, so one detail can be compared across them; others start at fit.
        if same_size:
            self.state.update()
        else:
            self.state.set_fit()

    def set_output(self, image: QImage | None, caption: str = "Restored",
                   message: str = "", problem: bool = False) -> None:
        """The restored image (any resolution; stretched over the input), or ``None`` with
        ``message`` saying why there is none: a wait ("Restoring…"), shown as a caption over
        the input standing in, or with ``problem`` (no model), centred and wrapped where the
        result would be, so it is not missed."""
        self._output = self._pixmap(image) if image is not None else None
        self._output_caption = caption
        self._output_message = message
        self._output_problem = problem
        self._refresh()

    def set_output_caption(self, caption: str) -> None:
        """Only the restored image's caption (cheap: as the view pans)."""
        if caption != self._output_caption:
            self._output_caption = caption
            self._refresh()

    def set_detail(self, area: QRect | None, image: QImage | None) -> None:
        """A full-resolution piece of the restored image, ``image``, covering ``area`` (input
        pixels), drawn over the restored layer wherever that shows; ``None`` removes it."""
        if area is None or image is None:
            self._detail, self._detail_image = None, None
        else:
            self._detail = (QRectF(area), self._pixmap(image, area))
            self._detail_image = image
        self._refresh()

    def has_detail(self) -> bool:
        return self._detail is not None

    def set_ea_detail(self, area: QRect | None,
                      images: tuple[QImage, QImage, QImage] | None) -> None:
        """Full-resolution pieces of the EA view's with-EA, without-EA and difference images
        covering ``area`` (input pixels), drawn over them; ``None`` removes them."""
        if area is None or images is None:
            self._ea_detail = None
        else:
            with_ea, without, diff = images
            self._ea_detail = (QRectF(area), (self._pixmap(with_ea, area),
                                              self._pixmap(without, area),
                                              self._pixmap(diff, area)))
        self._refresh()

    def has_ea_detail(self) -> bool:
        return self._ea_detail is not None

    def ea_visible_area(self) -> QRect:
        """The input pixels the EA view's result canvases show now (empty outside it)."""
        return self.ea_canvases[1].visible_area() if self._mode == "ea" else QRect()

    def detail_image(self) -> QImage | None:
        """The image :meth:`set_detail` was last given (``None``: no piece)."""
        return self._detail_image

    def visible_area(self) -> QRect:
        """The input pixels the full-resolution restored image is shown over now (empty when
        nothing of it is in view: no image, the Before view, or the EA view, which shows
        preview-size results)."""
        if self._mode in ("before", "ea"):
            return QRect()
        canvas = self.right if self._mode == "compare" and self._style == "side" else self.single
        area = canvas.visible_area()
        if canvas.split and not area.isEmpty():  # the result shows right of the divider only
            s, o = canvas.transform()
            x = int(np.floor((max(0.0, canvas.divider_x()) - o.x()) / s))
            area = area.intersected(QRect(x, area.y(), area.right() + 1 - x, area.height()))
        return area

    def _pixmap(self, image: QImage, area: QRect | None = None) -> QPixmap:
        """``image`` with the input's alpha (stretched to its size), if the input has one;
        ``area``: the input pixels ``image`` covers, when it is a piece of the image."""
        if self._alpha is None:
            return QPixmap.fromImage(image)
        mask = self._alpha
        if area is not None:
            mask = mask.copy(area)
        elif mask.size() != image.size():
            # Scaling a 12 MP mask takes tens of ms, and drafts of one size come on every
            # slider move (three layers each in the EA view): scale once per size.
            key = (image.width(), image.height())
            if key not in self._masks:
                self._masks[key] = mask.scaled(image.size(),
                                               Qt.AspectRatioMode.IgnoreAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation)
            mask = self._masks[key]
        masked = image.convertToFormat(QImage.Format.Format_ARGB32)
        masked.setAlphaChannel(mask)
        return QPixmap.fromImage(masked)

    def has_alpha(self) -> bool:
        return self._alpha is not None

    def set_output_message(self, message: str) -> None:
        self._output_message = message
        self._refresh()

    def set_warning(self, text: str) -> None:
        """A warning banner above the views (rich text); empty hides it."""
        self.warning_label.setText(text)
        self.warning_label.setVisible(bool(text))

    def warning(self) -> str:
        return self.warning_label.text() if self.warning_label.isVisible() else ""

    def set_marks(self, boxes: list[tuple[int, int, int, int]],
                  repaired: list[tuple[int, int, int, int]] = ()) -> None:
        """Outline these ``(x, y, w, h)`` areas (input image pixels) on the restored image:
        ``boxes`` out of the model's range, ``repaired`` brought back by the repair."""
        self._marks = [QRectF(*b) for b in boxes]
        self._repaired_marks = [QRectF(*b) for b in repaired]
        self._refresh()

    def marks(self) -> list[QRectF]:
        """Every outlined area, out of range then repaired."""
        return self._marks + self._repaired_marks

    def repaired_marks(self) -> list[QRectF]:
        return list(self._repaired_marks)

    def set_overlay(self, image: QImage | None, opacity: float = 0.6, caption: str = "") -> None:
        """Draw ``image`` over the views at ``opacity``; ``caption`` (what it shows) is added
        to their captions, so a screenshot says the tint is a map, not the restoration."""
        self._overlay = QPixmap.fromImage(image) if image is not None else None
        self._overlay_opacity = float(opacity)
        self._overlay_caption = caption if image is not None else ""
        self._refresh()

    def set_ea(self, with_ea: QImage | None, without_ea: QImage | None, diff: QImage | None,
               captions: tuple[str, str, str] = ("With EA", "Without EA", "Difference"),
               source: str = "", message: str = "") -> None:
        if with_ea is None or without_ea is None or diff is None:
            self._ea = None
            self._ea_message = message or self._ea_message
        else:
            # The difference too shows the input's transparency: where nothing shows, the
            # fill behind it had drawn stripes.
            self._ea = (self._pixmap(with_ea), self._pixmap(without_ea), self._pixmap(diff))
        self._ea_captions = captions
        if source != self.ea_label.text():
            self.ea_label.setText(source)
            self._arrange()  # the label's height is the grid's to lose
        self._refresh()

    def has_ea(self) -> bool:
        return self._ea is not None

    # ------------------------------------------------------------------ modes
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in self.MODES:
            raise ValueError(f"unknown view mode {mode!r}")
        if mode != self._mode:
            self._mode = mode
            self._refresh()
            self.modeChanged.emit(mode)
            self.viewChanged.emit()

    def compare_style(self) -> str:
        return self._style

    def set_compare_style(self, style: str) -> None:
        if style not in self.STYLES:
            raise ValueError(f"unknown compare style {style!r}")
        self._style = style
        self._refresh()
        self.viewChanged.emit()

    def split_position(self) -> float:
        return self._split

    def set_split_position(self, position: float) -> None:
        self._split = float(np.clip(position, 0.0, 1.0))
        self.single.set_split_position(self._split)
        self.viewChanged.emit()  # the result's share of the view (visible_area) moved

    def _on_split(self, position: float) -> None:
        self._split = position
        self.splitChanged.emit(position)
        self.viewChanged.emit()

    def canvases(self) -> list[ImageCanvas]:
        """The canvases showing now."""
        if self._mode == "ea":
            return list(self.ea_canvases)
        if self._mode == "compare" and self._style == "side":
            return [self.left, self.right]
        return [self.single]

    def _refresh(self) -> None:
        message = self._output_message or "Restoring…"
        # No result yet (the first preview, or no model): the photo, not a gray box, where
        # the result goes, captioned with why (a first look at the sample showed nothing).
        out, out_caption = self._output, self._output_caption
        stand_in = out is None and self._input is not None and not self._output_problem
        if stand_in:
            out, out_caption, message = self._input, f"Input · {message}", ""
        for c in [self.single, self.left, self.right, *self.ea_canvases]:
            c.image_size = self._size
            c.secondary = None
            c.split = False
            c.overlay = None
            c.detail = None
            c.marks, c.repaired_marks = [], []
            c.captions = ("", "")
            c.secondary_placeholder = ""
        overlay = (self._overlay, self._overlay_opacity)

        def with_overlay(caption: str) -> str:  # nothing to add to where nothing is shown
            return (f"{caption} · {self._overlay_caption}" if caption and self._overlay_caption
                    else caption)

        def show(c: ImageCanvas, pm: QPixmap | None, caption: str, placeholder: str) -> None:
            c.primary = pm
            c.captions = (with_overlay(caption), "")
            c.placeholder = placeholder
            c.overlay, c.overlay_opacity = overlay

        if self._mode == "before":
            show(self.single, self._input, "Input", "")
            self.stack.setCurrentIndex(0)
        elif self._mode == "after":
            show(self.single, out, out_caption, message)
            if stand_in:  # the maps' overlay, a detail piece and marks belong on a result
                self.single.overlay, self.single.captions = None, (out_caption, "")
            self.single.detail = None if stand_in else self._detail
            self.single.marks = [] if stand_in else self._marks
            self.single.repaired_marks = [] if stand_in else self._repaired_marks
            self.stack.setCurrentIndex(0)
        elif self._mode == "compare" and self._style == "split":
            show(self.single, self._input, "Input", "")
            c = self.single
            c.secondary = out
            c.secondary_placeholder = message
            c.split = True
            c.split_position = self._split
            c.detail = None if stand_in else self._detail
            c.captions = (with_overlay("Input"), with_overlay(out_caption))
            if stand_in:  # no map tint on the input standing in for the result
                c.overlay, c.captions = None, ("Input", out_caption)
            c.marks = [] if stand_in else self._marks
            c.repaired_marks = [] if stand_in else self._repaired_marks
            self.stack.setCurrentIndex(0)
        elif self._mode == "compare":
            show(self.left, self._input, "Input", "")
            show(self.right, out, out_caption, message)
            if stand_in:
                self.right.overlay, self.right.captions = None, (out_caption, "")
            self.right.detail = None if stand_in else self._detail
            self.right.marks = [] if stand_in else self._marks
            self.right.repaired_marks = [] if stand_in else self._repaired_marks
            self.stack.setCurrentIndex(1)
        else:
            show(self.ea_canvases[0], self._input, "Input", "")
            self.ea_canvases[0].overlay = None  # the EA view draws no overlay
            self.ea_canvases[0].captions = ("Input", "")
            pms = self._ea or (None, None, None)
            pieces = self._ea_detail[1] if self._ea_detail is not None else (None,) * 3
            for c, pm, cap, piece in zip(self.ea_canvases[1:], pms, self._ea_captions, pieces):
                c.primary = pm
                c.captions = (cap, "")
                c.placeholder = self._ea_message if self._ea is None else ""
                if piece is not None:
                    c.detail = (self._ea_detail[0], piece)
            self.stack.setCurrentIndex(2)
        if self._size.isEmpty():
            for c in self.canvases():
                c.placeholder = "Open an image: File ▸ Open (Ctrl+O), or drop a file here"
        for c in self.canvases():
            c.update()

    # ------------------------------------------------------------------ zoom
    def fit(self) -> None:
        self.state.set_fit()

    def set_enlarge_small(self, on: bool) -> None:
        """Whether Fit enlarges an image smaller than the view (by a whole multiple)."""
        self.state.enlarge_small = bool(on)
        self._arrange()
        self.state.update()

    def zoom_100(self) -> None:
        """One image pixel to one screen pixel: on a 2× (high-DPI) display that is half a
        logical pixel, as photo editors' 100 % is."""
        c = self.canvases()[0]
        _, centre = c._explicit()
        self.state.set(1.0 / c.devicePixelRatioF(), centre)

    def zoom_by(self, factor: float) -> None:
        self.canvases()[0].zoom_at(factor)

    def scale(self) -> float:
        """Logical (device-independent) pixels per image pixel now."""
        return self.canvases()[0].transform()[0]

    def screen_scale(self) -> float:
        """Screen pixels per image pixel now (the status bar's zoom): :meth:`scale` times the
        display's device pixel ratio."""
        c = self.canvases()[0]
        return c.transform()[0] * c.devicePixelRatioF()

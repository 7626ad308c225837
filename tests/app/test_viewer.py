"""The viewer: modes, split divider, synchronised zoom and pan, pixel hover."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage

from app.viewer import Viewer, to_qimage


def shown_viewer(qtbot, width: int = 800, height: int = 500) -> Viewer:  # noqa: ANN001
    v = Viewer()
    qtbot.addWidget(v)
    v.resize(width, height)
    v.show()
    qtbot.waitExposed(v)
    return v


@pytest.fixture
def viewer(qtbot):  # noqa: ANN001, ANN201
    v = shown_viewer(qtbot)
    rgb = np.zeros((100, 200, 3), np.float32)
    rgb[:, :, 0] = np.linspace(0, 1, 200)[None, :]
    v.set_input(to_qimage(rgb))
    v.set_output(to_qimage(rgb[::2, ::2]), "Restored · preview")  # half-size preview
    return v


def test_to_qimage_keeps_pixels() -> None:
    rgb = np.random.default_rng(0).random((5, 7, 3)).astype(np.float32)
    img = to_qimage(rgb)
    assert (img.width(), img.height()) == (7, 5)
    c = img.pixelColor(3, 2)
    assert (c.red(), c.green(), c.blue()) == tuple(np.round(rgb[2, 3] * 255).astype(int))
    assert img.format() == QImage.Format.Format_RGB32  # qimage2ndarray's layout


def test_an_overlay_is_named_only_where_a_caption_is(viewer) -> None:  # noqa: ANN001
    viewer.set_overlay(to_qimage(np.zeros((4, 4, 3), np.float32)), 0.5, "overlay s m 50 %")
    viewer.set_mode("after")
    assert viewer.single.captions[0] == "Restored · preview · overlay s m 50 %"
    viewer.set_mode("compare")  # split: the overlay tints both halves, both say so
    assert viewer.single.captions == ("Input · overlay s m 50 %",
                                      "Restored · preview · overlay s m 50 %")
    viewer.set_mode("after")
    viewer.set_output(None, caption="", message="Loading denoise weights…")
    # the input stands in, saying why, without the overlay that belongs on a result
    assert viewer.single.captions[0] == "Input · Loading denoise weights…"
    assert viewer.single.overlay is None
    viewer.set_mode("ea")
    assert viewer.ea_canvases[0].captions[0] == "Input"  # the EA view draws no overlay


def test_modes_pick_canvases(viewer) -> None:  # noqa: ANN001
    viewer.set_mode("before")
    assert viewer.canvases() == [viewer.single]
    assert viewer.single.captions[0] == "Input"
    viewer.set_mode("compare")
    viewer.set_compare_style("split")
    assert viewer.single.split and viewer.single.secondary is not None
    viewer.set_compare_style("side")
    assert viewer.canvases() == [viewer.left, viewer.right]
    assert viewer.right.captions[0] == "Restored · preview"
    viewer.set_mode("ea")
    assert len(viewer.canvases()) == 4  # input, with EA, without EA, difference
    assert viewer.ea_canvases[0].primary is not None
    with pytest.raises(ValueError):
        viewer.set_mode("nope")


def test_preview_is_stretched_over_the_image(viewer) -> None:  # noqa: ANN001
    # Every canvas speaks full-image coordinates, whatever the layer's resolution.
    assert viewer.single.image_size.width() == 200
    assert viewer.single.primary.width() == 100


def test_divider_drag(viewer, qtbot) -> None:  # noqa: ANN001
    viewer.set_mode("compare")
    viewer.set_compare_style("split")
    c = viewer.single
    x = round(c.divider_x())
    y = c.height() // 2
    with qtbot.waitSignal(viewer.splitChanged) as blocker:
        qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
        qtbot.mouseMove(c, QPoint(x - 100, y))
        qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=QPoint(x - 100, y))
    assert blocker.args[0] < 0.5
    assert viewer.split_position() == pytest.approx(blocker.args[0])
    assert viewer.state.fit  # dragging the divider does not pan


def test_side_by_side_zoom_is_synchronised(viewer) -> None:  # noqa: ANN001
    viewer.set_mode("compare")
    viewer.set_compare_style("side")
    fit = viewer.scale()
    viewer.zoom_by(2.0)
    assert viewer.scale() == pytest.approx(fit * 2.0)
    assert viewer.left.transform() == viewer.right.transform()
    viewer.zoom_100()
    assert viewer.left.transform()[0] == pytest.approx(1.0)
    assert viewer.right.transform()[0] == pytest.approx(1.0)
    viewer.fit()
    assert viewer.state.fit


def test_wheel_zoom_keeps_point_under_cursor(viewer) -> None:  # noqa: ANN001
    c = viewer.single
    pos = QPointF(300, 200)
    before = c.to_image(pos)
    c.zoom_at(1.25**3, pos)
    after = c.to_image(pos)
    assert after.x() == pytest.approx(before.x(), abs=1e-6)
    assert after.y() == pytest.approx(before.y(), abs=1e-6)
    assert not viewer.state.fit


def test_drag_pans(viewer, qtbot) -> None:  # noqa: ANN001
    viewer.set_mode("after")
    c = viewer.single
    viewer.zoom_100()
    start = c.to_image(QPointF(400, 250))
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=QPoint(400, 250))
    qtbot.mouseMove(c, QPoint(430, 250))
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=QPoint(430, 250))
    assert c.to_image(QPointF(430, 250)).x() == pytest.approx(start.x(), abs=1e-6)


def test_arrow_keys_pan_and_brackets_move_the_divider(viewer, qtbot) -> None:  # noqa: ANN001
    viewer.set_mode("compare")
    viewer.set_compare_style("split")
    c = viewer.single
    assert c.focusPolicy() == Qt.FocusPolicy.StrongFocus  # Tab reaches the image
    viewer.set_enlarge_small(True)  # the 200×100 image fitted at a few times 100 %
    viewer.zoom_by(4.0)
    s, centre = c._explicit()
    qtbot.keyClick(c, Qt.Key.Key_Right)
    assert c._explicit()[1].x() == pytest.approx(centre.x() + 0.1 * c.width() / s)
    qtbot.keyClick(c, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)
    assert c._explicit()[1].y() == pytest.approx(centre.y() - 0.5 * c.height() / s)
    # Zoomed in 4×, a step is 5 % of the view, not of the image (which crossed the view).
    view = (c.to_image(QPointF(c.width(), 0)).x() - c.to_image(QPointF(0, 0)).x()) / 200
    with qtbot.waitSignal(viewer.splitChanged) as blocker:
        qtbot.keyClick(c, Qt.Key.Key_BracketRight)
    assert blocker.args[0] == pytest.approx(0.5 + 0.05 * view)
    qtbot.keyClick(c, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(c, Qt.Key.Key_BracketLeft)
    assert viewer.split_position() == pytest.approx(0.5 - 0.05 * view)
    viewer.fit()  # the whole image in view: 5 % of it
    qtbot.keyClick(c, Qt.Key.Key_BracketRight)
    assert viewer.split_position() == pytest.approx(0.55 - 0.05 * view)
    for _ in range(3):  # held at the view's edge, never out of it and round again
        viewer.state.set(4.0 * viewer.scale(), QPointF(120, 50))
        for _ in range(40):
            qtbot.keyClick(c, Qt.Key.Key_BracketLeft)
        assert 0 <= c.divider_x() <= 1


def test_hover_reports_image_pixel(viewer, qtbot) -> None:  # noqa: ANN001
    c = viewer.single
    s, o = c.transform()
    target = QPoint(round(o.x() + 150.5 * s), round(o.y() + 20.5 * s))
    with qtbot.waitSignal(viewer.hovered) as blocker:
        qtbot.mouseMove(c, target)
    x, y = blocker.args
    assert abs(x - 150) <= 1 and abs(y - 20) <= 1
    with qtbot.waitSignal(viewer.hovered) as blocker:
        qtbot.mouseMove(c, QPoint(2, 2))  # the margin outside the image
    assert blocker.args == [-1, -1]


def test_hover_names_the_pixel_drawn_at_the_pointer_s_screen_pixel(viewer, qtbot) -> None:  # noqa: ANN001
    # At 3x with the image's left edge at x = 0.25, screen pixel 3 spans image x 0.92-1.25:
    # the drawing samples its centre (1.08, pixel 1), not its corner (0.92, pixel 0).
    c = viewer.single
    viewer.state.set(3.0, QPointF((c.width() / 2 - 0.25) / 3, 50))
    assert c.transform()[1].x() == pytest.approx(0.25)
    with qtbot.waitSignal(viewer.hovered) as blocker:
        c._emit_hover(QPointF(3, c.height() / 2))
    assert blocker.args[0] == 1


def test_missing_output_shows_message(viewer) -> None:  # noqa: ANN001
    viewer.set_output(None, message="Restoring…")  # a wait: the photo stands in
    viewer.set_mode("after")
    assert viewer.single.primary is viewer._input and not viewer.single.placeholder
    assert viewer.single.captions[0] == "Input · Restoring…"
    viewer.set_mode("compare")
    assert viewer.single.captions[1] == "Input · Restoring…"
    # a problem: said in full where the result would be, not shortened in a caption
    message = "No trained deblur weights are installed.\nNothing is restored for this task."
    viewer.set_output(None, message=message, problem=True)
    viewer.set_mode("after")
    assert viewer.single.primary is None and viewer.single.placeholder == message
    img = viewer.grab().toImage()
    assert not img.isNull()



def test_marks_go_on_the_canvases_that_show_the_result(viewer) -> None:  # noqa: ANN001
    viewer.set_warning("<b>Outside</b> what this model was trained on")
    viewer.set_marks([(150, 0, 50, 50)])
    assert viewer.warning_label.isVisible() and "Outside" in viewer.warning()
    viewer.set_mode("after")
    assert [m.getRect() for m in viewer.single.marks] == [(150, 0, 50, 50)]
    viewer.set_mode("before")  # the input alone: nothing to outline
    assert viewer.single.marks == []
    viewer.set_mode("compare")
    viewer.set_compare_style("side")
    assert viewer.right.marks and not viewer.left.marks
    # Painted in amber where the box is: the input's top-right corner (the canvas maps
    # image pixels to widget pixels), and nowhere near the opposite corner.
    viewer.set_compare_style("split")
    viewer.set_mode("after")
    grab = viewer.single.grab().toImage()
    s, o = viewer.single.transform()
    y = round(o.y() + 50 * s)  # the box's bottom side, dashed: look along it
    near = [grab.pixelColor(round(o.x() + x * s), y + dy) for x in range(152, 199)
            for dy in range(-2, 3)]
    assert any(c.red() > 200 and c.green() > 140 and c.blue() < 90 for c in near)
    far = grab.pixelColor(round(o.x() + 20 * s), round(o.y() + 90 * s))
    assert not (far.green() > 140 and far.blue() < 90 and far.red() > 200)
    # Split: the left half shows the input, so a mark there is not painted.
    viewer.set_marks([(10, 10, 60, 60)])
    viewer.set_mode("compare")
    viewer.set_compare_style("split")
    grab = viewer.single.grab().toImage()
    s, o = viewer.single.transform()
    y = round(o.y() + 70 * s)
    left = [grab.pixelColor(round(o.x() + x * s), y + dy) for x in range(12, 68)
            for dy in range(-2, 3)]
    assert not any(c.red() > 200 and c.green() > 140 and c.blue() < 90 for c in left)
    viewer.set_mode("after")
    grab = viewer.single.grab().toImage()
    left = [grab.pixelColor(round(o.x() + x * s), y + dy) for x in range(12, 68)
            for dy in range(-2, 3)]
    assert any(c.red() > 200 and c.green() > 140 and c.blue() < 90 for c in left)
    # A new image drops the old warning and marks.
    viewer.set_input(to_qimage(np.zeros((10, 10, 3), np.float32)))
    assert viewer.warning() == "" and viewer.marks() == [] and viewer.single.marks == []


def test_repaired_areas_are_outlined_in_another_colour(viewer) -> None:  # noqa: ANN001
    from app.viewer import MARK_COLOURS

    viewer.set_marks([(10, 10, 60, 60)], [(120, 20, 60, 60)])
    viewer.set_mode("after")
    grab = viewer.single.grab().toImage()
    s, o = viewer.single.transform()

    def seen(colour: tuple[int, int, int], x0: int, x1: int, y: int) -> bool:
        along = [grab.pixelColor(round(o.x() + x * s), round(o.y() + y * s) + dy)
                 for x in range(x0, x1) for dy in range(-2, 3)]
        return any(max(abs(c.red() - colour[0]), abs(c.green() - colour[1]),
                       abs(c.blue() - colour[2])) < 30 for c in along)

    amber, blue = MARK_COLOURS["flagged"], MARK_COLOURS["repaired"]
    assert seen(amber, 12, 68, 70) and not seen(blue, 12, 68, 70)
    assert seen(blue, 122, 178, 80) and not seen(amber, 122, 178, 80)
    assert len(viewer.marks()) == 2 and len(viewer.repaired_marks()) == 1
    viewer.set_mode("before")
    assert viewer.single.repaired_marks == []


def test_transparent_pixels_show_a_checkerboard(qtbot) -> None:  # noqa: ANN001
    from app.viewer import alpha_qimage

    v = shown_viewer(qtbot, 400, 300)
    rgb = np.zeros((100, 200, 3), np.float32)
    rgb[..., 2] = 1.0  # blue everywhere, transparent on the left half
    alpha = np.ones((100, 200), np.float32)
    alpha[:, :100] = 0.0
    assert alpha_qimage(np.ones((4, 4), np.float32)) is None  # opaque: nothing to show
    v.set_input(to_qimage(rgb), alpha_qimage(alpha))
    assert v.has_alpha()
    v.set_output(to_qimage(rgb[::4, ::4]), "Restored · preview")  # the mask is stretched

    def colours(mode: str) -> tuple[set, set]:
        v.set_mode(mode)
        img = v.single.grab().toImage()
        s, o = v.single.transform()
        y = int(o.y() + 50 * s)
        left = {img.pixelColor(int(o.x() + x * s), y).getRgb()[:3] for x in range(5, 95, 3)}
        right = {img.pixelColor(int(o.x() + x * s), y).getRgb()[:3] for x in range(110, 190, 7)}
        return left, right

    for mode in ("before", "after"):
        left, right = colours(mode)
        assert right == {(0, 0, 255)}, mode
        assert len(left) >= 2 and all(r == g == b for r, g, b in left), (mode, left)
    # A full-resolution piece over both halves keeps the input's transparency too.
    from PySide6.QtCore import QRect

    v.set_detail(QRect(0, 0, 200, 100), to_qimage(rgb))
    left, right = colours("after")
    assert right == {(0, 0, 255)} and all(r == g == b for r, g, b in left), left
    v.set_detail(None, None)
    # So does the EA view's |difference| panel, whose transparent half had shown stripes.
    v.set_ea(to_qimage(rgb), to_qimage(rgb), to_qimage(rgb[::2, ::2]))
    v.set_mode("ea")
    canvas = v.ea_canvases[3]
    img = canvas.grab().toImage()
    s, o = canvas.transform()
    y = int(o.y() + 50 * s)
    left = {img.pixelColor(int(o.x() + x * s), y).getRgb()[:3] for x in range(5, 95, 3)}
    right = {img.pixelColor(int(o.x() + x * s), y).getRgb()[:3] for x in range(110, 190, 7)}
    assert right == {(0, 0, 255)} and all(r == g == b for r, g, b in left), left
    v.set_input(to_qimage(rgb))  # an opaque image after it: no checkerboard
    assert not v.has_alpha()
    assert colours("before")[0] == {(0, 0, 255)}


def test_a_wide_gamut_photo_is_shown_converted_to_srgb(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtGui import QColorSpace

    from app.viewer import display_space, to_qimage

    rgb = np.empty((2, 3, 3), np.float32)
    rgb[...] = (204 / 255, 102 / 255, 51 / 255)  # an orange
    p3 = bytes(QColorSpace(QColorSpace.NamedColorSpace.DisplayP3).iccProfile())
    srgb = bytes(QColorSpace(QColorSpace.NamedColorSpace.SRgb).iccProfile())

    def first(icc: bytes | None) -> tuple[int, int, int]:
        c = to_qimage(rgb, icc).pixelColor(0, 0)
        return c.red(), c.green(), c.blue()

    assert first(None) == (204, 102, 51)
    r, g, b = first(p3)  # the same numbers mean a more saturated orange in P3
    assert r >= 214 and g <= 98 and b <= 45, (r, g, b)
    assert first(srgb) == (204, 102, 51)
    assert display_space(srgb) is None and display_space(p3) is not None  # sRGB: no pass
    for unusable in (b"", b"not a profile", p3[:16] + b"GRAY" + p3[20:]):
        assert first(unusable) == (204, 102, 51)


def _lut_profile() -> bytes:
    """An RGB display profile held only as a LUT (an A2B0 mft2, no matrix), as camera and
    scanner profiles often are: Qt converts it, drcnet.colour does not."""
    import struct

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    m = np.array([[0.5151, 0.2920, 0.1571], [0.2412, 0.6922, 0.0666], [-0.0011, 0.0419, 0.7841]])
    g = np.linspace(0, 1, 2)  # a 2-point grid: RGB to XYZ as linear as the matrix
    rgb = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    xyz = np.clip(np.round(rgb @ m.T * 32768), 0, 65535).astype(">u2")
    ident = struct.pack(">HH", 0, 65535)
    a2b0 = (b"mft2" + bytes(4) + bytes([3, 3, 2, 0]) + b"".join(s15(v) for v in np.eye(3).ravel())
            + struct.pack(">HH", 2, 2) + ident * 3 + xyz.tobytes() + ident * 3)
    desc = b"desc" + bytes(4) + struct.pack(">I", 5) + b"lut\0\0" + bytes(78)
    tags = [(b"desc", desc), (b"wtpt", b"XYZ " + bytes(4) + s15(0.9642) + s15(1) + s15(0.8249)),
            (b"cprt", desc), (b"A2B0", a2b0)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += bytes(-len(data) % 4)
        table += struct.pack(">4sII", sig, offset + len(body), len(data))
        body += data
    header = (struct.pack(">I", offset + len(body)) + b"lcms" + bytes([2, 0x10, 0, 0])
              + b"mntrRGB XYZ " + bytes(12) + b"acsp" + bytes(24) + struct.pack(">I", 0)
              + s15(0.9642) + s15(1.0) + s15(0.8249) + bytes(48))
    return header + struct.pack(">I", len(tags)) + table + body


def test_a_lut_profile_is_shown_as_the_sheet_shows_it(qtbot) -> None:  # noqa: ANN001
    """The views had converted a LUT profile while the summary sheet, which converts matrix
    profiles only, kept the file's values: up to 118 levels apart."""
    from PySide6.QtCore import QByteArray
    from PySide6.QtGui import QColorSpace

    from app.viewer import display_space, to_qimage
    from drcnet.colour import matrix_profile

    icc = _lut_profile()
    assert QColorSpace.fromIccProfile(QByteArray(icc)).isValid()  # Qt could convert it
    assert matrix_profile(icc) is None and display_space(icc) is None
    rgb = np.full((2, 3, 3), (204 / 255, 102 / 255, 51 / 255), np.float32)
    c = to_qimage(rgb, icc).pixelColor(0, 0)
    assert (c.red(), c.green(), c.blue()) == (204, 102, 51)  # as the sheet leaves it


def test_a_detail_piece_is_drawn_over_the_result_where_it_shows(viewer) -> None:  # noqa: ANN001
    from PySide6.QtCore import QRect

    green = np.zeros((30, 40, 3), np.float32)
    green[..., 1] = 1.0
    viewer.set_detail(QRect(120, 50, 40, 30), to_qimage(green))  # x, y, w, h in image pixels
    assert viewer.has_detail()

    def at(canvas, x: float, y: float) -> tuple[int, int, int]:  # noqa: ANN001
        img = canvas.grab().toImage()
        s, o = canvas.transform()
        return img.pixelColor(round(o.x() + x * s), round(o.y() + y * s)).getRgb()[:3]

    viewer.set_mode("after")
    assert at(viewer.single, 140, 65) == (0, 255, 0)  # inside the piece
    assert at(viewer.single, 140, 20)[1] == 0  # above it: the stretched preview
    viewer.set_mode("before")  # the input: no piece
    assert at(viewer.single, 140, 65)[1] == 0
    viewer.set_mode("compare")
    viewer.set_compare_style("split")
    viewer.set_split_position(0.7)  # the divider at x 140: the piece's left half is input
    assert at(viewer.single, 125, 65)[1] == 0 and at(viewer.single, 155, 65) == (0, 255, 0)
    viewer.set_compare_style("side")
    assert at(viewer.right, 140, 65) == (0, 255, 0) and at(viewer.left, 140, 65)[1] == 0
    viewer.set_mode("after")
    viewer.set_compare_style("split")
    viewer.set_output(None, message="no result")  # no result under it: no piece either
    assert at(viewer.single, 140, 65)[1] < 100
    viewer.set_detail(None, None)
    assert not viewer.has_detail()


def test_visible_area(viewer) -> None:  # noqa: ANN001
    viewer.set_mode("after")
    assert viewer.visible_area().getRect() == (0, 0, 200, 100)  # fit: the whole image
    viewer.state.set(8.0, QPointF(100, 50))  # 800×500 canvas at 8×: 100×62.5 pixels
    r = viewer.visible_area()
    assert (r.x(), r.width()) == (50, 100) and r.y() in (18, 19) and r.height() in (63, 64)
    viewer.set_mode("compare")  # split at the middle: the result is right of x = 100
    viewer.set_compare_style("split")
    r = viewer.visible_area()
    assert (r.x(), r.right() + 1) == (100, 150)  # the input's half is not the result's
    viewer.set_mode("before")
    assert viewer.visible_area().isEmpty()
    events: list[int] = []
    viewer.viewChanged.connect(lambda: events.append(1))
    viewer.state.set(4.0, QPointF(100, 50))
    viewer.set_mode("after")
    viewer.resize(600, 400)
    assert len(events) >= 3


def test_a_translucent_detail_piece_looks_as_the_whole_result_would(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import QRect

    from app.viewer import alpha_qimage

    v = shown_viewer(qtbot, 400, 300)
    rgb = np.zeros((100, 200, 3), np.float32)
    v.set_input(to_qimage(rgb), alpha_qimage(np.full((100, 200), 0.5, np.float32)))
    red, green = rgb.copy(), rgb.copy()
    red[..., 0] = 1.0
    green[..., 1] = 1.0

    def at(x: int, y: int) -> tuple[int, ...]:
        img = v.single.grab().toImage()
        s, o = v.single.transform()
        return img.pixelColor(round(o.x() + x * s), round(o.y() + y * s)).getRgb()[:3]

    v.set_mode("after")
    v.set_output(to_qimage(green))  # the whole result
    want = [at(x, 50) for x in (100, 104, 108)]
    v.set_output(to_qimage(red[::4, ::4]))  # a preview of another colour under the piece
    v.set_detail(QRect(80, 30, 60, 40), to_qimage(green[30:70, 80:140]))
    got = [at(x, 50) for x in (100, 104, 108)]
    assert all(max(abs(a - b) for a, b in zip(g, w)) <= 2 for g, w in zip(got, want)), (got, want)


def test_a_long_caption_loses_its_resolution_before_its_knobs(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtGui import QFont, QFontMetrics

    from app.viewer import fit_caption

    fm = QFontMetrics(QFont())
    text = "Restored · full resolution · t 0.50 · δ 1e-06 · EA on · strength 60 %"
    assert fit_caption(fm, text, fm.horizontalAdvance(text)) == text
    knobs = "t 0.50 · δ 1e-06 · EA on · strength 60 %"
    room = fm.horizontalAdvance("Restored · " + knobs)
    assert fit_caption(fm, text, room) == "Restored · " + knobs
    assert fit_caption(fm, text, fm.horizontalAdvance(knobs)) == knobs
    cut = fit_caption(fm, text, fm.horizontalAdvance(knobs) // 2)
    assert cut.startswith("t 0.50") and cut.endswith("…")
    assert fit_caption(fm, "Input", 5).endswith("…") or fit_caption(fm, "Input", 5) == ""


def test_a_caption_shortens_its_overlay_before_it_loses_its_resolution(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtGui import QFont, QFontMetrics

    from app.viewer import fit_caption

    fm = QFontMetrics(QFont())
    text = "Restored · preview 512×320 · t 0.50 · EA on · overlay stage2.enc3 mask M 60 %"
    short = "Restored · preview 512×320 · t 0.50 · EA on · overlay"
    assert fit_caption(fm, text, fm.horizontalAdvance(short)) == short  # the resolution stays
    assert fit_caption(fm, "Input · overlay stage2.enc3 m 60 %",
                       fm.horizontalAdvance("Input · overlay")) == "Input · overlay"
    assert fit_caption(fm, text, fm.horizontalAdvance("t 0.50 · EA on · overlay")) == (
        "t 0.50 · EA on · overlay")


HIGH_DPI = r"""
import gc
import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication
from app.viewer import Viewer, to_qimage
gc.disable()
app = QApplication([])
v = Viewer()
v.resize(400, 300)
v.show()
board = (np.indices((48, 64)).sum(axis=0) % 2).astype(np.float32)  # one-pixel checkerboard
v.set_input(to_qimage(np.repeat(board[..., None], 3, axis=2)))
v.set_mode("before")
for _ in range(20):
    app.processEvents()
c = v.canvases()[0]
v.zoom_100()
print("dpr", c.devicePixelRatioF(), "scale", v.scale(), "screen", v.screen_scale())
v.state.set(1.0, QPointF(32, 24))  # 2 screen pixels per image pixel on this display
app.processEvents()
shot = c.grab().toImage()
w, h = shot.width(), shot.height()
values = {shot.pixelColor(x, y).red() for x in range(w // 2 - 20, w // 2 + 20)
          for y in range(h // 2 - 20, h // 2 + 20)}
print("levels", len(values))
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
v.set_enlarge_small(True)
v.fit()
QTest.mouseDClick(c, Qt.MouseButton.LeftButton)  # "actual pixels there", as Ctrl+1
print("double-click screen", v.screen_scale())
v.set_enlarge_small(False)
v.fit()  # a small image: Fit shows it at 100 %, and a double-click enlarges it
print("fit screen", v.screen_scale())
QTest.mouseDClick(c, Qt.MouseButton.LeftButton)
print("double-click small", int(v.screen_scale()) == v.screen_scale() >= 4)
v.set_input(to_qimage(np.zeros((400, 560, 3), np.float32)))  # Fit: one screen pixel each
v.fit()
print("fit big", v.screen_scale())
QTest.mouseDClick(c, Qt.MouseButton.LeftButton)  # had only left Fit, at the same scale
print("double-click big", v.screen_scale(), v.state.fit)
"""


def test_high_dpi_100_percent_is_one_screen_pixel_and_enlarged_pixels_stay_crisp(
        tmp_path) -> None:  # noqa: ANN001
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).parents[2]  # the GUI is app/ in the clone (installed: drcnet_studio)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR="2",
               PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
    script = tmp_path / "dpi.py"
    script.write_text(HIGH_DPI)
    r = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                       cwd=Path(__file__).parents[2], timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "dpr 2.0 scale 0.5 screen 1.0" in r.stdout  # Ctrl+1: image pixel = screen pixel
    assert "levels 2" in r.stdout  # at 2 screen pixels per image pixel: no smoothing grays
    assert "double-click screen 1.0" in r.stdout
    # A small image at Fit: one image pixel per logical pixel, 2 screen pixels here, as
    # other applications show it (one per screen pixel had looked like a postage stamp).
    assert "fit screen 2.0" in r.stdout and "double-click small True" in r.stdout
    # A photo that a 2× display fits at one screen pixel per image pixel, already 100 %: a
    # double-click enlarges it (it had left Fit and changed nothing to see).
    assert "fit big 1.0" in r.stdout and "double-click big 2.0 False" in r.stdout


def test_a_preview_stretched_when_zoomed_in_is_smoothed_not_drawn_as_blocks(qtbot) -> None:  # noqa: ANN001
    """Crisp pixels are the image's own: a preview (a third of the photo's size, say) drawn
    crisp at 400 % showed 12-px blocks, like the tiling failure the README warns about."""
    v = shown_viewer(qtbot, 400, 300)
    board = (np.indices((48, 64)).sum(axis=0) % 2).astype(np.float32)
    full = np.repeat(board[..., None], 3, axis=2)
    v.set_input(to_qimage(full))
    small = (np.indices((12, 16)).sum(axis=0) % 2).astype(np.float32)
    v.set_output(to_qimage(np.repeat(small[..., None], 3, axis=2)),
                 "Restored · preview")  # a quarter-size preview: 16×12
    v.set_mode("after")
    v.state.set(4.0, QPointF(32, 24))

    def levels(canvas) -> int:  # noqa: ANN001
        shot = canvas.grab().toImage()
        w, h = shot.width(), shot.height()
        return len({shot.pixelColor(x, y).red() for x in range(w // 2 - 30, w // 2 + 30)
                    for y in range(h // 2 - 30, h // 2 + 30)})

    assert levels(v.single) > 2  # smoothed: grays between the preview's pixels
    v.set_mode("before")  # the photo itself, at full resolution: its pixels, crisp
    assert levels(v.single) == 2


@pytest.mark.parametrize(("size", "zoom"), [((4, 4), 1.25), ((40, 60000), 0.8)])
def test_zoom_never_goes_the_other_way(qtbot, size, zoom) -> None:  # noqa: ANN001
    """A 4×4 image fits at 19150 %, above the zoom range, and a 60000-px panorama below it:
    clipping to the range zoomed out on Zoom in and in on Zoom out."""
    v = shown_viewer(qtbot)
    v.set_input(to_qimage(np.zeros((*size, 3), np.float32)))
    fit = v.scale()
    v.zoom_by(zoom)
    assert (v.scale() - fit) * (zoom - 1) >= 0
    v.zoom_by(1 / zoom)  # the other way still works
    assert (v.scale() - fit) * (zoom - 1) <= 1e-9


def test_the_image_cannot_be_panned_out_of_view(viewer, qtbot) -> None:  # noqa: ANN001
    viewer.set_mode("after")
    c = viewer.single
    viewer.zoom_by(2.0)
    for _ in range(40):
        qtbot.keyClick(c, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert c._explicit()[1].x() == pytest.approx(200)  # the image's right edge mid-view
    qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=QPoint(400, 250))
    qtbot.mouseMove(c, QPoint(790, 490))
    qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=QPoint(790, 490))
    centre = c._explicit()[1]
    assert 0 <= centre.x() <= 200 and 0 <= centre.y() <= 100


def test_the_next_image_of_the_same_size_keeps_the_zoom_and_place(viewer) -> None:  # noqa: ANN001
    viewer.zoom_by(3.0)
    scale, centre = viewer.scale(), viewer.single._explicit()[1]
    burst = to_qimage(np.ones((100, 200, 3), np.float32))
    viewer.set_input(burst, keep_view=True)  # the next of a burst (the same folder)
    assert viewer.scale() == pytest.approx(scale) and viewer.single._explicit()[1] == centre
    viewer.set_input(to_qimage(np.ones((120, 200, 3), np.float32)), keep_view=True)
    assert viewer.state.fit  # another size: fit
    viewer.zoom_by(3.0)
    viewer.set_input(burst)  # a photo from elsewhere: fit, whatever its size
    assert viewer.state.fit


def test_a_split_divider_out_of_view_takes_its_caption_and_comes_back_on_a_key(
        viewer, qtbot) -> None:  # noqa: ANN001
    viewer.set_mode("compare")
    viewer.set_compare_style("split")
    c = viewer.single
    viewer.set_enlarge_small(True)  # the 200×100 image fitted at a few times 100 %
    viewer.zoom_by(4.0)
    c.state.set(c.state.scale, QPointF(180, 50))  # right of the divider: all restored
    assert c.divider_x() < 0
    assert c.captions[0] and c.shown_captions() == ["", c.captions[1]]  # no "Input" drawn
    qtbot.keyClick(c, Qt.Key.Key_BracketLeft)  # out of view: to the middle of what is shown
    assert 0 < c.divider_x() < c.width() and c.shown_captions()[0]


def test_the_pixel_under_a_still_pointer_is_named_again_after_a_keyboard_zoom(
        viewer, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtGui import QCursor

    viewer.set_mode("after")
    c = viewer.single
    at = QPoint(300, 200)
    away = QCursor.pos()
    QCursor.setPos(c.mapToGlobal(at))
    try:
        qtbot.mouseMove(c, at)
        if not c.underMouse():
            pytest.skip("this platform plugin moves no pointer")
        seen: list[tuple[int, int]] = []
        c.hovered.connect(lambda x, y: seen.append((x, y)))
        viewer.zoom_by(3.0)  # Ctrl+= with the mouse still
        q = c.to_image(QPointF(at) + QPointF(0.5, 0.5))
        assert seen and seen[-1] == (int(q.x()), int(q.y()))
    finally:  # later tests' windows open where the pointer is not
        QCursor.setPos(away)


def test_a_zoom_at_the_image_s_edge_keeps_the_pixel_under_the_pointer(viewer) -> None:  # noqa: ANN001
    viewer.set_mode("after")
    c = viewer.single
    viewer.state.set(8.0, QPointF(200, 50))  # the centre on the right edge
    pos = QPointF(100, 250)
    before = c.to_image(pos)
    c.zoom_at(1 / 1.25, pos)  # a wheel notch out: the pan limit must not shift it
    assert c.to_image(pos).x() == pytest.approx(before.x(), abs=1e-6)


def test_moving_the_divider_tells_what_the_view_shows(viewer, qtbot) -> None:  # noqa: ANN001
    viewer.set_mode("compare")
    viewer.set_compare_style("split")
    events: list[int] = []
    viewer.viewChanged.connect(lambda: events.append(1))
    before = viewer.visible_area()
    qtbot.keyClick(viewer.single, Qt.Key.Key_BracketLeft)  # more of the result in view
    assert events and viewer.visible_area().x() < before.x()


def test_a_screen_reader_is_told_what_the_view_shows(viewer) -> None:  # noqa: ANN001
    """The canvases' captions are painted: a screen reader heard an unnamed "Client"."""
    viewer.set_mode("compare")
    viewer.set_compare_style("split")
    c = viewer.single
    assert c.accessibleName() == "Input and Restored"  # every canvas had been "Image view"
    assert c.accessibleDescription() == "Input | Restored · preview"
    viewer.set_mode("after")
    assert viewer.single.accessibleDescription() == "Restored · preview"
    assert viewer.single.accessibleName() == "Restored"
    viewer.set_mode("ea")
    names = [v.accessibleName() for v in viewer.ea_canvases]
    assert names[0] == "Input" and len(set(names)) == len(names)  # each its own
    from app.viewer import spoken

    assert spoken("|difference| × 50") == "Difference"  # not read out symbol by symbol


def test_fit_never_enlarges_unless_asked_and_then_by_whole_multiples(qtbot) -> None:  # noqa: ANN001
    """Fit had enlarged a 451×300 photo to 170 %, drawn smoothed, so its noise looked softer
    than it is (and a 5×5 image to 15320 %, past the zoom limit)."""
    from app.viewer import MAX_SCALE

    v = shown_viewer(qtbot, 800, 500)
    v.set_input(to_qimage(np.zeros((150, 200, 3), np.float32)))
    v.set_mode("before")
    c = v.single
    assert c.whole_scale() > 2 and c.fit_scale() == pytest.approx(1.0)  # 100 %
    v.set_enlarge_small(True)
    s = c.fit_scale()
    assert s == int(s) >= 2 and s <= c.whole_scale()  # a whole multiple that fits
    assert not c._smooth(None, s)  # crisp
    v.set_input(to_qimage(np.zeros((5, 5, 3), np.float32)))
    assert c.fit_scale() <= MAX_SCALE
    v.set_enlarge_small(False)
    v.set_input(to_qimage(np.zeros((1000, 3000, 3), np.float32)))  # larger: shrunk as before
    assert c.fit_scale() == pytest.approx(c.whole_scale()) and c.fit_scale() < 1
    # The cap is a whole number of screen pixels: 2 on a 2× display, 1 on a 1.5× one.
    for dpr, cap in ((2.0, 1.0), (1.5, 1 / 1.5), (3.0, 1.0), (2.5, 2 / 2.5)):
        c.devicePixelRatioF = lambda d=dpr: d  # noqa: B023
        assert c.fit_cap() == pytest.approx(cap)
    # Between one screen pixel and the cap (a side-by-side pane on a 2× display), a whole
    # number of screen pixels: 1.59 had been drawn smoothed at 2×, in uneven runs at 3×.
    c.whole_scale = lambda: 0.794
    for dpr, fit in ((2.0, 0.5), (3.0, 2 / 3), (1.0, 0.794)):
        c.devicePixelRatioF = lambda d=dpr: d  # noqa: B023
        assert c.fit_scale() == pytest.approx(fit)


def test_the_enlarge_choice_is_a_remembered_view_menu_item(make_window) -> None:  # noqa: ANN001
    w = make_window()
    assert not w.enlarge_action.isChecked() and not w.viewer.state.enlarge_small
    w.enlarge_action.setChecked(True)
    assert w.viewer.state.enlarge_small and w.settings.enlarge_small()
    assert make_window().enlarge_action.isChecked()  # the next window starts with it


def test_a_trackpad_scroll_pans_and_a_pinch_zooms(viewer, qtbot) -> None:  # noqa: ANN001
    """A two-finger swipe (pixel deltas in scroll phases) had zoomed, as a mouse wheel does;
    photo viewers pan with it, and zoom with a pinch or Ctrl."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QNativeGestureEvent, QPointingDevice, QWheelEvent
    from PySide6.QtWidgets import QApplication

    viewer.set_mode("after")
    c = viewer.single
    viewer.set_enlarge_small(True)
    viewer.zoom_by(4.0)
    s, centre = c._explicit()
    pos = QPointF(c.width() / 2, c.height() / 2)

    def wheel(pixels: QPoint, angle: QPoint, phase: Qt.ScrollPhase,
              mods: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
        QApplication.sendEvent(c, QWheelEvent(pos, c.mapToGlobal(pos), pixels, angle,
                                              Qt.MouseButton.NoButton, mods, phase, False))

    wheel(QPoint(-40, 0), QPoint(-40, 0), Qt.ScrollPhase.ScrollUpdate)  # fingers move left
    s2, c2 = c._explicit()
    assert s2 == s and c2.x() == pytest.approx(centre.x() + 40 / s)  # panned, not zoomed
    wheel(QPoint(0, 0), QPoint(0, 120), Qt.ScrollPhase.NoScrollPhase)  # a mouse wheel click
    assert c._explicit()[0] == pytest.approx(s * 1.25)
    s3 = c._explicit()[0]
    wheel(QPoint(0, 40), QPoint(0, 120), Qt.ScrollPhase.ScrollUpdate,
          Qt.KeyboardModifier.ControlModifier)  # Ctrl: the trackpad zooms
    assert c._explicit()[0] == pytest.approx(s3 * 1.25)
    s4 = c._explicit()[0]
    pinch = QNativeGestureEvent(Qt.NativeGestureType.ZoomNativeGesture,
                                QPointingDevice.primaryPointingDevice(), 2, pos, pos,
                                c.mapToGlobal(pos), 0.1, QPointF(), 0)
    QApplication.sendEvent(c, pinch)
    assert c._explicit()[0] == pytest.approx(s4 * 1.1)


def test_the_probe_starts_clear_of_the_compare_divider(viewer, qtbot) -> None:  # noqa: ANN001
    """Split at 50 %, the view's middle is the divider's handle, which hid the probe."""
    viewer.set_mode("compare")
    viewer.set_compare_style("split")
    c = viewer.single
    c.move_probe(0, 0)
    s, o = c.transform()
    x = o.x() + (c.state.probe.x() + 0.5) * s
    assert x > c.divider_x() + 20  # on the restored side, clear of the handle


def test_the_probe_starts_in_the_middle_of_a_small_image_s_restored_side(qtbot) -> None:  # noqa: ANN001
    """The restored side's middle was taken between the divider and the view's right edge:
    a small image at 100 % (Fit no longer enlarges it) had its probe start at its own edge."""
    v = shown_viewer(qtbot)
    rgb = np.full((72, 96, 3), 0.5, np.float32)
    v.set_input(to_qimage(rgb))
    v.set_output(to_qimage(rgb), "Restored")
    v.set_mode("compare")
    v.set_compare_style("split")
    c = v.single
    c.move_probe(0, 0)
    assert 66 <= c.state.probe.x() <= 78 and 30 <= c.state.probe.y() <= 42  # about (72, 36)


def test_a_wheel_at_the_zoom_limit_erases_the_probe(viewer, qtbot, monkeypatch) -> None:  # noqa: ANN001
    """The wheel handed the readout back to the mouse, but at the zoom limit nothing was
    repainted, so the probe's frame stayed drawn."""
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    from app.viewer import MAX_SCALE

    c = viewer.single
    viewer.state.set(MAX_SCALE, QPointF(100, 50))
    c.move_probe(0, 0)
    assert c.state.probe is not None
    painted: list[int] = []
    monkeypatch.setattr(c, "update", lambda *a: painted.append(1))
    pos = QPointF(c.width() / 2, c.height() / 2)
    QApplication.sendEvent(c, QWheelEvent(pos, c.mapToGlobal(pos), QPoint(), QPoint(0, 120),
                                          Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                                          Qt.ScrollPhase.NoScrollPhase, False))
    assert c._explicit()[0] == MAX_SCALE  # no zoom past the limit
    assert c.state.probe is None and painted  # and the frame is gone


def test_a_message_right_of_the_divider_stays_clear_of_it_and_the_edge(qtbot) -> None:  # noqa: ANN001
    """A model failure, centred on a split's right half but as wide as it, had its first
    letter under the divider and ran off the view's right edge."""
    v = shown_viewer(qtbot, 700, 400)
    v.set_input(to_qimage(np.zeros((400, 700, 3), np.float32)))  # black: the text shows
    v.set_compare_style("split")
    v.set_mode("compare")
    v.set_output(None, caption="", problem=True, message=(
        "The denoise model could not be loaded:\nthe weights do not look like a DRCNet (no "
        "embed1 convolution, or no encoder1.<n> blocks) /a/very/long/path/without/any/space/"
        "to/break/at/weights.safetensors"))
    c = v.single
    shot = c.grab().toImage()
    x0 = round(c.divider_x())
    text = [x for x in range(x0 + 12, shot.width()) for y in range(shot.height())
            if shot.pixelColor(x, y).lightness() > 120]  # light gray on the dark gray half
    assert text, "the message is drawn"
    assert min(text) >= x0 + 14  # clear of the divider and its handle
    assert max(text) <= shot.width() - 14  # and of the view's edge, the path broken too


def _arranged(qtbot, width: int, height: int, mode: str):  # noqa: ANN001, ANN202
    """A viewer in ``mode`` (Side by side or EA ±) showing a ``width`` × ``height`` image."""
    v = shown_viewer(qtbot, 1000, 700)
    v.set_mode("compare" if mode == "side" else "ea")
    v.set_compare_style("side")
    v.set_input(to_qimage(np.full((height, width, 3), 0.5, np.float32)))
    qtbot.wait(10)  # the layout settles
    return v


def test_a_panorama_is_compared_one_above_the_other(qtbot) -> None:  # noqa: ANN001
    v = _arranged(qtbot, 2400, 200, "side")
    assert v.pane_columns()[0] == 1
    assert v.right.y() > v.left.y() and v.right.x() == v.left.x()
    # Across the view, not across half of it: about twice the size two columns gave.
    assert v.scale() > 0.38
    v.set_mode("ea")
    assert v.pane_columns()[1] == 1  # EA ±'s four panes, one above another
    xs = {c.x() for c in v.ea_canvases}
    assert len(xs) == 1 and sorted(c.y() for c in v.ea_canvases) == [c.y() for c in v.ea_canvases]


def test_a_tall_portrait_puts_ea_panes_in_a_row(qtbot) -> None:  # noqa: ANN001
    v = _arranged(qtbot, 300, 2400, "ea")
    assert v.pane_columns() == (2, 4)
    assert len({c.y() for c in v.ea_canvases}) == 1
    two_rows = (700 / 2 - 16) / 2400  # what 2 × 2 panes could show it at, at most
    assert v.scale() > 1.5 * two_rows


def test_usual_arrangement_stays_for_ordinary_and_small_photos(qtbot) -> None:  # noqa: ANN001
    v = _arranged(qtbot, 600, 400, "side")
    assert v.pane_columns() == (2, 2)
    assert v.right.x() > v.left.x() and v.right.y() == v.left.y()
    # A small portrait shows at 100 % in either arrangement: the usual one stays.
    v.set_input(to_qimage(np.full((300, 100, 3), 0.5, np.float32)))
    assert v.pane_columns() == (2, 2)
    # A new image of another shape is laid out again.
    v.set_input(to_qimage(np.full((100, 3000, 3), 0.5, np.float32)))
    assert v.pane_columns() == (1, 1)
    v.set_input(None)
    assert v.pane_columns() == (2, 2)


def test_captions_sit_just_above_a_small_image(qtbot) -> None:  # noqa: ANN001
    v = _arranged(qtbot, 120, 80, "side")
    c = v.left
    s, o = c.transform()
    (box, text), = c.caption_boxes()
    assert text == "Input"
    assert box.bottom() < o.y() < box.bottom() + 8  # above the image, not over it
    assert box.left() == pytest.approx(o.x())  # at its left corner, not the view's
    v.set_mode("compare")
    v.set_compare_style("split")  # two captions: above the image's two corners
    v.set_output(to_qimage(np.full((80, 120, 3), 0.2, np.float32)), "Out")
    left, right = v.single.caption_boxes()
    s, o = v.single.transform()
    assert left[0].left() == pytest.approx(o.x())
    assert right[0].right() == pytest.approx(o.x() + 120 * s)
    v.zoom_by(20.0)  # the image fills the view: the captions go back to its corners
    left, right = v.single.caption_boxes()
    assert (left[0].left(), left[0].top()) == (8, 8)
    assert right[0].right() == v.single.width() - 8


def test_the_arrangement_weighs_the_photo_as_fit_draws_it(qtbot) -> None:  # noqa: ANN001
    """The arrangement had its own copy of Fit's maths, without the whole screen pixels:
    with Enlarge Small Images on, a 400×180 photo went to one column for no gain."""
    from app.viewer import fit_scale_for

    assert fit_scale_for(3.7, 1.0, True) == 3.0 and fit_scale_for(3.7, 1.0, False) == 1.0
    assert fit_scale_for(0.99, 2.0, False) == 0.5  # 1.98 screen pixels: drawn at 1
    v = _arranged(qtbot, 400, 180, "side")
    v.set_enlarge_small(True)
    assert v.pane_columns() == (2, 2)

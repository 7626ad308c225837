"""The Maps panel's legend."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from app.maps_panel import DEFAULT_BLOCK, MapsPanel
from drcnet.compare import MapSet


def test_the_t_tick_belongs_to_the_maps_shown(qtbot) -> None:  # noqa: ANN001
    panel = MapsPanel()
    qtbot.addWidget(panel)
    m = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    panel.set_maps({DEFAULT_BLOCK: MapSet(m, (m >= 0.8).astype(np.float32), m)}, t=0.8)
    assert panel.legend.tick == 0.8 and "t = 0.80" in panel.legend_note.text()
    # Cleared (another model, a knob moved with the maps hidden): the old t is no longer
    # the knob's, so no tick says it is until the next maps come.
    panel.clear_maps()
    assert panel.legend.tick is None and "t =" not in panel.legend_note.text()


def test_a_deep_block_s_overlay_lies_where_its_cells_are(qtbot) -> None:  # noqa: ANN001
    """The network pads a 20-px preview to 24 at the bottom, so a 1/8 block's 3 rows cover
    0-7, 8-15 and 16-23: drawn over the padded extent and cropped, not stretched over 20
    (which put the last row from 13.3 px, 3.4 % of a real preview's height off)."""
    panel = MapsPanel()
    qtbot.addWidget(panel)
    full = np.zeros((20, 20), np.float32)
    deep = np.zeros((3, 3), np.float32)
    deep[1] = 1.0  # the middle row of cells: preview rows 8 to 15
    panel.set_maps({"stage1.enc0": MapSet(full, full, full),
                    DEFAULT_BLOCK: MapSet(deep, deep, deep)}, t=0.5)
    panel.set_options(DEFAULT_BLOCK, "mask", "gray", 60, True)
    tint = panel.overlay_array()
    assert tint.shape[:2] == (20, 20)
    on = tint[:, 10, 0] > 0.5
    assert not on[:8].any() and on[8:16].all() and not on[16:].any()


def test_the_t_tick_shows_at_the_light_end_of_a_scale(qtbot) -> None:  # noqa: ANN001
    from app.maps_panel import ColourBar

    legend = ColourBar()
    qtbot.addWidget(legend)
    legend.resize(200, 12)
    legend.set_scale("gray", tick=0.95)  # gray's white end: a white tick alone vanished
    legend.show()
    qtbot.waitExposed(legend)
    shot = legend.grab().toImage()
    x = round(0.95 * (shot.width() - 1))
    row = [shot.pixelColor(i, 6).lightness() for i in range(x - 6, x + 6)]
    assert min(row) < 60 and max(row) > 240  # dark edges round the white tick


def test_the_thumbnails_come_after_the_opacity_in_the_tab_order(qtbot) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

    host = QWidget()
    qtbot.addWidget(host)
    lay = QVBoxLayout(host)
    panel = MapsPanel()
    lay.addWidget(panel)
    lay.addWidget(QLineEdit())  # made before the blocks are known, as the toolbar's combo
    panel.set_blocks(["stage1.enc0", "stage1.enc1", "stage2.enc0", "stage2.enc1"])
    chain, w = [], panel.opacity_slider
    for _ in range(4):
        w = w.nextInFocusChain()
        while not (w.focusPolicy() & Qt.FocusPolicy.TabFocus):
            w = w.nextInFocusChain()
        chain.append(w)
    assert chain == [panel.buttons[n] for n in ("stage1.enc0", "stage1.enc1", "stage2.enc0",
                                                 "stage2.enc1")]


def test_a_mask_under_one_percent_keeps_the_rest_of_the_line(qtbot) -> None:  # noqa: ANN001
    """The share "<1%" had been read as an HTML tag: the figures after it and the source
    line vanished (every render of the blurry sample's deep block)."""
    from PySide6.QtGui import QTextDocument

    panel = MapsPanel()
    qtbot.addWidget(panel)
    m = np.linspace(0, 1, 1024, dtype=np.float32).reshape(32, 32)
    panel.set_maps({DEFAULT_BLOCK: MapSet(m, (m >= 0.999).astype(np.float32), m)}, t=0.999,
                   source="from the 512×340 preview")
    doc = QTextDocument()
    doc.setHtml(panel.info.text())
    shown = doc.toPlainText()
    assert "covers <1% · m in [0.00, 1.00]" in shown and "from the 512×340 preview" in shown
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("mask"))
    assert panel.grid_title.text() == "All blocks: binary mask M = (m ≥ t)"


def test_the_thumbnails_and_legend_have_names_a_screen_reader_can_say(qtbot) -> None:  # noqa: ANN001
    """The thumbnails were named by their text, "s1·e0", read out as "s one dot e zero"."""
    panel = MapsPanel()
    qtbot.addWidget(panel)
    panel.set_blocks(["stage1.enc0", "stage2.enc3"])
    assert panel.buttons["stage2.enc3"].accessibleName() == "Block stage2.enc3"
    assert panel.legend.accessibleName() == "Colour scale of the selected map"


def test_its_expected_width_is_its_width_with_a_model_s_thumbnails(qtbot) -> None:  # noqa: ANN001
    """A first window is sized before the model loads; measured empty, the panel had been
    51 px narrower than with its thumbnails, and a window just over 1280 px opened with
    the image under half its width."""
    panel = MapsPanel()
    qtbot.addWidget(panel)
    expected = panel.expected_width()
    assert expected > panel.minimumSizeHint().width()  # the empty grid is narrower
    panel.set_blocks([f"stage{s}.enc{i}" for s in (1, 2) for i in range(4)])
    assert panel.minimumSizeHint().width() == expected


def test_a_panorama_s_thumbnail_shows_its_middle_centred(qtbot) -> None:  # noqa: ANN001
    panel = MapsPanel()
    qtbot.addWidget(panel)

    def painted(h: int, w: int) -> tuple[int, int, int, int]:
        """The thumbnail's width and height, the rows its map covers and how far off centre
        they are."""
        m = np.tile(np.linspace(0, 1, w, dtype=np.float32), (h, 1))
        pixmap = panel.thumbnail(MapSet(m, m, m), "self_aware", "gray")
        alpha = pixmap.toImage().convertToFormat(pixmap.toImage().Format.Format_ARGB32)
        a = np.array([[alpha.pixelColor(x, y).alpha() for x in range(alpha.width())]
                      for y in range(alpha.height())])
        rows = np.flatnonzero(a.max(1))
        assert a.max(0).all()  # the map spans the width
        return (pixmap.width(), pixmap.height(), len(rows),
                int(rows[0] + rows[-1] - (a.shape[0] - 1)))  # 0: centred

    w, h, rows, off = painted(6, 64)  # a 12:1 panorama's deepest map
    assert (w, h) == (60, 60) and rows == 20 and abs(off) <= 1  # not a 60×6 strip at the top
    _, _, rows, off = painted(43, 64)  # an ordinary photo's: whole, centred
    assert rows == 40 and abs(off) <= 1

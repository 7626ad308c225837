"""The Maps panel's legend."""

from __future__ import annotations

import numpy as np

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

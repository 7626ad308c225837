"""The controls panel: slider ↔ spin box binding both ways, reset, task and device."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import Qt

from app.controls import ControlsPanel, SciSpinBox, delta_to_slider, slider_to_delta
from drcnet.compare import Knobs


@pytest.fixture
def panel(qtbot):  # noqa: ANN001, ANN201
    p = ControlsPanel([("cpu", "CPU"), ("cuda:0", "CUDA 0: test")])
    qtbot.addWidget(p)
    return p


def test_t_slider_moves_spinbox_and_emits(panel, qtbot) -> None:  # noqa: ANN001
    with qtbot.waitSignal(panel.knobsChanged) as blocker:
        panel.t_slider.setValue(62)
    assert panel.t_spin.value() == pytest.approx(0.62)
    assert blocker.args[0].t == pytest.approx(0.62)


def test_t_spinbox_moves_slider(panel, qtbot) -> None:  # noqa: ANN001
    with qtbot.waitSignal(panel.knobsChanged) as blocker:
        panel.t_spin.setValue(0.91)
    assert panel.t_slider.value() == 91
    assert blocker.args[0] == Knobs(0.91, 1e-6, True)


def test_t_keyboard_on_slider(panel, qtbot) -> None:  # noqa: ANN001
    panel.t_slider.setFocus()
    qtbot.keyClick(panel.t_slider, Qt.Key.Key_Right)
    assert panel.t_spin.value() == pytest.approx(0.76)


def test_delta_slider_is_logarithmic(panel, qtbot) -> None:  # noqa: ANN001
    with qtbot.waitSignal(panel.knobsChanged) as blocker:
        panel.delta_slider.setValue(-300)
    assert panel.delta_spin.value() == pytest.approx(1e-3)
    assert blocker.args[0].delta == pytest.approx(1e-3)
    assert panel.delta_spin.text() == "1.00e-03"
    panel.delta_slider.setValue(panel.delta_slider.minimum())
    assert panel.delta_spin.value() == pytest.approx(1e-7)
    panel.delta_slider.setValue(panel.delta_slider.maximum())
    assert panel.delta_spin.value() == pytest.approx(1e-1)


def test_delta_spinbox_moves_slider(panel, qtbot) -> None:  # noqa: ANN001
    with qtbot.waitSignal(panel.knobsChanged) as blocker:
        panel.delta_spin.setValue(1e-4)
    assert panel.delta_slider.value() == -400
    assert blocker.args[0].delta == pytest.approx(1e-4)


def test_delta_typed_in_scientific_notation(panel, qtbot) -> None:  # noqa: ANN001
    panel.delta_spin.lineEdit().selectAll()
    qtbot.keyClicks(panel.delta_spin.lineEdit(), "2.5e-5")
    qtbot.keyClick(panel.delta_spin.lineEdit(), Qt.Key.Key_Return)
    assert panel.delta_spin.value() == pytest.approx(2.5e-5)
    assert panel.delta_slider.value() == round(100 * math.log10(2.5e-5))


@pytest.mark.parametrize(("box", "typed", "shown"), [
    ("t_spin", "0.3", "0.50"), ("t_spin", "1", "0.95"),
    ("delta_spin", "1e-9", "1.00e-07"), ("delta_spin", "0.5", "1.00e-01"),
    ("strength_spin", "150", "100 %"), ("strength_spin", "-5", "0 %"),
])
def test_a_typed_number_out_of_range_is_taken_as_the_nearest_limit(panel, qtbot, box, typed,
                                                                  shown) -> None:  # noqa: ANN001
    spin = getattr(panel, box)
    edit = spin.lineEdit()
    edit.selectAll()
    qtbot.keyClicks(edit, typed)  # Qt refused the "0" of "150" (15 %) or put the old value back
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert edit.text() == shown
    assert spin.textFromValue(spin.value()) == shown.removesuffix(" %")


@pytest.mark.parametrize(("box", "typed", "value"), [
    ("t_spin", "0,7", 0.7), ("t_spin", "0,65", 0.65),
    ("delta_spin", "1,5e-3", 1.5e-3), ("delta_spin", "2,5e-4", 2.5e-4),
])
def test_a_comma_is_taken_as_the_decimal_point(panel, qtbot, box, typed,
                                               value) -> None:  # noqa: ANN001
    # In an English locale Qt read "0,7" as 7 (then 0.95, the limit) and dropped the comma
    # of "1,5e-3" (15e-3): a wrong value, silently. Comma-decimal users type one.
    spin = getattr(panel, box)
    edit = spin.lineEdit()
    edit.selectAll()
    qtbot.keyClicks(edit, typed)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert spin.value() == pytest.approx(value)


def test_sci_spinbox_steps_a_tenth_of_a_decade(qtbot) -> None:  # noqa: ANN001
    box = SciSpinBox()
    qtbot.addWidget(box)
    box.setValue(1e-6)
    box.stepBy(10)
    assert box.value() == pytest.approx(1e-5)
    box.stepBy(-100)
    assert box.value() == pytest.approx(1e-7)  # clamped at the range


def test_slider_mapping_round_trips() -> None:
    for v in range(-700, -99, 7):
        assert delta_to_slider(slider_to_delta(v)) == v


def test_reset_restores_paper_defaults(panel, qtbot) -> None:  # noqa: ANN001
    panel.t_slider.setValue(55)
    panel.delta_slider.setValue(-200)
    panel.ea_check.setChecked(False)
    with qtbot.waitSignal(panel.knobsChanged) as blocker:
        panel.reset_button.click()
    assert blocker.args[0] == Knobs(0.75, 1e-6, True)
    assert panel.t_slider.value() == 75
    assert panel.delta_slider.value() == -600
    assert panel.ea_check.isChecked()


def test_reset_returns_to_the_loaded_models_values(panel, qtbot) -> None:  # noqa: ANN001
    panel.set_model_knobs(Knobs(0.6, 1e-2, True))
    assert "t = 0.6, δ = 1e-02" in panel.reset_button.toolTip()
    assert "paper" not in panel.reset_button.toolTip()
    panel.t_slider.setValue(80)
    assert panel.reset_button.isEnabled()
    with qtbot.waitSignal(panel.knobsChanged) as blocker:
        panel.reset_button.click()
    assert blocker.args[0] == Knobs(0.6, 1e-2, True)
    assert panel.delta_slider.value() == -200
    assert not panel.reset_button.isEnabled()  # nothing to reset while at the model's values
    panel.ea_check.setChecked(False)
    assert panel.reset_button.isEnabled()
    # Values the panel cannot show exactly are held as it shows them, so Reset can finish.
    panel.set_model_knobs(Knobs(0.3, 1.2345e-3, True))
    assert panel.model_knobs() == Knobs(0.5, 1.23e-3, True)
    panel.reset_button.click()
    assert panel.knobs() == panel.model_knobs() and not panel.reset_button.isEnabled()
    with qtbot.assertNotEmitted(panel.knobsChanged):
        panel.reset_knobs()  # nothing to reset


def test_set_knobs_updates_widgets_silently(panel, qtbot) -> None:  # noqa: ANN001
    with qtbot.assertNotEmitted(panel.knobsChanged):
        panel.set_knobs(Knobs(0.6, 1e-2, False))
    assert panel.t_slider.value() == 60
    assert panel.t_spin.value() == pytest.approx(0.6)
    assert panel.delta_slider.value() == -200
    assert not panel.ea_check.isChecked()
    assert panel.knobs() == Knobs(0.6, 1e-2, False)


def test_ea_checkbox_emits(panel, qtbot) -> None:  # noqa: ANN001
    with qtbot.waitSignal(panel.knobsChanged) as blocker:
        panel.ea_check.click()
    assert blocker.args[0].ea is False


def test_task_and_device_pickers(panel, qtbot) -> None:  # noqa: ANN001
    with qtbot.waitSignal(panel.taskChanged) as blocker:
        panel.set_task("deblur")
    assert blocker.args == ["deblur"]
    with qtbot.waitSignal(panel.deviceChanged) as blocker:
        panel.set_device("cuda:0")
    assert blocker.args == ["cuda:0"]
    panel.set_device("no-such-device")
    assert panel.device() == "cpu"


def test_problem_banner_disables_restore(panel) -> None:  # noqa: ANN001
    panel.set_model_status("No trained deblur weights", problem=True)
    assert not panel.restore_button.isEnabled()
    assert "No trained deblur weights" in panel.model_status.text()
    panel.set_model_status("deblur.safetensors")
    assert panel.restore_button.isEnabled()


def test_tile_below_the_smallest_becomes_the_smallest(panel, qtbot) -> None:  # noqa: ANN001
    from drcnet.inference import MIN_TILE

    panel.tile_auto_check.setChecked(False)
    panel.tile_spin.setValue(3)
    assert panel.tile() == MIN_TILE
    panel.tile_spin.setValue(0)  # the whole image in one pass
    assert panel.tile() == 0


def test_saved_or_trained_tiles_below_the_smallest_are_raised(panel) -> None:  # noqa: ANN001
    from drcnet.inference import MIN_TILE

    panel.set_run(512, 8, True, tile_auto=False)  # a setting saved before the minimum
    assert panel.tile() == MIN_TILE
    panel.set_run(512, 256, True, tile_auto=True)
    panel.set_auto_tile(8)  # weights trained on 8-px crops
    assert panel.tile() == MIN_TILE


def test_a_typed_tile_counts_before_enter(panel, qtbot) -> None:  # noqa: ANN001
    panel.tile_auto_check.setChecked(False)
    panel.tile_spin.setValue(256)
    panel.tile_spin.lineEdit().selectAll()
    qtbot.keyClicks(panel.tile_spin.lineEdit(), "128")
    assert panel.tile() == 128


def test_knobs_are_named_for_screen_readers(panel) -> None:  # noqa: ANN001
    # Qt would otherwise announce the group box ("DFR knobs") for each of them.
    for box, slider, name in ((panel.t_spin, panel.t_slider, "Threshold t"),
                              (panel.delta_spin, panel.delta_slider, "Energy coefficient δ"),
                              (panel.strength_spin, panel.strength_slider, "Strength")):
        assert box.accessibleName() == slider.accessibleName() == name
        assert box.toolTip() and box.toolTip() == slider.toolTip()
    assert panel.tile_spin.accessibleName() == "Tile"


def test_screen_readers_hear_the_knobs_values_not_slider_positions(panel) -> None:  # noqa: ANN001
    """A slider's accessible value is its position: δ's read as -600 (log10 δ × 100), t's
    as 75. Each slider's description is the value as its box shows it, however it was set."""
    panel.delta_spin.setValue(1e-6)
    panel.t_spin.setValue(0.75)
    assert panel.delta_slider.accessibleDescription() == "1.00e-06"
    assert panel.t_slider.accessibleDescription() == "0.75"
    panel.delta_slider.setValue(-300)
    assert panel.delta_slider.accessibleDescription() == "1.00e-03"
    panel.set_strength(0.6)  # signals blocked
    assert panel.strength_slider.accessibleDescription() == "60 %"

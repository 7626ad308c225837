"""drcnet.compare: map rendering, comparison layouts, stamped exports, ``drcnet compare``."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import types
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from drcnet import DRCNet, registry
from drcnet.cli import main
from drcnet.compare import (
    NOEA_BUILT,
    NOEA_BYPASS,
    NOEA_TRAINED,
    ExportParams,
    Knobs,
    SheetPanel,
    amplified_difference,
    analyse,
    colorize,
    compose,
    downscale,
    draw_label,
    format_delta,
    knob_text,
    nice_gain,
    normalize_map,
    overlay,
    render_map,
    sheet_title,
    side_by_side,
    sidecar_path,
    split_view,
    summary_sheet,
    write_export,
)
from drcnet.errors import ImageWriteError
from drcnet.imageio import read_image, read_png_text, write_image
from drcnet.weights import save_weights, sha256


@pytest.fixture(autouse=True)
def one_torch_thread():  # noqa: ANN201
    """Tiny networks run fastest on one thread; a busy 2-core box makes OpenMP threads spin."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def ramp(h: int = 40, w: int = 60) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([x / w, y / h, np.full_like(x, 0.3)], axis=2)


@pytest.fixture
def model() -> DRCNet:
    torch.manual_seed(0)
    return DRCNet(wf=8, depth=2).eval()


@pytest.fixture
def params() -> ExportParams:
    return ExportParams(task="denoise", t=0.7, delta=1e-5, ea=True, weights="denoise.safetensors",
                        weights_sha256="ab" * 32, device="cpu", tile=512, overlap=64,
                        input="in.png")


# ----------------------------------------------------------------------------- rendering


def test_colorize_shape_range_and_upsampling() -> None:
    m = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    rgb = colorize(m, "viridis", size=(40, 30))
    assert rgb.shape == (30, 40, 3) and rgb.dtype == np.float32
    assert 0.0 <= rgb.min() and rgb.max() <= 1.0
    # Viridis runs from dark purple to yellow.
    assert rgb[0, 0, 2] > rgb[0, 0, 1] and rgb[-1, -1, 0] > 0.9
    gray = colorize(m, "gray")
    assert np.allclose(gray[..., 0], gray[..., 2])


def test_colorize_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="colormap"):
        colorize(np.zeros((2, 2)), "rainbowish")
    with pytest.raises(ValueError, match="h×w"):
        colorize(np.zeros((2, 2, 3)))


def test_mask_upsamples_crisply() -> None:
    m = np.array([[0.0, 1.0]], np.float32)
    from drcnet.compare import MapSet

    maps = MapSet(self_aware=m, mask=m, energy=m)
    out = render_map(maps, "mask", "gray", (8, 2))
    assert set(np.unique(np.round(out[..., 0], 3))) == {0.0, 1.0}


def test_normalize_map() -> None:
    e = np.array([[0.6, 0.8], [0.7, 0.6]], np.float32)
    n = normalize_map(e, "energy")
    assert n.min() == 0.0 and n.max() == 1.0
    s = np.array([[0.2, 1.3]], np.float32)
    assert np.allclose(normalize_map(s, "self_aware"), [[0.2, 1.0]])  # absolute, clipped
    assert np.allclose(normalize_map(np.full((2, 2), 0.7), "energy"), 0.0)
    with pytest.raises(ValueError):
        from drcnet.compare import MapSet

        MapSet(e, e, e).get("nope")


def test_overlay_blends() -> None:
    a = np.zeros((4, 4, 3), np.float32)
    c = np.ones((2, 2, 3), np.float32)
    assert np.allclose(overlay(a, c, 0.25), 0.25)
    assert np.allclose(overlay(a, c, 0.0), 0.0)


def test_amplified_difference_gain() -> None:
    a = np.zeros((10, 10, 3), np.float32)
    b = a.copy()
    b[2:5, 2:5] = 0.01
    heat, gain = amplified_difference(a, b)
    assert gain == 50  # 0.8 / 0.01 = 80, rounded down to 1-2-5 steps
    assert heat.shape == (10, 10, 3)
    assert heat[3, 3].sum() > heat[8, 8].sum()
    assert nice_gain(np.zeros(5)) == 1000.0
    assert amplified_difference(a, b, gain=3.0)[1] == 3.0


def test_draw_label_marks_corner_only() -> None:
    img = np.full((80, 200, 3), 0.5, np.float32)
    out = draw_label(img, "Input")
    assert out.shape == img.shape and out is not img
    assert not np.allclose(out[:20, :60], 0.5)
    assert np.allclose(out[60:, 120:], 0.5)
    right = draw_label(img, "R", corner="top-right")
    assert not np.allclose(right[:15, -15:], 0.5) and np.allclose(right[:15, :15], 0.5)


def test_side_by_side_shape_and_content() -> None:
    a, b = ramp(), 1.0 - ramp()
    out = side_by_side(a, b, labels=None, gap=6)
    assert out.shape == (40, 126, 3)
    assert np.allclose(out[:, :60], a) and np.allclose(out[:, 66:], b)
    small_b = downscale(b, 30)  # a preview-size result is stretched to the input
    assert side_by_side(a, small_b).shape == (40, 128, 3)


@pytest.mark.parametrize("pos", [0.0, 0.3, 0.5, 1.0])
def test_split_view(pos: float) -> None:
    a, b = ramp(), 1.0 - ramp()
    out = split_view(a, b, pos, labels=None, line=1)
    x = round(pos * 60)
    assert out.shape == a.shape
    if x > 1:
        assert np.allclose(out[:, : x - 1], a[:, : x - 1])
    if x < 59:
        assert np.allclose(out[:, x + 1 :], b[:, x + 1 :])
    with pytest.raises(ValueError):
        split_view(a, b, 1.5)


def test_layouts_reject_bad_shapes() -> None:
    with pytest.raises(ValueError, match="H×W×3"):
        side_by_side(np.zeros((4, 4)), np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="layout"):
        compose("grid", ramp(), ramp())


def test_summary_sheet_grid() -> None:
    panels = [[SheetPanel(ramp(), "a"), SheetPanel(ramp(), "b")], [SheetPanel(ramp(), "c")]]
    sheet = summary_sheet("title", panels, panel_width=120, footer="foot")
    ph = round(120 * 40 / 60)
    assert sheet.shape[1] == 2 * 120 + 3 * 12
    assert sheet.shape[0] == 34 + 2 * (ph + 12) + 34
    with pytest.raises(ValueError):
        summary_sheet("t", [])


# ----------------------------------------------------------------------------- analysis


def test_analyse_maps_and_ea_pair(model: DRCNet) -> None:
    rgb = ramp(32, 48)
    a = analyse(model, rgb, Knobs(0.5, 1e-6, True), probe=True, ea_compare=True)
    assert a.restored.shape == rgb.shape
    assert sorted(a.maps) == sorted(model.block_names())
    assert a.maps["stage1.enc1"].mask.shape == (16, 24)
    assert a.with_ea is a.restored
    assert a.without_ea_source == NOEA_BYPASS
    assert not np.allclose(a.with_ea, a.without_ea)
    assert model.knobs.ea is True  # knobs restored after the bypass pass
    b = analyse(model, rgb, Knobs(0.5, 1e-6, False), ea_compare=True)
    assert b.without_ea is b.restored
    assert np.allclose(b.with_ea, a.with_ea, atol=1e-6)
    built = DRCNet(wf=8, depth=2, ea=False).eval()  # trained without EA: nothing removed
    c = analyse(built, rgb, Knobs(0.5, 1e-6, False), ea_compare=True)
    assert c.without_ea_source == NOEA_BUILT and c.without_ea is c.restored
    assert b.maps == {}


def test_analyse_maps_cover_the_image_not_the_padding() -> None:
    torch.manual_seed(0)
    net = DRCNet(wf=8, depth=3).eval()  # pads to a multiple of 4
    a = analyse(net, ramp(30, 45), Knobs(), probe=True)
    assert a.maps["stage1.enc0"].self_aware.shape == (30, 45)
    assert a.maps["stage1.enc1"].mask.shape == (15, 23)
    assert a.maps["stage2.enc2"].energy.shape == (8, 12)


def test_analyse_with_trained_noea(model: DRCNet) -> None:
    torch.manual_seed(3)
    noea = DRCNet(wf=8, depth=2, ea=False).eval()
    a = analyse(model, ramp(16, 16), Knobs(), ea_compare=True, noea_model=noea)
    assert a.without_ea_source == NOEA_TRAINED
    assert noea.knobs.ea is False


def test_downscale() -> None:
    img = ramp(100, 300)
    assert downscale(img, 512) is img
    assert downscale(img, 150).shape == (50, 150, 3)


# ----------------------------------------------------------------------------- export


def test_write_export_metadata_and_sidecar(tmp_path: Path, params: ExportParams) -> None:
    out = tmp_path / "o.png"
    write_export(out, ramp(), params, inputs=[tmp_path / "in.png"])
    meta = read_png_text(out)
    assert meta["drcnet.task"] == "denoise" and meta["Software"] == "DRCNet Studio"
    assert float(meta["drcnet.delta"]) == 1e-5 and meta["drcnet.weights_sha256"] == "ab" * 32
    side = json.loads(sidecar_path(out).read_text())
    assert side["t"] == 0.7 and side["ea"] is True and side["tile"] == 512
    assert side["size"] == [60, 40] and side["output"] == "o.png"
    assert "split" not in side  # unset fields are left out
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_write_export_refuses_inputs(tmp_path: Path, params: ExportParams) -> None:
    src = tmp_path / "in.png"
    write_image(src, ramp())
    before = src.read_bytes()
    with pytest.raises(ImageWriteError, match="input"):
        write_export(src, ramp(), params, inputs=[src])
    fake = tmp_path / "x.json"  # an input whose name the sidecar would take
    fake.write_text("{}")
    with pytest.raises(ImageWriteError, match="input"):
        write_export(tmp_path / "x.png", ramp(), params, inputs=[fake])
    assert not (tmp_path / "x.png").exists()
    assert src.read_bytes() == before and fake.read_text() == "{}"


def test_an_export_whose_sidecar_or_image_fails_leaves_neither(tmp_path: Path,
                                                              params: ExportParams,
                                                              monkeypatch) -> None:  # noqa: ANN001
    (tmp_path / "x.json").mkdir()  # the sidecar's name is taken by a folder
    with pytest.raises(ImageWriteError, match="folder"):
        write_export(tmp_path / "x.png", ramp(), params)
    assert not (tmp_path / "x.png").exists()  # it used to be written, then the error came

    import drcnet.imageio

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise ImageWriteError("disk full")

    monkeypatch.setattr(drcnet.imageio, "write_image", broken)
    with pytest.raises(ImageWriteError, match="disk full"):
        write_export(tmp_path / "y.png", ramp(), params)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]  # no staged sidecar left


def test_an_unwritable_folder_is_said_of_the_image_not_its_sidecar(
        tmp_path: Path, params: ExportParams, monkeypatch) -> None:  # noqa: ANN001
    """The sidecar is staged first, and its name had been the one said: "Cannot write
    x.json (Operation not permitted)" for an export of x.png."""
    import errno

    import drcnet.imageio

    def refused(path):  # noqa: ANN001, ANN202
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(drcnet.imageio, "make_temp", refused)
    out = tmp_path / "x.png"
    with pytest.raises(ImageWriteError) as info:
        write_export(out, ramp(), params)
    assert str(info.value) == (f"Cannot write {out}: the folder is not writable in {tmp_path} "
                               "(Operation not permitted).")


def test_write_export_without_sidecar_and_jpeg(tmp_path: Path, params: ExportParams) -> None:
    write_export(tmp_path / "a.png", ramp(), params, sidecar=False)
    assert not (tmp_path / "a.json").exists()
    write_export(tmp_path / "b.jpg", ramp(), params)
    assert json.loads((tmp_path / "b.json").read_text())["task"] == "denoise"


def test_exports_carry_print_resolution_and_png_text_as_the_layout_shows_the_photo(
        tmp_path: Path, params: ExportParams) -> None:
    """Resolution where the photo's pixels are shown one to one (image, side, split), its PNG
    text on the restored photo only; both had been dropped from every export."""
    from drcnet.compare import carried_meta, export_note

    src = write_image(tmp_path / "in.png", ramp(), dpi=(300, 300), metadata={"Title": "T"})
    image = read_image(src)
    for layout in ("image", "side", "split", "sheet"):
        out = write_export(tmp_path / f"{layout}.png", ramp(), params, sidecar=False,
                           **carried_meta(layout, image.icc, image.exif, image.dpi,
                                          image.png_text))
        back = read_image(out)
        assert (back.dpi is not None) == (layout != "sheet"), layout
        assert ("Title" in back.png_text) == (layout == "image"), layout
        assert read_png_text(out)["drcnet.task"] == "denoise"
    assert export_note(image, tmp_path / "o.jpg", "image") == ("the input's PNG text (Title) "
                                                              "is not carried over")
    assert export_note(image, tmp_path / "o.jpg", "side") == ""  # a figure: not the photo
    assert "print resolution" in export_note(image, tmp_path / "o.webp", "split")
    # Nor does a figure carry a JPEG comment or ImageMagick's EXIF text: not said there.
    marked = dataclasses.replace(image, comment=True, raw_exif=True)
    assert "comment" in export_note(marked, tmp_path / "o.png", "image")
    assert export_note(marked, tmp_path / "o.png", "side") == ""


def test_compare_module_imports_no_qt() -> None:
    code = "import sys, drcnet.compare, drcnet.cli; print(any(m.startswith('PySide6') " \
           "for m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"


# ----------------------------------------------------------------------------- CLI


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "weights"
    torch.manual_seed(0)
    save_weights(folder / "denoise.safetensors", DRCNet(wf=8, depth=2), {"task": "denoise"})
    monkeypatch.setattr(registry, "WEIGHTS_DIR", folder)
    return folder


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "in.png"
    rng = np.random.default_rng(0)
    write_image(path, np.clip(ramp() + rng.normal(0, 0.05, (40, 60, 3)), 0, 1))
    return path


@pytest.mark.parametrize("layout, shape", [("side", (40, 128, 3)), ("split", (40, 60, 3))])
def test_cli_compare_layouts(tmp_path, shipped, photo, layout, shape) -> None:  # noqa: ANN001
    out = tmp_path / f"{layout}.png"
    before = photo.read_bytes()
    code = main(["compare", str(photo), "-o", str(out), "--task", "denoise", "--layout", layout,
                 "--split", "0.4", "--t", "0.6", "--delta", "1e-4", "--device", "cpu"])
    assert code == 0
    assert read_image(out).rgb.shape == shape
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["weights_sha256"] == sha256(shipped / "denoise.safetensors")
    assert (side["t"], side["delta"], side["layout"]) == (0.6, 1e-4, layout)
    assert side.get("split") == (0.4 if layout == "split" else None)
    assert read_png_text(out)["drcnet.layout"] == layout
    assert side["ensemble"] == 1
    assert side["range_check"] == "not checked (no calibrated limit)"  # the tiny file has none
    assert photo.read_bytes() == before


def test_cli_compare_records_and_warns_about_the_range(tmp_path, shipped, photo,
                                                       capsys) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    out = tmp_path / "c.png"
    args = ["compare", str(photo), "-o", str(out), "--task", "denoise", "--device", "cpu"]
    for limit, flagged in ((1e9, False), (1e-6, True)):
        save_weights(shipped / "denoise.safetensors", DRCNet(wf=8, depth=2),
                     {"task": "denoise", "activation_limit": limit})
        assert main(args) == 0
        err = capsys.readouterr().err
        summary = json.loads(out.with_suffix(".json").read_text())["range_check"]
        assert ("drcnet: warning: in.png: outside what this model was trained on" in err) is flagged
        assert summary.startswith("outside the trained range in 1 of 1 tiles" if flagged
                                  else "within the trained range (peak ")


def test_cli_compare_refuses_an_unwritable_folder_before_the_model_runs(
        tmp_path, photo, monkeypatch, capsys) -> None:  # noqa: ANN001
    import drcnet.registry
    from tests.helpers import read_only

    def no_model(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the model ran before the folder was checked")

    loader = drcnet.registry.load_model
    monkeypatch.setattr(drcnet.registry, "load_model", no_model)
    read_only(monkeypatch, tmp_path)
    assert main(["compare", str(photo), "-o", str(tmp_path / "c.png"), "--task", "denoise",
                 "--device", "cpu"]) == 1
    assert "cannot create a file in the output folder" in capsys.readouterr().err
    monkeypatch.setattr(drcnet.registry, "load_model", loader)  # restore loads it first
    assert main(["restore", str(photo), "-o", str(tmp_path / "r.png"), "--task", "denoise",
                 "--device", "cpu", "-q"]) == 1  # restore's check is the same, before a pass
    assert "cannot create a file in the output folder" in capsys.readouterr().err


def test_an_export_without_sidecar_leaves_a_json_studio_did_not_write(tmp_path) -> None:
    from drcnet.inference import TileConfig

    mine = tmp_path / "x.json"
    mine.write_text('{"output": "x.png", "owner": "my pipeline"}')
    params = ExportParams.of_run("denoise", Knobs(0.75, 1e-6, True), "w.safetensors", "ab",
                                 "cpu", TileConfig(), "fp32")
    write_export(tmp_path / "x.png", np.zeros((8, 8, 3), np.float32), params, sidecar=False)
    assert mine.is_file()
    with pytest.raises(ImageWriteError, match="not a record DRCNet Studio wrote"):
        write_export(tmp_path / "x.png", np.zeros((8, 8, 3), np.float32), params)
    assert mine.read_text() == '{"output": "x.png", "owner": "my pipeline"}'  # not replaced
    mine.unlink()
    write_export(tmp_path / "x.png", np.zeros((8, 8, 3), np.float32), params)  # Studio's own
    write_export(tmp_path / "x.png", np.zeros((8, 8, 3), np.float32), params)  # replaced
    write_export(tmp_path / "x.png", np.zeros((8, 8, 3), np.float32), params, sidecar=False)
    assert not mine.exists()


def test_cli_compare_uses_the_files_knobs_unless_told(tmp_path, shipped, photo) -> None:  # noqa: ANN001
    save_weights(shipped / "denoise.safetensors", DRCNet(wf=8, depth=2, t=0.6, delta=2.5e-3))
    out = tmp_path / "k.png"
    assert main(["compare", str(photo), "-o", str(out), "--task", "denoise", "--device",
                 "cpu"]) == 0
    side = json.loads(out.with_suffix(".json").read_text())
    assert (side["t"], side["delta"], side["ea"]) == (0.6, 2.5e-3, True)
    assert main(["compare", str(photo), "-o", str(out), "--task", "denoise", "--device", "cpu",
                 "--delta", "1e-5"]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["delta"] == 1e-5


def test_format_delta_keeps_its_digits() -> None:
    assert [format_delta(d) for d in (1e-6, 1e-2, 2.5e-3, 2.51e-3, 0.1)] == [
        "1e-06", "1e-02", "2.5e-03", "2.51e-03", "1e-01"]
    assert knob_text(Knobs(0.6, 2.5e-3, False)) == "t = 0.60, delta = 2.5e-03, EA off"


def test_cli_compare_ensemble_is_recorded(tmp_path, shipped, photo) -> None:  # noqa: ANN001
    out = tmp_path / "best.png"
    assert main(["compare", str(photo), "-o", str(out), "--task", "denoise", "--ensemble",
                 "--device", "cpu"]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["ensemble"] == 8
    assert read_png_text(out)["drcnet.ensemble"] == "8"
    assert json.loads(out.with_suffix(".json").read_text())["repair"] is True


def test_cli_compare_runs_at_restore_s_precision(tmp_path, shipped, photo) -> None:  # noqa: ANN001
    """compare had always run fp32, so its Restored panel was not what restore and the
    window give at their default (bf16 where the CPU computes it natively)."""
    from drcnet.devices import resolve_precision

    out = tmp_path / "auto.png"
    assert main(["compare", str(photo), "-o", str(out), "--task", "denoise",
                 "--device", "cpu"]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["precision"] == \
        resolve_precision("auto", torch.device("cpu"))
    assert main(["compare", str(photo), "-o", str(out), "--task", "denoise",
                 "--device", "cpu", "--precision", "fp32"]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["precision"] == "fp32"


def test_cli_compare_records_no_repair(tmp_path, shipped, photo) -> None:  # noqa: ANN001
    out = tmp_path / "plain.png"
    assert main(["compare", str(photo), "-o", str(out), "--task", "denoise", "--no-repair",
                 "--device", "cpu"]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["repair"] is False
    assert read_png_text(out)["drcnet.repair"] == "false"


def test_cli_compare_variant_uses_its_weights(tmp_path, shipped, photo) -> None:  # noqa: ANN001
    torch.manual_seed(1)
    save_weights(shipped / "denoise-gaussian.safetensors", DRCNet(wf=8, depth=2))
    save_weights(shipped / "denoise-noea.safetensors", DRCNet(wf=8, depth=2, ea=False))
    out = tmp_path / "g.png"
    assert main(["compare", str(photo), "-o", str(out), "--task", "denoise", "--variant",
                 "gaussian", "--layout", "sheet", "--device", "cpu"]) == 0
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["weights"] == "denoise-gaussian.safetensors"
    assert side["noea"] == NOEA_BYPASS  # denoise-noea pairs with the default weights only
    # The Gaussian model's own partner, once installed, serves its EA panel.
    save_weights(shipped / "denoise-gaussian-noea.safetensors", DRCNet(wf=8, depth=2, ea=False))
    assert main(["compare", str(photo), "-o", str(out), "--task", "denoise", "--variant",
                 "gaussian", "--layout", "sheet", "--device", "cpu"]) == 0
    side = json.loads(out.with_suffix(".json").read_text())
    assert "denoise-gaussian-noea.safetensors sha256" in side["noea"]
    assert main(["compare", str(photo), "-o", str(out), "--task", "denoise", "--layout",
                 "sheet", "--device", "cpu"]) == 0
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["weights"] == "denoise.safetensors" and "denoise-noea" in side["noea"]
    assert side["noea"].endswith(f"sha256 {sha256(shipped / 'denoise-noea.safetensors')}")
    assert main(["compare", str(photo), "-o", str(out), "--task", "denoise", "--variant",
                 "noea", "--device", "cpu"]) == 0
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["weights"] == "denoise-noea.safetensors" and side["ea"] is False


def test_cli_compare_sheet(tmp_path, shipped, photo) -> None:  # noqa: ANN001
    out = tmp_path / "sheet.png"
    big = tmp_path / "big.png"
    write_image(big, np.clip(ramp(80, 120), 0, 1))
    code = main(["compare", str(big), "-o", str(out), "--task", "denoise", "--layout",
                 "sheet", "--block", "stage1.enc1", "--no-ea", "--colormap", "magma",
                 "--preview-size", "64"])
    assert code == 0
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["block"] == "stage1.enc1" and side["ea"] is False
    assert side["colormap"] == "magma"  # so the sheet can be made again
    assert side["noea"] == NOEA_BYPASS
    # The size the maps were computed at changes them; it had not been recorded.
    assert side["analysis_size"] == 64 and "jpeg_quality" not in side
    assert read_png_text(out)["drcnet.analysis_size"] == "64"
    assert read_image(out).rgb.shape[1] == 3 * 480 + 4 * 12
    jpg = tmp_path / "side.jpg"
    assert main(["compare", str(photo), "-o", str(jpg), "--task", "denoise",
                 "--jpeg-quality", "80"]) == 0
    side = json.loads(jpg.with_suffix(".json").read_text())
    assert side["jpeg_quality"] == 80 and "analysis_size" not in side


def test_cli_compare_says_jpeg_quality_has_no_effect_on_a_png(tmp_path, shipped, photo,
                                                             capsys) -> None:  # noqa: ANN001
    """As restore says it: the option had been ignored without a word."""
    assert main(["compare", str(photo), "-o", str(tmp_path / "c.png"), "--task", "denoise",
                 "--jpeg-quality", "80", "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert err.count("drcnet: note: --jpeg-quality (for .jpg outputs) has no effect on "
                     "c.png\n") == 1
    assert main(["compare", str(photo), "-o", str(tmp_path / "c.jpg"), "--task", "denoise",
                 "--jpeg-quality", "80", "--device", "cpu"]) == 0
    assert "--jpeg-quality" not in capsys.readouterr().err


def test_cli_compare_refuses_a_camera_raw_file(tmp_path, capsys) -> None:  # noqa: ANN001
    """As restore does: OpenCV would read the small preview a RAW file embeds."""
    raw = tmp_path / "DSC_1.nef"
    raw.write_bytes(b"II*\x00")  # said before anything is read
    code = main(["compare", str(raw), "-o", str(tmp_path / "c.png"), "--task", "denoise"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "a camera's RAW file (.nef)" in err and "\n" not in err
    assert err.endswith("convert it to TIFF or PNG first")  # compare takes no folder
    assert not (tmp_path / "c.png").exists()


def test_cli_compare_errors(tmp_path, shipped, photo, capsys) -> None:  # noqa: ANN001
    code = main(["compare", str(photo), "-o", str(photo), "--task", "denoise"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("drcnet: error:") and "input" in err
    code = main(["compare", str(photo), "-o", str(tmp_path / "o.png"), "--task", "deblur"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "no trained deblur weights" in err and "\n" not in err
    assert not (tmp_path / "o.png").exists()
    code = main(["compare", str(photo), "-o", str(tmp_path / "o.png"), "--task", "denoise",
                 "--layout", "sheet", "--block", "stage9.enc0"])
    assert code == 2 and "unknown block" in capsys.readouterr().err
    code = main(["compare", str(tmp_path / "nope.png"), "-o", str(tmp_path / "o.png"),
                 "--task", "denoise"])
    assert code == 1 and "nope.png" in capsys.readouterr().err


@pytest.mark.parametrize("shape", [(1, 1), (2, 200), (200, 2), (3, 3)])
def test_layouts_on_images_smaller_than_a_label(shape: tuple[int, int]) -> None:
    a = np.full((*shape, 3), 0.25, np.float32)
    b = np.full((*shape, 3), 0.75, np.float32)
    assert draw_label(a, "Restored").shape == a.shape
    assert side_by_side(a, b).shape[0] == shape[0]
    assert split_view(a, b).shape == a.shape


def test_cli_compare_says_when_it_takes_another_exports_sidecar(tmp_path, shipped, photo,
                                                                capsys) -> None:  # noqa: ANN001
    args = ["compare", str(photo), "--task", "denoise", "--device", "cpu"]
    assert main([*args, "-o", str(tmp_path / "shot.png")]) == 0
    assert "note:" not in capsys.readouterr().err
    assert main([*args, "-o", str(tmp_path / "shot.png")]) == 0  # its own sidecar again
    assert "note:" not in capsys.readouterr().err
    assert main([*args, "-o", str(tmp_path / "shot.jpg")]) == 0
    assert "drcnet: note: shot.json described shot.png; it now describes shot.jpg" in \
        capsys.readouterr().err
    assert json.loads((tmp_path / "shot.json").read_text())["output"] == "shot.jpg"


def test_comparisons_show_transparency_over_a_checkerboard() -> None:
    from drcnet.compare import CHECKER, compose, over_checker

    rgb = np.zeros((32, 48, 3), np.float32)
    rgb[..., 2] = 1.0
    alpha = np.ones((32, 48), np.float32)
    alpha[:, :16] = 0.0
    shown = over_checker(rgb, alpha)
    assert {round(float(v), 4) for v in np.unique(shown[:, :16, 0])} == \
        {round(c, 4) for c in CHECKER}
    assert np.array_equal(shown[:, 16:], rgb[:, 16:])
    half = over_checker(rgb, np.full((8, 12), 0.5, np.float32))  # a mask of another size
    assert np.allclose(half[..., 2], 0.5 + half[..., 0])  # half blue, half board
    side = compose("side", rgb, rgb, labels=False, alpha=alpha)
    assert side[:, :16, 2].max() < 1.0  # input half: checkerboard, not the hidden blue
    assert compose("image", rgb, rgb, alpha=alpha) is rgb  # the export keeps alpha instead
    assert np.array_equal(compose("side", rgb, rgb, labels=False, alpha=np.ones((32, 48))),
                          compose("side", rgb, rgb, labels=False))  # opaque: unchanged


def test_params_of_a_run_take_the_knobs_and_tiles() -> None:
    from drcnet.inference import TileConfig

    p = ExportParams.of_run("derain", Knobs(0.6, 1e-4, False), "w.safetensors", "cd" * 32,
                            "cpu", TileConfig(tile=128, overlap=16, ensemble=4, repair=False),
                            "bf16", input="x.png", strength=0.4)
    assert (p.t, p.delta, p.ea) == (0.6, 1e-4, False)
    assert (p.tile, p.overlap, p.ensemble, p.repair) == (128, 16, 4, False)
    assert (p.precision, p.input, p.strength, p.layout) == ("bf16", "x.png", 0.4, "image")
    assert "strength 40 %" in sheet_title(p)
    assert "strength" not in sheet_title(ExportParams.of_run(
        "derain", Knobs(), "w", "cd" * 32, "cpu", TileConfig(), "fp32"))


def test_cli_compare_carries_the_profile_by_layout(tmp_path, shipped,
                                                            photo) -> None:  # noqa: ANN001
    icc = b"\x00\x00\x02\x00" + b"x" * 12 + b"RGB " + b"y" * 492
    exif = b"II*\x00" + (8).to_bytes(4, "little") + bytes(6)
    src = tmp_path / "tagged.png"
    write_image(src, read_image(photo).rgb, icc=icc, exif=exif)
    assert read_image(src).exif == exif
    base = ["compare", str(src), "--task", "denoise", "--device", "cpu", "--no-sidecar"]
    for layout, want_icc in (("side", icc), ("split", icc), ("sheet", None)):
        out = tmp_path / f"{layout}.png"
        assert main(base + ["-o", str(out), "--layout", layout]) == 0
        back = read_image(out)  # a composite is not the camera's photo: never its EXIF
        assert (back.icc, back.exif) == (want_icc, None), layout


def test_default_block_is_the_deepest_of_the_second_stage() -> None:
    from drcnet.compare import DEFAULT_BLOCK, default_block

    four = [f"stage{s}.enc{i}" for s in (1, 2) for i in range(4)]
    assert default_block(four) == DEFAULT_BLOCK == "stage2.enc3"
    assert default_block(four[:2] + four[4:6]) == "stage2.enc1"  # a depth-2 network
    assert default_block(["stage1.enc0"]) == "stage1.enc0"


def test_cli_compare_refuses_a_side_by_side_too_wide_for_webp_before_the_model_runs(
        tmp_path, monkeypatch, capsys) -> None:  # noqa: ANN001
    import drcnet.registry

    def no_model(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the model ran before the output size was checked")

    monkeypatch.setattr(drcnet.registry, "load_model", no_model)
    wide = write_image(tmp_path / "wide.png", np.zeros((4, 9000, 3), np.float32))
    assert main(["compare", str(wide), "-o", str(tmp_path / "c.webp"), "--task", "denoise",
                 "--layout", "side", "--device", "cpu"]) == 1
    assert "this output is 18008×4; use .png or .tif" in capsys.readouterr().err


def test_a_panorama_s_sheet_panels_stay_readable() -> None:
    pano = np.zeros((40, 3000, 3), np.float32)
    sheet = summary_sheet("t", [[SheetPanel(pano, "Input"), SheetPanel(pano, "Restored")]])
    assert sheet.shape[0] >= 34 + 480 // 4 + 12  # title, a quarter-width panel, margins


def test_a_sheet_s_mask_label_never_reads_0_percent_when_cells_are_on() -> None:
    from drcnet.compare import Analysis, MapSet, sheet_rows

    mask = np.zeros((40, 60), np.float32)
    mask[0, :3] = 1  # 3 of 2,400 cells: "(0%)" while they show
    maps = MapSet(np.zeros_like(mask), mask, np.ones_like(mask))
    rgb = np.zeros((40, 60, 3), np.float32)
    from drcnet.compare import DEFAULT_BLOCK

    a = Analysis(Knobs(0.75, 1e-6, True), rgb, {DEFAULT_BLOCK: maps})
    labels = [p.label for p in sheet_rows(rgb, rgb, a)[1]]
    assert any(label.endswith("(<1%)") for label in labels), labels


def test_cli_compare_says_what_the_format_cannot_keep(tmp_path, shipped, capsys) -> None:  # noqa: ANN001
    deep = tmp_path / "deep.png"
    write_image(deep, np.linspace(0, 1, 40 * 60 * 3, dtype=np.float32).reshape(40, 60, 3),
                bit_depth=16)
    assert main(["compare", str(deep), "-o", str(tmp_path / "c.jpg"), "--task", "denoise",
                 "--layout", "side", "--device", "cpu", "--no-sidecar"]) == 0
    assert "drcnet: note: deep.png: the .jpg output keeps no 16-bit depth" in \
        capsys.readouterr().err


def test_a_deep_block_s_map_lies_over_the_image_where_its_cells_are() -> None:
    """Analysed at 20 px (padded to 24), a 1/8 block's middle row of cells covers rows 8-15
    of the analysis, 16-31 of a 40-px image: drawn over the padded extent and cropped."""
    from drcnet.compare import MapSet, render_map_on

    deep = np.zeros((3, 3), np.float32)
    deep[1] = 1.0
    tint = render_map_on(MapSet(deep, deep, deep), "mask", "gray", (40, 40), (20, 20))
    assert tint.shape[:2] == (40, 40)
    on = tint[:, 20, 0] > 0.5
    assert not on[:16].any() and on[16:32].all() and not on[32:].any()


def test_a_comparison_of_a_gray_photo_says_its_gray_profile_is_not_kept(tmp_path) -> None:  # noqa: ANN001
    """Side by side and split are written in RGB, so a gray profile cannot go with them; it
    had been dropped without the note the README promises."""
    from PySide6.QtGui import QColorSpace

    from drcnet.compare import export_note
    from drcnet.imageio import read_image, write_image

    srgb = bytes(QColorSpace(QColorSpace.NamedColorSpace.SRgb).iccProfile())
    gray_icc = srgb[:16] + b"GRAY" + srgb[20:]
    rgb = np.repeat(ramp(16, 24)[..., :1], 3, axis=2)
    image = read_image(write_image(tmp_path / "g.png", rgb, gray=True, icc=gray_icc))
    assert image.gray and image.icc == gray_icc
    assert export_note(image, tmp_path / "o.png", "image") == ""  # kept: written gray
    for layout in ("side", "split"):
        assert "colour profile" in export_note(image, tmp_path / "o.png", layout)


def test_split_labels_stay_on_their_own_side() -> None:
    """On a small image a label had crossed the divider and sat over the other ("IRestored"
    at 64×48, split 0.3): a label is drawn only where its box fits its side."""
    from drcnet.compare import label_size

    before = np.zeros((48, 64, 3), np.float32)
    after = np.full((48, 64, 3), 0.5, np.float32)
    for position in (0.1, 0.3, 0.5, 0.7, 0.9):
        out = split_view(before, after, position, ("Input", "Restored"), line=0)
        x = round(position * 64)
        # Labels are light text on a darkened box: any pixel brighter than the halves' own
        # values beyond a label's own side would be a label crossing over.
        left_w = label_size("Input", 64, 48)[0] if out[:, :x].max() > 0.0 else 0
        right_w = label_size("Restored", 64, 48)[0] if (out[:, x:] > 0.5).any() else 0
        assert left_w <= x and right_w <= 64 - x, position
    # A large image has room on both sides at the usual positions.
    big = split_view(np.zeros((600, 900, 3), np.float32), np.full((600, 900, 3), 0.5,
                                                                   np.float32), 0.3)
    assert big[:, :270].max() > 0.0 and (big[:, 270:] > 0.5).any()


def test_labels_grow_with_large_images() -> None:
    """The label had stopped growing at 1120 px: 1.6 % of a 6000×4000 photo's height."""
    from drcnet.compare import label_size, text_scale

    assert text_scale(700, 700) == pytest.approx(1.0)
    assert text_scale(1120, 2000) == pytest.approx(1.6)
    h = label_size("Restored", 6000, 4000)[1]
    assert 0.025 <= h / 4000 <= 0.05
    assert text_scale(6000, 4000) > text_scale(3000, 2000) > text_scale(1500, 1000)


def test_a_sheet_title_shortens_the_name_and_keeps_the_knobs() -> None:
    from drcnet.compare import fit_title

    params = ExportParams(task="denoise", t=0.75, delta=1e-6, ea=True, weights="w",
                          weights_sha256="0" * 64, device="cpu", tile=256, overlap=32,
                          precision="fp32", layout="sheet", strength=0.6,
                          input="Holiday 2024 - Lake Como - the long walk at sunset with "
                                "everyone and the dogs (final edit, really).png")
    title = sheet_title(params)
    short = fit_title(title, 1400)  # a sheet's header is 1488 px less its margin
    assert "strength 60 %" in short and "t = 0.75, delta = 1e-06, EA on" in short
    assert short.startswith("DRCNet denoise  |  Holi") and short.endswith("tile 256")
    assert "..." in short.split("  |  ")[1]  # the name gave way
    assert fit_title("DRCNet denoise  |  a.png", 900) == "DRCNet denoise  |  a.png"
    # A name that is not UTF-8 (a lone surrogate) had crashed OpenCV: a segmentation fault.
    code = ("from drcnet.compare import fit_title, draw_label; import numpy as np; "
            "fit_title('DRCNet  |  caf\\udce9.png', 900); "
            "draw_label(np.zeros((40, 200, 3), np.float32), 'caf\\udce9')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-500:]


def test_cli_compare_refuses_a_preview_size_too_small_to_analyse(tmp_path, photo,
                                                                  capsys) -> None:  # noqa: ANN001
    """--preview-size 0 (or -5) had been accepted and every map built from a 1×1 copy."""
    for size in ("0", "-5", "63"):
        code = main(["compare", str(photo), "-o", str(tmp_path / "c.png"), "--task", "denoise",
                     "--layout", "sheet", "--preview-size", size])
        err = capsys.readouterr().err
        assert code == 2 and f"--preview-size must be at least 64 (pixels), got {size}" in err
    assert not (tmp_path / "c.png").exists()
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    assert "at least 64" in capsys.readouterr().out


def test_cli_compare_says_which_options_its_layout_does_not_use(tmp_path, shipped, photo,
                                                                capsys) -> None:  # noqa: ANN001
    """--split without --layout split, and the sheet's options without --layout sheet, had
    been dropped without a word."""
    args = ["compare", str(photo), "--task", "denoise", "--device", "cpu", "--no-sidecar"]
    assert main([*args, "-o", str(tmp_path / "a.png"), "--split", "0.3", "--colormap", "gray",
                 "--preview-size", "64"]) == 0
    err = capsys.readouterr().err
    assert ("drcnet: note: --split (for --layout split), --colormap (for --layout sheet), "
            "--preview-size (for --layout sheet) have no effect with --layout side") in err
    assert main([*args, "-o", str(tmp_path / "b.png"), "--layout", "sheet", "--split", "0.3",
                 "--no-labels", "--preview-size", "64"]) == 0
    assert ("drcnet: note: --split (for --layout split), --no-labels (for --layout side or "
            "split) have no effect with --layout sheet") in capsys.readouterr().err
    assert main([*args, "-o", str(tmp_path / "c.png"), "--layout", "split", "--split", "0.3",
                 "--no-labels"]) == 0
    assert "note:" not in capsys.readouterr().err  # each used: nothing said


def test_cli_compare_says_a_comparison_keeps_no_transparency(tmp_path, shipped,
                                                             capsys) -> None:  # noqa: ANN001
    """The comparison shows a transparent photo over a checkerboard; it had said nothing of
    the transparency it dropped."""
    rgba = tmp_path / "rgba.png"
    alpha = np.ones((40, 60), np.float32)
    alpha[:, :20] = 0.0
    write_image(rgba, ramp(), alpha=alpha)
    args = ["compare", str(rgba), "--task", "denoise", "--device", "cpu", "--no-sidecar"]
    for layout in ("side", "split"):
        assert main([*args, "-o", str(tmp_path / f"{layout}.png"), "--layout", layout]) == 0
        assert ("drcnet: note: rgba.png: a comparison keeps no transparency (it is shown over "
                "a checkerboard)") in capsys.readouterr().err
    write_image(rgba, ramp(), alpha=np.ones((40, 60), np.float32))  # opaque alpha: nothing lost
    assert main([*args, "-o", str(tmp_path / "o.png")]) == 0
    assert "note:" not in capsys.readouterr().err


def test_a_sheet_says_the_size_its_maps_and_ea_pair_were_computed_at() -> None:
    """The with-EA panel, computed on the preview copy and scaled up, had sat beside the full
    restore looking different (rain streaks left), with nothing on the sheet saying why."""
    from drcnet.compare import DEFAULT_BLOCK, Analysis, MapSet, sheet_rows

    rgb = ramp(80, 120)
    small = downscale(rgb, 60)
    m = np.full((10, 15), 0.5, np.float32)
    a = Analysis(Knobs(0.75, 1e-6, True), small, {DEFAULT_BLOCK: MapSet(m, m, m)},
                 with_ea=small, without_ea=small, without_ea_source=NOEA_TRAINED)
    rows = sheet_rows(rgb, rgb, a)
    assert [p.label for p in rows[0]][:2] == ["Input", "Restored"]  # at the photo's size
    assert all(p.label.endswith(", 60x40 preview") for p in rows[1])
    assert [p.label for p in rows[2]][:2] == ["with EA (60x40 preview)",
                                              "without EA (trained, 60x40 preview)"]
    assert rows[2][2].label.endswith(" (60x40 preview)")
    labels = [p.label for p in sheet_rows(rgb, rgb, a, strength=0.5)[2]]
    assert labels[:2] == ["with EA (100 %, 60x40 preview)",
                          "without EA (trained, 100 %, 60x40 preview)"]
    same = replace(a, restored=rgb, with_ea=rgb, without_ea=rgb)  # analysed at full size
    assert "preview" not in " ".join(p.label for row in sheet_rows(rgb, rgb, same) for p in row)


def test_a_sheet_at_part_strength_says_the_ea_pair_is_at_full_strength() -> None:
    """The with-EA panel had differed from the Restored one beside it, unexplained."""
    from drcnet.compare import sheet_rows

    rgb = np.random.default_rng(0).random((40, 60, 3)).astype(np.float32)
    analysis = types.SimpleNamespace(maps={}, with_ea=rgb, without_ea=rgb,
                                     without_ea_source=NOEA_BYPASS)
    labels = [p.label for row in sheet_rows(rgb, rgb, analysis, strength=0.6) for p in row]
    assert "Restored, strength 60 %" in labels and "with EA (100 %)" in labels
    assert "without EA (same weights, 100 %)" in labels
    labels = [p.label for row in sheet_rows(rgb, rgb, analysis) for p in row]
    assert "Restored" in labels and "with EA" in labels


def test_a_read_only_sidecar_is_refused_before_the_image_is_written(tmp_path) -> None:  # noqa: ANN001
    """Windows cannot replace a read-only file: the sidecar's write had failed after the
    image beside it was already replaced."""
    import os
    import stat

    from drcnet.compare import check_sidecar_free

    side = tmp_path / "shot.json"
    side.write_text(json.dumps({"task": "denoise", "weights_sha256": "0", "size": [1, 1],
                                "output": "shot.png"}))
    check_sidecar_free(tmp_path / "shot.png")  # Studio's own record: replaced
    os.chmod(side, stat.S_IREAD)
    try:
        with pytest.raises(ImageWriteError, match="exists and is read-only"):
            check_sidecar_free(tmp_path / "shot.png")
    finally:
        os.chmod(side, stat.S_IREAD | stat.S_IWRITE)


def test_maps_are_written_as_float32_arrays_with_the_run_s_parameters(model, tmp_path) -> None:  # noqa: ANN001
    from drcnet.compare import MAP_KINDS, write_maps
    from drcnet.errors import ImageTypeError, UsageError
    from drcnet.inference import TileConfig

    a = analyse(model, ramp(), Knobs(0.6, 1e-6, True), probe=True)
    params = ExportParams.of_run("denoise", a.knobs, "w.safetensors", "0" * 64, "cpu",
                                 TileConfig(tile=0), "fp32", layout="maps", input="in.png")
    out = write_maps(tmp_path / "m.npz", a.maps, params, source="60x40 copy of in.png")
    with np.load(out) as d:  # no pickle needed
        record = json.loads(str(d["parameters"]))
        assert record["blocks"] == model.block_names() and record["t"] == 0.6
        assert record["maps_from"] == "60x40 copy of in.png" and record["input"] == "in.png"
        assert sorted(record["kinds"]) == sorted(MAP_KINDS)
        for block in model.block_names():
            m, mask = d[f"{block}.self_aware"], d[f"{block}.mask"]
            assert m.dtype == np.float32 and m.shape == a.maps[block].self_aware.shape
            assert np.array_equal(mask, (m >= 0.6).astype(np.float32))  # M = (m >= t)
            assert np.array_equal(d[f"{block}.energy"], a.maps[block].energy)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]  # no temp file left
    with pytest.raises(ImageTypeError, match="name it with .npz"):
        write_maps(tmp_path / "m.png", a.maps, params)
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_maps(tmp_path / "missing" / "m.npz", a.maps, params)
    with pytest.raises(UsageError, match="no maps"):
        write_maps(tmp_path / "m.npz", {}, params)


def test_cli_compare_writes_the_maps_it_is_asked_for(tmp_path, shipped, photo, capsys) -> None:  # noqa: ANN001
    out, maps = tmp_path / "side.png", tmp_path / "maps.npz"
    assert main(["compare", str(photo), "-o", str(out), "--task", "denoise", "--device",
                 "cpu", "--maps", str(maps), "--preview-size", "64"]) == 0
    err = capsys.readouterr().err
    assert "no effect" not in err  # --preview-size sizes the maps, whatever the layout
    assert f"-> {maps} (maps, 60x40)" in err
    with np.load(maps) as d:
        record = json.loads(str(d["parameters"]))
        assert record["layout"] == "maps" and record["weights_sha256"] == sha256(
            shipped / "denoise.safetensors")
        assert record["tile"] == 0 and record["ensemble"] == 1  # one pass over the copy
        assert d["stage2.enc1.mask"].ndim == 2
    # Wrong in itself: refused before the model runs, with the usage status.
    for bad in (tmp_path / "maps.png", out):
        assert main(["compare", str(photo), "-o", str(tmp_path / "x.png"), "--task",
                     "denoise", "--device", "cpu", "--maps", str(bad)]) == 2
    assert not (tmp_path / "x.png").exists()

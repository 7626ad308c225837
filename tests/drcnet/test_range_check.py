"""The range check: the network's peak probe, per-tile peaks, limits and reports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from drcnet import DRCNet
from drcnet.compare import Knobs, analyse
from drcnet.inference import TileConfig, TilePeak, restore_tiled, run
from drcnet.range_check import LIMITS_FILE, check_peaks, limit_from_table
from drcnet.weights import build_model, save_weights, sha256
from tests.helpers import peak_of as _peak_of


@pytest.fixture(scope="module")
def model() -> DRCNet:
    torch.manual_seed(0)
    return DRCNet(wf=8, depth=3).eval()


def _img(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (h, w, 3)).astype(np.float32)


def test_the_probe_records_the_deepest_stage2_block(model: DRCNet) -> None:
    seen = {}

    def keep(_m: object, _i: object, out: tuple[torch.Tensor, torch.Tensor]) -> None:
        seen["out"] = out[1].detach()

    hook = model.encoder2[-1].register_forward_hook(keep)
    store: list[torch.Tensor] = []
    model.peak_probe = store
    try:
        with torch.no_grad():
            model(torch.rand(2, 3, 40, 36))
    finally:
        model.peak_probe = None
        hook.remove()
    # One B×h×w map per pass, at a quarter of the padded input (depth 3), the channel peak.
    assert len(store) == 1 and store[0].shape == (2, 10, 9)
    torch.testing.assert_close(store[0], seen["out"].abs().amax(dim=1))
    with torch.no_grad():
        model(torch.rand(1, 3, 32, 32))
    assert len(store) == 1  # off again: nothing more recorded


def test_tiled_restore_reports_one_peak_per_real_tile(model: DRCNet) -> None:
    img = _img(150, 230)
    img[:64, :64] = 0.0  # tiles differ
    peaks: list[TilePeak] = []
    # 2×3 tiles of 96 in batches of 4: the last group is padded with 2 blank tiles.
    out = run(restore_tiled(model, img, TileConfig(tile=96, overlap=16, batch=4), peaks=peaks))
    assert out.shape == img.shape and len(peaks) == 6
    assert model.peak_probe is None
    for p in peaks:
        assert (p.h, p.w) == (96, 96)
        tile = img[p.y : p.y + 96, p.x : p.x + 96]
        assert p.peak == pytest.approx(_peak_of(model, tile), rel=1e-5)
        assert p.map.shape == (24, 24) and float(p.map.max()) == pytest.approx(p.peak)
    assert len({round(p.peak, 4) for p in peaks}) > 1
    one: list[TilePeak] = []
    run(restore_tiled(model, img, TileConfig(tile=0), peaks=one))
    assert one == [TilePeak(0, 0, 150, 230, pytest.approx(_peak_of(model, img), rel=1e-5))]


def test_ensemble_peak_is_the_largest_over_views(model: DRCNet) -> None:
    img = _img(64, 64, seed=1)
    img[:, :20] = 1.0  # not symmetric, so the views differ
    views = [np.ascontiguousarray(np.rot90(img, k)) for k in range(4)]
    peaks: list[TilePeak] = []
    run(restore_tiled(model, img, TileConfig(tile=0, ensemble=8), peaks=peaks))
    upright = max(_peak_of(model, v) for v in views)
    assert peaks[0].peak >= upright * (1 - 1e-5)


def test_check_peaks_and_the_message() -> None:
    tiles = [TilePeak(0, 0, 10, 10, 5.0), TilePeak(0, 10, 10, 10, 50.0)]
    report = check_peaks(tiles, 20.0)
    assert report.checked and report.out_of_range and report.peak == 50.0
    assert report.flagged == (tiles[1],)
    assert "1 of 2 tiles" in report.message() and "limit 20" in report.message()
    assert not report.mild  # 2.5 times the limit
    mild = check_peaks(tiles, 30.0)  # 50 is under twice 30
    assert mild.mild and mild.message().startswith("slightly outside what this model was "
                                                   "trained on in 1 of 2 tiles")
    assert "faint stripes" in mild.message() and "blocky" not in mild.message()
    calm = check_peaks(tiles, 100.0)
    assert not calm.out_of_range and calm.message() == ""
    overflowed = check_peaks([TilePeak(0, 0, 10, 10, float("nan"))], 20.0)
    assert overflowed.out_of_range and overflowed.peak == float("inf")
    unchecked = check_peaks(tiles, None)
    assert not unchecked.checked and not unchecked.out_of_range
    assert not check_peaks([], 1.0).checked


def test_limits_come_from_metadata_or_the_table_with_a_matching_hash(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = DRCNet(wf=8, depth=2)
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    save_weights(a, net, {"activation_limit": 12.5})
    save_weights(b, net, {"task": "denoise"})
    assert build_model(a).activation_limit == 12.5
    assert build_model(b).activation_limit is None  # no limit anywhere: not checked
    table = tmp_path / LIMITS_FILE
    table.write_text(json.dumps({"b.safetensors": {"sha256": sha256(b), "limit": 7.0}}))
    assert build_model(b).activation_limit == 7.0
    table.write_text(json.dumps({"b.safetensors": {"sha256": "0" * 64, "limit": 7.0}}))
    assert limit_from_table(b) is None  # a replaced file never inherits another's limit
    table.write_text("not json")
    assert limit_from_table(b) is None
    # A copy of a shipped file elsewhere (a DRCNET_WEIGHTS_DIR folder, --weights), under any
    # name, has the shipped file's limit: found by its bytes in the shipped table.
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / LIMITS_FILE).write_text(json.dumps(
        {"denoise.safetensors": {"sha256": sha256(b), "limit": 9.0}}))
    table.unlink()
    assert limit_from_table(b, shipped) == 9.0
    save_weights(b, net, {"task": "denoise", "note": "retrained"})  # other bytes: none
    assert limit_from_table(b, shipped) is None


def test_a_copy_of_a_shipped_weight_file_keeps_its_range_check(tmp_path: Path) -> None:
    """DRCNET_WEIGHTS_DIR with the shipped files copied, but not activation_limits.json,
    had switched the range check and its repair off without a word."""
    import shutil

    from drcnet.registry import RESOURCES

    shipped = RESOURCES / "weights" / "derain.safetensors"
    if not shipped.is_file():
        pytest.skip("the shipped weights are not installed")
    copy = tmp_path / "mine.safetensors"
    shutil.copyfile(shipped, copy)
    assert build_model(copy).activation_limit == build_model(shipped).activation_limit
    assert build_model(copy).activation_limit is not None


def test_analyse_reports_the_preview_pass(model: DRCNet) -> None:
    img = _img(70, 90)
    peak = _peak_of(model, img)
    try:
        model.activation_limit = peak / 2
        a = analyse(model, img, Knobs(), repair=False)  # the repair: test_repair.py
        assert a.range is not None and a.range.out_of_range
        (tile,) = a.range.tiles  # the image as one tile, with its map (cells of 4 px)
        assert tile.map.shape == (18, 23) and tile.cell == 4
        assert float(tile.map.max()) == pytest.approx(peak, rel=1e-5) == tile.peak
        model.activation_limit = peak * 2
        assert not analyse(model, img, Knobs()).range.out_of_range
    finally:
        model.activation_limit = None
    assert model.peak_probe is None


def test_flagged_boxes_from_tiles_and_from_a_peak_map() -> None:
    from drcnet.range_check import flagged_boxes

    tiles = [TilePeak(0, 0, 64, 64, 1.0), TilePeak(0, 48, 64, 64, 99.0)]
    report = check_peaks(tiles, 10.0)
    assert flagged_boxes(report, (64, 112)) == [(48, 0, 64, 64)]  # no maps: whole tiles
    # A restore made at half size, shown over the full image: boxes scale up.
    assert flagged_boxes(report, (128, 224), (64, 112)) == [(96, 0, 128, 128)]
    assert flagged_boxes(check_peaks(tiles, 100.0), (64, 112)) == []
    # A 4x5 peak map of a 32x40 preview (cells of 8 px) shown over a 64x80 image: two areas
    # over the limit, each boxed and grown by one cell (16 px here), clipped to the image.
    peak_map = np.zeros((4, 5), np.float32)
    peak_map[0, 0] = 50.0
    peak_map[2:4, 3] = 60.0
    one = check_peaks([TilePeak(0, 0, 32, 40, 60.0, peak_map, 8)], 10.0)
    boxes = sorted(flagged_boxes(one, (64, 80), (32, 40)))
    assert boxes == [(0, 0, 32, 32), (32, 16, 48, 48)]
    peak_map[2:4, 3] = np.nan  # an overflowed pass: over any limit
    assert sorted(flagged_boxes(one, (64, 80), (32, 40))) == boxes


def test_marked_boxes_keep_repaired_and_flagged_areas_apart() -> None:
    """A repaired tile keeps its as-is pass's map, over the limit: its area goes with the
    repaired boxes, not the flagged ones (the GUI outlines them in two colours)."""
    from drcnet.range_check import flagged_boxes, marked_boxes

    fixed_map, bad_map = np.zeros((4, 4), np.float32), np.zeros((4, 4), np.float32)
    fixed_map[0, 0] = 50.0
    bad_map[3, 3] = 70.0
    tiles = [TilePeak(0, 0, 32, 32, 5.0, fixed_map, 8, colour=0.5, first_peak=50.0),
             TilePeak(0, 32, 32, 32, 70.0, bad_map, 8), TilePeak(32, 0, 32, 64, 1.0)]
    report = check_peaks(tiles, 10.0)
    flagged, repaired = marked_boxes(report, (64, 64))
    assert repaired == [(0, 0, 16, 16)]  # its top-left cell, grown by one
    assert flagged == [(48, 16, 16, 24)]  # the other tile's bottom-right cell, grown
    assert sorted(flagged + repaired) == sorted(flagged_boxes(report, (64, 64)))
    # Without maps, whole tiles, each in its own list.
    plain = check_peaks([TilePeak(0, 0, 32, 32, 5.0, colour=0.5, first_peak=50.0),
                         TilePeak(0, 32, 32, 32, 70.0)], 10.0)
    assert marked_boxes(plain, (32, 64)) == ([(32, 0, 32, 32)], [(0, 0, 32, 32)])


def test_tiled_maps_stitch_into_boxes_round_the_trouble(model: DRCNet) -> None:
    from drcnet.range_check import flagged_boxes, stitched_map

    img = _img(150, 230)
    peaks: list[TilePeak] = []
    run(restore_tiled(model, img, TileConfig(tile=96, overlap=16, batch=4), peaks=peaks))
    grid = stitched_map(peaks, (150, 230))
    assert grid.shape == (38, 58)  # cells of 4 px (depth 3)
    assert float(grid.max()) == pytest.approx(max(p.peak for p in peaks))
    # A limit just under the highest peak: one small area is boxed, inside its tile.
    top = max(peaks, key=lambda p: p.peak)
    report = check_peaks(peaks, top.peak * 0.999)
    boxes = flagged_boxes(report, (150, 230))
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    assert w * h < 96 * 96 / 4
    assert top.x - 4 <= x and x + w <= top.x + top.w + 4
    assert top.y - 4 <= y and y + h <= top.y + top.h + 4
    # The same restore shown over an image twice the size: the boxes double.
    assert flagged_boxes(report, (300, 460), (150, 230)) == [
        tuple(pytest.approx(2 * v, abs=2) for v in boxes[0])]


SHIPPED = Path(__file__).resolve().parents[2] / "resources" / "weights"


@pytest.mark.parametrize("name, sample", [
    ("derain.safetensors", "rain.png"), ("denoise.safetensors", "noisy.png"),
    ("denoise-gaussian.safetensors", "noisy.png"), ("denoise-noea.safetensors", "noisy.png"),
    ("denoise-gaussian-noea.safetensors", "noisy.png"), ("deblur.safetensors", "blurry.png")])
def test_every_shipped_file_has_a_limit_and_passes_its_sample(name: str, sample: str) -> None:
    from drcnet.imageio import read_image

    path = SHIPPED / name
    if not path.is_file():
        pytest.skip(f"{name} is not installed")
    model = build_model(path)
    # A new file shipped without calibrating gets no limit (the table's SHA-256 no longer
    # matches): python scripts/calibrate_range.py --files NAME --write
    assert model.activation_limit is not None, f"{name} has no activation limit"
    peaks: list[TilePeak] = []
    img = read_image(SHIPPED.parent / "samples" / sample).rgb
    run(restore_tiled(model, img, TileConfig(tile=256), peaks=peaks))
    report = check_peaks(peaks, model.activation_limit)
    assert report.checked and not report.out_of_range, report.message()


def test_stitching_uses_square_cells_on_short_wide_images() -> None:
    from drcnet.range_check import flagged_boxes, stitched_map

    # A 57×400 image in tiles of 57×96 (the tile is cut to the image's height), maps at
    # 1/8 (cells of 8 px: 8 rows cover 57 px, 12 columns 96): a hot cell at the far right.
    starts = [0, 72, 144, 216, 288, 304]
    tiles = []
    for x in starts:
        m = np.ones((8, 12), np.float32)
        if x == 304:
            m[3, 11] = 100.0  # image pixels x 392-400, y 24-32
        tiles.append(TilePeak(0, x, 57, 96, float(m.max()), m, 8))
    grid = stitched_map(tiles, (57, 400))
    assert grid.shape == (8, 50) and grid[3, 49] == 100.0
    report = check_peaks(tiles, 10.0)
    (x, y, w, h), = flagged_boxes(report, (57, 400))
    assert x <= 392 and x + w >= 400 and y <= 24 and y + h >= 32 and w <= 24 and h <= 24


def test_a_message_with_tiles_flagged_and_others_repaired_says_both() -> None:
    """The sweets through the default denoiser: one tile left flagged, two repaired. The
    line had named the flagged tile only, though the repaired ones were made differently."""
    tiles = [TilePeak(0, 0, 10, 10, 5.0, colour=0.5, first_peak=900.0),
             TilePeak(0, 10, 10, 10, 6.0, colour=0.5, first_peak=800.0),
             TilePeak(10, 0, 10, 10, 13.0), TilePeak(10, 10, 10, 10, 2.0)]
    report = check_peaks(tiles, 10.0)
    text = report.message()
    assert text.startswith("slightly outside what this model was trained on in 1 of 4 tiles")
    assert text.endswith("2 other tiles were restored again with colours pulled towards gray, "
                         "which brought them back in range.")


def test_peaks_read_as_numbers_however_large() -> None:
    """A broken pass's peak had been printed as all its 34 digits."""
    from drcnet.range_check import peak_text

    assert peak_text(1532.4) == "1,532" and peak_text(1.5328e33) == "1.53e+33"
    assert peak_text(float("inf")) == peak_text(float("nan")) == "overflowed"
    report = check_peaks([TilePeak(0, 0, 10, 10, 1.5328e33)], 2067.2)
    assert "(activation peak 1.53e+33, limit 2,067)" in report.message()

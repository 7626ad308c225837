"""The range check's repair: out-of-range tiles restored again with their colours pulled
towards gray (drcnet.inference.repair_tiles, compare.analyse, the CLI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from drcnet import DRCNet
from drcnet.cli import main
from drcnet.compare import Knobs, analyse
from drcnet.imageio import read_image, write_image
from drcnet.inference import (
    REPAIR_COLOURS,
    TileConfig,
    TilePeak,
    desaturate,
    forward_image,
    resaturate,
    restore_tiled,
    run,
)
from drcnet.range_check import check_peaks, flagged_boxes
from drcnet.weights import save_weights
from tests.helpers import peak_of as _peak_of


@pytest.fixture(scope="module")
def model() -> DRCNet:
    torch.manual_seed(0)
    return DRCNet(wf=8, depth=3).eval()


def _vivid(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Strong, random colours: far from gray, so desaturating changes the input a lot."""
    return np.random.default_rng(seed).uniform(0, 1, (h, w, 3)).astype(np.float32)


def test_desaturate_keeps_luma_and_resaturate_undoes_it() -> None:
    rgb = np.random.default_rng(1).uniform(0.3, 0.7, (8, 9, 3)).astype(np.float32)
    luma = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    half = desaturate(rgb, 0.5)
    np.testing.assert_allclose(half @ np.array([0.299, 0.587, 0.114], np.float32), luma,
                               atol=1e-6)
    spread = np.ptp(rgb, axis=2)
    np.testing.assert_allclose(np.ptp(half, axis=2), spread * 0.5, atol=1e-6)
    np.testing.assert_allclose(resaturate(half, 0.5), rgb, atol=1e-6)
    gray = np.repeat(rgb[..., :1], 3, axis=2)
    np.testing.assert_allclose(desaturate(gray, 0.25), gray, atol=1e-6)
    # Resaturating a restored image may leave the gamut: it is clipped.
    assert resaturate(np.array([[[1.0, 0.0, 0.0]]], np.float32), 0.25).min() == 0.0


def test_one_pass_repair_restores_the_desaturated_image(model: DRCNet) -> None:
    img = _vivid(48, 56)
    first = _peak_of(model, img)
    again = _peak_of(model, desaturate(img, REPAIR_COLOURS[0]))
    assert again < first  # the premise: pulling colours to gray lowers this model's peak
    limit = (first + again) / 2
    try:
        model.activation_limit = limit
        peaks: list[TilePeak] = []
        out = run(restore_tiled(model, img, TileConfig(tile=0), peaks=peaks))
        (tile,) = peaks
        assert tile.repaired and tile.colour == REPAIR_COLOURS[0]
        assert tile.first_peak == pytest.approx(first, rel=1e-5)
        assert tile.peak == pytest.approx(again, rel=1e-5)
        expected = resaturate(forward_image(model, desaturate(img, REPAIR_COLOURS[0]))[0],
                              REPAIR_COLOURS[0])
        np.testing.assert_allclose(out, expected, atol=1e-6)
        report = check_peaks(peaks, limit)
        assert not report.out_of_range and report.repaired == (tile,)
        assert "restored again with colours pulled towards gray" in report.message()
        assert "; the image repaired (peak" in report.summary()
        assert "was restored again" in report.message() and "check that area" in report.message()
        assert flagged_boxes(report, img.shape[:2]) != []  # the repaired area is outlined

        plain: list[TilePeak] = []
        kept = run(restore_tiled(model, img, TileConfig(tile=0, repair=False), peaks=plain))
        np.testing.assert_array_equal(kept, forward_image(model, img)[0])
        assert not plain[0].repaired and check_peaks(plain, limit).out_of_range
    finally:
        model.activation_limit = None


def test_tiles_within_the_limit_are_untouched(model: DRCNet) -> None:
    img = _vivid(150, 230, seed=2)
    img[:, :120] = 0.5  # flat gray on the left: low peaks there
    base: list[TilePeak] = []
    plain = run(restore_tiled(model, img, TileConfig(tile=96, overlap=16, batch=4),
                              peaks=base))
    ordered = sorted(p.peak for p in base)
    assert ordered[0] < ordered[-1]
    try:
        model.activation_limit = ordered[-1] * 2  # nothing over it: the same output exactly
        peaks: list[TilePeak] = []
        same = run(restore_tiled(model, img, TileConfig(tile=96, overlap=16, batch=4),
                                 peaks=peaks))
        np.testing.assert_array_equal(same, plain)
        assert not any(p.repaired for p in peaks)

        # A limit some tile passes as is but comes back under with a factor of the ladder.
        retry = {(b.y, b.x): min(_peak_of(model, desaturate(img[b.y : b.y + 96, b.x : b.x + 96],
                                                             f)) for f in REPAIR_COLOURS)
                 for b in base}
        model.activation_limit = next(
            lim for lim in sorted(retry.values())
            if any(b.peak > lim >= retry[(b.y, b.x)] for b in base)
            and any(b.peak <= lim for b in base))
        peaks = []
        out = run(restore_tiled(model, img, TileConfig(tile=96, overlap=16, batch=4),
                                peaks=peaks))
        assert len(peaks) == len(base)
        for p, b in zip(peaks, base):
            assert (p.y, p.x) == (b.y, b.x)
            if b.peak <= model.activation_limit:
                assert not p.repaired and p.peak == b.peak
            elif p.repaired:
                assert p.first_peak == b.peak and p.peak <= model.activation_limit
                assert p.colour in REPAIR_COLOURS
        assert any(p.repaired for p in peaks)
        # Pixels no repaired tile covers are exactly as before.
        touched = np.zeros(img.shape[:2], bool)
        for p in peaks:
            if p.repaired:
                touched[p.y : p.y + p.h, p.x : p.x + p.w] = True
        assert not touched.all()
        np.testing.assert_array_equal(out[~touched], plain[~touched])
        assert not np.array_equal(out[touched], plain[touched])
    finally:
        model.activation_limit = None


def test_gray_images_are_not_retried(model: DRCNet) -> None:
    """Pulling a gray tile's colours to gray changes nothing, so its retries were three
    wasted passes (counted: 'not repaired' alone holds either way)."""
    img = np.repeat(_vivid(40, 40, seed=3)[..., :1], 3, axis=2)
    passes = []
    hook = model.register_forward_hook(lambda *_: passes.append(1))
    try:
        model.activation_limit = _peak_of(model, img) / 2
        passes.clear()
        peaks: list[TilePeak] = []
        run(restore_tiled(model, img, TileConfig(tile=0), peaks=peaks))
        assert not peaks[0].repaired and check_peaks(peaks, model.activation_limit).out_of_range
        assert len(passes) == 1 and not peaks[0].tried  # the banner says it was left alone
        model.activation_limit = 1e-9  # a colour tile no factor brings under this: tried
        run(restore_tiled(model, _vivid(40, 40, seed=3), TileConfig(tile=0), peaks=peaks))
        assert not peaks[-1].repaired and peaks[-1].tried
    finally:
        hook.remove()
        model.activation_limit = None


def test_analyse_shows_the_repaired_pass(model: DRCNet) -> None:
    img = _vivid(48, 56, seed=4)
    first = _peak_of(model, img)
    again = _peak_of(model, desaturate(img, REPAIR_COLOURS[0]))
    assert again < first
    try:
        model.activation_limit = (first + again) / 2
        a = analyse(model, img, Knobs(), probe=True, ea_compare=True)
        assert a.range is not None and not a.range.out_of_range and a.range.repaired
        expected = resaturate(forward_image(model, desaturate(img, REPAIR_COLOURS[0]))[0],
                              REPAIR_COLOURS[0])
        np.testing.assert_allclose(a.restored, expected, atol=1e-6)
        np.testing.assert_array_equal(a.with_ea, a.restored)
        # The pair's other half ran on the same desaturated input.
        model.configure(ea=False)
        bypass = forward_image(model, desaturate(img, REPAIR_COLOURS[0]))[0]
        model.configure(ea=True)
        np.testing.assert_allclose(a.without_ea, resaturate(bypass, REPAIR_COLOURS[0]),
                                   atol=1e-6)
        plain = analyse(model, img, Knobs(), repair=False)
        assert plain.range.out_of_range and not plain.range.repaired
    finally:
        model.activation_limit = None
        model.configure(ea=True)


def test_cli_notes_a_repair_and_no_repair_keeps_the_warning(tmp_path: Path, capfd) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    net = DRCNet(wf=8, depth=3).eval()
    src = tmp_path / "in.png"
    write_image(src, _vivid(48, 56))
    img = read_image(src).rgb  # as the CLI reads it (8-bit)
    first = _peak_of(net, img)
    again = _peak_of(net, desaturate(img, REPAIR_COLOURS[0]))
    assert again < first
    weights = tmp_path / "w.safetensors"
    save_weights(weights, net, {"activation_limit": (first + again) / 2})
    args = ["restore", str(src), "-o", str(tmp_path / "out.png"), "--task", "denoise",
            "--weights", str(weights), "--device", "cpu", "--precision", "fp32", "--tile", "0",
            "-q"]
    assert main(args) == 0
    err = capfd.readouterr().err
    assert "drcnet: note: in.png: the image drove this model outside" in err
    assert "warning" not in err
    assert main([*args, "--no-repair"]) == 0
    err = capfd.readouterr().err
    assert err.startswith("drcnet: warning: in.png: ") and "outside what this model" in err


def test_repair_waits_for_its_multiple_of_the_limit(model: DRCNet, tmp_path: Path) -> None:
    from drcnet.weights import build_model

    img = _vivid(48, 56)
    first = _peak_of(model, img)
    try:
        model.activation_limit = first / 4  # over the limit 4x
        model.repair_above = 5.0  # but not 5x: kept as it came out, and flagged
        peaks: list[TilePeak] = []
        out = run(restore_tiled(model, img, TileConfig(tile=0), peaks=peaks))
        assert not peaks[0].repaired and check_peaks(peaks, first / 4).out_of_range
        np.testing.assert_array_equal(out, forward_image(model, img)[0])
        assert not analyse(model, img, Knobs()).range.repaired
    finally:
        model.activation_limit = None
        model.repair_above = 1.0
    for task, above in (("denoise", 20.0), ("derain", 1.0), ("deblur", 1.0), ("", 1.0)):
        path = tmp_path / f"{task or 'none'}.safetensors"
        save_weights(path, model, {"task": task} if task else {})
        assert build_model(path).repair_above == above


def test_repair_progress_never_goes_back(model: DRCNet) -> None:
    img = _vivid(150, 230, seed=2)
    try:
        model.activation_limit = 1e-9  # every tile over it, and no repair brings one back
        records: list = []
        peaks: list[TilePeak] = []
        out = run(restore_tiled(model, img, TileConfig(tile=96, overlap=16, batch=4),
                                peaks=peaks), records.append)
        done = [r.done for r in records]
        assert done == sorted(done) and done[-1] == records[-1].total == 6
        assert any("restoring again" in r.message for r in records)
        # Nothing came back within the limit: every tile is as it came out, and flagged.
        assert not any(p.repaired for p in peaks)
        plain = run(restore_tiled(model, img, TileConfig(tile=96, overlap=16, batch=4,
                                                          repair=False)))
        np.testing.assert_array_equal(out, plain)
        one: list = []
        run(restore_tiled(model, img[:64, :64], TileConfig(tile=0, ensemble=4)), one.append)
        assert [r.done for r in one] == sorted(r.done for r in one) and one[-1].done == 4
    finally:
        model.activation_limit = None


def test_an_overflowed_first_pass_reads_as_overflowed() -> None:
    nan = float("nan")
    tiles = [TilePeak(0, 0, 8, 8, 1.0, colour=0.5, first_peak=5.0),
             TilePeak(0, 8, 8, 8, 1.0, colour=0.5, first_peak=nan)]
    for order in (tiles, tiles[::-1]):
        report = check_peaks(order, 2.0)
        assert report.first_peak_text() == "overflowed"
        assert "activation peak overflowed" in report.message() and "nan" not in report.summary()
    assert check_peaks(tiles[:1], 2.0).first_peak_text() == "5"


def test_sweep_does_not_repair() -> None:
    from drcnet.sweep import SweepConfig

    assert SweepConfig(task="denoise", data=".").tiles().repair is False

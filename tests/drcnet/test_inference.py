from __future__ import annotations

import numpy as np
import pytest
import torch

from drcnet import Cancelled, DRCNet
from drcnet.inference import (
    Progress,
    TileConfig,
    forward_batch,
    forward_image,
    restore_tiled,
    run,
    tile_starts,
)
from drcnet.metrics import psnr


@pytest.fixture(scope="module")
def model() -> DRCNet:
    torch.manual_seed(0)
    return DRCNet(wf=8, depth=3).eval()


class Passes:
    """Records the input shape of every network pass of the tiled engine; ``oom_if(shape)``
    returning True makes that pass raise CUDA's out-of-memory error."""

    def __init__(self, real):  # noqa: ANN001
        self.real, self.shapes = real, []
        self.oom_if = lambda shape: False

    def __call__(self, m, crops):  # noqa: ANN001, ANN204
        self.shapes.append(crops.shape)
        if self.oom_if(crops.shape):
            raise torch.cuda.OutOfMemoryError("fake")
        return self.real(m, crops)


@pytest.fixture
def passes(monkeypatch) -> Passes:  # noqa: ANN001
    import drcnet.inference as inf

    recorder = Passes(inf.forward_batch)
    monkeypatch.setattr(inf, "forward_batch", recorder)
    return recorder


def _photo(h: int, w: int) -> np.ndarray:
    import cv2
    import skimage.data

    return cv2.resize(skimage.data.astronaut(), (w, h)).astype(np.float32) / 255


def test_tile_starts_cover_everything() -> None:
    for length, tile, overlap in ((512, 256, 64), (700, 256, 32), (100, 256, 32)):
        starts = tile_starts(length, tile, overlap)
        covered = np.zeros(length, bool)
        for s in starts:
            covered[s : s + tile] = True
        assert covered.all()
        assert starts[-1] + min(tile, length) == length


def test_tiled_matches_whole_image(model: DRCNet) -> None:
    img = _photo(512, 512)
    whole = run(restore_tiled(model, img, TileConfig(tile=0)))
    records: list[Progress] = []
    tiled = run(restore_tiled(model, img, TileConfig(tile=256, overlap=64)), records.append)
    assert tiled.shape == img.shape
    assert [r.done for r in records] == list(range(1, 10))
    assert all(isinstance(r, Progress) and r.total == 9 for r in records)
    assert psnr(whole, tiled) >= 45.0


def test_overlapping_tiles_are_feathered_not_cut(model: DRCNet, monkeypatch) -> None:  # noqa: ANN001
    """Each tile's output is offset by its own constant (as a tile's statistics shift the
    network's output): across the 32-px overlap the blend must walk from one offset to the
    other in even steps, not jump. (The PSNR bound above passed a hard cut at 46 dB.)"""
    import drcnet.inference as inf

    offsets = iter([0.0, 0.4])  # left tile, right tile
    monkeypatch.setattr(inf, "forward_batch",
                        lambda m, crops: np.stack([c * 0 + next(offsets) for c in crops]))
    img = np.full((128, 224, 3), 0.5, np.float32)  # two tiles of 128, 32 px in common
    out = run(restore_tiled(model, img, TileConfig(tile=128, overlap=32)))
    row = out[10, :, 0]
    steps = np.diff(row)
    assert row[0] == 0.0 and row[-1] == pytest.approx(0.4)
    assert steps.min() >= 0 and steps.max() <= 0.4 / 32 + 1e-6  # 32 even steps, no cut


def test_non_multiple_sizes_and_odd_tiles(model: DRCNet) -> None:
    img = _photo(203, 317)
    out = run(restore_tiled(model, img, TileConfig(tile=128, overlap=16)))
    assert out.shape == img.shape and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1


def test_cancel_between_tiles(model: DRCNet) -> None:
    img = _photo(300, 300)
    calls = {"n": 0}

    def cancel() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    gen = restore_tiled(model, img, TileConfig(tile=128, overlap=16), cancel=cancel)
    with pytest.raises(Cancelled):
        run(gen)
    assert calls["n"] == 3


def test_out_of_memory_halves_tile(model: DRCNet, passes: Passes) -> None:
    passes.oom_if = lambda shape: shape[1] > 64
    records: list[Progress] = []
    out = run(restore_tiled(model, _photo(128, 128), TileConfig(tile=128, overlap=16)),
              records.append)
    assert out.shape == (128, 128, 3)
    sides = [shape[1] for shape in passes.shapes]
    assert sides[0] == 128 and max(sides[1:]) == 64
    assert any("retrying with 64-pixel tiles" in r.message for r in records)


def test_apple_gpu_out_of_memory_halves_the_tile_too(model: DRCNet, passes: Passes,
                                                     monkeypatch) -> None:  # noqa: ANN001
    """MPS reports running out as a plain RuntimeError ("MPS backend out of memory"), which
    had ended the restore with a traceback where CUDA's retries with smaller tiles; another
    RuntimeError still ends it."""
    real = passes.real

    def mps(m, crops):  # noqa: ANN001, ANN202
        passes.shapes.append(crops.shape)
        if crops.shape[1] > 64:
            raise RuntimeError("MPS backend out of memory (MPS allocated: 1.2 GB, ...)")
        return real(m, crops)

    import drcnet.inference as inf

    monkeypatch.setattr(inf, "forward_batch", mps)
    records: list[Progress] = []
    out = run(restore_tiled(model, _photo(128, 128), TileConfig(tile=128, overlap=16)),
              records.append)
    assert out.shape == (128, 128, 3)
    assert any("retrying with 64-pixel tiles" in r.message for r in records)
    monkeypatch.setattr(inf, "forward_batch",
                        lambda m, crops: (_ for _ in ()).throw(RuntimeError("shape mismatch")))
    with pytest.raises(RuntimeError, match="shape mismatch"):
        run(restore_tiled(model, _photo(128, 128), TileConfig(tile=128, overlap=16)))


@pytest.mark.parametrize("tile, overlap", [(512, 128), (0, 0)])
def test_out_of_memory_shrinks_the_overlap_with_the_tile(model: DRCNet, passes: Passes,
                                                         tile: int, overlap: int) -> None:
    import drcnet.inference as inf

    seen: list[tuple[int, int]] = []
    real = inf._restore_tiled

    def spy(m, rgb, t, ov, *rest):  # noqa: ANN001, ANN002, ANN202
        seen.append((t, ov))
        return (yield from real(m, rgb, t, ov, *rest))

    inf_patch = pytest.MonkeyPatch()
    inf_patch.setattr(inf, "_restore_tiled", spy)
    try:
        passes.oom_if = lambda shape: shape[1] > 128
        out = run(restore_tiled(model, _photo(300, 300), TileConfig(tile=tile, overlap=overlap)))
    finally:
        inf_patch.undo()
    assert out.shape == (300, 300, 3)
    # A quarter of the smaller tile, not the first try's 128 (or, from one pass, none).
    assert seen[-1] == ((128, 32) if tile else (75, 18))


def test_forward_image_probe(model: DRCNet) -> None:
    out, maps = forward_image(model, _photo(64, 64), probe=True)
    assert out.shape == (64, 64, 3)
    assert set(maps) == set(model.block_names())
    _, none = forward_image(model, _photo(64, 64))
    assert none == {}


def test_bad_tile_config() -> None:
    with pytest.raises(ValueError):
        TileConfig(tile=64, overlap=32)


@pytest.mark.parametrize("kwargs", [
    {"tile": 64.5}, {"tile": "256"}, {"tile": None}, {"tile": True}, {"overlap": 8.0},
    {"batch": "2"}, {"ensemble": 4.0}])
def test_tile_settings_are_whole_numbers(kwargs) -> None:  # noqa: ANN001
    """tile=64.5 had been taken and failed at the first tile, "256" and None at once, each
    with a raw TypeError."""
    from drcnet.errors import UsageError

    with pytest.raises(UsageError, match="must be a whole number"):
        TileConfig(**kwargs)


def test_tile_settings_take_numpy_integers_as_ints() -> None:
    tiles = TileConfig(tile=np.int64(64), batch=np.int32(2))
    assert (tiles.tile, tiles.overlap, tiles.batch) == (64, 16, 2)
    assert type(tiles.tile) is int and type(tiles.batch) is int
    from drcnet.errors import UsageError

    with pytest.raises(UsageError, match="repair must be True or False"):
        TileConfig(repair="no")


def test_a_tile_size_in_place_of_a_tile_config_is_refused(model: DRCNet) -> None:
    """restore_tiled(model, img, 64) had failed with AttributeError: 'int' object has no
    attribute 'tile'."""
    from drcnet.errors import UsageError
    from drcnet.inference import restore_area

    img = _photo(40, 50)
    with pytest.raises(UsageError, match=r"a TileConfig, got 64; pass TileConfig\(tile=64\)"):
        run(restore_tiled(model, img, 64))
    with pytest.raises(UsageError, match="a TileConfig"):
        run(restore_area(model, img, (0, 0, 8, 8), 64))
    with pytest.raises(UsageError, match="cancel must be a function"):
        run(restore_tiled(model, img, cancel=True))


def test_a_read_only_image_restores_without_a_warning(model: DRCNet) -> None:
    """torch.from_numpy warned "The given NumPy array is not writable" on a read-only
    array (np.broadcast_to, a memory map)."""
    import warnings

    img = _photo(40, 50)
    frozen = img.copy()
    frozen.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = run(restore_tiled(model, frozen))
        mirrored = forward_batch(model, np.broadcast_to(img[:1, :1, ::-1], (2, 1, 1, 3)))
    np.testing.assert_array_equal(out, run(restore_tiled(model, img)))
    np.testing.assert_array_equal(mirrored, forward_batch(model, img[None, :1, :1, ::-1]
                                                          .repeat(2, axis=0)))


def test_negative_overlap_is_refused() -> None:
    with pytest.raises(ValueError, match="overlap must be >= 0"):
        TileConfig(tile=256, overlap=-10)


def test_batched_tiles_match_one_at_a_time(model: DRCNet) -> None:
    img = _photo(203, 317)  # 2×3 tiles of 128: batches of 4 leave a padded last group of 2
    single = run(restore_tiled(model, img, TileConfig(tile=128, overlap=16, batch=1)))
    records: list[Progress] = []
    batched = run(restore_tiled(model, img, TileConfig(tile=128, overlap=16, batch=4)),
                  records.append)
    assert [r.done for r in records] == [4, 6] and records[-1].total == 6
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_auto_tile_batch() -> None:
    from drcnet.inference import auto_tile_batch

    assert auto_tile_batch(torch.device("cpu")) == 1
    assert auto_tile_batch(torch.device("cuda")) == 8
    with pytest.raises(ValueError, match="batch"):
        TileConfig(batch=-1)


def test_out_of_memory_halves_the_batch_first(model: DRCNet, passes: Passes) -> None:
    passes.oom_if = lambda shape: shape[0] > 2
    records: list[Progress] = []
    img = _photo(203, 317)
    out = run(restore_tiled(model, img, TileConfig(tile=128, overlap=16, batch=4)),
              records.append)
    assert any("retrying with 2 tiles a pass" in r.message for r in records)
    assert passes.shapes[0] == (4, 128, 128, 3)
    assert set(passes.shapes[1:]) == {(2, 128, 128, 3)}
    single = run(restore_tiled(model, img, TileConfig(tile=128, overlap=16, batch=1)))
    np.testing.assert_allclose(out, single, atol=1e-5)


def test_every_tiled_pass_has_the_batch_shape(model: DRCNet, passes: Passes) -> None:
    img = _photo(150, 200)  # 2×2 tiles of 128, fewer than the batch
    out = run(restore_tiled(model, img, TileConfig(tile=128, overlap=16, batch=8)))
    assert passes.shapes == [(8, 128, 128, 3)]  # padded: a compiled model sees its warm-up shape
    single = run(restore_tiled(model, img, TileConfig(tile=128, overlap=16, batch=1)))
    np.testing.assert_allclose(out, single, atol=1e-5)


def test_out_of_memory_in_one_pass_halves_the_tile(model: DRCNet, passes: Passes) -> None:
    passes.oom_if = lambda shape: shape[1] > 64
    records: list[Progress] = []
    run(restore_tiled(model, _photo(128, 128), TileConfig(tile=128, overlap=16, batch=8)),
        records.append)
    assert passes.shapes[0] == (1, 128, 128, 3)
    assert not any("tiles a pass" in r.message for r in records)  # no batch to shrink
    assert any("retrying with 64-pixel tiles" in r.message for r in records)


def test_the_ea_pair_without_ea_runs_on_the_tiles_the_pass_with_ea_retried_with(
        model: DRCNet, passes: Passes) -> None:
    from drcnet.inference import Restart, ea_area_pair, restore_area

    img = _photo(128, 128)
    tiles = TileConfig(tile=128, overlap=16, batch=1)  # one pass, which runs out of memory
    passes.oom_if = lambda shape: shape[1] > 64
    records: list[Progress] = []
    with_ea, without = run(ea_area_pair(model, model, img, (0, 0, 128, 128), tiles, 0.7, 1e-6),
                           records.append)
    (restart,) = [r for r in records if isinstance(r, Restart)]
    assert restart.tiles.tile == 64
    after = passes.shapes[passes.shapes.index((1, 128, 128, 3)) + 1:]
    assert after and all(shape[1] <= 64 for shape in after)  # both passes on 64-px tiles
    model.configure(ea=False)
    again = run(restore_area(model, img, (0, 0, 128, 128), restart.tiles, colours={}))
    model.configure(ea=True)
    np.testing.assert_allclose(without, again, atol=1e-6)
    assert with_ea.shape == without.shape == (128, 128, 3)


def test_forward_batch_checks_its_input(model: DRCNet) -> None:
    from drcnet.errors import UsageError

    with pytest.raises(UsageError, match="N×H×W×3"):
        forward_batch(model, np.zeros((64, 64, 3), np.float32))
    with pytest.raises(UsageError, match="N×H×W×3 images, got a list"):
        forward_batch(model, [[[[0.5] * 3]]])


def test_ensemble_views_are_the_eight_symmetries() -> None:
    from drcnet.inference import VIEWS, _unview, _view

    x = np.arange(2 * 3 * 5 * 3, dtype=np.float32).reshape(2, 3, 5, 3)
    views = [_view(x, k) for k in VIEWS[8]]
    assert len({v.tobytes() + bytes(v.shape) for v in views}) == 8
    for k, v in enumerate(views):
        np.testing.assert_array_equal(_unview(v, k), x)
    # The upright four keep each column a column (no 90° turn).
    assert all(_view(x, k).shape == x.shape for k in VIEWS[4])


def test_ensemble_of_a_pixelwise_model_is_that_model(monkeypatch) -> None:  # noqa: ANN001
    # A function of each pixel alone commutes with every view, so a wrong inverse mapping
    # would show up as scrambled pixels.
    import drcnet.inference as inf

    monkeypatch.setattr(inf, "forward_batch", lambda m, crops: np.sqrt(crops))
    img = _photo(90, 130)
    out = run(restore_tiled(None, img, TileConfig(tile=64, overlap=16, batch=3, ensemble=8)))  # type: ignore[arg-type]
    np.testing.assert_allclose(out, np.sqrt(img), atol=1e-6)


def test_ensemble_output_is_equivariant(model: DRCNet, passes: Passes) -> None:
    img = _photo(72, 104)
    cfg = TileConfig(tile=0, ensemble=8)
    out = run(restore_tiled(model, img, cfg))
    # 8 passes, rotated views swapping height and width
    assert passes.shapes == [(1, 72, 104, 3), (1, 104, 72, 3)] * 4
    turned = run(restore_tiled(model, np.ascontiguousarray(np.rot90(img)), cfg))
    np.testing.assert_allclose(turned, np.rot90(out), atol=1e-5)
    mirrored = run(restore_tiled(model, np.ascontiguousarray(img[:, ::-1]), cfg))
    np.testing.assert_allclose(mirrored, out[:, ::-1], atol=1e-5)
    single = run(restore_tiled(model, img, TileConfig(tile=0)))
    assert np.abs(single - out).max() > 1e-4  # the untrained network is not equivariant


@pytest.mark.parametrize("shape", [(1, 1), (1, 50), (50, 1)])
def test_ensemble_on_images_one_pixel_across(model: DRCNet, shape: tuple[int, int]) -> None:
    # Mirroring an axis of length 1 gives a negative stride that numpy calls contiguous.
    img = _photo(*shape)
    for views in (4, 8):
        out = run(restore_tiled(model, img, TileConfig(tile=64, overlap=16, ensemble=views)))
        assert out.shape == img.shape and np.isfinite(out).all()


def test_upright_ensemble_and_views_per_task(model: DRCNet, passes: Passes) -> None:
    from drcnet.inference import ensemble_views

    assert ensemble_views("derain") == 4  # trained on rain falling down: no 90° turns
    assert ensemble_views("denoise") == ensemble_views("deblur") == 8
    img = _photo(72, 104)
    cfg = TileConfig(tile=0, ensemble=4)
    out = run(restore_tiled(model, img, cfg))
    assert passes.shapes == [(1, 72, 104, 3)] * 4
    flipped = run(restore_tiled(model, np.ascontiguousarray(img[::-1]), cfg))
    np.testing.assert_allclose(flipped, out[::-1], atol=1e-5)  # upside down is one of them
    with pytest.raises(ValueError, match="ensemble"):
        TileConfig(ensemble=3)


def test_ensemble_progress_counts_views_and_cancel_stops_between_them(model: DRCNet,
                                                                      passes: Passes) -> None:
    img = _photo(203, 317)  # 2×3 tiles of 128
    records: list[Progress] = []
    run(restore_tiled(model, img, TileConfig(tile=128, overlap=16, batch=4, ensemble=4)),
        records.append)
    assert [r.done for r in records] == [4, 8, 12, 16, 18, 20, 22, 24]
    assert {r.total for r in records} == {24}
    assert records[0].message.startswith("tile 4/6, view 1/4")
    # One pass of a whole image: cancel is checked before every view.
    passes.shapes.clear()
    calls = iter([False, False, True])
    with pytest.raises(Cancelled):
        run(restore_tiled(model, img, TileConfig(tile=0, ensemble=8), lambda: next(calls)))
    assert len(passes.shapes) == 2


def test_out_of_memory_with_the_ensemble(model: DRCNet, passes: Passes) -> None:
    passes.oom_if = lambda shape: shape[0] > 2
    img = _photo(203, 317)
    out = run(restore_tiled(model, img, TileConfig(tile=128, overlap=16, batch=4, ensemble=8)))
    assert passes.shapes[0] == (4, 128, 128, 3)
    assert set(passes.shapes[1:]) == {(2, 128, 128, 3)}
    single = run(restore_tiled(model, img, TileConfig(tile=128, overlap=16, batch=1, ensemble=8)))
    np.testing.assert_allclose(out, single, atol=1e-5)


def test_gray_input_gives_gray_output(model: DRCNet) -> None:
    from drcnet.inference import forward_image, is_gray

    gray = np.repeat(_photo(40, 56).mean(axis=2, keepdims=True), 3, axis=2)
    colour = run(restore_tiled(model, _photo(40, 56), TileConfig(tile=0)))
    assert not is_gray(colour)  # the untrained network tints
    for out in (run(restore_tiled(model, gray, TileConfig(tile=32, overlap=8))),
                forward_image(model, gray)[0]):
        assert out.shape == gray.shape and is_gray(out)


def test_apply_strength_mixes_the_restoration_into_the_input() -> None:
    from drcnet.errors import DRCNetError, UsageError
    from drcnet.inference import apply_strength

    rng = np.random.default_rng(0)
    src = rng.random((6, 7, 3), dtype=np.float32)
    out = rng.random((6, 7, 3), dtype=np.float32)
    before = src.copy()
    assert apply_strength(src, out, 1.0) is out  # no copy of a large image for the default
    np.testing.assert_array_equal(apply_strength(src, out, 0.0), src)
    mixed = apply_strength(src[:, ::-1], out, 0.25)  # non-contiguous input
    assert mixed.dtype == np.float32
    np.testing.assert_allclose(mixed, 0.75 * src[:, ::-1] + 0.25 * out, atol=1e-6)
    np.testing.assert_array_equal(src, before)  # the input is not changed in place
    for bad in (-0.1, 1.01, float("nan")):
        with pytest.raises(DRCNetError, match="strength"):
            apply_strength(src, out, bad)
    with pytest.raises(UsageError, match="must match"):
        apply_strength(src, out[:3], 0.5)


@pytest.mark.parametrize(("image", "said"), [
    (np.full((40, 50, 3), 128, np.uint8), "uint8"),  # np.array(PIL.Image.open(...))
    (np.full((40, 50, 3), 128.0, np.float32), "0 to 255"),  # floats left in 0-255
    (np.zeros((40, 50), np.float32), "H×W×3"),  # a gray 2-D array
    (np.zeros((40, 50, 4), np.float32), "H×W×3"),  # RGBA
    # What a researcher passes first by mistake: each had got "got shape ()" or advice to
    # repeat a gray channel.
    (np.zeros((3, 40, 50), np.float32), "channels first"),
    (torch.zeros(3, 40, 50), "torch tensor"),
    (np.zeros((0, 50, 3), np.float32), "at least 1×1"),
    (np.zeros((40, 50, 3)).tolist(), "NumPy H×W×3 array, got a list"),  # AttributeError
])
def test_an_image_array_the_network_cannot_take_is_refused(model, image, said) -> None:  # noqa: ANN001
    """A uint8 array came out all NaN and was written black, without a word."""
    from drcnet.errors import UsageError
    from drcnet.inference import forward_image, restore_area

    with pytest.raises(UsageError, match=said):
        run(restore_tiled(model, image))
    with pytest.raises(UsageError, match=said):
        forward_image(model, image)
    with pytest.raises(UsageError, match=said):
        run(restore_area(model, image, (0, 0, 8, 8)))


def test_an_image_object_is_told_to_pass_its_pixels(model, tmp_path) -> None:  # noqa: ANN001
    from drcnet.errors import UsageError
    from drcnet.imageio import read_image, write_image

    image = read_image(write_image(tmp_path / "x.png", np.zeros((20, 30, 3), np.float32)))
    with pytest.raises(UsageError, match=r"pass image\.restorable"):
        run(restore_tiled(model, image))


def test_a_nan_pixel_is_refused_not_spread_over_its_tile(model) -> None:  # noqa: ANN001
    from drcnet.errors import UsageError

    rgb = np.full((40, 50, 3), 0.5, np.float32)
    rgb[10, 10, 1] = np.nan  # blacked out its whole 256-px tile
    with pytest.raises(UsageError, match="NaN"):
        run(restore_tiled(model, rgb))
    rgb[10, 10, 1] = np.inf
    with pytest.raises(UsageError, match="NaN or infinite"):
        run(restore_tiled(model, rgb))


def test_a_one_pass_restore_too_big_for_the_memory_is_refused(model, monkeypatch) -> None:  # noqa: ANN001
    """A whole-image pass takes about 1.1 KB a pixel on a CPU (docs/eval/onepass_memory.txt):
    a 12 MP photo, some 14 GB, was left to the system's out-of-memory killer."""
    import drcnet.inference
    from drcnet.errors import DRCNetError

    rgb = np.full((300, 400, 3), 0.5, np.float32)
    monkeypatch.setattr(drcnet.inference, "available_memory", lambda: 10 * 2**20)
    with pytest.raises(DRCNetError, match=r"one pass .* needs about .* restore it in tiles"):
        run(restore_tiled(model, rgb, TileConfig(tile=0)))
    run(restore_tiled(model, rgb, TileConfig(tile=128)))  # in tiles it runs
    monkeypatch.setattr(drcnet.inference, "available_memory", lambda: None)  # not known
    run(restore_tiled(model, rgb, TileConfig(tile=0)))


def test_free_memory_is_read_on_windows_and_macos(monkeypatch) -> None:  # noqa: ANN001
    """Only Linux's /proc/meminfo had been read, so the one-pass check never refused on
    Windows or macOS. Their system calls are faked here: the structures' sizes are the
    SDKs' and the readers take what the calls fill in."""
    import ctypes
    import types

    import drcnet.inference as inf

    assert ctypes.sizeof(inf._MemoryStatusEx) == 64  # MEMORYSTATUSEX
    assert ctypes.sizeof(inf._VmStatistics64) == 152  # vm_statistics64

    def global_memory_status_ex(ref) -> int:  # noqa: ANN001
        assert ref._obj.dwLength == 64  # the call refuses a structure without its size
        ref._obj.ullAvailPhys = 5 * 2**30
        return 1

    kernel32 = types.SimpleNamespace(GlobalMemoryStatusEx=global_memory_status_ex)
    monkeypatch.setattr(ctypes, "windll", types.SimpleNamespace(kernel32=kernel32),
                        raising=False)
    monkeypatch.setattr(inf.sys, "platform", "win32")
    assert inf.available_memory() == 5 * 2**30

    class Mach:
        def __init__(self) -> None:
            self.mach_host_self = lambda: 7  # the reader sets its restype
            self.mach_task_self_ = ctypes.c_uint32(3)
            self.released: list[tuple[int, int]] = []

        def mach_port_deallocate(self, task, port) -> int:  # noqa: ANN001
            self.released.append((task.value, port.value))
            return 0

        def host_page_size(self, host, ref) -> int:  # noqa: ANN001
            ref._obj.value = 16384
            return 0

        def host_statistics64(self, host, flavor, ref, count) -> int:  # noqa: ANN001
            assert flavor.value == 4 and count._obj.value == 38  # HOST_VM_INFO64(_COUNT)
            ref._obj.free_count, ref._obj.inactive_count = 1000, 500
            ref._obj.active_count = 9999  # in use: not available
            return 0

    mach = Mach()
    assert inf._macos_available(mach) == 1500 * 16384
    assert mach.released == [(3, 7)]  # the host port's reference given back
    monkeypatch.setattr(inf.sys, "platform", "darwin")
    monkeypatch.setattr(ctypes, "CDLL", lambda path: Mach())
    assert inf.available_memory() == 1500 * 16384
    # A failing call: not known, so nothing is refused.
    monkeypatch.setattr(ctypes, "CDLL", lambda path: (_ for _ in ()).throw(OSError("no lib")))
    assert inf.available_memory() is None


def test_a_little_overshoot_runs_as_before(model) -> None:  # noqa: ANN001
    """A bicubic resize's overshoot (-0.07..1.03) or unclipped σ=25 noise (-0.29..1.09) ran
    before the array check and must still: only another scale is refused."""
    rgb = np.full((40, 50, 3), 0.5, np.float32)
    rgb[0, 0], rgb[1, 1] = -0.29, 1.09
    out = run(restore_tiled(model, rgb))
    assert out.shape == rgb.shape and np.isfinite(out).all()


def test_an_image_scaled_to_minus_one_one_is_refused(model) -> None:  # noqa: ANN001
    """Normalize(0.5, 0.5)'s [-1, 1] was restored as if it were [0, 1]."""
    from drcnet.errors import UsageError

    rgb = np.linspace(0, 1, 40 * 50 * 3, dtype=np.float32).reshape(40, 50, 3)
    with pytest.raises(UsageError, match=r"scaled to \[-1, 1\]"):
        run(restore_tiled(model, rgb * 2 - 1))


def test_a_small_tile_takes_an_overlap_that_fits_it() -> None:
    """TileConfig(tile=64) had been refused for the default overlap of 32 (and 16, the
    smallest tile allowed, could not be made without an overlap), while --tile 64 ran."""
    from drcnet.errors import UsageError

    assert TileConfig(tile=64).overlap == 16 and TileConfig(tile=16).overlap == 4
    assert TileConfig().overlap == 32 and TileConfig(tile=0).overlap == 32
    assert TileConfig(tile=64, overlap=8).overlap == 8  # given: kept
    with pytest.raises(UsageError, match="too large"):
        TileConfig(tile=64, overlap=32)


def _in_thread(fn):  # noqa: ANN001, ANN202
    """Run ``fn()`` in a new thread; its result, or the exception it raised."""
    import threading

    out: list[object] = []

    def body() -> None:
        try:
            out.append(fn())
        except Exception as exc:  # noqa: BLE001 (handed back to the test)
            out.append(exc)

    t = threading.Thread(target=body)
    t.start()
    t.join(60)
    assert not t.is_alive()
    return out[0]


def test_a_model_restoring_in_one_thread_is_refused_to_another(model: DRCNet) -> None:
    """Two threads restoring with one model mixed the range check's peak probe, which lives
    on the model: one image's peaks went into the other's list, a repair was skipped, or
    torch raised "stack expects a non-empty TensorList". The second thread is told instead,
    and the first one's result and peaks are those of a restore alone."""
    import threading

    from drcnet.compare import Knobs, analyse
    from drcnet.errors import UsageError

    img, other = _photo(96, 160), _photo(64, 64)[::-1].copy()
    tiles = TileConfig(tile=64)
    alone: list = []
    expected = run(restore_tiled(model, img, tiles, peaks=alone))
    inside, go_on = threading.Event(), threading.Event()

    def cancel() -> bool:  # called by the restore's body between passes: it holds the model
        inside.set()
        assert go_on.wait(60)
        return False

    peaks: list = []
    result: list = []
    first = threading.Thread(target=lambda: result.append(
        run(restore_tiled(model, img, tiles, cancel=cancel, peaks=peaks))))
    first.start()
    try:
        assert inside.wait(60)
        refused = [_in_thread(call) for call in (
            lambda: run(restore_tiled(model, other, tiles, peaks=[])),
            lambda: forward_image(model, other),
            lambda: forward_batch(model, other[None]),
            lambda: analyse(model, other, Knobs()),
        )]
    finally:
        go_on.set()
        first.join(60)
    for exc in refused:
        assert isinstance(exc, UsageError), exc
        assert "another thread" in str(exc) and "one model per thread" in str(exc)
    np.testing.assert_array_equal(result[0], expected)
    assert [(p.y, p.x, p.peak) for p in peaks] == [(p.y, p.x, p.peak) for p in alone]
    # Once the first is done the model is free again, in any thread.
    assert _in_thread(lambda: forward_image(model, other)[0]).shape == other.shape


def test_a_restore_holds_its_model_from_first_step_to_end_in_any_thread(model: DRCNet) -> None:
    """The model is held by the run, from its first step until it returns or is closed or
    dropped, waiting at its yields included, not by the thread that made it (the GUI makes
    a restore and a worker drives it). Held only while its body ran, a second thread had got
    in between two tiles: it changed the knobs under the first run without a word, or the
    first run was the one refused, half done."""
    import gc

    from drcnet.compare import Knobs, analyse
    from drcnet.errors import UsageError

    img = _photo(96, 160)
    tiles = TileConfig(tile=64)
    expected = run(restore_tiled(model, img, tiles))
    gen = restore_tiled(model, img, tiles)
    assert isinstance(_in_thread(lambda: next(gen)), Progress)  # started in one thread
    for call in (lambda: forward_image(model, img),  # another, while it waits at a yield
                 lambda: analyse(model, img, Knobs(t=0.95, ea=False))):
        assert isinstance(_in_thread(call), UsageError)
    assert np.array_equal(_in_thread(lambda: run(gen)), expected)  # finished in a third
    assert _in_thread(lambda: forward_image(model, img)[0]).shape == img.shape  # free again
    gen = restore_tiled(model, img, tiles)
    next(gen)
    gen.close()  # closed early: free
    assert _in_thread(lambda: forward_image(model, img)[0]).shape == img.shape
    dropped = restore_tiled(model, img, tiles)
    next(dropped)
    del dropped  # dropped: free
    gc.collect()
    assert _in_thread(lambda: forward_image(model, img)[0]).shape == img.shape
    # One thread may interleave two runs of its own.
    a, b = restore_tiled(model, img, tiles), restore_tiled(model, img, tiles)
    next(a), next(b)
    assert np.array_equal(run(a), expected) and np.array_equal(run(b), expected)
    assert _in_thread(lambda: forward_image(model, img)[0]).shape == img.shape


def test_forward_batch_and_ensemble_refuse_what_came_out_as_nan(model: DRCNet) -> None:
    """restore_tiled and forward_image refused a uint8 image or one on a 0-255 scale; the
    batch functions took them and returned all NaN without a word."""
    from drcnet.errors import UsageError
    from drcnet.inference import forward_ensemble

    img = _photo(32, 48)[None]
    bad = (((img * 255).astype(np.uint8), "got uint8; divide by 255"),
           (img * 255, "divide by 255"),
           (np.where(img > 0.9, np.nan, img), "NaN"),
           (np.ascontiguousarray(img.transpose(0, 3, 1, 2)), "channels first"),
           (img[0], "one image: pass rgb\\[None\\]"),
           (torch.from_numpy(img), "torch tensor"),
           (img[:0], "at least one image"))
    for call in (forward_batch, lambda m, x: forward_ensemble(m, x, 4)):
        for array, match in bad:
            with pytest.raises(UsageError, match=match):
                call(model, array)
    with pytest.raises(UsageError, match="views must be one of"):
        forward_ensemble(model, img, 3)
    # A little outside [0, 1] (unclipped noise, a resize's overshoot) runs, as it does whole.
    out = forward_ensemble(model, np.clip(img * 1.3 - 0.15, -0.3, 1.4), 4)
    assert out.shape == img.shape and np.isfinite(out).all()


def test_tiles_of_an_image_that_passed_pass_the_batch_check(model: DRCNet) -> None:
    """The tiled restore runs its tiles through forward_batch's check: a dark tile with
    unclipped noise, mostly below 0, must not be taken for an image scaled to [-1, 1]
    there (check_image_array, on the whole image, passes it)."""
    rng = np.random.default_rng(0)
    img = np.full((128, 128, 3), 0.8, np.float32)
    img[:64, :64] = rng.normal(0.0, 0.25, (64, 64, 3))
    img = np.clip(img, -0.99, 1.99).astype(np.float32)
    assert img[:64, :64].min() < -0.5 and (img[:64, :64] < -0.05).mean() > 0.25
    out = run(restore_tiled(model, img, TileConfig(tile=64, overlap=16)))
    assert out.shape == img.shape and np.isfinite(out).all()


def test_forward_image_maps_cover_the_image_not_the_padding(model: DRCNet) -> None:
    """A 30×45 input, padded to 32×48 by the depth-3 network, had come back with 32×48 maps
    (compare.analyse cropped them; forward_image did not)."""
    img = _photo(30, 45)
    _, maps = forward_image(model, img, probe=True)
    assert maps["stage1.enc0"].self_aware.shape == (1, 1, 30, 45)
    assert maps["stage1.enc1"].mask.shape == (1, 1, 15, 23)
    assert maps["stage2.enc2"].energy.shape == (1, 1, 8, 12)
    raw: dict = {}
    model.set_probe(raw)
    try:
        with torch.inference_mode():
            model(torch.from_numpy(img).permute(2, 0, 1)[None].contiguous())
    finally:
        model.set_probe(None)
    assert raw["stage1.enc0"].self_aware.shape == (1, 1, 32, 48)
    for name, m in maps.items():  # the padded capture's top-left part
        _, _, h, w = m.self_aware.shape
        for kind in ("self_aware", "mask", "energy"):
            torch.testing.assert_close(getattr(m, kind),
                                       getattr(raw[name], kind)[..., :h, :w])


def test_forward_image_is_refused_a_pass_too_big_for_the_memory(model, monkeypatch) -> None:  # noqa: ANN001
    """forward_image, a whole-image pass, had no memory guard: a large photo was left to the
    system's out-of-memory killer."""
    import drcnet.inference
    from drcnet.errors import DRCNetError, UsageError

    rgb = np.full((300, 400, 3), 0.5, np.float32)
    monkeypatch.setattr(drcnet.inference, "available_memory", lambda: 10 * 2**20)
    with pytest.raises(DRCNetError, match=r"^a one pass over this 400×300 image") as caught:
        forward_image(model, rgb)
    assert not isinstance(caught.value, UsageError)
    # The tile setting does not shrink this pass: a smaller image does.
    assert "pass a smaller image" in str(caught.value) and "tiles smaller" not in str(
        caught.value)
    monkeypatch.setattr(drcnet.inference, "available_memory", lambda: None)  # not known
    assert forward_image(model, rgb)[0].shape == rgb.shape


def test_restore_tiled_defaults_to_the_models_training_crop(passes: Passes) -> None:
    """restore_tiled(model, rgb) had used 256-px tiles whatever the model was trained on,
    where drcnet restore, eval and sweep use its training crop (default_tile)."""
    from drcnet.inference import default_tile, restore_area

    torch.manual_seed(0)
    net = DRCNet(wf=8, depth=2).eval()
    net.train_crop = 64
    assert default_tile(net) == 64
    img = _photo(100, 120)
    out = run(restore_tiled(net, img))
    assert passes.shapes and set(passes.shapes) == {(1, 64, 64, 3)}
    np.testing.assert_array_equal(out, run(restore_tiled(net, img, TileConfig(tile=64))))
    passes.shapes.clear()
    area = run(restore_area(net, img, (10, 10, 20, 20)))
    assert set(passes.shapes) == {(1, 64, 64, 3)}
    np.testing.assert_array_equal(area, out[10:30, 10:30])
    passes.shapes.clear()
    run(restore_tiled(net, img, TileConfig()))  # given, as given: one 256-px pass
    assert passes.shapes == [(1, 100, 120, 3)]

"""The tiled engine's focus area (``restore_tiled(focus=...)``): the area a viewer shows is
restored first and handed over as soon as its tiles are done."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from drcnet import Cancelled, DRCNet
from drcnet.inference import (
    AreaDone,
    Progress,
    Restart,
    TileConfig,
    clip_box,
    restore_tiled,
    run,
    tile_starts,
)

TILES = TileConfig(tile=64, overlap=8, batch=1, repair=False)


@pytest.fixture(scope="module")
def model() -> DRCNet:
    torch.manual_seed(0)
    return DRCNet(wf=8, depth=3).eval()


def _photo(h: int, w: int) -> np.ndarray:
    import cv2
    import skimage.data

    return cv2.resize(skimage.data.astronaut(), (w, h)).astype(np.float32) / 255


def _places(h: int, w: int) -> list[tuple[int, int]]:
    return [(y, x) for y in tile_starts(h, 64, 8) for x in tile_starts(w, 64, 8)]


def _over(box: tuple[int, int, int, int], h: int, w: int) -> set[tuple[int, int]]:
    by, bx, bh, bw = box
    return {(y, x) for y, x in _places(h, w)
            if y < by + bh and by < y + 64 and x < bx + bw and bx < x + 64}


class Seen:
    """Records which tile each pass of the engine restored, by matching its crop."""

    def __init__(self, real, rgb: np.ndarray) -> None:  # noqa: ANN001
        self.real, self.rgb, self.order = real, rgb, []

    def __call__(self, m, crops):  # noqa: ANN001, ANN204
        h, w = self.rgb.shape[:2]
        for crop in crops:
            self.order.extend(p for p in _places(h, w)
                              if np.array_equal(self.rgb[p[0]:p[0] + 64, p[1]:p[1] + 64], crop))
        return self.real(m, crops)


def test_focus_area_comes_first_and_its_pixels_are_the_final_ones(model: DRCNet,
                                                                  monkeypatch) -> None:  # noqa: ANN001
    import drcnet.inference as inf

    img = _photo(300, 400)
    plain = run(restore_tiled(model, img, TILES))
    seen = Seen(inf.forward_batch, img)
    monkeypatch.setattr(inf, "forward_batch", seen)
    box = (150, 220, 90, 110)
    records: list[Progress] = []
    out = run(restore_tiled(model, img, TILES, focus=lambda: box), records.append)

    first = _over(box, 300, 400)
    assert 1 < len(first) < len(_places(300, 400))
    assert set(seen.order[: len(first)]) == first  # the area's tiles before any other
    areas = [r for r in records if isinstance(r, AreaDone)]
    assert len(areas) == 1  # once per area
    area = areas[0]
    assert area.box == box and area.done == len(first) and area.total == len(seen.order)
    y, x, h, w = box
    np.testing.assert_allclose(area.pixels, out[y:y + h, x:x + w], atol=1e-6)
    # The order changes nothing beyond float rounding where tiles overlap.
    np.testing.assert_allclose(out, plain, atol=1e-6)
    assert [r.done for r in records if not isinstance(r, AreaDone)] == list(
        range(1, len(seen.order) + 1))


def test_the_rest_goes_nearest_first(model: DRCNet, monkeypatch) -> None:  # noqa: ANN001
    import drcnet.inference as inf

    img = _photo(300, 400)
    seen = Seen(inf.forward_batch, img)
    monkeypatch.setattr(inf, "forward_batch", seen)
    run(restore_tiled(model, img, TILES, focus=lambda: (0, 0, 40, 40)))  # the top-left tile
    assert seen.order[0] == (0, 0)
    centre = [np.hypot(y + 32 - 20, x + 32 - 20) for y, x in seen.order]
    assert centre == sorted(centre)
    assert sorted(seen.order) == sorted(_places(300, 400))  # every tile exactly once


def test_a_moved_focus_is_reported_again(model: DRCNet) -> None:
    img = _photo(300, 400)
    boxes = iter([(0, 0, 50, 50)] * 3 + [(230, 320, 70, 80)] * 100)
    current = {"box": None}

    def focus() -> tuple[int, int, int, int]:
        current["box"] = next(boxes)
        return current["box"]

    records: list[Progress] = []
    out = run(restore_tiled(model, img, TILES, focus=focus), records.append)
    areas = [r for r in records if isinstance(r, AreaDone)]
    assert [a.box for a in areas] == [(0, 0, 50, 50), (230, 320, 70, 80)]
    for a in areas:
        y, x, h, w = a.box
        np.testing.assert_allclose(a.pixels, out[y:y + h, x:x + w], atol=1e-6)


def test_no_area_when_it_needs_every_tile_or_lies_outside(model: DRCNet) -> None:
    img = _photo(200, 260)
    for box in ((0, 0, 200, 260), (-50, -50, 400, 500), (300, 0, 10, 10), None):
        records: list[Progress] = []
        run(restore_tiled(model, img, TILES, focus=lambda b=box: b), records.append)
        assert not any(isinstance(r, AreaDone) for r in records), box


def test_focus_on_a_gray_photo_gives_gray_pixels(model: DRCNet) -> None:
    gray = _photo(200, 260).mean(axis=2, keepdims=True).repeat(3, axis=2)
    records: list[Progress] = []
    run(restore_tiled(model, gray, TILES, focus=lambda: (10, 10, 30, 30)), records.append)
    (area,) = [r for r in records if isinstance(r, AreaDone)]
    assert np.array_equal(area.pixels[..., 0], area.pixels[..., 1])
    assert np.array_equal(area.pixels[..., 0], area.pixels[..., 2])


def test_cancel_still_stops_between_tiles_with_a_focus(model: DRCNet) -> None:
    img = _photo(300, 400)
    calls = {"n": 0}

    def cancel() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    with pytest.raises(Cancelled):
        run(restore_tiled(model, img, TILES, cancel=cancel, focus=lambda: (100, 100, 20, 20)))


def test_clip_box() -> None:
    assert clip_box((-5, -5, 20, 30), 100, 100) == (0, 0, 15, 25)
    assert clip_box((90, 90, 50, 50), 100, 120) == (90, 90, 10, 30)
    assert clip_box((100, 0, 5, 5), 100, 100) is None
    assert clip_box((0, 0, 0, 5), 100, 100) is None
    assert clip_box(None, 100, 100) is None


def test_a_gray_area_of_a_colour_photo_keeps_the_colours_the_final_image_has(
        model: DRCNet) -> None:
    img = _photo(300, 400)
    img[150:300, 200:400] = img[150:300, 200:400].mean(axis=2, keepdims=True)  # a gray patch
    box = (160, 220, 60, 80)  # inside it
    records: list[Progress] = []
    out = run(restore_tiled(model, img, TILES, focus=lambda: box), records.append)
    (area,) = [r for r in records if isinstance(r, AreaDone)]
    y, x, h, w = box
    np.testing.assert_allclose(area.pixels, out[y:y + h, x:x + w], atol=1e-6)
    assert not np.array_equal(out[y:y + h, x:x + w, 0], out[y:y + h, x:x + w, 1])


def test_a_restart_after_running_out_of_memory_says_so(model: DRCNet, monkeypatch) -> None:  # noqa: ANN001
    import drcnet.inference as inf

    real, calls = inf.forward_batch, {"n": 0}

    def forward(m, crops):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 6:  # after the area's tile, once
            raise torch.cuda.OutOfMemoryError("fake")
        return real(m, crops)

    monkeypatch.setattr(inf, "forward_batch", forward)
    img = _photo(300, 400)
    box = (0, 0, 50, 50)
    records: list[Progress] = []
    tiles = TileConfig(tile=128, overlap=16, batch=1, repair=False)  # 64 after the restart
    out = run(restore_tiled(model, img, tiles, focus=lambda: box), records.append)
    kinds = [type(r).__name__ for r in records if isinstance(r, (AreaDone, Restart))]
    assert kinds == ["AreaDone", "Restart", "AreaDone"]  # handed over again after the restart
    last = [r for r in records if isinstance(r, AreaDone)][-1]
    np.testing.assert_allclose(last.pixels, out[:50, :50], atol=1e-6)


def test_restore_area_is_the_whole_restore_there(model: DRCNet, monkeypatch) -> None:  # noqa: ANN001
    import drcnet.inference as inf
    from drcnet.inference import restore_area

    img = _photo(300, 400)
    whole = run(restore_tiled(model, img, TILES))
    seen = Seen(inf.forward_batch, img)
    monkeypatch.setattr(inf, "forward_batch", seen)
    for box in ((150, 220, 90, 110), (0, 0, 10, 10), (-20, 380, 60, 60)):
        seen.order.clear()
        out = run(restore_area(model, img, box, TILES))
        y, x, h, w = clip_box(box, 300, 400)
        assert out.shape == (h, w, 3)
        np.testing.assert_allclose(out, whole[y:y + h, x:x + w], atol=1e-6)
        assert set(seen.order) == _over((y, x, h, w), 300, 400)  # only the tiles over it
    with pytest.raises(ValueError):
        run(restore_area(model, img, (400, 0, 5, 5), TILES))
    small = _photo(50, 60)  # one pass: the whole image, cropped
    np.testing.assert_allclose(run(restore_area(model, small, (5, 5, 10, 10), TILES)),
                               run(restore_tiled(model, small, TILES))[5:15, 5:15], atol=1e-6)
    gray = img.mean(axis=2, keepdims=True).repeat(3, axis=2)
    g = run(restore_area(model, gray, (10, 10, 40, 40), TILES))
    assert np.array_equal(g[..., 0], g[..., 1])


def test_restore_area_repairs_the_tiles_it_is_told_to(model: DRCNet) -> None:
    from drcnet.inference import desaturate, forward_image, resaturate, restore_area

    rgb = _photo(48, 56)  # one pass: the factor applies to the whole input
    box = (4, 6, 30, 40)
    got = run(restore_area(model, rgb, box, TileConfig(tile=64, overlap=8, repair=False),
                           colours={(0, 0): 0.5}))
    want = resaturate(forward_image(model, desaturate(rgb, 0.5))[0], 0.5)
    np.testing.assert_allclose(got, want[4:34, 6:46], atol=1e-6)

    big = _photo(200, 260)
    box = (10, 10, 40, 40)  # under the first tiles only
    plain = run(restore_area(model, big, box, TILES))
    far = max(_places(200, 260))  # a tile nowhere near the area changes nothing there
    np.testing.assert_array_equal(run(restore_area(model, big, box, TILES,
                                                   colours={far: 0.5})), plain)
    near = run(restore_area(model, big, box, TILES, colours={(0, 0): 0.5}))
    assert np.abs(near - plain).max() > 1e-3  # the tile under the area ran desaturated

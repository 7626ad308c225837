"""drcnet.colour: matrix/TRC ICC profiles read and pixels converted to sRGB, checked against
LittleCMS (Pillow's ImageCms) on profiles written here, one per kind of tone curve."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest

from drcnet.colour import SRGB_D50, matrix_profile, to_srgb

# Display P3's and Adobe RGB's colorants adapted to D50 (as their profiles store them).
P3_D50 = np.array([[0.5151, 0.2919, 0.1572], [0.2412, 0.6922, 0.0666],
                   [-0.0011, 0.0419, 0.7841]])
ADOBE_D50 = np.array([[0.6097, 0.2053, 0.1492], [0.3111, 0.6257, 0.0632],
                      [0.0195, 0.0609, 0.7446]])
# ProPhoto (ROMM RGB): primaries far outside sRGB, so its matrix amplifies a curve's error
PROPHOTO_D50 = np.array([[0.7977, 0.1352, 0.0313], [0.2880, 0.7119, 0.0001],
                         [0.0, 0.0, 0.8249]])


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz(v) -> bytes:  # noqa: ANN001
    return b"XYZ " + bytes(4) + b"".join(_s15(x) for x in v)


def _para(fn: int, *params: float) -> bytes:
    return b"para" + bytes(4) + struct.pack(">H", fn) + bytes(2) + b"".join(
        _s15(p) for p in params)


def _curv(values: list[int]) -> bytes:
    data = b"curv" + bytes(4) + struct.pack(">I", len(values)) + b"".join(
        struct.pack(">H", v) for v in values)
    return data + bytes(-len(data) % 4)


def profile(matrix: np.ndarray, curve: bytes) -> bytes:
    """A version-4 RGB display profile with these colorants and one curve for all three."""
    desc = b"mluc" + bytes(4) + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(
        ">II", 8, 28) + "test".encode("utf-16-be")
    desc += bytes(-len(desc) % 4)
    tags = [(b"desc", desc), (b"wtpt", _xyz((0.9642, 1.0, 0.8249))),
            (b"cprt", desc),
            (b"rXYZ", _xyz(matrix[:, 0])), (b"gXYZ", _xyz(matrix[:, 1])),
            (b"bXYZ", _xyz(matrix[:, 2])),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        table += struct.pack(">4sII", sig, offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = struct.pack(">I", size) + b"lcms" + bytes([4, 0x30, 0, 0]) + b"mntrRGB XYZ "
    header += bytes(12) + b"acsp" + bytes(24) + struct.pack(">I", 0) + _s15(0.9642)
    header += _s15(1.0) + _s15(0.8249) + bytes(4) + bytes(16) + bytes(28)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


CURVES = {
    "gamma 2.2 (curv, one value)": _curv([563]),
    "gamma 1.8 (curv, one value)": _curv([461]),
    "table (curv, 1024 values)": _curv([round(65535 * (i / 1023) ** 1.8) for i in range(1024)]),
    "identity (curv, none)": _curv([]),
    "para 0 (gamma)": _para(0, 2.4),
    "para 1": _para(1, 2.2, 1.1, -0.1),
    "para 2": _para(2, 2.2, 1.1, -0.1, 0.05),
    "para 3 (the sRGB curve)": _para(3, 2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045),
    "para 4": _para(4, 2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045, 0.01, 0.002),
}


def _littlecms(u8: np.ndarray, icc: bytes) -> np.ndarray:
    ImageCms = pytest.importorskip("PIL.ImageCms")  # noqa: N806
    from PIL import Image

    src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    out = ImageCms.profileToProfile(Image.fromarray(u8), src, ImageCms.createProfile("sRGB"),
                                    renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    return np.asarray(out).astype(np.int32)


@pytest.mark.parametrize("name", sorted(CURVES))
@pytest.mark.parametrize("matrix", [P3_D50, ADOBE_D50, PROPHOTO_D50],
                         ids=["p3", "adobe", "prophoto"])
def test_conversion_agrees_with_littlecms(name: str, matrix: np.ndarray) -> None:
    icc = profile(matrix, CURVES[name])
    assert matrix_profile(icc) is not None
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
    u8[0, :, :] = np.arange(128)[:, None] * 2  # grays from black, where curves are steep
    u8[1, 0] = (163, 253, 195)  # 2 levels off LittleCMS with nearest-sample curves
    ours = np.round(to_srgb(u8.astype(np.float32) / 255, icc) * 255).astype(np.int32)
    ref = _littlecms(u8, icc)
    diff = np.abs(ours - ref)
    assert diff.max() <= 1, (name, diff.max())
    assert diff.mean() < 0.15, (name, diff.mean())


def test_wide_gamut_colours_move_and_srgb_stays() -> None:
    red = np.zeros((1, 1, 3), np.float32)
    red[..., 0] = 0.8
    p3 = profile(P3_D50, CURVES["para 3 (the sRGB curve)"])
    out = to_srgb(red, p3)
    assert out[0, 0, 0] > 0.85 and out[0, 0, 1] < 0.05  # P3 red is redder than sRGB's
    srgb = profile(SRGB_D50, CURVES["para 3 (the sRGB curve)"])
    assert matrix_profile(srgb).is_srgb()
    assert to_srgb(red, srgb) is red  # nothing to do: the same array


@pytest.mark.parametrize("icc", [
    None, b"", b"\x00" * 64,
    b"x" * 200,  # not a profile
])
def test_no_profile_or_garbage_leaves_pixels_alone(icc: bytes | None) -> None:
    rgb = np.random.default_rng(1).random((4, 5, 3)).astype(np.float32)
    assert matrix_profile(icc) is None
    assert to_srgb(rgb, icc) is rgb


def test_unreadable_profiles_are_none() -> None:
    good = profile(P3_D50, CURVES["para 0 (gamma)"])
    gray = good[:16] + b"GRAY" + good[20:]
    lab_pcs = good[:20] + b"Lab " + good[24:]
    no_curve = good.replace(b"rTRC", b"zTRC")  # a LUT-only profile has no matrix/TRC tags
    bad_para = profile(P3_D50, _para(9, 1.0))
    truncated = good[:-40]
    singular = profile(np.zeros((3, 3)), CURVES["para 0 (gamma)"])
    for icc in (gray, lab_pcs, no_curve, bad_para, truncated, singular):
        assert matrix_profile(icc) is None


def test_a_sheet_shows_the_photo_converted_and_other_layouts_keep_its_values(
        monkeypatch) -> None:  # noqa: ANN001
    import drcnet.compare as compare

    seen: dict[str, np.ndarray] = {}

    def rows(rgb, restored, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen["rgb"], seen["restored"] = rgb, restored
        return []

    monkeypatch.setattr(compare, "sheet_rows", rows)
    monkeypatch.setattr(compare, "summary_sheet", lambda *a, **k: np.zeros((2, 2, 3)))
    rng = np.random.default_rng(2)
    rgb = rng.random((20, 30, 3)).astype(np.float32)
    restored = rng.random((20, 30, 3)).astype(np.float32)
    p3 = profile(P3_D50, CURVES["para 3 (the sRGB curve)"])
    compare.compose("sheet", rgb, restored, icc=p3)
    np.testing.assert_array_equal(seen["rgb"], to_srgb(rgb, p3))
    np.testing.assert_array_equal(seen["restored"], to_srgb(restored, p3))
    assert np.abs(seen["rgb"] - rgb).max() > 0.05
    compare.compose("sheet", rgb, restored, icc=None)  # no profile: as before
    assert seen["rgb"] is rgb
    side = compare.compose("side", rgb, restored, labels=False, icc=p3)
    np.testing.assert_array_equal(side[:, :30], rgb)  # kept: the file carries the profile
    assert compare.carried_meta("side", p3, None)["icc"] == p3
    assert compare.carried_meta("sheet", p3, None)["icc"] is None


@pytest.mark.parametrize("change", ["black lifted", "blue colorant", "red and green swapped"])
def test_nearly_srgb_profiles_are_converted(change: str) -> None:
    """Profiles a little off sRGB are converted (the second review found each one left as
    it was, 3 to 11 levels off LittleCMS)."""
    matrix, curve = SRGB_D50.copy(), CURVES["para 3 (the sRGB curve)"]
    if change == "black lifted":
        curve = _para(4, 2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045, 0.0009, 0.0009)
    elif change == "blue colorant":
        matrix[:, 2] += 0.0019
    else:
        matrix[1, 0] += 0.0019
        matrix[1, 1] -= 0.0019
    icc = profile(matrix, curve)
    assert not matrix_profile(icc).is_srgb()
    u8 = np.random.default_rng(4).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    u8[0] = 0
    ours = np.round(to_srgb(u8.astype(np.float32) / 255, icc) * 255).astype(np.int32)
    assert np.abs(ours - _littlecms(u8, icc)).max() <= 1


def test_a_littlecms_srgb_profile_counts_as_srgb() -> None:
    ImageCms = pytest.importorskip("PIL.ImageCms")  # noqa: N806
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert matrix_profile(icc).is_srgb()


def test_broken_curves_raise_no_warnings() -> None:
    import warnings

    icc = profile(P3_D50, _para(0, -1.0))  # 0 ** -1: a division by zero
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert matrix_profile(icc) is None

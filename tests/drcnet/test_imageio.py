from __future__ import annotations

import functools
import os
import struct
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from drcnet import imageio
from drcnet.errors import ImageReadError, ImageTooLargeError, ImageWriteError, UsageError
from drcnet.imageio import read_image, read_png_text, to_uint8, write_image


def _rand_rgb(h: int = 24, w: int = 32, levels: int = 256, seed: int = 0) -> np.ndarray:
    """Random RGB whose values sit exactly on the ``levels`` quantization grid."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, levels, (h, w, 3)) / (levels - 1)).astype(np.float32)


def _cv2_write(path: Path, img: np.ndarray, params: list[int] | None = None) -> Path:
    ok, buf = cv2.imencode(path.suffix, img, params or [])
    assert ok
    buf.tofile(path)
    return path


def _exif_app1(orientation: int) -> bytes:
    """A JPEG APP1 segment holding a little-endian EXIF IFD0 with only the Orientation tag."""
    tiff = b"II*\x00" + struct.pack("<IH", 8, 1)
    tiff += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0)
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes, int]]:
    out, i = [], 8
    while i < len(data):
        (n,) = struct.unpack(">I", data[i : i + 4])
        kind, payload = data[i + 4 : i + 8], data[i + 8 : i + 8 + n]
        (crc,) = struct.unpack(">I", data[i + 8 + n : i + 12 + n])
        out.append((kind, payload, crc))
        i += 12 + n
    return out


# --------------------------------------------------------------------------- round trips


def test_png_8bit_round_trip(tmp_path: Path) -> None:
    rgb = _rand_rgb()
    out = write_image(tmp_path / "a.png", rgb)
    img = read_image(out)
    assert img.bit_depth == 8 and not img.gray and img.alpha is None
    assert img.rgb.dtype == np.float32 and img.rgb.shape == (24, 32, 3)
    np.testing.assert_allclose(img.rgb, rgb, atol=1e-6)
    assert img.path == out


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16bit_round_trip(tmp_path: Path, ext: str) -> None:
    rgb = _rand_rgb(levels=65536)
    out = write_image(tmp_path / f"a{ext}", rgb, bit_depth=16)
    assert cv2.imdecode(np.fromfile(out, np.uint8), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    img = read_image(out)
    assert img.bit_depth == 16
    # 16-bit precision survives: far finer than one 8-bit step (1/255).
    np.testing.assert_allclose(img.rgb, rgb, atol=1e-6)
    assert np.abs(img.rgb - np.round(img.rgb * 255) / 255).max() > 1e-3


def test_16bit_request_falls_back_to_8bit_for_jpeg(tmp_path: Path) -> None:
    out = write_image(tmp_path / "a.jpg", _rand_rgb(), bit_depth=16)
    assert read_image(out).bit_depth == 8


def test_rgb_order(tmp_path: Path) -> None:
    red = np.zeros((12, 12, 3), np.float32)
    red[..., 0] = 1.0
    out = write_image(tmp_path / "red.png", red)
    bgr = cv2.imdecode(np.fromfile(out, np.uint8), cv2.IMREAD_UNCHANGED)
    assert bgr[..., 2].min() == 255 and bgr[..., :2].max() == 0
    blue_bgr = np.zeros((12, 12, 3), np.uint8)
    blue_bgr[..., 0] = 255
    img = read_image(_cv2_write(tmp_path / "blue.png", blue_bgr))
    assert img.rgb[..., 2].min() == 1.0 and img.rgb[..., :2].max() == 0.0


@pytest.mark.parametrize("dtype, depth", [(np.uint8, 8), (np.uint16, 16)])
def test_grayscale(tmp_path: Path, dtype: type, depth: int) -> None:
    gray = np.arange(20 * 30, dtype=dtype).reshape(20, 30)
    img = read_image(_cv2_write(tmp_path / "g.png", gray))
    assert img.gray and img.bit_depth == depth and img.rgb.shape == (20, 30, 3)
    assert np.array_equal(img.rgb[..., 0], img.rgb[..., 2])
    np.testing.assert_allclose(img.rgb[..., 1], gray / np.iinfo(dtype).max, atol=1e-6)


@pytest.mark.parametrize("ext", [".png", ".tif", ".webp"])
def test_alpha_preserved(tmp_path: Path, ext: str) -> None:
    rgb = _rand_rgb()
    alpha = _rand_rgb(seed=1)[..., 0]
    img = read_image(write_image(tmp_path / f"a{ext}", rgb, alpha=alpha))
    assert img.alpha is not None and img.alpha.shape == (24, 32)
    np.testing.assert_allclose(img.alpha, alpha, atol=1e-6)
    # WebP is lossless but libwebp may zero the colour under fully transparent pixels.
    visible = alpha > 0 if ext == ".webp" else np.ones_like(alpha, bool)
    np.testing.assert_allclose(img.rgb[visible], rgb[visible], atol=1e-6)


def test_straight_alpha_from_tiffs_that_other_programs_write(tmp_path: Path) -> None:
    """Pillow, GIMP and Photoshop mark RGBA TIFFs' alpha unassociated (ExtraSamples 2), which
    libtiff premultiplies on 8-bit reads; associated alpha (1) is stored premultiplied."""
    pil = pytest.importorskip("PIL.Image")
    rgba = np.zeros((6, 8, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2] = 40, 217, 128
    rgba[..., 3] = np.linspace(1, 255, 8).astype(np.uint8)
    pil.fromarray(rgba).save(tmp_path / "straight.tif")
    img = read_image(tmp_path / "straight.tif")
    visible = rgba[..., 3] >= 32  # low alpha loses precision to the premultiplication
    np.testing.assert_allclose(img.rgb[visible] * 255, rgba[..., :3][visible], atol=4)
    np.testing.assert_allclose(img.alpha * 255, rgba[..., 3], atol=0.5)
    tifffile = pytest.importorskip("tifffile")
    for depth in (np.uint8, np.uint16):
        top = np.iinfo(depth).max
        straight = rgba.astype(np.float64) / 255
        stored = straight.copy()
        stored[..., :3] *= straight[..., 3:]  # associated: the file holds colour × alpha
        tifffile.imwrite(tmp_path / "assoc.tif", np.rint(stored * top).astype(depth),
                         photometric="rgb", extrasamples=[1])
        img = read_image(tmp_path / "assoc.tif")
        np.testing.assert_allclose(img.rgb[visible], straight[..., :3][visible], atol=4 / 255)
        tifffile.imwrite(tmp_path / "unassoc.tif", np.rint(straight * top).astype(depth),
                         photometric="rgb", extrasamples=[2])
        img = read_image(tmp_path / "unassoc.tif")
        np.testing.assert_allclose(img.rgb[visible], straight[..., :3][visible], atol=4 / 255)


def test_gray_pngs_with_transparency(tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    gray = np.tile(np.arange(0, 240, 30, dtype=np.uint8), (5, 1))
    pil.fromarray(gray, "L").save(tmp_path / "key.png", transparency=60)  # a tRNS key
    img = read_image(tmp_path / "key.png")
    assert img.gray and img.alpha is not None
    np.testing.assert_array_equal(img.alpha == 0, gray == 60)
    la = np.dstack([gray, np.full_like(gray, 99)])
    pil.fromarray(la, "LA").save(tmp_path / "la.png")
    img = read_image(tmp_path / "la.png")
    assert img.gray and img.rgb.shape == (5, 8, 3)
    np.testing.assert_allclose(img.rgb[..., 0] * 255, gray, atol=1e-3)
    np.testing.assert_allclose(img.alpha * 255, 99, atol=1e-3)


def test_bmp_keeps_alpha(tmp_path: Path) -> None:
    rgb, alpha = _rand_rgb(), _rand_rgb(seed=1)[..., 0]
    img = read_image(write_image(tmp_path / "a.bmp", rgb, alpha=alpha))
    np.testing.assert_allclose(img.alpha, alpha, atol=1e-6)
    np.testing.assert_allclose(img.rgb, rgb, atol=1e-6)


def test_float_tiffs_outside_zero_to_one_are_refused_not_clipped(tmp_path: Path) -> None:
    x = _rand_rgb().astype(np.float32)
    ok = _cv2_write(tmp_path / "ok.tif", x[..., ::-1] * (1 + 1e-4))  # rounding: read, clipped
    np.testing.assert_allclose(read_image(ok).rgb, np.clip(x * (1 + 1e-4), 0, 1), atol=1e-6)
    big = _cv2_write(tmp_path / "big.tif", x[..., ::-1] * 255)
    with pytest.raises(ImageReadError, match="from 0 to 255.*from 0 to 1"):
        read_image(big)


@pytest.mark.parametrize("ext", [".png", ".webp", ".tif"])
def test_animations_and_multi_page_tiffs_say_how_many_frames(tmp_path: Path, ext: str) -> None:
    pil = pytest.importorskip("PIL.Image")
    frames = [pil.fromarray((_rand_rgb(seed=k) * 255).astype(np.uint8)) for k in range(3)]
    path = tmp_path / f"anim{ext}"
    frames[0].save(path, save_all=True, append_images=frames[1:], lossless=True)
    img = read_image(path)
    assert img.frames == 3 and img.rgb.shape == (24, 32, 3)
    np.testing.assert_allclose(img.rgb * 255, np.asarray(frames[0]), atol=1e-3)
    what = "pages" if ext == ".tif" else "frames"
    assert imageio.frames_note(img) == f"only the first of its 3 {what} is restored"
    frames[0].save(tmp_path / f"still{ext}")
    still = read_image(tmp_path / f"still{ext}")
    assert still.frames == 1 and imageio.frames_note(still) == ""


def test_counting_tiff_pages_stops_on_loops_and_crafted_chains() -> None:
    ok, enc = cv2.imencode(".tif", np.zeros((8, 8, 3), np.uint8))
    head = bytearray(enc.tobytes())
    (ifd0,) = struct.unpack("<I", head[4:8])
    (count0,) = struct.unpack("<H", head[ifd0 : ifd0 + 2])
    link = ifd0 + 2 + 12 * count0  # where IFD0 names the next IFD
    base = (len(head) + 3) & ~3
    head += bytes(base - len(head))
    # Ten more IFDs of 100 empty entries each, chained one after another.
    chain = bytearray()
    for i in range(10):
        nxt = 0 if i == 9 else base + (i + 1) * (2 + 12 * 100 + 4)
        chain += struct.pack("<H", 100) + bytes(12 * 100) + struct.pack("<I", nxt)
    raw = bytearray(head + chain)
    raw[link : link + 4] = struct.pack("<I", base)
    assert imageio._tiff_pages(bytes(raw)) == 11
    assert imageio._tiff_pages(bytes(raw), budget=count0 + 450) == 5  # stops within budget
    raw[link : link + 4] = struct.pack("<I", ifd0)  # IFD0 names itself next: a loop
    assert imageio._tiff_pages(bytes(raw)) == 1
    raw[link : link + 4] = struct.pack("<I", len(raw) + 100)  # names a place past the end
    assert imageio._tiff_pages(bytes(raw)) == 1


def test_a_transparency_key_no_pixel_has_adds_no_alpha(tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    pil.fromarray(np.full((4, 6), 100, np.uint8), "L").save(tmp_path / "k.png", transparency=7)
    assert read_image(tmp_path / "k.png").alpha is None


def test_jpeg_write_drops_alpha(tmp_path: Path) -> None:
    out = write_image(tmp_path / "a.jpg", _rand_rgb(), alpha=np.ones((24, 32), np.float32))
    assert cv2.imdecode(np.fromfile(out, np.uint8), cv2.IMREAD_UNCHANGED).shape == (24, 32, 3)
    assert read_image(out).alpha is None


def test_non_ascii_path(tmp_path: Path) -> None:
    path = tmp_path / "фото 写真.png"
    rgb = _rand_rgb()
    write_image(path, rgb)
    assert path.exists() and path.name in os.listdir(tmp_path)
    np.testing.assert_allclose(read_image(path).rgb, rgb, atol=1e-6)


def test_write_clips_out_of_range(tmp_path: Path) -> None:
    rgb = np.full((12, 12, 3), 1.5, np.float32)
    rgb[0, 0] = -0.5
    img = read_image(write_image(tmp_path / "c.png", rgb))
    assert img.rgb[0, 0].max() == 0.0 and img.rgb[1:].min() == 1.0


def test_to_uint8_rounds_and_clips() -> None:
    x = np.array([0.0, 0.6 / 255, 0.4 / 255, 1.2, -0.1, np.nan], np.float32)
    assert to_uint8(x).tolist() == [0, 1, 0, 255, 0, 0]
    assert to_uint8(x).dtype == np.uint8


# --------------------------------------------------------------------------- EXIF orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied(tmp_path: Path, orientation: int) -> None:
    bgr = np.zeros((16, 40, 3), np.uint8)
    bgr[:8, :8] = (0, 0, 255)  # a red block in the stored top-left corner
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 100])
    assert ok
    data = buf.tobytes()
    path = tmp_path / "o.jpg"
    path.write_bytes(data[:2] + _exif_app1(orientation) + data[2:])

    img = read_image(path)
    expected_shape = (16, 40, 3) if orientation <= 4 else (40, 16, 3)
    assert img.rgb.shape == expected_shape
    # OpenCV's own EXIF handling (IMREAD_COLOR) is the reference.
    ref = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)[..., ::-1] / 255.0
    np.testing.assert_allclose(img.rgb, ref, atol=1e-6)
    # The red block moves to the corner the orientation says.
    # (1, 5): top-left, (2, 6): top-right, (3, 7): bottom-right, (4, 8): bottom-left.
    corner = ((0, 0), (0, -1), (-1, -1), (-1, 0))[(orientation - 1) % 4]
    assert img.rgb[corner][0] > 0.9 and img.rgb[corner][1] < 0.1


# --------------------------------------------------------------------------- size limit


@pytest.mark.parametrize(
    "ext, params",
    [
        (".png", []),
        (".jpg", []),
        (".bmp", []),
        (".tif", []),
        (".webp", []),  # lossless (VP8L)
        (".webp", [cv2.IMWRITE_WEBP_QUALITY, 80]),  # lossy (VP8)
    ],
)
def test_oversized_refused_before_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ext: str, params: list[int]
) -> None:
    path = _cv2_write(tmp_path / f"big{ext}", np.zeros((30, 40, 3), np.uint8), params)

    def no_decode(*args: object, **kwargs: object) -> None:
        pytest.fail("cv2.imdecode was called for an image over the limit")

    monkeypatch.setattr(cv2, "imdecode", no_decode)
    with pytest.raises(ImageReadError) as e:
        read_image(path, max_pixels=1000)
    assert path.name in str(e.value) and "40×30" in str(e.value)
    assert "(1,200 pixels), over the 1,000-pixel limit" in str(e.value)
    assert isinstance(e.value, ImageTooLargeError)  # the CLI names its --max-pixels for it


def test_webp_with_alpha_header_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bgra = np.zeros((30, 40, 4), np.uint8)
    path = _cv2_write(tmp_path / "a.webp", bgra, [cv2.IMWRITE_WEBP_QUALITY, 80])  # VP8X
    monkeypatch.setattr(cv2, "imdecode", lambda *a: pytest.fail("decoded"))
    with pytest.raises(ImageReadError, match="40×30"):
        read_image(path, max_pixels=1000)


def test_unparsed_format_checked_after_decode(tmp_path: Path) -> None:
    path = _cv2_write(tmp_path / "big.ppm", np.zeros((30, 40, 3), np.uint8))
    with pytest.raises(ImageReadError, match="40×30"):
        read_image(path, max_pixels=1000)
    assert read_image(path, max_pixels=None).rgb.shape == (30, 40, 3)


def test_the_pixel_limit_is_said_in_numbers_that_differ() -> None:
    """A limit under a megapixel had read "7×5 (0.0 MP), over the 1e-05 MP limit"."""
    with pytest.raises(ImageTooLargeError, match=r"is 7×5 \(35 pixels\), over the 10-pixel "
                                                 r"limit\.$"):
        imageio._check_pixels(Path("t.png"), 7, 5, 10)
    with pytest.raises(ImageTooLargeError, match=r"\(120\.0 MP\), over the 100 MP limit"):
        imageio._check_pixels(Path("t.png"), 12000, 10000, 100_000_000)
    with pytest.raises(ImageTooLargeError,  # 1.5 MP over a 1.5 MP limit: the pixels say it
                       match=r"\(1,500,100 pixels\), over the 1,500,000-pixel limit"):
        imageio._check_pixels(Path("t.png"), 1500100, 1, 1_500_000)


@pytest.mark.parametrize("ext, params", [(".gif", None), (".pgm", None), (".ppm", None),
                                         (".pam", None), (".pfm", None), (".hdr", None),
                                         (".ras", None)])
def test_formats_studio_reads_but_does_not_write_have_a_signature(
        tmp_path: Path, ext: str, params: list[int] | None) -> None:
    """A folder's file without an image extension is listed by these first bytes (and the
    GUI's Restore Files leaves out what has none): a GIF or PGM had been left out."""
    img = np.full((12, 16, 3), 100, np.uint8)
    if ext == ".pgm":
        img = img[..., 0]
    elif ext in (".pfm", ".hdr"):
        img = img.astype(np.float32) / 255
    path = _cv2_write(tmp_path / f"x{ext}", img, params)
    noext = tmp_path / "x"
    noext.write_bytes(path.read_bytes())
    assert imageio.has_image_signature(noext)
    assert read_image(noext).rgb.shape == (12, 16, 3)  # what the signature promises
    for i, text in enumerate(("Plain text", "P6", "P1 priorities", "P7 notes")):
        (tmp_path / f"{i}.txt").write_text(text)  # a Netpbm magic alone is not enough
        assert not imageio.has_image_signature(tmp_path / f"{i}.txt"), text


def test_under_limit_reads(tmp_path: Path) -> None:
    path = _cv2_write(tmp_path / "ok.png", np.zeros((30, 40, 3), np.uint8))
    assert read_image(path, max_pixels=1200).rgb.shape == (30, 40, 3)


# --------------------------------------------------------------------------- read failures


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    good = _cv2_write(tmp_path / "good.png", np.zeros((30, 40, 3), np.uint8)).read_bytes()
    files = {
        "missing": tmp_path / "missing.png",
        "empty": tmp_path / "empty.png",
        "corrupt": tmp_path / "corrupt.png",
        "truncated": tmp_path / "truncated.png",
        "directory": tmp_path / "folder.png",
        "text": tmp_path / "notes.txt",
    }
    files["empty"].write_bytes(b"")
    files["corrupt"].write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20)
    files["truncated"].write_bytes(good[:40])
    files["directory"].mkdir()
    files["text"].write_text("just some notes\n")
    return files


@pytest.mark.parametrize("case", ["missing", "empty", "corrupt", "truncated", "directory", "text"])
def test_read_failures_name_the_file(tmp_path: Path, case: str) -> None:
    path = _bad_files(tmp_path)[case]
    with pytest.raises(ImageReadError) as e:
        read_image(path)
    msg = str(e.value)
    assert path.name in msg
    assert "\n" not in msg and msg.endswith(".")


# --------------------------------------------------------------------------- write safety


def test_refuses_to_overwrite_input(tmp_path: Path) -> None:
    src = write_image(tmp_path / "in.png", _rand_rgb())
    before = src.read_bytes()
    (tmp_path / "sub").mkdir()
    for target in (src, tmp_path / "sub" / ".." / "in.png"):
        with pytest.raises(ImageWriteError, match="is an input file"):
            write_image(target, _rand_rgb(seed=3), inputs=[src])
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "sub"]


def test_refuses_to_overwrite_input_through_symlink(tmp_path: Path) -> None:
    src = write_image(tmp_path / "in.png", _rand_rgb())
    before = src.read_bytes()
    link = tmp_path / "link.png"
    try:
        link.symlink_to(src)
    except OSError:
        pytest.skip("symlinks not available")
    with pytest.raises(ImageWriteError, match="is an input file"):
        write_image(link, _rand_rgb(seed=3), inputs=[src])
    assert src.read_bytes() == before


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageWriteError) as e:
        write_image(tmp_path / "nope" / "out.png", _rand_rgb())
    assert "out.png" in str(e.value) and "does not exist" in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_maps_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(p: Path) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(imageio, "make_temp", denied)
    with pytest.raises(ImageWriteError, match="not writable"):
        write_image(tmp_path / "out.png", _rand_rgb())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_unwritable_folder_real(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ImageWriteError, match="out.png"):
            write_image(folder / "out.png", _rand_rgb())
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_failed_replace_leaves_no_part_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = write_image(tmp_path / "out.png", _rand_rgb())
    before = out.read_bytes()

    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(imageio.os, "replace", fail)
    with pytest.raises(ImageWriteError, match="out.png"):
        write_image(out, _rand_rgb(seed=5))
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]
    assert out.read_bytes() == before


def test_a_failed_write_on_a_drive_without_modes_leaves_no_part_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """vfat and exFAT drives on Linux refuse a mode change (EPERM): the cleanup had changed
    the temp file's mode before removing it, so the refusal left the .part file behind."""
    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    def no_modes(path: object, mode: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(imageio.os, "fsync", full)
    monkeypatch.setattr(imageio.os, "chmod", no_modes)
    with pytest.raises(ImageWriteError, match="No space left"):
        write_image(tmp_path / "out.png", _rand_rgb())
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_leaves_only_output(tmp_path: Path) -> None:
    out = write_image(tmp_path / "out.png", _rand_rgb())
    write_image(out, _rand_rgb(seed=7))  # replacing a non-input output is fine
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]
    assert not list(tmp_path.glob("*.part"))
    np.testing.assert_allclose(read_image(out).rgb, _rand_rgb(seed=7), atol=1e-6)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_new_file_respects_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        out = write_image(tmp_path / "out.png", _rand_rgb())
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("name", ["out.gif", "out.xyz", "out"])
def test_unknown_extension(tmp_path: Path, name: str) -> None:
    with pytest.raises(ImageWriteError) as e:
        write_image(tmp_path / name, _rand_rgb())
    assert name in str(e.value) and ".png" in str(e.value)
    assert list(tmp_path.iterdir()) == []
    # Wrong in the name itself, whatever the disk holds: the CLI's exit status 2.
    assert isinstance(e.value, UsageError)


def test_a_folder_named_as_an_image_is_a_disk_error_not_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(ImageWriteError, match="it is a folder") as e:
        imageio.check_image_type(tmp_path / "dir.png")
    assert not isinstance(e.value, UsageError)  # it depends on the disk: status 1
    with pytest.raises(UsageError, match="it is a folder"):  # the slash says it: status 2
        imageio.check_image_type(str(tmp_path / "new.png") + "/")


def test_bad_array_shape(tmp_path: Path) -> None:
    """A call wrong in itself is a UsageError (a ValueError still), not a plain
    ValueError, which the command line takes for a bug."""
    with pytest.raises(UsageError, match="H×W×3"):
        write_image(tmp_path / "out.png", np.zeros((4, 4)))
    with pytest.raises(UsageError, match="alpha"):
        write_image(tmp_path / "out.png", np.zeros((4, 4, 3)), alpha=np.zeros((4, 5)))
    with pytest.raises(UsageError, match="bit_depth must be 8 or 16, got 12"):
        write_image(tmp_path / "out.png", np.zeros((4, 4, 3)), bit_depth=12)
    with pytest.raises(UsageError, match="PNG text key"):
        write_image(tmp_path / "out.png", np.zeros((4, 4, 3)), metadata={"": "x"})
    assert issubclass(UsageError, ValueError)  # `except ValueError` callers still catch it
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- PNG metadata


def test_png_text_round_trip(tmp_path: Path) -> None:
    meta = {"Software": "DRCNet Studio", "drcnet.t": "0.75", "note": "naïve café", "title": "写真"}
    out = write_image(tmp_path / "m.png", _rand_rgb(), metadata=meta)
    assert read_png_text(out) == meta
    chunks = _png_chunks(out.read_bytes())
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    assert sum(kind == b"tEXt" for kind, _, _ in chunks) == 3
    for kind, payload, crc in chunks:
        assert zlib.crc32(kind + payload) & 0xFFFFFFFF == crc, kind
    np.testing.assert_allclose(read_image(out).rgb, _rand_rgb(), atol=1e-6)


def test_metadata_ignored_for_jpeg(tmp_path: Path) -> None:
    out = write_image(tmp_path / "m.jpg", _rand_rgb(), metadata={"k": "v"})
    assert read_image(out).rgb.shape == (24, 32, 3)


def test_read_png_text_rejects_non_png(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("hello")
    with pytest.raises(ImageReadError, match="a.txt"):
        read_png_text(path)


@pytest.mark.parametrize("depth", [8, 16])
def test_write_gray_keeps_one_channel(tmp_path: Path, depth: int) -> None:
    rng = np.random.default_rng(0)
    rgb = rng.random((6, 7, 3), dtype=np.float32)
    path = write_image(tmp_path / "g.png", rgb, bit_depth=depth, gray=True)
    back = read_image(path)
    assert back.gray and back.bit_depth == depth
    np.testing.assert_allclose(back.rgb[..., 0], rgb.mean(axis=2), atol=0.5 / 255)
    alpha = np.linspace(0, 1, 42, dtype=np.float32).reshape(6, 7)
    with_alpha = read_image(write_image(tmp_path / "ga.png", rgb, alpha=alpha, gray=True))
    assert with_alpha.alpha is not None
    assert np.array_equal(with_alpha.rgb[..., 0], with_alpha.rgb[..., 2])


def test_write_under_a_file_says_it_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "big.png").write_bytes(b"")
    with pytest.raises(ImageWriteError, match="big.png is a file, not a folder"):
        write_image(tmp_path / "big.png" / "sub.png", np.zeros((4, 4, 3), np.float32))


def test_truncated_png_is_named_without_libpng_noise(tmp_path: Path, capfd) -> None:  # noqa: ANN001
    whole = tmp_path / "whole.png"
    write_image(whole, np.random.default_rng(0).random((64, 64, 3), dtype=np.float32))
    raw = whole.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(raw[: len(raw) // 2])
    capfd.readouterr()
    with pytest.raises(ImageReadError, match="ends before its last chunk"):
        read_image(cut)
    assert "libpng" not in capfd.readouterr().err
    # Bytes after the last chunk do not make a PNG truncated.
    tail = tmp_path / "tail.png"
    tail.write_bytes(raw + b"trailing bytes")
    assert read_image(tail).rgb.shape == (64, 64, 3)


# --------------------------------------------------------------------------- ICC and EXIF


def _pillow_photo(path: Path, icc: bytes, orientation: int = 6) -> Path:
    """A 30×40 photo written by Pillow (not by this module) with a colour profile and EXIF
    (Orientation and camera make; Pillow writes big-endian EXIF)."""
    pil = pytest.importorskip("PIL.Image")
    exif = pil.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    rgb = (_rand_rgb(30, 40) * 255).astype(np.uint8)
    pil.fromarray(rgb).save(path, icc_profile=icc, exif=exif.tobytes(), quality=95)
    return path


@functools.cache
def _srgb_profile() -> bytes:
    """One profile for the whole run: Pillow stamps each new one with the time, so two made a
    second apart differ (a test comparing a written profile with a fresh one failed so)."""
    cms = pytest.importorskip("PIL.ImageCms")
    return cms.ImageCmsProfile(cms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize("src_ext", [".jpg", ".png", ".webp"])
@pytest.mark.parametrize("out_ext", [".jpg", ".png", ".webp", ".tif"])
def test_colour_profile_and_exif_are_carried_over(tmp_path: Path, src_ext: str,
                                                  out_ext: str) -> None:
    pil = pytest.importorskip("PIL.Image")
    icc = _srgb_profile()
    img = read_image(_pillow_photo(tmp_path / f"in{src_ext}", icc))
    assert img.icc == icc and img.exif is not None
    # Orientation 6 applied, for PNG's eXIf too; not for WebP, as browsers and libwebp
    # show it unturned.
    shape = (30, 40, 3) if src_ext == ".webp" else (40, 30, 3)
    assert img.rgb.shape == shape
    out = write_image(tmp_path / f"out{out_ext}", img.rgb, icc=img.icc, exif=img.exif)
    with pil.open(out) as back:
        assert back.info.get("icc_profile") == icc
        exif = back.getexif()
        assert back.size == shape[1::-1]
        assert exif.get(0x0112) == 1  # shown as written: as the input was shown
        assert exif.get(0x010F) == "TestCam"
    again = read_image(out)
    assert again.rgb.shape == shape and again.icc == icc
    plain = read_image(write_image(tmp_path / f"plain{out_ext}", img.rgb))
    assert plain.icc is None and plain.exif is None  # nothing unless asked


def test_a_large_profile_spans_several_jpeg_segments(tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    icc = _srgb_profile()
    big = struct.pack(">I", len(icc) + 150_000) + icc[4:] + bytes(150_000)  # 3 segments
    out = write_image(tmp_path / "big.jpg", _rand_rgb(), icc=big)
    assert out.read_bytes().count(b"ICC_PROFILE\x00") == 3
    with pil.open(out) as back:
        assert back.info.get("icc_profile") == big
    assert read_image(out).icc == big


def test_a_profile_of_the_wrong_colour_space_is_left_out(tmp_path: Path) -> None:
    icc = _srgb_profile()
    gray = read_image(write_image(tmp_path / "g.png", _rand_rgb(), gray=True, icc=icc))
    assert gray.gray and gray.icc is None  # an RGB profile on a one-channel PNG is invalid
    gray_icc = icc[:16] + b"GRAY" + icc[20:]
    assert read_image(write_image(tmp_path / "g2.png", _rand_rgb(), gray=True,
                                  icc=gray_icc)).icc == gray_icc


def test_a_corrupt_profile_or_exif_never_stops_a_photo_from_opening(tmp_path: Path) -> None:
    data = _cv2_write(tmp_path / "x.png", (_rand_rgb() * 255).astype(np.uint8)).read_bytes()
    ihdr_end = 8 + 8 + 13 + 4
    bad = (imageio._png_chunk(b"iCCP", b"p\x00\x00not zlib")
           + imageio._png_chunk(b"eXIf", b"garbage"))
    path = tmp_path / "bad.png"
    path.write_bytes(data[:ihdr_end] + bad + data[ihdr_end:])
    img = read_image(path)
    assert img.rgb.shape == (24, 32, 3) and img.icc is None and img.exif is None
    out = write_image(tmp_path / "o.jpg", img.rgb, exif=b"garbage")  # unparsable: not written
    assert b"Exif\x00\x00" not in out.read_bytes()


def test_a_padded_profile_is_read_and_a_truncated_one_is_not(tmp_path: Path) -> None:
    """A profile stored with bytes after its declared size had been dropped (LittleCMS, Qt
    and Pillow read it); one shorter than its declared size is still refused."""
    icc = _srgb_profile()
    for stored, kept in ((icc + bytes(4), icc), (icc[:-20], None)):
        path = write_image(tmp_path / "p.png", _rand_rgb())
        data = path.read_bytes()
        chunk = imageio._png_chunk(b"iCCP", b"p\x00\x00" + zlib.compress(stored))
        path.write_bytes(data[:33] + chunk + data[33:])  # after IHDR
        assert read_image(path).icc == kept


SECRET = 0x0BADF00D  # a GPS latitude numerator that must not survive in any output


def _camera_exif(order: str, orientation_type: int = 3) -> bytes:
    """EXIF as a camera writes it, in byte order ``order`` ("II" or "MM"): IFD0 with Make,
    Orientation 6 (as SHORT, type 3, or LONG, type 4) and a GPS pointer; a GPS IFD with a
    latitude (three RATIONALs stored out of line); IFD1, the thumbnail's."""
    o = "<" if order == "II" else ">"
    ifd0, n0 = 8, 3
    gps = ifd0 + 2 + 12 * n0 + 4
    lat = gps + 2 + 12 + 4
    ifd1 = lat + 24

    def entry(tag: int, typ: int, n: int, value: bytes) -> bytes:
        return struct.pack(o + "HHI", tag, typ, n) + value

    orient = (struct.pack(o + "HH", 6, 0) if orientation_type == 3
              else struct.pack(o + "I", 6))
    b = (b"II*\x00" if order == "II" else b"MM\x00*") + struct.pack(o + "I", ifd0)
    b += struct.pack(o + "H", n0) + entry(0x010F, 2, 4, b"Cam\x00")
    b += entry(0x0112, orientation_type, 1, orient)
    b += entry(0x8825, 4, 1, struct.pack(o + "I", gps)) + struct.pack(o + "I", ifd1)
    b += struct.pack(o + "H", 1) + entry(0x0002, 5, 3, struct.pack(o + "I", lat))
    b += struct.pack(o + "I", 0)
    b += struct.pack(o + "6I", SECRET, 1, 30, 1, 1234, 100)
    b += struct.pack(o + "H", 0) + struct.pack(o + "I", 0)  # IFD1 (no entries)
    return b


@pytest.mark.parametrize("order", ["II", "MM"])
@pytest.mark.parametrize("orientation_type", [3, 4])
def test_exif_is_written_upright_without_thumbnail_or_location(tmp_path: Path, order: str,
                                                               orientation_type: int) -> None:
    exif = _camera_exif(order, orientation_type)
    o = "<" if order == "II" else ">"
    secret = struct.pack(o + "I", SECRET)
    assert imageio._exif_orientation(exif) == 6 and secret in exif
    bgr = np.zeros((16, 40, 3), np.uint8)
    ok, buf = cv2.imencode(".jpg", bgr)
    data = buf.tobytes()
    src = tmp_path / "cam.jpg"
    src.write_bytes(data[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 8)
                    + b"Exif\x00\x00" + exif + data[2:])
    img = read_image(src)
    assert img.rgb.shape == (40, 16, 3)  # turned upright on reading, SHORT or LONG
    for ext in (".jpg", ".png", ".webp"):
        out = read_image(write_image(tmp_path / f"out{ext}", img.rgb, exif=img.exif))
        assert out.rgb.shape == (40, 16, 3)  # not turned a second time
        written = out.exif
        assert written is not None and len(written) == len(exif)
        assert imageio._exif_orientation(written) == 1
        tags = imageio._tiff_ifd0(written)
        assert 0x8825 not in tags and 0x010F not in tags  # Make is ASCII: not in this map
        assert b"Cam\x00" in written  # the camera record stays
        assert secret not in written  # the location is gone, not just unlinked
        (count,) = struct.unpack(o + "H", written[8:10])
        assert count == 2 and written[10 + 12 * count : 14 + 12 * count] == bytes(4)


def _exif_with_sub_ifd(order: str) -> bytes:
    """EXIF in byte order ``order`` with IFD0 (Make, Model, XResolution, an EXIF pointer) and
    an EXIF sub-IFD (ExposureTime 1/250, ISO 400, DateTimeOriginal, a MakerNote)."""
    o = "<" if order == "II" else ">"

    def entry(tag: int, typ: int, n: int, value: bytes) -> bytes:
        return struct.pack(o + "HHI", tag, typ, n) + value

    date = b"2024:05:06 07:08:09\x00"  # 20 bytes
    ifd0 = 8
    model = ifd0 + 2 + 12 * 4 + 4
    xres = model + 8
    sub = xres + 8
    values = sub + 2 + 12 * 4 + 4
    b = (b"II*\x00" if order == "II" else b"MM\x00*") + struct.pack(o + "I", ifd0)
    b += struct.pack(o + "H", 4) + entry(0x010F, 2, 4, b"Cam\x00")
    b += entry(0x0110, 2, 8, struct.pack(o + "I", model))
    b += entry(0x011A, 5, 1, struct.pack(o + "I", xres))
    b += entry(0x8769, 4, 1, struct.pack(o + "I", sub)) + struct.pack(o + "I", 0)
    b += b"Model 7\x00" + struct.pack(o + "II", 300, 1)
    b += struct.pack(o + "H", 4)
    b += entry(0x829A, 5, 1, struct.pack(o + "I", values))
    b += entry(0x8827, 3, 1, struct.pack(o + "HH", 400, 0))
    b += entry(0x9003, 2, 20, struct.pack(o + "I", values + 8))
    b += entry(0x927C, 7, 4, b"\x01\x02\x03\x04") + struct.pack(o + "I", 0)
    b += struct.pack(o + "II", 1, 250) + date
    return b


@pytest.mark.parametrize("order", ["II", "MM"])
def test_a_tiff_output_carries_the_camera_record(tmp_path: Path, order: str) -> None:
    # TIFF outputs carried no EXIF until session 20.
    pil = pytest.importorskip("PIL.Image")
    exif = _exif_with_sub_ifd(order)
    rgb = _rand_rgb(20, 30)
    out = write_image(tmp_path / "out.tif", rgb, icc=_srgb_profile(), exif=exif)
    with pil.open(out) as back:
        assert back.size == (30, 20) and back.info.get("icc_profile") == _srgb_profile()
        tags = back.getexif()
        assert tags.get(0x010F) == "Cam" and tags.get(0x0110) == "Model 7"
        assert 0x011A not in tags or float(tags[0x011A]) != 300.0  # the output's own layout
        sub = tags.get_ifd(0x8769)
        assert float(sub[0x829A]) == pytest.approx(1 / 250) and sub[0x8827] == 400
        assert sub[0x9003] == "2024:05:06 07:08:09"
        assert 0x927C not in sub  # the maker's block: its offsets would not survive
    np.testing.assert_allclose(read_image(out).rgb, rgb, atol=1 / 255)


@pytest.mark.parametrize("order", ["II", "MM"])
def test_a_tiff_inputs_camera_record_reaches_other_outputs(tmp_path: Path, order: str) -> None:
    pil = pytest.importorskip("PIL.Image")
    tif = write_image(tmp_path / "in.tif", _rand_rgb(20, 30), exif=_exif_with_sub_ifd(order))
    img = read_image(tif)
    assert img.exif is not None and img.rgb.shape == (20, 30, 3)  # none before session 20
    assert imageio._exif_orientation(img.exif) == 1  # its pixels are read as stored
    for ext in (".jpg", ".png", ".webp", ".tif"):
        out = write_image(tmp_path / f"out{ext}", img.rgb, exif=img.exif)
        with pil.open(out) as back:
            tags = back.getexif()
            assert tags.get(0x010F) == "Cam" and tags.get(0x0110) == "Model 7", ext
            sub = tags.get_ifd(0x8769)
            assert float(sub[0x829A]) == pytest.approx(1 / 250) and sub[0x8827] == 400, ext
    plain = write_image(tmp_path / "plain.tif", _rand_rgb(20, 30))
    assert read_image(plain).exif is None  # a TIFF without a camera record has none


def test_hostile_exif_never_makes_a_tiff_huge_or_turned(tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    o = "<"

    def entry(tag: int, typ: int, n: int, value: bytes) -> bytes:
        return struct.pack(o + "HHI", tag, typ, n) + value

    # 2000 entries sharing one 60 KB value: a 60 KB block once became a 78 MB TIFF.
    n = 2000
    values = 8 + 2 + 12 * n + 4
    many = b"II*\x00" + struct.pack(o + "IH", 8, n)
    many += b"".join(entry(0x9000 + k, 1, 60_000, struct.pack(o + "I", values))
                     for k in range(n))
    many = many + bytes(4) + bytes(60_000)
    at = 8 + 2 + 12 * 3 + 4  # where the sub-IFD starts, after IFD0
    ifd0 = b"II*\x00" + struct.pack(o + "IH", 8, 3) + entry(0x8769, 4, 1, struct.pack(o + "I", at))
    ifd0 += entry(0x010F, 2, 4, b"Cam\x00") + entry(0x010F, 2, 4, b"Two\x00")  # twice
    ifd0 += bytes(4)
    sub = many[8:].replace(struct.pack(o + "I", values), struct.pack(o + "I", values - 8 + at))
    blob = ifd0 + sub
    assert imageio._tiff_ifd0(blob)[0x8769] == at and len(blob) < 100_000
    out = write_image(tmp_path / "many.tif", _rand_rgb(20, 30), exif=blob)
    assert out.stat().st_size < 200_000  # left out, not copied 2000 times
    # Orientation 6 stored as SSHORT (type 8): the output is still written and read upright.
    turned = b"II*\x00" + struct.pack(o + "IH", 8, 2) + entry(0x010F, 2, 4, b"Cam\x00")
    turned += entry(0x0112, 8, 1, struct.pack(o + "hh", 6, 0)) + bytes(4)
    out = write_image(tmp_path / "t.tif", _rand_rgb(20, 30), exif=turned)
    assert read_image(out).rgb.shape == (20, 30, 3)
    with pil.open(out) as back:
        tags = back.getexif()
        assert tags.get(0x0112) == 1 and tags.get(0x010F) == "Cam"


def test_a_broken_profile_keeps_the_exif_orientation(tmp_path: Path) -> None:
    data = _cv2_write(tmp_path / "x.png", (_rand_rgb() * 255).astype(np.uint8)).read_bytes()
    ihdr_end = 8 + 8 + 13 + 4
    exif = _camera_exif("II")
    for name, bad in (("no-name-end", b"profile"),
                      ("bomb", b"p\x00\x00" + zlib.compress(bytes(40 << 20)))):
        path = tmp_path / f"{name}.png"
        path.write_bytes(data[:ihdr_end] + imageio._png_chunk(b"iCCP", bad)
                         + imageio._png_chunk(b"eXIf", exif) + data[ihdr_end:])
        img = read_image(path)
        assert img.icc is None and img.exif == exif
        assert img.rgb.shape == (32, 24, 3)  # Orientation 6 still applied


def test_an_incomplete_jpeg_profile_is_not_passed_on(tmp_path: Path) -> None:
    icc = _srgb_profile()
    big = struct.pack(">I", len(icc) + 150_000) + icc[4:] + bytes(150_000)
    full = write_image(tmp_path / "big.jpg", _rand_rgb(), icc=big).read_bytes()
    second = full.index(b"ICC_PROFILE\x00\x02") - 4  # the segment's marker
    (length,) = struct.unpack(">H", full[second + 2 : second + 4])
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(full[:second] + full[second + 2 + length :])
    assert read_image(tmp_path / "big.jpg").icc == big
    assert read_image(cut).icc is None  # chunk 2 of 3 missing


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_tiff_outputs_keep_the_colour_profile(tmp_path: Path, bit_depth: int) -> None:
    pil = pytest.importorskip("PIL.Image")
    icc = _srgb_profile()
    rgb = _rand_rgb(30, 40)
    out = write_image(tmp_path / "o.tif", rgb, bit_depth=bit_depth, icc=icc)
    with pil.open(out) as back:  # another reader finds it, and the pixels are intact
        assert back.info.get("icc_profile") == icc and back.size == (40, 30)
    again = read_image(out)
    assert again.icc == icc and again.bit_depth == bit_depth
    np.testing.assert_allclose(again.rgb, rgb, atol=1e-6)
    other = icc[:-4] + b"\x00" * 4
    twice = imageio._tiff_with_icc(out.read_bytes(), other)  # a file that has one already
    order, _, entries, _ = imageio._tiff_entries(twice)
    tags = [struct.unpack(order + "H", e[:2])[0] for e in entries]
    assert tags.count(imageio._TIFF_ICC) == 1 and tags == sorted(tags)  # replaced, in order
    assert imageio._tiff_icc(twice) == other
    pil.fromarray((rgb * 255).round().astype(np.uint8)).save(
        tmp_path / "p.tif", icc_profile=icc, compression="tiff_lzw")
    assert read_image(tmp_path / "p.tif").icc == icc  # written by Pillow, read here


def test_a_tiff_profile_is_carried_into_every_format_and_bad_tags_are_ignored(
        tmp_path: Path) -> None:
    icc = _srgb_profile()
    rgb = _rand_rgb(30, 40)
    alpha = np.linspace(0, 1, 30 * 40, dtype=np.float32).reshape(30, 40)
    rgba = write_image(tmp_path / "a.tif", rgb, alpha=alpha, icc=icc)
    gray_icc = icc[:16] + b"GRAY" + icc[20:]
    gray = write_image(tmp_path / "g.tif", rgb, gray=True, icc=gray_icc)
    assert read_image(rgba).icc == icc and read_image(rgba).alpha is not None
    assert read_image(gray).icc == gray_icc and read_image(gray).gray
    src = read_image(rgba)
    for ext in (".png", ".jpg", ".tif"):
        assert read_image(write_image(tmp_path / f"o{ext}", src.rgb, icc=src.icc)).icc == icc

    data = rgba.read_bytes()
    order, ifd, entries, _ = imageio._tiff_entries(data)
    k = next(i for i, e in enumerate(entries)
             if struct.unpack(order + "H", e[:2])[0] == imageio._TIFF_ICC)
    at = ifd + 2 + 12 * k
    for name, entry in (("count", (imageio._TIFF_ICC, 7, 0xFFFFFFF0, 8)),
                        ("offset", (imageio._TIFF_ICC, 7, len(icc), len(data))),
                        ("type", (imageio._TIFF_ICC, 3, len(icc), 8))):
        bad = tmp_path / f"bad-{name}.tif"
        bad.write_bytes(data[:at] + struct.pack(order + "HHII", *entry) + data[at + 12 :])
        img = read_image(bad)
        assert img.icc is None and img.rgb.shape == (30, 40, 3), name


@pytest.mark.parametrize("alpha", [False, True])
def test_webp_profile_with_and_without_alpha(tmp_path: Path, alpha: bool) -> None:
    """cv2 writes a simple (VP8 or VP8L) WebP, or an extended one with an ALPH chunk; with a
    profile it becomes an extended one whose VP8X flags announce the profile and the alpha,
    which Pillow (libwebp) reads back."""
    pil = pytest.importorskip("PIL.Image")
    icc = _srgb_profile()
    rgb = _rand_rgb(30, 40)
    a = np.linspace(0, 1, 40, dtype=np.float32)[None, :].repeat(30, axis=0) if alpha else None
    out = write_image(tmp_path / "o.webp", rgb, alpha=a, icc=icc)
    data = out.read_bytes()
    assert data[12:16] == b"VP8X" and data[20] & 0x20 and bool(data[20] & 0x10) == alpha
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    with pil.open(out) as back:
        assert back.info.get("icc_profile") == icc
        assert back.size == (40, 30) and (back.mode == "RGBA") == alpha
        plain = np.asarray(pil.open(write_image(tmp_path / "p.webp", rgb, alpha=a)))
        np.testing.assert_array_equal(np.asarray(back), plain)  # the same pixels
    again = read_image(out)
    assert again.icc == icc and (again.alpha is not None) == alpha


def test_webp_metadata_is_what_libwebp_reads(tmp_path: Path) -> None:
    """Only chunks an extended WebP announces in its VP8X flags, inside its RIFF size; a gray
    output gets no gray profile (cv2 writes WebP as RGB)."""
    icc = _srgb_profile()
    exif = _camera_exif("II")
    good = write_image(tmp_path / "g.webp", _rand_rgb(), icc=icc, exif=exif).read_bytes()
    assert read_image(tmp_path / "g.webp").icc == icc
    unflagged = good[:20] + bytes([good[20] & ~0x28]) + good[21:]  # ICC and EXIF bits off
    (tmp_path / "u.webp").write_bytes(unflagged)
    back = read_image(tmp_path / "u.webp")
    assert back.icc is None and back.exif is None
    simple = write_image(tmp_path / "s.webp", _rand_rgb()).read_bytes()
    appended = simple + imageio._webp_chunk(b"EXIF", exif)  # past the RIFF size
    (tmp_path / "a.webp").write_bytes(appended)
    assert read_image(tmp_path / "a.webp").exif is None
    gray_icc = icc[:16] + b"GRAY" + icc[20:]
    gray = read_image(write_image(tmp_path / "gray.webp", _rand_rgb(), gray=True, icc=gray_icc))
    assert gray.icc is None
    rgb_on_gray = read_image(write_image(tmp_path / "g2.webp", _rand_rgb(), gray=True, icc=icc))
    assert rgb_on_gray.icc == icc  # the pixels are RGB, so an RGB profile fits


def test_an_apng_default_image_outside_the_animation_counts_as_a_frame(tmp_path: Path) -> None:
    """With ``default_image`` the first image is what viewers without APNG support show, and
    the animation is the rest: acTL says 2, but the file holds 3 images. The default image is
    the one restored, whichever OpenCV (5.x's imdecode alone would give the second)."""
    pil = pytest.importorskip("PIL.Image")
    frames = [pil.fromarray((_rand_rgb(seed=k) * 255).astype(np.uint8)) for k in range(3)]
    frames[0].save(tmp_path / "a.png", save_all=True, append_images=frames[1:],
                   default_image=True)
    img = read_image(tmp_path / "a.png")
    np.testing.assert_allclose(img.rgb * 255, np.asarray(frames[0]), atol=1e-3)
    assert img.frames == 3


def test_a_png_without_its_header_is_refused_in_our_words_only(tmp_path: Path, capfd) -> None:  # noqa: ANN001
    """libpng's own "IHDR chunk shall be first" went to stderr before our message."""
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40) + b"IEND")
    with pytest.raises(ImageReadError, match="without its header chunk"):
        read_image(bad)
    assert capfd.readouterr().err == ""


def test_an_output_too_large_for_its_format_is_refused_up_front(tmp_path: Path) -> None:
    from drcnet.imageio import check_output_size

    check_output_size(tmp_path / "ok.webp", 16383, 20)
    check_output_size(tmp_path / "wide.png", 70000, 20)  # PNG has no such limit
    with pytest.raises(ImageWriteError, match=r"\.webp holds at most 16383 pixels a side and "
                                              r"this output is 16384×20; use \.png or \.tif"):
        check_output_size(tmp_path / "x.webp", 16384, 20)
    with pytest.raises(ImageWriteError, match="at most 65500"):
        check_output_size(tmp_path / "x.jpg", 10, 65501)
    with pytest.raises(ImageWriteError, match="16383"):  # not libwebp's bare "failed"
        write_image(tmp_path / "pano.webp", np.zeros((2, 16400, 3), np.float32))


def test_a_tiff_with_alpha_declares_it(tmp_path: Path) -> None:
    """TIFF 6.0: a sample past the colour ones needs ExtraSamples (2 = unassociated alpha)."""
    from drcnet.imageio import _TIFF_EXTRA_SAMPLES, _tiff_ifd0

    rgb = _rand_rgb().astype(np.float32) / 255
    alpha = np.linspace(0, 1, rgb.shape[0] * rgb.shape[1], dtype=np.float32).reshape(
        rgb.shape[:2])
    for depth in (8, 16):
        p = write_image(tmp_path / f"a{depth}.tif", rgb, alpha=alpha, bit_depth=depth)
        assert _tiff_ifd0(p.read_bytes())[_TIFF_EXTRA_SAMPLES] == 2
        back = read_image(p)
        top = 2 ** depth - 1
        assert np.array_equal(back.alpha, np.round(alpha * top) / top)
        # colours too, under the faintest alpha (libtiff premultiplies declared 8-bit alpha)
        assert np.array_equal(back.rgb, np.round(rgb * top) / top), depth
    plain = write_image(tmp_path / "rgb.tif", rgb)
    assert _TIFF_EXTRA_SAMPLES not in _tiff_ifd0(plain.read_bytes())


def test_a_tiff_s_image_description_is_not_carried_over(tmp_path: Path) -> None:
    """ImageJ keeps a stack's shape there; on a 1-page output it describes what is not."""
    from drcnet.imageio import _tiff_with_tags

    ok, buf = cv2.imencode(".tif", _rand_rgb())
    text = b"ImageJ=1.11a\nimages=3\nslices=3\n\x00"
    src = tmp_path / "stack.tif"
    src.write_bytes(_tiff_with_tags(buf.tobytes(), [(0x010E, 2, len(text), text),
                                                    (0x010F, 2, 6, b"Maker\x00")]))
    image = read_image(src)
    out = write_image(tmp_path / "out.tif", image.rgb, exif=image.exif)
    data = out.read_bytes()
    assert b"images=3" not in data and b"Maker" in data  # the camera's make still is


def test_format_note_says_what_a_profile_or_float_samples_become(tmp_path: Path) -> None:
    from dataclasses import replace

    from drcnet.imageio import Image, format_note

    def profile(space: bytes) -> bytes:
        return bytes(16) + space + bytes(108)

    rgb = np.zeros((4, 4, 3), np.float32)
    img = Image(rgb, None, 8, False, tmp_path / "a.jpg", icc=profile(b"RGB "))
    assert format_note(img, "out.png") == ""
    assert format_note(img, "out.bmp") == ("the .bmp output keeps no colour profile (the "
                                           "input's RGB one; colours may look different)")
    cmyk = replace(img, icc=profile(b"CMYK"))
    assert "keeps no colour profile (the input's CMYK one" in format_note(cmyk, "out.jpg")
    gray_alpha = Image(rgb, np.ones((4, 4), np.float32), 8, True, img.path,
                       icc=profile(b"GRAY"))
    assert "colour profile" in format_note(gray_alpha, "out.png")  # written as RGBA
    assert format_note(replace(gray_alpha, alpha=None), "out.png") == ""
    camera = Image(rgb, None, 8, False, tmp_path / "c.jpg", exif=b"II*\x00" + bytes(12))
    assert format_note(camera, "out.bmp") == "the .bmp output keeps no camera record (EXIF)"
    assert format_note(camera, "out.bmp", keep_exif=False) == ""  # not asked for: no loss
    floating = Image(rgb, None, 16, False, tmp_path / "f.tif", floating=True)
    assert format_note(floating, "out.tif") == ("the input's floating-point samples are "
                                                "written as 16-bit integers")
    assert "8-bit integers" in format_note(floating, "out.jpg")


def test_xmp_is_found_and_its_loss_said(tmp_path: Path) -> None:
    from drcnet.imageio import _add_png_text, _jpeg_segment, _png_chunk, format_note

    packet = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><dc:rights>(c) me</dc:rights></x:xmpmeta>"
    ok, buf = cv2.imencode(".jpg", _rand_rgb())
    jpg = buf.tobytes()
    (tmp_path / "x.jpg").write_bytes(jpg[:2] + _jpeg_segment(
        0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + packet) + jpg[2:])
    ok, buf = cv2.imencode(".png", _rand_rgb())
    png = buf.tobytes()
    itxt = _png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + packet)
    (tmp_path / "x.png").write_bytes(png[:33] + itxt + png[33:])
    for name in ("x.jpg", "x.png"):
        image = read_image(tmp_path / name)
        assert image.xmp, name
        assert "XMP metadata (keywords, ratings, rights) is not carried over" in \
            format_note(image, "out.png")
    plain = write_image(tmp_path / "plain.png", _rand_rgb().astype(np.float32) / 255)
    assert not read_image(plain).xmp
    texted = tmp_path / "texted.png"  # a text chunk of another keyword is no XMP
    texted.write_bytes(_add_png_text(plain.read_bytes(), {"drcnet.t": "0.7"}))
    assert not read_image(texted).xmp


def test_an_image_holding_nan_is_not_written_as_black(tmp_path) -> None:  # noqa: ANN001
    from drcnet.errors import ImageWriteError

    rgb = np.full((8, 8, 3), 0.5, np.float32)
    rgb[2, 2] = np.nan  # a model's output gone wrong: it had been written as black pixels
    with pytest.raises(ImageWriteError, match="NaN"):
        write_image(tmp_path / "out.png", rgb)
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("name", ["a" * 245 + ".png", "雨" * 80 + ".png"], ids=["ascii", "cjk"])
def test_a_long_name_the_file_system_holds_is_written(tmp_path: Path, name: str) -> None:
    """The temporary file beside it had added 14 bytes to the name, past the file system's
    255, and the error blamed the folder's permissions."""
    assert len(name.encode()) <= 255
    write_image(tmp_path / name, _rand_rgb())
    assert [p.name for p in tmp_path.iterdir()] == [name]


@pytest.mark.skipif(os.name != "posix" or sys.platform == "darwin",
                    reason="needs a file system that takes any bytes as a name")
def test_a_name_that_is_not_utf8_is_written(tmp_path: Path) -> None:
    """Linux names are bytes; cutting the temporary name by its UTF-8 had raised
    UnicodeEncodeError for café in Latin-1."""
    name = os.fsdecode(b"caf\xe9.png")
    write_image(tmp_path / name, _rand_rgb())
    assert os.listdir(os.fsencode(tmp_path)) == [b"caf\xe9.png"]


def test_png_text_of_a_name_that_is_not_utf8_is_written(tmp_path: Path) -> None:
    """A Latin-1 file name (its byte undecodable, kept by Python as a lone surrogate) in the
    PNG text had raised UnicodeEncodeError, which stopped a whole `drcnet restore` batch."""
    name = os.fsdecode(b"caf\xe9.png")
    write_image(tmp_path / "out.png", _rand_rgb(), metadata={"drcnet.input": name})
    assert read_png_text(tmp_path / "out.png") == {"drcnet.input": "caf\ufffd.png"}


@pytest.mark.parametrize("bad", ["uint8", "0-255 floats", "uint8 alpha"])
def test_an_image_on_another_scale_is_refused_not_written_white(tmp_path: Path, bad: str) -> None:
    """A cv2.imread array, or floats left in 0-255, had been clipped to an all-white file."""
    from drcnet.errors import UsageError

    rgb = _rand_rgb()
    alpha = None
    if bad == "uint8":
        rgb = (rgb * 255).astype(np.uint8)
    elif bad == "0-255 floats":
        rgb = rgb * 255
    else:
        alpha = np.full(rgb.shape[:2], 255, np.uint8)
    with pytest.raises(UsageError, match="floats from 0 to 1"):
        write_image(tmp_path / "out.png", rgb, alpha=alpha)
    assert not list(tmp_path.iterdir())
    write_image(tmp_path / "ok.png", np.clip(_rand_rgb() * 1.05, 0, 1.05))  # an overshoot runs


def test_a_transparent_image_written_as_jpeg_is_flattened_over_white(tmp_path: Path) -> None:
    """JPEG keeps no alpha; the colours kept under alpha 0 (never shown) had come into view
    (the review's case: streaks and a blue the photo hid)."""
    rgb = np.zeros((16, 24, 3), np.float32)
    rgb[..., 2] = 1.0  # blue everywhere, shown only where alpha says
    alpha = np.zeros((16, 24), np.float32)
    alpha[:, 12:] = 1.0
    alpha[:, 8:12] = 0.5
    write_image(tmp_path / "o.jpg", rgb, alpha=alpha, jpeg_quality=100)
    out = read_image(tmp_path / "o.jpg").rgb
    assert np.allclose(out[:, :6], 1.0, atol=0.03)  # hidden: white, not blue
    assert np.allclose(out[:, 16:], (0, 0, 1), atol=0.05)  # shown: as it was
    assert np.allclose(out[4:12, 9:11], (0.5, 0.5, 1.0), atol=0.06)  # half: half white
    write_image(tmp_path / "o.png", rgb, alpha=alpha)  # a format with alpha keeps it all
    assert np.allclose(read_image(tmp_path / "o.png").rgb[:, :6], (0, 0, 1), atol=0.01)


def test_a_read_only_output_is_not_replaced(tmp_path: Path) -> None:
    """Windows cannot rename over a read-only file, nor remove the read-only temp file made
    beside it: the write failed with a bare PermissionError and left a .part file. A file
    the user made read-only is now refused, in words, on every system, and by root too
    (who writes past permission bits)."""
    import stat

    out = write_image(tmp_path / "out.png", _rand_rgb())
    os.chmod(out, stat.S_IREAD)  # read-only (Windows: the read-only attribute)
    try:
        with pytest.raises(ImageWriteError, match="exists and is read-only"):
            write_image(out, _rand_rgb(seed=3))
        assert [p.name for p in tmp_path.iterdir()] == ["out.png"]
        np.testing.assert_allclose(read_image(out).rgb, _rand_rgb(), atol=1e-6)  # untouched
    finally:
        os.chmod(out, stat.S_IREAD | stat.S_IWRITE)
    write_image(out, _rand_rgb(seed=3))  # writable again: replaced


# --------------------------------------------------------------------------- print resolution


def _pil_dpi(path: Path) -> tuple[float, float] | None:
    pil = pytest.importorskip("PIL.Image")
    with pil.open(path) as im:
        return im.info.get("dpi")


@pytest.mark.parametrize("src", [".jpg", ".png", ".tif", "exif.jpg"])
def test_print_resolution_is_read_and_kept_where_the_format_holds_it(tmp_path: Path,
                                                                    src: str) -> None:
    """Every output had dropped it (a 300 dpi scan came back as 72, or none), without a note."""
    pil = pytest.importorskip("PIL.Image")
    from drcnet.imageio import format_note

    rgb = (_rand_rgb() * 255).astype(np.uint8)
    path = tmp_path / f"in{src}"
    if src == "exif.jpg":  # a camera's: the resolution in EXIF only, JFIF's an aspect ratio
        exif = pil.Exif()
        exif[0x011A], exif[0x011B], exif[0x0128] = 300, 300, 2
        pil.fromarray(rgb).save(path, exif=exif.tobytes())
    else:
        pil.fromarray(rgb).save(path, dpi=(300, 300))
    image = read_image(path)
    assert image.dpi is not None and np.allclose(image.dpi, 300, atol=0.01), image.dpi
    for ext in (".png", ".jpg", ".tif", ".bmp"):
        out = write_image(tmp_path / f"out{ext}", image.rgb, dpi=image.dpi)
        assert np.allclose(_pil_dpi(out), 300, atol=0.01), (ext, _pil_dpi(out))
        assert np.allclose(read_image(out).dpi, 300, atol=0.01), ext
        assert "resolution" not in format_note(image, out)
    assert format_note(image, "out.webp") == ("the .webp output keeps no print resolution "
                                              "(the input's 300 dpi)")
    plain = write_image(tmp_path / "plain.png", image.rgb)  # none asked for: none written
    assert read_image(plain).dpi is None and _pil_dpi(plain) is None


def test_print_resolution_units_and_defaults(tmp_path: Path) -> None:
    pil = pytest.importorskip("PIL.Image")
    tifffile = pytest.importorskip("tifffile")
    from drcnet.imageio import format_note

    rgb = (_rand_rgb() * 255).astype(np.uint8)
    tifffile.imwrite(tmp_path / "cm.tif", rgb, photometric="rgb", resolution=(50, 100),
                     resolutionunit="CENTIMETER")
    assert np.allclose(read_image(tmp_path / "cm.tif").dpi, (127, 254))
    assert format_note(read_image(tmp_path / "cm.tif"), "o.webp").endswith("127×254 dpi)")
    pil.fromarray(rgb).save(tmp_path / "72.jpg", dpi=(72, 72))
    seventy_two = read_image(tmp_path / "72.jpg")
    assert seventy_two.dpi == (72, 72)
    assert format_note(seventy_two, "out.webp") == ""  # the usual default: nothing to say
    pil.fromarray(rgb).save(tmp_path / "none.jpg")  # JFIF's 1:1 aspect ratio, no unit
    assert read_image(tmp_path / "none.jpg").dpi is None
    assert read_image(write_image(tmp_path / "none.tif", _rand_rgb())).dpi is None  # unit 1
    ok, buf = cv2.imencode(".png", rgb)
    png = buf.tobytes()
    per_cm = imageio._png_chunk(b"pHYs", struct.pack(">IIB", 3000, 3000, 0))  # unit 0: ratio
    (tmp_path / "ratio.png").write_bytes(png[:33] + per_cm + png[33:])
    assert read_image(tmp_path / "ratio.png").dpi is None


# --------------------------------------------------------------------------- IPTC, PNG text


def _photoshop(*resources: tuple[int, bytes]) -> bytes:
    """A JPEG APP13 segment of Photoshop image resources (id, data)."""
    from drcnet.imageio import _jpeg_segment

    body = b"".join(b"8BIM" + struct.pack(">H", rid) + b"\x00\x00" + struct.pack(">I", len(d))
                    + d + bytes(len(d) & 1) for rid, d in resources)
    return _jpeg_segment(0xED, b"Photoshop 3.0\x00" + body)


def test_iptc_is_found_and_its_loss_said(tmp_path: Path) -> None:
    """A photo's IPTC caption, keywords and copyright had been dropped without a note."""
    tifffile = pytest.importorskip("tifffile")
    from dataclasses import replace

    from drcnet.imageio import format_note

    iptc = b"\x1c\x02\x74\x00\x15(c) Jane Photographer"  # 2:116, copyright notice
    jpg = cv2.imencode(".jpg", (_rand_rgb() * 255).astype(np.uint8))[1].tobytes()
    (tmp_path / "i.jpg").write_bytes(jpg[:2] + _photoshop((0x03ED, bytes(16)), (0x0404, iptc))
                                     + jpg[2:])
    tifffile.imwrite(tmp_path / "i.tif", (_rand_rgb() * 255).astype(np.uint8),
                     photometric="rgb", extratags=[(33723, "B", len(iptc), iptc, True)])
    for name in ("i.jpg", "i.tif"):
        image = read_image(tmp_path / name)
        assert image.iptc and not image.xmp, name
        assert format_note(image, "out.png") == ("the input's IPTC metadata (captions, "
                                                 "keywords, rights) is not carried over")
        assert "XMP and IPTC metadata (keywords, ratings, rights)" in format_note(
            replace(image, xmp=True), "out.png")
    # Photoshop's block holds print settings too: without an IPTC record there is no loss.
    (tmp_path / "p.jpg").write_bytes(jpg[:2] + _photoshop((0x03ED, bytes(16))) + jpg[2:])
    assert not read_image(tmp_path / "p.jpg").iptc
    assert not read_image(write_image(tmp_path / "plain.jpg", _rand_rgb())).iptc


def test_a_jpeg_comment_and_imagemagick_exif_text_are_said_lost(tmp_path: Path) -> None:
    """A JPEG's comment (COM) and a PNG's EXIF kept as ImageMagick's "Raw profile type
    exif" text had been dropped without a note, as IPTC and PNG text no longer are."""
    from dataclasses import replace

    from drcnet.imageio import _add_png_text, _jpeg_segment, _png_chunk, format_note

    jpg = cv2.imencode(".jpg", (_rand_rgb() * 255).astype(np.uint8))[1].tobytes()
    (tmp_path / "c.jpg").write_bytes(jpg[:2] + _jpeg_segment(0xFE, b"Sweets, by Jane") + jpg[2:])
    image = read_image(tmp_path / "c.jpg")
    for out in ("out.jpg", "out.png"):
        assert format_note(image, out) == "the input's JPEG comment is not carried over"
    assert not read_image(tmp_path / "c.jpg").raw_exif
    (tmp_path / "e.jpg").write_bytes(jpg[:2] + _jpeg_segment(0xFE, b"\x00") + jpg[2:])
    assert format_note(read_image(tmp_path / "e.jpg"), "out.jpg") == ""  # an empty one
    assert format_note(read_image(write_image(tmp_path / "plain.jpg", _rand_rgb())),
                       "out.jpg") == ""

    png = write_image(tmp_path / "plain.png", _rand_rgb()).read_bytes()
    profile = b"\nexif\n      14\n457869660000" + b"4d4d002a00000008\n"  # "Exif\0\0" + TIFF
    said = ("the input's camera record (EXIF) kept as PNG text by ImageMagick (\"Raw profile "
            "type exif\") is not carried over")
    for chunk in (_png_chunk(b"zTXt", b"Raw profile type exif\x00\x00" + zlib.compress(profile)),
                  _png_chunk(b"tEXt", b"Raw profile type exif\x00" + profile)):
        (tmp_path / "m.png").write_bytes(png[:33] + chunk + png[33:])
        image = read_image(tmp_path / "m.png")
        assert image.exif is None and image.png_text == {}  # not read, not carried
        for out in ("out.png", "out.jpg", "out.webp"):
            assert format_note(image, out) == said
        assert format_note(image, "out.png", keep_exif=False) == ""  # none asked for
        # Beside an eXIf chunk, whose EXIF the output carries, nothing is lost.
        assert format_note(replace(image, exif=b"MM\x00*\x00\x00\x00\x08"), "out.png") == ""
    texted = _add_png_text(png, {"Raw profile type iptc": "\niptc\n 4\n00000000\n"})
    (tmp_path / "i.png").write_bytes(texted)
    assert not read_image(tmp_path / "i.png").raw_exif  # IPTC's copy: said as IPTC
    assert not read_image(tmp_path / "plain.png").comment


def test_png_text_goes_to_png_outputs_and_its_loss_elsewhere_is_said(tmp_path: Path) -> None:
    """Title, Author and Copyright had been dropped silently; Studio's own keys still win,
    and an earlier run's record, XMP and ImageMagick's raw EXIF/IPTC copies are not carried."""
    from drcnet.imageio import _add_png_text, _png_chunk, format_note

    png = write_image(tmp_path / "plain.png", _rand_rgb()).read_bytes()
    text = {"Title": "Sweets", "Author": "Jane", "Copyright": "(c) Jane", "Software": "GIMP",
            "drcnet.t": "0.9", "Raw profile type exif": "\nexif\n 4\n00000000\n"}
    png = _add_png_text(png, text)
    ztxt = _png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"squeezed"))
    bomb = _png_chunk(b"zTXt", b"Bomb\x00\x00" + zlib.compress(bytes(8 << 20)))  # too large
    (tmp_path / "t.png").write_bytes(png[:33] + ztxt + bomb + png[33:])
    image = read_image(tmp_path / "t.png")
    assert image.png_text == {"Comment": "squeezed", "Title": "Sweets", "Author": "Jane",
                              "Copyright": "(c) Jane", "Software": "GIMP"}
    out = write_image(tmp_path / "out.png", image.rgb, text=image.png_text | {"drcnet.x": "1"},
                      metadata={"Software": "DRCNet Studio", "drcnet.t": "0.5"})
    back = read_png_text(out)
    assert back["Title"] == "Sweets" and back["Comment"] == "squeezed"
    assert back["Software"] == "DRCNet Studio" and back["drcnet.t"] == "0.5"
    assert "drcnet.x" not in back and "Raw profile type exif" not in back
    raw_exif = ("the input's camera record (EXIF) kept as PNG text by ImageMagick (\"Raw "
                "profile type exif\") is not carried over")  # its own test, above
    assert format_note(image, out) == raw_exif
    assert format_note(image, "out.jpg") == ("the input's PNG text (Comment, Title, Author, …) "
                                             "is not carried over; " + raw_exif)
    assert read_image(out).png_text["Title"] == "Sweets"


def test_gif_animations_say_how_many_frames(tmp_path: Path) -> None:
    """Only the first frame of an animated GIF was restored, without the note APNG and WebP
    animations get."""
    pil = pytest.importorskip("PIL.Image")
    frames = [pil.fromarray((_rand_rgb(seed=k) * 255).astype(np.uint8)) for k in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], loop=0,
                   duration=100)
    img = read_image(tmp_path / "anim.gif")
    assert img.frames == 3
    assert imageio.frames_note(img) == "only the first of its 3 frames is restored"
    frames[0].save(tmp_path / "still.gif")
    assert read_image(tmp_path / "still.gif").frames == 1
    raw = (tmp_path / "anim.gif").read_bytes()
    assert imageio._gif_frames(raw[: len(raw) * 2 // 3]) in (2, 3)  # broken off: so far
    # A crafted file of one-byte sub-blocks is counted until the budget, not to its end.
    frame = b"\x2c" + bytes(8) + b"\x00\x02" + b"\x01\x00" * 100 + b"\x00"
    crafted = raw[:10] + b"\x00" + raw[11:13] + frame * 2 + b"\x3b"  # no colour table
    assert imageio._gif_frames(crafted) == 2
    assert imageio._gif_frames(crafted, budget=10) == 1


def test_a_cmyk_tiff_is_read_without_a_false_alpha_channel(tmp_path: Path) -> None:
    """libtiff gives CMYK as RGB with an opaque fourth channel, which had been taken for
    alpha: a TIFF output gained an alpha channel, a JPEG one a "keeps no transparency" note."""
    pil = pytest.importorskip("PIL.Image")
    from drcnet.imageio import format_note

    rgb = (_rand_rgb() * 255).astype(np.uint8)
    for name in ("cmyk.tif", "cmyk.jpg"):
        pil.fromarray(rgb).convert("CMYK").save(tmp_path / name, quality=100)
        image = read_image(tmp_path / name)
        assert image.alpha is None and not image.gray, name
        np.testing.assert_allclose(image.rgb * 255, rgb, atol=3 if name.endswith("jpg") else 0)
        assert format_note(image, "out.jpg") == ""
        out = write_image(tmp_path / f"out_{name}.tif", image.rgb, alpha=image.alpha)
        assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED).shape == (24, 32, 3)

"""The project's one image reader and one image writer.

Reading goes through ``np.fromfile`` + ``cv2.imdecode`` so non-ASCII paths work everywhere, checks
the pixel count from the file header before decoding, and applies EXIF orientation (JPEG and
PNG; not WebP, whose orientation browsers and libwebp ignore). Writing is atomic (temp file in
the target folder, fsync, ``os.replace``) and never overwrites an input. An input's colour
profile (ICC; PNG, JPEG, WebP, TIFF) and camera metadata (EXIF; PNG, JPEG, WebP, and a TIFF's
photo-describing tags, :func:`_tiff_exif`) are read with the pixels and can be written into
outputs of those formats (a TIFF gets the photo-describing tags, :func:`_tiff_with_exif`),
so a restored photo keeps its colours and its camera record (:attr:`Image.icc`,
:attr:`Image.exif`), and its print resolution (:attr:`Image.dpi`; not WebP) and a PNG's own
text (:attr:`Image.png_text`; PNG only) go with it. Every
user-facing failure is an :class:`ImageReadError` / :class:`ImageWriteError` whose message is
one sentence naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import math
import os
import re
import secrets
import stat
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from .errors import (
    ImageReadError,
    ImageTooLargeError,
    ImageTypeError,
    ImageWriteError,
    UsageError,
)

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
_ALPHA_EXTENSIONS = (".png", ".tif", ".tiff", ".webp", ".bmp")  # BMP: a v5 header's alpha mask
_FLOAT_SLACK = 1 / 1024  # float samples this far outside [0, 1] are rounding, clipped quietly
_16BIT_EXTENSIONS = (".png", ".tif", ".tiff")
# The largest side each format's encoder writes (libwebp: 14-bit sizes; JPEG: 16-bit ones).
_MAX_SIDE = {".webp": 16383, ".jpg": 65500, ".jpeg": 65500}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Formats OpenCV decodes and write_image does not write: GIF, Sun raster, Radiance HDR, and
# Netpbm (P1-P6 and PFM: the magic, a space, then a comment or the width; PAM: a keyword),
# whose two-letter magic alone a text file could start with.
# Their extensions, which a folder input takes beside IMAGE_EXTENSIONS (drcnet.batch).
READ_ONLY_EXTENSIONS: tuple[str, ...] = (".gif", ".pbm", ".pgm", ".ppm", ".pnm", ".pam", ".pfm",
                                         ".ras", ".sr", ".hdr", ".pic", ".avif")
# Every name read_image takes as an image's: what open dialogs and folder listings offer.
READABLE_EXTENSIONS: tuple[str, ...] = IMAGE_EXTENSIONS + READ_ONLY_EXTENSIONS
# Cameras' RAW files. Most start as a TIFF does, and OpenCV reads the small preview they embed
# (or nothing): a named one is refused (drcnet.batch.check_input_name), a folder's left out.
RAW_EXTENSIONS: tuple[str, ...] = (".dng", ".raw", ".cr2", ".cr3", ".crw", ".nef", ".nrw",
                                   ".arw", ".srf", ".sr2", ".orf", ".rw2", ".raf", ".pef",
                                   ".srw", ".x3f", ".3fr", ".erf", ".kdc", ".mrw", ".rwl",
                                   ".iiq", ".mos")
_READ_ONLY_SIGNATURES = (b"GIF87a", b"GIF89a", b"\x59\xa6\x6a\x95", b"#?RADIANCE", b"#?RGBE")
_NETPBM = re.compile(rb"P[1-6Ff]\s+[#\d]|P7\s+[#A-Z]")
# JPEG start-of-frame markers (C4 = DHT, C8 = JPG and CC = DAC are not frames).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}

PathLike = str | os.PathLike[str]


@dataclass(frozen=True, eq=False)
class Image:
    """A decoded image.

    Attributes:
        rgb: float32 RGB in [0, 1]; a gray input is replicated to three channels. Shape: (H, W, 3).
        alpha: float32 alpha in [0, 1], or ``None`` if the file has none. Shape: (H, W).
        bit_depth: 8 or 16, the sample depth of the file (float files report 16).
        gray: whether the file was single-channel.
        path: the file it was read from.
        icc: the embedded ICC colour profile of a PNG, JPEG, WebP or TIFF file, or ``None``
            (none, or a BMP).
        exif: the EXIF block (a TIFF structure, without JPEG's ``Exif\0\0`` prefix) of a
            JPEG, PNG or WebP file, or ``None``.
        frames: how many frames an animated PNG, WebP or GIF has, or pages a TIFF (its
            reduced-resolution pages not counted); only the first is read.
        floating: whether the file held floating-point samples (outputs are integers).
        xmp: whether the file holds an XMP packet (keywords, ratings, rights), which outputs
            do not carry (its orientation and edit settings would no longer hold).
        iptc: whether the file holds an IPTC record (captions, keywords, rights: a JPEG's
            Photoshop block, a TIFF's IPTC tag), which outputs do not carry either.
        dpi: the print resolution in dots per inch (x, y) the file records (a JPEG's JFIF
            density, a PNG's pHYs, a TIFF's or BMP's header, else its EXIF), or ``None``.
        png_text: a PNG's own text chunks (Title, Author, Copyright, …) that a PNG output
            carries: not Studio's ``drcnet.*`` record of an earlier run, the XMP packet, nor
            ImageMagick's "Raw profile type" copies of EXIF, IPTC or XMP blocks.
        comment: whether a JPEG holds a comment (a COM segment: a caption, or what made the
            file), which outputs do not carry.
        raw_exif: whether a PNG holds its EXIF as ImageMagick's "Raw profile type exif"
            text, which outputs do not carry (nor is it read: an ``eXIf`` chunk's EXIF is).
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    bit_depth: int
    gray: bool
    path: Path
    icc: bytes | None = None
    exif: bytes | None = None
    frames: int = 1
    floating: bool = False  # the file's samples were floating point (written as integers)
    xmp: bool = False  # the file holds XMP metadata (outputs do not carry it)
    iptc: bool = False  # the file holds an IPTC record (outputs do not carry it)
    dpi: tuple[float, float] | None = None
    png_text: dict[str, str] = field(default_factory=dict)
    comment: bool = False  # a JPEG comment (outputs do not carry it)
    raw_exif: bool = False  # a PNG's EXIF as ImageMagick's text (outputs do not carry it)

    @functools.cached_property
    def restorable(self) -> np.ndarray:
        """What the network restores: :attr:`rgb` with its fully transparent pixels given
        their nearest visible pixel's colour (:func:`fill_transparent`). The colour a file
        keeps under alpha 0 is nobody's to see, but the network normalises over the tile it
        is in: a pure blue left there had cost the visible half of the blurry sample 8.8 dB
        with the repair off and 0.8 with it on (docs/eval/transparent_fill.py)."""
        return fill_transparent(self.rgb, self.alpha)


def clean_text(text: str) -> str:
    """``text`` with any byte that was not UTF-8 as U+FFFD: Python keeps such bytes of a file
    name (a Latin-1 ``café.png`` on Linux) as lone surrogates, which no UTF-8 writer takes."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate from elsewhere
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def fill_transparent(rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """``rgb`` with each pixel of ``alpha`` 0 set to its nearest pixel's with alpha above 0
    (unchanged, not copied, when there is no such pixel to fill or none to fill from)."""
    if alpha is None:
        return rgb
    hidden = alpha <= 0
    if not hidden.any() or hidden.all():
        return rgb
    # Each visible pixel gets a label of its own and each hidden one the label of the
    # visible pixel nearest to it; which label is whose is read off the visible pixels (not
    # assumed to be raster order, which OpenCV does not promise).
    _, labels = cv2.distanceTransformWithLabels(hidden.astype(np.uint8), cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    visible = ~hidden
    where = np.empty(int(labels[visible].max()) + 1, np.intp)
    where[labels[visible]] = np.flatnonzero(visible)
    out = rgb.copy()
    out[hidden] = rgb.reshape(-1, 3)[where[labels[hidden]]]
    return out


# --------------------------------------------------------------------------- reading


def read_image(path: PathLike, max_pixels: int | None = 100_000_000) -> Image:
    """Read an 8/16-bit gray, RGB or RGBA image file.

    Args:
        path: the image file.
        max_pixels: refuse images with more pixels than this (checked from the header before
            decoding where the format allows); ``None`` for no limit.

    Returns:
        The decoded :class:`Image`, EXIF orientation applied (JPEG and PNG; a WebP's is
        left as browsers leave it, and written as 1 like any other).

    Raises:
        ImageReadError: the file is missing, a folder, empty, unreadable, not a decodable image,
            of an unsupported sample type, or over ``max_pixels``.
    """
    p = Path(path)
    if not p.exists():
        raise ImageReadError(f"{p} does not exist.")
    if p.is_dir():
        raise ImageReadError(f"{p} is a folder, not an image file.")
    try:
        data = np.fromfile(p, dtype=np.uint8)
    except OSError as e:
        raise ImageReadError(f"{p} cannot be read ({e.strerror or e}).") from e
    if data.size == 0:
        raise ImageReadError(f"{p} is empty (0 bytes).")

    raw = data.tobytes()
    if raw.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" not in raw:
        # Said here: libpng would print its own "input buffer is incomplete" on stderr first.
        raise ImageReadError(f"{p} is not an image that can be decoded: a PNG that ends "
                             "before its last chunk (truncated or corrupt).")
    if raw.startswith(_PNG_SIGNATURE) and raw[12:16] != b"IHDR":  # also before libpng says it
        raise ImageReadError(f"{p} is not an image that can be decoded: a PNG without its "
                             "header chunk (corrupt).")
    size = _header_size(raw)
    if size is not None:
        _check_pixels(p, *size, max_pixels)
    frames, shown = _apng_header(raw) if raw.startswith(_PNG_SIGNATURE) else (0, True)
    if frames and not shown:  # a default image outside the animation: that one is decoded
        data = np.frombuffer(_png_without_animation(raw), np.uint8)
    elif (straight := _tiff_alpha_as_is(raw)) is not None:
        data = np.frombuffer(straight, np.uint8)
    try:
        img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        img = None
    if img is None:
        raise ImageReadError(f"{p} is not an image that can be decoded (corrupt or unsupported).")
    if size is None:
        _check_pixels(p, img.shape[1], img.shape[0], max_pixels)
    img = _decoder_fixes(raw, img)

    meta = _read_meta(raw)
    if not raw.startswith(b"RIFF"):  # WebP: browsers and libwebp show it unturned
        img = _apply_orientation(img, _exif_orientation(meta["exif"]))
    return replace(_to_image(img, p), frames=_frame_count(raw), xmp=_has_xmp(raw),
                   iptc=_has_iptc(raw), dpi=_read_dpi(raw, meta["exif"]),
                   png_text=_png_own_text(raw), comment=_has_comment(raw),
                   raw_exif=_has_raw_exif(raw), **meta)


_XMP_JPEG = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_TIFF = 700


def _has_xmp(raw: bytes) -> bool:
    """Whether a JPEG, PNG, WebP or TIFF stream holds an XMP packet (keywords, ratings,
    rights, editing history), which outputs do not carry."""
    with contextlib.suppress(struct.error, IndexError, KeyError):
        if raw.startswith(b"\xff\xd8"):
            return any(m == 0xE1 and raw[a : a + len(_XMP_JPEG)] == _XMP_JPEG
                       for m, a, _ in _jpeg_segments(raw))
        if raw.startswith(_PNG_SIGNATURE):
            return any(k == b"iTXt" and raw[a : a + 18] == b"XML:com.adobe.xmp\x00"
                       for k, a, _ in _png_chunks(raw)) or _png_raw_profile(raw, b"xmp")
        if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
            return any(k == b"XMP " for k, _, _ in _webp_chunks(raw))
        if raw[:4] in (b"II*\x00", b"MM\x00*"):
            order = "<" if raw[:2] == b"II" else ">"
            return any(struct.unpack(order + "H", e[:2])[0] == _XMP_TIFF
                       for e in _tiff_entries(raw)[2])
    return False


_IPTC_JPEG = b"Photoshop 3.0\x00"  # APP13: Photoshop image resources, IPTC among them
_IPTC_TIFF = 33723  # IPTC-NAA
_IPTC_RESOURCE = 0x0404


def _has_iptc(raw: bytes) -> bool:
    """Whether a JPEG, PNG or TIFF stream holds an IPTC record (captions, keywords, rights),
    which outputs do not carry: a JPEG's Photoshop block (APP13) with an IPTC resource, a
    PNG's "Raw profile type iptc" (ImageMagick), a TIFF's IPTC tag."""
    with contextlib.suppress(struct.error, IndexError, KeyError):
        if raw.startswith(b"\xff\xd8"):
            return any(m == 0xED and raw[a : a + len(_IPTC_JPEG)] == _IPTC_JPEG
                       and _photoshop_iptc(raw[a + len(_IPTC_JPEG) : b])
                       for m, a, b in _jpeg_segments(raw))
        if raw.startswith(_PNG_SIGNATURE):
            return _png_raw_profile(raw, b"iptc") or _png_raw_profile(raw, b"8bim")
        if raw[:4] in (b"II*\x00", b"MM\x00*"):
            order = "<" if raw[:2] == b"II" else ">"
            return any(struct.unpack(order + "H", e[:2])[0] == _IPTC_TIFF
                       for e in _tiff_entries(raw)[2])
    return False


def _photoshop_iptc(block: bytes) -> bool:
    """Whether a Photoshop image-resource block ("8BIM" records) holds an IPTC record; it
    may hold only others (print settings, a thumbnail)."""
    i = 0
    while i + 12 <= len(block) and block[i : i + 4] == b"8BIM":
        (kind,) = struct.unpack(">H", block[i + 4 : i + 6])
        i += 6 + ((block[i + 6] + 2) & ~1)  # the name: a Pascal string padded to even
        (size,) = struct.unpack(">I", block[i : i + 4])
        if kind == _IPTC_RESOURCE and size:
            return True
        i += 4 + size + (size & 1)
    return False


def _has_comment(raw: bytes) -> bool:
    """Whether a JPEG stream holds a comment (a COM segment, not empty), which outputs do
    not carry."""
    with contextlib.suppress(struct.error, IndexError):
        if raw.startswith(b"\xff\xd8"):
            return any(m == 0xFE and raw[a:b].strip(b"\x00 \t\r\n")
                       for m, a, b in _jpeg_segments(raw))
    return False


def _has_raw_exif(raw: bytes) -> bool:
    """Whether a PNG stream holds ImageMagick's "Raw profile type exif" text chunk (EXIF
    as hex digits), which outputs do not carry."""
    with contextlib.suppress(struct.error, IndexError):
        return raw.startswith(_PNG_SIGNATURE) and _png_raw_profile(raw, b"exif")
    return False


def _png_raw_profile(raw: bytes, kind: bytes) -> bool:
    """Whether a PNG stream has ImageMagick's "Raw profile type ``kind``" text chunk."""
    key = b"raw profile type " + kind + b"\x00"
    return any(k in (b"tEXt", b"zTXt", b"iTXt") and raw[a : a + len(key)].lower() == key
               for k, a, _ in _png_chunks(raw))


def _apng_header(raw: bytes) -> tuple[int, bool]:
    """An APNG's animation frames (``acTL``; 0 for a still PNG or a header that cannot be
    read) and whether its default image is the animation's first frame (an ``fcTL`` before
    the image data); when it is not, it is a still for viewers without APNG support."""
    frames, in_animation = 0, False
    try:
        for name, a, b in _png_chunks(raw):
            if name == b"acTL" and b - a >= 8:  # before the image data, by the APNG spec
                frames = struct.unpack(">I", raw[a : a + 4])[0]
            elif name == b"fcTL":
                in_animation = True
            elif name == b"IDAT":
                break
    except (IndexError, struct.error):
        return 0, False
    return frames, in_animation


def _png_without_animation(raw: bytes) -> bytes:
    """The PNG stream with its APNG chunks dropped: OpenCV's decoders disagree on such a file
    (4.x and ``imread`` give the default image, 5.x ``imdecode`` the animation's first frame),
    so the default image, what every viewer without APNG support shows, is decoded on all."""
    out = [raw[:8]]
    for name, a, b in _png_chunks(raw):
        if name not in (b"acTL", b"fcTL", b"fdAT"):
            out.append(raw[a - 8 : b + 4])
    return b"".join(out)


def _frame_count(raw: bytes) -> int:
    """Frames of an animated PNG, WebP or GIF, or full-resolution pages of a TIFF; 1 where the
    header says nothing or cannot be read. An APNG's default image (what is decoded) counts
    as a frame whether or not it is also the animation's first (an ``fcTL`` before it)."""
    try:
        if raw.startswith(_PNG_SIGNATURE):
            frames, in_animation = _apng_header(raw)
            return max(1, frames if in_animation else frames + 1)
        elif raw.startswith(b"RIFF") and raw[8:12] == b"WEBP":
            return max(1, sum(kind == b"ANMF" for kind, _, _ in _webp_chunks(raw)))
        elif raw[:4] in (b"II*\x00", b"MM\x00*"):
            return max(1, _tiff_pages(raw))
        elif raw.startswith((b"GIF87a", b"GIF89a")):
            return max(1, _gif_frames(raw))
    except (IndexError, struct.error):
        pass
    return 1


def _gif_frames(raw: bytes, budget: int = 1 << 20) -> int:
    """Frames (image descriptors) of a GIF stream, counted along its blocks until the trailer,
    a block that breaks off, or ``budget`` data sub-blocks have been stepped over (a crafted
    file cannot make this slow)."""

    def table(flags: int) -> int:  # bytes of the colour table a descriptor's flags announce
        return 3 << ((flags & 7) + 1) if flags & 0x80 else 0

    i, frames = 13 + table(raw[10]), 0  # after the header and the global colour table
    try:
        while budget > 0:
            if raw[i] == 0x2C:  # image descriptor: 9 bytes, a colour table, LZW code size
                frames += 1
                i += 10 + table(raw[i + 9]) + 1
            elif raw[i] == 0x21:  # extension: its label, then its sub-blocks
                i += 2
            else:  # the trailer (0x3B), or no block at all
                break
            while raw[i] and budget > 0:  # data sub-blocks, until one of length 0
                i += raw[i] + 1
                budget -= 1
            i += 1
    except IndexError:  # a file that breaks off: the frames counted so far
        pass
    return frames


def _tiff_pages(raw: bytes, budget: int = 1 << 16) -> int:
    """Full-resolution pages of a TIFF, counted along its chain of IFDs until the chain ends,
    loops, breaks, or ``budget`` directory entries have been read (a crafted file cannot make
    this slow)."""
    order = "<" if raw[:2] == b"II" else ">"
    (ifd,) = struct.unpack(order + "I", raw[4:8])
    pages, seen = 0, set()
    try:
        while ifd and ifd not in seen:
            seen.add(ifd)
            (count,) = struct.unpack(order + "H", raw[ifd : ifd + 2])
            budget -= count
            if budget < 0:
                break
            entries = raw[ifd + 2 : ifd + 2 + 12 * count]
            subfile = 0
            for e in range(0, len(entries) - 11, 12):
                tag, typ = struct.unpack(order + "HH", entries[e : e + 4])
                if tag == 254 and typ == 4:  # NewSubfileType; bit 0: reduced resolution
                    (subfile,) = struct.unpack(order + "I", entries[e + 8 : e + 12])
            pages += not subfile & 1
            (ifd,) = struct.unpack(order + "I", raw[ifd + 2 + 12 * count : ifd + 6 + 12 * count])
    except struct.error:  # a chain that breaks off: the pages counted so far
        pass
    return pages


def format_note(image: Image, out: PathLike, keep_exif: bool = True) -> str:
    """What the output's format cannot hold of ``image``: "the .jpg output keeps no
    transparency", "…no 16-bit depth; it is written in 8 bits", "…no colour profile",
    "…no camera record (EXIF)" (a BMP, when it is to be kept), "floating-point samples are
    written as 16-bit integers"; and what no output carries (XMP, IPTC, a JPEG comment, a
    PNG's text elsewhere than in a PNG, its EXIF kept as ImageMagick's text); or ""."""
    ext = Path(out).suffix.lower()
    lost = []
    if image.alpha is not None and ext not in _ALPHA_EXTENSIONS:
        lost.append("transparency (it is flattened over white)")
    if image.bit_depth == 16 and ext not in _16BIT_EXTENSIONS:
        lost.append("16-bit depth")
    if image.icc is not None and not _profile_fits(image, ext):
        space = _icc_space(image.icc).decode("ascii", "replace").strip()
        lost.append(f"colour profile (the input's {space} one; colours may look different)")
    if keep_exif and image.exif is not None and ext == ".bmp":
        lost.append("camera record (EXIF)")
    if image.dpi is not None and ext == ".webp" and _dots(image.dpi) != "72":
        lost.append(f"print resolution (the input's {_dots(image.dpi)} dpi)")
    notes = []
    if lost:
        eight = "; it is written in 8 bits" if "16-bit depth" in lost else ""
        notes.append(f"the {ext} output keeps no {' and no '.join(lost)}{eight}")
    if image.floating:
        depth = 16 if ext in _16BIT_EXTENSIONS else 8
        notes.append(f"the input's floating-point samples are written as {depth}-bit integers")
    if image.xmp or image.iptc:
        which = " and ".join(n for n, has in (("XMP", image.xmp), ("IPTC", image.iptc)) if has)
        what = "keywords, ratings, rights" if image.xmp else "captions, keywords, rights"
        notes.append(f"the input's {which} metadata ({what}) is not carried over")
    if image.png_text and ext != ".png":
        keys = ", ".join(list(image.png_text)[:3]) + (", …" if len(image.png_text) > 3 else "")
        notes.append(f"the input's PNG text ({keys}) is not carried over")
    if image.comment:
        notes.append("the input's JPEG comment is not carried over")
    if image.raw_exif and keep_exif and image.exif is None:  # an eXIf chunk's EXIF is
        notes.append("the input's camera record (EXIF) kept as PNG text by ImageMagick "
                     "(\"Raw profile type exif\") is not carried over")
    return "; ".join(notes)


def _dots(dpi: tuple[float, float]) -> str:
    """A print resolution as a note says it: "300", or "300×600" where x and y differ."""
    x, y = (f"{v:.0f}" for v in dpi)
    return x if x == y else f"{x}×{y}"


def _profile_fits(image: Image, ext: str) -> bool:
    """Whether :func:`write_image` embeds ``image``'s profile in an ``ext`` output: not in a
    BMP, and only a profile of the colour space written (a CMYK JPEG's profile describes
    inks, and a gray+alpha input is written as RGBA)."""
    if ext == ".bmp" or image.icc is None:
        return ext != ".bmp" or image.icc is None
    one_channel = image.gray and ext != ".webp" and not (
        image.alpha is not None and ext in _ALPHA_EXTENSIONS)
    return _icc_space(image.icc) == (b"GRAY" if one_channel else b"RGB ")


def frames_note(image: Image) -> str:
    """"only the first of 3 frames is restored" for an animation or multi-page file, else ""."""
    if image.frames <= 1:
        return ""
    what = "pages" if image.path.suffix.lower() in (".tif", ".tiff") else "frames"
    return f"only the first of its {image.frames} {what} is restored"


def _decoder_fixes(raw: bytes, img: np.ndarray) -> np.ndarray:
    """What OpenCV's decoders get wrong, put right from the file's own header:

    - a gray PNG's transparency key (tRNS) becomes an alpha channel (OpenCV ignores it);
    - a gray+alpha PNG comes back gray+alpha, not as BGRA with three equal channels;
    - a TIFF's associated (premultiplied) alpha becomes straight alpha, as everything else
      here uses (colour under alpha 0 is lost to the premultiplication; it shows nowhere).
      Unassociated alpha is decoded as stored (:func:`_tiff_alpha_as_is`);
    - a CMYK TIFF without alpha comes back BGR: libtiff converts its inks to RGB with an
      opaque fourth channel, which had been taken for transparency.
    """
    try:
        if raw.startswith(_PNG_SIGNATURE) and raw[12:16] == b"IHDR":
            depth, kind = raw[24], raw[25]
            if kind == 4 and img.ndim == 3 and img.shape[2] == 4:  # gray + alpha
                return np.ascontiguousarray(img[:, :, [0, 3]])
            if kind == 0 and img.ndim == 2:
                key = next((raw[a:b] for name, a, b in _png_chunks(raw) if name == b"tRNS"),
                           None)
                if key is not None and len(key) == 2:
                    value = int.from_bytes(key, "big")
                    if depth < 8:  # OpenCV scales 1/2/4-bit samples to 0..255
                        value = value * 255 // ((1 << depth) - 1)
                    clear = img == value
                    if clear.any():  # a key no pixel has makes nothing transparent
                        top = np.iinfo(img.dtype).max
                        return np.dstack([img, np.where(clear, 0, top).astype(img.dtype)])
        if raw[:4] in (b"II*\x00", b"MM\x00*") and img.ndim == 3 and img.shape[2] == 4:
            tags = _tiff_ifd0(raw)
            if tags.get(_TIFF_PHOTOMETRIC) == _TIFF_SEPARATED and _TIFF_EXTRA_SAMPLES not in tags:
                return np.ascontiguousarray(img[:, :, :3])
            extra = tags.get(_TIFF_EXTRA_SAMPLES, 0)  # 1 associated, 2 unassociated
            if extra == 1 and img.dtype in (np.uint8, np.uint16):
                return _unpremultiply(img)
    except (IndexError, KeyError, struct.error):  # a header too damaged to say: as decoded
        pass
    return img


def _tiff_alpha_as_is(raw: bytes) -> bytes | None:
    """A TIFF declaring unassociated alpha (ExtraSamples = 2), with the declaration changed to
    "unspecified" for the decoder, or None for any other file. libtiff premultiplies such
    8-bit alpha as it decodes, and dividing it out again cost colour where alpha is low
    (0.4 levels under 1 %); read unspecified, the samples come back exactly as stored."""
    if raw[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    try:
        order, ifd, entries, _ = _tiff_entries(raw)
    except (IndexError, struct.error):
        return None
    for k, e in enumerate(entries):
        tag, typ, n = struct.unpack(order + "HHI", e[:8])
        if tag == _TIFF_EXTRA_SAMPLES and typ == 3 and n == 1:
            if struct.unpack(order + "H", e[8:10])[0] != 2:
                return None
            at = ifd + 2 + 12 * k + 8  # the entry's value field
            return raw[:at] + struct.pack(order + "H", 0) + raw[at + 2 :]
    return None


def _unpremultiply(img: np.ndarray) -> np.ndarray:
    top = float(np.iinfo(img.dtype).max)
    a = img[:, :, 3:].astype(np.float32)
    colour = img[:, :, :3].astype(np.float32) * top / np.maximum(a, 1.0)
    colour = np.where(a > 0, np.minimum(colour, top), 0.0)
    out = img.copy()
    out[:, :, :3] = np.rint(colour).astype(img.dtype)
    return out


def _check_pixels(p: Path, width: int, height: int, max_pixels: int | None) -> None:
    n = width * height
    if max_pixels is None or n <= max_pixels:
        return
    size, limit = f"{n / 1e6:.1f} MP", f"{max_pixels / 1e6:g} MP"
    if max_pixels < 1_000_000 or size == f"{max_pixels / 1e6:.1f} MP":
        # In megapixels a small limit read "0.0 MP, over the 1e-05 MP limit", and one near
        # the image's size the same figure twice: whole pixels say it.
        size, limit = f"{n:,} pixels", f"{max_pixels:,}-pixel"
    raise ImageTooLargeError(f"{p} is {width}×{height} ({size}), over the {limit} limit.")


def _to_image(img: np.ndarray, p: Path) -> Image:
    if img.dtype == np.uint8:
        bit_depth, x = 8, img.astype(np.float32) / 255.0
    elif img.dtype == np.uint16:
        bit_depth, x = 16, img.astype(np.float32) / 65535.0
    elif img.dtype in (np.float32, np.float64):
        x = np.nan_to_num(img.astype(np.float32))
        lo, hi = float(x.min()), float(x.max())
        if lo < -_FLOAT_SLACK or hi > 1 + _FLOAT_SLACK:  # clipped, it would lose the picture
            raise ImageReadError(
                f"{p} holds floating-point samples from {lo:.4g} to {hi:.4g}; float images are "
                "read as values from 0 to 1 (scale it to that range, or save it as 16-bit).")
        bit_depth, x = 16, np.clip(x, 0.0, 1.0)
    else:
        raise ImageReadError(f"{p} has {img.dtype} samples; only 8/16-bit images are supported.")

    if x.ndim == 3 and x.shape[2] == 1:
        x = x[:, :, 0]
    alpha = None
    if x.ndim == 2:
        gray, rgb = True, np.repeat(x[:, :, None], 3, axis=2)
    elif x.shape[2] == 2:  # gray + alpha
        gray, rgb, alpha = True, np.repeat(x[:, :, :1], 3, axis=2), x[:, :, 1]
    elif x.shape[2] in (3, 4):
        gray, rgb = False, x[:, :, 2::-1]  # BGR(A) -> RGB
        alpha = x[:, :, 3] if x.shape[2] == 4 else None
    else:
        raise ImageReadError(f"{p} has {x.shape[2]} channels; only gray, RGB and RGBA work.")
    return Image(
        rgb=np.ascontiguousarray(rgb),
        alpha=None if alpha is None else np.ascontiguousarray(alpha),
        bit_depth=bit_depth,
        gray=gray,
        path=p,
        floating=img.dtype in (np.float32, np.float64),
    )


def has_image_signature(path: PathLike) -> bool:
    """Whether the file starts as an image :func:`read_image` decodes does: PNG, JPEG, BMP,
    TIFF, WebP, or one Studio reads but does not write (GIF; PBM, PGM, PPM, PAM and PFM;
    Sun raster; Radiance HDR; AVIF); a cheap check for lists of files, before anything is
    decoded (a truncated file still passes)."""
    try:
        with open(path, "rb") as f:
            b = f.read(16)
    except OSError:
        return False
    return (b.startswith((_PNG_SIGNATURE, b"\xff\xd8", b"BM", b"II*\x00", b"MM\x00*",
                          b"II+\x00", b"MM\x00+"))  # classic TIFF, BigTIFF
            or (b[:4] == b"RIFF" and b[8:12] == b"WEBP")
            or b.startswith(_READ_ONLY_SIGNATURES)
            or _NETPBM.match(b) is not None
            or b[4:12] in (b"ftypavif", b"ftypavis"))


def image_size(path: PathLike, head: int = 1 << 20) -> tuple[int, int] | None:
    """(width, height) from the first ``head`` bytes of an image file's header, without
    decoding it; None when the header does not say there (or the file cannot be read)."""
    try:
        with open(path, "rb") as f:
            return _header_size(f.read(head))
    except OSError:
        return None


def _header_size(b: bytes) -> tuple[int, int] | None:
    """(width, height) parsed from a PNG/JPEG/BMP/TIFF/WebP header, or None if unknown."""
    try:
        if b.startswith(_PNG_SIGNATURE) and b[12:16] == b"IHDR":
            return struct.unpack(">II", b[16:24])
        if b.startswith(b"\xff\xd8"):
            return _jpeg_size(b)
        if b.startswith(b"BM"):
            (dib,) = struct.unpack("<I", b[14:18])
            if dib == 12:  # OS/2 BITMAPCOREHEADER
                return struct.unpack("<HH", b[18:22])
            w, h = struct.unpack("<ii", b[18:26])
            return abs(w), abs(h)  # negative height = top-down rows
        if b[:4] in (b"II*\x00", b"MM\x00*"):
            return _tiff_size(b)
        if b[:4] == b"RIFF" and b[8:12] == b"WEBP":
            return _webp_size(b)
    except (struct.error, IndexError):  # truncated header: let the decoder judge the file
        return None
    return None


def _jpeg_segments(b: bytes) -> Iterator[tuple[int, int, int]]:
    """Yield (marker, payload start, payload end) for JPEG segments up to start-of-scan."""
    i = 2
    while i + 4 <= len(b):
        if b[i] != 0xFF:
            return
        marker = b[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # stand-alone markers
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan
            return
        (length,) = struct.unpack(">H", b[i + 2 : i + 4])
        yield marker, i + 4, i + 2 + length
        i += 2 + length


def _jpeg_size(b: bytes) -> tuple[int, int] | None:
    for marker, start, _ in _jpeg_segments(b):
        if marker in _SOF_MARKERS:
            h, w = struct.unpack(">HH", b[start + 1 : start + 5])
            return w, h
    return None


def _tiff_ifd0(b: bytes) -> dict[int, int]:
    """The single-value SHORT/LONG tags of a TIFF stream's first IFD."""
    order = "<" if b[:2] == b"II" else ">"
    (ifd,) = struct.unpack(order + "I", b[4:8])
    (count,) = struct.unpack(order + "H", b[ifd : ifd + 2])
    tags: dict[int, int] = {}
    for k in range(count):
        e = ifd + 2 + 12 * k
        tag, typ, n = struct.unpack(order + "HHI", b[e : e + 8])
        if n == 1 and typ == 3:
            tags[tag] = struct.unpack(order + "H", b[e + 8 : e + 10])[0]
        elif n == 1 and typ == 4:
            tags[tag] = struct.unpack(order + "I", b[e + 8 : e + 12])[0]
    return tags


def _tiff_size(b: bytes) -> tuple[int, int] | None:
    tags = _tiff_ifd0(b)
    if 256 in tags and 257 in tags:  # ImageWidth, ImageLength
        return tags[256], tags[257]
    return None


def _webp_size(b: bytes) -> tuple[int, int] | None:
    chunk = b[12:16]
    if chunk == b"VP8 " and b[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", b[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and b[20] == 0x2F:
        (bits,) = struct.unpack("<I", b[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(b[24:27], "little") + 1, int.from_bytes(b[27:30], "little") + 1
    return None


def _webp_chunks(b: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(fourcc, payload start, payload end) of each chunk of a WebP (RIFF) stream, stopping
    at the first that runs past its end."""
    i = 12
    while i + 8 <= len(b):
        (n,) = struct.unpack("<I", b[i + 4 : i + 8])
        if i + 8 + n > len(b):
            return
        yield b[i : i + 4], i + 8, i + 8 + n
        i += 8 + n + (n & 1)


def _webp_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + bytes(len(payload) & 1)


def _webp_with_meta(data: bytes, icc: bytes | None, exif: bytes | None) -> bytes:
    """An encoded WebP in the extended format with ``icc`` (an ICCP chunk) and ``exif`` (an
    EXIF chunk) and the VP8X flags that announce them."""
    chunks = [(data[start - 8 : start - 4], data[start:end])
              for _, start, end in _webp_chunks(data)]
    size = _webp_size(data)
    if not chunks or size is None:
        return data
    flags = 0
    if chunks[0][0] == b"VP8X":
        flags = chunks[0][1][0]
        chunks = chunks[1:]
    kinds = [k for k, _ in chunks]
    if b"ALPH" in kinds or any(k == b"VP8L" and len(p) > 4 and (p[4] >> 4) & 1
                               for k, p in chunks):  # VP8L: alpha_is_used, bit 28
        flags |= 0x10
    chunks = [(k, p) for k, p in chunks if k not in (b"ICCP", b"EXIF")]
    head = []
    if icc is not None:
        flags |= 0x20
        head.append((b"ICCP", icc))
    tail = []
    if exif is not None:
        flags |= 0x08
        tail.append((b"EXIF", exif))
    w, h = size
    vp8x = bytes((flags, 0, 0, 0)) + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3,
                                                                                    "little")
    body = b"WEBP" + b"".join(_webp_chunk(k, p) for k, p in [(b"VP8X", vp8x), *head, *chunks,
                                                               *tail])
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _exif_orientation(exif: bytes | None) -> int:
    """The Orientation (1–8) an EXIF block records; 1 when absent or unparsable."""
    if exif is None or exif[:4] not in (b"II*\x00", b"MM\x00*"):
        return 1
    try:
        value = _tiff_ifd0(exif).get(0x0112, 1)
    except (struct.error, IndexError):
        return 1
    return value if 1 <= value <= 8 else 1


def _apply_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels into display orientation (EXIF values 2–8; 1 is as stored)."""
    if orientation == 2:
        img = img[:, ::-1]
    elif orientation == 3:
        img = img[::-1, ::-1]
    elif orientation == 4:
        img = img[::-1]
    elif orientation == 5:
        img = img.swapaxes(0, 1)
    elif orientation == 6:
        img = np.rot90(img, -1)
    elif orientation == 7:
        img = img[::-1, ::-1].swapaxes(0, 1)
    elif orientation == 8:
        img = np.rot90(img, 1)
    return np.ascontiguousarray(img)


# --------------------------------------------------------------------------- ICC and EXIF

_ICC_TAG = b"ICC_PROFILE\x00"
_EXIF_TAG = b"Exif\x00\x00"
_JPEG_PAYLOAD_MAX = 65533  # bytes after a segment's length field
_ICC_CHUNK = _JPEG_PAYLOAD_MAX - len(_ICC_TAG) - 2  # after the tag, sequence number and count
_ICC_MAX = 16 << 20  # larger "profiles" are not read (ICC profiles are kilobytes to a few MB)


def _png_chunks(b: bytes) -> Iterator[tuple[bytes, int, int]]:
    """Yield (type, payload start, payload end) for the chunks of a PNG stream."""
    i = 8
    while i + 8 <= len(b):
        (n,) = struct.unpack(">I", b[i : i + 4])
        kind = b[i + 4 : i + 8]
        yield kind, i + 8, i + 8 + n
        if kind == b"IEND":
            return
        i += 12 + n


def _read_meta(raw: bytes) -> dict[str, bytes | None]:
    """``icc`` and ``exif`` of a PNG, JPEG, WebP or TIFF stream (a TIFF's EXIF is built from
    its photo-describing tags, :func:`_tiff_exif`), each
    ``None`` where absent or broken (a broken profile never stops a photo from opening, nor
    costs it its EXIF orientation)."""
    icc: bytes | None = None
    exif: bytes | None = None
    if raw.startswith(b"\xff\xd8"):
        parts: dict[int, tuple[int, bytes]] = {}
        with contextlib.suppress(struct.error, IndexError):
            for marker, start, end in _jpeg_segments(raw):
                if marker == 0xE2 and raw[start : start + 12] == _ICC_TAG:
                    parts[raw[start + 12]] = (raw[start + 13], raw[start + 14 : end])
                elif marker == 0xE1 and exif is None and raw[start : start + 6] == _EXIF_TAG:
                    exif = raw[start + 6 : end]
        counts = {count for count, _ in parts.values()}
        if parts and len(counts) == 1 and sorted(parts) == list(range(1, counts.pop() + 1)):
            icc = b"".join(parts[k][1] for k in sorted(parts))  # chunks 1..count, no gaps
    elif raw.startswith(_PNG_SIGNATURE):
        with contextlib.suppress(struct.error, IndexError):
            for kind, start, end in _png_chunks(raw):
                if kind == b"iCCP" and icc is None:
                    name, sep, rest = raw[start:end].partition(b"\x00")
                    icc = _inflate(rest[1:], _ICC_MAX) if sep else None
                elif kind == b"eXIf" and exif is None:
                    exif = raw[start:end]
    elif raw[:4] in (b"II*\x00", b"MM\x00*"):
        with contextlib.suppress(struct.error, IndexError, KeyError):
            icc = _tiff_icc(raw)
        with contextlib.suppress(struct.error, IndexError, KeyError):
            exif = _tiff_exif(raw)
    elif raw[:4] == b"RIFF" and raw[8:12] == b"WEBP" and raw[12:16] == b"VP8X" \
            and len(raw) > 20:
        # Only what an extended WebP announces in its VP8X flags, inside its RIFF size, as
        # libwebp reads it.
        flags = raw[20]
        riff = raw[: 8 + struct.unpack("<I", raw[4:8])[0]]
        for kind, start, end in _webp_chunks(riff):
            if kind == b"ICCP" and icc is None and flags & 0x20:
                icc = raw[start:end]
            elif kind == b"EXIF" and exif is None and flags & 0x08:
                exif = raw[start:end]
                if exif.startswith(_EXIF_TAG):  # some writers keep JPEG's "Exif\0\0"
                    exif = exif[len(_EXIF_TAG):]
    if icc is not None:  # its header gives its size: shorter is truncated, longer padded
        size = struct.unpack(">I", icc[:4])[0] if len(icc) >= 128 else 0
        icc = icc[:size] if 128 <= size <= len(icc) else None  # (padding trimmed, as
        # LittleCMS, Qt and Pillow read such a profile)
    if exif is not None and exif[:4] not in (b"II*\x00", b"MM\x00*"):
        exif = None  # not a TIFF structure: nothing a reader could use
    return {"icc": icc, "exif": exif}


def _read_dpi(raw: bytes, exif: bytes | None) -> tuple[float, float] | None:
    """The print resolution, in dots per inch (x, y), of a JPEG (its JFIF density), PNG (pHYs),
    TIFF or BMP stream, else the one its EXIF block ``exif`` records; ``None`` where neither
    records one in units (JFIF's and pHYs' aspect ratios, TIFF's unit "none" are none) or it
    cannot be read."""
    dpi = None
    with contextlib.suppress(struct.error, IndexError, KeyError):
        if raw.startswith(b"\xff\xd8"):
            for marker, start, _ in _jpeg_segments(raw):
                if marker == 0xE0 and raw[start : start + 5] == b"JFIF\x00":
                    x, y = struct.unpack(">HH", raw[start + 8 : start + 12])
                    dpi = _per_inch(x, y, {1: 1.0, 2: 2.54}.get(raw[start + 7]))
                    break
        elif raw.startswith(_PNG_SIGNATURE):
            for kind, start, _ in _png_chunks(raw):
                if kind == b"pHYs":
                    x, y, unit = struct.unpack(">IIB", raw[start : start + 9])
                    dpi = _per_inch(x, y, 0.0254 if unit == 1 else None)  # per metre
                if kind in (b"pHYs", b"IDAT"):
                    break
        elif raw[:4] in (b"II*\x00", b"MM\x00*"):
            dpi = _tiff_dpi(raw)
        elif raw.startswith(b"BM") and struct.unpack("<I", raw[14:18])[0] >= 40:
            x, y = struct.unpack("<ii", raw[38:46])  # pixels per metre
            dpi = _per_inch(x, y, 0.0254)
    if dpi is None and exif is not None:
        with contextlib.suppress(struct.error, IndexError, KeyError):
            dpi = _tiff_dpi(exif)
    return dpi


def _per_inch(x: float, y: float, scale: float | None) -> tuple[float, float] | None:
    """(x, y) per unit as dots per inch (``scale``: inches per unit), or ``None`` for no unit
    or a value that is not positive."""
    if scale is None or not (x > 0 and y > 0):
        return None
    return x * scale, y * scale


def _tiff_dpi(b: bytes) -> tuple[float, float] | None:
    """The XResolution and YResolution of a TIFF stream's (or EXIF block's) first IFD in
    dots per inch, by its ResolutionUnit (inches where none is given, as TIFF says)."""
    order, _, entries, _ = _tiff_entries(b)
    found: dict[int, float] = {}
    unit = 2
    for e in entries:
        tag, typ, n, at = struct.unpack(order + "HHII", e)
        if tag in (_TIFF_XRES, _TIFF_YRES) and typ == 5 and n == 1:  # RATIONAL
            num, den = struct.unpack(order + "II", b[at : at + 8])
            found[tag] = num / den if den else 0.0
        elif tag == _TIFF_RES_UNIT and typ == 3 and n == 1:
            (unit,) = struct.unpack(order + "H", e[8:10])
    if _TIFF_XRES not in found:
        return None
    x = found[_TIFF_XRES]
    return _per_inch(x, found.get(_TIFF_YRES, x), {2: 1.0, 3: 2.54}.get(unit))


_TIFF_XRES, _TIFF_YRES, _TIFF_RES_UNIT = 282, 283, 296
_TIFF_ICC = 34675  # the TIFF tag that holds an ICC profile (type UNDEFINED)


def _tiff_entries(b: bytes) -> tuple[str, int, list[bytes], bytes]:
    """A TIFF stream's byte order, first IFD offset, its raw 12-byte entries and the 4-byte
    offset of the next IFD."""
    order = {b"II*\x00": "<", b"MM\x00*": ">"}[b[:4]]
    (ifd,) = struct.unpack(order + "I", b[4:8])
    (count,) = struct.unpack(order + "H", b[ifd : ifd + 2])
    entries = [b[ifd + 2 + 12 * k : ifd + 14 + 12 * k] for k in range(count)]
    nxt = b[ifd + 2 + 12 * count : ifd + 6 + 12 * count]
    if len(nxt) != 4 or any(len(e) != 12 for e in entries):
        raise IndexError("truncated TIFF directory")
    return order, ifd, entries, nxt


def _tiff_icc(b: bytes) -> bytes | None:
    """The ICC profile in a TIFF stream's first IFD, or ``None``."""
    order, _, entries, _ = _tiff_entries(b)
    for e in entries:
        tag, typ, n, offset = struct.unpack(order + "HHII", e)
        if tag == _TIFF_ICC and typ in (1, 7) and n > 4 and offset + n <= len(b):
            return b[offset : offset + n] if n <= _ICC_MAX else None
    return None


def _tiff_with_icc(b: bytes, icc: bytes) -> bytes:
    """A TIFF stream with ``icc`` in its first IFD (see :func:`_tiff_with_tags`)."""
    return _tiff_with_tags(b, [(_TIFF_ICC, 7, len(icc), icc)])


def _tiff_with_alpha(b: bytes) -> bytes:
    """A TIFF whose last sample is declared unassociated alpha (ExtraSamples = 2), as TIFF 6.0
    asks of any sample beyond the colour ones: OpenCV writes none, so other programs took the
    fourth channel for an unspecified one (and libtiff warned on reading it back)."""
    try:
        order = "<" if b[:2] == b"II" else ">"
        return _tiff_with_tags(b, [(_TIFF_EXTRA_SAMPLES, 3, 1, struct.pack(order + "H", 2))])
    except (KeyError, IndexError, struct.error):  # a BigTIFF: as encoded
        return b


def _tiff_with_tags(b: bytes, tags: list[tuple[int, int, int, bytes]]) -> bytes:
    """A TIFF stream with ``tags`` (tag, type, count, value bytes in the stream's byte order)
    in its first IFD: values longer than 4 bytes and a copy of the IFD with the new entries
    (in tag order, replacing any of the same tag) are appended and the header points at the
    copy. Everything else stays where it was, so every other offset still holds."""
    order, _, entries, nxt = _tiff_entries(b)
    out = bytearray(b)
    new = []
    for tag, typ, n, value in tags:
        new.append(struct.pack(order + "HHI", tag, typ, n) + _tiff_value(out, order, value))
    added = {struct.unpack(order + "H", e[:2])[0] for e in new}
    keep = [e for e in entries if struct.unpack(order + "H", e[:2])[0] not in added]
    keep = sorted(keep + new, key=lambda e: struct.unpack(order + "H", e[:2])[0])
    out += bytes(len(out) % 2)  # TIFF offsets are word-aligned
    ifd = len(out)
    out += struct.pack(order + "H", len(keep)) + b"".join(keep) + nxt
    out[4:8] = struct.pack(order + "I", ifd)
    return bytes(out)


def _tiff_value(out: bytearray, order: str, value: bytes) -> bytes:
    """An IFD entry's 4-byte value field for ``value``: the bytes themselves, padded, when
    they fit, else the offset of a word-aligned copy appended to ``out``."""
    if len(value) <= 4:
        return value + bytes(4 - len(value))
    out += bytes(len(out) % 2)
    at = len(out)
    out += value
    return struct.pack(order + "I", at)


# What of a camera's EXIF a TIFF output carries: from its first IFD, the tags that describe the
# photo rather than the image data (the output's own size, layout and resolution stay; its
# Orientation is written as 1, the pixels being upright), and its EXIF sub-IFD (exposure, lens,
# dates) without pointers, whose offsets meant something only in the source block (the maker's
# private block among them), and without the UNDEFINED blocks that hold numbers in the source's
# byte order when it is not the TIFF's.
_TIFF_EXIF_IFD0 = frozenset({0x010F, 0x0110, 0x0132, 0x013B, 0x8298})
# Not ImageDescription (0x010E): ImageJ and tifffile keep the stack's shape there, which
# would describe a 3-page stack on the 1-page output.
_TIFF_EXTRA_SAMPLES = 338
_TIFF_PHOTOMETRIC = 262
_TIFF_SEPARATED = 5  # Photometric: inks (CMYK)
_EXIF_IFD = 0x8769
_EXIF_SKIP = frozenset({0x927C, 0xA005, 0x8769, 0x8825, 0x0111, 0x0117, 0x0144, 0x0145,
                        0x014A, 0x0201, 0x0202})
_EXIF_BYTE_ORDERED = frozenset({0x8828, 0xA20C, 0xA302, 0xA40B})  # OECF, SFR, CFA, settings
_EXIF_FROM_TIFF_MAX = 1 << 16  # value bytes read from a TIFF's tags, as a JPEG segment holds
_Tag = tuple[int, int, int, bytes]  # tag, type, count, value bytes
_TIFF_FORMATS = {1: "B", 2: "B", 3: "H", 4: "I", 5: "II", 6: "b", 7: "B", 8: "h", 9: "i",
                 10: "ii", 11: "f", 12: "d"}


def _exif_ifd_entries(exif: bytes, src: str, ifd: int, order: str,
                      keep: Callable[[int], bool],
                      budget: list[int]) -> list[_Tag]:
    """The entries of the IFD at ``ifd`` in ``exif`` (byte order ``src``) that ``keep``
    accepts, the first of each tag, as (tag, type, count, value bytes in byte order
    ``order``). ``budget[0]`` bytes may be copied in all; past it, IndexError (entries that
    share their bytes could otherwise make a small block a huge file)."""
    (count,) = struct.unpack(src + "H", exif[ifd : ifd + 2])
    found: dict[int, _Tag] = {}
    for k in range(count):
        e = ifd + 2 + 12 * k
        tag, typ, n = struct.unpack(src + "HHI", exif[e : e + 8])
        if tag in found or not keep(tag) or typ not in _TIFF_FORMATS:
            continue
        if src != order and (tag in _EXIF_BYTE_ORDERED
                             or tag == 0x9286 and _user_comment_unicode(exif, src, e, n)):
            continue
        size = _TIFF_TYPE_SIZES[typ] * n
        budget[0] -= size
        if budget[0] < 0:
            raise IndexError("EXIF values larger than the block")
        if size <= 4:
            raw = exif[e + 8 : e + 8 + size]
        else:
            (at,) = struct.unpack(src + "I", exif[e + 8 : e + 12])
            raw = exif[at : at + size]
        if len(raw) != size:
            continue  # points past the block
        fmt = _TIFF_FORMATS[typ] * n
        found[tag] = (tag, typ, n, struct.pack(order + fmt, *struct.unpack(src + fmt, raw)))
    return list(found.values())


def _user_comment_unicode(exif: bytes, src: str, e: int, n: int) -> bool:
    """Whether the UserComment entry at ``e`` is UNICODE (UCS-2 in the block's byte order)."""
    if n <= 4:
        return exif[e + 8 : e + 12].startswith(b"UNIC")
    (at,) = struct.unpack(src + "I", exif[e + 8 : e + 12])
    return exif[at : at + 8] == b"UNICODE\x00"


def _exif_parts(exif: bytes, order: str, budget: int) -> tuple[list[_Tag], list[_Tag]]:
    """The photo-describing tags of an EXIF block or TIFF stream ``exif`` (any byte order):
    those of its first IFD (:data:`_TIFF_EXIF_IFD0`) and of its EXIF sub-IFD, with values in
    byte order ``order``; at most ``budget`` value bytes, else IndexError."""
    src = {b"II*\x00": "<", b"MM\x00*": ">"}[exif[:4]]
    (ifd0,) = struct.unpack(src + "I", exif[4:8])
    left = [budget]
    tags = _exif_ifd_entries(exif, src, ifd0, order, _TIFF_EXIF_IFD0.__contains__, left)
    sub = _tiff_ifd0(exif).get(_EXIF_IFD)
    entries = (_exif_ifd_entries(exif, src, sub, order, lambda t: t not in _EXIF_SKIP, left)
               if sub is not None else [])
    return tags, entries


def _with_exif_parts(b: bytes, tags: list[_Tag], entries: list[_Tag]) -> bytes:
    """TIFF stream ``b`` with ``tags`` in its first IFD and ``entries`` in a new EXIF sub-IFD
    it points to (values already in ``b``'s byte order)."""
    order = {b"II*\x00": "<", b"MM\x00*": ">"}[b[:4]]
    out = bytearray(b)
    tags = list(tags)
    if entries:
        fields = [struct.pack(order + "HHI", tag, typ, n) + _tiff_value(out, order, v)
                  for tag, typ, n, v in sorted(entries)]
        out += bytes(len(out) % 2)
        at = len(out)
        out += struct.pack(order + "H", len(fields)) + b"".join(fields) + bytes(4)
        tags.append((_EXIF_IFD, 4, 1, struct.pack(order + "I", at)))
    return _tiff_with_tags(bytes(out), tags)


def _tiff_with_exif(b: bytes, exif: bytes) -> bytes:
    """A TIFF stream with the photo-describing part of ``exif`` (an upright EXIF block, any
    byte order): see :data:`_TIFF_EXIF_IFD0`; values are converted to the TIFF's byte order.

    Raises:
        IndexError, KeyError, struct.error: ``exif`` cannot be followed (the caller then
            leaves it out).
    """
    order = {b"II*\x00": "<", b"MM\x00*": ">"}[b[:4]]
    tags, entries = _exif_parts(exif, order, len(exif))
    tags.append((0x0112, 3, 1, struct.pack(order + "H", 1)))  # upright, as written
    return _with_exif_parts(b, tags, entries)


def _tiff_exif(raw: bytes) -> bytes | None:
    """A TIFF file's camera record as an EXIF block, for outputs of other formats: the tags
    a TIFF output carries (:func:`_tiff_with_exif`), without Orientation (the pixels are read
    as the file stores them); ``None`` when it has none."""
    order = {b"II*\x00": "<", b"MM\x00*": ">"}[raw[:4]]
    tags, entries = _exif_parts(raw, order, _EXIF_FROM_TIFF_MAX)
    if not tags and not entries:
        return None
    empty = raw[:4] + struct.pack(order + "IHI", 8, 0, 0)  # header and an empty first IFD
    return _with_exif_parts(empty, tags, entries)


def _inflate(data: bytes, limit: int) -> bytes | None:
    """zlib ``data`` decompressed, or ``None`` when corrupt or larger than ``limit`` bytes (a
    small chunk can inflate to gigabytes)."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit)
    except zlib.error:
        return None
    return None if d.unconsumed_tail else out


def _icc_space(icc: bytes) -> bytes:
    """The colour space an ICC profile describes (``b"RGB "``, ``b"GRAY"``, …)."""
    return icc[16:20]


_TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_GPS_IFD = 0x8825


def upright_exif(exif: bytes) -> bytes | None:
    """``exif`` for a restored copy of its photo, whose pixels are written upright.

    Orientation (if any) becomes 1; the thumbnail (the next IFD) is unlinked, as it shows the
    unrestored photo; the GPS record (where the photo was taken) is removed and its bytes
    zeroed, so outputs shared from a batch never carry a location. ``None`` when the block
    cannot be parsed (it is then not written at all)."""
    b = bytearray(exif)
    try:
        order = {b"II*\x00": "<", b"MM\x00*": ">"}[bytes(b[:4])]
        (ifd,) = struct.unpack(order + "I", b[4:8])
        (count,) = struct.unpack(order + "H", b[ifd : ifd + 2])
        if ifd + 2 + 12 * count + 4 > len(b):
            return None
        gps = None
        for k in range(count):
            e = ifd + 2 + 12 * k
            tag, typ, n = struct.unpack(order + "HHI", b[e : e + 8])
            if tag == 0x0112 and n == 1 and typ in (3, 4):  # SHORT or LONG, as read
                b[e + 8 : e + 12] = struct.pack(order + ("HH" if typ == 3 else "I"),
                                                *((1, 0) if typ == 3 else (1,)))
            elif tag == _GPS_IFD and n == 1 and typ in (4, 13):
                gps = k, struct.unpack(order + "I", b[e + 8 : e + 12])[0]
        if gps is not None:
            k, offset = gps
            _zero_ifd(b, order, offset)
            first = ifd + 2 + 12 * k  # drop the pointer; later entries move up
            b[first : ifd + 2 + 12 * count] = b[first + 12 : ifd + 2 + 12 * count] + bytes(12)
            count -= 1
            b[ifd : ifd + 2] = struct.pack(order + "H", count)
        b[ifd + 2 + 12 * count : ifd + 6 + 12 * count] = bytes(4)  # no next IFD (thumbnail)
    except (KeyError, struct.error, IndexError):
        return None
    return bytes(b)


def _zero_ifd(b: bytearray, order: str, offset: int) -> None:
    """Zero an IFD in place: its entries and the values they point to (bounds-checked; the
    block keeps its length)."""

    def zero(start: int, size: int) -> None:
        stop = min(start + size, len(b))
        if 0 <= start < stop:
            b[start:stop] = bytes(stop - start)

    (count,) = struct.unpack(order + "H", b[offset : offset + 2])
    for j in range(count):
        e = offset + 2 + 12 * j
        if e + 12 > len(b):
            break
        _, typ, n = struct.unpack(order + "HHI", b[e : e + 8])
        size = _TIFF_TYPE_SIZES.get(typ, 1) * n
        if size > 4:
            zero(struct.unpack(order + "I", b[e + 8 : e + 12])[0], size)
    zero(offset, 2 + 12 * count + 4)


def _embed_meta(data: bytes, ext: str, channels: int, icc: bytes | None,
                exif: bytes | None) -> bytes:
    """Put ``icc`` and ``exif`` into an encoded PNG, JPEG or WebP, and ``icc`` and the
    photo-describing part of ``exif`` into a TIFF (:func:`_tiff_with_exif`; BMP: unchanged).
    A profile whose colour space is not what was written (an RGB profile on a one-channel
    file) is left out, as is EXIF that cannot be parsed or does not fit a JPEG segment."""
    if ext == ".webp":
        channels = 3  # cv2 writes every WebP as RGB(A), a gray one too
    if icc is not None and _icc_space(icc) != (b"GRAY" if channels in (1, 2) else b"RGB "):
        icc = None
    exif = upright_exif(exif) if exif is not None else None
    if ext == ".png":
        chunks = b""
        if icc is not None:
            chunks += _png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc))
        if exif is not None:
            chunks += _png_chunk(b"eXIf", exif)
        ihdr_end = 8 + 8 + struct.unpack(">I", data[8:12])[0] + 4
        return data[:ihdr_end] + chunks + data[ihdr_end:]
    if ext in (".jpg", ".jpeg"):
        segments = b""
        if exif is not None and len(_EXIF_TAG) + len(exif) <= _JPEG_PAYLOAD_MAX:
            segments += _jpeg_segment(0xE1, _EXIF_TAG + exif)
        if icc is not None:
            parts = [icc[i : i + _ICC_CHUNK] for i in range(0, len(icc), _ICC_CHUNK)]
            if len(parts) <= 255:
                for n, part in enumerate(parts, 1):
                    segments += _jpeg_segment(0xE2, _ICC_TAG + bytes((n, len(parts))) + part)
        at = 2  # after SOI, and after a JFIF APP0 segment, which must come first
        if data[2:4] == b"\xff\xe0":
            at = 4 + struct.unpack(">H", data[4:6])[0]
        return data[:at] + segments + data[at:]
    if ext == ".webp" and (icc is not None or exif is not None):
        return _webp_with_meta(data, icc, exif)
    if ext in (".tif", ".tiff") and (icc is not None or exif is not None):
        try:
            data = _tiff_with_icc(data, icc) if icc is not None else data
        except (KeyError, IndexError, struct.error):  # a BigTIFF, or past 4 GiB: as encoded
            return data
        try:
            return _tiff_with_exif(data, exif) if exif is not None else data
        except (KeyError, IndexError, struct.error):  # EXIF it cannot follow: left out
            return data
    return data


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _with_dpi(data: bytes, ext: str, dpi: tuple[float, float]) -> bytes:
    """An encoded PNG (pHYs), JPEG (JFIF density) or BMP (pixels per metre) with the print
    resolution ``dpi`` (dots per inch, x and y); other formats unchanged (a TIFF's is given
    to its encoder, a WebP has no place for one)."""
    def per_metre(v: float) -> int:
        return max(1, min(round(v / 0.0254), 2**31 - 1))

    if ext == ".png":
        ihdr_end = 8 + 8 + struct.unpack(">I", data[8:12])[0] + 4
        x, y = per_metre(dpi[0]), per_metre(dpi[1])
        return data[:ihdr_end] + _png_chunk(b"pHYs", struct.pack(">IIB", x, y, 1)) + \
            data[ihdr_end:]
    if ext in (".jpg", ".jpeg"):
        x, y = (max(1, min(round(v), 65535)) for v in dpi)
        density = struct.pack(">BHH", 1, x, y)  # units 1: dots per inch
        if data[2:4] == b"\xff\xe0" and data[6:11] == b"JFIF\x00":  # the encoder's APP0
            return data[:13] + density + data[18:]
        return data[:2] + _jpeg_segment(0xE0, b"JFIF\x00\x01\x01" + density + bytes(2)) + \
            data[2:]
    if ext == ".bmp" and struct.unpack("<I", data[14:18])[0] >= 40:
        return data[:38] + struct.pack("<ii", per_metre(dpi[0]), per_metre(dpi[1])) + data[46:]
    return data


# --------------------------------------------------------------------------- writing


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] (clipped, NaN → 0) to rounded uint8 of the same shape."""
    return np.round(np.nan_to_num(np.clip(rgb, 0.0, 1.0)) * 255.0).astype(np.uint8)


def _quantize(x: np.ndarray, bit_depth: int) -> np.ndarray:
    if bit_depth == 16:
        return np.round(np.nan_to_num(np.clip(x, 0.0, 1.0)) * 65535.0).astype(np.uint16)
    return to_uint8(x)


def _check_scale(values: np.ndarray, name: str) -> None:
    """Refuse an array on another scale than 0-1: an integer one (a cv2.imread result) or
    floats left in 0-255 had been clipped to an all-white file without a word."""
    if not np.issubdtype(values.dtype, np.floating):
        raise UsageError(f"{name} must be floats from 0 to 1, got {values.dtype}; divide by "
                         "255 (65535 for 16 bits)")
    hi = float(values.max()) if values.size else 0.0
    if math.isfinite(hi) and hi > 2.0:  # +inf clips to white, as the docstring says
        raise UsageError(f"{name} must be floats from 0 to 1, got values up to {hi:g}; "
                         "divide by 255 (65535 for 16 bits)")


def write_image(
    path: PathLike,
    rgb: np.ndarray,
    alpha: np.ndarray | None = None,
    bit_depth: int = 8,
    inputs: Iterable[PathLike] = (),
    jpeg_quality: int = 95,
    metadata: Mapping[str, str] | None = None,
    gray: bool = False,
    icc: bytes | None = None,
    exif: bytes | None = None,
    dpi: tuple[float, float] | None = None,
    text: Mapping[str, str] | None = None,
) -> Path:
    """Write an RGB(A) image atomically; the format follows the file extension.

    Alpha is kept for PNG/TIFF/WebP/BMP; for JPEG the image is flattened over white. 16-bit
    is written for PNG/TIFF when ``bit_depth=16``, 8-bit otherwise. WebP is written
    lossless. ``metadata`` becomes PNG text chunks and is ignored for other formats (callers
    write a sidecar there).

    Args:
        path: output file; its folder must exist.
        rgb: float RGB, clipped to [0, 1]. Shape: (H, W, 3).
        alpha: optional float alpha in [0, 1]. Shape: (H, W).
        bit_depth: 8 or 16.
        inputs: files this output must never replace.
        jpeg_quality: JPEG quality 0–100.
        metadata: text key/value pairs for PNG.
        gray: write one channel, the mean of R, G and B (as a gray input was read); with
            alpha, RGBA with three equal channels (OpenCV writes no gray+alpha).
        icc: an ICC colour profile for PNG, JPEG, WebP and TIFF (an input's :attr:`Image.icc`),
            written when its colour space is what is written (RGB, or gray for one channel).
        exif: an EXIF block for PNG, JPEG, WebP and TIFF (an input's :attr:`Image.exif`),
            written with Orientation 1 (the pixels are upright), without its thumbnail or GPS
            record; a TIFF gets its photo-describing tags (:func:`_tiff_with_exif`).
        dpi: a print resolution in dots per inch (x, y) for PNG, JPEG, TIFF and BMP (an
            input's :attr:`Image.dpi`); JPEG and TIFF hold whole numbers of dots per inch.
        text: more PNG text (an input's :attr:`Image.png_text`), under ``metadata``, whose
            keys win; ``drcnet.*`` keys and keys a PNG cannot hold are left out.

    Returns:
        The path written.

    Raises:
        ImageWriteError: unknown extension, the output is an input, the folder is missing or
            unwritable, the image holds NaN, or encoding failed. ImageWriteError too for an
            existing output made read-only (:func:`read_only`).
        UsageError: (a ValueError) arrays of the wrong shape, integer arrays or values past
            2 (an image in 0-255), a ``bit_depth`` other than 8 and 16, a PNG text key that
            is not 1–79 Latin-1 characters.
    """
    p = Path(path)
    ext = p.suffix.lower()
    rgb = np.asarray(rgb)
    alpha = None if alpha is None else np.asarray(alpha)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise UsageError(f"rgb must be H×W×3, got shape {rgb.shape}")
    if alpha is not None and alpha.shape != rgb.shape[:2]:
        raise UsageError(f"alpha must be H×W = {rgb.shape[:2]}, got shape {alpha.shape}")
    if bit_depth not in (8, 16):
        raise UsageError(f"bit_depth must be 8 or 16, got {bit_depth}")
    _check_scale(rgb, "rgb")
    if alpha is not None:
        _check_scale(alpha, "alpha")
    check_output_path(p, inputs)
    check_output_size(p, rgb.shape[1], rgb.shape[0])
    if rgb.size and not np.isfinite(rgb.min()):  # NaN or -inf; +inf clips to white
        raise ImageWriteError(f"Cannot write {p}: the image holds NaN values (a restore that "
                              "broke down), which would be written as black.")

    depth = bit_depth if ext in _16BIT_EXTENSIONS else 8
    if alpha is not None and ext not in _ALPHA_EXTENSIONS:
        # Flattened over white, as photo editors export a transparent image to JPEG: left as
        # is, what was hidden under alpha 0 (colours the file never showed) came into view.
        a = np.clip(alpha.astype(np.float32), 0.0, 1.0)[:, :, None]
        rgb = np.clip(rgb, 0.0, 1.0) * a + (1.0 - a)
    if gray:
        pixels = _quantize(rgb.mean(axis=2, dtype=np.float32), depth)[:, :, None]
        if alpha is not None and ext in _ALPHA_EXTENSIONS:
            pixels = np.repeat(pixels, 3, axis=2)
    else:
        pixels = _quantize(rgb[:, :, ::-1], depth)
    if alpha is not None and ext in _ALPHA_EXTENSIONS:
        pixels = np.concatenate([pixels, _quantize(alpha, depth)[:, :, None]], axis=2)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if ext in (".jpg", ".jpeg") else []
    if dpi is not None and ext in (".tif", ".tiff"):
        params += [cv2.IMWRITE_TIFF_RESUNIT, cv2.IMWRITE_TIFF_RESOLUTION_UNIT_INCH,
                   cv2.IMWRITE_TIFF_XDPI, max(1, round(dpi[0])),
                   cv2.IMWRITE_TIFF_YDPI, max(1, round(dpi[1]))]
    try:
        ok, buf = cv2.imencode(ext, np.ascontiguousarray(pixels), params)
    except cv2.error:
        ok = False
    if not ok:
        raise ImageWriteError(f"Cannot write {p}: encoding as {ext} failed.")
    data = buf.tobytes()
    if ext in (".tif", ".tiff") and pixels.shape[2] in (2, 4):
        data = _tiff_with_alpha(data)
    if dpi is not None:
        data = _with_dpi(data, ext, dpi)
    if icc is not None or exif is not None:
        data = _embed_meta(data, ext, pixels.shape[2], icc, exif)
    if text:
        metadata = {**{k: v for k, v in text.items() if _carried_key(k)}, **(metadata or {})}
    if metadata and ext == ".png":
        data = _add_png_text(data, metadata)
    atomic_write(p, data)
    return p


def check_image_type(path: PathLike) -> None:
    """Raise unless ``path`` names a file of a type :func:`write_image` writes; callers check
    before long work, not after it.

    Raises:
        ImageTypeError: the name is wrong in itself: an extension Studio does not write, none,
            or a trailing slash (a :class:`~drcnet.errors.UsageError` too: exit status 2).
        ImageWriteError: a folder of that name exists (what the disk holds: status 1).
    """
    p = Path(path)
    ext = p.suffix.lower()
    if str(path).endswith(("/", os.sep)) or p.is_dir():
        error = ImageTypeError if str(path).endswith(("/", os.sep)) else ImageWriteError
        raise error(f"Cannot write {path}: it is a folder; name the image file "
                    f"to write (.png, .jpg, …).")
    if ext not in IMAGE_EXTENSIONS:
        what = f"'{ext}' is not a supported image type" if ext else "it has no file extension"
        raise ImageTypeError(f"Cannot write {p}: {what} (use {', '.join(IMAGE_EXTENSIONS)}).")


def check_output_size(path: PathLike, width: int, height: int) -> None:
    """Refuse an output of ``width×height`` that ``path``'s format cannot hold (WebP at most
    16383 px a side, JPEG 65500), before the work that would make it.

    Raises:
        ImageWriteError: saying the limit and what to use instead.
    """
    ext = Path(path).suffix.lower()
    limit = _MAX_SIDE.get(ext)
    if limit is not None and max(width, height) > limit:
        raise ImageWriteError(
            f"Cannot write {path}: {ext} holds at most {limit} pixels a side and this output "
            f"is {width}×{height}; use .png or .tif.")


def check_output_path(path: PathLike, inputs: Iterable[PathLike] = ()) -> None:
    """Refuse an output path :func:`write_image` cannot or must not write: a type it does not
    write, one of ``inputs``, a missing folder, a folder's name.

    Raises:
        ImageWriteError: saying which, and what to do.
    """
    p = Path(path)
    check_image_type(p)
    for inp in inputs:
        if same_file(p, Path(inp)):
            raise ImageWriteError(f"{p} is an input file; choose another output path.")
    folder = p.parent
    if not folder.is_dir():
        raise ImageWriteError(f"Cannot write {p}: {folder} is a file, not a folder."
                              if folder.exists() else
                              f"Cannot write {p}: the folder {folder} does not exist.")
    if p.is_dir():
        raise ImageWriteError(f"Cannot write {p}: a folder of that name exists.")


def read_only(path: PathLike) -> bool:
    """Whether ``path`` is a file its user made read-only: its owner's write bit cleared
    (Windows' read-only attribute), or no write access for this process. The bit is read as
    well because root writes past it, and a file a user protected should not be replaced
    by anyone's run."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not mode & stat.S_IWUSR or not os.access(path, os.W_OK)


def folder_write_problem(folder: PathLike) -> str | None:
    """Why nothing can be written into ``folder`` now, or None: a file is made there and
    removed, which also catches what permission bits do not show (ACLs, an immutable
    folder, which even root cannot write)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (through links, hard links or case)."""
    try:
        if a.exists() and b.exists() and os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return os.path.normcase(a.resolve()) == os.path.normcase(b.resolve())


def atomic_write(p: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``p``, fsync, then rename over ``p``. A ``p``
    that is read-only is not replaced (on Windows the rename would fail, and the read-only
    temp file could not be removed either)."""
    if read_only(p):
        raise ImageWriteError(f"Cannot write {p}: it exists and is read-only; make it "
                              "writable, or choose another name.")
    try:
        fd, tmp = make_temp(p)
    except OSError as e:
        why = ("the folder is not writable" if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
               else "no file can be made")
        raise ImageWriteError(
            f"Cannot write {p}: {why} in {p.parent} ({e.strerror or e})."
        ) from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if p.exists():  # keep the permissions of the file being replaced
            os.chmod(tmp, stat.S_IMODE(p.stat().st_mode))
        os.replace(tmp, p)
    except BaseException as e:
        remove_temp(tmp)
        if isinstance(e, OSError):
            raise ImageWriteError(f"Cannot write {p} ({e.strerror or e}).") from e
        raise


def remove_temp(tmp: str) -> None:
    """Remove a failed write's temp file, quietly. Windows removes no read-only file, so one
    made read-only (it took the replaced file's mode) is made writable first; only then, as
    a vfat or exFAT drive on Linux refuses the mode change, and a chmod tried first had left
    the file there."""
    try:
        os.unlink(tmp)
    except PermissionError:
        with contextlib.suppress(OSError):
            os.chmod(tmp, stat.S_IWRITE | stat.S_IREAD)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    except OSError:
        pass


def make_temp(p: Path) -> tuple[int, str]:
    """Create a temporary file beside ``p`` to write and then rename over it; returns its
    descriptor and name.

    Like ``tempfile.mkstemp(dir=..., prefix='.'+name, suffix='.part')``, but created with mode
    0o666 so the umask applies: mkstemp's 0o600 would leave outputs (images, weight files)
    readable by their owner only.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    # At most 100 bytes of the name: a name the file system holds (255 bytes) must leave
    # room for the dot, the 8 hex digits and ".part" (a 245-byte name had failed)
    stem = p.name
    while len(os.fsencode(stem)) > 100:  # the file system's bytes (a name need not be UTF-8)
        stem = stem[:-1]
    for _ in range(100):
        tmp = str(p.parent / f".{stem}{secrets.token_hex(4)}.part")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {p}")


# --------------------------------------------------------------------------- PNG text


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _add_png_text(png: bytes, metadata: Mapping[str, str]) -> bytes:
    """Insert one tEXt chunk per pair after IHDR (iTXt when not Latin-1)."""
    chunks = []
    for key, value in metadata.items():
        value = clean_text(value)
        try:
            k = key.encode("latin-1")
        except UnicodeEncodeError:
            k = b""
        if not 1 <= len(k) <= 79 or b"\x00" in k:
            raise UsageError(f"PNG text key must be 1–79 Latin-1 characters, got {key!r}")
        try:
            chunks.append(_png_chunk(b"tEXt", k + b"\x00" + value.encode("latin-1")))
        except UnicodeEncodeError:
            payload = k + b"\x00\x00\x00\x00\x00" + value.encode("utf-8")
            chunks.append(_png_chunk(b"iTXt", payload))
    ihdr_end = 8 + 8 + struct.unpack(">I", png[8:12])[0] + 4
    return png[:ihdr_end] + b"".join(chunks) + png[ihdr_end:]


def read_png_text(path: PathLike) -> dict[str, str]:
    """The tEXt, zTXt and iTXt key/value pairs of a PNG file.

    Raises:
        ImageReadError: the file cannot be read or is not a PNG.
    """
    p = Path(path)
    try:
        b = p.read_bytes()
    except OSError as e:
        raise ImageReadError(f"{p} cannot be read ({e.strerror or e}).") from e
    if not b.startswith(_PNG_SIGNATURE):
        raise ImageReadError(f"{p} is not a PNG file.")
    out: dict[str, str] = {}
    try:
        for kind, start, end in _png_chunks(b):
            pair = _png_text_pair(kind, b[start:end])
            if pair is not None:
                out[pair[0]] = pair[1]
    except (IndexError, zlib.error, UnicodeDecodeError) as e:
        raise ImageReadError(f"{p} has a corrupt PNG text chunk.") from e
    return out


def _png_text_pair(kind: bytes, payload: bytes, limit: int | None = None
                   ) -> tuple[str, str] | None:
    """The key and text of a tEXt, zTXt or iTXt chunk's ``payload``, or ``None`` for a chunk
    of another type.

    Raises:
        IndexError, zlib.error, UnicodeDecodeError: a corrupt chunk, or (zlib.error) one that
            inflates to more than ``limit`` bytes.
    """
    key, _, rest = payload.partition(b"\x00")
    if kind == b"tEXt":
        return key.decode("latin-1"), rest.decode("latin-1")
    if kind == b"zTXt":
        return key.decode("latin-1"), _unzip(rest[1:], limit).decode("latin-1")
    if kind == b"iTXt":
        compressed, text = rest[0], rest[2:].split(b"\x00", 2)[2]
        text = _unzip(text, limit) if compressed else text
        return key.decode("latin-1"), text.decode("utf-8")
    return None


def _unzip(data: bytes, limit: int | None) -> bytes:
    if limit is None:
        return zlib.decompress(data)
    out = _inflate(data, limit)
    if out is None:
        raise zlib.error(f"corrupt, or more than {limit} bytes")
    return out


_PNG_TEXT_MAX = 1 << 20  # text bytes an input's compressed chunks may inflate to, in all


def _png_own_text(raw: bytes) -> dict[str, str]:
    """A PNG stream's text an output carries (:attr:`Image.png_text`): each key's first
    value, corrupt chunks and compressed text past :data:`_PNG_TEXT_MAX` bytes left out."""
    out: dict[str, str] = {}
    if not raw.startswith(_PNG_SIGNATURE):
        return out
    left = _PNG_TEXT_MAX
    for kind, start, end in _png_chunks(raw):
        try:
            pair = _png_text_pair(kind, raw[start:end], max(left, 1))  # 0 is no limit
        except (IndexError, zlib.error, UnicodeDecodeError):
            continue
        if pair is not None and _carried_key(pair[0]):
            out.setdefault(*pair)
            if kind != b"tEXt":
                left -= len(pair[1])
    return out


def _carried_key(key: str) -> bool:
    """Whether an input's PNG text of ``key`` goes to an output: not Studio's ``drcnet.*``
    record (it described another run), the XMP packet, nor ImageMagick's "Raw profile type"
    copies of EXIF, IPTC and XMP (EXIF there could hold a GPS location); and one a PNG
    holds, 1-79 printable Latin-1 characters."""
    try:
        key.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return (1 <= len(key) <= 79 and key.isprintable() and not key.startswith("drcnet.")
            and key != "XML:com.adobe.xmp" and not key.lower().startswith("raw profile type"))

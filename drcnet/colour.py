"""Colour profiles without a colour-management library: pixels of a photo with an RGB
matrix/TRC ICC profile (Display P3, Adobe RGB, ProPhoto, a camera's or a monitor's own)
converted to sRGB.

Where a file carries the photo's profile, its pixels are left as they are and the profile
goes with them (:func:`drcnet.compare.carried_meta`). The summary sheet cannot carry one: its
colour maps and text are sRGB, so its photo panels are converted instead (:func:`to_srgb`).
A profile this module cannot read (LUT-based, gray, CMYK, broken) leaves the pixels as they
are, as before; :func:`matrix_profile` says which.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

# sRGB's colorants adapted to the ICC's D50 connection space (Bradford), the columns of
# the linear-sRGB -> XYZ(D50) matrix, as sRGB profiles store them (rXYZ, gXYZ, bXYZ).
SRGB_D50 = np.array([[0.4360747, 0.3850649, 0.1430804],
                     [0.2225045, 0.7168786, 0.0606169],
                     [0.0139322, 0.0971045, 0.7141733]])
_LUT = 4096  # samples of each tone curve, interpolated linearly between them
_ENCODE = 65536  # samples of the sRGB encoding (steep near black: 12.92 per unit)


@dataclass(frozen=True)
class MatrixProfile:
    """An RGB matrix/TRC profile: per-channel tone curves to linear light (sampled on
    ``_LUT`` points of [0, 1]) and the 3×3 matrix from linear RGB to XYZ (D50)."""

    matrix: np.ndarray
    curves: np.ndarray  # 3 × _LUT

    def is_srgb(self) -> bool:
        """Whether this is sRGB, so that converting would change no 8-bit value: colorants
        within 3e-4 of sRGB's (LittleCMS's own sRGB is 2.6e-4 off; 2e-3 moved colours by up
        to 11 levels) and tone curves within half a level once encoded as sRGB."""
        x = np.linspace(0.0, 1.0, _LUT)
        return bool(np.abs(self.matrix - SRGB_D50).max() <= 3e-4
                    and np.abs(_srgb_encode(self.curves) - x[None]).max() <= 0.5 / 255)


def _s15(b: bytes) -> float:
    return struct.unpack(">i", b)[0] / 65536.0


def _curve(data: bytes, x: np.ndarray) -> np.ndarray | None:
    """A 'curv' or 'para' tag evaluated at ``x`` (None: not a tone curve this reads)."""
    kind = data[:4]
    if kind == b"curv" and len(data) >= 12:
        n = struct.unpack(">I", data[8:12])[0]
        if n == 0:
            return x.copy()
        if n == 1 and len(data) >= 14:
            return x ** (struct.unpack(">H", data[12:14])[0] / 256.0)
        if len(data) < 12 + 2 * n:
            return None
        table = np.frombuffer(data[12 : 12 + 2 * n], dtype=">u2").astype(np.float64) / 65535
        return np.interp(x, np.linspace(0, 1, n), table)
    if kind == b"para" and len(data) >= 12:
        fn = struct.unpack(">H", data[8:10])[0]
        count = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}.get(fn)
        if count is None or len(data) < 12 + 4 * count:
            return None
        g, a, b, c, d, e, f = [_s15(data[12 + 4 * i : 16 + 4 * i]) for i in range(count)] + \
            [0.0] * (7 - count)
        if fn == 0:
            return x**g
        if fn in (1, 2):
            d = -b / a if a else 0.0
            e = c if fn == 2 else 0.0
            c = 0.0
            f = e
        with np.errstate(invalid="ignore"):
            power = np.maximum(a * x + b, 0.0) ** g + e
        return np.where(x >= d, power, c * x + f)
    return None


def matrix_profile(icc: bytes | None) -> MatrixProfile | None:
    """``icc`` as a matrix/TRC profile, or ``None`` when it is none (no profile, not RGB, no
    XYZ connection space, LUT-only, a tag missing or broken)."""
    if not icc or len(icc) < 132 or icc[16:20] != b"RGB " or icc[20:24] != b"XYZ ":
        return None
    with np.errstate(all="ignore"):  # a broken curve is found below, not warned about
        return _read_matrix_profile(icc)


def _read_matrix_profile(icc: bytes) -> MatrixProfile | None:
    try:
        count = struct.unpack(">I", icc[128:132])[0]
        tags: dict[bytes, bytes] = {}
        for i in range(min(count, 1000)):
            sig, off, size = struct.unpack(">4sII", icc[132 + 12 * i : 144 + 12 * i])
            if off + size <= len(icc):
                tags[sig] = icc[off : off + size]
        columns = []
        for sig in (b"rXYZ", b"gXYZ", b"bXYZ"):
            data = tags[sig]
            if data[:4] != b"XYZ " or len(data) < 20:
                return None
            columns.append([_s15(data[8 + 4 * k : 12 + 4 * k]) for k in range(3)])
        x = np.linspace(0.0, 1.0, _LUT)
        curves = [_curve(tags[sig], x) for sig in (b"rTRC", b"gTRC", b"bTRC")]
    except (KeyError, struct.error, ValueError, ZeroDivisionError):
        return None
    matrix = np.array(columns).T
    if any(c is None or not np.all(np.isfinite(c)) for c in curves) or \
            abs(np.linalg.det(matrix)) < 1e-6:
        return None
    return MatrixProfile(matrix, np.stack(curves))


def _srgb_decode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _srgb_encode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.maximum(v, 0.0) ** (1 / 2.4) - 0.055)


def to_srgb(rgb: np.ndarray, icc: bytes | None) -> np.ndarray:
    """``H×W×3`` float [0, 1] pixels in ``icc``'s colour space, in sRGB (colours outside
    sRGB's gamut clipped, relative colorimetric). Returned as they are when the profile is
    absent, sRGB or not a matrix/TRC profile (:func:`matrix_profile`).

    Tone curves and the sRGB encoding are looked up in tables (``_LUT`` and ``_ENCODE``
    entries): within one 8-bit level of LittleCMS (tests/drcnet/test_colour.py), which is
    what its one use, a summary sheet's 8-bit panels, needs; about 12 bits, so not for
    16-bit output."""
    profile = matrix_profile(icc)
    if profile is None or profile.is_srgb():
        return rgb
    # Linear between the curve's samples: the nearest one had been up to 2 levels off
    # LittleCMS where a wide matrix (ProPhoto) amplifies the step.
    pos = np.clip(np.nan_to_num(rgb), 0.0, 1.0).astype(np.float32) * np.float32(_LUT - 1)
    low = np.minimum(pos.astype(np.int32), _LUT - 2)
    frac = pos - low
    curves = profile.curves.astype(np.float32)
    linear = np.empty(rgb.shape, np.float32)
    for i in range(3):
        a, b = curves[i][low[..., i]], curves[i][low[..., i] + 1]
        linear[..., i] = a + (b - a) * frac[..., i]
    matrix = (np.linalg.inv(SRGB_D50) @ profile.matrix).astype(np.float32)
    out = linear.reshape(-1, 3) @ matrix.T
    np.clip(out, 0.0, 1.0, out=out)
    encode = _srgb_encode(np.linspace(0.0, 1.0, _ENCODE)).astype(np.float32)
    out = encode[(out * (_ENCODE - 1) + 0.5).astype(np.int32)]
    return out.reshape(rgb.shape)

"""Synthetic degradations: sensor noise, rain streaks and camera-shake blur.

Every function takes a float32 RGB image in [0, 1] of shape (H, W, 3) and a
:class:`numpy.random.Generator`, and returns a new float32 image in [0, 1]; the same seed gives
the same result. :func:`degrade` applies a named recipe from :data:`DEGRADATIONS` and returns
``(degraded, info)``, where ``info`` records the drawn parameters (and, for blur, the kernel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .errors import UsageError

Info = dict[str, Any]
Recipe = Callable[[np.ndarray, np.random.Generator], tuple[np.ndarray, Info]]


# ------------------------------------------------------------------------ colour space
def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] to linear light."""
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Linear light in [0, 1] to sRGB-encoded values."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055).astype(np.float32)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip through 8-bit JPEG at ``quality`` (1–100)."""
    u8 = cv2.cvtColor((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        raise RuntimeError("JPEG encoding failed")
    out = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return out.astype(np.float32) / 255.0


def _check(img: np.ndarray) -> None:
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.float32:
        raise ValueError(f"expected a float32 H×W×3 image, got {img.dtype} {img.shape}")


# ------------------------------------------------------------------------------ noise
def gaussian_noise(img: np.ndarray, rng: np.random.Generator, sigma: float,
                   clip: bool = True) -> np.ndarray:
    """Add white Gaussian noise of standard deviation ``sigma`` in 0–255 units, then clip to
    [0, 1] unless ``clip`` is False (clipped, the noise near black and white is smaller than
    ``sigma`` and no longer zero-mean: what a camera's 8-bit file holds, not what the
    denoising literature's AWGN benchmarks add)."""
    noise = rng.standard_normal(img.shape, dtype=np.float32) * np.float32(sigma / 255.0)
    return np.clip(img + noise, 0.0, 1.0) if clip else img + noise


def sensor_noise(
    img: np.ndarray,
    rng: np.random.Generator,
    shot: float,
    read: float,
    jpeg_quality: int | None = None,
) -> np.ndarray:
    """Poisson-Gaussian (heteroscedastic) noise in linear RGB, optionally JPEG-compressed.

    The linear signal ``y`` gets noise of variance ``shot·y + read²`` (the Gaussian
    approximation of photon shot noise plus read noise), then returns to sRGB.

    Args:
        shot: shot-noise gain (e.g. 1e-4 … 2e-2).
        read: read-noise standard deviation in linear units (the recipe: :func:`read_for_shot`).
        jpeg_quality: JPEG quality after noising, or ``None`` for none.
    """
    lin = srgb_to_linear(img)
    std = np.sqrt(np.maximum(lin, 0.0) * shot + read * read).astype(np.float32)
    noisy = linear_to_srgb(lin + std * rng.standard_normal(img.shape, dtype=np.float32))
    return jpeg(noisy, jpeg_quality) if jpeg_quality is not None else noisy


# ------------------------------------------------------------------------------- rain
def line_kernel(length: int, angle_deg: float, width: float = 1.0) -> np.ndarray:
    """A normalised anti-aliased line of ``length`` px at ``angle_deg`` (0 = horizontal)."""
    size = int(length) | 1
    k = np.zeros((size, size), np.float32)
    c = size // 2
    a = np.deg2rad(angle_deg)
    dx, dy = np.cos(a) * (length - 1) / 2, -np.sin(a) * (length - 1) / 2
    scale = 8  # sub-pixel precision for cv2.line's shift argument
    p0 = (round((c - dx) * scale), round((c - dy) * scale))
    p1 = (round((c + dx) * scale), round((c + dy) * scale))
    cv2.line(k, p0, p1, 1.0, max(1, int(round(width))), cv2.LINE_AA, shift=3)
    return k / max(float(k.sum()), 1e-8)


def rain_layer(
    shape: tuple[int, int],
    rng: np.random.Generator,
    density: float,
    angle: float,
    length: int,
    width: float,
) -> np.ndarray:
    """A rain-streak intensity map in [0, 1] of ``shape`` (H, W).

    Sparse random drops are widened by a small Gaussian and smeared along ``angle`` (degrees
    from vertical) with a line kernel of ``length`` px.
    """
    h, w = shape
    drops = (rng.random((h, w), dtype=np.float32) < density).astype(np.float32)
    drops *= rng.uniform(0.5, 1.0, size=(h, w)).astype(np.float32)
    if width > 1.0:
        drops = cv2.GaussianBlur(drops, (0, 0), sigmaX=(width - 1.0) * 0.5 + 0.3)
    k = line_kernel(length, 90.0 + angle, 1.0)
    streaks = cv2.filter2D(drops, -1, k, borderType=cv2.BORDER_REFLECT)
    peak = float(np.percentile(streaks, 99.9)) if streaks.any() else 1.0
    return np.clip(streaks / max(peak, 1e-6), 0.0, 1.0)


def rain(
    img: np.ndarray,
    rng: np.random.Generator,
    density: float = 0.01,
    angle: float = 10.0,
    length: int = 25,
    width: float = 1.5,
    brightness: float = 0.8,
    haze: float = 0.0,
) -> np.ndarray:
    """Rain streaks screen-blended over the image, with optional veiling haze.

    Args:
        density: fraction of pixels that seed a drop (e.g. 0.002 … 0.03).
        angle: streak angle in degrees from vertical.
        length: streak length in px.
        width: streak width in px.
        brightness: streak opacity in [0, 1].
        haze: strength of a uniform grey-white veil in [0, 1).
    """
    streak = rain_layer(img.shape[:2], rng, density, angle, length, width) * brightness
    tone = np.float32(rng.uniform(0.85, 1.0))
    out = 1.0 - (1.0 - img) * (1.0 - streak[..., None] * tone)  # screen blend
    if haze > 0:
        airlight = np.float32(rng.uniform(0.75, 0.95))
        out = out * (1.0 - haze) + airlight * haze
    return np.clip(out, 0.0, 1.0).astype(np.float32)


# ------------------------------------------------------------------------------- blur
def shake_kernel(rng: np.random.Generator, size: int, steps: int = 64,
                 inertia: float = 0.7) -> np.ndarray:
    """A camera-shake blur kernel from a random walk with inertia, normalised to sum 1.

    The trajectory's velocity follows ``v ← inertia·v + (1−inertia)·noise`` with occasional
    jerks; it is rescaled to fit ``size``×``size`` and rasterised by bilinear splatting of
    points at most half a pixel apart along each step, so the streak is one continuous
    piece (splatting only the ``steps`` points had left gaps where the path moved fast).
    Each step carries its own dwell weight, spread evenly along it: a slow stretch of path
    is brighter, as the shutter integrates it longer.
    """
    size = int(size) | 1
    acc = rng.standard_normal((steps, 2))
    jerks = rng.random(steps) < 0.05
    acc[jerks] *= rng.uniform(2.0, 5.0)
    vel = np.zeros((steps, 2))
    v = rng.standard_normal(2)
    for i in range(steps):
        v = inertia * v + (1.0 - inertia) * acc[i]
        vel[i] = v
    pos = np.cumsum(vel, axis=0)
    pos -= pos.mean(axis=0)
    extent = np.abs(pos).max()
    reach = (size - 1) / 2 * rng.uniform(0.6, 1.0)
    pos = pos / max(extent, 1e-6) * reach + (size - 1) / 2
    # Uneven dwell time along the path (the shutter integrates slower motion longer).
    weight = rng.uniform(0.5, 1.5, steps)
    # Fill each step with points at most half a pixel apart, sharing the step's weight
    # (the last point's weight goes unused: ``steps`` points make ``steps - 1`` steps).
    if steps > 1:  # one point is a dot, as before
        seg = np.diff(pos, axis=0)
        parts = np.maximum(1, np.ceil(np.hypot(seg[:, 0], seg[:, 1]) / 0.5)).astype(int)
        step = np.repeat(np.arange(steps - 1), parts)
        frac = (np.arange(parts.sum()) - np.repeat(np.cumsum(parts) - parts, parts) + 0.5
                ) / np.repeat(parts, parts)
        pos = pos[step] + seg[step] * frac[:, None]
        weight = weight[step] / parts[step]
    k = np.zeros((size, size), np.float64)
    x0 = np.floor(pos).astype(int)
    f = pos - x0
    for dx in (0, 1):
        for dy in (0, 1):
            wx = f[:, 0] if dx else 1 - f[:, 0]
            wy = f[:, 1] if dy else 1 - f[:, 1]
            xi = np.clip(x0[:, 0] + dx, 0, size - 1)
            yi = np.clip(x0[:, 1] + dy, 0, size - 1)
            np.add.at(k, (yi, xi), weight * wx * wy)
    return (k / k.sum()).astype(np.float32)


def convolve(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """True convolution (not correlation) of each channel with ``kernel``, reflect borders."""
    return cv2.filter2D(img, -1, cv2.flip(kernel, -1), borderType=cv2.BORDER_REFLECT)


# ---------------------------------------------------------------------------- recipes
@dataclass(frozen=True)
class Degradation:
    """A named recipe; ``margin`` px of context it needs around a crop (blur support)."""

    name: str
    task: str
    fn: Recipe
    margin: int = 0
    doc: str = ""


BLUR_MARGIN = 16  # the shake recipes' context around a crop: kernels up to 31 px need 15 px
BLIND_SIGMA = (0.0, 55.0)  # the blind Gaussian recipes' σ range (DnCNN-B's, in 8-bit units)

# The Gaussian recipes, here for the CPU and drcnet.gpu_synthesis alike: name → (σ in 8-bit
# units, None = blind, drawn from BLIND_SIGMA; which draws are clipped to [0, 1]: "all" as an
# 8-bit file holds them, "none" as the literature's AWGN benchmarks (DnCNN, FFDNet, Restormer
# on CBSD68) add them, or "half", for a model meant for both; the recipe's doc).
GAUSSIAN_RECIPES: dict[str, tuple[float | None, str, str]] = {
    **{f"gaussian{s}": (float(s), "all", f"Gaussian σ={s}, clipped") for s in (15, 25, 50)},
    **{f"gaussian{s}u": (float(s), "none",
                         f"Gaussian σ={s}, not clipped (the AWGN benchmarks' convention)")
       for s in (15, 25, 50)},
    "gaussian": (None, "all", "Plain Gaussian noise of unknown σ ∈ [0, 55] (DnCNN-B's range), "
                              "clipped"),
    "gaussianu": (None, "none", "Plain Gaussian noise of unknown σ ∈ [0, 55], not clipped (the "
                                "AWGN benchmarks')"),
    "gaussianm": (None, "half", "Plain Gaussian noise of unknown σ ∈ [0, 55], clipped to [0, 1] "
                                "in half the draws."),
}


def _gaussian(sigma: float | None, clip: str) -> Recipe:
    """A :data:`GAUSSIAN_RECIPES` recipe: σ (drawn first when blind), then whether to clip
    (drawn when half are), then the noise."""

    def recipe(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Info]:
        s = float(rng.uniform(*BLIND_SIGMA)) if sigma is None else sigma
        info: Info = {"kind": "gaussian", "sigma": s}
        clipped = clip == "all"
        if clip == "half":
            clipped = info["clipped"] = bool(rng.random() < 0.5)
        return gaussian_noise(img, rng, s, clipped), info

    return recipe


def read_for_shot(shot: np.ndarray | float, z: np.ndarray | float) -> np.ndarray | float:
    """The read noise's standard deviation (linear units) that goes with shot-noise gain
    ``shot``, given a standard normal draw ``z``: Brooks et al.'s fit to real cameras
    ("Unprocessing Images for Learned Raw Denoising", CVPR 2019), log read variance =
    2.18·log shot + 1.20 + N(0, 0.26²). Both rise with ISO, so read noise does not swamp
    weak shot noise. Drawn apart (log-uniform in [1e-3, 3e-2], until session 29), 62 % of
    draws had over twice this read noise for their shot noise and 34 % over ten times:
    noisy shadows under clean highlights, the reverse of a high-ISO photo."""
    return np.sqrt(np.exp(2.18 * np.log(shot) + 1.20 + 0.26 * np.asarray(z)))


def _noise(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Info]:
    """Mixed realistic noise: Poisson-Gaussian (maybe JPEG) or plain Gaussian σ ∈ [5, 50]."""
    if rng.random() < 0.3:
        sigma = float(rng.uniform(5.0, 50.0))
        return gaussian_noise(img, rng, sigma), {"kind": "gaussian", "sigma": sigma}
    shot = float(10 ** rng.uniform(-4.0, -1.7))
    read = float(read_for_shot(shot, rng.standard_normal()))
    q = int(rng.integers(60, 96)) if rng.random() < 0.3 else None
    out = sensor_noise(img, rng, shot, read, q)
    return out, {"kind": "sensor", "shot": shot, "read": read, "jpeg": q}


def _rain(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Info]:
    """One or two streak layers of varied density/angle/length/width, sometimes haze."""
    base_angle = float(rng.uniform(-30.0, 30.0))
    out = img
    layers = []
    for _ in range(1 if rng.random() < 0.6 else 2):
        p = {
            "density": float(10 ** rng.uniform(-2.7, -1.5)),
            "angle": base_angle + float(rng.normal(0.0, 3.0)),
            "length": int(rng.integers(8, 41)),
            "width": float(rng.uniform(1.0, 3.0)),
            "brightness": float(rng.uniform(0.4, 0.95)),
        }
        out = rain(out, rng, **p)
        layers.append(p)
    haze = float(rng.uniform(0.0, 0.3)) if rng.random() < 0.3 else 0.0
    if haze:
        airlight = np.float32(rng.uniform(0.75, 0.95))
        out = (out * (1.0 - haze) + airlight * haze).astype(np.float32)
    return out, {"kind": "rain", "layers": layers, "haze": haze}


SAT_GAIN = (1.0, 16.0)  # blursat: how much brighter a clipped highlight was (log-uniform; a guess)
SAT_KNEE = (0.96, 1.0)  # blursat: a channel's clipped weight rises from 0 here to 1 here


def clipped_weight(img: np.ndarray) -> np.ndarray:
    """Per channel, how clipped a value is: 0 below ``SAT_KNEE[0]`` (about 245 of 255), 1 at
    full scale, a ramp between (8-bit and JPEG sources leave clipped areas a little below
    255)."""
    lo, hi = SAT_KNEE
    return np.clip((img - np.float32(lo)) / np.float32(hi - lo), 0.0, 1.0)


def boost_clipped(lin: np.ndarray, img: np.ndarray, gain: float) -> np.ndarray:
    """Linear light ``lin`` of the sRGB image ``img`` with its clipped channels made ``gain``
    times brighter (scaled by ``1 + (gain − 1)·w``, ``w`` from :func:`clipped_weight`): the
    scene a clipped photo came from was brighter there, and only those channels are lower
    bounds. A lamp's clipped white rises in all three; a saturated red in its red alone."""
    return lin * (1.0 + np.float32(gain - 1.0) * clipped_weight(img))


def _shake(linear: bool, saturated: bool = False) -> Recipe:
    """The camera-shake recipes: a kernel of 7–31 px from :func:`shake_kernel`, applied to the
    sRGB values (``blur``) or in linear light (``blurlin``), then a little Gaussian noise
    (σ ≤ 2/255). ``blursat`` is ``blurlin`` with the clipped highlights first made 1–16
    times brighter (:func:`boost_clipped`; log-uniform, a guess: a photo does not say how far
    past full scale a clipped area was, a white shirt perhaps a little, a lamp far more), then
    the blurred light clipped again, as a sensor clips: a lamp leaves a saturated streak, not
    a dim smear. All three draw the same kernel, noise level and noise, in that order
    (``blursat`` draws its gain last), so a seed gives them the same shake."""

    def recipe(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Info]:
        size = int(rng.integers(3, 16)) * 2 + 1
        kernel = shake_kernel(rng, size)
        sigma = float(rng.uniform(0.0, 2.0))
        noise = rng.standard_normal(img.shape, dtype=np.float32) * np.float32(sigma / 255.0)
        info: Info = {"kind": "blur", "size": size, "sigma": sigma, "kernel": kernel}
        if linear:
            lin = srgb_to_linear(img)
            if saturated:
                gain = float(np.exp(rng.uniform(*np.log(SAT_GAIN))))
                lin = boost_clipped(lin, img, gain)
                info["gain"] = gain
            blurred = linear_to_srgb(convolve(lin, kernel))  # clips the light at 1, as a sensor
            info["linear"] = True
        else:
            blurred = convolve(img, kernel)
        return np.clip(blurred + noise, 0.0, 1.0), info

    return recipe


SHAKE_MIX = ("blur", "blurlin", "blursat")  # blurmix's recipes, drawn with equal odds


def _shake_mix(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Info]:
    """One of :data:`SHAKE_MIX`, drawn first, then that recipe (``info["mix"]`` names it):
    for a deblurring model meant to undo the sRGB blur the shipped files learnt, the
    linear-light blur real shake makes, and lamps' saturated streaks alike."""
    name = SHAKE_MIX[int(rng.integers(len(SHAKE_MIX)))]
    # The recipe draws from a generator seeded from this one, not from this one's stream:
    # NumPy's PCG64 serves an integer below 2³² from half of a 64-bit output and keeps the
    # other half for the next such draw, so on the same stream the recipe's kernel path, σ and
    # noise were those it draws alone under the seed (only the kernel's size differed).
    child = np.random.default_rng(int(rng.integers(2**63)))
    out, info = DEGRADATIONS[name].fn(img, child)
    info["mix"] = name
    return out, info


DEGRADATIONS: dict[str, Degradation] = {
    d.name: d
    for d in (
        *(Degradation(name, "denoise", _gaussian(sigma, clip), doc=doc)
          for name, (sigma, clip, doc) in GAUSSIAN_RECIPES.items()),
        Degradation("noise", "denoise", _noise, doc=_noise.__doc__ or ""),
        Degradation("rain", "derain", _rain, doc=_rain.__doc__ or ""),
        Degradation("blur", "deblur", _shake(linear=False), margin=BLUR_MARGIN,
                    doc="Camera shake (kernel 7–31 px) plus a little Gaussian noise (σ ≤ 2/255)."),
        Degradation("blurlin", "deblur", _shake(linear=True), margin=BLUR_MARGIN,
                    doc="Camera shake (kernel 7–31 px) blurred in linear light, as a sensor "
                        "integrates it, plus a little Gaussian noise (σ ≤ 2/255): highlights "
                        "smear into bright streaks."),
        Degradation("blursat", "deblur", _shake(linear=True, saturated=True),
                    margin=BLUR_MARGIN,
                    doc="Camera shake blurred in linear light (blurlin) with the clipped "
                        "highlights first made 1–16 times brighter, as the scene was, and the "
                        "blurred light clipped again: lamps leave saturated streaks."),
        Degradation("blurmix", "deblur", _shake_mix, margin=BLUR_MARGIN,
                    doc="One of blur, blurlin and blursat per image, with equal odds."),
    )
}
TASK_DEFAULT = {"denoise": "noise", "derain": "rain", "deblur": "blur"}


def get_degradation(name: str) -> Degradation:
    """The recipe called ``name``, or a task's default recipe (``denoise`` → ``noise``)."""
    key = TASK_DEFAULT.get(name, name)
    if key not in DEGRADATIONS:
        choices = ", ".join([*DEGRADATIONS, *TASK_DEFAULT])
        raise UsageError(f"unknown degradation '{name}'; choose one of {choices}")
    return DEGRADATIONS[key]


def degrade(
    name: str, img: np.ndarray, rng: np.random.Generator | int
) -> tuple[np.ndarray, Info]:
    """Apply the recipe ``name`` (or a task's default) to ``img``.

    Args:
        name: a key of :data:`DEGRADATIONS`, or ``denoise``/``derain``/``deblur``.
        img: float32 RGB in [0, 1]. Shape: (H, W, 3).
        rng: the random source, or a seed for one; the same state gives the same output.

    Returns:
        The degraded float32 image (same shape, in [0, 1] but for the unclipped
        ``gaussian*u`` recipes and half of ``gaussianm``'s draws) and a dict of drawn parameters.

    Raises:
        UsageError: an unknown recipe, or an image on a 0-255 scale (values past 2).
        ValueError: not a float32 H×W×3 array.
    """
    _check(img)
    if img.size and float(img.max()) > 2.0:  # a 0-255 image: rain and blur came out white
        raise UsageError(f"expected values from 0 to 1, got up to {float(img.max()):g}; "
                         "divide by 255")
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    deg = get_degradation(name)
    out, info = deg.fn(img, rng)
    info["name"] = deg.name
    return np.ascontiguousarray(out, dtype=np.float32), info

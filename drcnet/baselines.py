"""Classical restoration baselines for ``drcnet eval``: NLM and CBM3D denoising, Wiener
deconvolution with a known kernel, and median / guided filtering against rain.

Every function takes a float32 RGB image in [0, 1] of shape (H, W, 3) and returns a new one.
The default parameters were tuned once on the validation photos with the named synthetic
recipes (see each docstring); they are baselines, not competitors tuned per image.
"""

from __future__ import annotations

import importlib.util

import cv2
import numpy as np

from .errors import DRCNetError, UsageError


class BaselineUnavailable(DRCNetError):
    """A baseline cannot run here (an optional package is missing, or it needs facts the data
    does not have, such as the true blur kernel)."""


def _check(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an H×W×3 image, got shape {img.shape}")
    return np.ascontiguousarray(img, dtype=np.float32)


def _to_u8(rgb: np.ndarray) -> np.ndarray:
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


# ------------------------------------------------------------------------------ noise
def estimate_noise_sigma(rgb: np.ndarray) -> float:
    """Standard deviation of white Gaussian noise in 0–255 units (Immerkær 1996).

    The image is filtered with the difference of two Laplacians, which cancels smooth
    structure; the mean absolute response is proportional to σ. Texture biases it upwards,
    so it is a fallback for when the true σ is not known (real or mixed noise).
    """
    rgb = _check(rgb)
    if min(rgb.shape[:2]) < 3:
        raise ValueError(f"noise estimation needs at least 3×3 pixels, got {rgb.shape}")
    m = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    resp = cv2.filter2D(rgb * np.float32(255.0), -1, m, borderType=cv2.BORDER_REFLECT)
    inner = np.abs(resp[1:-1, 1:-1])
    return float(np.sqrt(np.pi / 2.0) * inner.mean() / 6.0)


# Tuned on three validation photos (leuvenA, rubberwhale2, chelsea; 512 crops) at σ = 15, 25
# and 50, h = hColor = a·σ for a in 0.3…1.2: the best a was 0.6 (σ 15, 50) and 0.7 (σ 25),
# and 0.65 is within 0.1 dB of each best. OpenCV's usual h ≈ 0.4–0.5·σ leaves visible noise
# here (σ = 25: 0.45 is 1.6 dB below 0.65).
NLM_H_PER_SIGMA = 0.65
NLM_HCOLOR_PER_SIGMA = 0.65


def nlm_denoise(rgb: np.ndarray, sigma: float, h: float | None = None,
                h_color: float | None = None) -> np.ndarray:
    """OpenCV's ``fastNlMeansDenoisingColored`` (7×7 patches, 21×21 search window).

    Args:
        rgb: noisy float32 RGB in [0, 1]. Shape: (H, W, 3).
        sigma: noise standard deviation in 0–255 units; sets ``h = hColor = 0.65·σ`` unless given.
        h, h_color: filter strengths for luminance and colour (OpenCV's units, 0–255).

    Returns:
        the denoised float32 image, same shape.
    """
    rgb = _check(rgb)
    h = NLM_H_PER_SIGMA * float(sigma) if h is None else float(h)
    hc = NLM_HCOLOR_PER_SIGMA * float(sigma) if h_color is None else float(h_color)
    bgr = cv2.cvtColor(_to_u8(rgb), cv2.COLOR_RGB2BGR)
    out = cv2.fastNlMeansDenoisingColored(bgr, None, max(h, 0.1), max(hc, 0.1), 7, 21)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB).astype(np.float32) / np.float32(255.0)


def bm3d_available() -> bool:
    """Whether the optional ``bm3d`` package (the CBM3D baseline) is importable."""
    return importlib.util.find_spec("bm3d") is not None


def cbm3d_denoise(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """Colour BM3D (Dabov et al. 2007) through the optional ``bm3d`` package.

    Args:
        rgb: noisy float32 RGB in [0, 1]. Shape: (H, W, 3).
        sigma: noise standard deviation in 0–255 units.

    Raises:
        BaselineUnavailable: ``bm3d`` is not installed (``pip install bm3d``).
    """
    rgb = _check(rgb)
    if not bm3d_available():
        raise BaselineUnavailable("CBM3D needs the optional bm3d package: pip install bm3d")
    import bm3d

    out = bm3d.bm3d_rgb(rgb.astype(np.float64), sigma_psd=max(float(sigma), 0.1) / 255.0)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


# ------------------------------------------------------------------------------- blur
# Tuned on the `blur` recipe (kernels 7–31 px, noise σ ≤ 2/255) over the 8 validation photos
# (512 crops). A constant NSR peaks at 5e-3 (31.5 dB mean; 1e-3: 29.8, 3e-2: 29.5), but the best
# constant moves with the noise level (σ = 0.1: 1e-3 is best; σ = 1.9: 3e-2), so when σ is known
# NSR = 5e-3·(σ² + 0.6²), σ in 0–255 units: 32.3 dB mean. The 0.6 floor stands for what the
# model misses besides noise (clipping to [0, 1], the border).
WIENER_NSR = 5e-3
WIENER_NSR_PER_VAR = 5e-3
WIENER_SIGMA_FLOOR = 0.6
# On `blurlin` (blurred in linear light) Wiener works in linear light, where the sRGB noise is
# stretched in the highlights; twice the NSR is best there (validation seed 0: 30.54 dB, against
# 30.31 at ×1 and 30.36 at ×3; on the sRGB values at best 28.73:
# docs/eval/blur_linear/wiener_domain.py).
WIENER_LINEAR_NSR_SCALE = 2.0


def wiener_nsr(sigma: float | None) -> float:
    """The tuned Wiener regulariser for white noise of ``sigma`` (0–255 units; ``None`` =
    unknown, the best constant)."""
    if sigma is None:
        return WIENER_NSR
    return WIENER_NSR_PER_VAR * (float(sigma) ** 2 + WIENER_SIGMA_FLOOR**2)


def psf_to_otf(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The transfer function of a centred ``kernel`` on an FFT grid of ``shape``."""
    kh, kw = kernel.shape
    pad = np.zeros(shape, np.float64)
    pad[:kh, :kw] = kernel
    # Move the kernel's centre (kh//2, kw//2) to the origin so phases are not shifted.
    pad = np.roll(pad, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    return np.fft.rfft2(pad)


def _pad_periodic(rgb: np.ndarray, pad: int) -> np.ndarray:
    """Reflect-pad by ``pad`` and fade the outer half of the padding to the image mean, so
    the FFT's periodic wrap-around meets no edge (an edge taper)."""
    padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REFLECT).astype(np.float64)
    rw = max(pad // 2, 1)
    fade = 0.5 - 0.5 * np.cos(np.pi * (np.arange(rw) + 0.5) / rw)  # 0 → 1

    def ramp(n: int) -> np.ndarray:
        r = np.ones(n)
        r[:rw], r[-rw:] = fade, fade[::-1]
        return r

    weight = (ramp(padded.shape[0])[:, None] * ramp(padded.shape[1])[None, :])[..., None]
    mean = padded.mean(axis=(0, 1), keepdims=True)
    return padded * weight + mean * (1.0 - weight)


def wiener_deconvolve(rgb: np.ndarray, kernel: np.ndarray, nsr: float = WIENER_NSR) -> np.ndarray:
    """Wiener deconvolution with a known blur kernel, per channel through the FFT.

    The image is reflect-padded by the kernel size plus 16 px, and the outer half of the
    padding fades to the image mean, so the FFT's periodic boundary causes no ringing.

    Args:
        rgb: blurred float32 RGB in [0, 1]. Shape: (H, W, 3).
        kernel: the blur kernel (true convolution, centred, any sum; it is normalised).
            Shape: (kh, kw).
        nsr: noise-to-signal power ratio, the regulariser (larger = smoother).

    Returns:
        the deconvolved float32 image, same shape.
    """
    rgb = _check(rgb)
    kernel = np.asarray(kernel, np.float64)
    if kernel.ndim != 2:
        raise ValueError(f"expected a 2-D kernel, got shape {kernel.shape}")
    if not kernel.sum() > 0:  # the caller's kernel: no blur sums to 0 or less (or NaN)
        raise UsageError(f"the blur kernel must have a positive sum, got {kernel.sum():g}")
    if not nsr > 0:
        raise UsageError(f"nsr must be > 0, got {nsr}")
    kernel = kernel / kernel.sum()
    h, w = rgb.shape[:2]
    pad = int(max(kernel.shape)) + 16
    padded = _pad_periodic(rgb, pad)
    shape = padded.shape[:2]
    otf = psf_to_otf(kernel, shape)
    gain = np.conj(otf) / (np.abs(otf) ** 2 + nsr)
    out = np.empty_like(padded)
    for c in range(3):
        out[..., c] = np.fft.irfft2(np.fft.rfft2(padded[..., c]) * gain, s=shape)
    return np.clip(out[pad : pad + h, pad : pad + w], 0.0, 1.0).astype(np.float32)


# ------------------------------------------------------------------------------- rain
# Tuned on the `rain` recipe over the 8 validation photos (512 crops; input 19.35 dB / 0.651).
# A plain median barely helps (3×3: 20.09 dB, 5×5: 20.41, 7×7: 20.53) and lowers SSIM (0.61),
# because streaks up to 3 px wide and 40 px long survive small windows and texture does not.
# Rain is screen-blended, so it only brightens: keeping min(input, filtered) restores the
# texture the filter smeared (9×9: 22.43 dB / 0.727). Guiding by the median's luma
# (r = 8, eps = 1e-3) gives 22.18 dB / 0.720; eps 1e-4…1e-2 and r 2…8 move it by < 0.5 dB.
MEDIAN_KSIZE = 5
RAIN_AWARE_KSIZE = 9
GUIDED_RADIUS = 8
GUIDED_EPS = 1e-3


def median_derain(rgb: np.ndarray, ksize: int = MEDIAN_KSIZE,
                  rain_aware: bool = False) -> np.ndarray:
    """A ``ksize``×``ksize`` median filter per channel: thin streaks are outliers in it.

    Args:
        rgb: rainy float32 RGB in [0, 1]. Shape: (H, W, 3).
        ksize: odd window side.
        rain_aware: keep ``min(input, median)``, as rain only ever brightens a pixel.
    """
    rgb = _check(rgb)
    if ksize < 3 or ksize % 2 == 0:
        raise UsageError(f"ksize must be an odd number >= 3, got {ksize}")
    out = cv2.medianBlur(_to_u8(rgb), int(ksize)).astype(np.float32) / np.float32(255.0)
    return np.minimum(rgb, out) if rain_aware else out


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter (2010) from box filters, gray guide, any number of channels.

    Args:
        guide: float32 gray guide. Shape: (H, W).
        src: float32 image to filter. Shape: (H, W) or (H, W, C).
        radius: box radius in px (window ``2r+1``).
        eps: regulariser; larger smooths more edges away.

    Returns:
        the filtered ``src``, float32, same shape.
    """
    guide = np.ascontiguousarray(guide, np.float32)
    src = np.ascontiguousarray(src, np.float32)
    if guide.ndim != 2 or src.shape[:2] != guide.shape:
        raise ValueError(f"guide {guide.shape} and source {src.shape} do not match")
    win = (2 * int(radius) + 1,) * 2

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, win, borderType=cv2.BORDER_REFLECT)

    g = guide if src.ndim == 2 else guide[..., None]
    mean_g, mean_s = box(guide), box(src)
    var_g = box(guide * guide) - mean_g * mean_g
    if src.ndim == 3:
        mean_g, var_g = mean_g[..., None], var_g[..., None]
    cov = box(np.ascontiguousarray(g * src)) - mean_g * mean_s
    a = cov / (var_g + np.float32(eps))
    b = mean_s - a * mean_g
    return (box(a) * g + box(b)).astype(np.float32)


def guided_derain(rgb: np.ndarray, radius: int = GUIDED_RADIUS, eps: float = GUIDED_EPS,
                  ksize: int = RAIN_AWARE_KSIZE, rain_aware: bool = True) -> np.ndarray:
    """Guided filtering of the rainy image with a streak-free guide.

    The guide is the luma of the ``ksize`` median-filtered image (streaks gone, edges kept);
    the output follows the guide's structure with the input's local colour and contrast (a
    simplified form of Xu et al. 2012, rain removal with a guided filter).

    Args:
        rgb: rainy float32 RGB in [0, 1]. Shape: (H, W, 3).
        radius, eps: the guided filter's window radius and regulariser.
        ksize: the median window that makes the guide.
        rain_aware: keep ``min(input, output)``, as rain only ever brightens a pixel.
    """
    rgb = _check(rgb)
    guide = cv2.cvtColor(median_derain(rgb, ksize), cv2.COLOR_RGB2GRAY)
    out = np.clip(guided_filter(guide, rgb, radius, eps), 0.0, 1.0)
    return np.minimum(rgb, out) if rain_aware else out

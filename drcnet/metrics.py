"""Image quality metrics: PSNR and SSIM on NumPy arrays, PSNR on torch batches."""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from .errors import UsageError

# Floats are taken to span [0, 1] when no data_range is given; past this the images are on
# another scale (0-255), as drcnet.inference.SCALE_LIMITS has it. Unclipped noise goes a
# little past 1 and is scored as it is.
FLOAT_SCALE_LIMIT = 2.0

# Wang et al. (2004): 11×11 Gaussian window, σ = 1.5, K1 = 0.01, K2 = 0.03.
SSIM_WINDOW = 11
_SSIM_SIGMA = 1.5
_SSIM_K1 = 0.01
_SSIM_K2 = 0.03


def _check_pair(a: np.ndarray, b: np.ndarray, data_range: float | None
                ) -> tuple[np.ndarray, np.ndarray, float]:
    """Both images as float64, and the span of their values: ``data_range`` when given,
    else from their type (1 for floats, 255 for uint8, 65535 for uint16), as scikit-image
    does; the default of 1 had scored uint8 images below 0 dB (-27.9 in
    tests/drcnet/test_metrics.py's case)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise UsageError(f"images must have the same shape, got {a.shape} and {b.shape}")
    if a.ndim not in (2, 3):
        raise UsageError(f"images must be H×W or H×W×C, got shape {a.shape}")
    if data_range is None:
        scales = {"float" if t.kind == "f" else t.name for t in (a.dtype, b.dtype)}
        if len(scales) > 1:
            raise UsageError(f"the images are {a.dtype} and {b.dtype}; bring them to one "
                             "scale first (floats from 0 to 1: divide by 255 or 65535)")
        if a.dtype in (np.uint8, np.uint16):
            data_range = float(np.iinfo(a.dtype).max)
        elif np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
            # int64 holds 0-255 values as often as not (np.array of a list, .astype(int)),
            # where its own range had scored them at 379 dB
            raise UsageError(f"the images are {a.dtype}, whose values' span cannot be told "
                             "from the type; give data_range (255 for 8-bit values)")
        else:
            data_range = 1.0
            top = max(float(np.max(a, initial=0.0)), float(np.max(b, initial=0.0)))
            if top > FLOAT_SCALE_LIMIT:  # (NaN is not)
                # psnr(a * 255, b * 255) had scored -27.8 dB without a word
                raise UsageError(f"float images are scored on [0, 1], but these reach {top:g}: "
                                 "divide them by 255 (65535 for 16 bits) or pass "
                                 "data_range=255")
    return a.astype(np.float64), b.astype(np.float64), float(data_range)


def psnr(a: np.ndarray, b: np.ndarray, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB.

    Args:
        a: first image. Shape: (H, W) or (H, W, C).
        b: second image, same shape.
        data_range: the span of possible values; by default from the type (1 for floats
            in [0, 1], 255 for uint8, 65535 for uint16). Images of two types are refused, and
            so are floats past :data:`FLOAT_SCALE_LIMIT` (a 0-255 scale).

    Returns:
        PSNR in dB; ``inf`` for identical images.

    Raises:
        UsageError: (a ValueError) the shapes differ or are not H×W or H×W×C, or the types
            or values do not say the span (see ``data_range``).
    """
    a, b, data_range = _check_pair(a, b, data_range)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return float("inf")
    return 10.0 * math.log10(data_range**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray, data_range: float | None = None) -> float:
    """Structural similarity (Wang et al. 2004), averaged over channels.

    Uses an 11×11 Gaussian window (σ = 1.5) and averages the SSIM map over the pixels whose
    window lies inside the image, matching ``skimage.metrics.structural_similarity`` with
    ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``.

    Args:
        a: first image. Shape: (H, W) or (H, W, C), with H, W >= 11.
        b: second image, same shape.
        data_range: as for :func:`psnr`.

    Returns:
        Mean SSIM, 1.0 for identical images.

    Raises:
        UsageError: (a ValueError) as for :func:`psnr`, images under 11×11, or channels
            first (C×H×W).
    """
    a, b, data_range = _check_pair(a, b, data_range)
    if a.ndim == 3 and a.shape[0] in (1, 3, 4) and a.shape[2] not in (1, 3, 4):
        # a torch-style C×H×W pair: its first axis had been taken for the height ("at least
        # 11×11 px, this one is 200×3")
        raise UsageError(f"expected H×W×C images, got shape {a.shape}, channels first: "
                         "transpose them with x.transpose(1, 2, 0) (a tensor: "
                         "x.permute(1, 2, 0))")
    if min(a.shape[:2]) < SSIM_WINDOW:
        h, w = a.shape[:2]  # the data's size, not a bug: a UsageError (still a ValueError)
        raise UsageError(f"SSIM needs images at least {SSIM_WINDOW}×{SSIM_WINDOW} px, this one "
                         f"is {w}×{h}")
    if a.ndim == 2:
        a, b = a[:, :, None], b[:, :, None]
    return float(
        np.mean([_ssim_channel(a[:, :, c], b[:, :, c], data_range) for c in range(a.shape[2])])
    )


def _ssim_channel(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    def blur(z: np.ndarray) -> np.ndarray:
        win = (SSIM_WINDOW, SSIM_WINDOW)
        return cv2.GaussianBlur(z, win, _SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)

    c1 = (_SSIM_K1 * data_range) ** 2
    c2 = (_SSIM_K2 * data_range) ** 2
    x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    r = SSIM_WINDOW // 2  # keep only windows fully inside the image ("valid" filtering)
    return float(s[r:-r, r:-r].mean())


def psnr_torch(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> float:
    """PSNR per image, averaged over the batch.

    Args:
        a: first batch. Shape: (B, C, H, W).
        b: second batch, same shape.
        data_range: the span of possible values.

    Returns:
        Mean PSNR in dB; ``inf`` if any pair is identical.
    """
    if a.shape != b.shape:
        raise UsageError(
            f"batches must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if a.ndim != 4:
        raise UsageError(f"batches must be B×C×H×W, got shape {tuple(a.shape)}")
    with torch.no_grad():
        mse = (a.detach().float() - b.detach().float()).pow(2).flatten(1).mean(dim=1)
        return float((10.0 * torch.log10(data_range**2 / mse)).mean())

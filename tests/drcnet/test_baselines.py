from __future__ import annotations

import cv2
import numpy as np
import pytest

from drcnet.baselines import (
    BaselineUnavailable,
    bm3d_available,
    cbm3d_denoise,
    estimate_noise_sigma,
    guided_derain,
    guided_filter,
    median_derain,
    nlm_denoise,
    wiener_deconvolve,
)
from drcnet.degradations import convolve, gaussian_noise, rain, shake_kernel
from drcnet.errors import UsageError
from drcnet.metrics import psnr


def test_wiener_with_the_true_kernel_undoes_an_off_centre_blur(scene) -> None:
    clean = scene()
    k = np.zeros((9, 9), np.float32)
    k[4, 4:] = 1.0  # all the mass right of centre: a wrong OTF origin would shift the image
    blurred = convolve(clean, k / k.sum())
    restored = wiener_deconvolve(blurred, k, nsr=1e-3)
    assert restored.shape == clean.shape and restored.dtype == np.float32
    assert psnr(restored, clean) > psnr(blurred, clean) + 6.0
    shifted = wiener_deconvolve(blurred, np.roll(k, 2, axis=1), nsr=1e-3)
    assert psnr(restored, clean) > psnr(shifted, clean) + 3.0


def test_wiener_beats_the_blurred_input_on_camera_shake(scene) -> None:
    rng = np.random.default_rng(3)
    clean = scene(seed=1)
    kernel = shake_kernel(rng, 15)
    blurred = gaussian_noise(convolve(clean, kernel), rng, 1.0)
    assert psnr(wiener_deconvolve(blurred, kernel), clean) > psnr(blurred, clean) + 2.0


def test_wiener_rejects_bad_kernels(scene) -> None:
    """A caller's kernel and NSR are their settings (UsageError, named with the value); a
    kernel that is not 2-D is a broken contract (a plain ValueError)."""
    with pytest.raises(UsageError, match="kernel must have a positive sum, got 0"):
        wiener_deconvolve(scene(), np.zeros((3, 3)))
    with pytest.raises(UsageError, match="nsr must be > 0, got 0.0"):
        wiener_deconvolve(scene(), np.ones((3, 3)), nsr=0.0)
    with pytest.raises(ValueError, match="2-D kernel") as caught:
        wiener_deconvolve(scene(), np.ones(3))
    assert not isinstance(caught.value, UsageError)


def test_nlm_beats_the_noisy_input_at_sigma_25(scene) -> None:
    clean = scene()
    noisy = gaussian_noise(clean, np.random.default_rng(0), 25.0)
    out = nlm_denoise(noisy, 25.0)
    assert out.shape == clean.shape and out.dtype == np.float32
    assert psnr(out, clean) > psnr(noisy, clean) + 4.0


def test_noise_estimate_finds_sigma() -> None:
    flat = np.full((64, 64, 3), 0.5, np.float32)
    noisy = gaussian_noise(flat, np.random.default_rng(1), 10.0)
    assert estimate_noise_sigma(noisy) == pytest.approx(10.0, rel=0.1)
    assert estimate_noise_sigma(flat) == pytest.approx(0.0, abs=1e-3)


def test_cbm3d_runs_or_says_it_is_missing(scene) -> None:
    clean = scene(48, 48)
    noisy = gaussian_noise(clean, np.random.default_rng(0), 25.0)
    if not bm3d_available():
        with pytest.raises(BaselineUnavailable, match="pip install bm3d"):
            cbm3d_denoise(noisy, 25.0)
        return
    assert psnr(cbm3d_denoise(noisy, 25.0), clean) > psnr(noisy, clean) + 4.0


def test_guided_filter_keeps_its_guide_and_flattens_constants(scene) -> None:
    img = scene()
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    assert np.allclose(guided_filter(gray, gray, 2, 1e-8), gray, atol=1e-3)
    flat = np.full_like(img, 0.4)
    assert np.allclose(guided_filter(gray, flat, 3, 1e-3), 0.4, atol=1e-5)
    with pytest.raises(ValueError, match="do not match"):
        guided_filter(gray[:10], img, 2, 1e-3)


def test_rain_aware_filters_only_darken_and_remove_streaks(scene) -> None:
    clean = scene()
    rainy = rain(clean, np.random.default_rng(0), density=0.02, length=15, brightness=0.9)
    for out in (median_derain(rainy, 9, rain_aware=True), guided_derain(rainy)):
        assert np.all(out <= rainy + 1e-6)
        assert psnr(out, clean) > psnr(rainy, clean)
    with pytest.raises(UsageError, match="ksize must be an odd number >= 3, got 4"):
        median_derain(rainy, 4)

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from drcnet.errors import UsageError
from drcnet.metrics import psnr, psnr_torch, ssim

# skimage's settings that reproduce Wang et al. (2004).
WANG = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False, "data_range": 1}


@pytest.fixture
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    a = rng.random((40, 52, 3)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1).astype(np.float32)
    return a, b


def test_psnr_identical_is_inf(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, _ = pair
    assert psnr(a, a.copy()) == math.inf


def test_psnr_known_value() -> None:
    a = np.zeros((8, 8, 3))
    b = np.full((8, 8, 3), 0.1)  # MSE = 0.01 -> 20 dB
    assert psnr(a, b) == pytest.approx(20.0)
    assert psnr(a * 255, b * 255, data_range=255.0) == pytest.approx(20.0)


def test_psnr_shape_mismatch() -> None:
    """A UsageError (a ValueError still): a plain ValueError is taken for a bug."""
    with pytest.raises(UsageError, match="same shape"):
        psnr(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))
    with pytest.raises(UsageError, match="H×W or H×W×C"):
        psnr(np.zeros(4), np.zeros(4))


def test_ssim_identical_is_one(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, _ = pair
    assert ssim(a, a) == pytest.approx(1.0)


def test_ssim_matches_skimage_color(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    ref = structural_similarity(a, b, channel_axis=-1, **WANG)
    assert abs(ssim(a, b) - ref) < 1e-3
    assert ssim(a, b) < 0.99  # the noisy pair is clearly not identical


def test_ssim_matches_skimage_gray(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair[0][:, :, 0], pair[1][:, :, 0]
    ref = structural_similarity(a, b, **WANG)
    assert abs(ssim(a, b) - ref) < 1e-3


def test_ssim_non_contiguous(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    at, bt = a.transpose(1, 0, 2), b.transpose(1, 0, 2)
    assert not at.flags.c_contiguous
    assert ssim(at, bt) == pytest.approx(ssim(np.ascontiguousarray(at), np.ascontiguousarray(bt)))


def test_ssim_errors() -> None:
    with pytest.raises(UsageError, match="same shape"):
        ssim(np.zeros((16, 16)), np.zeros((16, 17)))
    with pytest.raises(ValueError, match="at least 11"):
        ssim(np.zeros((8, 8)), np.zeros((8, 8)))


def test_psnr_torch_matches_numpy(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    ta = torch.from_numpy(a).permute(2, 0, 1)[None]
    tb = torch.from_numpy(b).permute(2, 0, 1)[None]
    assert psnr_torch(ta, tb) == pytest.approx(psnr(a, b), abs=1e-3)


def test_psnr_torch_is_batch_mean() -> None:
    a = torch.zeros(2, 3, 8, 8)
    b = torch.stack([torch.full((3, 8, 8), 0.1), torch.full((3, 8, 8), 0.01)])  # 20 dB, 40 dB
    assert psnr_torch(a, b) == pytest.approx(30.0, abs=1e-4)
    assert psnr_torch(a, a) == math.inf


def test_psnr_torch_errors() -> None:
    with pytest.raises(UsageError, match="same shape"):
        psnr_torch(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))
    with pytest.raises(UsageError, match="B×C×H×W"):
        psnr_torch(torch.zeros(3, 8, 8), torch.zeros(3, 8, 8))


def test_integer_images_are_scored_on_their_own_scale(pair) -> None:  # noqa: ANN001
    """uint8 images with the default range of 1 had scored -27.9 dB; scikit-image takes the
    range from the type, and so does this now. Two scales at once are refused."""
    from drcnet.errors import UsageError

    a, b = pair
    a8, b8 = (np.round(a * 255).astype(np.uint8), np.round(b * 255).astype(np.uint8))
    assert psnr(a8, b8) == pytest.approx(psnr(a8 / 255.0, b8 / 255.0), abs=1e-9)
    assert psnr(a8, b8) == pytest.approx(psnr(a, b), abs=0.2)
    assert ssim(a8, b8) == pytest.approx(ssim(a8 / 255.0, b8 / 255.0), abs=1e-9)
    a16 = (a * 65535).astype(np.uint16)
    assert psnr(a16, (b * 65535).astype(np.uint16)) == pytest.approx(psnr(a, b), abs=0.01)
    for x, y in ((a8, b), (a8, a16)):
        with pytest.raises(UsageError, match="one scale"):
            psnr(x, y)
    assert psnr(a8, b8, data_range=1.0) < 0  # an explicit range is taken as given
    # int64 of 0-255 values (np.array of a list, .astype(int)) had scored 379 dB on its
    # type's range; its span is asked for instead
    a64, b64 = a8.astype(np.int64), b8.astype(np.int64)
    with pytest.raises(UsageError, match="give data_range"):
        psnr(a64, b64)
    with pytest.raises(UsageError, match="give data_range"):
        ssim(a64.astype(np.int32), b64.astype(np.int32))
    assert psnr(a64, b64, data_range=255) == pytest.approx(psnr(a8, b8), abs=1e-9)


def test_floats_on_a_0_255_scale_are_refused_not_scored(pair) -> None:  # noqa: ANN001
    """psnr(a * 255, b * 255) had scored -27.8 dB without a word: floats are taken to span
    [0, 1] unless data_range says otherwise."""
    a, b = pair
    for metric in (psnr, ssim):
        with pytest.raises(UsageError, match="divide them by 255 .* data_range=255"):
            metric(a * 255, b * 255)
        with pytest.raises(UsageError, match="reach 255"):
            metric(a, np.clip(b * 255, 0, 255))  # one of them is enough
        assert metric(a * 255, b * 255, data_range=255) == pytest.approx(metric(a, b), abs=1e-6)
    # Unclipped noise goes a little past 1 and is scored as it is.
    assert math.isfinite(psnr(a * 1.5, b)) and math.isfinite(ssim(a * 1.5 - 0.2, b))


def test_channels_first_images_get_a_hint_for_ssim(pair) -> None:  # noqa: ANN001
    """A torch-style 3×H×W pair had been told it was under 11×11 px ("this one is 52×3")."""
    a, b = pair
    chw = (np.ascontiguousarray(a.transpose(2, 0, 1)), np.ascontiguousarray(b.transpose(2, 0, 1)))
    with pytest.raises(UsageError, match=r"channels first: transpose them with "
                                          r"x.transpose\(1, 2, 0\)"):
        ssim(*chw)
    with pytest.raises(UsageError, match="channels first"):
        ssim(*(torch.from_numpy(x) for x in chw))
    with pytest.raises(UsageError, match="channels first"):
        ssim(chw[0][:1], chw[1][:1])  # one channel
    with pytest.raises(UsageError, match="at least 11×11"):  # a small H×W×3 stays as it was
        ssim(a[:3, :8], b[:3, :8])

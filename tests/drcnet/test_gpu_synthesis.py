from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from drcnet.degradations import convolve, line_kernel, linear_to_srgb, shake_kernel, srgb_to_linear
from drcnet.gpu_synthesis import GpuSynthesizer, fft_convolve, streak_kernel


@pytest.mark.parametrize("task", ["denoise", "derain", "deblur", "blurlin", "blursat", "blurmix",
                                  "gaussian25",
                                  "gaussian"])
def test_batches_shape_range_and_seed(photos: Path, task: str) -> None:
    a = GpuSynthesizer(photos, task, crop=32, batch_size=4, seed=3)
    x, y = a.batch()
    assert x.shape == y.shape == (4, 3, 32, 32) and x.dtype == y.dtype == torch.float32
    assert 0 <= float(x.min()) and float(x.max()) <= 1 and 0 <= float(y.min())
    assert (x - y).abs().mean() > 1e-3  # it really degrades
    x2, y2 = GpuSynthesizer(photos, task, crop=32, batch_size=4, seed=3).batch()
    assert torch.equal(x, x2) and torch.equal(y, y2)  # same seed, same batch
    x3, _ = a.batch()
    assert not torch.equal(x, x3)  # the stream moves on
    x4, _ = GpuSynthesizer(photos, task, crop=32, batch_size=4, seed=4).batch()
    assert not torch.equal(x, x4)


def test_gaussian_noise_has_the_right_sigma(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((96, 96, 3), 128, np.uint8))
    x, y = GpuSynthesizer(tmp_path, "gaussian25", crop=64, batch_size=8).batch()
    assert float((x - y).std()) * 255 == pytest.approx(25.0, rel=0.03)


def test_blind_gaussian_varies_sigma_per_sample(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((96, 96, 3), 128, np.uint8))
    x, y = GpuSynthesizer(tmp_path, "gaussian", crop=64, batch_size=16).batch()
    sigmas = (x - y).flatten(1).std(dim=1) * 255
    assert float(sigmas.min()) < 30.0 < float(sigmas.max()) <= 56.0


def test_unclipped_and_half_clipped_gaussian(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "dark.png"), np.full((96, 96, 3), 5, np.uint8))
    x, y = GpuSynthesizer(tmp_path, "gaussian25u", crop=64, batch_size=8).batch()
    assert float(x.min()) < 0 and float((x - y).std()) * 255 == pytest.approx(25.0, rel=0.03)
    x, y = GpuSynthesizer(tmp_path, "gaussianm", crop=64, batch_size=64, seed=1).batch()
    below = (x.flatten(1).min(dim=1).values < 0).float()  # unclipped draws dip below black
    assert 16 <= float(below.sum()) <= 48 and float(x.max()) < 2


def test_camera_noise_read_noise_follows_the_shot_noise(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """On black only read noise shows: the on-device camera noise takes it from read_for_shot,
    as the CPU recipe does (with read_for_shot giving none, its sensor draws stay black)."""
    import drcnet.gpu_synthesis as gs

    cv2.imwrite(str(tmp_path / "black.png"), np.zeros((96, 96, 3), np.uint8))
    monkeypatch.setattr(gs, "read_for_shot", lambda shot, z: np.zeros_like(shot))
    x, y = GpuSynthesizer(tmp_path, "noise", crop=32, batch_size=32, seed=2).batch()
    spread = (x - y).flatten(1).std(dim=1) * 255
    sensor = spread < 1e-3
    assert 10 <= int(sensor.sum()) < 32  # about 70 %: the rest are Gaussian σ >= 5
    assert float(spread[~sensor].min()) > 2.0


def test_rain_brightens_and_blur_smooths(photos: Path) -> None:
    x, y = GpuSynthesizer(photos, "derain", crop=48, batch_size=8, seed=1).batch()
    assert bool((x.flatten(1).mean(1) >= y.flatten(1).mean(1) - 1e-6).all())  # screen blend
    x, y = GpuSynthesizer(photos, "deblur", crop=48, batch_size=8, seed=1).batch()

    def grad_energy(t: torch.Tensor) -> float:
        return float((t[..., 1:, :] - t[..., :-1, :]).abs().mean())

    assert grad_energy(x) < grad_energy(y)


def test_blur_matches_the_cpu_convolution() -> None:
    rng = np.random.default_rng(0)
    m, c = 16, 40
    tile = rng.random((c + 2 * m, c + 2 * m, 3), dtype=np.float32)
    kernel = shake_kernel(rng, 31)
    cpu = convolve(tile, kernel)[m : m + c, m : m + c]
    x = torch.from_numpy(tile.transpose(2, 0, 1).copy())[None]
    r = 15
    out = fft_convolve(x, torch.from_numpy(kernel)[None])[..., m + r : m + r + c,
                                                          m + r : m + r + c]
    assert np.allclose(out[0].numpy().transpose(1, 2, 0), cpu, atol=1e-5)


def _noise_free_shake_batch(synth: GpuSynthesizer) -> tuple[torch.Tensor, torch.Tensor,
                                                             torch.Tensor]:
    """One shake batch with the noise off, then the synthesizer's NumPy stream replayed up to
    where ``_blur`` drew its crops (with their margin): ``(degraded, clean, tiles)``, the
    stream left at the draws that follow (blurmix's recipes, blursat's gains)."""
    synth._randn = lambda shape: torch.zeros(tuple(shape))  # noqa: SLF001 - the noise off
    state = synth.rng.bit_generator.state
    x, y = synth.batch()
    synth.rng.bit_generator.state = state
    synth.rng.integers(1, size=synth.batch_size)  # the bank picks
    return x, y, synth.crops(synth.batch_size, synth.crop + 2 * synth.margin)


def _lamp_photo(folder: Path) -> Path:
    """A dark photo with a clipped white block, a saturated red band and a patch in the knee."""
    photo = np.full((80, 80, 3), 60, np.uint8)
    photo[30:50, 20:60] = 255  # clipped white
    photo[10:20, 10:70, 2] = 255  # a saturated red (OpenCV writes BGR)
    photo[60:70, 30:50] = 250  # within the knee
    cv2.imwrite(str(folder / "lamp.png"), photo)
    return folder


def test_linear_light_blur_matches_the_cpu_recipe(photos: Path) -> None:
    """``blurlin`` on the device blurs in linear light as the CPU recipe does: with the noise
    off, the same kernel and crop give the same pixels."""
    synth = GpuSynthesizer(photos, "blurlin", crop=40, batch_size=2, seed=3, kernel_bank=1,
                           kernel_refresh=0)
    kernel = synth.bank[0]
    x, y, tiles = _noise_free_shake_batch(synth)
    tile = tiles[0].numpy().transpose(1, 2, 0).copy()
    cpu = linear_to_srgb(convolve(srgb_to_linear(tile), kernel))[16:-16, 16:-16]
    assert np.allclose(y[0].numpy().transpose(1, 2, 0), tile[16:-16, 16:-16])
    assert np.allclose(x[0].numpy().transpose(1, 2, 0), cpu, atol=1e-5)
    srgb = convolve(tile, kernel)[16:-16, 16:-16]  # and it is not the sRGB blur
    assert np.abs(srgb - cpu).mean() > 1 / 255


def test_saturated_blur_matches_the_cpu_recipe(tmp_path: Path) -> None:
    """``blursat`` on the device boosts the clipped highlights by its drawn gain before the
    linear-light blur, as the CPU recipe does: with the noise off, the same kernel, crop and
    gain give the same pixels."""
    from drcnet.degradations import SAT_GAIN, boost_clipped

    synth = GpuSynthesizer(_lamp_photo(tmp_path), "blursat", crop=40, batch_size=2, seed=3,
                           kernel_bank=1, kernel_refresh=0)
    kernel = synth.bank[0]
    x, _, tiles = _noise_free_shake_batch(synth)
    gains = np.exp(synth.rng.uniform(*np.log(SAT_GAIN), 2))
    for i in range(2):
        tile = tiles[i].numpy().transpose(1, 2, 0).copy()
        lin = boost_clipped(srgb_to_linear(tile), tile, float(gains[i]))
        cpu = linear_to_srgb(convolve(lin, kernel))[16:-16, 16:-16]
        assert np.allclose(x[i].numpy().transpose(1, 2, 0), cpu, atol=1e-5)
    plain = linear_to_srgb(convolve(srgb_to_linear(tile), kernel))[16:-16, 16:-16]
    assert np.abs(plain - cpu).max() > 0.05  # and the boost shows


def test_blur_mix_makes_each_sample_by_its_own_recipe(tmp_path: Path) -> None:
    """``blurmix`` on the device draws a shake recipe per sample, and each sample is what
    that recipe makes on the CPU (the noise off, the same kernel, crop and gain)."""
    from drcnet.degradations import SAT_GAIN, SHAKE_MIX, boost_clipped

    n = 8
    synth = GpuSynthesizer(_lamp_photo(tmp_path), "blurmix", crop=40, batch_size=n, seed=1,
                           kernel_bank=1, kernel_refresh=0)
    kernel = synth.bank[0]
    x, _, tiles = _noise_free_shake_batch(synth)
    names = [SHAKE_MIX[int(i)] for i in synth.rng.integers(len(SHAKE_MIX), size=n)]
    assert set(names) == set(SHAKE_MIX)  # this seed draws all three
    gains = np.exp(synth.rng.uniform(*np.log(SAT_GAIN), n))
    for i, name in enumerate(names):
        tile = tiles[i].numpy().transpose(1, 2, 0).copy()
        if name == "blur":
            cpu = convolve(tile, kernel)
        else:
            lin = srgb_to_linear(tile)
            if name == "blursat":
                lin = boost_clipped(lin, tile, float(gains[i]))
            cpu = linear_to_srgb(convolve(lin, kernel))
        assert np.allclose(x[i].numpy().transpose(1, 2, 0), cpu[16:-16, 16:-16], atol=1e-5), name


def test_shake_batches_keep_their_draws_for_a_seed(tmp_path: Path) -> None:
    """The device's ``blur`` and ``blurlin`` batches for a seed are what they were before the
    blursat and blurmix draws were added (pinned in session 31)."""
    img = (np.indices((96, 96)).sum(0) % 37 * 7).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "p.png"), np.dstack([img, img[::-1], img.T]))
    for name, mean, px in (("blur", 0.4918633288228496, 0.3430688977241516),
                           ("blurlin", 0.5669950383841448, 0.38050857186317444)):
        x, y = GpuSynthesizer(tmp_path, name, crop=32, batch_size=2, seed=0,
                              kernel_bank=4).batch()
        assert float(y.double().mean()) == pytest.approx(0.4902663180679762, abs=1e-6)
        assert float(x.double().mean()) == pytest.approx(mean, abs=1e-5)
        assert float(x[1, 0, 5, 9]) == pytest.approx(px, abs=1e-4)


def test_streak_kernel_matches_the_cpu_rain_filters() -> None:
    rng = np.random.default_rng(0)
    drops = (rng.random((96, 96), dtype=np.float32) < 0.01).astype(np.float32)
    width, length, angle = 2.2, 21, 12.0
    blurred = cv2.GaussianBlur(drops, (0, 0), sigmaX=(width - 1.0) * 0.5 + 0.3)
    cpu = cv2.filter2D(blurred, -1, line_kernel(length, 90.0 + angle, 1.0))
    k = streak_kernel(length, angle, width)
    r = k.shape[0] // 2
    padded = torch.nn.functional.pad(torch.from_numpy(drops)[None, None], (r,) * 4)
    out = fft_convolve(padded, torch.from_numpy(k)[None])[0, 0, 2 * r :, 2 * r :].numpy()
    inner = (slice(r, -r), slice(r, -r))  # the borders are handled differently
    assert np.allclose(out[inner], cpu[inner], atol=1e-5)


def test_unknown_recipe_is_an_error(photos: Path) -> None:
    with pytest.raises(ValueError, match="unknown degradation"):
        GpuSynthesizer(photos, "snow")


def _stripes(folder: Path) -> Path:
    img = np.zeros((256, 256, 3), np.uint8)
    img[:, ::2] = 255  # 1-px stripes: any shrinking averages them towards grey
    cv2.imwrite(str(folder / "stripes.png"), img)
    return folder


@pytest.mark.parametrize("where", ["cpu", "device"])
def test_scale_and_colour_augmentation(tmp_path: Path, where: str) -> None:
    from drcnet.datasets import SyntheticPairs

    def clean(**kw: float) -> torch.Tensor:
        if where == "cpu":
            ds = SyntheticPairs(_stripes(tmp_path), "gaussian25", crop=32, seed=1, **kw)
            return torch.stack([ds[i][1] for i in range(16)])
        return GpuSynthesizer(_stripes(tmp_path), "gaussian25", crop=32, batch_size=16,
                              seed=1, **kw).batch()[1]

    plain, zoomed = clean(), clean(scale_aug=4.0)
    assert zoomed.shape == plain.shape == (16, 3, 32, 32)
    contrast = [float(c.flatten(1).std(dim=1).mean()) for c in (plain, zoomed)]
    assert contrast[0] == pytest.approx(0.5, abs=0.01) and contrast[1] < 0.45
    tinted = clean(color_aug=0.3)
    means = tinted.mean(dim=(2, 3))  # per sample and channel; 0.5 without the gains
    assert float((means - 0.5).abs().max()) > 0.05 and 0 <= float(tinted.min())
    assert float(tinted.max()) <= 1
    with pytest.raises(Exception, match="scale_aug and sat_aug must be >= 1"):
        from drcnet.training import TrainConfig

        TrainConfig(scale_aug=0.5)
    with pytest.raises(Exception, match="scale_aug and sat_aug must be >= 1"):
        TrainConfig(sat_aug=0.5)


@pytest.mark.parametrize("where", ["cpu", "device"])
def test_saturation_augmentation(tmp_path: Path, where: str) -> None:
    from drcnet.datasets import SyntheticPairs

    flat = np.empty((128, 128, 3), np.uint8)
    flat[:] = (100, 140, 120)  # BGR: a muted green, each channel 20 from the grey of 120
    cv2.imwrite(str(tmp_path / "muted.png"), flat)

    def clean(**kw: float) -> torch.Tensor:
        if where == "cpu":
            ds = SyntheticPairs(tmp_path, "gaussian25", crop=32, seed=3, **kw)
            return torch.stack([ds[i][1] for i in range(64)])
        return GpuSynthesizer(tmp_path, "gaussian25", crop=32, batch_size=64, seed=3,
                              **kw).batch()[1]

    def chroma(x: torch.Tensor) -> torch.Tensor:  # per crop: distance of G from the grey
        return (x[:, 1] - x.mean(dim=1)).mean(dim=(1, 2)) * 255

    plain, vivid = chroma(clean()), chroma(clean(sat_aug=4.0))
    assert torch.allclose(plain, torch.full_like(plain, 20.0), atol=0.6)
    # Half the crops keep their colour, the rest move up to 4x as far from grey, and the grey
    # itself stays put.
    kept = (vivid - 20.0).abs() < 0.6
    assert 16 <= int(kept.sum()) <= 48
    assert float(vivid.max()) > 40.0 and float(vivid.max()) <= 80.6 and float(vivid.min()) > 19.4
    grey = clean(sat_aug=4.0).mean(dim=1) * 255
    assert torch.allclose(grey, torch.full_like(grey, 120.0), atol=0.6)

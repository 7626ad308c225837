"""Batched training-pair synthesis on the training device (GPU, or the CPU for tests).

:class:`GpuSynthesizer` keeps the clean photos on the device as uint8 tensors, draws random
crops and dihedral flips/rotations there and applies the degradation recipes of
:mod:`drcnet.degradations` to a whole batch at once with torch, so a machine with few CPU
cores can still feed the GPU. The parameter ranges are those of the CPU recipes (validation
and ``drcnet eval`` use the CPU versions); the differences are:

* ``noise``: the JPEG round trip (30 % of the sensor-noise samples) runs on the CPU with
  OpenCV for just those samples, so it is exact but costs one device→host copy per batch.
* ``rain``: the drop widening (Gaussian) and the streak line are composed into one kernel
  per layer and applied by FFT with reflect-101 borders (the CPU uses reflect); every sample
  gets two layers, the second at zero opacity for the 60 % that draw one.
* ``blur``, ``blurlin``, ``blursat``, ``blurmix``: camera-shake kernels come from a bank of
  CPU-made kernels (:func:`~drcnet.degradations.shake_kernel`, ~0.15 ms each) of which a few
  are replaced every batch; they are applied by FFT over the crop plus its 16 px margin,
  which is exact (``blurlin`` in linear light, as on the CPU; ``blursat`` with the clipped
  highlights boosted first, each sample by its own gain; ``blurmix`` draws one of the three
  per sample).

Per-sample parameters are drawn from a NumPy generator and the noise fields from a torch
generator on the device, both seeded, so a seed gives the same batches on the same device.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import cv2
import numpy as np
import torch

from .datasets import color_gains, list_images, load_photos, saturation_gain, zoom_side
from .degradations import (
    BLIND_SIGMA,
    DEGRADATIONS,
    GAUSSIAN_RECIPES,
    SAT_GAIN,
    SAT_KNEE,
    SHAKE_MIX,
    get_degradation,
    jpeg,
    line_kernel,
    read_for_shot,
    shake_kernel,
)
from .errors import UsageError

PathLike = str | os.PathLike[str]
Batch = tuple[torch.Tensor, torch.Tensor]

_SUPPORTED = (*GAUSSIAN_RECIPES, "noise", "rain", "blur", "blurlin", "blursat", "blurmix")
_BLUR = tuple(name for name, d in DEGRADATIONS.items() if d.task == "deblur")  # shake


def supports(recipe: str) -> bool:
    """Whether the on-device synthesizer makes ``recipe`` (a degradation or task name)."""
    return get_degradation(recipe).name in _SUPPORTED


# ----------------------------------------------------------------------- colour space
def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    """sRGB-encoded values in [0, 1] to linear light (torch twin of the NumPy version)."""
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    """Linear light to sRGB-encoded values in [0, 1] (clips first)."""
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-12) ** (1 / 2.4) - 0.055)


def fft_convolve(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Circular true convolution of each sample with its own kernel, via FFT.

    Output index ``n`` holds ``Σ_j k[j]·x[n − j]``; with a ``K×K`` kernel (``K = 2r+1``) the
    centred result for input position ``q`` is at ``q + r`` and is free of wrap-around for
    ``r ≤ q + r`` … ``≤ size − 1``, i.e. callers pad by ``r`` (or use a margin) and slice.

    Shape: x ``B×C×H×W``, kernels ``B×K×K`` → ``B×C×H×W``.
    """
    h, w = x.shape[-2:]
    kf = torch.fft.rfft2(kernels, s=(h, w))[:, None]
    return torch.fft.irfft2(torch.fft.rfft2(x) * kf, s=(h, w))


def _pad_kernels(kernels: Sequence[np.ndarray]) -> np.ndarray:
    """Centre odd-sized kernels in a common odd square."""
    size = max(max(k.shape) for k in kernels) | 1
    out = np.zeros((len(kernels), size, size), np.float32)
    for i, k in enumerate(kernels):
        oy, ox = (size - k.shape[0]) // 2, (size - k.shape[1]) // 2
        out[i, oy : oy + k.shape[0], ox : ox + k.shape[1]] = k
    return out


def streak_kernel(length: int, angle: float, width: float) -> np.ndarray:
    """The rain recipe's drop widening (Gaussian, if ``width`` > 1) and line in one kernel.

    Returned as a *convolution* kernel equal to the CPU path's ``filter2D`` correlation.
    """
    line = line_kernel(length, 90.0 + angle, 1.0)
    if width > 1.0:
        sigma = (width - 1.0) * 0.5 + 0.3
        ks = int(round(sigma * 8 + 1)) | 1  # OpenCV's kernel size for float images
        g = cv2.getGaussianKernel(ks, sigma, cv2.CV_32F)
        r = ks // 2
        padded = cv2.copyMakeBorder(line, r, r, r, r, cv2.BORDER_CONSTANT, value=0)
        line = cv2.sepFilter2D(padded, -1, g, g, borderType=cv2.BORDER_CONSTANT)
    return np.ascontiguousarray(line[::-1, ::-1])


# ------------------------------------------------------------------------ synthesizer
class GpuSynthesizer:
    """Endless ``(degraded, clean)`` training batches made on ``device``.

    Args:
        folder_or_files: a folder of clean images or a list of files.
        task: ``denoise``/``derain``/``deblur`` or a recipe name (``noise``, ``rain``,
            ``blur``, ``blurlin``, ``blursat``, ``blurmix``, a Gaussian recipe).
        crop: side of the square crops.
        batch_size: samples per batch.
        device: where the photos live and the batches are made.
        seed: the seed of both random sources.
        kernel_bank: blur kernels kept ready (deblur only).
        kernel_refresh: bank kernels replaced per batch (deblur only).
        scale_aug, color_aug, sat_aug: as :class:`~drcnet.datasets.SyntheticPairs` (regions
            up to ``scale_aug`` times the crop, shrunk by area averaging; per-channel gains;
            saturation gains).

    Shape: each batch is two ``B×3×crop×crop`` float32 tensors in [0, 1] on ``device``.
    """

    def __init__(
        self,
        folder_or_files: PathLike | Sequence[PathLike],
        task: str,
        crop: int = 128,
        batch_size: int = 32,
        device: torch.device | str = "cpu",
        seed: int = 0,
        kernel_bank: int = 1024,
        kernel_refresh: int = 4,
        scale_aug: float = 1.0,
        color_aug: float = 0.0,
        sat_aug: float = 1.0,
    ) -> None:
        self.scale_aug, self.color_aug = float(scale_aug), float(color_aug)
        self.sat_aug = float(sat_aug)
        self.recipe = get_degradation(task).name
        if self.recipe not in _SUPPORTED:
            raise UsageError(f"the on-device synthesizer has no recipe '{self.recipe}'; "
                             f"use synth=cpu")
        self.crop, self.batch_size = int(crop), int(batch_size)
        self.device = torch.device(device)
        self.margin = get_degradation(self.recipe).margin  # the CPU recipe's context
        self.files = list_images(folder_or_files)
        self.need = self.crop + 2 * self.margin
        photos, self.upscaled = load_photos(self.files, self.need)
        self.images: list[torch.Tensor] = [
            torch.from_numpy(img.transpose(2, 0, 1).copy()).to(self.device) for img in photos]
        areas = np.array([i.shape[1] * i.shape[2] for i in self.images], np.float64)
        self.weights = areas / areas.sum()
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator(device=self.device).manual_seed(int(seed))
        self.kernel_refresh = int(kernel_refresh)
        self.bank: list[np.ndarray] = []
        if self.recipe in _BLUR:
            self.bank = [self._blur_kernel() for _ in range(max(1, int(kernel_bank)))]

    def __iter__(self) -> Iterator[Batch]:
        while True:
            yield self.batch()

    # ---------------------------------------------------------------- sampling
    def crops(self, n: int, size: int) -> torch.Tensor:
        """``n`` random ``size``² crops with random dihedral transforms, float in [0, 1]."""
        out = []
        for _ in range(n):
            img = self.images[int(self.rng.choice(len(self.images), p=self.weights))]
            side = zoom_side(self.rng, size, min(img.shape[1:]), self.scale_aug)
            y = int(self.rng.integers(0, img.shape[1] - side + 1))
            x = int(self.rng.integers(0, img.shape[2] - side + 1))
            code = int(self.rng.integers(8))
            c = img[:, y : y + side, x : x + side]
            if side != size:
                c = torch.nn.functional.interpolate(c[None].float(), size=(size, size),
                                                    mode="area")[0].round_().to(torch.uint8)
            if code & 4:
                c = c.flip(-1)
            out.append(torch.rot90(c, code & 3, dims=(-2, -1)) if code & 3 else c)
        batch = torch.stack(out).float().mul_(1 / 255.0)
        if self.color_aug > 0:
            gains = np.stack([color_gains(self.rng, self.color_aug) for _ in range(n)])
            batch = batch.mul_(torch.as_tensor(gains, device=self.device).view(n, 3, 1, 1))
            batch = batch.clamp_(0.0, 1.0)
        if self.sat_aug > 1.0:
            gain = torch.as_tensor([saturation_gain(self.rng, self.sat_aug) for _ in range(n)],
                                   dtype=torch.float32, device=self.device).view(n, 1, 1, 1)
            grey = batch.mean(dim=1, keepdim=True)
            batch = (grey + gain * (batch - grey)).clamp_(0.0, 1.0)
        return batch

    def _randn(self, shape: Sequence[int]) -> torch.Tensor:
        return torch.randn(tuple(shape), generator=self.gen, device=self.device)

    def _rand(self, shape: Sequence[int]) -> torch.Tensor:
        return torch.rand(tuple(shape), generator=self.gen, device=self.device)

    def _col(self, values: Sequence[float] | np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(values, np.float32), device=self.device).view(
            -1, 1, 1, 1)

    def batch(self, n: int | None = None) -> Batch:
        """One batch of ``n`` (default ``batch_size``) pairs: ``(degraded, clean)``."""
        n = self.batch_size if n is None else int(n)
        with torch.no_grad():
            if self.recipe in _BLUR:
                return self._blur(n)
            clean = self.crops(n, self.crop)
            if self.recipe == "rain":
                return self._rain(clean), clean
            return self._noise(clean), clean

    # ------------------------------------------------------------------ noise
    def _noise(self, clean: torch.Tensor) -> torch.Tensor:
        n, rng = clean.shape[0], self.rng
        if self.recipe in GAUSSIAN_RECIPES:
            fixed, clipped, _ = GAUSSIAN_RECIPES[self.recipe]
            sigma = (np.full(n, fixed, np.float32) if fixed is not None
                     else rng.uniform(*BLIND_SIGMA, n))
            noisy = clean + self._randn(clean.shape) * self._col(sigma / 255.0)
            if clipped == "all":
                return noisy.clamp_(0, 1)
            if clipped == "half":
                clip = self._col((rng.random(n) < 0.5).astype(np.float32)) > 0
                return torch.where(clip, noisy.clamp(0, 1), noisy)
            return noisy
        # The CPU recipe's draws, per sample: 30 % Gaussian σ ∈ U(5, 50), otherwise
        # Poisson-Gaussian with a log-uniform shot gain and the read noise that goes with it
        # (read_for_shot), then JPEG q ∈ [60, 95] for 30 %.
        gauss = rng.random(n) < 0.3
        sigma = rng.uniform(5.0, 50.0, n)
        shot = 10 ** rng.uniform(-4.0, -1.7, n)
        read = read_for_shot(shot, rng.standard_normal(n))
        use_jpeg = (rng.random(n) < 0.3) & ~gauss
        quality = rng.integers(60, 96, n)
        z = self._randn(clean.shape)
        g_out = (clean + z * self._col(sigma / 255.0)).clamp(0, 1)
        lin = srgb_to_linear(clean)
        std = torch.sqrt(lin.clamp_min(0) * self._col(shot) + self._col(read * read))
        s_out = linear_to_srgb(lin + std * z)
        out = torch.where(self._col(gauss.astype(np.float32)) > 0, g_out, s_out)
        idx = np.flatnonzero(use_jpeg)
        if idx.size:
            host = out[torch.as_tensor(idx, device=self.device)].permute(0, 2, 3, 1).cpu().numpy()
            done = np.stack([jpeg(np.ascontiguousarray(host[j]), int(quality[i]))
                             for j, i in enumerate(idx)])
            out[torch.as_tensor(idx, device=self.device)] = torch.from_numpy(
                done.transpose(0, 3, 1, 2).copy()).to(self.device)
        return out

    # ------------------------------------------------------------------- rain
    def _rain(self, clean: torch.Tensor) -> torch.Tensor:
        n, rng = clean.shape[0], self.rng
        h, w = clean.shape[-2:]
        base_angle = rng.uniform(-30.0, 30.0, n)
        layers = np.where(rng.random(n) < 0.6, 1, 2)
        out = clean
        for layer in range(2):
            density = 10 ** rng.uniform(-2.7, -1.5, n)
            angle = base_angle + rng.normal(0.0, 3.0, n)
            length = rng.integers(8, 41, n)
            width = rng.uniform(1.0, 3.0, n)
            brightness = rng.uniform(0.4, 0.95, n) * (layers > layer)
            tone = rng.uniform(0.85, 1.0, n)
            kernels = _pad_kernels([streak_kernel(int(length[i]), float(angle[i]),
                                                  float(width[i])) for i in range(n)])
            drops = (self._rand((n, 1, h, w)) < self._col(density)).float()
            drops *= 0.5 + 0.5 * self._rand((n, 1, h, w))
            r = kernels.shape[-1] // 2
            mode = "reflect" if r < min(h, w) else "constant"  # reflect needs r < size
            padded = torch.nn.functional.pad(drops, (r, r, r, r), mode=mode)
            k = torch.from_numpy(kernels).to(self.device)
            streaks = fft_convolve(padded, k)[..., 2 * r : 2 * r + h, 2 * r : 2 * r + w]
            flat = streaks.reshape(n, -1)
            peak = torch.quantile(flat, 0.999, dim=1)
            peak = torch.where(flat.amax(dim=1) > 0, peak, torch.ones_like(peak))
            streak = (streaks / peak.clamp_min(1e-6).view(-1, 1, 1, 1)).clamp(0, 1)
            streak = streak * self._col(brightness * tone)
            out = 1.0 - (1.0 - out) * (1.0 - streak)  # screen blend
        hazy = rng.random(n) < 0.3
        haze = np.where(hazy, rng.uniform(0.0, 0.3, n), 0.0)
        airlight = rng.uniform(0.75, 0.95, n)
        hz = self._col(haze)
        out = out * (1.0 - hz) + self._col(airlight) * hz
        return out.clamp_(0, 1)

    # ------------------------------------------------------------------- blur
    def _blur_kernel(self) -> np.ndarray:
        size = int(self.rng.integers(3, 16)) * 2 + 1
        return shake_kernel(self.rng, size)

    def _blur(self, n: int) -> Batch:
        rng, m = self.rng, self.margin
        for _ in range(self.kernel_refresh):
            self.bank[int(rng.integers(len(self.bank)))] = self._blur_kernel()
        picks = rng.integers(len(self.bank), size=n)
        kernels = _pad_kernels([self.bank[int(i)] for i in picks])
        r = kernels.shape[-1] // 2
        tile = self.crops(n, self.crop + 2 * m)
        k = torch.from_numpy(kernels).to(self.device)
        c = self.crop
        if self.recipe == "blurmix":  # a recipe per sample
            recipes = [SHAKE_MIX[int(i)] for i in rng.integers(len(SHAKE_MIX), size=n)]
        else:
            recipes = [self.recipe] * n
        linear = np.array([name != "blur" for name in recipes])
        lin = self._col(linear.astype(np.float32))  # 1 where the sample blurs light
        light = tile
        if linear.any():
            light = lin * srgb_to_linear(tile) + (1.0 - lin) * tile
        if "blursat" in recipes:
            gains = np.exp(rng.uniform(*np.log(SAT_GAIN), n))
            gains[[name != "blursat" for name in recipes]] = 1.0
            lo, hi = SAT_KNEE
            clipped = ((tile - lo) / (hi - lo)).clamp(0.0, 1.0)
            light = light * (1.0 + self._col(gains - 1.0) * clipped)
        blurred = fft_convolve(light, k)
        blurred = blurred[..., m + r : m + r + c, m + r : m + r + c]
        if linear.any():
            blurred = lin * linear_to_srgb(blurred) + (1.0 - lin) * blurred
        sigma = rng.uniform(0.0, 2.0, n)
        degraded = (blurred + self._randn(blurred.shape) * self._col(sigma / 255.0)).clamp_(0, 1)
        return degraded, tile[..., m : m + c, m : m + c].contiguous()

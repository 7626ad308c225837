"""DRCNet building blocks: the spatial filter, energy attention, the DFR block, SAM.

Shapes follow PyTorch's ``B×C×H×W``. Names follow the paper; the public reference
implementation's names (``RN_L``, ``simam_module``, ``sam12`` …) are mapped in
:mod:`drcnet.keymap` only.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

RELU_SLOPE = 0.2
PAPER_T = 0.75  # the paper's best knobs (supplement Tables 1-2)
PAPER_DELTA = 1e-6


@dataclass
class Knobs:
    """Runtime knobs shared by every DFR block of one network (mutable on purpose):
    ``model.knobs``, which :meth:`DRCNet.configure <drcnet.network.DRCNet.configure>` sets;
    ``model.config`` keeps the values the network was built with.

    Attributes:
        t: spatial-filter threshold on the self-aware map.
        delta: energy-attention coefficient.
        ea: apply energy attention; ``False`` removes its spatial selection (each channel
            weighted by its mean weight) in a network trained with it, and makes it the
            identity in one trained without it.
    """

    t: float = PAPER_T
    delta: float = PAPER_DELTA
    ea: bool = True


@dataclass
class BlockMaps:
    """Maps captured from one DFR block by the probe, at the block's resolution.

    The probe (:meth:`~drcnet.network.DRCNet.set_probe`) sees the input as the network pads
    it, to a multiple of ``model.multiple`` at the bottom and right, so its maps cover that
    padding; :func:`drcnet.inference.forward_image` returns them cropped to the image.

    Shape:
        each tensor is ``B×1×h×w`` on the CPU, float32.
    """

    self_aware: torch.Tensor
    mask: torch.Tensor
    energy: torch.Tensor


def full_precision(x: torch.Tensor) -> contextlib.AbstractContextManager:
    """Autocast off on ``x``'s device (for statistics that must stay float32 under fp16 or
    bf16 autocast: a sum over a 256×256 map of fp16 values overflows). On every device
    type that has autocast: on Apple's ``mps`` too, where fp16 sums had overflowed to NaN."""
    available = getattr(torch.amp, "is_autocast_available", None)  # torch >= 2.4
    if (available(x.device.type) if available is not None
            else x.device.type in ("cuda", "cpu", "mps")):
        return torch.autocast(x.device.type, enabled=False)
    return contextlib.nullcontext()


class SelfAwareAffine(nn.Module):
    """Self-aware map ``m = sigmoid(conv7x7([mean_c, max_c]))`` and its affine terms γ(m), β(m)."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=pad, bias=False)
        self.gamma = nn.Conv2d(1, 1, kernel_size, padding=pad)
        self.beta = nn.Conv2d(1, 1, kernel_size, padding=pad)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        m = torch.sigmoid(self.conv(pooled))
        # γ and β as one 1→2 convolution: oneDNN declines 1→1 convolutions, and PyTorch's
        # fallback for them is 5× slower than one oneDNN pass making both maps.
        weight = torch.cat([self.gamma.weight, self.beta.weight], dim=0)
        bias = torch.cat([self.gamma.bias, self.beta.bias], dim=0)
        gamma, beta = F.conv2d(m, weight, bias, padding=self.gamma.padding).chunk(2, dim=1)
        return m, gamma, beta


def region_normalize(x: torch.Tensor, mask: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Instance-normalise the masked and unmasked regions of ``x`` separately.

    Each region is filled outside itself with its own mean, normalised per sample and
    channel, then rescaled by the square root of its area fraction (region normalisation,
    as in the reference ``RN_binarylabel``, but per instance so a result never depends on
    the other images in a batch).

    Filling a region with its mean leaves that mean as the filled map's mean and adds
    nothing to its variance, so the result is computed in closed form: per region ``R``
    with area ``A``, ``(x − μ_R) · sqrt(A/N) / sqrt(Σ_R (x − μ_R)² / N + eps)``. That is one
    element-wise pass plus two reductions instead of two full instance norms (5.5× faster on
    a 1×8×512² map here, ``scripts/micro_bench.py``; ``tests/drcnet/test_blocks.py`` checks it
    against the fill-and-normalise form).

    Args:
        x: features.
        mask: binary mask, 1 where the region is foreground.

    Shape:
        x: ``B×C×H×W``; mask: ``B×1×H×W``; returns ``B×C×H×W``.
    """
    with full_precision(x):
        return _region_normalize(x.float(), mask.float(), eps)


def _region_normalize(x: torch.Tensor, mask: torch.Tensor, eps: float) -> torch.Tensor:
    b, c, h, w = x.shape
    n = h * w
    xf = x.reshape(b, c, n)
    r = mask.reshape(b, 1, n)
    regions = torch.cat([r, 1.0 - r], dim=1).transpose(1, 2)  # B×N×2: region, rest
    area = regions.sum(dim=1, keepdim=True)  # B×1×2
    # Sums per region by matrix products; each region's own sum, never a difference of two
    # large sums, so a small region keeps its precision in float32.
    mu = torch.bmm(xf, regions) / area.clamp_min(1.0)  # B×C×2
    mu_r, mu_n = mu[..., :1], mu[..., 1:]
    # Broadcasts as addcmul over expanded views: composing B×1×N with B×C×1 operands
    # through plain arithmetic measured 10× slower here.
    d = xf - mu_n
    d = torch.addcmul(d, r.expand_as(d), (mu_r - mu_n).expand_as(d), value=-1.0)
    var = torch.bmm(d * d, regions) / n  # B×C×2, variance of each filled map
    scale = torch.sqrt(area / n) * torch.rsqrt(var + eps)
    scale_r, scale_n = scale[..., :1], scale[..., 1:]
    factor = torch.addcmul(scale_n.expand_as(d), r.expand_as(d), (scale_r - scale_n).expand_as(d))
    return (d * factor).reshape(b, c, h, w)


# Parameters a weight file may lack: files written before the spatial filter had its
# per-channel scale and shift load with them at 1 and 0, which computes what they computed.
OPTIONAL_KEYS = ("spatial_filter.norm_weight", "spatial_filter.norm_bias")


def is_optional_key(key: str) -> bool:
    """Whether a state-dict key may be missing from a weight file (:data:`OPTIONAL_KEYS`)."""
    return key.endswith(OPTIONAL_KEYS)


class SpatialFilter(nn.Module):
    """Spatial filter branch: learnable region normalisation with threshold ``t``.

    Each region's normalisation has the reference's per-channel scale and shift
    (``RN_binarylabel.bn_norm``, an affine ``InstanceNorm2d``): region ``R`` gives
    ``(norm_R(x) · w + b) · sqrt(A_R/N)`` everywhere (outside ``R`` its filled map normalises
    to 0, leaving ``b``), and the two regions' results are summed. Returns the modulated
    features plus the self-aware map and binary mask it used.

    Args:
        channels: the channels it normalises (half the block's).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.self_aware = SelfAwareAffine()
        self.norm_weight = nn.Parameter(torch.ones(channels))
        self.norm_bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, t: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m, gamma, beta = self.self_aware(x)
        mask = (m.detach() >= t).to(x.dtype)
        out = region_normalize(x, mask)
        with full_precision(out):
            n = mask.shape[-2] * mask.shape[-1]
            area = mask.float().sum(dim=(2, 3), keepdim=True)  # B×1×1×1
            # An empty region counts as one pixel, as the reference's Sr[Sr == 0] = 1 does.
            shift = (area.clamp_min(1.0) / n).sqrt() + ((n - area).clamp_min(1.0) / n).sqrt()
            w = self.norm_weight.float().view(1, -1, 1, 1)
            b = self.norm_bias.float().view(1, -1, 1, 1)
            out = torch.addcmul(b * shift, out, w)
        return out * (1.0 + gamma) + beta, m, mask

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:  # noqa: ANN001
        if prefix + "norm_weight" not in state_dict:  # an older file: the identity
            state_dict[prefix + "norm_weight"] = torch.ones_like(self.norm_weight.detach())
        if prefix + "norm_bias" not in state_dict:
            state_dict[prefix + "norm_bias"] = torch.zeros_like(self.norm_bias.detach())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def energy_attention(x: torch.Tensor, delta: float,
                     flat: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Parameter-free energy attention (SimAM form) with coefficient ``delta``.

    ``x · sigmoid((x−μ)² / (4(σ² + δ)) + 0.5)`` with μ, σ² per channel over space.
    ``flat``: each channel weighted by its weights' mean over space instead, which keeps
    the branch's gain and removes only the attention's spatial selection (EA off on weights
    trained with it: the weights are at least 0.62, about 0.67 on average in the shipped
    models, so taking them away raised the branch by about 1.5×, a gain those weights never
    saw, and cost 1.5–4 dB, most of which was that gain, not the attention).

    Returns:
        the weighted features and the weights.

    Shape:
        x: ``B×C×H×W``; both outputs ``B×C×H×W``.
    """
    with full_precision(x):
        x = x.float()
        n = max(x.shape[-2] * x.shape[-1] - 1, 1)
        d = (x - x.mean(dim=(2, 3), keepdim=True)).pow(2)
        var = d.sum(dim=(2, 3), keepdim=True) / n
        weight = torch.sigmoid(d / (4.0 * (var + delta)) + 0.5)
        if flat:
            weight = weight.mean(dim=(2, 3), keepdim=True).expand_as(x)
        return x * weight, weight


class EnergyAttention(nn.Module):
    """Module form of :func:`energy_attention`; ``delta`` comes from the shared knobs."""

    def forward(self, x: torch.Tensor, delta: float,
                flat: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        return energy_attention(x, delta, flat)


def conv_down(channels: int) -> nn.Conv2d:
    """The 4×4 stride-2 down-sampling convolution."""
    return nn.Conv2d(channels, channels, 4, stride=2, padding=1, bias=False)


class DFRBlock(nn.Module):
    """Dynamic Filter Restoration block: one encoder block of either stage.

    ``leaky(SpatialFilter(conv_1 x)) * leaky(EnergyAttention(conv_2 x)) + conv1x1(x)``, where
    only the first half of ``conv_1 x``'s channels is region-normalised. Stage-2 blocks add the
    cross-stage feature fusion terms.
    """

    def __init__(
        self, in_ch: int, out_ch: int, knobs: Knobs, downsample: bool, csff: bool = False,
        ea_trained: bool = True,
    ) -> None:
        super().__init__()
        self.knobs = knobs
        # EA off on a network trained with it keeps each channel's mean attention weight
        # (energy_attention's flat); one trained without EA never had the weights at all.
        self.ea_trained = ea_trained
        self.name = ""  # set by the network, used by the probe
        self.probe: dict[str, BlockMaps] | None = None
        self.identity = nn.Conv2d(in_ch, out_ch, 1)
        self.conv_1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.conv_2 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.spatial_filter = SpatialFilter((out_ch + 1) // 2)  # conv_1's first chunk
        self.energy_attention = EnergyAttention()
        self.csff_enc = nn.Conv2d(out_ch, out_ch, 3, padding=1) if csff else None
        self.csff_dec = nn.Conv2d(out_ch, out_ch, 3, padding=1) if csff else None
        self.down = conv_down(out_ch) if downsample else None

    def forward(
        self, x: torch.Tensor, enc: torch.Tensor | None = None, dec: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(down-sampled output, full-resolution output)``; the first is the second
        when the block does not down-sample."""
        k = self.knobs
        a, b = self.conv_1(x).chunk(2, dim=1)
        a, m, mask = self.spatial_filter(a, k.t)
        branch1 = F.leaky_relu(torch.cat([a, b], dim=1), RELU_SLOPE)
        y = self.conv_2(x)
        if k.ea or self.ea_trained:
            y, weight = self.energy_attention(y, k.delta, flat=not k.ea)
        else:
            weight = None
        branch2 = F.leaky_relu(y, RELU_SLOPE)
        out = branch1 * branch2 + self.identity(x)
        if self.csff_enc is not None and enc is not None and dec is not None:
            out = out + self.csff_enc(enc) + self.csff_dec(dec)
        if self.probe is not None:
            energy = weight.mean(dim=1, keepdim=True) if weight is not None else torch.ones_like(m)
            self.probe[self.name] = BlockMaps(
                self_aware=m.detach().float().cpu(),
                mask=mask.detach().float().cpu(),
                energy=energy.detach().float().cpu(),
            )
        if self.down is not None:
            return self.down(out), out
        return out, out


class ConvBlock(nn.Module):
    """Plain decoder block: two 3×3 convs with leaky ReLU plus a 1×1 identity path."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.identity = nn.Conv2d(in_ch, out_ch, 1)
        self.conv_1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.conv_2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.leaky_relu(self.conv_1(x), RELU_SLOPE)
        out = F.leaky_relu(self.conv_2(out), RELU_SLOPE)
        return out + self.identity(x)


class UpBlock(nn.Module):
    """2×2 transposed-conv up-sampling, concatenation with the skip, then a :class:`ConvBlock`."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_ch, out_ch, 2, stride=2)
        self.conv_block = ConvBlock(in_ch, out_ch)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv_block(torch.cat([self.up(x), skip], dim=1))


class SupervisedAttention(nn.Module):
    """Supervised attention module between the stages; also emits the stage-1 image."""

    def __init__(self, channels: int, image_ch: int = 3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, image_ch, 3, padding=1)
        self.conv3 = nn.Conv2d(image_ch, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        img = self.conv2(x) + image
        attn = torch.sigmoid(self.conv3(img))
        return self.conv1(x) * attn + x, img

from __future__ import annotations

import pytest
import torch

from drcnet.blocks import EnergyAttention, energy_attention, full_precision, region_normalize


def test_energy_attention_formula() -> None:
    x = torch.randn(2, 4, 5, 6)
    y, w = energy_attention(x, 1e-4)
    mu = x.mean(dim=(2, 3), keepdim=True)
    var = ((x - mu) ** 2).sum(dim=(2, 3), keepdim=True) / (5 * 6 - 1)
    expect = torch.sigmoid((x - mu) ** 2 / (4 * (var + 1e-4)) + 0.5)
    assert torch.allclose(w, expect, atol=1e-6)
    assert torch.allclose(y, x * expect, atol=1e-6)
    # function and module agree
    assert torch.allclose(EnergyAttention()(x, 1e-4)[0], y)


def test_energy_attention_delta_matters() -> None:
    x = torch.randn(1, 2, 8, 8)
    assert not torch.allclose(energy_attention(x, 1e-1)[1], energy_attention(x, 1e-6)[1])


def test_region_normalize_regions_are_separately_normalised() -> None:
    torch.manual_seed(0)
    x = torch.randn(1, 2, 8, 8) * 3 + 5
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :4, :] = 1
    out = region_normalize(x, mask)
    assert out.shape == x.shape
    fg = out[..., :4, :]
    bg = out[..., 4:, :]
    # filling with the region mean then rescaling by sqrt(area fraction) leaves each region
    # with zero mean and unit variance of its own
    assert fg.mean().abs() < 1e-4 and bg.mean().abs() < 1e-4
    assert fg.std(unbiased=False).item() == pytest.approx(1.0, rel=0.01)
    assert bg.std(unbiased=False).item() == pytest.approx(1.0, rel=0.01)


def test_region_normalize_empty_region_is_finite() -> None:
    x = torch.randn(1, 3, 4, 4)
    out = region_normalize(x, torch.zeros(1, 1, 4, 4))
    assert torch.isfinite(out).all()
    assert torch.allclose(out, torch.nn.functional.instance_norm(x), atol=1e-4)


def _fill_and_normalise(x: torch.Tensor, mask: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Region normalisation written the reference way: fill, instance-norm, rescale."""
    hw = x.shape[-2] * x.shape[-1]
    out = torch.zeros_like(x)
    for region in (mask, 1.0 - mask):
        area = region.sum(dim=(2, 3), keepdim=True)
        mu = (x * region).sum(dim=(2, 3), keepdim=True) / area.clamp_min(1.0)
        filled = x * region + (1.0 - region) * mu
        normed = torch.nn.functional.instance_norm(filled, eps=eps)
        out = out + normed * region * torch.sqrt(area / hw)
    return out


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.4, 0.97, 1.0])
def test_region_normalize_matches_fill_and_normalise(fraction: float) -> None:
    torch.manual_seed(1)
    x = (torch.randn(2, 5, 24, 20) * 2 + 3).requires_grad_()
    mask = (torch.rand(2, 1, 24, 20) < fraction).float()
    mask[1] = 1 - mask[1]  # the second sample gets the complementary split
    got = region_normalize(x, mask)
    want = _fill_and_normalise(x, mask)
    assert torch.allclose(got, want, atol=2e-5)
    g = torch.randn_like(got)
    (grad_got,) = torch.autograd.grad((got * g).sum(), x)
    (grad_want,) = torch.autograd.grad((want * g).sum(), x)
    assert torch.allclose(grad_got, grad_want, atol=1e-4)


def test_self_aware_affine_matches_separate_convolutions() -> None:
    from drcnet.blocks import SelfAwareAffine

    torch.manual_seed(2)
    sa = SelfAwareAffine()
    x = torch.randn(1, 6, 16, 16)
    m, gamma, beta = sa(x)
    assert torch.allclose(gamma, sa.gamma(m), atol=1e-6)
    assert torch.allclose(beta, sa.beta(m), atol=1e-6)


@pytest.mark.parametrize("device", ["cpu", "cuda", "mps"])
def test_statistics_leave_autocast_on_every_device_that_has_it(device: str) -> None:
    """On ``mps`` the region norm's sums had stayed in fp16 under --precision fp16 and
    overflowed to NaN (no MPS here: the device is only named)."""

    class Named:  # stands for a tensor on ``device``
        def __init__(self) -> None:
            self.device = torch.device(device)

    ctx = full_precision(Named())  # type: ignore[arg-type]
    assert isinstance(ctx, torch.autocast) and ctx.device == device and not ctx._enabled


@pytest.mark.parametrize("fraction", [0.0, 0.3, 1.0])
def test_spatial_filter_scale_and_shift_are_the_reference_instance_norms(
        fraction: float) -> None:
    """Each region is filled with its mean, put through an affine instance norm (the
    reference's ``bn_norm``), rescaled by the square root of its area (an empty region
    counts as one pixel) and the two are summed: the shift reaches every pixel."""
    from drcnet.blocks import SpatialFilter

    torch.manual_seed(4)
    sf = SpatialFilter(6)
    with torch.no_grad():
        sf.norm_weight.uniform_(0.5, 2.0)
        sf.norm_bias.uniform_(-1.0, 1.0)
    x = torch.randn(1, 6, 16, 12) * 2 + 1
    mask = (torch.rand(1, 1, 16, 12) < fraction).float()

    class Given(torch.nn.Module):  # the self-aware map: this mask, γ = β = 0
        def forward(self, _: torch.Tensor) -> tuple[torch.Tensor, ...]:
            return mask, torch.zeros_like(mask), torch.zeros_like(mask)

    sf.self_aware = Given()
    got, _, _ = sf(x, 0.5)
    want = torch.zeros_like(x)
    n = x.shape[-2] * x.shape[-1]
    for region in (mask, 1 - mask):
        area = region.sum().clamp_min(1.0)
        mu = (x * region).sum(dim=(2, 3), keepdim=True) / area
        filled = x * region + (1 - region) * mu
        normed = torch.nn.functional.instance_norm(filled, weight=sf.norm_weight,
                                                   bias=sf.norm_bias, eps=1e-5)
        want = want + normed * torch.sqrt(area / n)
    assert torch.allclose(got, want.detach(), atol=2e-5)

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from drcnet.errors import UsageError
from drcnet.losses import (
    CharbonnierLoss,
    ExtraCR,
    FeaturePyramid,
    IntraCR,
    RestorationLoss,
    lowfreq_l1,
)


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    gt = torch.rand(3, 3, 32, 32, generator=g)
    x = (gt + 0.3 * torch.randn(gt.shape, generator=g)).clamp(0, 1)
    return x, gt


def test_random_pyramid_is_seeded() -> None:
    a, b, c = FeaturePyramid(seed=1), FeaturePyramid(seed=1), FeaturePyramid(seed=2)
    x = torch.rand(1, 3, 32, 32)
    fa, fb, fc = a(x), b(x), c(x)
    assert len(fa) == 4 and fa[-1].shape[-1] == 4
    assert all(torch.equal(p, q) for p, q in zip(fa, fb))
    assert not torch.equal(fa[0], fc[0])
    assert not any(p.requires_grad for p in a.parameters())


@pytest.mark.parametrize("cls", [IntraCR, ExtraCR])
def test_cr_lower_when_output_is_gt(cls: type, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, gt = batch
    cr = cls(FeaturePyramid(levels=3))
    at_gt, at_x, between = float(cr(gt, gt, x)), float(cr(x, gt, x)), float(cr((x + gt) / 2, gt, x))
    assert at_gt == pytest.approx(0.0, abs=1e-6)
    assert at_gt < between < at_x
    assert torch.isfinite(torch.tensor(at_x))


def test_cr_gradient_points_towards_gt(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, gt = batch
    out = (0.8 * x + 0.2 * gt).requires_grad_(True)  # off the kink of ℓ1 at out == x
    IntraCR(FeaturePyramid(levels=3))(out, gt, x).backward()
    # The directional derivative towards the ground truth is negative: moving there helps.
    assert float((out.grad * (gt - x)).sum()) < 0


def test_cr_options_a_caller_gets_wrong_are_usage_errors(batch: tuple[torch.Tensor,
                                                                      torch.Tensor]) -> None:
    """A caller's own CR settings had raised a plain ValueError, which the house reads as a
    bug: they are usage errors that name the values."""
    with pytest.raises(UsageError, match=r"one lambda per ratio: got 2 lambdas \(1.0, 0.5\) "
                                         r"for 3 ratios \(1.0, 0.5, 0.25\)"):
        IntraCR(FeaturePyramid(levels=3), lambdas=(1.0, 0.5))
    x, gt = batch
    with pytest.raises(UsageError, match="needs at least 2, got 1; use a larger batch"):
        ExtraCR(FeaturePyramid(levels=3))(x[:1], gt[:1], x[:1])


def test_total_loss_parts(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, gt = batch
    loss = RestorationLoss("charbonnier", "intra", alpha=0.1)
    parts = loss([x, x], gt, x)
    assert float(parts.total) == pytest.approx(float(parts.pixel) + 0.1 * float(parts.cr),
                                               rel=1e-5)
    assert float(parts.pixel) == pytest.approx(2 * float(CharbonnierLoss()(x, gt)), rel=1e-5)
    mse = RestorationLoss("mse", "none")([x, x], gt, x)
    assert float(mse.pixel) == pytest.approx(2 * float(((x - gt) ** 2).mean()), rel=1e-5)
    off = RestorationLoss("l1", "none")([x, x], gt, x)
    assert float(off.cr) == 0.0
    with pytest.raises(ValueError, match="contrastive"):
        RestorationLoss("l1", "bogus")


def test_lowfreq_term_weighs_area_shifts_not_zero_mean_detail() -> None:
    gt = torch.rand(2, 3, 32, 32)
    yy, xx = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    checker = ((yy + xx) % 2 * 2 - 1).float() * 0.1  # ±0.1: zero mean in every block
    assert float(lowfreq_l1(gt + checker, gt, 16)) == pytest.approx(0.0, abs=1e-6)
    assert float(lowfreq_l1(gt + 0.1, gt, 16)) == pytest.approx(0.1, rel=1e-5)
    # Both have the same per-pixel L1; only the shift counts at low frequencies.
    plain = RestorationLoss("l1", "none")
    lf = RestorationLoss("l1", "none", lowfreq=0.5, lowfreq_pool=16)
    for err in (checker, torch.full_like(gt, 0.1)):
        x = gt + err
        assert float(plain([x, x], gt, x).pixel) == pytest.approx(0.2, rel=1e-5)
    x = gt + 0.1
    assert float(lf([x, x], gt, x).pixel) == pytest.approx(0.2 + 2 * 0.5 * 0.1, rel=1e-5)
    x = gt + checker
    assert float(lf([x, x], gt, x).total) == pytest.approx(0.2, rel=1e-5)
    with pytest.raises(ValueError, match="lowfreq"):
        RestorationLoss("l1", "none", lowfreq=-1)


def test_vgg_weights_load_from_file(tmp_path: Path) -> None:
    from drcnet.losses import _vgg19

    ref = _vgg19()
    state = {f"features.{k}": v for k, v in ref.state_dict().items()}
    path = tmp_path / "vgg19.safetensors"
    save_file(state, str(path))
    g = FeaturePyramid(path)
    assert g.kind == "vgg19"
    assert torch.equal(g.features[0].weight, ref[0].weight)
    assert len(g(torch.rand(1, 3, 32, 32))) == 5

"""Training losses: pixel loss on both stages plus DRCNet's contrastive regularization.

``total = Σ_stages pixel(out_s, gt) + α · CR(out_final)`` with the paper's ratio form, per
feature level ``l`` of an extractor ``G``:

    ℓ_c = Σ_l w_l · ℓ1(G_l(out), G_l(gt)) / (Σ_i λ_i · ℓ1(G_l(out), G_l(neg_i)) + eps)

:class:`IntraCR` takes its negatives from the same image (the degraded input and its mixes with
the ground truth); :class:`ExtraCR` from the other images of the batch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .errors import UsageError, WeightsError

# torchvision's vgg19.features: conv channel plan, "M" = max-pool.
_VGG19 = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512)
# relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (indices into vgg19.features), and the AECR-Net
# / DRCNet level weights.
_VGG_TAPS = (1, 6, 11, 20, 29)
_VGG_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class CharbonnierLoss(nn.Module):
    """``mean(sqrt((x − y)² + eps²))``: a smooth L1."""

    def __init__(self, eps: float = 1e-3) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.sqrt((x - y) ** 2 + self.eps**2).mean()


PIXEL_LOSSES = ("l1", "charbonnier", "mse")


def pixel_loss(kind: str) -> nn.Module:
    """``l1``, ``charbonnier`` or ``mse``.

    ``mse`` is what PSNR measures: where the degraded input leaves several answers plausible
    (a faint veil of streaks or haze), it pulls towards their mean, where L1 picks their
    median. Its values are far smaller than L1's (an error of 0.02 everywhere costs 0.02 in L1
    and 0.0004 in MSE), so a CR weight α tuned beside L1 weighs far more beside MSE.
    """
    if kind == "l1":
        return nn.L1Loss()
    if kind == "charbonnier":
        return CharbonnierLoss()
    if kind == "mse":
        return nn.MSELoss()
    raise UsageError(f"unknown pixel loss '{kind}'; choose {', '.join(PIXEL_LOSSES)}")


class FeaturePyramid(nn.Module):
    """A frozen multi-level feature extractor ``G`` for contrastive regularization.

    With ``vgg_path``, the VGG19 conv stack (as in the paper) is built here and loaded from a
    local file holding torchvision-style ``features.N.weight``/``bias`` keys (safetensors, or a
    ``.pth`` read with ``weights_only=True``); features are taken after relu1_1 … relu5_1.

    Without it, a *random* pyramid stands in: ``levels`` stages of two 3×3 convs + ReLU, each
    halving the resolution, with weights drawn deterministically from ``seed`` (the same seed
    always gives the same ``G``). Random conv features still separate textures and noise from
    clean content, which is what the contrast needs, and need no download.

    Shape: ``B×3×H×W`` in [0, 1] → a list of ``B×C_l×H_l×W_l`` tensors.
    """

    def __init__(self, vgg_path: str | os.PathLike[str] | None = None, levels: int = 4,
                 seed: int = 0, width: int = 16) -> None:
        super().__init__()
        self.kind = "vgg19" if vgg_path else f"random{levels}(seed={seed})"
        if vgg_path:
            self.features, self.taps = _vgg19(), _VGG_TAPS
            self.level_weights: tuple[float, ...] = _VGG_WEIGHTS
            _load_vgg(self.features, vgg_path)
            mean, std = _IMAGENET_MEAN, _IMAGENET_STD
        else:
            if not 3 <= levels <= 5:
                raise UsageError(f"levels must be 3–5, got {levels}")
            layers: list[nn.Module] = []
            taps = []
            ch = 3
            for i in range(levels):
                out = width * 2**i
                stride = 1 if i == 0 else 2
                layers += [nn.Conv2d(ch, out, 3, stride, 1), nn.ReLU(),
                           nn.Conv2d(out, out, 3, 1, 1), nn.ReLU()]
                taps.append(len(layers) - 1)
                ch = out
            self.features = nn.Sequential(*layers)
            self.taps = tuple(taps)
            self.level_weights = tuple(2.0 ** (i - levels + 1) for i in range(levels))
            gen = torch.Generator().manual_seed(seed)
            with torch.no_grad():
                for m in self.features:
                    if isinstance(m, nn.Conv2d):
                        fan_in = m.in_channels * 9
                        m.weight.copy_(torch.randn(m.weight.shape, generator=gen)
                                       * (2.0 / fan_in) ** 0.5)
                        m.bias.zero_()
            mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FeaturePyramid:
        return super().train(False)  # always frozen

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x - self.mean) / self.std
        feats = []
        last = self.taps[-1]
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                feats.append(x)
            if i == last:
                break
        return feats


def _vgg19() -> nn.Sequential:
    layers: list[nn.Module] = []
    ch = 3
    for v in _VGG19:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(ch, int(v), 3, padding=1), nn.ReLU()]
            ch = int(v)
    return nn.Sequential(*layers)


def _load_vgg(features: nn.Sequential, path: str | os.PathLike[str]) -> None:
    from .weights import load_state_dict  # a safe loader; imported late to keep import light

    try:
        state = load_state_dict(path)
    except WeightsError as exc:
        raise WeightsError(f"cannot load VGG19 features: {exc}") from None
    state = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
    own = features.state_dict()
    missing = [k for k in own if k not in state]
    if missing:
        raise WeightsError(f"{os.fspath(path)} is not a torchvision VGG19 (missing features."
                           f"{missing[0]})")
    features.load_state_dict({k: state[k].float() for k in own})


def contrastive_ratio(
    feats_out: Sequence[torch.Tensor],
    feats_pos: Sequence[torch.Tensor],
    feats_negs: Sequence[Sequence[torch.Tensor]],
    lambdas: Sequence[float],
    level_weights: Sequence[float],
    eps: float = 1e-7,
) -> torch.Tensor:
    """Σ_l w_l · ℓ1(out_l, pos_l) / (Σ_i λ_i ℓ1(out_l, neg_i,l) + eps)."""
    total = feats_out[0].new_zeros(())
    for lvl, (fo, fp) in enumerate(zip(feats_out, feats_pos)):
        num = F.l1_loss(fo, fp)
        den = sum(lam * F.l1_loss(fo, negs[lvl]) for lam, negs in zip(lambdas, feats_negs))
        total = total + level_weights[lvl] * num / (den + eps)
    return total


class IntraCR(nn.Module):
    """Intra contrastive regularization: negatives from the same image.

    Negatives are ``r·x + (1−r)·gt`` for each ratio ``r`` in ``ratios`` (``r = 1`` is the
    degraded input itself), weighted by ``lambdas``.
    """

    def __init__(self, features: FeaturePyramid, ratios: Sequence[float] = (1.0, 0.5, 0.25),
                 lambdas: Sequence[float] | None = None, eps: float = 1e-7) -> None:
        super().__init__()
        self.features = features
        self.ratios = tuple(float(r) for r in ratios)
        self.lambdas = tuple(lambdas) if lambdas is not None else self.ratios
        if len(self.lambdas) != len(self.ratios):
            raise UsageError(f"IntraCR needs one lambda per ratio: got {len(self.lambdas)} "
                             f"lambdas {self.lambdas} for {len(self.ratios)} ratios "
                             f"{self.ratios}")
        self.eps = eps

    def forward(self, out: torch.Tensor, gt: torch.Tensor, degraded: torch.Tensor
                ) -> torch.Tensor:
        with torch.no_grad():
            pos = self.features(gt)
            negs = [self.features(r * degraded + (1 - r) * gt) for r in self.ratios]
        return contrastive_ratio(self.features(out), pos, negs, self.lambdas,
                                 self.features.level_weights, self.eps)


class ExtraCR(nn.Module):
    """Extra contrastive regularization: negatives from other images in the batch.

    The batch is rolled by one: the negatives of image ``b`` are image ``b−1``'s ground truth
    and (detached) output. Needs a batch of at least 2.
    """

    def __init__(self, features: FeaturePyramid, lambdas: Sequence[float] = (1.0, 1.0),
                 eps: float = 1e-7) -> None:
        super().__init__()
        self.features = features
        self.lambdas = tuple(lambdas)
        self.eps = eps

    def forward(self, out: torch.Tensor, gt: torch.Tensor, degraded: torch.Tensor | None = None
                ) -> torch.Tensor:
        if out.shape[0] < 2:  # the caller's batch size, against the loss they chose
            raise UsageError("ExtraCR takes its negatives from the other images of a batch: "
                             f"it needs at least 2, got {out.shape[0]}; use a larger batch "
                             "or IntraCR (cr='intra')")
        fo = self.features(out)
        with torch.no_grad():
            pos = self.features(gt)
            neg_gt = [f.roll(1, 0) for f in pos]
            neg_out = [f.detach().roll(1, 0) for f in fo]
        return contrastive_ratio(fo, pos, [neg_gt, neg_out][: len(self.lambdas)],
                                 self.lambdas, self.features.level_weights, self.eps)


@dataclass(frozen=True)
class LossParts:
    """The total loss and its detached parts (tensors: no device sync until logged)."""

    total: torch.Tensor
    pixel: torch.Tensor
    cr: torch.Tensor


def lowfreq_l1(x: torch.Tensor, y: torch.Tensor, pool: int) -> torch.Tensor:
    """L1 between the ``pool``×``pool`` block means of ``x`` and ``y`` (NCHW).

    Sparse errors, such as a missed rain streak, mostly average away in a block; a shift of a
    whole area's brightness or colour does not. So this term weighs the low-frequency error
    that a per-pixel L1 (a median-seeking loss) leaves loosely tied down. Blocks cover the
    image from its top-left corner; a remainder narrower than ``pool`` is left out.
    """
    return F.l1_loss(F.avg_pool2d(x, pool), F.avg_pool2d(y, pool))


class RestorationLoss(nn.Module):
    """``Σ_stages [pixel(out_s, gt) + β · lowfreq(out_s, gt)] + α · CR(final, gt, degraded)``.

    Args:
        pixel: ``l1``, ``charbonnier`` or ``mse``.
        cr: ``none``, ``intra`` or ``extra``.
        alpha: CR weight α.
        features: the extractor ``G`` (built random if ``None`` and CR is on).
        lowfreq: weight β of :func:`lowfreq_l1` on each stage (0 = off). Reported within the
            pixel part.
        lowfreq_pool: its block size in pixels.
    """

    def __init__(self, pixel: str = "l1", cr: str = "intra", alpha: float = 0.1,
                 features: FeaturePyramid | None = None, lowfreq: float = 0.0,
                 lowfreq_pool: int = 16) -> None:
        super().__init__()
        if lowfreq < 0 or lowfreq_pool < 2:
            raise UsageError(f"lowfreq must be >= 0 and lowfreq_pool >= 2, got {lowfreq} and "
                             f"{lowfreq_pool}")
        self.pixel = pixel_loss(pixel)
        self.lowfreq = float(lowfreq)
        self.lowfreq_pool = int(lowfreq_pool)
        self.alpha = float(alpha)
        self.cr: nn.Module | None
        if cr == "none" or self.alpha == 0:
            self.cr = None
        elif cr in ("intra", "extra"):
            g = features or FeaturePyramid()
            self.cr = IntraCR(g) if cr == "intra" else ExtraCR(g)
        else:
            raise UsageError(f"unknown contrastive regularization '{cr}'; "
                             "choose none, intra or extra")

    def forward(self, outs: Sequence[torch.Tensor], gt: torch.Tensor, degraded: torch.Tensor
                ) -> LossParts:
        pix = sum((self.pixel(o, gt) for o in outs), gt.new_zeros(()))
        if self.lowfreq:
            pix = pix + self.lowfreq * sum(
                (lowfreq_l1(o, gt, self.lowfreq_pool) for o in outs), gt.new_zeros(()))
        total = pix
        cr = gt.new_zeros(())
        if self.cr is not None:
            cr = self.cr(outs[-1].float(), gt.float(), degraded.float())
            total = total + self.alpha * cr
        return LossParts(total, pix.detach(), cr.detach())

"""Model cost: parameters and multiply-accumulates."""

from __future__ import annotations

import torch


def count_params(model: torch.nn.Module) -> int:
    """Number of parameters."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: torch.nn.Module, size: int) -> int:
    """Multiply-accumulates of one forward pass on a 1×3×size×size input, counted the way
    thop counts them: each conv or transposed-conv output element costs in_ch/groups × k×k
    (the paper's "FLOPs" are these MACs).

    The self-aware map's γ and β convolutions run as one functional 1→2 convolution
    (:class:`~drcnet.blocks.SelfAwareAffine`), which module hooks do not see; they are
    counted from that module's outputs instead.
    """
    from .blocks import SelfAwareAffine

    total = 0

    def affine_hook(mod: torch.nn.Module, inp: tuple[torch.Tensor, ...],
                    out: tuple[torch.Tensor, ...]) -> None:
        nonlocal total
        _, gamma, beta = out
        for conv, o in ((mod.gamma, gamma), (mod.beta, beta)):
            total += o.numel() * conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]

    def hook(mod: torch.nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        assert isinstance(mod, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
        k = mod.kernel_size[0] * mod.kernel_size[1]
        total += out.numel() * (mod.in_channels // mod.groups) * k

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    handles += [m.register_forward_hook(affine_hook) for m in model.modules()
                if isinstance(m, SelfAwareAffine)]
    try:
        with torch.inference_mode():
            model(torch.zeros(1, 3, size, size, device=next(model.parameters()).device))
    finally:
        for h in handles:
            h.remove()
    return total

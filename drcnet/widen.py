"""Widen a trained DRCNet into one with ``factor`` times the channels that computes the same
function (Net2WiderNet), to warm-start a larger "quality" model from a shipped one.

Every feature channel ``i`` of the narrow network becomes ``factor`` adjacent replicas
``factor·i … factor·i + factor−1`` in the wide one. That layout is closed under what the
network does to channels, so one rule covers every layer:

- a convolution's output channel ``j`` copies the narrow output channel ``j // factor``
  (weights and bias), so the replicas compute the same map;
- its input channel ``j`` takes the narrow weight of input ``j // factor`` divided by
  ``factor``, so summing over the replicas gives the narrow sum back;
- ``chunk(2)`` of a replicated map is the replicated halves, and ``cat`` of replicated maps
  is the replicated concatenation (the DFR block's split, the decoder's skip, ``fuse``);
- a per-channel parameter (the spatial filter's normalisation scale and shift) of channel
  ``j`` copies the narrow channel ``j // factor``;
- per-channel statistics (region normalisation, energy attention) and the channel mean and
  max that the spatial filter's self-aware map and the range probe take are unchanged by
  duplicating every channel the same number of times.

Image channels (the input, the stage outputs) and the self-aware map's 2→1 and 1→1
convolutions keep their size and are copied. Exact replicas would receive identical
gradients and never diverge, so each input weight's ``factor`` shares get zero-sum noise
(``noise`` times that layer's weight standard deviation): the replicas carry the same
activation, so any split of the weight that sums to the narrow one gives the same output,
while the outgoing weights now differ and so do the replicas' gradients.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .blocks import SpatialFilter
from .errors import DRCNetError, UsageError
from .network import DRCNet

MAX_FACTOR = 8  # wf 16 -> 128, twice the paper's width; beyond that nothing trains here


def _axis(narrow: int, wide: int, factor: int, what: str) -> torch.Tensor | None:
    """The narrow index of each wide position along one axis, or None when it is not widened."""
    if wide == narrow:
        return None
    if wide != narrow * factor:
        raise DRCNetError(f"{what}: {narrow} channels cannot widen to {wide} by {factor}")
    return torch.arange(wide) // factor


def _widen_conv(narrow: nn.Module, wide: nn.Module, factor: int, noise: float,
                gen: torch.Generator, name: str) -> None:
    transposed = isinstance(narrow, nn.ConvTranspose2d)
    if narrow.groups != 1:
        raise DRCNetError(f"{name}: grouped convolutions are not supported")
    w = narrow.weight.detach().float().cpu()
    spread = float(w.std())
    # Conv2d stores out×in×k×k, ConvTranspose2d in×out×k×k.
    o_dim, i_dim = (1, 0) if transposed else (0, 1)
    out_map = _axis(w.shape[o_dim], wide.weight.shape[o_dim], factor, f"{name} outputs")
    in_map = _axis(w.shape[i_dim], wide.weight.shape[i_dim], factor, f"{name} inputs")
    if out_map is not None:
        w = w.index_select(o_dim, out_map)
    if in_map is not None:
        w = w.index_select(i_dim, in_map) / factor
        if noise > 0:
            # Zero-sum over each input channel's replicas (adjacent along i_dim).
            z = torch.randn(w.shape, generator=gen, dtype=w.dtype)
            shape = list(z.shape)
            grouped = z.movedim(i_dim, 0).reshape(shape[i_dim] // factor, factor, -1)
            grouped = grouped - grouped.mean(dim=1, keepdim=True)
            z = grouped.reshape([shape[i_dim]] + shape[:i_dim] + shape[i_dim + 1:])
            z = z.movedim(0, i_dim)
            w = w + z * (noise * spread)
    with torch.no_grad():
        wide.weight.copy_(w)
        if narrow.bias is not None:
            b = narrow.bias.detach().float().cpu()
            wide.bias.copy_(b if out_map is None else b.index_select(0, out_map))


def _widen_per_channel(narrow: nn.Module, wide: nn.Module, factor: int, name: str) -> None:
    """Copy each per-channel parameter (the spatial filter's norm scale and shift) to the
    channel's replicas."""
    for p_name, w in wide.named_parameters(recurse=False):
        n = getattr(narrow, p_name).detach().float().cpu()
        index = _axis(n.shape[0], w.shape[0], factor, f"{name}.{p_name}")
        with torch.no_grad():
            w.copy_(n if index is None else n.index_select(0, index))


def check_widen_args(factor: float, noise: float) -> None:
    """Refuse a factor that is not an integer from 2 to :data:`MAX_FACTOR`, or a noise that
    is not a finite number >= 0 (a setting out of range: a usage error, exit status 2).

    Raises:
        UsageError: either is out of range.
    """
    if int(factor) != factor or not 2 <= factor <= MAX_FACTOR:
        raise UsageError(f"factor must be an integer from 2 to {MAX_FACTOR}, got {factor}")
    if not (math.isfinite(noise) and noise >= 0):
        raise UsageError(f"noise must be a finite number >= 0, got {noise}")


def widen(model: DRCNet, factor: int = 2, noise: float = 0.05, seed: int = 0) -> DRCNet:
    """A :class:`DRCNet` with ``wf·factor`` channels computing what ``model`` computes.

    Args:
        model: the trained narrow network (any device; the result is float32 on the CPU, in
            eval mode, with ``model``'s knobs and training crop).
        factor: channel multiplier, an integer from 2 to :data:`MAX_FACTOR`.
        noise: symmetry-breaking noise relative to the narrow layer's weight spread (the wide
            weights are that layer's divided by ``factor``, so relative to them it is about
            ``factor`` times this); 0 gives exact replicas, which training would never
            separate.
        seed: seeds the noise.

    Raises:
        UsageError: a bad factor or noise (:func:`check_widen_args`).
        DRCNetError: a layer this rule does not cover.
    """
    check_widen_args(factor, noise)
    factor = int(factor)
    c = model.config
    wide = DRCNet(wf=c.wf * factor, depth=c.depth, t=c.t, delta=c.delta, ea=c.ea,
                  in_ch=c.in_ch)
    wide.configure(t=model.knobs.t, delta=model.knobs.delta, ea=model.knobs.ea)
    wide.train_crop = model.train_crop
    gen = torch.Generator().manual_seed(seed)
    narrow_mods = dict(model.named_modules())
    covered = set()
    for name, w_mod in wide.named_modules():
        n_mod = narrow_mods.get(name)
        if type(n_mod) is not type(w_mod):
            raise DRCNetError(f"{name or 'the network'}: the two networks differ in structure")
        own = list(w_mod.parameters(recurse=False))
        if not own:
            continue
        if isinstance(w_mod, SpatialFilter):  # per-channel scale and shift: replicated
            _widen_per_channel(n_mod, w_mod, factor, name)
        elif not isinstance(w_mod, nn.Conv2d | nn.ConvTranspose2d):
            raise DRCNetError(f"{name}: no widening rule for {type(w_mod).__name__}")
        else:
            _widen_conv(n_mod, w_mod, factor, noise, gen, name)
        covered.update(f"{name}.{p}" for p, _ in w_mod.named_parameters(recurse=False))
    missing = [p for p, _ in wide.named_parameters() if p not in covered]
    if missing:  # pragma: no cover - every parameter has a rule above today
        raise DRCNetError(f"parameters left unset: {', '.join(missing)}")
    return wide.eval()

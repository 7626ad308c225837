"""The one place that knows the public reference implementation's parameter names.

The reference code (built on HINet) names things ``down_path_1.0.norm.sa.conv1`` or
``sam12``; this project names them after the paper. :func:`from_reference` renames a
reference state dict to this project's names.
"""

from __future__ import annotations

import re

import torch

# (reference pattern, our replacement), applied in order to each key.
_RULES: tuple[tuple[str, str], ...] = (
    (r"^module\.", ""),
    (r"^conv_01\.", "embed1."),
    (r"^conv_02\.", "embed2."),
    (r"^down_path_1\.", "encoder1."),
    (r"^down_path_2\.", "encoder2."),
    (r"^up_path_1\.", "decoder1."),
    (r"^up_path_2\.", "decoder2."),
    (r"^skip_conv_1\.", "skip1."),
    (r"^skip_conv_2\.", "skip2."),
    (r"^sam12\.", "sam."),
    (r"^cat12\.", "fuse."),
    (r"\.norm\.sa\.conv1\.", ".spatial_filter.self_aware.conv."),
    (r"\.norm\.sa\.gamma_conv\.", ".spatial_filter.self_aware.gamma."),
    (r"\.norm\.sa\.beta_conv\.", ".spatial_filter.self_aware.beta."),
    # RN_binarylabel.bn_norm: an affine InstanceNorm2d, its scale and shift learned
    (r"\.norm\.rn\.bn_norm\.weight$", ".spatial_filter.norm_weight"),
    (r"\.norm\.rn\.bn_norm\.bias$", ".spatial_filter.norm_bias"),
    (r"^(encoder[12]\.\d+)\.downsample\.", r"\1.down."),
)

# Running statistics, which an instance norm without tracking never uses.
_DROP = re.compile(r"running_mean$|running_var$|num_batches_tracked$")

_REFERENCE_MARKERS = ("down_path_1.", "sam12.", "cat12.", "conv_01.")


def is_reference(state: dict[str, torch.Tensor]) -> bool:
    """Whether ``state`` uses the reference implementation's key names."""
    return any(k.removeprefix("module.").startswith(_REFERENCE_MARKERS) for k in state)


def from_reference(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a reference-implementation state dict to this project's parameter names."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if _DROP.search(key):
            continue
        for pattern, repl in _RULES:
            key = re.sub(pattern, repl, key)
        out[key] = value
    return out

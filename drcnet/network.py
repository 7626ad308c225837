"""The two-stage DRCNet: U-Net stages of DFR blocks, SAM and cross-stage feature fusion."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import BlockMaps, DFRBlock, Knobs, SupervisedAttention, UpBlock
from .errors import UsageError

# Inference precisions: fp32, or autocast to fp16/bf16 (convolutions in the low precision;
# the spatial filter's and energy attention's statistics stay float32).
PRECISIONS: dict[str, torch.dtype | None] = {
    "fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class ModelConfig:
    """Architecture hyper-parameters. ``t``, ``delta`` and ``ea`` are the knobs it was built
    (and trained) with, the initial knob values; :meth:`DRCNet.configure` changes the knobs
    (``model.knobs``), never this."""

    wf: int = 64
    depth: int = 4
    in_ch: int = 3
    t: float = 0.75
    delta: float = 1e-6
    ea: bool = True


class DRCNet(nn.Module):
    """Dynamic Image Restoration Contrastive Network (Li et al., ECCV 2022).

    Args:
        wf: width of the first level; level ``i`` has ``wf·2^i`` channels (``wf >= 8``).
        depth: number of encoder levels per stage (``depth >= 2``).
        t: spatial-filter threshold, in (0, 1).
        delta: energy-attention coefficient, > 0.
        ea: energy attention on. Also what the network is (to be) trained with: ``False``
            bypasses EA outright (the paper's w/o EA network); turned off later
            (:meth:`configure`) in a network built with it, each channel keeps its mean
            attention weight, so only EA's spatial selection is removed.

    Forward:
        ``B×3×H×W`` floats in [0, 1], any H and W (padded internally to a multiple of
        ``2^(depth-1)`` and cropped back). Returns ``[stage1, stage2]`` images of the same
        shape; the last one is final.
    """

    def __init__(
        self,
        wf: int = 64,
        depth: int = 4,
        t: float = 0.75,
        delta: float = 1e-6,
        ea: bool = True,
        in_ch: int = 3,
    ) -> None:
        super().__init__()
        if wf < 8 or wf % 2:
            raise UsageError(f"wf must be an even number >= 8, got {wf}")
        if depth < 2:
            raise UsageError(f"depth must be >= 2, got {depth}")
        # What it was built with, as its weight file stores it (save_weights): fixed. The
        # knobs the next forward pass runs with are ``knobs``, which configure() changes.
        self.config = ModelConfig(wf=wf, depth=depth, in_ch=in_ch, t=t, delta=delta, ea=ea)
        self.knobs = Knobs()
        self.precision = "fp32"
        self.channels_last = False
        # The crop side it was trained on, from its weight file (build_model), if recorded. It
        # normalises over the image it sees, so it does best on tiles of this size.
        self.train_crop: int | None = None
        # When a list: each forward pass appends the channel-wise peak |activation| of the
        # deepest stage-2 block (B×h×w at 1/2^(depth-1) of the padded input, float32, CPU).
        # drcnet.range_check compares it with the weight file's calibrated limit.
        self.peak_probe: list[torch.Tensor] | None = None
        self.activation_limit: float | None = None  # the calibrated limit on that peak
        # The range check's repair (drcnet.inference.repair_tiles) restores a tile again when
        # its peak passes this many times the limit (drcnet.range_check.repair_above).
        self.repair_above: float = 1.0
        self.configure(t=t, delta=delta, ea=ea)
        self.depth = depth
        chans = [wf * 2**i for i in range(depth)]

        self.embed1 = nn.Conv2d(in_ch, wf, 3, padding=1)
        self.embed2 = nn.Conv2d(in_ch, wf, 3, padding=1)
        self.encoder1 = nn.ModuleList()
        self.encoder2 = nn.ModuleList()
        prev = wf
        for i, ch in enumerate(chans):
            down = i + 1 < depth
            self.encoder1.append(DFRBlock(prev, ch, self.knobs, downsample=down,
                                          ea_trained=ea))
            self.encoder2.append(DFRBlock(prev, ch, self.knobs, downsample=down, csff=down,
                                          ea_trained=ea))
            prev = ch
        self.decoder1 = nn.ModuleList()
        self.decoder2 = nn.ModuleList()
        self.skip1 = nn.ModuleList()
        self.skip2 = nn.ModuleList()
        for ch in reversed(chans[:-1]):
            self.decoder1.append(UpBlock(prev, ch))
            self.decoder2.append(UpBlock(prev, ch))
            self.skip1.append(nn.Conv2d(ch, ch, 3, padding=1))
            self.skip2.append(nn.Conv2d(ch, ch, 3, padding=1))
            prev = ch
        self.sam = SupervisedAttention(wf, in_ch)
        self.fuse = nn.Conv2d(2 * wf, wf, 1)
        self.last = nn.Conv2d(wf, in_ch, 3, padding=1)
        for stage, blocks in (("stage1", self.encoder1), ("stage2", self.encoder2)):
            for i, block in enumerate(blocks):
                block.name = f"{stage}.enc{i}"

    # ----------------------------------------------------------------- knobs and probes
    def configure(
        self, t: float | None = None, delta: float | None = None, ea: bool | None = None
    ) -> DRCNet:
        """Change the runtime knobs for the following forward passes (no rebuild, no reload).

        The knobs in force are ``model.knobs``; ``model.config`` keeps the values the model
        was built (and trained) with, and is what :func:`drcnet.weights.save_weights`
        stores, so a saved model loads with those, not with the knobs set here.

        Args:
            t: spatial-filter threshold in (0, 1).
            delta: energy-attention coefficient, > 0.
            ea: energy attention on or off (off: each channel keeps its mean attention
                weight in a network built with EA, the identity in one built without).
        """
        if t is not None:
            if not 0.0 < float(t) < 1.0:
                raise UsageError(f"t must lie in (0, 1), got {t}")
            self.knobs.t = float(t)
        if delta is not None:
            if not 0.0 < float(delta) < math.inf:
                raise UsageError(f"delta must be finite and > 0, got {delta}")
            self.knobs.delta = float(delta)
        if ea is not None:
            if isinstance(ea, str) or ea not in (True, False):  # bool("no"): EA stayed on
                raise UsageError(f"ea must be True or False, got {ea!r}")
            self.knobs.ea = bool(ea)
        return self

    def set_runtime(
        self, precision: str | None = None, channels_last: bool | None = None
    ) -> DRCNet:
        """How forward passes run (not part of the weights; training leaves these alone).

        Args:
            precision: ``fp32``, or ``fp16``/``bf16`` autocast on the input's device. The
                outputs are float32 either way.
            channels_last: keep weights and activations in NHWC memory order (tensor cores
                on CUDA prefer it).
        """
        if precision is not None:
            if precision not in PRECISIONS:
                raise UsageError(f"unknown precision '{precision}'; choose one of "
                                 f"{', '.join(PRECISIONS)}")
            self.precision = precision
        if channels_last is not None:
            self.channels_last = bool(channels_last)
            fmt = torch.channels_last if self.channels_last else torch.contiguous_format
            self.to(memory_format=fmt)
        return self

    def dfr_blocks(self) -> list[DFRBlock]:
        """All DFR blocks, stage 1 then stage 2, shallow to deep."""
        return [*self.encoder1, *self.encoder2]

    def block_names(self) -> list[str]:
        """Probe names: ``stage1.enc0`` … ``stage2.enc{depth-1}``."""
        return [b.name for b in self.dfr_blocks()]

    def set_probe(self, store: dict[str, BlockMaps] | None) -> None:
        """Capture each DFR block's maps into ``store`` on forward passes; ``None`` turns it off."""
        for block in self.dfr_blocks():
            block.probe = store

    # ------------------------------------------------------------------------- forward
    @property
    def multiple(self) -> int:
        """Height and width are padded internally to a multiple of this."""
        return 2 ** (self.depth - 1)

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        """Both stages' outputs for ``image``, a ``B×in_ch×H×W`` float32 tensor in [0, 1]
        (any H and W ≥ 1, on the parameters' device); the outputs are not clamped to [0, 1].

        Raises:
            UsageError: another shape or type, or weights that are not float32 (such as after
                ``model.half()``: run in half precision with ``set_runtime(precision=...)``,
                whose autocast keeps the normalisation statistics in float32).
        """
        if image.ndim != 4 or image.shape[1] != self.config.in_ch:
            raise UsageError(
                f"expected a B×{self.config.in_ch}×H×W tensor, got shape {tuple(image.shape)}"
            )
        weight = self.embed1.weight
        if weight.dtype != torch.float32:
            raise UsageError(f"the network's weights are {weight.dtype}; keep them float32 and "
                             "choose the precision with set_runtime(precision='bf16' or "
                             "'fp16'), which runs the convolutions in it under autocast")
        if image.dtype != torch.float32:
            raise UsageError(f"expected a float32 tensor, got {image.dtype}; convert it with "
                             ".float() (half precision: set_runtime(precision=...))")
        h, w = image.shape[-2:]
        if not h or not w:
            raise UsageError(f"expected an image at least 1×1, got {w}×{h}")
        mult = self.multiple
        ph, pw = (-h) % mult, (-w) % mult
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            image = F.pad(image, (0, pw, 0, ph), mode=mode)
        if self.channels_last:
            image = image.contiguous(memory_format=torch.channels_last)
        dtype = PRECISIONS[self.precision]
        if dtype is None:  # no context at all: an outer autocast (training AMP) stays in force
            return [o[..., :h, :w] for o in self._forward(image)]
        with torch.autocast(image.device.type, dtype=dtype):
            outs = self._forward(image)
        return [o[..., :h, :w].float() for o in outs]

    def _forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        x = self.embed1(image)
        encs = []
        for block in self.encoder1:
            x, full = block(x)
            encs.append(full)
        decs = []
        for i, (up, skip) in enumerate(zip(self.decoder1, self.skip1)):
            x = up(x, skip(encs[-i - 2]))
            decs.append(x)
        sam_feature, out1 = self.sam(x, image)

        x = self.fuse(torch.cat([self.embed2(image), sam_feature], dim=1))
        blocks = []
        n = len(self.encoder2)
        for i, block in enumerate(self.encoder2):
            if i + 1 < n:
                x, full = block(x, encs[i], decs[-i - 1])
            else:
                x, full = block(x)
            blocks.append(full)
        if self.peak_probe is not None:
            self.peak_probe.append(blocks[-1].detach().abs().amax(dim=1).float().cpu())
        for i, (up, skip) in enumerate(zip(self.decoder2, self.skip2)):
            x = up(x, skip(blocks[-i - 2]))
        out2 = self.last(x) + image
        return [out1, out2]

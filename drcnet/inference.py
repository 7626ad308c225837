"""Inference without Qt: one forward pass on an image, and tiled restoration of large images.

Long work is a generator: :func:`restore_tiled` yields a :class:`Progress` record after each
tile and returns the restored image; cancelling is a callable checked between tiles. The
CLI wraps it in tqdm and the GUI runs it in a worker thread.

DRCNet normalises over space (region normalisation in the spatial filter, per-channel
statistics in energy attention), so a tile sees statistics of its own area rather than of
the whole image. Overlapping tiles with feathered blending hide the seams; the remaining
difference to a whole-image pass is measured by ``drcnet bench`` and the tests.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import numbers
import sys
import threading
import time
import weakref
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
import torch

from .blocks import BlockMaps
from .errors import Cancelled, DRCNetError, UsageError, first_line
from .network import DRCNet


@dataclass(frozen=True)
class Progress:
    """A progress record yielded between units of long work."""

    done: int
    total: int
    message: str = ""


# An area of an image in pixels: (y, x, height, width).
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class AreaDone(Progress):
    """Yielded by :func:`restore_tiled` when every tile over its ``focus`` area is done (and
    tiles elsewhere are not): ``pixels`` is the restored image over ``box``, as the finished
    image will have it (to float rounding), so a viewer can show the area a user is looking
    at long before the whole image is done."""

    box: Box = (0, 0, 0, 0)
    pixels: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 3), np.float32),
                               repr=False, compare=False)


@dataclass(frozen=True)
class Restart(Progress):
    """Yielded by :func:`restore_tiled` when the work starts again with smaller tiles or
    fewer tiles a pass (a GPU, CUDA or MPS, ran out of memory): what it handed over before (an
    :class:`AreaDone`) is not what the finished image will have. ``tiles``: the tiling it
    goes on with."""

    tiles: TileConfig | None = None


# DRCNet normalises over the image it sees, so a model does best on tiles of its training crop
# (docs/MODEL_CARD.md: a 128-px fine-tune gained at 128-px tiles and lost at 256; 256-px tiles
# beat whole 512² passes by 0.1–1 dB). The shipped models were trained on 256-px crops. The
# CLI's default tile is a model's recorded training crop (default_tile), else this; the GUI
# starts at this.
DEFAULT_TILE = 256
# Overlap between neighbouring tiles, feathered linearly. 32 px scores 0.01–0.05 dB below 64
# on the validation split (docs/eval/overlap_32_vs_64.txt) and computes 1.38× the pixels at
# 4000×3000 instead of 1.84× (docs/PERFORMANCE.md).
DEFAULT_OVERLAP = 32
# Smallest tile (as eval's smallest crop): the network normalises over each tile and pools
# it three times, so tiny tiles restore visibly worse (a grid) and take thousands of passes.
MIN_TILE = 16


def overlap_for(tile: int, overlap: int | None = None) -> int:
    """The overlap to use with ``tile``: ``overlap`` (``None``: :data:`DEFAULT_OVERLAP`), at
    most a quarter of the tile."""
    return min(DEFAULT_OVERLAP if overlap is None else overlap, max(tile // 4, 0))


def overlap_note(requested: int | None, tile: int, used: int) -> str | None:
    """What to tell a user whose requested overlap was lowered to a quarter of the tile
    (``None`` when nothing was requested, tiles are off or the request was kept)."""
    if requested is None or tile == 0 or used == requested:
        return None
    return (f"an overlap of {requested} px is more than a quarter of the {tile}-px tile; "
            f"using {used}")


@dataclass(frozen=True)
class TileConfig:
    """Tiling settings. ``tile=0`` means the whole image in one pass."""

    tile: int = DEFAULT_TILE
    # Pixels each tile overlaps its neighbours; None (the default): :func:`overlap_for` the
    # tile, DEFAULT_OVERLAP or a quarter of a smaller tile. Given, it must be under half.
    overlap: int = None  # type: ignore[assignment]  # an int once made
    # Tiles per forward pass; 0 = auto (:func:`auto_tile_batch`: 1 on CPU, 8 on CUDA).
    batch: int = 0
    # Geometric self-ensemble: restore each tile in this many rotated/mirrored views (1 = one
    # pass, 4 = the upright ones, 8 = all) and average the outputs mapped back; that many
    # times the work. See :func:`forward_ensemble` and :func:`ensemble_views`.
    ensemble: int = 1
    # Restore a tile that drives the model out of its range (drcnet.range_check) again with
    # its colours pulled towards gray, and keep that result (:func:`repair_tiles`). Needs
    # the model's calibrated limit and its peak probe (not a compiled model).
    repair: bool = True

    def __post_init__(self) -> None:
        # Whole numbers only: tile=64.5 had been taken and failed in range() at the first
        # tile, tile="256" or None in a comparison, each with a raw TypeError.
        for name in ("tile", "overlap", "batch", "ensemble"):
            value = getattr(self, name)
            if name == "overlap" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise UsageError(f"{name} must be a whole number, got {value!r}")
            object.__setattr__(self, name, int(value))  # a NumPy integer as a plain int
        if isinstance(self.repair, str) or self.repair not in (True, False):
            raise UsageError(f"repair must be True or False, got {self.repair!r}")
        object.__setattr__(self, "repair", bool(self.repair))
        if self.overlap is None:  # TileConfig(tile=64) had been refused for the default's 32
            object.__setattr__(self, "overlap", overlap_for(max(self.tile, 0)) if self.tile
                               else DEFAULT_OVERLAP)
        if self.batch < 0:
            raise UsageError(f"batch must be >= 0, got {self.batch}")
        if self.ensemble not in VIEWS:
            raise UsageError(f"ensemble must be one of {sorted(VIEWS)} views, got {self.ensemble}")
        if self.tile < 0 or 0 < self.tile < MIN_TILE:
            raise UsageError(f"tile must be 0 (the whole image in one pass) or at least "
                             f"{MIN_TILE} px, got {self.tile}")
        if self.overlap < 0:
            raise UsageError(f"overlap must be >= 0, got {self.overlap}")
        if self.tile and self.overlap * 2 >= self.tile:
            raise UsageError(f"overlap {self.overlap} is too large for tile {self.tile}")


# Values in [0, 1] are what the network was trained on; a resize's overshoot or unclipped
# noise (a denoising benchmark's) goes a little outside and runs as it did. Past these the
# array is on another scale (0-255): refused.
SCALE_LIMITS = (-1.0, 2.0)


def check_image_array(rgb: np.ndarray) -> None:
    """Refuse what the network cannot take as an image: it works on H×W×3 floats in [0, 1]
    (:func:`drcnet.imageio.read_image`'s ``rgb``). A uint8 array, or floats left in 0-255,
    came out as NaN and was written black; one NaN pixel blacked out its 256-px tile.

    Raises:
        UsageError: not a NumPy array (a list, a tensor), another shape, an integer type,
            values on another scale (beyond :data:`SCALE_LIMITS`; a little outside [0, 1]
            runs as it is), NaN or infinity.
    """
    if hasattr(rgb, "rgb") and hasattr(rgb, "alpha"):  # an Image, not its pixels
        raise UsageError("expected the pixels, got an Image: pass image.restorable (or "
                         "image.rgb)")
    if isinstance(rgb, torch.Tensor):
        raise UsageError("expected a NumPy H×W×3 array, got a torch tensor: call the "
                         "network on B×3×H×W tensors itself, or pass .permute(1, 2, 0).numpy()")
    if not isinstance(rgb, np.ndarray):  # a list had passed here and failed on .shape
        raise UsageError(f"expected a NumPy H×W×3 array, got a {type(rgb).__name__}: convert "
                         "it with np.asarray(x, dtype=np.float32)")
    rgb = np.asarray(rgb)  # a masked array's values, all of them
    if rgb.ndim == 3 and rgb.shape[0] == 3 and rgb.shape[2] != 3:
        raise UsageError(f"expected an H×W×3 image, got shape {rgb.shape}, channels first: "
                         "transpose it with rgb.transpose(1, 2, 0)")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise UsageError(f"expected an H×W×3 RGB image, got shape {rgb.shape}; repeat a gray "
                         "one's channel (np.repeat(g[..., None], 3, axis=2)) and drop alpha "
                         "(drcnet.imageio.read_image gives both apart)")
    if not np.issubdtype(rgb.dtype, np.floating):
        raise UsageError(f"expected float values in [0, 1], got {rgb.dtype}; divide by 255 "
                         "(65535 for 16 bits) or read it with drcnet.imageio.read_image")
    if rgb.size == 0:
        raise UsageError(f"expected an image at least 1×1, got {rgb.shape[1]}×{rgb.shape[0]}")
    lo, hi = _check_values(rgb)
    if lo < -0.5 and float((rgb < -0.05).mean()) > 0.25:  # Normalize(0.5, 0.5)'s scale
        raise UsageError(f"expected values in [0, 1], got {lo:g} to {hi:g}, a quarter of them "
                         "below 0: an image scaled to [-1, 1]? Use (rgb + 1) / 2")


def check_image_batch(images: np.ndarray) -> None:
    """:func:`check_image_array` for N×H×W×3 images (:func:`forward_batch`'s input): a uint8
    batch, or floats left in 0-255, had come out all NaN without a word.

    The guess at an image scaled to [-1, 1] (a quarter of it below 0) is left out: the
    tiled restore passes its tiles through here, and a dark tile of an image with unclipped
    noise, which :func:`check_image_array` passed whole, could look like one. Every other
    check holds for any part of an image that passed.

    Raises:
        UsageError: not a NumPy array, another shape (channels first, one image without its
            batch axis), an integer type, values beyond :data:`SCALE_LIMITS`, NaN or
            infinity.
    """
    if hasattr(images, "rgb") and hasattr(images, "alpha"):
        raise UsageError("expected N×H×W×3 images, got an Image: pass image.restorable[None]")
    if isinstance(images, torch.Tensor):
        raise UsageError("expected a NumPy N×H×W×3 array, got a torch tensor: call the "
                         "network on B×3×H×W tensors itself, or pass "
                         ".permute(0, 2, 3, 1).numpy()")
    if not isinstance(images, np.ndarray):
        raise UsageError(f"expected N×H×W×3 images, got a {type(images).__name__}: convert it "
                         "with np.asarray(x, dtype=np.float32)")
    images = np.asarray(images)
    shape = images.shape
    if images.ndim == 4 and shape[1] == 3 and shape[3] != 3:
        raise UsageError(f"expected N×H×W×3 images, got shape {shape}, channels first: "
                         "transpose them with x.transpose(0, 2, 3, 1)")
    if images.ndim == 3 and shape[2] == 3:
        raise UsageError(f"expected N×H×W×3 images, got shape {shape}, one image: pass "
                         "rgb[None]")
    if images.ndim != 4 or shape[3] != 3:
        raise UsageError(f"expected N×H×W×3 images, got shape {shape}")
    if not np.issubdtype(images.dtype, np.floating):
        raise UsageError(f"expected float values in [0, 1], got {images.dtype}; divide by 255 "
                         "(65535 for 16 bits) or read them with drcnet.imageio.read_image")
    if images.size == 0:
        raise UsageError(f"expected at least one image of at least 1×1, got shape {shape}")
    _check_values(images)


def _check_values(a: np.ndarray) -> tuple[float, float]:
    """Refuse NaN, infinity and values beyond :data:`SCALE_LIMITS` in ``a`` (floats, not
    empty); return its lowest and highest value."""
    lo, hi = float(a.min()), float(a.max())  # NaN when any is
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise UsageError("the image holds NaN or infinite values; the network would spread "
                         "them over the whole tile")
    if lo < SCALE_LIMITS[0] or hi > SCALE_LIMITS[1]:
        scale = " (values from 0 to 255: divide by 255)" if hi > 2 else ""
        raise UsageError(f"expected values in [0, 1], got {lo:g} to {hi:g}{scale}")
    return lo, hi


def to_tensor(rgb: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """H×W×3 float array in [0, 1] → 1×3×H×W float32 tensor on ``device``."""
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise UsageError(f"expected an H×W×3 NumPy image, got {_shape_of(rgb)}")
    return _batch_to_tensor(rgb[None], device)


def _shape_of(x: object) -> str:
    """``shape (…)`` of an array, else the name of what came instead (for messages)."""
    return f"shape {x.shape}" if isinstance(x, np.ndarray) else f"a {type(x).__name__}"


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """1×3×H×W tensor → H×W×3 float32 array clipped to [0, 1]."""
    return _batch_to_numpy(x[:1])[0]


def _batch_to_tensor(images: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """N×H×W×3 float array → N×3×H×W float32 tensor on ``device``."""
    # Contiguous NCHW: the first convolution would copy anyway, and a compiled model is
    # specialised on strides (a permuted view would make it compile again). NumPy makes it,
    # in the one copy it takes to convert the layout (and the type), so a read-only input
    # (np.broadcast_to, a memory map) reaches torch as a writable copy: torch.from_numpy
    # warns that it "is not writable" on the array itself.
    a = np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32)
    # Still the input (one pixel each) when that needed no copy: a mirrored view along an
    # axis of length 1 (negative strides, which torch refuses), or a read-only one.
    if any(s < 0 for s in a.strides) or not a.flags.writeable:
        a = a.copy()
    return torch.from_numpy(a).contiguous().to(device)


def _batch_to_numpy(x: torch.Tensor) -> np.ndarray:
    """N×3×H×W tensor → N×H×W×3 float32 array clipped to [0, 1]."""
    return x.detach().float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()


def model_device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


# Who holds each model now: [the run holding it (a token), the thread driving that run now,
# how many holds are open (a restore_area runs restore_tiled, whose passes are
# forward_batch's; the same thread may start another run meanwhile)].
_MODEL_USERS: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()
_MODEL_USERS_LOCK = threading.Lock()
IN_ANOTHER_THREAD = ("this model is restoring in another thread (a restore there has not "
                     "finished or been closed); load one model per thread "
                     "(drcnet.load_model), or share it under a lock")


def _take(model: Any, token: object) -> bool:
    """Hold ``model`` for the run ``token`` in this thread: True, to be given back with
    :func:`_give`; False for what cannot be held (``None``, a test's stand-in for a network,
    has no state to mix).

    Raises:
        UsageError: a run in another thread holds it.
    """
    try:
        weakref.ref(model)
    except TypeError:
        return False
    # The thread itself, not its ident: a new thread may reuse the ident of one that ended
    # with a run left waiting.
    me = threading.current_thread()
    with _MODEL_USERS_LOCK:
        held = _MODEL_USERS.get(model)
        if held is None:
            _MODEL_USERS[model] = [token, me, 1]
        elif held[0] is token or held[1] is me:  # the same run, or its thread
            held[2] += 1
        else:
            raise UsageError(IN_ANOTHER_THREAD)
    return True


def _give(model: Any) -> None:
    """Give back one hold :func:`_take` took."""
    with _MODEL_USERS_LOCK:
        held = _MODEL_USERS.get(model)
        if held is not None:
            held[2] -= 1
            if held[2] <= 0:
                del _MODEL_USERS[model]


def _driven_here(model: Any, token: object) -> None:
    """The run ``token``, which holds ``model``, is driven by this thread from now on (a
    generator made in one thread and driven in another)."""
    with _MODEL_USERS_LOCK:
        held = _MODEL_USERS.get(model)
        if held is not None and held[0] is token:
            held[1] = threading.current_thread()


@contextlib.contextmanager
def exclusive_use(model: Any) -> Iterator[None]:
    """Hold ``model`` for the calling thread while the block runs (again in the same thread,
    or within a run this thread drives, is fine).

    The range check's peak probe (``model.peak_probe``) and the blocks' map probes live on
    the model, as do its knobs, so two threads running one model at once mixed their
    state: one image's peaks went into the other's list, a repair was skipped, or torch
    raised "stack expects a non-empty TensorList". :func:`restore_tiled`,
    :func:`restore_area`, :func:`ea_area_pair`, :func:`forward_image`,
    :func:`forward_batch` and :func:`drcnet.compare.analyse` hold their model while they
    run; a generator from its first step until it returns, fails or is closed (or dropped),
    waiting at its yields included, in whichever thread drives it (one may be made in one
    thread and driven in another). Another thread is refused meanwhile: the first run is
    never the one cut short.

    Raises:
        UsageError: a run in another thread holds ``model``.
    """
    taken = _take(model, object())
    try:
        yield
    finally:
        if taken:
            _give(model)


G = TypeVar("G", bound=Callable[..., Generator[Any, None, Any]])


def _holding_model(fn: G) -> G:
    """Make the generator function ``fn(model, ...)`` hold ``model`` (:func:`exclusive_use`)
    from its first step until it returns, fails or is closed, in whichever thread drives it.
    Nothing runs until the first ``next``, as before."""

    @functools.wraps(fn)
    def held(model: Any, *args: Any, **kwargs: Any) -> Generator[Any, None, Any]:
        gen = fn(model, *args, **kwargs)
        token = object()  # this run
        started = taken = False
        try:
            while True:
                if not started:
                    taken, started = _take(model, token), True
                elif taken:
                    _driven_here(model, token)
                try:
                    record = next(gen)
                except StopIteration as stop:
                    return stop.value
                yield record
        finally:
            gen.close()  # closed early (or dropped): fn's own clean-up runs now
            if taken:
                _give(model)

    return held  # type: ignore[return-value]


def forward_image(
    model: DRCNet, rgb: np.ndarray, probe: bool = False
) -> tuple[np.ndarray, dict[str, BlockMaps]]:
    """Restore ``rgb`` in one forward pass on the model's device.

    Args:
        model: the network, in eval mode.
        rgb: H×W×3 float32 in [0, 1].
        probe: also capture every DFR block's maps (self-aware map, mask, energy).

    Returns:
        the restored image (H×W×3 float32; gray when ``rgb`` is, :func:`gray_like`) and the
        maps by block name (empty if not probed), each cropped to the part over the image:
        ``1×1×ceil(H/s)×ceil(W/s)`` for a block at 1/s of the resolution (the network pads
        its input to a multiple of ``model.multiple`` at the bottom and right, and the maps
        :meth:`~drcnet.network.DRCNet.set_probe` captures cover that padding).

    Raises:
        UsageError: ``rgb`` is not such an image (:func:`check_image_array`), or another
            thread is running ``model`` (:func:`exclusive_use`).
        DRCNetError: a CPU pass over the whole image would not fit in the memory free now
            (:func:`check_one_pass_memory`); :func:`restore_tiled` restores it in tiles.
    """
    check_image_array(rgb)
    h, w = rgb.shape[:2]
    # A preview or a sheet's maps: the tile setting does not shrink this pass, a smaller
    # image does.
    check_one_pass_memory(model, h, w, advice="pass a smaller image (the window: a smaller "
                          "Preview; compare: --preview-size), or restore it in tiles with "
                          "restore_tiled")
    maps: dict[str, BlockMaps] = {}
    with exclusive_use(model):
        model.set_probe(maps if probe else None)
        try:
            with torch.inference_mode():
                out = model(to_tensor(rgb, model_device(model)))[-1]
        finally:
            model.set_probe(None)
    return gray_like(rgb, to_numpy(out)), _crop_maps(maps, h, w,
                                                    int(getattr(model, "multiple", 1)))


def _crop_maps(maps: dict[str, BlockMaps], h: int, w: int,
               multiple: int) -> dict[str, BlockMaps]:
    """Each block's maps cut to the part over an ``h×w`` image, which the network padded to
    a multiple of ``multiple`` at the bottom and right: a block at 1/s of the resolution
    covers the image with its first ``ceil(h/s)`` rows and ``ceil(w/s)`` columns."""
    hp, wp = h + (-h) % multiple, w + (-w) % multiple

    def crop(x: torch.Tensor) -> torch.Tensor:
        rows, cols = -(-h * x.shape[-2] // hp), -(-w * x.shape[-1] // wp)
        return x[..., :rows, :cols].contiguous()

    return {name: BlockMaps(crop(m.self_aware), crop(m.mask), crop(m.energy))
            for name, m in maps.items()}


def forward_batch(model: DRCNet, crops: np.ndarray) -> np.ndarray:
    """Restore N same-sized images in one forward pass: N×H×W×3 float in [0, 1] → the
    same shape, float32, clipped to [0, 1]. Each image is restored independently.

    Raises:
        UsageError: ``crops`` is not an N×H×W×3 float array of finite values in [0, 1]
            (:func:`check_image_batch`: a uint8 batch, or one on a 0-255 scale, had come out
            all NaN), or another thread is running ``model`` (:func:`exclusive_use`).
    """
    check_image_batch(crops)
    with exclusive_use(model), torch.inference_mode():
        return _batch_to_numpy(model(_batch_to_tensor(crops, model_device(model)))[-1])


def ensemble_views(task: str) -> int:
    """How many views the best-quality mode averages for ``task``.

    Rain falls down: the derain training pairs get their streaks (within 30° of vertical)
    after the crop is flipped and rotated, so the model never saw horizontal rain, and views
    turned by 90° cost 3.5 dB on the validation split (docs/MODEL_CARD.md). Derain averages
    the 4 views that keep the vertical axis; the other tasks, whose degradations have no
    preferred direction, all 8.
    """
    return 4 if task == "derain" else 8


# The eight symmetries of the square: view k turns by k·90° (k mod 4) after a left-right
# mirror when k >= 4. The even ones keep the vertical axis vertical.
VIEWS = {1: (0,), 4: (0, 2, 4, 6), 8: tuple(range(8))}


def _view(x: np.ndarray, k: int) -> np.ndarray:
    """View ``k`` of N×H×W×C images."""
    if k >= 4:
        x = x[:, :, ::-1]
    return np.rot90(x, k % 4, axes=(1, 2))


def _unview(y: np.ndarray, k: int) -> np.ndarray:
    """Undo :func:`_view` ``k``."""
    y = np.rot90(y, -(k % 4), axes=(1, 2))
    return y[:, :, ::-1] if k >= 4 else y


def forward_ensemble(model: DRCNet, crops: np.ndarray, views: int = 8) -> np.ndarray:
    """:func:`forward_batch` averaged over rotated and mirrored views of each image.

    The network is not exactly equivariant to these symmetries, so the outputs differ
    slightly and their mean removes part of each one's error ("self-ensemble", Lim et al.
    2017, EDSR+). ``views`` passes: 8 (every symmetry of the square) or 4 (the upright ones:
    as is, mirrored left-right, upside down, turned 180°). The gain is measured in
    docs/MODEL_CARD.md. Views turned by 90° swap height and width, so a non-square batch sees
    two input shapes.

    Raises:
        UsageError: ``crops`` is not an N×H×W×3 float array of finite values in [0, 1]
            (:func:`check_image_batch`), ``views`` is not 1, 4 or 8, or as for
            :func:`forward_batch`.
    """
    check_image_batch(crops)
    if not isinstance(views, numbers.Integral) or isinstance(views, bool) or views not in VIEWS:
        raise UsageError(f"views must be one of {sorted(VIEWS)}, got {views!r}")
    return run(_view_passes(model, crops, views, None))


def _view_passes(
    model: DRCNet, crops: np.ndarray, views: int, cancel: Callable[[], bool] | None,
    probe: PeakProbe | None = None,
) -> Generator[int, None, np.ndarray]:
    """:func:`forward_ensemble` one view at a time: checks ``cancel`` before each pass and
    yields the number of passes done after it. ``probe`` records each pass's peaks (it is on
    only during the pass itself, never across a yield)."""
    acc = np.zeros(crops.shape, dtype=np.float32)
    for i, k in enumerate(VIEWS[views], 1):
        if cancel is not None and cancel():
            raise Cancelled("restore cancelled")
        if probe is None:
            out = forward_batch(model, _view(crops, k))
        else:
            with probe:
                out = forward_batch(model, _view(crops, k))
        acc += _unview(out, k)
        yield i
    return acc / views


def compile_model(model: DRCNet, tile: int = DEFAULT_TILE, batch: int = 0) -> DRCNet:
    """``torch.compile`` (inductor with weight freezing) for batch work at fixed knobs.

    The knobs are compiled in as constants: changing t, δ or EA, or an input of another
    shape, compiles again (tens of seconds), so this suits ``drcnet restore`` over many
    tiles, not a slider. Compiles once now on ``batch`` (0 = :func:`auto_tile_batch`)
    ``tile``×``tile`` tiles, the input shape of every pass over an image larger than the tile.
    The self-ensemble's views of a square tile keep that shape; a non-square input (an image
    smaller than the tile on one side, or a whole-image pass) compiles once more for its
    views turned by 90°.

    Raises:
        DRCNetError: compiling failed (the CPU backend needs a C++ compiler). With
            ``tile=0`` nothing is compiled up front and a failure surfaces on first use.
    """
    compiled = torch.compile(model, dynamic=False, options={"freezing": True})
    if tile <= 0:  # whole images: each shape compiles when it first comes
        return compiled  # type: ignore[return-value]
    try:
        with torch.inference_mode():
            device = model_device(model)
            compiled(torch.zeros(batch or auto_tile_batch(device), model.config.in_ch, tile,
                                 tile, device=device))
    except Exception as exc:  # backend failures come as many exception types
        raise DRCNetError(f"torch.compile failed ({first_line(exc)}); run without --compile") \
            from None
    return compiled  # type: ignore[return-value]  # an OptimizedModule wrapping the DRCNet


def auto_tile_batch(device: torch.device) -> int:
    """Tiles per forward pass when :class:`TileConfig` says 0.

    On CUDA a 256-px tile of the wf=16 model is far too little work for the GPU: one tile per
    pass left the 12 MP restore 4–8× slower than the raw forward rate on an H100
    (docs/PERFORMANCE.md), so 8 tiles go together there. On a CPU a batch buys nothing and
    holds more activations, so tiles go one at a time.
    """
    return 8 if device.type == "cuda" else 1


def legal_tile(tile: int) -> int:
    """``tile`` as :class:`TileConfig` takes it: 0 (one pass) or at least :data:`MIN_TILE`."""
    return 0 if tile <= 0 else max(MIN_TILE, int(tile))


def default_tile(model: torch.nn.Module) -> int:
    """The tile a model runs best on: its training crop if its weight file records one (at
    least :data:`MIN_TILE`)."""
    return legal_tile(getattr(model, "train_crop", None) or DEFAULT_TILE)


def tiles_for(model: torch.nn.Module, tiles: TileConfig | None) -> TileConfig:
    """``tiles``, or for ``None`` the library's default: tiles of :func:`default_tile` (the
    model's training crop, else :data:`DEFAULT_TILE`) with their default overlap, as
    ``drcnet restore``, ``eval`` and ``sweep`` use: a model does best on tiles of its
    training crop (:data:`DEFAULT_TILE`'s note), and a library call that gave none had run
    256-px tiles whatever the model."""
    return TileConfig(tile=default_tile(model)) if tiles is None else tiles


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles covering ``length`` with at least ``overlap`` shared pixels."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def _ramp(length: int, start: int, tile: int, total: int, overlap: int) -> np.ndarray:
    """1-D feathering weights for a tile: linear ramps over the overlap, except at the
    image border."""
    w = np.ones(tile, dtype=np.float32)
    if overlap <= 0:
        return w
    ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
    if start > 0:
        w[:overlap] = ramp
    if start + tile < total:
        w[-overlap:] = np.minimum(w[-overlap:], ramp[::-1])
    return w


@dataclass(frozen=True)
class TilePeak:
    """The peak activation the range check reads (:mod:`drcnet.range_check`) in one tile:
    the tile's place and size in the image and the largest channel-wise ``|activation|`` of
    the network's deepest stage-2 block over the tile (and over all views of an ensemble)."""

    y: int
    x: int
    h: int
    w: int
    peak: float
    # The channel-wise peak map of the tile's first (as-is) view at the block's resolution,
    # cropped to the tile: where in the tile the peak is (drcnet.range_check.flagged_boxes).
    map: np.ndarray | None = field(default=None, compare=False, repr=False)
    cell: int = field(default=0, compare=False)  # image pixels per map cell (0: no map)
    # Set when the range check's repair replaced this tile's pass (:func:`repair_tiles`): the
    # colour factor of the kept pass (1 = as is) and the peak of the as-is pass; ``peak`` is
    # then the kept pass's, and ``map`` stays the as-is pass's (where the trouble was).
    colour: float = 1.0
    first_peak: float | None = None
    # Whether the repair restored this tile again at all (it does not for a tile under the
    # model's repair threshold, or a gray one): a flagged tile it tried is one no factor
    # brought back, one it did not try is one it left alone.
    tried: bool = False

    @property
    def repaired(self) -> bool:
        return self.colour != 1.0


def is_gray(rgb: np.ndarray, tolerance: float = 0.0) -> bool:
    """Whether an H×W×3 image has three equal channels (a gray photo read as RGB), or with
    ``tolerance`` > 0 channels no further apart than that (a gray photo saved as a colour
    JPEG)."""
    if tolerance > 0:
        return all(float(np.abs(rgb[..., 0] - rgb[..., c]).max()) <= tolerance for c in (1, 2))
    return bool(np.array_equal(rgb[..., 0], rgb[..., 1])
                and np.array_equal(rgb[..., 1], rgb[..., 2]))


def gray_like(src: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out`` with its channels replaced by their mean when ``src`` is gray.

    The networks were trained on colour photos; on a gray one they tint the result
    (colour speckles of up to 0.7 on a deblurred gray photo), which a gray input can only
    mean as error."""
    return _channel_mean(out) if is_gray(src) else out


def _channel_mean(out: np.ndarray) -> np.ndarray:
    """``out`` with each pixel's three channels replaced by their mean."""
    return np.repeat(out.mean(axis=2, keepdims=True, dtype=np.float32), 3, axis=2)



def check_strength(strength: float) -> float:
    """``strength`` as a float, or a :class:`DRCNetError` naming it when it is outside
    [0, 1] (or not a number)."""
    s = float(strength)
    if not 0.0 <= s <= 1.0:  # also False for NaN
        raise UsageError(f"strength must be between 0 and 1 (1: the full restoration), "
                         f"got {strength:g}")
    return s


def apply_strength(original: np.ndarray, restored: np.ndarray, strength: float) -> np.ndarray:
    """How much of the restoration to keep: ``original + strength · (restored − original)``.

    The "amount" of photo tools' noise reduction: at 1 the network's output as it is (the
    same array), at 0 the input, between them some of the input's grain or texture back.
    It is applied after the network, so changing it never runs the model again.

    Args:
        original: the input image, H×W×C float32 in [0, 1]: what the network restored
            (``Image.restorable``, so a transparent photo's hidden colours stay out of it).
        restored: the network's output for it, the same shape.
        strength: in [0, 1].

    Returns:
        H×W×C float32 in [0, 1].
    """
    s = check_strength(strength)
    if original.shape != restored.shape:
        raise UsageError(f"the input is {original.shape} but the restored image is "
                         f"{restored.shape}; they must match")
    if s == 1.0:
        return restored
    out = original.astype(np.float32, copy=True)
    out += np.float32(s) * (restored - out)
    return out

# Rec. 601 luma: the gray that desaturate() pulls colours towards.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# The colour factors repair_tiles() tries in turn, until a pass is back in range. Every shipped
# model breaks on strongly saturated colours (docs/MODEL_CARD.md, "Known failure"), and the
# same tile with its colours pulled towards gray comes back: on the sweets photo, with the whole
# image at factor 0.5, the camera-noise denoiser goes from 18.74 to 34.95 dB and deblur from
# 12.87 to 23.36 (on the noise and blur recipes before session 29; not measured again).
# Applied to every tile, factor 0.5 costs 0.6-1.3 dB on ordinary photos (it
# scales the model's colour error up by 1/factor), so only out-of-range tiles get it, and the
# mildest factor that brings a tile back in range: starting at 0.75, no flagged derain or
# deblur tile of docs/eval/repair/pertile.txt lost, where starting at 0.5 some lost 0.3-3 dB.
# The repaired pass replaces the whole tile, not only the area over the limit: keeping it only
# there lost up to 0.7 dB per set even with that area grown by 32 px (up to 1.4 grown by 8;
# 0.2-1.9 dB on a set's worst tile), and for derain and deblur the as-is pass was worse than
# the repaired one away from that area too (docs/eval/repair/masked.txt).
REPAIR_COLOURS = (0.75, 0.5, 0.25)


def desaturate(rgb: np.ndarray, factor: float) -> np.ndarray:
    """``rgb`` (…×3) with each pixel's colour pulled towards its own gray (Rec. 601 luma):
    ``luma + factor · (rgb − luma)``. Luma is kept, so blur, rain streaks and the luma part
    of noise are as they were; :func:`resaturate` undoes it."""
    y = (rgb @ LUMA)[..., None]
    return (y + factor * (rgb - y)).astype(np.float32)


def resaturate(rgb: np.ndarray, factor: float) -> np.ndarray:
    """Undo :func:`desaturate` on a restored image, clipped to [0, 1]."""
    y = (rgb @ LUMA)[..., None]
    return np.clip(y + (rgb - y) / factor, 0.0, 1.0).astype(np.float32)


def needs_repair(peak: float, limit: float, above: float, rgb: np.ndarray) -> bool:
    """Whether a pass over ``rgb`` with this ``peak`` gets the repair: past ``above`` times
    ``limit`` (a NaN peak, an overflowed pass, always is) and not gray (desaturating a gray
    image changes nothing)."""
    return not peak <= limit * above and not is_gray(rgb)


def repair_tiles(
    model: DRCNet,
    crops: np.ndarray,
    outs: np.ndarray,
    found: list[TilePeak],
    limit: float,
    probe: PeakProbe,
    ensemble: int = 1,
    cancel: Callable[[], bool] | None = None,
    above: float = 1.0,
) -> Generator[Progress, None, tuple[np.ndarray, list[TilePeak]]]:
    """Restore again each tile whose peak is over ``above`` times ``limit``, with its colours
    pulled towards gray by each of :data:`REPAIR_COLOURS` in turn, until a pass is within the
    limit.

    The kept pass is the first within the limit; a tile that no factor brings within it (and
    a gray tile, which desaturation does not change) is left as it came out, and stays flagged.
    The kept output is :func:`resaturate`d into ``outs`` and its :class:`TilePeak` records the
    factor and the first peak.

    Args:
        crops: the tiles as restored, N×H×W×3 (at least ``len(found)``).
        outs: their outputs, the same shape; not changed (a copy is returned).
        found: the tiles' peaks, one per tile.
        above: repair a tile only when its peak passes this many times ``limit`` (the model's
            ``repair_above``: :data:`drcnet.range_check.REPAIR_ABOVE`).

    Returns:
        the outputs and peaks, the repaired tiles' replaced.
    """
    outs, found = outs.copy(), list(found)
    for i, first in enumerate(found):
        if not needs_repair(first.peak, limit, above, crops[i]):
            continue
        for factor in REPAIR_COLOURS:
            note = f"out of range; restoring again with its colours x{factor:g}"
            probe.reset()
            out = yield from relay(
                _view_passes(model, desaturate(crops[i : i + 1], factor), ensemble, cancel,
                             probe),
                lambda view, i=i, note=note: Progress(
                    i, len(found), note + (f", view {view}/{ensemble}" if ensemble > 1 else "")))
            peak = probe.tile_peaks([(first.y, first.x)], first.h, first.w)[0].peak
            if peak <= limit:  # NaN and inf never are
                outs[i] = resaturate(out[0], factor)
                # The as-is pass's map: where the trouble was, for the outlines.
                found[i] = TilePeak(first.y, first.x, first.h, first.w, peak, first.map,
                                    first.cell, colour=factor, first_peak=first.peak,
                                    tried=True)
                break
        else:
            found[i] = replace(first, tried=True)  # no factor brought it back
    return outs, found


# Peak memory of a one-pass restore on a CPU per image pixel, for a wf=16 network (fp32; bf16
# a little less): 1.09-1.29 KB measured at 0.26-2.1 MP (scripts/onepass_memory.py,
# docs/eval/onepass_memory.txt). Activations grow with the width.
ONE_PASS_BYTES_PER_PIXEL = 1300


def available_memory() -> int | None:
    """Bytes of memory free for a new allocation, or None where it is not known: Linux's
    MemAvailable, Windows' available physical memory (GlobalMemoryStatusEx), macOS's free
    and inactive pages (host_statistics64, as psutil counts them). The Windows and macOS
    readers are checked against fakes of their system calls only; no session had either."""
    try:
        if sys.platform == "win32":
            return _windows_available()
        if sys.platform == "darwin":
            return _macos_available()
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    return None


class _MemoryStatusEx(ctypes.Structure):
    """Windows' MEMORYSTATUSEX (64 bytes)."""

    _fields_ = [("dwLength", ctypes.c_uint32), ("dwMemoryLoad", ctypes.c_uint32),
                ("ullTotalPhys", ctypes.c_uint64), ("ullAvailPhys", ctypes.c_uint64),
                ("ullTotalPageFile", ctypes.c_uint64), ("ullAvailPageFile", ctypes.c_uint64),
                ("ullTotalVirtual", ctypes.c_uint64), ("ullAvailVirtual", ctypes.c_uint64),
                ("ullAvailExtendedVirtual", ctypes.c_uint64)]


def _windows_available() -> int | None:
    status = _MemoryStatusEx()
    status.dwLength = ctypes.sizeof(status)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
        return None
    return int(status.ullAvailPhys)


class _VmStatistics64(ctypes.Structure):
    """macOS's vm_statistics64 (152 bytes, 38 natural_t: HOST_VM_INFO64_COUNT)."""

    _fields_ = [("free_count", ctypes.c_uint32), ("active_count", ctypes.c_uint32),
                ("inactive_count", ctypes.c_uint32), ("wire_count", ctypes.c_uint32),
                *((name, ctypes.c_uint64) for name in (
                    "zero_fill_count", "reactivations", "pageins", "pageouts", "faults",
                    "cow_faults", "lookups", "hits", "purges")),
                ("purgeable_count", ctypes.c_uint32), ("speculative_count", ctypes.c_uint32),
                *((name, ctypes.c_uint64) for name in (
                    "decompressions", "compressions", "swapins", "swapouts")),
                ("compressor_page_count", ctypes.c_uint32), ("throttled_count", ctypes.c_uint32),
                ("external_page_count", ctypes.c_uint32), ("internal_page_count", ctypes.c_uint32),
                ("total_uncompressed_pages_in_compressor", ctypes.c_uint64)]


_HOST_VM_INFO64 = 4


def _macos_available(lib: object = None) -> int | None:
    lib = lib if lib is not None else ctypes.CDLL("/usr/lib/libSystem.B.dylib")
    lib.mach_host_self.restype = ctypes.c_uint32
    host = lib.mach_host_self()
    try:
        stats = _VmStatistics64()
        count = ctypes.c_uint32(ctypes.sizeof(stats) // 4)
        page = ctypes.c_size_t(0)
        if lib.host_page_size(ctypes.c_uint32(host), ctypes.byref(page)) != 0 or not page.value:
            return None
        if lib.host_statistics64(ctypes.c_uint32(host), ctypes.c_int(_HOST_VM_INFO64),
                                 ctypes.byref(stats), ctypes.byref(count)) != 0:
            return None
        return (stats.free_count + stats.inactive_count) * page.value  # psutil's "available"
    finally:
        # Each mach_host_self() adds a reference to the host port; give it back, as psutil
        # does, or every memory check of a long GUI session adds one. mach_task_self() is a
        # macro over the variable mach_task_self_.
        with contextlib.suppress(Exception):
            task = (ctypes.c_uint32.in_dll(lib, "mach_task_self_")
                    if isinstance(lib, ctypes.CDLL) else lib.mach_task_self_)
            lib.mach_port_deallocate(task, ctypes.c_uint32(host))


# How the one-pass memory refusal starts (the GUI tells it from other failures by this).
ONE_PASS_REFUSAL = "a one pass over this"


def one_pass_memory_problem(wf: int, h: int, w: int, device: str = "cpu") -> str | None:
    """Why a one-pass restore of an ``h``×``w`` image by a network of width ``wf`` would not
    fit in the memory free now on ``device`` (a CPU whose system says what is free), or
    None. A GPU runs out with an error of its own, which the tiled restore answers by
    halving the tile."""
    if not str(device).startswith("cpu"):
        return None
    free = available_memory()
    need = ONE_PASS_BYTES_PER_PIXEL * max(1.0, wf / 16) * h * w
    if free is None or need <= 0.9 * free:
        return None
    return (f"{ONE_PASS_REFUSAL} {w}×{h} image needs about {need / 2**30:.2g} GB of memory "
            f"and {free / 2**30:.2g} GB are free")


def tile_that_fits(h: int, w: int, tile: int, wf: int, device: str, crop: int
                   ) -> tuple[int, str | None]:
    """``tile``, or, where it means one pass over an ``h``×``w`` image (0, or a tile as
    large) that would not fit in the free memory (:func:`one_pass_memory_problem`), a tile
    that cuts the image up: ``crop`` (the training crop), or half the image's longer side
    where the crop covers it; with why, or None when ``tile`` stands."""
    if not one_pass(h, w, tile):
        return tile, None
    problem = one_pass_memory_problem(wf, h, w, device)
    if problem is None:
        return tile, None
    return (crop if not one_pass(h, w, crop) else max(MIN_TILE, max(h, w) // 2)), problem


def check_one_pass_memory(model: DRCNet, h: int, w: int, advice: str = "") -> None:
    """Refuse a one-pass CPU restore that would not fit in the memory free now (the system's
    out-of-memory killer would end the process without a word).

    Args:
        advice: what to do instead, ending the message; by default, restore it in tiles.

    Raises:
        DRCNetError: the estimate is over 90 % of the free memory.
    """
    wf = getattr(getattr(model, "config", None), "wf", 16)
    problem = one_pass_memory_problem(wf, h, w, model_device(model).type)
    if problem is not None:
        raise DRCNetError(f"{problem}: " + (advice or "restore it in tiles smaller than the "
                                            f"image (such as {default_tile(model)} px)"))


@_holding_model
def restore_tiled(
    model: DRCNet,
    rgb: np.ndarray,
    tiles: TileConfig | None = None,
    cancel: Callable[[], bool] | None = None,
    peaks: list[TilePeak] | None = None,
    focus: Callable[[], Box | None] | None = None,
) -> Generator[Progress, None, np.ndarray]:
    """Restore an image of any size tile by tile, yielding progress after each tile.

    Tiles overlap by ``tiles.overlap`` pixels and are blended with linear feathering. When a
    GPU (CUDA or MPS) runs out of memory, the tiles a pass halve first, then the tile size,
    and the work starts again.

    Args:
        model: the network, in eval mode.
        rgb: H×W×3 float32 in [0, 1].
        tiles: tile size and overlap; ``tile=0`` or an image no larger than the tile is
            processed in one pass. ``None``: tiles of the model's training crop
            (:func:`tiles_for`), as ``drcnet restore``, ``eval`` and ``sweep`` default to.
        cancel: called between tiles; returning True raises :class:`Cancelled`.
        peaks: when a list, one :class:`TilePeak` per tile is appended to it (the tile's peak
            activation, for :func:`drcnet.range_check.check_peaks`). Not for a
            ``torch.compile``d model: the list stays empty.
        focus: called before each pass of tiles (from the thread running the generator);
            the area it returns, clipped to the image (``None``: none), is restored first,
            nearest tiles first after it, and once its tiles are done an :class:`AreaDone`
            with its pixels is yielded (once per area, and only while tiles elsewhere are
            left). The GUI passes the area in view, so a user zoomed in on a large photo
            sees it at full resolution in a second or two. The order changes no pixel
            beyond float rounding where tiles overlap.

    With ``tiles.repair`` and a model with a calibrated limit (``model.activation_limit``),
    a tile over the limit is restored again with its colours pulled towards gray
    (:func:`repair_tiles`); tiles within the limit are restored exactly as without it.

    Returns:
        the restored H×W×3 float32 image (as the generator's return value); gray when
        ``rgb`` is (:func:`gray_like`).

    Raises:
        UsageError: ``rgb`` is not such an image (:func:`check_image_array`), ``tiles`` is
            not a :class:`TileConfig` or ``cancel`` not callable, or another thread is
            running ``model`` (:func:`exclusive_use`).
        Cancelled: ``cancel`` returned True.
    """
    check_image_array(rgb)
    tiles = tiles_for(model, tiles)
    check_tiles(tiles, cancel)
    tile, overlap = tiles.tile, tiles.overlap
    batch = tiles.batch or auto_tile_batch(model_device(model))
    while True:
        try:
            if peaks is not None:
                peaks.clear()  # a retry after running out of memory starts over
            out = yield from _restore_tiled(model, rgb, tile, overlap, cancel, batch,
                                            tiles.ensemble, peaks, tiles.repair, focus)
            return gray_like(rgb, out)
        except RuntimeError as exc:  # torch.cuda.OutOfMemoryError is one
            if not out_of_device_memory(exc):
                raise
            empty_device_cache(model_device(model))
            h, w = rgb.shape[:2]
            if batch > 1 and not one_pass(h, w, tile):  # one pass has no batch to shrink
                batch //= 2
                yield Restart(0, 1, f"out of GPU memory; retrying with {batch} tiles a pass",
                              replace(tiles, tile=tile, overlap=overlap, batch=batch))
                continue
            current = tile or max(h, w)
            if current <= 64:
                raise
            tile = max(64, current // 2)
            # The overlap must shrink with the tile (and a one-pass request had none).
            overlap = overlap_for(tile, tiles.overlap if tiles.tile else None)
            yield Restart(0, 1, f"out of GPU memory; retrying with {tile}-pixel tiles",
                          replace(tiles, tile=tile, overlap=overlap, batch=batch))


def out_of_device_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says a GPU ran out of memory: CUDA's own error type, or the plain
    RuntimeError Apple's MPS backend raises ("MPS backend out of memory")."""
    return isinstance(exc, torch.cuda.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "MPS backend out of memory" in str(exc))


def empty_device_cache(device: torch.device) -> None:
    """Hand the allocator's cached blocks back after running out, on CUDA or MPS."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps" and hasattr(torch, "mps"):
        torch.mps.empty_cache()


def check_tiles(tiles: object, cancel: object = None) -> None:
    """Refuse a ``tiles`` that is not a :class:`TileConfig` (a bare tile size had failed
    on ``.tile``) and a ``cancel`` that is neither None nor callable.

    Raises:
        UsageError: saying which.
    """
    if not isinstance(tiles, TileConfig):
        hint = (f"; pass TileConfig(tile={tiles})" if isinstance(tiles, numbers.Integral)
                and not isinstance(tiles, bool) else "")
        raise UsageError(f"tiles must be a TileConfig, got {tiles!r}{hint}")
    if cancel is not None and not callable(cancel):
        raise UsageError(f"cancel must be a function that returns True to cancel (or None), "
                         f"got {cancel!r}")


def one_pass(h: int, w: int, tile: int) -> bool:
    """Whether an h×w image goes through the network whole (no tiling, or it fits a tile)."""
    return tile <= 0 or (h <= tile and w <= tile)


def _restore_tiled(
    model: DRCNet,
    rgb: np.ndarray,
    tile: int,
    overlap: int,
    cancel: Callable[[], bool] | None,
    batch: int = 1,
    ensemble: int = 1,
    peaks: list[TilePeak] | None = None,
    repair: bool = False,
    focus: Callable[[], Box | None] | None = None,
    only: Box | None = None,
    colours: Mapping[tuple[int, int], float] | None = None,
) -> Generator[Progress, None, np.ndarray]:
    # colours: the tile at (y, x) runs on its input desaturated by this factor and its output
    # is resaturated, as another pass's repair had it (restore_area's ``colours``).
    h, w = rgb.shape[:2]
    limit = getattr(model, "activation_limit", None) if repair else None

    def recolour(crops: np.ndarray, group: list[tuple[int, int]], undo: bool) -> np.ndarray:
        if not colours:
            return crops
        crops = crops.copy()
        for i, place in enumerate(group):
            f = colours.get(place, 1.0)
            if f != 1.0:
                crops[i] = resaturate(crops[i], f) if undo else desaturate(crops[i], f)
        return crops
    probe = PeakProbe(model) if peaks is not None or limit is not None else None

    def checked(crops: np.ndarray, outs: np.ndarray, group: list[tuple[int, int]],
                th: int, tw: int) -> Generator[Progress, None, np.ndarray]:
        # The group's peaks, for the caller's list, after repairing the tiles over the limit.
        if probe is None or not probe.seen:
            return outs
        found = probe.tile_peaks(group, th, tw)
        if limit is not None:
            outs, found = yield from repair_tiles(
                model, crops, outs, found, limit, probe, ensemble, cancel,
                getattr(model, "repair_above", 1.0))
        if peaks is not None:
            peaks.extend(found)
        return outs

    if one_pass(h, w, tile):  # the one place every path decides it: checked here
        check_one_pass_memory(model, h, w)
        src = recolour(rgb[None], [(0, 0)], undo=False)
        out = yield from relay(
            _view_passes(model, src, ensemble, cancel, probe),
            lambda i: Progress(i, ensemble, f"view {i}/{ensemble}" if ensemble > 1
                               else "1 tile"))
        out = yield from relay(checked(src, out, [(0, 0)], h, w),
                                lambda p: Progress(ensemble, ensemble, p.message))
        return recolour(out, [(0, 0)], undo=True)[0]
    th, tw = min(tile, h), min(tile, w)
    ys, xs = tile_starts(h, th, overlap), tile_starts(w, tw, overlap)
    ramps_y = {y: _ramp(h, y, th, h, overlap) for y in ys}
    ramps_x = {x: _ramp(w, x, tw, w, overlap) for x in xs}
    if only is not None:  # just the tiles over that area, blended in a buffer round them
        ys = [y for y in ys if _meets((y, only[1]), th, tw, only)]
        xs = [x for x in xs if _meets((only[0], x), th, tw, only)]
    oy, ox = ys[0], xs[0]  # where the buffers start in the image
    acc = np.zeros((ys[-1] + th - oy, xs[-1] + tw - ox, 3), dtype=np.float32)
    norm = np.zeros((*acc.shape[:2], 1), dtype=np.float32)
    places = [(y, x) for y in ys for x in xs]
    total = len(places)
    t0 = time.perf_counter()

    def progress(first: int, size: int, view: int) -> Progress:
        # Counted in passes of one tile in one view: earlier groups are done in every view.
        done = first * ensemble + view * size
        eta = (time.perf_counter() - t0) / done * (total * ensemble - done)
        where = f"tile {first + size}/{total}" + (f", view {view}/{ensemble}" if ensemble > 1
                                                  else "")
        return Progress(done, total * ensemble, f"{where}, {eta:.0f} s left")

    pending = list(places)
    reported: Box | None = None
    gray = focus is not None and is_gray(rgb)  # as the whole image will be (gray_like)
    for first in range(0, total, batch):
        box = clip_box(focus(), h, w) if focus is not None else None
        if box is not None:
            pending.sort(key=lambda p, b=box: _focus_order(p, th, tw, b))
        group, pending = pending[:batch], pending[batch:]
        crops = recolour(np.stack([rgb[y : y + th, x : x + tw] for y, x in group]), group,
                         undo=False)
        if len(group) < batch:
            # Pad a short group to the batch size: one input shape for every tiled restore
            # (a compiled model, warmed up on that shape, or cuDNN's autotuner sees no new
            # one). Tiles are independent in the network, so the padding changes no output.
            crops = np.concatenate([crops, np.zeros((batch - len(group), th, tw, 3),
                                                    dtype=crops.dtype)])
        if probe is not None:
            probe.reset()
        outs = yield from relay(_view_passes(model, crops, ensemble, cancel, probe),
                                 lambda view, f=first, n=len(group): progress(f, n, view))
        # Only the group's real tiles: padding tiles are blank and not part of the image.
        # Progress stays where the group's passes left it while its tiles are repaired.
        outs = yield from relay(checked(crops, outs, group, th, tw),
                                 lambda p, f=first, n=len(group): Progress(
                                     (f + n) * ensemble, total * ensemble,
                                     f"tile {f + p.done + 1}/{total}: {p.message}"))
        outs = recolour(outs[: len(group)], group, undo=True)
        for (y, x), out in zip(group, outs):
            weight = (ramps_y[y][:, None] * ramps_x[x][None, :])[..., None]
            acc[y - oy : y - oy + th, x - ox : x - ox + tw] += out * weight
            norm[y - oy : y - oy + th, x - ox : x - ox + tw] += weight
        box = clip_box(focus(), h, w) if focus is not None else None
        if (box is not None and box != reported and pending
                and not any(_meets(p, th, tw, box) for p in pending)):
            reported = box
            by, bx, bh, bw = box
            area = (slice(by, by + bh), slice(bx, bx + bw))
            done = (first + len(group)) * ensemble
            piece = acc[area] / np.maximum(norm[area], 1e-8)
            if gray:
                piece = _channel_mean(piece)
            yield AreaDone(done, total * ensemble, f"{bw}×{bh} area in focus done", box, piece)
    if only is not None:
        by, bx, bh, bw = only
        acc = acc[by - oy : by - oy + bh, bx - ox : bx - ox + bw]
        norm = norm[by - oy : by - oy + bh, bx - ox : bx - ox + bw]
    return acc / np.maximum(norm, 1e-8)


@_holding_model
def restore_area(
    model: DRCNet,
    rgb: np.ndarray,
    box: Box,
    tiles: TileConfig | None = None,
    cancel: Callable[[], bool] | None = None,
    peaks: list[TilePeak] | None = None,
    colours: Mapping[tuple[int, int], float] | None = None,
) -> Generator[Progress, None, np.ndarray]:
    """The restored pixels of ``box`` (clipped to the image) exactly as :func:`restore_tiled`
    of the whole image has them, to float rounding: only the tiles over the area run. An
    image that goes through the network in one pass runs whole. Gray when ``rgb`` is.

    Args:
        tiles: as for :func:`restore_tiled` (``None``: the model's training crop).
        peaks: as for :func:`restore_tiled`, for the tiles that run.
        colours: instead of the range check's own repair (``tiles.repair``), run the tile at
            each ``(y, x)`` on its input with colours ×factor and resaturate its output: the
            repairs another pass made (its ``peaks``' ``colour``), so a pair of passes, such
            as with and without energy attention, differs only in what it is meant to.

    Raises:
        UsageError: ``box`` has no pixel in the image, ``rgb`` is not an H×W×3 image in
            [0, 1] (:func:`check_image_array`), or as for :func:`restore_tiled`.
    """
    check_image_array(rgb)  # (restore_tiled, below, checks it again: a few ms)
    tiles = tiles_for(model, tiles)
    check_tiles(tiles, cancel)
    h, w = rgb.shape[:2]
    area = clip_box(box, h, w)
    if area is None:
        raise UsageError(f"the area {box} has no pixel in the {w}×{h} image")
    by, bx, bh, bw = area
    whole = one_pass(h, w, tiles.tile)
    if whole and colours is None:  # restore_tiled's out-of-memory retry, as the whole has it
        out = yield from restore_tiled(model, rgb, tiles, cancel, peaks)
        return out[by : by + bh, bx : bx + bw]
    batch = tiles.batch or auto_tile_batch(model_device(model))
    out = yield from _restore_tiled(model, rgb, tiles.tile, tiles.overlap, cancel, batch,
                                    tiles.ensemble, peaks, tiles.repair and colours is None,
                                    None, only=area, colours=colours)
    out = gray_like(rgb, out)  # a one-pass image comes back whole: its area cut out below
    return out[by : by + bh, bx : bx + bw] if whole else out


@_holding_model
def ea_area_pair(
    model: DRCNet,
    noea: DRCNet,
    rgb: np.ndarray,
    box: Box,
    tiles: TileConfig,
    t: float,
    delta: float,
    cancel: Callable[[], bool] | None = None,
) -> Generator[Progress, None, tuple[np.ndarray, np.ndarray]]:
    """``box`` restored with energy attention (``model``) and without it (``noea``: a trained
    no-EA model, or ``model`` itself with EA off), at ``t`` and ``delta``, so that the
    two differ by EA alone: the pass without EA runs on the tiling the pass with EA finished
    with (after any out-of-memory retry) and repairs exactly the tiles that pass repaired, by
    the same colour factors (with ``tiles.repair``; none if it repaired none). Leaves both
    models configured as they were for their pass; the caller restores its own EA setting.

    Returns:
        (with EA, without EA), each ``box``'s pixels.
    """
    check_tiles(tiles, cancel)
    repaired: list[TilePeak] = []
    used = tiles
    model.configure(t=t, delta=delta, ea=True)
    gen = restore_area(model, rgb, box, tiles, cancel,
                       peaks=repaired if tiles.repair else None)
    while True:
        try:
            record = next(gen)
        except StopIteration as stop:
            with_ea = stop.value
            break
        if isinstance(record, Restart) and record.tiles is not None:
            used = record.tiles
        yield record
    noea.configure(t=t, delta=delta, ea=False)
    # With repair on, an empty map means "repair nothing": the pass with EA repaired no tile
    # (or could not tell, a compiled model), so this one does not either.
    colours = {(p.y, p.x): p.colour for p in repaired if p.repaired} if tiles.repair else None
    without = yield from restore_area(noea, rgb, box, used, cancel, colours=colours)
    return with_ea, without


def clip_box(box: Box | None, h: int, w: int) -> Box | None:
    """``box`` clipped to an h×w image (``None`` if nothing of it is left)."""
    if box is None:
        return None
    y, x, bh, bw = (int(v) for v in box)
    y0, x0 = max(0, y), max(0, x)
    y1, x1 = min(h, y + bh), min(w, x + bw)
    return (y0, x0, y1 - y0, x1 - x0) if y1 > y0 and x1 > x0 else None


def _meets(place: tuple[int, int], th: int, tw: int, box: Box) -> bool:
    """Whether the th×tw tile at ``place`` covers any pixel of ``box``."""
    (y, x), (by, bx, bh, bw) = place, box
    return y < by + bh and by < y + th and x < bx + bw and bx < x + tw


def _focus_order(place: tuple[int, int], th: int, tw: int,
                 box: Box) -> tuple[bool, float, int, int]:
    """Sort key: tiles over ``box`` first (in reading order), then the rest nearest first."""
    (y, x), (by, bx, bh, bw) = place, box
    if _meets(place, th, tw, box):
        return (False, 0.0, y, x)
    dy = (y + th / 2) - (by + bh / 2)
    dx = (x + tw / 2) - (bx + bw / 2)
    return (True, dy * dy + dx * dx, y, x)


class PeakProbe:
    """Turns the network's peak probe on for the passes inside ``with`` (each pass of a group
    of tiles, one view at a time, or :func:`drcnet.compare.analyse`'s one pass) and gathers
    what they recorded until :meth:`reset`. A compiled model (not a :class:`DRCNet`) is left
    alone and :attr:`seen` stays False."""

    def __init__(self, model: DRCNet) -> None:
        self.model = model if isinstance(model, DRCNet) else None
        self.store: list[torch.Tensor] = []

    @property
    def seen(self) -> bool:
        return bool(self.store)

    def reset(self) -> None:
        self.store = []

    def __enter__(self) -> None:
        if self.model is not None:
            self.model.peak_probe = self.store

    def __exit__(self, *exc: object) -> None:
        if self.model is not None:
            self.model.peak_probe = None

    def tile_peaks(self, places: list[tuple[int, int]], h: int, w: int) -> list[TilePeak]:
        """One :class:`TilePeak` per place (the first ``len(places)`` samples): the peak over
        every pass, the map of the first (as-is) view cropped to the ``h×w`` tile (the
        network pads it to a multiple of its down-sampling, which is the map's cell)."""
        per_pass = torch.stack([p.flatten(1).amax(dim=1) for p in self.store])  # passes×B
        top = per_pass.amax(dim=0)
        first = self.store[0]
        cell = int(getattr(self.model, "multiple", 1))
        rows, cols = -(-h // cell), -(-w // cell)
        return [TilePeak(y, x, h, w, float(top[i]), first[i, :rows, :cols].numpy(), cell)
                for i, (y, x) in enumerate(places)]


P = TypeVar("P")
R = TypeVar("R")
Y = TypeVar("Y")


def relay(gen: Generator[Y, None, R], to_progress: Callable[[Y], P]) -> Generator[P, None, R]:
    """Drive ``gen``, yielding ``to_progress`` of each of its records; return its result
    (``out = yield from relay(inner, wrap)`` inside an outer progress generator)."""
    while True:
        try:
            record = next(gen)
        except StopIteration as stop:
            return stop.value
        yield to_progress(record)


def run(gen: Generator[P, None, R], on_progress: Callable[[P], None] | None = None) -> R:
    """Drive a progress generator to completion and return its result.

    Args:
        gen: long work that yields progress records and returns a result.
        on_progress: called with each record (a progress bar, a Qt signal, a list's append).
    """
    while True:
        try:
            record = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(record)

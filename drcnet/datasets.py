"""Training and validation data: synthetic pairs from clean photos, and public paired folders.

Each item is a pair of ``3×H×W`` float32 tensors in [0, 1]: ``(degraded, clean)``.
Randomness comes from ``numpy.random.default_rng((seed, index))``, so an item depends only on
its index (not on which DataLoader worker draws it) and runs are reproducible. Training datasets
accept any index >= 0: indices beyond ``len()`` draw fresh items, which lets a sampler run
through many epochs without ever repeating a draw.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from .degradations import Degradation, degrade, get_degradation
from .errors import DRCNetError, UsageError
from .imageio import IMAGE_EXTENSIONS, has_image_signature, image_size, read_image
from .metrics import SSIM_WINDOW
from .weights import CROP_RANGE

PathLike = str | os.PathLike[str]
Pair = tuple[torch.Tensor, torch.Tensor]

# Public paired layouts: (degraded folder name, clean folder name).
LAYOUTS: dict[str, tuple[str, str]] = {
    "rain13k": ("input", "target"),
    "gopro": ("blur", "sharp"),
    "sidd": ("input_crops", "gt_crops"),
}
# Other names the clean folder goes by: Restormer's SIDD preparation writes target_crops/.
TARGET_ALIASES: dict[str, tuple[str, ...]] = {"sidd": ("target_crops",)}


def _hidden(path: Path, root: Path) -> bool:
    """Whether ``path`` is, or lies in, a hidden file or folder below ``root``: macOS's
    ``._name`` companions on exFAT or SMB copies, ``.thumbnails/``, editors' dotfiles."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def list_images(folder_or_files: PathLike | Sequence[PathLike], recursive: bool = True
                ) -> list[Path]:
    """Image files in a folder (sorted; with its subfolders unless ``recursive`` is False)
    or the given list of files."""
    if isinstance(folder_or_files, (str, os.PathLike)):
        root = Path(folder_or_files)
        if not root.is_dir():
            raise DRCNetError(f"image folder {root} "
                              + ("is a file, not a folder" if root.exists() else "does not exist"))
        found = root.rglob("*") if recursive else (p for p in root.iterdir() if p.is_file())
        files = sorted(p for p in found if p.suffix.lower() in IMAGE_EXTENSIONS
                       and not _hidden(p, root))
    else:
        files = [Path(p) for p in folder_or_files]
    if not files:
        raise DRCNetError(f"no images found in {folder_or_files}")
    return files


def _to_u8(rgb: np.ndarray) -> np.ndarray:
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def load_photos(files: Sequence[Path], need: int) -> tuple[list[np.ndarray], list[Path]]:
    """Decode clean photos as uint8 RGB, upscaling (cubic) any whose short side is under
    ``need`` px so a crop of that side fits; returns the images and the files upscaled."""
    images: list[np.ndarray] = []
    upscaled: list[Path] = []
    for f in files:
        img = _to_u8(read_image(f).rgb)
        short = min(img.shape[:2])
        if short < need:
            scale = need / short
            img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
            upscaled.append(f)
        images.append(img)
    return images, upscaled


def small_note(small: Sequence[Path], total: int, need: int, margin: int = 0,
               mirrored: bool = False) -> str | None:
    """What to tell the user about training images too small for the crop, or None."""
    if not small:
        return None
    names = ", ".join(p.name for p in small[:4]) + (", …" if len(small) > 4 else "")
    side = (f"{need} px (the {need - 2 * margin}-px crop and the recipe's {margin}-px margin "
            f"on each side)" if margin else f"the {need}-px crop")
    if mirrored:
        return (f"{len(small)} of {total} pairs are smaller than {side} and are mirrored at "
                f"their edges to fit ({names})")
    return (f"{len(small)} of {total} photos have a short side under {side} and are upscaled "
            f"to fit, which softens their texture ({names}); a smaller crop avoids it")


def _to_tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


def zoom_side(rng: np.random.Generator, size: int, short: int, scale_aug: float) -> int:
    """The side of the region a ``size``-px crop is taken from before it is shrunk to
    ``size``: ``size · s`` with ``s`` log-uniform in [1, ``scale_aug``], at most ``short``
    (the photo's short side). ``scale_aug = 1`` keeps the crop at the photo's own scale."""
    if scale_aug <= 1.0:
        return size
    s = float(np.exp(rng.uniform(0.0, np.log(scale_aug))))
    return max(size, min(short, round(size * s)))


def color_gains(rng: np.random.Generator, strength: float) -> np.ndarray:
    """Per-channel gains ``exp(U(-strength, strength))`` for colour augmentation."""
    return np.exp(rng.uniform(-strength, strength, 3)).astype(np.float32)


def saturation_gain(rng: np.random.Generator, strength: float) -> float:
    """Chroma gain for saturation augmentation: 1 for half the crops, for the other half
    log-uniform in [1, ``strength``]. Draws nothing when ``strength <= 1`` (off), so a run
    without it keeps its random stream."""
    if strength <= 1.0 or rng.uniform() < 0.5:
        return 1.0
    return float(np.exp(rng.uniform(0.0, np.log(strength))))


def saturate(rgb: np.ndarray, gain: float) -> np.ndarray:
    """Each pixel moved ``gain`` times as far from its grey (the mean of its channels),
    clipped to [0, 1]: greys stay put, colours head for the gamut's edge."""
    if gain == 1.0:
        return rgb
    grey = rgb.mean(axis=-1, keepdims=True)
    return np.clip(grey + np.float32(gain) * (rgb - grey), 0.0, 1.0)


def augment(img: np.ndarray, code: int) -> np.ndarray:
    """One of the 8 dihedral transforms (flips and 90° rotations), ``code`` in 0–7."""
    if code & 4:
        img = img[:, ::-1]
    return np.rot90(img, code & 3)


class SyntheticPairs(Dataset[Pair]):
    """Clean photos → random crop, flip/rotation → degraded on the fly.

    The photos are decoded once and kept in memory as uint8.

    Args:
        folder_or_files: a folder of clean images or a list of files.
        task: ``denoise``/``derain``/``deblur`` or a degradation recipe name.
        crop: side of the square training crops, 16 to 4096 px (photos smaller than it are
            upscaled; the files are listed in ``upscaled``).
        seed: base seed.
        length: the number of items per epoch (items are random crops, so any length works).
        scale_aug: crops come from regions up to this many times larger, shrunk (1 = off).
        color_aug: per-channel gains of the clean photo, ``exp(U(-c, c))`` (0 = off).
        sat_aug: saturation gain of the clean photo, log-uniform in [1, s] on half the
            crops (1 = off; see :func:`saturation_gain`).
    """

    def __init__(
        self,
        folder_or_files: PathLike | Sequence[PathLike],
        task: str,
        crop: int = 128,
        seed: int = 0,
        length: int = 10_000,
        scale_aug: float = 1.0,
        color_aug: float = 0.0,
        sat_aug: float = 1.0,
    ) -> None:
        self.degradation = get_degradation(task)
        self.scale_aug, self.color_aug = float(scale_aug), float(color_aug)
        self.sat_aug = float(sat_aug)
        self.crop = int(crop)
        lo, hi = CROP_RANGE
        if not lo <= self.crop <= hi:  # 0 or less had given empty tensors without a word
            raise UsageError(f"crop must be {lo} to {hi} px, got {crop}")
        self.seed = int(seed)
        self.length = int(length)
        self.files = list_images(folder_or_files)
        self.margin = self.degradation.margin
        self.need = self.crop + 2 * self.margin
        photos, self.upscaled = load_photos(self.files, self.need)
        # All photos in one flat tensor: DataLoader workers started by spawn or forkserver
        # (macOS's and Windows' default; Python 3.14's on Linux) receive it in shared memory,
        # where numpy arrays were pickled into a copy of the whole corpus per worker
        # (docs/eval/spawn_memory.txt). One tensor, not one per photo: each shared tensor
        # holds a file descriptor, and a corpus of 1500 photos ran out of them (ulimit -n 1024).
        self.spans: list[tuple[int, tuple[int, ...]]] = []  # (offset, shape) per photo
        self.store = torch.empty(sum(p.size for p in photos), dtype=torch.uint8)
        flat, offset = self.store.numpy(), 0
        for i, photo in enumerate(photos):
            flat[offset : offset + photo.size] = photo.reshape(-1)
            self.spans.append((offset, photo.shape))
            offset += photo.size
            photos[i] = None  # type: ignore[call-overload]  # freed as it is packed
        # Sample images in proportion to their area, so each pixel is equally likely.
        areas = np.array([shape[0] * shape[1] for _, shape in self.spans], np.float64)
        self.weights = areas / areas.sum()

    def photo(self, k: int) -> np.ndarray:
        """Photo ``k`` as H×W×3 uint8, a view into the shared store."""
        offset, shape = self.spans[k]
        return self.store.numpy()[offset : offset + int(np.prod(shape))].reshape(shape)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Pair:
        rng = np.random.default_rng((self.seed, int(index)))
        img = self.photo(int(rng.choice(len(self.spans), p=self.weights)))
        m = self.degradation.margin
        size = self.crop + 2 * m
        side = zoom_side(rng, size, min(img.shape[:2]), self.scale_aug)
        y = int(rng.integers(0, img.shape[0] - side + 1))
        x = int(rng.integers(0, img.shape[1] - side + 1))
        region = img[y : y + side, x : x + side]
        if side != size:
            region = cv2.resize(region, (size, size), interpolation=cv2.INTER_AREA)
        patch = augment(region, int(rng.integers(8)))
        clean = np.ascontiguousarray(patch, dtype=np.float32) * np.float32(1 / 255)
        if self.color_aug > 0:
            clean = np.clip(clean * color_gains(rng, self.color_aug), 0.0, 1.0)
        if self.sat_aug > 1.0:
            clean = saturate(clean, saturation_gain(rng, self.sat_aug))
        degraded, _ = degrade(self.degradation.name, clean, rng)
        if m:
            clean = clean[m:-m, m:-m]
            degraded = degraded[m:-m, m:-m]
        return _to_tensor(degraded), _to_tensor(clean)


MIN_SIDE = 16  # the smallest scored side: SSIM's 11×11 window needs some room


def centre_box(h: int, w: int, size: int) -> tuple[int, int, int, int]:
    """``(y, x, height, width)`` of the centre crop of at most ``size`` px a side (0 = all)."""
    ch, cw = (min(h, size), min(w, size)) if size else (h, w)
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def synthetic_pair(rgb: np.ndarray, degradation: Degradation, seed: int, index: int,
                   size: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """The fixed synthetic pair of photo ``index`` under ``seed``, as evaluation and validation
    both score it.

    A centre crop of at most ``size`` px a side (0 = the whole photo), widened by the recipe's
    margin on every side, is degraded with ``default_rng((seed, index))``; the margin is then
    trimmed (where at least ``MIN_SIDE`` px remain), so no border effect of the degradation is
    scored.

    Returns:
        ``(degraded, clean, info)``: contiguous arrays of the same size, and the recipe's facts.
    """
    m = degradation.margin
    y, x, ch, cw = centre_box(*rgb.shape[:2], size + 2 * m if size else 0)
    clean = np.ascontiguousarray(rgb[y : y + ch, x : x + cw])
    degraded, info = degrade(degradation.name, clean, np.random.default_rng((seed, index)))
    if m and ch > 2 * m + MIN_SIDE and cw > 2 * m + MIN_SIDE:
        clean, degraded = clean[m:-m, m:-m], degraded[m:-m, m:-m]
    return np.ascontiguousarray(degraded), np.ascontiguousarray(clean), info


def check_min_side(path: Path, w: int, h: int) -> None:
    """Refuse an image too small to score (SSIM's window)."""
    if min(h, w) < SSIM_WINDOW:
        raise DRCNetError(f"{path.name} is {w}×{h}; evaluation needs images at least "
                          f"{SSIM_WINDOW} px on each side (SSIM's window)")


def read_pair(inp_path: Path, tgt_path: Path, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The centre crops (at most ``size`` px a side; 0 = whole) of a paired set's degraded
    and clean images, as evaluation and validation both score them."""
    degraded, clean = read_image(inp_path).rgb, read_image(tgt_path).rgb
    check_min_side(inp_path, degraded.shape[1], degraded.shape[0])
    if degraded.shape != clean.shape:
        raise DRCNetError(f"{inp_path.name}: input {degraded.shape} and target "
                          f"{clean.shape} differ in size")
    y, x, ch, cw = centre_box(*degraded.shape[:2], size)
    return (np.ascontiguousarray(degraded[y : y + ch, x : x + cw]),
            np.ascontiguousarray(clean[y : y + ch, x : x + cw]))


class ValidationSet(Dataset[Pair]):
    """A fixed validation set: centre crops degraded with a fixed seed per image, or the centre
    crops of a paired folder.

    Args:
        files: clean images (or a folder of them); with ``layout``, the root of a paired folder.
        task: task or degradation recipe name (unused with ``layout``).
        seed: base seed; image ``i`` uses ``default_rng((seed, i))``, as ``drcnet eval --seed``.
        size: side of the centre crop (smaller images are used whole; 0 = whole images).
        draws: degradations per image: draw ``k`` uses seed ``seed + k``, so the mean PSNR over
            the set is the mean of ``drcnet eval --seed seed … seed + draws - 1`` (at this crop).
            One draw of a varied recipe (rain) on a few photos is a narrow sample; more draws
            make checkpoint selection less of a lottery. A paired folder has one draw.
        layout: ``rain13k``/``gopro``/``sidd``: score the folder's own pairs, as
            ``drcnet eval --paired`` does. The pairs are read each time they are scored (a large
            test split costs no memory, but time: point ``val_data`` at one subset).
    """

    def __init__(
        self,
        files: PathLike | Sequence[PathLike],
        task: str,
        seed: int = 0,
        size: int = 256,
        draws: int = 1,
        layout: str = "",
    ) -> None:
        if draws < 1:
            raise UsageError(f"draws must be >= 1, got {draws}")
        self.layout = layout
        self.size = int(size)
        self.pairs: list[tuple[np.ndarray, np.ndarray]] = []
        self.paired: list[tuple[Path, Path]] = []
        if layout:
            self.paired = paired_files(files, layout)  # type: ignore[arg-type]
            self.files = [inp for inp, _ in self.paired]
            self.draws = 1
            return
        self.degradation = get_degradation(task)
        self.files = list_images(files)
        self.draws = draws
        by_photo = []
        for i, f in enumerate(self.files):  # one whole photo in memory at a time
            rgb = read_image(f).rgb
            by_photo.append([synthetic_pair(rgb, self.degradation, seed + k, i, size)[:2]
                             for k in range(draws)])
        # Ordered by draw, then photo, as EvalData.
        self.pairs = [pairs[k] for k in range(draws) for pairs in by_photo]

    def __len__(self) -> int:
        return len(self.paired) if self.layout else len(self.pairs)

    def __getitem__(self, index: int) -> Pair:
        if self.layout:
            degraded, clean = read_pair(*self.paired[index], self.size)
            return _to_tensor(degraded), _to_tensor(clean)
        degraded, clean = self.pairs[index]
        return _to_tensor(degraded), _to_tensor(clean)


def paired_files(root: PathLike, layout: str) -> list[tuple[Path, Path]]:
    """Match degraded and clean files of a public layout by name (:func:`match_pairs`)."""
    return match_pairs(root, layout)[0]


def match_pairs(root: PathLike, layout: str) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """Match degraded and clean files of a public layout by relative name; also the
    degraded files with no clean file of the same name (stem; extensions may differ).

    Every folder named like the layout's degraded folder (at any depth, e.g. GoPro's
    ``train/GOPR0372_07_00/blur``) is paired with its sibling clean folder.

    Raises:
        DRCNetError: no pairs at all (saying what was found when names do not match).
    """
    if layout not in LAYOUTS:
        raise UsageError(f"unknown layout '{layout}'; choose one of {', '.join(LAYOUTS)}")
    inp_name, tgt_name = LAYOUTS[layout]
    root = Path(root)
    if not root.is_dir():
        raise DRCNetError(f"data folder {root} does not exist")
    dirs = sorted(d for d in [root, *root.rglob("*")]
                  if d.is_dir() and d.name == inp_name and not _hidden(d, root))
    # input/ inside another input/ is a subfolder of the outer one, not a set of its own
    dirs = [d for d in dirs if not any(o in d.parents for o in dirs)]
    pairs: list[tuple[Path, Path]] = []
    unpaired: list[Path] = []  # inputs with no target of the same name (stem)
    n_targets = 0

    def images(folder: Path) -> dict[str, Path]:
        """The folder's images, subfolders included, by relative path without suffix."""
        found = sorted(p for p in folder.rglob("*") if p.is_file() and not _hidden(p, folder)
                       and p.suffix.lower() in IMAGE_EXTENSIONS)
        stems: dict[str, Path] = {}
        for p in found:  # 6.png and 6.jpg: which is 6's partner? (it had been file order)
            key = p.relative_to(folder).with_suffix("").as_posix()
            if key in stems:
                raise DRCNetError(f"{stems[key]} and {p.name} have the same name, so "
                                  "which one pairs is unclear: keep one of them")
            stems[key] = p
        return stems

    for d in dirs:
        tgt = next((d.parent / n for n in (tgt_name, *TARGET_ALIASES.get(layout, ()))
                    if (d.parent / n).is_dir()), None)
        if tgt is None:
            continue
        targets = images(tgt)
        n_targets += len(targets)
        for key, p in images(d).items():
            if key in targets:
                pairs.append((p, targets[key]))
            else:
                unpaired.append(p)
    if not pairs:
        found = (f"; found {len(unpaired)} in {inp_name}/ and {n_targets} in {tgt_name}/, "
                 "but an input and its target must have the same name (extensions may "
                 "differ)" if unpaired and n_targets else "")
        targets = "/ or ".join((tgt_name, *TARGET_ALIASES.get(layout, ())))
        raise DRCNetError(f"no {inp_name}/ + {targets}/ image pairs found under {root} "
                          f"(layout '{layout}'){found}")
    return pairs, unpaired


def unpaired_note(unpaired: Sequence[Path], layout: str) -> str:
    """A note naming the inputs :func:`match_pairs` left out, or ``""``."""
    if not unpaired:
        return ""
    inp_name, tgt_name = LAYOUTS[layout]

    def name(p: Path) -> str:  # relative to its input folder: s2/lone.png
        parts = p.parts
        at = max((i for i, part in enumerate(parts[:-1]) if part == inp_name), default=-1)
        return "/".join(parts[at + 1:])

    names = ", ".join(name(p) for p in unpaired[:3]) + (" …" if len(unpaired) > 3 else "")
    return (f"{len(unpaired)} image(s) in {inp_name}/ have no target of the same name in "
            f"{tgt_name}/ and are left out: {names}")


def _mirror_to(img: np.ndarray, size: int) -> np.ndarray:
    """``img`` extended by mirroring at its bottom and right edges to at least ``size`` px."""
    ph, pw = max(0, size - img.shape[0]), max(0, size - img.shape[1])
    if not (ph or pw):
        return img
    return np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="symmetric")


class PairedFolder(Dataset[Pair]):
    """Degraded/clean pairs from a public dataset layout (Rain13k, GoPro, SIDD).

    Args:
        root: the dataset folder.
        layout: ``rain13k`` (``input/``+``target/``), ``gopro`` (``blur/``+``sharp/``) or
            ``sidd`` (``input_crops/``+``gt_crops/``, or Restormer's ``target_crops/``).
        crop: random training crop side, or ``None`` for whole images (evaluation). A pair
            smaller than the crop is mirrored at its bottom and right edges to fit (both
            images alike), so every crop in a batch has the same size.
        seed: base seed for crops and flips.
    """

    def __init__(
        self, root: PathLike, layout: str, crop: int | None = 128, seed: int = 0
    ) -> None:
        self.pairs, self.unpaired = match_pairs(root, layout)
        self.layout = layout
        self.crop = crop
        self.seed = int(seed)
        # Pairs the crop does not fit (from the headers; 64 KiB covers a JPEG's EXIF block).
        self.mirrored: list[Path] = []
        differ: list[str] = []
        # Not images at all (an image's name, other bytes): found now, by their first bytes.
        junk = [p for pair in self.pairs for p in pair if not has_image_signature(p)]
        if junk:
            raise DRCNetError(f"{len(junk)} file(s) of the {layout} pairs are not images that "
                              f"can be decoded, e.g. {junk[0]}")
        for inp, tgt in self.pairs:
            size = image_size(inp, head=1 << 16)
            other = image_size(tgt, head=1 << 16)
            # Either way round: an EXIF-rotated camera JPEG is upright once read.
            if size is not None and other is not None and other not in (size, size[::-1]):
                differ.append(f"{inp} is {size[0]}×{size[1]} but {tgt} is "
                              f"{other[0]}×{other[1]}")
            if crop and size is not None and min(size) < crop:
                self.mirrored.append(inp)
        if differ:  # found now, not when a worker first draws the pair hours into a run
            raise DRCNetError(f"{len(differ)} of {len(self.pairs)} {layout} pairs differ in "
                              f"size, e.g. {differ[0]}")

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> Pair:
        inp_path, tgt_path = self.pairs[int(index) % len(self.pairs)]
        inp, tgt = read_image(inp_path).rgb, read_image(tgt_path).rgb
        if inp.shape != tgt.shape:
            raise DRCNetError(f"{inp_path} ({inp.shape[1]}×{inp.shape[0]}) and {tgt_path} "
                              f"({tgt.shape[1]}×{tgt.shape[0]}) differ in size")
        if self.crop is not None:
            rng = np.random.default_rng((self.seed, int(index)))
            c = self.crop
            inp, tgt = _mirror_to(inp, c), _mirror_to(tgt, c)
            y = int(rng.integers(0, inp.shape[0] - c + 1))
            x = int(rng.integers(0, inp.shape[1] - c + 1))
            code = int(rng.integers(8))
            inp = augment(inp[y : y + c, x : x + c], code)
            tgt = augment(tgt[y : y + c, x : x + c], code)
        return _to_tensor(inp), _to_tensor(tgt)

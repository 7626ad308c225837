"""Restoring many image files with one model: which outputs, then the work as a generator.

``drcnet restore`` and the GUI's *Restore Files* both go through here::

    inputs, folder = expand_inputs(["photos/"])
    pairs = plan_outputs(inputs, Path("restored"), folder)
    results = run(restore_files(model, pairs, TileConfig(tile=default_tile(model))), print)

A file that cannot be read or written is recorded as failed and the batch goes on; cancelling
stops between tiles and returns what was done.
"""

from __future__ import annotations

import glob
import os
import re
import time
import unicodedata
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .compare import ExportParams
from .errors import (
    Cancelled,
    DRCNetError,
    ImageReadError,
    ImageTypeError,
    ImageWriteError,
    UsageError,
)
from .imageio import (
    IMAGE_EXTENSIONS,
    RAW_EXTENSIONS,
    READABLE_EXTENSIONS,
    Image,
    check_image_type,
    check_output_size,
    format_note,
    frames_note,
    has_image_signature,
    read_image,
    write_image,
)
from .inference import (
    Progress,
    TileConfig,
    TilePeak,
    apply_strength,
    check_strength,
    default_tile,
    model_device,
    overlap_for,
    relay,
    restore_tiled,
    tile_that_fits,
    tiles_for,
)
from .network import DRCNet
from .range_check import RangeReport, check_peaks

RESTORED, FAILED, SKIPPED, CANCELLED = "restored", "failed", "skipped", "cancelled"


def expand_inputs(args: Sequence[str | Path],
                  skipped: list[Path] | None = None) -> tuple[list[Path], bool]:
    """The image files named by ``args``: files as given, each folder's images (top level, in
    :func:`natural_key` order: :func:`folder_inputs`), a file named twice once. A pattern
    such as ``shots/*.jpg`` that names no file is expanded here, for shells that pass it on as
    it is (Windows, or quoted), to every file it matches, as a shell would, but for a
    camera's RAW file, which it leaves out as a folder's listing does. Also whether the
    output is a folder: more than one argument, or any argument a folder or such a pattern,
    however many files they name (``a.jpg ./a.jpg`` too, one file named twice: ``-o out``
    had been read as one output file and refused for its missing extension).

    Args:
        args: files, folders and patterns, as the command line or a drop gives them.
        skipped: where given, the RAW files the patterns matched and left out are added to
            it, for the caller to say (:func:`raw_skipped_note`).

    Raises:
        UsageError: a file named is a camera's RAW file, or a pattern matches nothing else
            (:func:`check_input_name`).
        ImageReadError: an argument names nothing that exists (no file, folder or match), or
            a folder cannot be listed.
        DRCNetError: a folder holds no images.
    """
    files: list[Path] = []
    seen: set[Path] = set()
    # resolved RAW matches already in skipped (a set: 2000 of them had taken 44 s as a list)
    skipped_seen: set[Path] = {r.resolve() for r in skipped or ()}
    folder = len(args) > 1
    queue = [(Path(a), False) for a in args]  # (path, a pattern's match: not globbed again)
    missing = []
    while queue:
        p, matched = queue.pop(0)
        if not matched and not p.exists() and glob.has_magic(str(p)):
            matches = sorted((Path(m) for m in glob.glob(str(p))),
                             key=lambda m: natural_key(m.name))
            if not matches:
                missing.append(f"{p} (no file matches)")
            raw = [m for m in matches if raw_name(m)]
            kept = [m for m in matches if not raw_name(m)]
            if raw and not kept:  # nothing else to restore: said as named
                check_input_name(raw[0])
            if skipped is not None:  # left out, as from a folder; the caller says how many
                for m in raw:
                    if (key := m.resolve()) not in skipped_seen:
                        skipped_seen.add(key)
                        skipped.append(m)
            folder = True  # one match is a folder's worth of one, not a file to a file
            queue[:0] = [(m, True) for m in kept]
            continue
        if p.is_dir():
            folder = True
            found = folder_inputs(p)
            if not found:
                raise DRCNetError(f"no images in the folder {p}: no file there is named "
                                  f"{', '.join(IMAGE_EXTENSIONS)}, an image Studio reads "
                                  "(.gif, .pgm, …) or an image without an extension "
                                  "(subfolders are not searched)")
        else:
            check_input_name(p)  # wrong whatever the disk holds: before "no such file"
            if not os.path.lexists(p):  # a dangling link is named: it fails as that file
                missing.append(str(p))
                continue
            found = [p]
        for q in found:  # say, a file named alone and in its folder
            if q.resolve() not in seen:
                seen.add(q.resolve())
                files.append(q)
    if missing:
        raise ImageReadError(f"no such file or folder: {', '.join(missing[:5])}"
                             + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    return files, folder


def folder_inputs(folder: Path) -> list[Path]:
    """The files at the top level of ``folder`` that a batch restores, in :func:`natural_key`
    order: those named as an image Studio writes (``.png``, ``.jpg``, …) or reads
    (``.gif``, ``.pgm``, …: :data:`~drcnet.imageio.READ_ONLY_EXTENSIONS`), one that does not
    decode kept, to fail and be reported; and a file without an extension whose first bytes
    are an image's (:func:`~drcnet.imageio.has_image_signature`). Other files (a JSON
    sidecar, notes, a camera's RAW files, which start as TIFFs do and would give their
    thumbnail) and hidden ones are left out.

    Raises:
        ImageReadError: the folder cannot be listed.
    """
    try:
        entries = list(folder.iterdir())
    except OSError as exc:
        raise ImageReadError(f"cannot list the folder {folder} "
                             f"({exc.strerror or exc})") from None
    found = [q for q in entries
             if not q.name.startswith(".") and q.is_file() and readable_name(q)
             and (q.suffix or has_image_signature(q))]
    return sorted(found, key=lambda q: natural_key(q.name))


def readable_name(path: Path) -> bool:
    """Whether ``path`` is named as an image Studio reads (``.png``, ``.gif``, …:
    :data:`~drcnet.imageio.READABLE_EXTENSIONS`) or has no extension (then its first bytes
    decide); not a camera's RAW file (``.NEF``, ``.CR2``), which starts as a TIFF does and
    would give its thumbnail."""
    return not path.suffix or path.suffix.lower() in READABLE_EXTENSIONS


def raw_name(path: Path) -> bool:
    """Whether ``path`` is named as a camera's RAW file (``.NEF``, ``.CR2``, …:
    :data:`~drcnet.imageio.RAW_EXTENSIONS`), which Studio does not read."""
    return path.suffix.lower() in RAW_EXTENSIONS


def raw_skipped_note(skipped: Sequence[Path]) -> str:
    """What ``drcnet restore`` says of the RAW files its patterns matched and
    :func:`expand_inputs` left out; "" for none."""
    if not skipped:
        return ""
    n = len(skipped)
    names = ", ".join(p.name for p in skipped[:3]) + (", …" if n > 3 else "")
    return (f"left out {n} camera RAW file{'s' if n > 1 else ''} a pattern matched "
            f"({names}): Studio does not read RAW files (it would read only the small preview "
            "they embed); convert them to TIFF or PNG first")


def check_input_name(path: Path, folder_hint: bool = True) -> None:
    """Refuse a camera's RAW file named as an input (:data:`~drcnet.imageio.RAW_EXTENSIONS`,
    which a folder's listing leaves out): it had been decoded by its content, which OpenCV
    reads as the small preview it embeds, and the output was that. Other names are read by
    their content, as before (``.jfif``, or a file a shell's ``*`` matched, which fails
    alone and is reported).

    Raises:
        UsageError: saying what to do (``folder_hint``: and that naming the folder restores
            its other images, where a folder can be named).
    """
    if raw_name(path):
        raise UsageError(f"{path} is a camera's RAW file ({path.suffix}): Studio would read "
                         "only the small preview it embeds; convert it to TIFF or PNG first"
                         + (" (a folder named instead restores its other images, leaving RAW "
                            "files out)" if folder_hint else ""))


def natural_key(name: str) -> tuple:
    """Sort key that orders names as file managers do: case-insensitive, with runs of digits
    compared as numbers (``IMG_2`` before ``IMG_10``)."""
    stem, dot, suffix = name.casefold().rpartition(".")
    if not dot:
        stem, suffix = suffix, ""
    parts = re.split(r"(\d+)", stem)  # the stem first: "a.png" before "a2.png"
    return tuple((0, int(x), x) if x.isdigit() else (1, 0, x) for x in parts if x), suffix, name


def folder_images(folder: str | Path) -> list[str] | None:
    """The names of the images at the top level of ``folder``, in :func:`natural_key` order
    (as a file manager shows them): the files a folder input restores (:func:`folder_inputs`:
    GIF, PGM and extension-less images too; hidden files skipped). None when the folder
    cannot be listed. It touches the disk once per entry: a GUI lists off its own thread."""
    try:
        return [q.name for q in folder_inputs(Path(folder))]
    except (ImageReadError, OSError):
        return None


def step_in(names: list[str], name: str, step: int, clamp: bool = False) -> str | None:
    """The name ``step`` places after ``name`` (before it when negative) in ``names``, a
    :func:`folder_images` listing. ``name`` need not be listed (deleted or renamed since it was
    opened): its place in the order is kept. Past either end: None, or with ``clamp`` the
    first or last name (None still when ``name`` is already there)."""
    if name not in names:
        names = sorted([*names, name], key=natural_key)
    here = names.index(name)
    i = here + step
    if clamp:
        i = min(max(i, 0), len(names) - 1)
    return names[i] if 0 <= i < len(names) and i != here else None


def sibling_image(path: str | Path, step: int) -> Path | None:
    """The image ``step`` places after ``path`` (before it when negative) among the images
    at the top level of its folder (:func:`folder_images`, :func:`step_in`). None when there
    is no such image (the first or last one was reached, or the folder is gone)."""
    p = Path(path)
    names = folder_images(p.parent)
    if names is None:
        return None
    found = step_in(names, p.name, step)
    return p.parent / found if found is not None else None


def plan_outputs(inputs: list[Path], out: str | Path, folder: bool = False,
                 name: str = "the output") -> list[tuple[Path, Path]]:
    """Pair each input with its output path. ``out`` is a file for one input file (or a
    folder that already exists), otherwise a folder where each output keeps its input's name
    (a PNG for an input in a format Studio does not write, such as GIF or none: ``a.gif``
    becomes ``a.png``). ``out`` given as text that ends in a slash names a folder, whatever
    it looks like (``shots.png/``). ``name`` is how messages call ``out`` (the CLI's ``-o``).

    Raises:
        ImageWriteError: ``out`` does not fit the inputs, two inputs would share an output
            (names that differ only in case, or in Unicode form such as café composed or as
            e plus an accent, count as one, as macOS and Windows see them), or
            an output would replace an input.
        ImageTypeError: one input, and ``out`` is named as no image file Studio writes (no
            extension, ``x.gif``): a :class:`~drcnet.errors.UsageError` too.
    """
    slash = isinstance(out, str) and out.endswith(("/", os.sep))  # Path drops the slash
    out = Path(out)
    folder = folder or slash
    if len(inputs) == 1 and not folder and not out.is_dir():
        if not out.suffix and not out.exists():  # meant a folder that does not exist yet?
            raise ImageTypeError(f"Cannot write {out}: it has no file extension; name an "
                                 f"image file (.png, .jpg, …), or end {name} with / to "
                                 "write into a folder")
        check_image_type(out)
        pairs = [(inputs[0], out)]
    else:
        if out.exists() and not out.is_dir():
            raise ImageWriteError(f"{out} is a file; with several inputs or a folder, {name} "
                                  "must be a folder")
        if not out.exists() and out.suffix.lower() in IMAGE_EXTENSIONS and not slash:
            raise ImageWriteError(f"{out} looks like an image file; with several inputs or a "
                                  f"folder, {name} must be a folder")
        pairs = [(p, out / (p.name if p.suffix.lower() in IMAGE_EXTENSIONS
                            else p.stem + ".png")) for p in inputs]
        by_name: dict[str, list[tuple[Path, Path]]] = {}
        for pair in pairs:
            # One file on macOS's and Windows' disks: case aside, and on macOS a name's two
            # Unicode spellings (café as é, or as e and an accent) too.
            key = unicodedata.normalize("NFC", pair[1].name).casefold()
            by_name.setdefault(key, []).append(pair)
        dupes = sorted((ps[0][1].name, [p for p, _ in ps]) for ps in by_name.values()
                       if len(ps) > 1)
        if dupes:
            n, ps = dupes[0]
            raise ImageWriteError(f"several inputs would be written as {n} "
                                  f"({', '.join(map(str, ps))}); restore them separately")
    sources = {p.resolve() for p in inputs}
    files = {key for p in inputs if (key := _file_key(p)) is not None}
    for _, dst in pairs:  # also a hard link to an input, before any model runs
        if dst.resolve() in sources or _file_key(dst) in files:
            raise ImageWriteError(f"{dst} is an input file; choose another output path")
    return pairs


def _file_key(p: Path) -> tuple[int, int] | None:
    """(device, inode) of an existing file, which every link to it shares; None if absent."""
    try:
        st = p.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if st.st_ino else None


@dataclass(frozen=True)
class FileResult:
    """What became of one file of a batch.

    ``status`` is ``restored``, ``failed`` (``error`` says why), ``skipped`` (its output
    existed and the batch was told to keep existing files) or ``cancelled`` (not finished).
    ``range`` is the range check over its tiles (restored files only); ``note`` says when
    only the first frame of an animation or page of a TIFF was restored.
    """

    src: Path
    dst: Path
    status: str
    error: DRCNetError | None = None
    range: RangeReport | None = None
    seconds: float = 0.0
    note: str = ""

    @property
    def message(self) -> str:
        return str(self.error) if self.error is not None else ""


@dataclass(frozen=True)
class BatchProgress:
    """A progress record of :func:`restore_files`.

    ``index`` of ``count`` files is being worked on; ``tile`` is that file's own progress.
    The record that ends a file carries its ``result``.
    """

    index: int
    count: int
    src: Path
    tile: Progress
    result: FileResult | None = None

    @property
    def fraction(self) -> float:
        """How much of the batch is done, in [0, 1], counting files and this file's tiles."""
        within = 1.0 if self.result is not None else (
            self.tile.done / self.tile.total if self.tile.total else 0.0)
        return (self.index + min(within, 1.0)) / self.count if self.count else 1.0


def restore_files(
    model: DRCNet,
    pairs: Sequence[tuple[str | os.PathLike[str], str | os.PathLike[str]]],
    tiles: TileConfig | None = None,
    cancel: Callable[[], bool] | None = None,
    overwrite: bool = True,
    read: Callable[[Path], Image] = read_image,
    params: ExportParams | None = None,
    strength: float = 1.0,
    keep_exif: bool = True,
    jpeg_quality: int = 95,
    tile_when_too_big: bool = False,
) -> Generator[BatchProgress, None, list[FileResult]]:
    """Restore each ``(src, dst)`` pair with ``model`` as it is configured, tile by tile.

    Each output keeps its input's alpha, bit depth and grayness (as ``drcnet restore``
    writes). Output folders must exist.

    Args:
        model: the network, in eval mode, knobs set.
        pairs: input and output paths (:func:`plan_outputs`; strings are taken too).
        tiles: as for :func:`~drcnet.inference.restore_tiled` (``None``: tiles of the
            model's training crop).
        cancel: called between tiles and between files; True stops the batch.
        overwrite: False skips a pair whose output exists.
        read: reads an input (``read_image`` by default; the CLI's says which option raises
            the pixel limit).
        params: the run's parameters (model file, knobs, tiles, device); a PNG output gets
            them as text chunks, as an export does, with its own ``input`` and
            ``range_check``. Other formats carry none.
        strength: the share of the restoration each output keeps
            (:func:`~drcnet.inference.apply_strength`; 1: all of it); recorded in ``params``.
        keep_exif: whether outputs keep their input's EXIF camera record (all formats but BMP)
            (upright, without thumbnail or location: :func:`~drcnet.imageio.upright_exif`);
            the colour profile is kept either way, as the colours depend on it.
        jpeg_quality: JPEG outputs' quality, 1–100.
        tile_when_too_big: a file one pass over which would not fit in the free memory
            (:func:`~drcnet.inference.check_one_pass_memory`) is restored in tiles of the
            model's training crop, and its note says so, instead of failing (the GUI's
            *Restore Files*, whose dialog has no tile to change; ``drcnet restore`` refuses).

    Yields:
        :class:`BatchProgress` after each tile and once at the end of each file.

    Returns:
        one :class:`FileResult` per pair, in order. On cancel, the file in progress and the
        ones after it are ``cancelled``; nothing half-made is written.
    """
    strength = check_strength(strength)
    tiles = tiles_for(model, tiles)
    # Strings as paths: a pair of them had failed on .exists() with overwrite=False.
    pairs = [(Path(src), Path(dst)) for src, dst in pairs]
    results: list[FileResult] = []
    inputs = [src for src, _ in pairs]
    count = len(pairs)
    limit = getattr(model, "activation_limit", None)
    for index, (src, dst) in enumerate(pairs):
        if cancel is not None and cancel():
            break
        start = time.perf_counter()
        if not overwrite and dst.exists():
            result = FileResult(src, dst, SKIPPED)
        else:
            try:
                image = read(src)
                check_output_size(dst, image.rgb.shape[1], image.rgb.shape[0])  # before, not after
                peaks: list[TilePeak] = []
                used, tiled_note = tiles, ""
                if tile_when_too_big:
                    used, tiled_note = _tiles_that_fit(model, image.rgb.shape[:2], tiles)
                restored = yield from relay(
                    restore_tiled(model, image.restorable, used, cancel=cancel, peaks=peaks),
                    lambda step, i=index, s=src: BatchProgress(i, count, s, step))
                report = check_peaks(peaks, limit)
                meta = None if params is None else replace(
                    params, input=src.name, range_check=report.summary(),
                    strength=strength).png_metadata()
                write_image(dst, apply_strength(image.restorable, restored, strength),
                            alpha=image.alpha, bit_depth=image.bit_depth, inputs=inputs,
                            gray=image.gray, metadata=meta, icc=image.icc,
                            exif=image.exif if keep_exif else None,
                            jpeg_quality=jpeg_quality, dpi=image.dpi, text=image.png_text)
                notes = (tiled_note, frames_note(image), format_note(image, dst, keep_exif))
                result = FileResult(src, dst, RESTORED, range=report,
                                    seconds=time.perf_counter() - start,
                                    note="; ".join(n for n in notes if n))
            except Cancelled:
                break
            except DRCNetError as exc:
                result = FileResult(src, dst, FAILED, error=exc,
                                    seconds=time.perf_counter() - start)
        results.append(result)
        yield BatchProgress(index, count, src, Progress(1, 1), result)
    results += [FileResult(src, dst, CANCELLED) for src, dst in pairs[len(results):]]
    return results


def _tiles_that_fit(model: DRCNet, shape: tuple[int, ...], tiles: TileConfig
                    ) -> tuple[TileConfig, str]:
    """``tiles``, or tiles smaller than an image of ``shape`` that one pass would not fit in
    the free memory, with a note saying so."""
    tile, problem = tile_that_fits(*shape[:2], tiles.tile,
                                   getattr(getattr(model, "config", None), "wf", 16),
                                   model_device(model).type, default_tile(model))
    if problem is None:
        return tiles, ""
    return (replace(tiles, tile=tile, overlap=overlap_for(tile)),
            f"{problem}, so it was restored in {tile}-px tiles")


def summary(results: Sequence[FileResult]) -> str:
    """One line: how many files were restored, failed, skipped or cancelled."""
    counts = {s: sum(r.status == s for r in results)
              for s in (RESTORED, FAILED, SKIPPED, CANCELLED)}
    parts = [f"{counts[RESTORED]} of {len(results)} restored"]
    parts += [f"{n} {s}" for s, n in counts.items() if s != RESTORED and n]
    outside = sum(r.range is not None and r.range.out_of_range for r in results)
    if outside:
        parts.append(f"{outside} partly outside the trained range")
    return ", ".join(parts)

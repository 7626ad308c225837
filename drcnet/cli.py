"""The ``drcnet`` command line: restore, info, and (from their own modules) train, eval,
sweep, bench and compare.

Every user-facing failure is one line on stderr and a non-zero exit; tracebacks are for bugs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO

import torch

from . import TASKS, __version__
from .batch import (
    FAILED,
    RESTORED,
    SKIPPED,
    BatchProgress,
    FileResult,
    expand_inputs,
    plan_outputs,
    raw_skipped_note,
    restore_files,
    summary,
)
from .compare import NO_EA_HELP
from .complexity import count_macs, count_params
from .devices import DEVICE_CHOICES, PRECISION_CHOICES, available_devices, resolve_device
from .errors import DRCNetError, ImageTooLargeError, ImageWriteError, UsageError
from .inference import (
    DEFAULT_OVERLAP,
    DEFAULT_TILE,
    MIN_TILE,
    TileConfig,
    check_strength,
    compile_model,
    default_tile,
    ensemble_views,
    model_device,
    overlap_for,
    overlap_note,
    run,
)

if TYPE_CHECKING:
    from .imageio import Image

EXIT_FAILURE = 1
EXIT_USAGE = 2


def _jpeg_quality(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be 1 to 100, got {value}")
    return value


DEFAULT_JPEG_QUALITY = 95


def add_jpeg_quality_option(p: argparse.ArgumentParser) -> None:
    """``--jpeg-quality`` (restore and compare; unset is ``None``, so that
    :func:`jpeg_quality_note` can tell it was given, and means :data:`DEFAULT_JPEG_QUALITY`)."""
    p.add_argument("--jpeg-quality", type=_jpeg_quality, default=None, metavar="Q",
                   help=f"quality of .jpg outputs, 1-100 (default {DEFAULT_JPEG_QUALITY}; "
                        "chroma at half resolution, 4:2:0); .webp outputs are always lossless")


def jpeg_quality_note(given: int | None, outputs: Sequence[Path]) -> str:
    """What restore and compare say, as a note, when ``--jpeg-quality`` was given and no
    output is a JPEG, the only format it sets; else "". Said, not refused: a script that
    switches formats keeps its options."""
    if given is None or any(p.suffix.lower() in (".jpg", ".jpeg") for p in outputs):
        return ""
    where = (f"on {outputs[0].name}" if len(outputs) == 1
             else f"here: none of the {len(outputs)} outputs is a .jpg")
    return f"--jpeg-quality (for .jpg outputs) has no effect {where}"


DEFAULT_MAX_PIXELS = 100_000_000


def add_max_pixels_option(p: argparse.ArgumentParser) -> None:
    """``--max-pixels`` (restore and compare; :func:`check_max_pixels` checks it)."""
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, metavar="N",
                   help="refuse an image of more than N pixels, width × height, at least 1 "
                        f"(default {DEFAULT_MAX_PIXELS}: 100 megapixels)")


def check_max_pixels(value: int) -> None:
    """Refuse a ``--max-pixels`` no image passes.

    Raises:
        UsageError: ``value`` is under 1.
    """
    if value < 1:
        raise UsageError(f"--max-pixels must be >= 1, got {value}")


def check_output_folder(folder: Path) -> None:
    """Refuse, before any work, an output folder that is missing or where no file can be made
    (by making one: what permission bits miss too, ACLs or an immutable folder).

    Raises:
        ImageWriteError: saying which, with the system's reason.
    """
    from .imageio import folder_write_problem

    if not folder.is_dir():
        raise ImageWriteError(f"output folder {folder} does not exist; create it first")
    problem = folder_write_problem(folder)
    if problem is not None:  # the system's reason, whatever it is (/proc: "No such file")
        raise ImageWriteError(f"cannot create a file in the output folder {folder} ({problem})")


def _fail(message: str, code: int = EXIT_FAILURE) -> int:
    print(f"drcnet: error: {message}", file=sys.stderr)
    return code


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a scheduler's stop) during a command: it ends as Ctrl+C does, the
    outputs already written kept and said, with status 143 (128 + 15). Python's default had
    ended it at once, without a word."""


def stopped(exc: KeyboardInterrupt) -> tuple[str, int]:
    """How a stop is named, and its status: Ctrl+C 130, SIGTERM 143."""
    return ("terminated", 143) if isinstance(exc, Terminated) else ("interrupted", 130)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Raise :class:`Terminated` on SIGTERM while a command runs, where SIGTERM has its
    default action (``drcnet train`` sets its own handler inside, to checkpoint first); the
    default is put back after."""
    # Only there can Python catch it; and only over the default: an inherited SIG_IGN (a
    # launcher's `trap '' TERM`) or a library caller's own handler is left as it is.
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def read_checked(src: Path, max_pixels: int) -> Image:
    """:func:`~drcnet.imageio.read_image`, saying which option raises the pixel limit."""
    from .imageio import read_image

    try:
        return read_image(src, max_pixels=max_pixels)
    except ImageTooLargeError as exc:
        raise ImageTooLargeError(f"{exc} Raise the limit with --max-pixels N.") from None


def cmd_restore(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .compare import ExportParams
    from .registry import load_model, weight_spec
    from .weights import sha256

    if not args.output.strip():  # -o "$OUT" with OUT unset had written into the current folder
        raise UsageError("-o is empty: name an output file, or a folder ending in /")
    if args.tile_batch < 0:
        raise UsageError(f"--tile-batch must be >= 0, got {args.tile_batch}")
    check_max_pixels(args.max_pixels)
    raw_skipped: list[Path] = []  # camera RAW files that patterns matched, left out
    inputs, folder = expand_inputs(args.inputs, raw_skipped)
    # "-o out/" names a folder even for one input file (created below, once nothing refuses).
    folder = folder or args.output.endswith(("/", os.sep))
    pairs = plan_outputs(inputs, args.output, folder, name="-o")

    model = load_model(args.task, device=args.device, variant=args.variant,
                       weights=args.weights, precision=args.precision)
    model.configure(t=args.t, delta=args.delta, ea=False if args.no_ea else None)
    model.set_runtime(channels_last=args.channels_last)
    tile = default_tile(model) if args.tile is None else args.tile
    tiles = TileConfig(tile=tile, overlap=overlap_for(tile, args.overlap),
                       batch=args.tile_batch,
                       ensemble=ensemble_views(args.task) if args.ensemble else 1,
                       repair=not args.no_repair)
    if len(pairs) > 1 or folder:  # only once nothing else can refuse the run
        try:
            Path(args.output).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImageWriteError(f"cannot create the output folder {args.output}: "
                                  f"{exc.strerror or exc}") from None
    for folder in dict.fromkeys(dst.parent for _, dst in pairs):
        check_output_folder(folder)
    if note := overlap_note(args.overlap, tiles.tile, tiles.overlap):  # a setting changed:
        print(f"drcnet: note: {note}", file=sys.stderr)  # said even with -q
    if note := jpeg_quality_note(args.jpeg_quality, [dst for _, dst in pairs]):
        print(f"drcnet: note: {note}", file=sys.stderr)  # also with -q: an option ignored
    if note := raw_skipped_note(raw_skipped):  # also with -q: files named are not restored
        print(f"drcnet: note: {note}", file=sys.stderr)
    weights = Path(args.weights) if args.weights else weight_spec(args.task, args.variant).path
    params = ExportParams.of_run(args.task, model.knobs, weights.name, sha256(weights),
                                 str(model_device(model)), tiles, model.precision)
    limit = model.activation_limit
    if args.compile:
        if not args.quiet:
            print("compiling the model (once per run; tens of seconds)…", file=sys.stderr)
        if limit is not None:  # said even with -q: -q's own warnings are among those lost
            print("drcnet: note: --compile turns the range check off (no warning for images "
                  "outside what the model was trained on)", file=sys.stderr)
        model = compile_model(model, tiles.tile or DEFAULT_TILE, tiles.batch)
    bar: tqdm | None = None
    finished: list[FileResult] = []
    started = time.perf_counter()

    def show(p: BatchProgress) -> None:
        nonlocal bar
        if p.result is None:
            if bar is None:
                # No bar where stderr is a log file: its redraws would fill it with \r lines;
                # the "src -> dst" line below still reports each image.
                where = f"[{len(finished) + 1}/{len(pairs)}] " if len(pairs) > 1 else ""
                bar = tqdm(total=p.tile.total, desc=where + p.src.name, unit="tile",
                           disable=args.quiet or not sys.stderr.isatty(), leave=False)
            bar.total = p.tile.total
            bar.update(p.tile.done - bar.n)  # redrawn at tqdm's pace, not every tile
            return
        if bar is not None:
            bar.close()
            bar = None
        r = p.result
        finished.append(r)
        if r.status == SKIPPED:
            if not args.quiet:
                print(f"{r.src}: skipped, {r.dst} exists", file=sys.stderr)
            return
        if r.status == FAILED:
            if len(pairs) > 1:  # one file's error ends the run, below
                print(f"drcnet: error: {r.message}", file=sys.stderr)
            return
        if r.range.out_of_range:  # said even with --quiet: the output may be damaged
            print(f"drcnet: warning: {r.src.name}: {r.range.message()}", file=sys.stderr)
        elif r.range.repaired:  # also said with --quiet: the output was made differently
            print(f"drcnet: note: {r.src.name}: {r.range.message()}", file=sys.stderr)
        if r.note:  # also said with --quiet: the output holds less than the input
            print(f"drcnet: note: {r.src.name}: {r.note}", file=sys.stderr)
        if not args.quiet:
            print(f"{r.src} -> {r.dst}", file=sys.stderr)

    try:
        results = run(restore_files(model, pairs, tiles, overwrite=not args.skip_existing,
                                    params=params, strength=args.strength,
                                    keep_exif=not args.no_exif,
                                    jpeg_quality=args.jpeg_quality or DEFAULT_JPEG_QUALITY,
                                    read=lambda src: read_checked(src, args.max_pixels)), show)
    except KeyboardInterrupt as exc:
        if len(pairs) == 1:
            raise
        # One line, saying what is on disk: the finished outputs are kept.
        counts = {k: sum(r.status == k for r in finished) for k in (RESTORED, SKIPPED, FAILED)}
        others = ", ".join(f"{n} {k}" for k, n in counts.items() if n and k != RESTORED)
        how, code = stopped(exc)
        return _fail(f"{how} after {len(finished)} of {len(pairs)} images ("
                     f"{counts[RESTORED]} restored{', ' + others if others else ''}); "
                     "the outputs written so far are kept", code)
    finally:
        if bar is not None:
            bar.close()
    if len(pairs) > 1 and not args.quiet:
        print(f"{summary(results)} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    failures = sum(r.status == FAILED for r in results)
    if failures and len(pairs) == 1:
        raise results[0].error
    out_of_range = sum(r.range is not None and r.range.out_of_range for r in results)
    if out_of_range and len(pairs) > 1:
        print(f"drcnet: warning: {out_of_range} of {len(pairs)} images were partly outside "
              "what the model was trained on (above)", file=sys.stderr)
    if failures:
        return _fail(f"{failures} of {len(pairs)} images failed")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from . import registry
    from .network import DRCNet
    from .registry import installed_tasks, weight_spec
    from .weights import build_model

    print(f"drcnet {__version__}, torch {torch.__version__}")
    for wf, depth in ((64, 4),):
        with torch.device("meta"):  # shapes only: the count needs no arithmetic (6× faster)
            net = DRCNet(wf=wf, depth=depth).eval()
        params = count_params(net)
        print(f"paper network wf={wf} depth={depth}: {params / 1e6:.2f} M parameters, "
              f"{count_macs(net, 256) / 1e9:.1f} G MACs at 256×256")
    print("devices: " + ", ".join(f"{dev} ({label})" for dev, label in available_devices()))
    print(f"weights (in {registry.WEIGHTS_DIR}):")  # read now: DRCNET_WEIGHTS_DIR, tests
    for task, variants in installed_tasks().items():
        if not variants:
            print(f"  {task}: none installed")
            continue
        for variant in variants:
            spec = weight_spec(task, variant)
            try:
                m = build_model(spec.path)
            except DRCNetError as exc:  # one damaged file: the others are still listed
                print(f"  {task} [{variant}]: unusable: {exc}")
                continue
            params = count_params(m)
            with torch.device("meta"):
                shape = DRCNet(wf=m.config.wf, depth=m.config.depth, ea=m.config.ea).eval()
            print(f"  {task} [{variant}]: {spec.path.name}, wf={m.config.wf} "
                  f"depth={m.config.depth}, {params / 1e6:.2f} M parameters, "
                  f"{count_macs(shape, 256) / 1e9:.1f} G MACs at 256×256"
                  f"{_trained_on(spec.path)}, {_range_note(m.activation_limit)}")
    return 0


def _range_note(limit: float | None) -> str:
    if limit is None:
        return "range check off (no calibrated limit: scripts/calibrate_range.py)"
    return f"range-check limit {limit:g}"


def _trained_on(path: Path) -> str:
    """", trained on N-px crops" from a weight file's metadata ('' if it does not say).

    The network normalises over each tile, so it does best at tiles of its training crop."""
    from .weights import read_metadata, trained_crop

    crop = trained_crop(read_metadata(path))
    return f", trained on {crop}-px crops" if crop else ""


def add_variant_option(p: argparse.ArgumentParser) -> None:
    """``--variant``: which of the task's shipped models (see :mod:`drcnet.registry`)."""
    from .registry import VARIANT_DOC, VARIANTS

    p.add_argument("--variant", default="default", choices=VARIANTS,
                   help="which shipped model (default: default): " + "; ".join(
                       f"{v} = {VARIANT_DOC[v]}" for v in VARIANTS))


def add_repair_option(p: argparse.ArgumentParser) -> None:
    """``--no-repair``: see :attr:`drcnet.inference.TileConfig.repair`."""
    p.add_argument("--no-repair", action="store_true",
                   help="keep tiles that drive the model outside its trained range as they "
                        "come out, instead of restoring them again with their colours pulled "
                        "towards gray (the default; the range check says which)")


def strength_value(text: str) -> float:
    """``--strength``'s type: a share in [0, 1], or a percentage such as ``80%``."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        return check_strength(value)
    except (ValueError, DRCNetError):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a strength; give 0..1 or a percentage (0.8 or 80%)") from None


def add_strength_option(p: argparse.ArgumentParser) -> None:
    """``--strength``: see :func:`drcnet.inference.apply_strength`."""
    p.add_argument("--strength", type=strength_value, default=1.0, metavar="S",
                   help="how much of the restoration to keep, 0..1 or a percentage: the "
                        "output is the input plus S times the change the model makes (default "
                        "1: all of it; 0.8 keeps a fifth of the input's grain or texture)")


def add_exif_option(p: argparse.ArgumentParser) -> None:
    """``--no-exif``: see :func:`drcnet.imageio.upright_exif`."""
    p.add_argument("--no-exif", action="store_true",
                   help="write no EXIF camera record (by default PNG, JPEG, WebP and TIFF "
                        "outputs keep the input's, upright, without thumbnail or GPS "
                        "location); the colour profile is kept either way")


def add_runtime_options(p: argparse.ArgumentParser, default: str = "auto") -> None:
    """``--precision`` and ``--channels-last`` (see :meth:`DRCNet.set_runtime`)."""
    p.add_argument("--precision", default=default, choices=PRECISION_CHOICES,
                   help="fp32, or fp16/bf16 autocast; auto = bf16 on a CPU with native "
                        f"bfloat16, else fp32 (default {default})")
    p.add_argument("--channels-last", action="store_true",
                   help="NHWC memory order (for GPUs)")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the model first: tens of seconds once, then faster "
                        "tiles (pays off over large images or many files)")


class Parser(argparse.ArgumentParser):
    """argparse's parser, but a help or version text that cannot be written to stdout
    (``drcnet --help >/dev/full``) ends in one line and status 1, as any other command's
    output does: argparse drops the OSError, and the command had ended 0 with nothing
    written. The subcommands' parsers are of this class too (argparse makes them so)."""

    def _print_message(self, message: str, file: IO[str] | None = None) -> None:
        if not message or file is not sys.stdout:  # stderr: there is nowhere left to say it
            super()._print_message(message, file)
            return
        try:
            file.write(message)
            file.flush()  # buffered, the failure had come at exit, after status 0
        except BrokenPipeError:  # `drcnet --help | head -1`: as main() ends
            _silence_stdout()
            self.exit(141)
        except OSError as exc:
            _silence_stdout()
            self.exit(EXIT_FAILURE, "drcnet: error: cannot write to standard output "
                                    f"({exc.strerror or exc})\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="drcnet", description="DRCNet image restoration: restore, train, evaluate.")
    parser.add_argument("--version", action="version", version=f"drcnet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("restore", help="restore images with a trained model")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files, folders of them (their top level) or quoted "
                        "patterns such as 'shots/*.jpg', to restore")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file (one input file; its folder must exist) or folder "
                        "(several inputs, a folder, a pattern, or OUT ending in /; the "
                        "folder is created if missing; outputs keep their inputs' names, as "
                        "PNGs where Studio does not write the input's format)")
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--t", type=float, default=None,
                   help="spatial-filter threshold (default: the weight file's)")
    p.add_argument("--delta", type=float, default=None,
                   help="energy-attention coefficient (default: the weight file's)")
    p.add_argument("--no-ea", action="store_true", help=NO_EA_HELP)
    p.add_argument("--device", default="auto",
                   help=f"compute device: {'|'.join(DEVICE_CHOICES)} or cuda:N (default auto)")
    p.add_argument("--tile", type=int, default=None,
                   help=f"tile size in pixels, at least {MIN_TILE}, or 0 for whole-image "
                        "passes (default: the crop the weights were trained on, else "
                        f"{DEFAULT_TILE}); 0 is refused on a CPU whose free memory it would "
                        "not fit")
    p.add_argument("--overlap", type=int, default=None,
                   help=f"tile overlap in pixels (default {DEFAULT_OVERLAP}; at most a quarter "
                        "of the tile)")
    p.add_argument("--tile-batch", type=int, default=0, metavar="N",
                   help="tiles per forward pass (default 0 = auto: 8 on CUDA, 1 on CPU)")
    p.add_argument("--ensemble", action="store_true",
                   help="best quality: average each tile's rotated/mirrored views "
                        "(8, or the 4 upright ones for derain; that many times slower)")
    p.add_argument("--weights", default=None, help="weight file instead of the shipped one")
    add_variant_option(p)
    add_runtime_options(p)
    add_repair_option(p)
    add_strength_option(p)
    add_exif_option(p)
    add_jpeg_quality_option(p)
    p.add_argument("--skip-existing", action="store_true",
                   help="keep outputs that exist and restore only the others (as Restore "
                        "Files' 'keep'); by default existing outputs are replaced (one "
                        "made read-only is refused)")
    add_max_pixels_option(p)
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar, no line per file and no summary (warnings, notes "
                        "and errors are still said)")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("info", help="network size, devices and installed weights")
    p.set_defaults(func=cmd_info)

    for module, commands in (("cli_train", ("train", "eval", "sweep", "widen")),
                             ("bench", ("bench",)), ("compare", ("compare",))):
        try:
            mod = __import__(f"{__package__}.{module}", fromlist=["register"])
        except ImportError as exc:  # the other commands still work; these say why they don't
            for name in commands:
                # takes any arguments (no option is known), to say why it cannot run
                p = sub.add_parser(name, help=f"unavailable here ({exc})", add_help=False,
                                   prefix_chars="\x00")
                p.add_argument("rest", nargs="*")
                p.set_defaults(func=lambda _args, n=name, e=exc: _unavailable(n, e))
            continue
        register = getattr(mod, "register", None)
        if register is not None:
            register(sub)
    return parser


def _unavailable(name: str, exc: ImportError) -> int:
    raise DRCNetError(f"drcnet {name} cannot run here: {exc} (a missing package? "
                      "pip install -e . in the project's environment)")


class _Stdout:
    """``sys.stdout`` while a command runs: it keeps the OSError a write or flush of the real
    one raised (a full disk, ``>/dev/full``), so :func:`main` can tell that failure, which it
    says in one line, from an OSError anywhere else, which is a bug."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.error: OSError | None = None

    def write(self, text: str) -> int:
        return self._guard(self.stream.write, text)

    def flush(self) -> None:
        self._guard(self.stream.flush)

    def _guard(self, call: Callable[..., Any], *args: Any) -> Any:
        try:
            return call(*args)
        except OSError as exc:
            self.error = exc
            raise

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, …
        return getattr(self.stream, name)


def _silence_stdout() -> None:
    """Point stdout at nothing: Python would print the traceback of a second failed flush
    at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "weights", None) and getattr(args, "variant", "default") != "default":
        parser.error("--weights and --variant both choose the weights; give one of them")
    stdout = None
    if sys.stdout is not None:  # none under pythonw: print() writes nothing, as before
        stdout = sys.stdout = _Stdout(sys.stdout)
    try:
        if getattr(args, "device", None) not in (None, "auto"):
            resolve_device(args.device)
        with _sigterm_as_interrupt():
            code = int(args.func(args) or 0)
        if sys.stdout is not None:  # what is still buffered fails here, not at exit
            sys.stdout.flush()
        return code
    except UsageError as exc:  # a plain ValueError is a bug: its traceback goes through
        return _fail(str(exc), EXIT_USAGE)
    except DRCNetError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt as exc:
        return _fail(*stopped(exc))
    except BrokenPipeError:  # `drcnet info | head -1`: the reader has what it wanted
        # End as a command killed by SIGPIPE does (128 + 13).
        _silence_stdout()
        return 141
    except OSError as exc:  # `drcnet info >/dev/full`, a full disk: one line, not a trace
        if stdout is None or exc is not stdout.error:
            raise
        _silence_stdout()
        return _fail(f"cannot write to standard output ({exc.strerror or exc})")
    finally:
        if stdout is not None and sys.stdout is stdout:
            sys.stdout = stdout.stream


if __name__ == "__main__":
    # Through the imported module: run as ``python -m drcnet.cli``, this file is loaded twice,
    # and the commands' ``from .cli import stopped`` would not know this copy's Terminated
    # (a SIGTERM was reported as Ctrl+C, 130).
    from drcnet.cli import main as _main

    sys.exit(_main())

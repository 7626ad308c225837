"""The ``drcnet train``, ``eval``, ``sweep`` and ``widen`` subcommands.

:func:`register` adds them to the ``drcnet`` parser; each wraps a generator from the core in a
tqdm bar (or plain log lines when stderr is not a terminal, e.g. under ``torchrun`` or in a log
file). ``python -m drcnet.cli_train`` runs them standalone.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .compare import NO_EA_HELP
from .devices import PRECISION_CHOICES
from .errors import Cancelled, DRCNetError, UsageError, WeightsError
from .inference import DEFAULT_OVERLAP, DEFAULT_TILE

R = TypeVar("R")


def _drive(gen: Generator[Any, None, R], total: int, desc: str, plain: bool,
           budget_min: float = 0.0, on_record: Callable[[Any], None] | None = None) -> R:
    """Run a progress generator to the end under a tqdm bar or as plain lines, passing each
    record to ``on_record`` too (what a caller keeps, should the run be stopped).

    ``budget_min`` > 0 (a training run's ``max_minutes``): the run ends on whichever comes
    first, time or ``total`` steps, so the bar shows both budgets spent (steps n/total and
    minutes) without a percentage or an ETA that would follow the steps alone.
    """
    from tqdm import tqdm

    rank = int(os.environ.get("RANK", "0"))
    bar = None
    if not (plain or rank):
        # Only the run's own rate (the postfix's it/s): tqdm's would count the steps a
        # resume starts at as done in this session.
        fmt = ("{desc}: step {n_fmt}/{total_fmt} [{elapsed}{postfix}]" if budget_min > 0 else
               "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
               "[{elapsed}<{remaining}{postfix}]")
        bar = tqdm(total=total, desc=desc, dynamic_ncols=True, bar_format=fmt)
    first = True
    try:
        while True:
            try:
                rec = next(gen)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            if on_record is not None:
                on_record(rec)
            done = getattr(rec, "step", getattr(rec, "done", 0))
            msg = getattr(rec, "message", "")
            if bar is not None:
                bar.total = getattr(rec, "total", bar.total)
                if first:  # a resumed run starts here: the ETA counts from it
                    bar.initial = bar.n = done
                    first = False
                bar.n = done
                sps = getattr(rec, "steps_per_s", 0.0)
                spent = getattr(rec, "elapsed_s", 0.0)
                clock = (f" {spent / 60:.1f}/{budget_min:g} min" if budget_min > 0 and spent
                         else "")
                bar.set_postfix_str(f"{msg}{f' {sps:.1f} it/s' if sps else ''}{clock}",
                                    refresh=False)
                note = hasattr(rec, "steps_per_s") and msg and not sps  # not a loss line
                if note or getattr(rec, "val_psnr", None) is not None or "exported" in msg:
                    bar.write(f"[{desc}] step {done}: {msg}")  # kept above the bar
                bar.refresh()
            elif not rank and msg:
                extra = ""
                if getattr(rec, "steps_per_s", 0.0):
                    extra = (f" | lr {rec.lr:.2e} | {rec.steps_per_s:.2f} it/s "
                             f"{rec.samples_per_s:.0f} samples/s | {rec.elapsed_s:.0f} s")
                print(f"[{desc}] step {done}/{getattr(rec, 'total', '?')}: {msg}{extra}",
                      flush=True)
    finally:
        if bar is not None:
            bar.close()


# ------------------------------------------------------------------------------ train
@contextlib.contextmanager
def _stop_on_signals() -> Iterator[Callable[[], bool]]:
    """Ctrl+C or SIGTERM (a scheduler, ``torchrun`` stopping its workers, ``kill``) during
    training: finish the step, write a checkpoint, stop. A second signal stops at once.
    Yields the flag :func:`drcnet.training.train` polls as ``cancel``."""
    asked: list[int] = []
    owner = os.getpid()

    def handler(signum: int, frame: object) -> None:
        if os.getpid() != owner:  # a forked DataLoader worker: the trainer answers
            return
        if asked:
            raise KeyboardInterrupt
        asked.append(signum)
        if int(os.environ.get("RANK", "0")) == 0:
            print(f"drcnet: {signal.Signals(signum).name}: stopping after this step and "
                  f"saving a checkpoint (again to stop at once)", file=sys.stderr, flush=True)

    wanted = [signal.SIGINT, signal.SIGTERM]
    previous = {}
    if threading.current_thread() is threading.main_thread():  # only there can Python catch
        previous = {sig: signal.signal(sig, handler) for sig in wanted}
    try:
        yield lambda: bool(asked)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


_NAMES = {"--out": "the run's folder", "--device": "a device (auto, cpu, cuda, mps)",
          "--export": "a weight file to export to (or leave --export out)"}


def cmd_train(args: argparse.Namespace) -> int:
    from .training import TrainConfig, train

    overrides = list(args.set or [])
    # An empty value (--out "$UNSET") is refused: it had fallen back to the config's
    # runs/<task> in the current folder and resumed whatever run was there.
    for flag, value in (("--out", args.out), ("--device", args.device),
                        ("--export", args.export)):
        if value is not None and not value.strip():
            raise UsageError(f"{flag} is empty: name {_NAMES[flag]}")
    if args.out is not None:
        overrides.append(f"out_dir={args.out}")
    if args.max_minutes is not None:
        overrides.append(f"max_minutes={args.max_minutes}")
    if args.device is not None:
        overrides.append(f"device={args.device}")
    if args.export is not None:
        overrides.append(f"export={args.export}")
    cfg = TrainConfig.from_yaml(args.config, overrides)
    plain = args.plain or not sys.stderr.isatty()
    with _stop_on_signals() as stopping:
        try:
            result = _drive(train(cfg, resume=not args.no_resume, cancel=stopping),
                            cfg.steps, cfg.weight_name, plain, budget_min=cfg.max_minutes)
        except Cancelled as exc:  # checkpointed: the same command resumes
            if int(os.environ.get("RANK", "0")) == 0:
                print(f"drcnet: {exc}", file=sys.stderr)
            return 130
    if result.weights is not None:
        psnr = f", val PSNR {result.val_psnr:.2f} dB" if result.val_psnr is not None else ""
        print(f"{cfg.weight_name}: {result.steps} steps in {result.wall_time_s:.0f} s "
              f"(stopped by {result.stopped}){psnr} -> {result.weights}", flush=True)
        print(f"  compare it in the GUI: drcnet-studio --weights {result.weights}", flush=True)
    return 0


# ------------------------------------------------------------------------------- eval
def _overlap(args: argparse.Namespace) -> int:
    """``--overlap`` as given, else the default (unset, so a lowered default is no news)."""
    return DEFAULT_OVERLAP if args.overlap is None else args.overlap


def _check_out_file(path: str | None, flag: str) -> None:
    """Refuse an output file that cannot be written before the work starts, not after."""
    if path in (None, "-"):
        return
    p = Path(path)
    if p.is_dir():
        raise DRCNetError(f"{flag} {path} is a folder; name the file to write")
    parent = p.parent
    if not parent.is_dir():
        raise DRCNetError(f"{flag} {path}: {parent} "
                          + ("is a file, not a folder" if parent.exists() else "does not exist"))
    existed = p.exists()
    try:  # opened to append, so an existing file is not touched; a new one is removed again
        with open(p, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise DRCNetError(f"cannot write {flag} {path} ({exc.strerror or exc})") from None
    if not existed:
        p.unlink(missing_ok=True)


def _check_out_folder(path: str, flag: str) -> None:
    """Refuse now, not after the work, an output folder that cannot be written: the folder,
    or where it would be made, must be a writable folder. Nothing is made here (a run that
    fails on its data left an empty folder behind); the outputs' writer makes it."""
    p = Path(path)
    taken = next((q for q in (p, *p.parents) if q.exists()), None)
    if taken is not None and not taken.is_dir():
        raise DRCNetError(f"{flag} {path}: {taken} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=taken if taken is not None else Path.cwd()):
            pass
    except OSError as exc:
        raise DRCNetError(f"cannot write into {flag} {path} ({exc.strerror or exc})") from None


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation import (
        EvalConfig,
        csv_text,
        evaluate,
        format_table,
        to_json,
        write_csv,
        write_json,
    )
    from .inference import ensemble_views, overlap_note

    cfg = EvalConfig(task=args.task, data=args.data, weights=args.weights or "",
                     variant=args.variant, degradation=args.degradation or "",
                     seed=args.seed, draws=args.draws, paired=args.paired or "",
                     size=args.size, tile=args.tile, overlap=_overlap(args),
                     baselines=args.baselines,
                     device=args.device or "auto", limit=args.limit, precision=args.precision,
                     ensemble=ensemble_views(args.task) if args.ensemble else 1,
                     t=args.t, delta=args.delta, ea=False if args.no_ea else None,
                     repair=not args.no_repair)
    if args.json not in (None, "-") and args.csv and Path(args.json).resolve() == Path(
            args.csv).resolve():
        raise UsageError("--json and --csv name the same file; give each its own")
    if args.json == "-" and args.csv == "-":
        raise UsageError("--json and --csv both name stdout (-); write one of them to a file")
    _check_out_file(args.json, "--json")
    _check_out_file(args.csv, "--csv")
    piped = "-" in (args.json, args.csv)  # stdout carries the JSON or CSV alone
    if piped:  # so no progress lines
        from .inference import run

        result = run(evaluate(cfg))
    else:
        result = _drive(evaluate(cfg), 0, f"eval {args.task}",
                        args.plain or not sys.stderr.isatty())
    used = result.config.tiles().overlap
    if (note := overlap_note(args.overlap, result.config.tile or 0, used)) is not None:
        print(f"drcnet: note: {note}", file=sys.stderr, flush=True)
    if result.out_of_range:  # before the table, so scripts that read its last row still can
        sys.stdout.flush()
        print(f"drcnet: warning: {result.range_line()}; the model's scores there may come from "
              "blocky, wrongly coloured outputs", file=sys.stderr, flush=True)
    elif result.repaired:
        sys.stdout.flush()
        print(f"drcnet: note: {result.range_line()}", file=sys.stderr, flush=True)
    elif result.limit is None and cfg.repair and args.weights:
        # A trained file against a shipped one: only the shipped one is repaired where a tile
        # goes out of range (on the held-out sweets photo that moved a mean of 24 by 0.76 dB
        # in session 30: docs/training/cpu30/README.txt).
        sys.stdout.flush()
        print(f"drcnet: note: range check off: {args.weights} has no calibrated limit, so no "
              "tile of it is restored again where the shipped files' are; to compare with "
              "them, score both with --no-repair or give it a limit (python "
              "scripts/calibrate_range.py --files FILE --metadata)", file=sys.stderr, flush=True)
    if args.json == "-":
        print(to_json(result))
    elif args.csv == "-":
        sys.stdout.write(csv_text(result))
    else:
        print(format_table(result))
    said = sys.stderr if piped else sys.stdout
    if args.json not in (None, "-"):
        write_json(result, args.json)  # a full disk: one line, as restore's outputs
        print(f"wrote {args.json}", file=said)
    if args.csv not in (None, "-"):
        write_csv(result, args.csv)
        print(f"wrote {args.csv}", file=said)
    return 0


# ------------------------------------------------------------------------------ sweep
def cmd_sweep(args: argparse.Namespace) -> int:
    from .cli import stopped
    from .sweep import SweepConfig, SweepProgress, SweepResult, format_summary, sweep, write_outputs

    cfg = SweepConfig(task=args.task, data=args.data, weights=args.weights or "",
                      variant=args.variant, degradation=args.degradation or "",
                      seed=args.seed, draws=args.draws, paired=args.paired or "",
                      size=args.size, tile=args.tile, overlap=_overlap(args),
                      device=args.device or "auto",
                      limit=args.limit, precision=args.precision)
    if not args.out.strip():  # "" had written into the current folder
        raise UsageError("--out is empty: name a folder for the sweep's CSVs and plot")
    _check_out_folder(args.out, "--out")
    so_far: list[SweepResult] = []  # the settings measured, kept if the sweep is stopped

    def keep(rec: SweepProgress) -> None:
        if rec.result is not None:
            so_far[:] = [rec.result]

    try:
        result = _drive(sweep(cfg), 0, f"sweep {args.task}",
                        args.plain or not sys.stderr.isatty(), on_record=keep)
    except KeyboardInterrupt as exc:  # Ctrl+C, or SIGTERM (drcnet.cli): as restore, one line
        how, code = stopped(exc)
        planned = len(cfg.t_values) + len(cfg.delta_values)
        if not so_far or not so_far[0].settings[0]:  # stopped within the first setting
            print(f"drcnet: error: {how} after 0 of {planned} settings; nothing was written",
                  file=sys.stderr)
            return code
        paths = write_outputs(so_far[0], args.out)  # marked partial, in each file
        done = so_far[0].settings[0]
        print(f"drcnet: error: {how} after {done} of {planned} settings; the {done} measured "
              f"are kept, marked partial, in {', '.join(str(p) for p in paths)}",
              file=sys.stderr)
        return code
    if result.flagged:  # before the summary, as eval warns before its table
        sys.stdout.flush()
        print(f"drcnet: warning: {result.range_line()}; the scores there may come from "
              "blocky, wrongly coloured outputs (a sweep does not repair)", file=sys.stderr,
              flush=True)
    print(format_summary(result))
    paths = write_outputs(result, args.out)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


# --------------------------------------------------------------------------- parsers
def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _common_eval(p: argparse.ArgumentParser) -> None:
    from .cli import add_variant_option

    p.add_argument("--task", required=True, choices=("denoise", "derain", "deblur"))
    p.add_argument("--data", required=True, help="folder of clean images (or a paired set)")
    p.add_argument("--weights", default=None, help="weight file (default: the shipped one)")
    add_variant_option(p)
    p.add_argument("--degradation", default=None,
                   help="degradation recipe (gaussian25, noise, rain, blur, …; "
                        "default: the task's own)")
    p.add_argument("--seed", type=_seed, default=0, help="degradation seed (0)")
    p.add_argument("--draws", type=int, default=1, metavar="N",
                   help="degrade each image N times, with seeds SEED … SEED+N-1, and average "
                        "over all of them (1; a varied recipe such as rain on a few photos "
                        "moves PSNR by dB from seed to seed)")
    p.add_argument("--paired", default=None, metavar="LAYOUT",
                   help="evaluate a paired folder (rain13k, gopro, sidd) instead")
    p.add_argument("--max-size", "--size", dest="size", type=int, default=512, metavar="N",
                   help="centre-crop images to at most N×N (512; 0 = whole images)")
    p.add_argument("--tile", type=int, default=None, metavar="N",
                   help="inference tile size (default: the crop the weights were trained on, "
                        f"else {DEFAULT_TILE}, as drcnet restore; 0 = whole image in one pass, "
                        "refused on a CPU whose free memory it would not fit)")
    p.add_argument("--overlap", type=int, default=None, metavar="N",
                   help=f"tile overlap in pixels (default {DEFAULT_OVERLAP}; at most a quarter "
                        "of the tile)")
    p.add_argument("--limit", type=int, default=0, metavar="N",
                   help="use at most N images (0 = all)")
    p.add_argument("--device", default=None, help="auto|cpu|cuda|cuda:N|mps")
    p.add_argument("--precision", default="fp32", choices=PRECISION_CHOICES,
                   help="fp32 (default, as the model card), bf16/fp16 autocast, or auto")
    p.add_argument("--plain", action="store_true", help="log lines instead of a progress bar")


def cmd_widen(args: argparse.Namespace) -> int:
    import json

    from .registry import weight_spec
    from .weights import build_model, check_weights_output, read_metadata, save_weights, sha256
    from .widen import check_widen_args, widen

    check_widen_args(args.factor, args.noise)  # before anything touches the disk
    src = Path(args.weights) if args.weights else weight_spec(args.task, args.variant).path
    out = Path(args.output)
    if not src.is_file():
        raise DRCNetError(f"no weight file {src}")
    if out.resolve() == src.resolve():
        raise UsageError("the output would replace the weights being widened")
    if out.exists() and not out.is_dir() and not args.force:
        raise DRCNetError(f"{out} exists; pass --force to replace it")
    meta = read_metadata(src)
    if args.weights and meta.get("task") not in (None, args.task):
        raise DRCNetError(f"{src} was trained for {meta.get('task')}, not {args.task}")
    check_weights_output(out)  # last: it makes the output's folder
    narrow = build_model(src)
    wide = widen(narrow, args.factor, noise=args.noise, seed=args.seed)
    # What the narrow file's training was stays as history; its scores and step counts
    # describe the narrow network, so they are not carried over.
    keep = ("task", "variant", "G", "loss", "data", "config_file")
    new_meta: dict[str, Any] = {k: meta[k] for k in keep if k in meta}
    new_meta.setdefault("task", args.task)
    if "train_config" in meta:
        try:
            train_cfg = json.loads(meta["train_config"])
            train_cfg["wf"] = wide.config.wf
        except (ValueError, TypeError):
            raise WeightsError(f"{src.name}'s train_config metadata is not a JSON object; "
                               "the file is damaged") from None
        new_meta["train_config"] = train_cfg
    digest = sha256(src)
    what = (f"widened x{args.factor} to wf={wide.config.wf} from {src.name} "
            f"(sha256 {digest[:16]}) by drcnet widen, noise {args.noise}, seed {args.seed}; "
            "not trained since")
    new_meta["history"] = f"{meta['history']}; then {what}" if meta.get("history") else what
    new_meta["widened_from"] = {"file": src.name, "sha256": digest, "factor": args.factor,
                                "noise": args.noise, "seed": args.seed,
                                "wf": narrow.config.wf}
    if narrow.activation_limit is not None:
        # The range probe reads the channel-wise peak, which replicas leave as it was, so the
        # narrow file's calibrated limit holds until the wide one is trained (and recalibrated).
        new_meta["activation_limit"] = f"{narrow.activation_limit:.1f}"
    try:
        save_weights(out, wide, new_meta, half=args.half)
    except OSError as exc:
        raise DRCNetError(f"cannot write {out}: {exc.strerror or exc}") from None
    n_narrow = sum(p.numel() for p in narrow.parameters())
    n_wide = sum(p.numel() for p in wide.parameters())
    config = meta.get("config_file") or f"configs/{args.task}.yaml"
    same = "about the same outputs (fp16)" if args.half else "the same outputs"
    sets = [f"wf={wide.config.wf}"]
    try:
        from .training import TrainConfig

        config_depth = TrainConfig.from_yaml(config).depth
    except (DRCNetError, OSError):
        config_depth = None
    if config_depth != wide.config.depth:  # the config would build another network
        sets.append(f"depth={wide.config.depth}")
    sets.append(f"init_weights={out}")
    print(f"{out}: wf={narrow.config.wf} -> {wide.config.wf}, {n_narrow / 1e6:.2f} M -> "
          f"{n_wide / 1e6:.2f} M parameters, {same} as {src.name}. Train it with:\n"
          f"  drcnet train --config {_quote(config)} --out "
          f"runs/{_quote(Path(config).stem)}-wf{wide.config.wf} "
          + " ".join(f"--set {_quote(kv)}" for kv in sets))
    return 0


def _quote(arg: str) -> str:
    """``arg`` as this system's shell takes it: POSIX quotes, or cmd.exe's double quotes
    on Windows (which passes single quotes through as part of the argument)."""
    return subprocess.list2cmdline([arg]) if sys.platform == "win32" else shlex.quote(arg)


def register(subparsers: Any) -> None:
    """Add ``train``, ``eval``, ``sweep`` and ``widen`` to a ``drcnet`` subparsers object."""
    p = subparsers.add_parser("train", help="train a model from a YAML config")
    p.add_argument("--config", required=True, help="configs/denoise.yaml, …")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config setting (repeatable)")
    p.add_argument("--out", default=None,
                   help="run folder (checkpoints, log.csv); a run already there is resumed")
    p.add_argument("--export", default=None, help="final fp16 weight file")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="wall-time budget of the whole run, counted across resumes; the "
                        "cosine schedule follows it")
    p.add_argument("--device", default=None, help="auto|cpu|cuda|cuda:N|mps")
    p.add_argument("--no-resume", action="store_true",
                   help="never continue a run: stop with an error if --out already holds one "
                        "(a fresh run there would mix into its log and best weights)")
    p.add_argument("--plain", action="store_true", help="log lines instead of a progress bar")
    p.set_defaults(func=cmd_train)

    from .cli import add_repair_option

    p = subparsers.add_parser("eval", help="PSNR/SSIM of a model beside classical baselines")
    _common_eval(p)
    p.add_argument("--baselines", action="store_true", help="also run classical baselines")
    add_repair_option(p)
    p.add_argument("--ensemble", action="store_true",
                   help="average each tile's rotated/mirrored views (8, or the 4 upright ones "
                        "for derain; that many times slower)")
    p.add_argument("--t", type=float, default=None,
                   help="spatial-filter threshold (default: the weight file's)")
    p.add_argument("--delta", type=float, default=None,
                   help="energy-attention coefficient (default: the weight file's)")
    p.add_argument("--no-ea", action="store_true", help=NO_EA_HELP)
    p.add_argument("--csv", default=None, metavar="PATH",
                   help="also write the table as CSV (-: print it instead of the table)")
    p.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                   help="print JSON instead of the table; with PATH, write it there and "
                        "print the table")
    p.set_defaults(func=cmd_eval)

    p = subparsers.add_parser(
        "sweep", help="inference-time sensitivity to t and delta (CSVs + PNG plot)")
    _common_eval(p)
    p.add_argument("--out", default="sweep", metavar="DIR",
                   help="output folder for sweep_t.csv, sweep_delta.csv, sweep.png (./sweep)")
    p.set_defaults(func=cmd_sweep)

    from .cli import add_variant_option

    p = subparsers.add_parser(
        "widen", help="a wider network computing the same function, to start a larger model")
    p.add_argument("--task", required=True, choices=("denoise", "derain", "deblur"))
    p.add_argument("--weights", default=None, help="weight file (default: the shipped one)")
    add_variant_option(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="the wide weight file (.safetensors)")
    p.add_argument("--factor", type=int, default=2,
                   help="channel multiplier, 2 to 8 (default 2)")
    p.add_argument("--noise", type=float, default=0.05,
                   help="zero-sum noise on the replicas' weights, relative to the narrow "
                        "layer's spread, so training can tell them apart (default 0.05; 0 = "
                        "exact copies)")
    p.add_argument("--seed", type=_seed, default=0, help="seeds the noise")
    p.add_argument("--half", action="store_true", help="store fp16 (default fp32)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.set_defaults(func=cmd_widen)


def main(argv: Sequence[str] | None = None) -> int:
    from .cli import Parser  # a help text stdout cannot take is said (drcnet.cli.Parser)

    parser = Parser(prog="drcnet")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:  # a plain ValueError is a bug: its traceback goes through
        print(f"drcnet: error: {exc}", file=sys.stderr)
        return 2
    except DRCNetError as exc:
        print(f"drcnet: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("drcnet: error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

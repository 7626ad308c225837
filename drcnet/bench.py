"""``drcnet bench``: how fast the interactive and full-resolution paths are.

Figures (all measured in this process, on the chosen device):

- ``preview_ms``: median and p90 time from a changed t or δ to a finished preview of a
  512×512 view while a slider is dragged: the GUI then runs :func:`drcnet.compare.analyse`
  (its preview worker's call) on a half-size draft (:func:`drcnet.compare.draft_of`) and
  stretches it over the view.
- ``preview_sharp_ms``: the same for the full-size 512×512 preview that follows when the
  slider rests (the forward rate below comes from it).
- ``forward_ms``, ``forward_gmacs_per_s`` beside ``gemm_gflops``: the median time of a plain
  forward pass on a 512×512 input, the multiply-accumulate rate it achieves, and the same
  process's fp32 matrix-multiply rate (with ``--precision bf16``/``fp16`` also that
  precision's rate). With ``--compile`` the forward and the 12 MP restore run compiled.
- ``full_12mp_s``, ``full_12mp_peak_mb``, ``tiling_overhead``: a 4000×3000 restore through
  the tiled engine, its peak memory, and its time over the raw forward time on as many pixels
  (at the 512×512 forward's per-pixel rate); ``tiled_pixel_ratio`` is how many pixels the
  overlapping tiles compute per image pixel.
- ``seam_psnr_db``: tiled against whole-image output on a 1024×1024 photo (NaN, with
  ``seam_note`` saying why, when the whole-image pass would not fit in free memory).

Images are the bundled clean samples, mirror-tiled to size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .compare import Knobs, analyse, draft_of, resize_to
from .complexity import count_macs
from .errors import DRCNetError, UsageError
from .inference import (
    DEFAULT_TILE,
    TileConfig,
    auto_tile_batch,
    check_one_pass_memory,
    compile_model,
    restore_tiled,
    run,
    tile_starts,
    to_tensor,
)
from .metrics import psnr
from .network import PRECISIONS, DRCNet
from .registry import RESOURCES


def _sync(device: torch.device) -> None:
    """Wait for the device's queued work (GPUs run asynchronously; timing without this
    measures the queueing)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


SAMPLES = RESOURCES / "samples"


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """An ``h×w`` photo: the bundled clean samples, mirror-tiled to size and lightly noised
    (natural statistics matter: DRCNet normalises over space). Falls back to a synthetic
    texture when the samples are not installed."""
    rng = np.random.default_rng(seed)
    files = sorted(SAMPLES.glob("*-clean.png"))
    if files:
        from .imageio import read_image

        src = read_image(files[seed % len(files)]).rgb
        reps = (-(-h // src.shape[0]) + 1, -(-w // src.shape[1]) + 1)
        rows = [np.concatenate([src if (i + j) % 2 == 0 else src[:, ::-1]
                                for j in range(reps[1])], axis=1) for i in range(reps[0])]
        img = np.concatenate(rows, axis=0)[:h, :w]
    else:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        img = np.stack([0.5 + 0.4 * np.sin(xx / (30 + 20 * c) + yy / (45 + 10 * c) + c)
                        for c in range(3)], axis=-1)
    img = img + rng.normal(0, 0.03, img.shape).astype(np.float32)
    return np.ascontiguousarray(np.clip(img, 0, 1), dtype=np.float32)


def gemm_gflops(device: torch.device, n: int = 2048, repeats: int = 5,
                dtype: torch.dtype = torch.float32) -> float:
    """Matrix-multiply rate in GFLOP/s (2·n³ per product), best of ``repeats``."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        torch.mm(a, b)
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def _peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        import resource  # Unix only: without it (Windows) there is no figure, not no bench
    except ImportError:
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes there, kB here


def bench_model(
    model: DRCNet, device: torch.device, previews: int = 12, full: bool = True,
    compile: bool = False, tile_batch: int = 0, say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure one model; see the module docstring for the figures. ``say`` is told each
    phase as it starts (the whole takes minutes on a CPU)."""
    say = say or (lambda _: None)
    model = model.to(device).eval()
    res: dict[str, Any] = {"device": str(device), "wf": model.config.wf,
                           "depth": model.config.depth, "threads": torch.get_num_threads(),
                           "precision": model.precision, "channels_last": model.channels_last}
    view = _photo(512, 512)
    draft = draft_of(view)
    say(f"previews: {previews} dragging, {previews} at rest")
    analyse(model, view, Knobs())  # warm-up
    analyse(model, draft, Knobs())

    def drag(i: int) -> None:  # what the GUI does for one slider step while dragging
        knobs = Knobs(t=0.6 + 0.02 * (i % 10), delta=10.0 ** -(1 + i % 7))
        out = analyse(model, draft, knobs).restored
        resize_to(out, 512, 512)  # the viewer stretches the draft over the view

    def rest(i: int) -> None:  # the full-size preview once the slider rests
        analyse(model, view, Knobs(t=0.6 + 0.02 * (i % 10), delta=10.0 ** -(1 + i % 7)))

    for key, step in (("preview_ms", drag), ("preview_sharp_ms", rest)):
        samples = []
        for i in range(previews):
            _sync(device)
            t0 = time.perf_counter()
            step(i)
            _sync(device)
            samples.append((time.perf_counter() - t0) * 1000)
        samples.sort()
        res[key] = {"median": statistics.median(samples),
                    "p90": samples[min(len(samples) - 1, int(0.9 * len(samples)))]}
    res["preview_draft_px"] = list(draft.shape[:2])
    model.configure(t=0.75, delta=1e-6)
    macs = count_macs(model, 512)
    # The raw forward and the 12 MP restore run compiled with --compile; previews stay eager
    # (a compiled model recompiles for every new knob value).
    net = model
    res["compiled"] = compile
    if compile:
        say("compiling")
        t0 = time.perf_counter()
        net = compile_model(model, DEFAULT_TILE, tile_batch)
        with torch.inference_mode():  # as the engine calls it (guards see inference tensors)
            net(to_tensor(view, device))  # the 512×512 shape compiles too
        res["compile_s"] = time.perf_counter() - t0
    say("forward pass at 512x512 and the GEMM rate")
    samples = []
    with torch.inference_mode():
        x = to_tensor(view, device)
        net(x)
        for _ in range(max(3, previews // 2)):
            _sync(device)
            t0 = time.perf_counter()
            net(x)
            _sync(device)
            samples.append(time.perf_counter() - t0)
    fwd_s = statistics.median(samples)
    res["forward_ms"] = fwd_s * 1000
    res["forward_gmacs"] = macs / 1e9
    res["forward_gmacs_per_s"] = macs / fwd_s / 1e9
    res["gemm_gflops"] = gemm_gflops(device)
    res["forward_vs_gemm_macs"] = res["forward_gmacs_per_s"] / (res["gemm_gflops"] / 2)
    low = PRECISIONS[model.precision]
    if low is not None:  # autocast: also against the GEMM rate of the precision it runs in
        res[f"gemm_gflops_{model.precision}"] = gemm_gflops(device, dtype=low)
        res[f"forward_vs_gemm_{model.precision}_macs"] = (
            res["forward_gmacs_per_s"] / (res[f"gemm_gflops_{model.precision}"] / 2))

    say("seams: 1024x1024 whole and tiled")
    photo = _photo(1024, 1024, seed=1)
    try:
        check_one_pass_memory(model, *photo.shape[:2])
    except DRCNetError as exc:  # the whole-image pass would not fit: no figure, the rest runs
        res["seam_psnr_db"], res["seam_note"] = float("nan"), str(exc)
    else:
        whole = run(restore_tiled(model, photo, TileConfig(tile=0)))
        tiled = run(restore_tiled(model, photo, TileConfig()))
        res["seam_psnr_db"] = psnr(whole, tiled)

    if full:
        say("12 MP restore, 3000x4000 in tiles (the longest phase)")
        big = _photo(3000, 4000, seed=2)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        _sync(device)
        t0 = time.perf_counter()
        run(restore_tiled(net, big, TileConfig(batch=tile_batch)))
        _sync(device)
        res["full_12mp_s"] = time.perf_counter() - t0
        res["full_12mp_peak_mb"] = _peak_mb(device)
        raw_s = fwd_s * big.shape[0] * big.shape[1] / (512 * 512)
        res["tiling_overhead"] = res["full_12mp_s"] / raw_s
        tiles = TileConfig()
        ys = tile_starts(big.shape[0], tiles.tile, tiles.overlap)
        xs = tile_starts(big.shape[1], tiles.tile, tiles.overlap)
        res["tile"], res["overlap"] = tiles.tile, tiles.overlap
        res["tile_batch"] = tile_batch or auto_tile_batch(device)
        res["tiled_pixel_ratio"] = (len(ys) * len(xs) * tiles.tile**2
                                    / (big.shape[0] * big.shape[1]))
    return res


def _print(task: str, r: dict[str, Any]) -> None:
    layout = ", channels_last" if r["channels_last"] else ""
    print(f"{task}: DRCNet wf={r['wf']} depth={r['depth']} on {r['device']} "
          f"({r['threads']} threads, {r['precision']}{layout})")
    dh, dw = r["preview_draft_px"]
    print(f"  preview 512x512 drag   median {r['preview_ms']['median']:.0f} ms, "
          f"p90 {r['preview_ms']['p90']:.0f} ms (draft {dw}x{dh}, stretched)")
    print(f"  preview 512x512 rest   median {r['preview_sharp_ms']['median']:.0f} ms, "
          f"p90 {r['preview_sharp_ms']['p90']:.0f} ms (full size)")
    if r["compiled"]:
        print(f"  torch.compile          {r['compile_s']:.0f} s (256 and 512 px shapes); the "
              f"previews above ran eager")
    print(f"  forward 512x512        {r['forward_ms']:.0f} ms, {r['forward_gmacs']:.1f} GMACs, "
          f"{r['forward_gmacs_per_s']:.1f} GMAC/s "
          f"= {100 * r['forward_vs_gemm_macs']:.0f}% of fp32 gemm "
          f"{r['gemm_gflops']:.0f} GFLOP/s / 2")
    if r["precision"] != "fp32":
        p = r["precision"]
        print(f"  {'':22} = {100 * r[f'forward_vs_gemm_{p}_macs']:.0f}% of {p} gemm "
              f"{r[f'gemm_gflops_{p}']:.0f} GFLOP/s / 2")
    if "seam_note" in r:
        print(f"  seams (1024²)          left out: {r['seam_note']}")
    else:
        print(f"  seams (1024², {DEFAULT_TILE}-px tiles) {r['seam_psnr_db']:.1f} dB tiled vs "
              "whole")
    if "full_12mp_s" in r:
        print(f"  12 MP restore          {r['full_12mp_s']:.1f} s, peak "
              f"{r['full_12mp_peak_mb']:.0f} MB, tiling overhead {r['tiling_overhead']:.2f} "
              f"({r['tile']}-px tiles {r['tile_batch']} a pass, {r['overlap']}-px overlap: "
              f"{r['tiled_pixel_ratio']:.2f}x the pixels computed)")


def cmd_bench(args: argparse.Namespace) -> int:
    from .devices import resolve_device, resolve_precision
    from .registry import load_model

    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be >= 1, got {args.threads}")
    if args.tile_batch < 0:
        raise UsageError(f"--tile-batch must be >= 0, got {args.tile_batch}")
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    results: dict[str, Any] = {}
    for task in args.task or ["denoise"]:
        precision = resolve_precision(args.precision, device)
        if args.random_wf is not None:  # 0 too: DRCNet refuses it, as any width under 8
            torch.manual_seed(0)
            model = DRCNet(wf=args.random_wf, depth=4).set_runtime(precision=precision)
            label = f"{task} (untrained wf={args.random_wf}, speed only)"
        else:
            model = load_model(task, device=device, weights=args.weights, precision=precision)
            label = task
        model.set_runtime(channels_last=args.channels_last)
        if args.compile:
            label += " (compiled)"
        def say(phase: str, label: str = label) -> None:  # stderr: stdout has the figures
            print(f"drcnet bench: {label}: {phase}…", file=sys.stderr, flush=True)

        results[label] = bench_model(model, device, full=not args.no_full,
                                     compile=args.compile, tile_batch=args.tile_batch, say=say)
        if not args.json:
            _print(label, results[label])
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from .cli import add_runtime_options
    from .devices import DEVICE_CHOICES

    p = sub.add_parser("bench", help="measure preview latency, throughput and 12 MP restores")
    p.add_argument("--task", action="append", choices=("derain", "denoise", "deblur"),
                   help="task(s) to measure (default denoise; repeatable)")
    p.add_argument("--device", default="auto",
                   help=f"compute device: {'|'.join(DEVICE_CHOICES)} or cuda:N (default auto)")
    p.add_argument("--weights", default=None, help="weight file instead of the shipped one")
    p.add_argument("--random-wf", type=int, default=None,
                   help="time an untrained network of this width instead (speed only)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    add_runtime_options(p)
    p.add_argument("--no-full", action="store_true", help="skip the 12-megapixel restore")
    p.add_argument("--tile-batch", type=int, default=0, metavar="N",
                   help="tiles per pass in the 12 MP restore (default 0 = auto)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=cmd_bench)

"""Pick the best of several weight files on held-out degradation draws, and ship it.

The shipped file of the task is always a candidate, so nothing is replaced unless a candidate
beats it. Candidates are scored by ``drcnet eval`` (``--seed S --draws N`` on the validation
photos, each on tiles of its training crop, fp32): pick on draws that no reported figure uses
(this project picks on seeds 10-15 and reports seeds 0-5).

    python scripts/pick_weights.py --task derain --seed 10 --draws 6 \\
        [--ship --history "then burst 5: …"] CANDIDATE...

With ``--ship`` the winner is written, fp16, to ``resources/weights/<task>[-variant].safetensors``
with its training metadata, a ``history`` (the shipped file's, then ``--history``) and a
``selection`` (what it was picked on, against what).

On a lent GPU machine, ``--device cuda --keep-top K --keep-dir DIR`` ranks many snapshots there
and copies the K best candidates to DIR, so only those travel back (scripts/gpu_session.sh,
PICK_TOP=K). Scores on CUDA can differ from the CPU's in the last digits: confirm here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from drcnet.degradations import TASK_DEFAULT
from drcnet.errors import DRCNetError
from drcnet.evaluation import MODEL, EvalConfig, evaluate
from drcnet.inference import run
from drcnet.registry import weight_spec
from drcnet.weights import build_model, read_metadata, save_weights


def score(task: str, weights: Path, data: str, degradation: str, seed: int,
          draws: int, device: str = "cpu", repair: bool = True,
          repaired: list[str] | None = None) -> tuple[float, float]:
    """Mean PSNR and SSIM; ``repaired`` gets the images whose tiles the range check's repair
    restored again (only a file with a calibrated limit has any)."""
    cfg = EvalConfig(task=task, data=data, weights=str(weights), degradation=degradation,
                     seed=seed, draws=draws, device=device, repair=repair)
    result = run(evaluate(cfg))
    if repaired is not None:
        repaired.extend(result.repaired)
    row = result.row(MODEL)
    return row.psnr, row.ssim


def recipe(task: str, variant: str, degradation: str) -> str:
    """The recipe to score on: the given one, else the model's own (the Gaussian denoiser's
    is blind Gaussian noise, not the task's camera noise)."""
    if degradation:
        return degradation
    return "gaussian" if variant in ("gaussian", "gaussian-noea") else TASK_DEFAULT[task]


def keep(scores: dict[Path, tuple[float, float]], shipped: Path, k: int, folder: Path,
         what: str, skipped: list[str]) -> None:
    """Copy the ``k`` best candidates to ``folder`` with ``scores.json`` (every score)."""
    ranked = sorted((w for w in scores if w != shipped), key=lambda w: -scores[w][0])
    folder.mkdir(parents=True, exist_ok=True)
    for w in ranked[:k]:
        shutil.copy2(w, folder / w.name)
    table = {("shipped" if w == shipped else str(w)): {"psnr": round(p, 3), "ssim": round(q, 4)}
             for w, (p, q) in scores.items()}
    (folder / "scores.json").write_text(json.dumps(
        {"on": what, "scores": table, "kept": [str(w) for w in ranked[:k]],
         "skipped": skipped}, indent=1))
    print(f"kept the {min(k, len(ranked))} best of {len(ranked)} in {folder}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("candidates", nargs="+", type=Path, help="weight files")
    ap.add_argument("--task", required=True, choices=("derain", "denoise", "deblur"))
    ap.add_argument("--variant", default="default")
    ap.add_argument("--data", default="data/corpus/val")
    ap.add_argument("--degradation", default="", help="recipe (default: the task's own)")
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--draws", type=int, default=6)
    ap.add_argument("--history", default="",
                    help="how the winner was trained after the shipped file (with --ship)")
    ap.add_argument("--ship", action="store_true", help="write the winner into resources/")
    ap.add_argument("--device", default="cpu", help="cpu (default), cuda, …")
    ap.add_argument("--no-repair", action="store_true",
                    help="score every file without the range check's repair (a file without "
                         "a calibrated limit, such as a training snapshot, never has it)")
    ap.add_argument("--keep-top", type=int, default=0, metavar="K",
                    help="copy the K best candidates (the shipped file never) to --keep-dir")
    ap.add_argument("--keep-dir", type=Path, help="where --keep-top copies them")
    args = ap.parse_args(argv)
    if args.ship and not args.history:
        ap.error("--ship needs --history: how the candidates were trained")
    if args.keep_top < 0:
        ap.error("--keep-top must be >= 0")
    if args.keep_top and args.keep_dir is None:
        ap.error("--keep-top needs --keep-dir")

    target = weight_spec(args.task, args.variant).path
    if not target.is_file():
        ap.error(f"{target} is not there: nothing to compare against")
    name = recipe(args.task, args.variant, args.degradation)
    seeds = f"seeds {args.seed}-{args.seed + args.draws - 1}"
    candidates = [c for c in args.candidates if c.resolve() != target.resolve()]
    with tempfile.TemporaryDirectory() as tmp:
        shipped = Path(tmp) / target.name  # a copy: shipping overwrites the original
        shutil.copy2(target, shipped)
        print(f"# drcnet eval --task {args.task} --weights W --data {args.data} "
              f"--degradation {name} --seed {args.seed} --draws {args.draws}"
              + (" --no-repair" if args.no_repair else ""))
        scores = {}
        skipped: list[str] = []
        repaired: list[str] = []
        for w in (shipped, *candidates):
            label = f"shipped {target.name}" if w == shipped else str(w)
            try:
                scores[w] = score(args.task, w, args.data, name, args.seed, args.draws,
                                  args.device, not args.no_repair,
                                  repaired if w == shipped else None)
            except (DRCNetError, RuntimeError) as exc:  # RuntimeError: CUDA out of memory, …
                if w == shipped:
                    raise
                print(f"{label}: skipped ({exc})", flush=True)
                skipped.append(str(w))
                continue
            print(f"{label}: {scores[w][0]:.3f} dB / {scores[w][1]:.4f}", flush=True)
        if repaired:
            n = len(repaired)
            print(f"note: the repair restored tiles of the shipped file again on "
                  f"{n} image{'s' if n != 1 else ''} ({', '.join(repaired[:3])}"
                  f"{' …' if len(repaired) > 3 else ''}); a candidate without a calibrated "
                  f"limit is never repaired, so to compare the networks alone run again with "
                  f"--no-repair", flush=True)
        if args.keep_top:
            keep(scores, shipped, args.keep_top, args.keep_dir, f"{name} {seeds}", skipped)
        best = max(scores, key=lambda w: scores[w][0])  # ties go to the shipped file
        if best == shipped:
            print(f"picked: the shipped file ({scores[best][0]:.3f} dB); nothing to ship")
            return 0
        margin = scores[best][0] - scores[shipped][0]
        print(f"picked: {best} ({scores[best][0]:.3f} dB, +{margin:.3f} over the shipped file)")
        if not args.ship:
            return 0
        before = read_metadata(shipped).get("history", "")
        # Not its activation_limit either: it would outrank the calibration table's entry.
        meta = {k: v for k, v in read_metadata(best).items()
                if k not in ("config", "format", "activation_limit")}
        meta["history"] = f"{before}; then {args.history}" if before else args.history
        meta["selection"] = (f"best of {len(scores)} files (the shipped one included) by mean "
                             f"PSNR on {name} {seeds} of {args.data}: "
                             f"{scores[best][0]:.3f} dB against {scores[shipped][0]:.3f}")
        save_weights(target, build_model(best), meta, half=True)
        print(f"wrote {target}")
        print(f"now calibrate its range check (tests fail until then): python "
              f"scripts/calibrate_range.py --files {target.name} --write")
    return 0


if __name__ == "__main__":
    sys.exit(main())

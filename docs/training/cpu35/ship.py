"""Ship the pair chosen by this session's rule (README.txt here): the EA snapshot as
denoise-gaussian.safetensors, its w/o-EA partner as denoise-gaussian-noea.safetensors.

    python docs/training/cpu35/ship.py --step N --selection "…"

Each is written fp16 with its training metadata (not its config blob or any
activation_limit), ``variant`` set to the registry's name (the w/o-EA run trained as
``noea``, the only w/o-EA variant name ``drcnet train`` had), the shipped Gaussian file's
``history`` followed by this session's, and ``--selection``. Then calibrate both files'
range-check limits (finish.sh does).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from drcnet.registry import weight_spec
from drcnet.weights import build_model, read_metadata, save_weights

RUNS = {"gaussian": "runs/denoise-gaussian-ea-cpu35",
        "gaussian-noea": "runs/denoise-gaussian-noea-cpu35"}
HISTORY = ("session 35, CPU: {what}, trained beside its {other} partner from session 9's file, "
           "the same 500 steps x 4 x 256^2 at lr 3e-5 cosine to 1e-5, sat_aug=3, one thread "
           "each (docs/training/cpu35/pair.sh), step {step}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--step", type=int, required=True)
    ap.add_argument("--selection", required=True)
    args = ap.parse_args()
    before = read_metadata(weight_spec("denoise", "gaussian").path).get("history", "")
    for variant, run in RUNS.items():
        snapshot = Path(run) / f"step{args.step:06d}.safetensors"
        noea = variant.endswith("noea")
        what = "energy attention bypassed" if noea else "energy attention on"
        history = HISTORY.format(what=what, other="EA" if noea else "w/o-EA", step=args.step)
        meta = {k: v for k, v in read_metadata(snapshot).items()
                if k not in ("config", "format", "activation_limit")}
        meta["variant"] = variant
        meta["history"] = f"{before}; then {history}" if before else history
        meta["selection"] = args.selection
        target = weight_spec("denoise", variant).path
        save_weights(target, build_model(snapshot), meta, half=True)
        print(f"wrote {target} from {snapshot}")


if __name__ == "__main__":
    main()

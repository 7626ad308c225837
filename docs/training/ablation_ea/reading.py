"""The w/ vs w/o EA ablation read by its rule (README.txt beside this file): per seed, the
step-2400 weights' PSNR with EA minus without, and the verdict; then what run.sh's exports
(the best-validated snapshots, steps differing) gave, and the readings beside the rule.

    python docs/training/ablation_ea/reading.py [runs/ablation_ea]
    python docs/training/ablation_ea/reading.py docs/training/ablation_ea/runs   # the copies

The copies committed beside this file (runs/: NAME.eval_last.json and the like) are read
the same way; they lack the weight files, so the exports' steps show as "?".
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from drcnet.weights import read_metadata


def score(path: Path) -> tuple[float, float] | None:
    if not path.is_file():
        return None
    rows = {r["method"]: r for r in json.loads(path.read_text())["rows"]}
    return rows["DRCNet"]["psnr_db"], rows["DRCNet"]["ssim"]


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/ablation_ea")
    runs = {}
    for seed in range(3):
        for ea in (True, False):
            name = "none" + ("" if ea else "-noea") + (f"-s{seed}" if seed else "")
            d = out / name
            meta = read_metadata(d / "final.safetensors") if (d / "final.safetensors").is_file() \
                else {}

            def found(kind: str, d: Path = d, name: str = name) -> tuple[float, float] | None:
                return score(d / f"{kind}.json") or score(out / f"{name}.{kind}.json")

            runs[(seed, ea)] = {
                "name": name,
                "last": found("eval_last"), "d3": found("eval_last_d3"),
                "off": found("eval_last_off"), "export": found("eval"),
                "export_step": meta.get("exported_step") or meta.get("step", "?"),
                "exported": meta.get("exported", "?"),
            }
    print("step 2400 (last.safetensors), drcnet eval gaussian25, validation split, noise seed 0:")
    print(f"{'seed':>4}  {'with EA':>15}  {'without EA':>15}  {'d (dB)':>7}  "
          f"{'draws 0-2: with / without':>26}  {'EA switched off':>15}")
    ds = []
    for seed in range(3):
        a, b = runs[(seed, True)], runs[(seed, False)]
        if not (a["last"] and b["last"]):
            print(f"{seed:>4}  (not scored yet)")
            continue
        d = a["last"][0] - b["last"][0]
        ds.append(d)
        d3 = (f"{a['d3'][0]:.3f} / {b['d3'][0]:.3f}" if a["d3"] and b["d3"] else "-")
        off = f"{a['off'][0]:.3f} / {a['off'][1]:.4f}" if a["off"] else "-"
        print(f"{seed:>4}  {a['last'][0]:.3f} / {a['last'][1]:.4f}  "
              f"{b['last'][0]:.3f} / {b['last'][1]:.4f}  {d:+7.3f}  {d3:>26}  {off:>15}")
    if len(ds) == 3:
        mean = statistics.mean(ds)
        if all(d > 0 for d in ds) and mean >= 0.10:
            verdict = "EA helps at this scale"
        elif all(d < 0 for d in ds) and mean <= -0.10:
            verdict = "EA hurts at this scale"
        else:
            verdict = "no effect measurable at this scale"
        print(f"mean d {mean:+.3f} dB; by the rule: {verdict}")
    else:
        print(f"{len(ds)} of 3 seeds paired: no verdict yet")
    print("\nrun.sh's exports (final.safetensors: the best-validated snapshot, steps differ), "
          "noise seed 0:")
    for seed in range(3):
        for ea in (True, False):
            r = runs[(seed, ea)]
            if r["export"]:
                print(f"  {r['name']:14} {r['exported']} step {r['export_step']}: "
                      f"{r['export'][0]:.3f} / {r['export'][1]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

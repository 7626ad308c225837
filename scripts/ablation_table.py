"""Markdown table of scripts/ablation.sh's summary CSV: per run and seed, ``drcnet eval``'s
PSNR/SSIM (512-px crops, 256-px tiles) and the training-time validation PSNR of the exported
weights (256-px crops, whole; from ``<run>.log``), then the mean eval PSNR over seeds. Runs
trained with energy attention bypassed (``EA=0``, named ``…-noea``) get rows of their own.

    python scripts/ablation_table.py [runs/ablation/summary.csv]
"""

from __future__ import annotations

import csv
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "runs/ablation/summary.csv"
    rows = list(csv.DictReader(open(path, newline="")))
    for r in rows:
        log = Path(path).parent / f"{r['run']}.log"
        found = re.findall(r"exported .* val PSNR ([0-9.]+) dB", log.read_text()) \
            if log.exists() else []
        r["train_val"] = found[-1] if found else ""
    runs: dict[tuple[str, str, bool], dict[int, dict[str, str]]] = defaultdict(dict)
    for r in rows:
        m = re.search(r"-s(\d+)$", r["run"])
        seed = int(m.group(1)) if m else 0
        runs[(r["cr"], r["alpha"], "-noea" in r["run"])][seed] = r
    seeds = sorted({s for by_seed in runs.values() for s in by_seed})
    head = " | ".join(f"seed {s}: eval PSNR / SSIM (train val)" for s in seeds)
    print(f"| loss | α | {head} | mean PSNR |")
    print("| --- | --- | " + " | ".join("---" for _ in seeds) + " | --- |")
    order = {"none": 0, "intra": 1, "extra": 2}
    for (cr, alpha, noea), by_seed in sorted(
            runs.items(), key=lambda kv: (order[kv[0][0]], float(kv[0][1]), kv[0][2])):
        cells = [f"{float(by_seed[s]['psnr']):.2f} / {float(by_seed[s]['ssim']):.3f} "
                 f"({by_seed[s]['train_val'] or '?'})" if s in by_seed else "" for s in seeds]
        mean = statistics.mean(float(r["psnr"]) for r in by_seed.values())
        label = {"none": "L1 only", "intra": "L1 + Intra-CR", "extra": "L1 + Extra-CR"}[cr]
        label += ", w/o EA" if noea else ""
        print(f"| {label} | {alpha if cr != 'none' else '–'} | {' | '.join(cells)} | "
              f"{mean:.2f} ({len(by_seed)} seed{'s' if len(by_seed) > 1 else ''}) |")
    for (cr, alpha, noea), without in sorted(runs.items()):
        with_ea = runs.get((cr, alpha, False))
        if not noea or not with_ea:
            continue
        paired = sorted(set(with_ea) & set(without))
        if paired:  # the w/ vs w/o EA reading: same seed, same initial weights and data order
            d = [float(with_ea[s]["psnr"]) - float(without[s]["psnr"]) for s in paired]
            each = ", ".join(f"seed {s} {v:+.3f}" for s, v in zip(paired, d, strict=True))
            print(f"\n{cr} {alpha}: PSNR with EA − without, per seed: {each}; "
                  f"mean {statistics.mean(d):+.3f} dB ({len(paired)} seed"
                  f"{'s' if len(paired) > 1 else ''} paired)")
    inp = {r["input_psnr"] for r in rows}
    print(f"\nInput (degraded) PSNR: {', '.join(sorted(inp))} dB.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Tiles per forward pass on the CPU: eight 256² tiles one, two, four or eight at a time.

Interleaved, median of three, in bf16 autocast and fp32, with the shipped derain model.

    python scripts/tile_batch_cpu.py
"""

from __future__ import annotations

import statistics
import time

import torch

from drcnet.registry import load_model


def main() -> None:
    x = torch.rand(8, 3, 256, 256, generator=torch.Generator().manual_seed(0))
    for prec in ("bf16", "fp32"):
        model = load_model("derain", device="cpu", precision=prec)
        times: dict[int, list[float]] = {b: [] for b in (1, 2, 4, 8)}
        with torch.inference_mode():
            for b in times:
                model(x[:b])  # warm-up
            for _ in range(3):
                for b in times:
                    t0 = time.perf_counter()
                    for i in range(0, 8, b):
                        model(x[i : i + b])
                    times[b].append(time.perf_counter() - t0)
        print(prec, ", ".join(f"{b} a pass: {1000 * statistics.median(v):.0f} ms"
                              for b, v in times.items()), "(8 tiles of 256²)")


if __name__ == "__main__":
    main()

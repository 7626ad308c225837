"""Compare the CPU and the on-device rain synthesis on the training photos: input PSNR and the
mean brightness shift (degraded - clean) of 384 random 256-px crops from each (seed 5).

    OMP_NUM_THREADS=1 python docs/training/burst5/compare_synthesis.py

Session 8 asked whether GPU bursts lose PSNR on eval because their pairs (GpuSynthesizer)
differ from the CPU recipe that validation and eval use. Output: compare_synthesis.txt here.
"""

import numpy as np
import torch

from drcnet.datasets import SyntheticPairs
from drcnet.gpu_synthesis import GpuSynthesizer
from drcnet.metrics import psnr

N = 384


def stats(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    d = x - y
    return psnr(x.transpose(1, 2, 0), y.transpose(1, 2, 0)), float(d.mean()), float(
        np.abs(d).mean())


def main() -> None:
    torch.set_num_threads(1)
    rows: dict[str, list[tuple[float, float, float]]] = {"cpu": [], "dev": []}
    cpu = SyntheticPairs("data/corpus/train", "rain", 256, seed=5, length=N)
    for i in range(N):
        x, y = cpu[i]
        rows["cpu"].append(stats(x.numpy(), y.numpy()))
    batches = iter(GpuSynthesizer("data/corpus/train", "rain", 256, 32, "cpu", seed=5))
    while len(rows["dev"]) < N:
        x, y = next(batches)
        rows["dev"] += [stats(a, b) for a, b in zip(x.numpy(), y.numpy())]
    for k, r in rows.items():
        a = np.array(r[:N])
        q = np.percentile(a[:, 0], [10, 50, 90])
        print(f"{k}: input PSNR mean {a[:, 0].mean():.2f} (p10/50/90 {q[0]:.1f}/{q[1]:.1f}/"
              f"{q[2]:.1f}); mean shift {a[:, 1].mean() * 255:+.2f}/255 (p90 "
              f"{np.percentile(a[:, 1], 90) * 255:.1f}); "
              f"mean |diff| {a[:, 2].mean() * 255:.2f}/255")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Private memory of DataLoader worker processes over SyntheticPairs, started by spawn (the
default on macOS and Windows) and by fork (Linux's), after each worker has made one batch.

Each process's Private_Clean + Private_Dirty from /proc/PID/smaps_rollup (Linux only), in
MB; the decoded corpus's size for comparison.

    python scripts/spawn_memory.py [--data data/corpus/train] [--workers 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from drcnet.datasets import SyntheticPairs


def private_mb(pid: int) -> float:
    total = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            total += int(line.split()[1])
    return total / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="data/corpus/train")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    ds = SyntheticPairs(args.data, "denoise", crop=64, length=64)
    corpus = ds.store.numel() / 2**20
    print(f"{len(ds.files)} photos, {corpus:.0f} MB decoded")
    for method in ("fork", "spawn"):
        loader = DataLoader(ds, batch_size=4, num_workers=args.workers,
                            multiprocessing_context=mp.get_context(method),
                            persistent_workers=True)
        it = iter(loader)
        next(it)
        for _ in range(args.workers):  # every worker has made a batch
            next(it)
        pids = [w.pid for w in it._workers]  # noqa: SLF001 - what is measured
        print(f"{method:5}: main {private_mb(os.getpid()):.0f} MB, workers "
              f"{[round(private_mb(pid)) for pid in pids]} MB")
        del it, loader


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()

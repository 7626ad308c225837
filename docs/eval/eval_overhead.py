"""What scoring one candidate costs besides the network: reading the validation photos,
synthesising six draws of each and computing PSNR and SSIM of every pair (the input row), as
scripts/pick_weights.py does per candidate. One thread:

    OMP_NUM_THREADS=1 python docs/eval/eval_overhead.py
"""

from __future__ import annotations

import time

from drcnet.evaluation import EvalData
from drcnet.metrics import psnr, ssim


def main() -> None:
    for recipe in ("rain", "blur"):
        data = EvalData("data/corpus/val", recipe, seed=10, draws=6)
        t0 = time.perf_counter()
        samples = [data[i] for i in range(len(data))]
        t1 = time.perf_counter()
        for s in samples:
            psnr(s.degraded, s.clean)
            ssim(s.degraded, s.clean)
        t2 = time.perf_counter()
        print(f"{recipe}: {len(samples)} samples, load+synthesise {t1 - t0:.2f} s, "
              f"psnr+ssim {t2 - t1:.2f} s")


if __name__ == "__main__":
    main()

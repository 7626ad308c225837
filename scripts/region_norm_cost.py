"""What the spatial filter's per-channel scale and shift (session 26) costs a forward pass.

The shipped denoiser at 512×512 on the CPU, fp32 and bf16, with the scale-and-shift step and
with it skipped (the filter as it was, monkeypatched), alternating in one process so that load
on the machine falls on both alike; medians of 6.

    python scripts/region_norm_cost.py
"""

from __future__ import annotations

import time

import torch

import drcnet
import drcnet.blocks as blocks
from drcnet.blocks import region_normalize
from drcnet.devices import cpu_has_native_bf16

NEW = blocks.SpatialFilter.forward


def old(self, x, t):  # noqa: ANN001, ANN201
    m, gamma, beta = self.self_aware(x)
    mask = (m.detach() >= t).to(x.dtype)
    return region_normalize(x, mask) * (1.0 + gamma) + beta, m, mask


def main() -> None:
    torch.set_num_threads(2)
    for precision in ("fp32", "bf16") if cpu_has_native_bf16() else ("fp32",):
        model = drcnet.load_model("denoise", device="cpu", precision=precision)
        x = torch.rand(1, 3, 512, 512)
        times: dict[str, list[float]] = {"without": [], "with": []}
        with torch.inference_mode():
            for fn in (old, NEW):  # warm-up
                blocks.SpatialFilter.forward = fn
                model(x)
            for _ in range(6):
                for name, fn in (("without", old), ("with", NEW)):
                    blocks.SpatialFilter.forward = fn
                    start = time.perf_counter()
                    model(x)
                    times[name].append(time.perf_counter() - start)
        blocks.SpatialFilter.forward = NEW
        med = {k: sorted(v)[len(v) // 2] * 1000 for k, v in times.items()}
        print(f"{precision}: without the scale and shift {med['without']:.0f} ms, with "
              f"{med['with']:.0f} ms (512x512, 2 threads, median of 6)")


if __name__ == "__main__":
    main()

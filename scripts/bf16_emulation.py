"""How much slower bf16 autocast is than fp32 on this CPU: one 256² forward of the shipped
denoiser each, after a warm-up. On a CPU without native bfloat16 (AVX512-BF16 or AMX) PyTorch
emulates it, which is why ``resolve_precision`` refuses bf16 there.

    python scripts/bf16_emulation.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import drcnet  # noqa: E402
from drcnet.devices import cpu_has_native_bf16  # noqa: E402
from drcnet.inference import forward_image  # noqa: E402


def main() -> None:
    model = drcnet.load_model("denoise", device="cpu", precision="fp32")
    image = np.random.default_rng(0).random((256, 256, 3), dtype=np.float32)
    seconds = {}
    for precision in ("fp32", "bf16"):
        model.set_runtime(precision=precision)  # below resolve_precision: never refused
        forward_image(model, image)
        start = time.perf_counter()
        forward_image(model, image)
        seconds[precision] = time.perf_counter() - start
    print(f"native bf16: {cpu_has_native_bf16()}; 256² forward of the shipped denoiser: "
          f"fp32 {seconds['fp32']:.3f} s, bf16 {seconds['bf16']:.3f} s "
          f"({seconds['bf16'] / seconds['fp32']:.0f}×)")


if __name__ == "__main__":
    main()

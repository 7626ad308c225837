"""The range check's cost: one 512x512 forward of the shipped derain model with the peak probe
off and on, alternating, one thread.

    OMP_NUM_THREADS=1 python docs/eval/range/overhead.py   (result: overhead.txt)
"""

import time

import numpy as np
import torch

from drcnet import load_model
from drcnet.inference import forward_image


def main() -> None:
    torch.set_num_threads(1)
    model = load_model("derain", "cpu")
    img = np.random.default_rng(0).uniform(0, 1, (512, 512, 3)).astype(np.float32)
    forward_image(model, img)  # warm-up
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(8):
        for on in (False, True):
            model.peak_probe = [] if on else None
            start = time.perf_counter()
            forward_image(model, img)
            times[on].append(time.perf_counter() - start)
    model.peak_probe = None
    off, on = np.median(times[False]), np.median(times[True])
    print(f"512x512 forward, 1 thread, median of 8 alternating: probe off {off * 1000:.0f} ms, "
          f"on {on * 1000:.0f} ms, ratio {on / off:.3f}")


if __name__ == "__main__":
    main()

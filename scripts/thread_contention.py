"""How much a preview forward slows down while OpenCV works in another thread (the GUI's pool
reads, resizes and scores images while the model thread runs), with OpenCV on all cores or
on one. Prints median forward times.

    python scripts/thread_contention.py
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    import cv2
    import numpy as np
    import torch

    from drcnet.bench import _photo
    from drcnet.inference import forward_image
    from drcnet.registry import load_model

    model = load_model("denoise", device="cpu", precision="auto")
    view = _photo(512, 512)
    big = np.random.default_rng(0).random((3000, 4000, 3), dtype=np.float32)
    forward_image(model, view)

    def median_forward_ms() -> float:
        times = []
        for _ in range(6):
            t0 = time.perf_counter()
            forward_image(model, view)
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1000

    print(f"torch {torch.get_num_threads()} threads, {model.precision}; "
          f"alone: {median_forward_ms():.0f} ms per 512x512 forward")
    for cv_threads in (torch.get_num_threads(), 1):
        cv2.setNumThreads(cv_threads)
        stop = threading.Event()
        blurs = [0]

        def busy(stop: threading.Event = stop, blurs: list[int] = blurs) -> None:
            while not stop.is_set():
                cv2.GaussianBlur(big, (11, 11), 1.5)
                blurs[0] += 1

        worker = threading.Thread(target=busy)
        worker.start()
        time.sleep(0.5)
        ms = median_forward_ms()
        stop.set()
        worker.join()
        print(f"OpenCV on {cv_threads} thread(s) blurring 12 MP images meanwhile: {ms:.0f} ms "
              f"({blurs[0]} blurs done)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

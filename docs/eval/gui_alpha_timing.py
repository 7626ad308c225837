"""How long the viewer takes to show a restored layer with a transparent input's alpha
(app.viewer.Viewer._pixmap), for a 12 MP input: the first layer of each size scales the mask,
later ones of that size reuse it.

    QT_QPA_PLATFORM=offscreen OMP_NUM_THREADS=1 python docs/eval/gui_alpha_timing.py
"""

import time

import numpy as np
from PySide6.QtWidgets import QApplication

app = QApplication([])
from drcnet_studio.viewer import Viewer, alpha_qimage, to_qimage  # noqa: E402

H, W = 3000, 4000
rng = np.random.default_rng(0)
alpha = np.ones((H, W), np.float32)
alpha[:, : W // 3] = 0.3
v = Viewer()
v.set_input(to_qimage(rng.random((H, W, 3), dtype=np.float32)), alpha_qimage(alpha))
plain = Viewer()
plain.set_input(to_qimage(rng.random((H, W, 3), dtype=np.float32)))
print(f"input {W}x{H} with alpha; ms per set_output (first of its size, then the median of 5)")
for h, w in [(384, 512), (768, 1024), (H, W)]:
    layer = to_qimage(rng.random((h, w, 3), dtype=np.float32))
    times = []
    for _ in range(6):
        t = time.perf_counter()
        v.set_output(layer, "x")
        times.append(1000 * (time.perf_counter() - t))
    t = time.perf_counter()
    plain.set_output(layer, "x")
    opaque = 1000 * (time.perf_counter() - t)
    print(f"  layer {w}x{h}: first {times[0]:.1f} ms, then {np.median(times[1:]):.1f} ms "
          f"(opaque input: {opaque:.1f} ms)")

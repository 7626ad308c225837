"""Time how soon a full-resolution restore shows the area in view when it does that area
first (``restore_tiled(focus=...)``, what the GUI passes), against the whole restore.

For each area size (what a 1440x900 window's view holds at 100 % and at 50 % zoom) the
restore runs until its :class:`~drcnet.inference.AreaDone` and stops; then one restore of
the whole image without a focus gives the reference. The shipped model, its training-crop
tiles and the GUI's precision (``auto``) are used; the area sits in the image's centre
of a photo with Gaussian noise (skimage's astronaut, enlarged). The EA view's pair (with
and without EA, the no-EA model the task's trained one) is timed for its area at 100 %.

    python scripts/focus_latency.py [--task denoise] [--size 4000x3000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# What the view in a 1440x900 window holds (the image area between the docks, measured
# with Viewer.visible_area(): 778x764 at 100 %), and at 50 % zoom.
AREAS = {"100 %": (764, 778), "50 %": (1528, 1556)}
# The EA view's result canvases are a quarter of that view; at 100 %, with the 64-px margin
# the window adds (EA_AREA_MARGIN).
EA_AREA = (510, 517)


def main() -> int:
    import numpy as np

    import drcnet
    from drcnet.inference import (
        AreaDone,
        TileConfig,
        default_tile,
        overlap_for,
        restore_area,
        restore_tiled,
        run,
    )

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="denoise")
    p.add_argument("--size", default="4000x3000")
    args = p.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    model = drcnet.load_model(args.task, device="cpu", precision="auto")
    tile = default_tile(model)
    tiles = TileConfig(tile=tile, overlap=overlap_for(tile))
    # A photo with Gaussian noise (sigma 25), as a photographer's would be.
    import cv2
    import skimage.data

    photo = cv2.resize(skimage.data.astronaut(), (w, h), interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng(0)
    rgb = np.clip(photo / 255 + rng.normal(0, 25 / 255, photo.shape), 0, 1).astype(np.float32)
    print(f"{args.task} ({model.precision}), {w}x{h}, {tile}-px tiles, {torch_threads()} "
          f"torch threads, {os.cpu_count()} CPUs")
    run(restore_tiled(model, rgb[:512, :512], tiles))  # warm-up, untimed: first passes are slow
    for zoom, (bh, bw) in AREAS.items():
        box = ((h - bh) // 2, (w - bw) // 2, bh, bw)
        start = time.perf_counter()
        for record in restore_tiled(model, rgb, tiles, focus=lambda b=box: b):
            if isinstance(record, AreaDone):
                seconds = time.perf_counter() - start
                print(f"  area in view at {zoom:5s} ({bw}x{bh}): {seconds:6.2f} s, "
                      f"{record.done}/{record.total} tiles")
                break
    # The EA view zoomed in to 100 %: one quarter canvas's area plus the 64-px margin, restored
    # with EA and with the trained no-EA model (restore_area, as app.workers.EAAreaJob does).
    noea = drcnet.load_model(args.task, variant="noea", device="cpu", precision="auto")
    bh, bw = EA_AREA
    box = ((h - bh) // 2, (w - bw) // 2, bh, bw)
    start = time.perf_counter()
    run(restore_area(model, rgb, box, tiles))
    noea.configure(ea=False)
    run(restore_area(noea, rgb, box, tiles))
    print(f"  EA view's area at 100 % ({bw}x{bh}), with and without EA: "
          f"{time.perf_counter() - start:6.2f} s")
    start = time.perf_counter()
    records: list = []
    run(restore_tiled(model, rgb, tiles), records.append)
    print(f"  whole image, no focus:            {time.perf_counter() - start:6.2f} s, "
          f"{records[-1].total} tiles")
    return 0


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    raise SystemExit(main())

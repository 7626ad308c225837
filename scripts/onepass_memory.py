"""Peak memory of a one-pass (whole-image, ``tile=0``) restore on the CPU, per megapixel.

Each size runs in a fresh process (peak RSS only grows), restoring a noise image with the
shipped denoiser in one pass; the figure is the peak RSS above the process's own before the
pass. ``drcnet.inference.ONE_PASS_BYTES_PER_PIXEL`` comes from this.

    python scripts/onepass_memory.py [--precision fp32] [--sides 512 1024]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys
import numpy as np, torch
import drcnet
from drcnet.inference import TileConfig, restore_tiled, run
side, precision = int(sys.argv[1]), sys.argv[2]
torch.set_num_threads(2)
model = drcnet.load_model("denoise", device="cpu", precision=precision)
run(restore_tiled(model, np.random.default_rng(0).random((64, 64, 3), np.float32),
                  TileConfig(tile=0)))  # warm-up
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rgb = np.random.default_rng(1).random((side, side, 3), np.float32)
run(restore_tiled(model, rgb, TileConfig(tile=0)))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"side": side, "precision": model.precision, "wf": model.config.wf,
                  "extra_mb": (peak - before) / 1024,
                  "bytes_per_pixel": (peak - before) * 1024 / side**2}))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--precision", default="fp32", help="fp32 (default), bf16 or auto")
    ap.add_argument("--sides", type=int, nargs="+", default=[512, 1024])
    args = ap.parse_args(argv)
    for side in args.sides:
        out = subprocess.run([sys.executable, "-c", CHILD, str(side), args.precision],
                             capture_output=True, text=True, check=True)
        print(json.dumps(json.loads(out.stdout.strip().splitlines()[-1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())

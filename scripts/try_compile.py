"""Is ``torch.compile`` worth it for DRCNet inference on this machine? Prints figures.

Times one 512×512 forward of the shipped denoise model eagerly and compiled (inductor, with
``freezing``), the compile time, and what a new t value costs: the knobs are Python floats,
so the compiled graph is guarded on them and recompiles.

    python scripts/try_compile.py [--threads 2] [--precision fp32]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    import torch
    import torch._inductor.config as inductor

    from drcnet.bench import _photo
    from drcnet.inference import to_tensor
    from drcnet.registry import load_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--precision", default="fp32")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    inductor.freezing = True
    model = load_model("denoise", device="cpu", precision=args.precision)
    x = to_tensor(_photo(512, 512))
    with torch.inference_mode():
        ref = model(x)[-1]
        t0 = time.perf_counter()
        compiled = torch.compile(model, dynamic=False)
        out = compiled(x)[-1]
        compile_s = time.perf_counter() - t0
        best = {"eager": float("inf"), "compiled": float("inf")}
        for _ in range(6):
            for name, fn in (("eager", model), ("compiled", compiled)):
                t0 = time.perf_counter()
                fn(x)
                best[name] = min(best[name], time.perf_counter() - t0)
        model.configure(t=0.6)
        t0 = time.perf_counter()
        compiled(x)
        knob_s = time.perf_counter() - t0
    print(f"{args.threads} threads, {args.precision}: eager {best['eager'] * 1000:.0f} ms, "
          f"compiled {best['compiled'] * 1000:.0f} ms per 512x512 forward "
          f"({100 * (1 - best['compiled'] / best['eager']):.0f}% less); first compile "
          f"{compile_s:.1f} s; first call after t changes {knob_s:.1f} s (recompile); "
          f"compiled vs eager max |diff| {float((out - ref).abs().max()):.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

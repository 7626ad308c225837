"""Is ONNX Runtime faster than PyTorch on this CPU for the shipped model? (issue 5, idea list)

Exports the shipped model (fixed knobs, fixed input shape) to ONNX, checks that ONNX Runtime
reproduces PyTorch's output, then times one forward pass of each, interleaved in one process:
PyTorch fp32, PyTorch with the default precision of this CPU (bf16 autocast where the CPU has
native bfloat16), and ONNX Runtime fp32 (CPU execution provider, all graph optimisations).

Needs `pip install onnxruntime onnx onnxscript` (not a project dependency: a trial).

    python scripts/try_onnx.py --task denoise --size 512 --repeats 10
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from drcnet.devices import resolve_precision
from drcnet.registry import load_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="denoise")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    import onnxruntime as ort

    torch.set_num_threads(args.threads)
    model = load_model(args.task, device="cpu", precision="fp32")
    auto = resolve_precision("auto", torch.device("cpu"))
    model_auto = load_model(args.task, device="cpu", precision=auto)
    x = torch.rand(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))
    path = Path(tempfile.mkdtemp()) / f"{args.task}.onnx"

    class Last(torch.nn.Module):  # the restored image only (the model returns both stages)
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, t: torch.Tensor) -> torch.Tensor:
            return self.net(t)[-1]

    t0 = time.perf_counter()
    torch.onnx.export(Last(model).eval(), (x,), str(path), input_names=["x"],
                      output_names=["y"], dynamo=True, optimize=True)
    export_s = time.perf_counter() - t0
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    xn = x.numpy()
    with torch.inference_mode():
        ref = model(x)[-1].numpy()
    got = sess.run(["y"], {"x": xn})[0]
    mse = float(np.mean((ref - got) ** 2))
    psnr = 10 * np.log10(1 / mse) if mse > 0 else float("inf")

    def torch_fp32() -> None:
        with torch.inference_mode():
            model(x)

    def torch_auto() -> None:
        with torch.inference_mode():
            model_auto(x)

    def onnx_fp32() -> None:
        sess.run(["y"], {"x": xn})

    runs = {"torch fp32": torch_fp32, f"torch {auto}": torch_auto, "onnxruntime fp32": onnx_fp32}
    times: dict[str, list[float]] = {k: [] for k in runs}
    for fn in runs.values():
        fn()  # warm-up
    for _ in range(args.repeats):
        for name, fn in runs.items():  # interleaved: drifts in machine load hit all alike
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    print(f"{args.task}, {args.size}x{args.size}, {args.threads} threads, torch "
          f"{torch.__version__}, onnxruntime {ort.__version__}; export {export_s:.1f} s; "
          f"ONNX Runtime vs PyTorch fp32 output: {psnr:.1f} dB PSNR")
    base = statistics.median(times["torch fp32"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:18} median {1000 * med:7.1f} ms  min {1000 * min(ts):7.1f} ms  "
              f"({base / med:.2f}x torch fp32)")


if __name__ == "__main__":
    main()

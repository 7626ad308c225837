"""The micro-benchmarks behind docs/PERFORMANCE.md's "what each change bought" and "tried and
dropped" rows. Prints best-of-N times; run it on an otherwise idle machine.

    python scripts/micro_bench.py [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def best_ms(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best time of each function in ms, calls interleaved so drift hits all alike."""
    best = {k: float("inf") for k in fns}
    for fn in fns.values():
        fn()
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], (time.perf_counter() - t0) * 1000)
    return best


def show(title: str, times: dict[str, float]) -> None:
    print(f"{title}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in times.items()))



def main() -> int:
    import torch
    from torch.nn import functional as F

    import drcnet.blocks as blocks
    from drcnet.bench import _photo
    from drcnet.inference import to_tensor
    from drcnet.registry import load_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=8)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    n = args.repeats
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")

    def fill_and_normalise(x: torch.Tensor, mask: torch.Tensor, eps: float = 1e-5):
        hw = x.shape[-2] * x.shape[-1]
        out = torch.zeros_like(x)
        for region in (mask, 1.0 - mask):
            area = region.sum(dim=(2, 3), keepdim=True)
            mu = (x * region).sum(dim=(2, 3), keepdim=True) / area.clamp_min(1.0)
            filled = x * region + (1.0 - region) * mu
            normed = F.instance_norm(filled, eps=eps)
            out = out + normed * region * torch.sqrt(area / hw)
        return out

    def gamma_beta_as_modules(self, x):  # noqa: ANN001, ANN202
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        m = torch.sigmoid(self.conv(pooled))
        return m, self.gamma(m), self.beta(m)

    with torch.inference_mode():
        x = torch.randn(1, 8, 512, 512)
        mask = (torch.rand(1, 1, 512, 512) < 0.3).float()
        show("region normalisation, 1x8x512x512", best_ms({
            "fill + instance norms": lambda: fill_and_normalise(x, mask),
            "closed form": lambda: blocks.region_normalize(x, mask)}, n))

        sa = blocks.SelfAwareAffine()
        feat = torch.randn(1, 8, 512, 512)
        show("self-aware map and its gamma/beta, 512x512", best_ms({
            "gamma, beta as two 1->1 convs": lambda: gamma_beta_as_modules(sa, feat),
            "one 1->2 conv": lambda: sa(feat)}, n))

        model = load_model("denoise", device="cpu", precision="fp32")
        new_rn, new_sa = blocks.region_normalize, blocks.SelfAwareAffine.forward

        def forward_with(old: bool, inp: torch.Tensor) -> Callable[[], object]:
            def fn() -> object:
                blocks.region_normalize = fill_and_normalise if old else new_rn
                blocks.SelfAwareAffine.forward = gamma_beta_as_modules if old else new_sa
                try:
                    return model(inp)
                finally:
                    blocks.region_normalize, blocks.SelfAwareAffine.forward = new_rn, new_sa
            return fn

        for side in (512, 256):
            inp = to_tensor(_photo(side, side))
            show(f"denoise forward {side}x{side}, fp32", best_ms({
                "old blocks": forward_with(True, inp), "new blocks": forward_with(False, inp)}, n))

        for side in (512, 256):
            inp = to_tensor(_photo(side, side))
            fns = {}
            for prec in ("fp32", "bf16"):
                for cl in (False, True):
                    def fn(prec: str = prec, cl: bool = cl, inp: torch.Tensor = inp) -> object:
                        model.set_runtime(precision=prec, channels_last=cl)
                        return model(inp)
                    fns[f"{prec}{' channels_last' if cl else ''}"] = fn
            show(f"denoise forward {side}x{side}", best_ms(fns, n))
        model.set_runtime(precision="fp32", channels_last=False)

        img = to_tensor(_photo(512, 1024))
        tiles = [img[..., y:y + 256, x:x + 256].contiguous()
                 for y in (0, 256) for x in (0, 256, 512, 768)]

        def batched(size: int) -> Callable[[], object]:
            return lambda: [model(torch.cat(tiles[i:i + size])) for i in range(0, 8, size)]

        show("eight 256x256 tiles (512x1024 pixels), fp32", best_ms({
            "one by one": batched(1), "in pairs": batched(2), "in fours": batched(4),
            "as two 512x512": lambda: (model(img[..., :, :512].contiguous()),
                                       model(img[..., :, 512:].contiguous()))}, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())

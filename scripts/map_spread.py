"""How much structure each DFR block's self-aware map has on the bundled samples, for every
shipped model: the spread (standard deviation) of m and the share the mask M = (m >= t) covers
at the model's own t. The GUI and `drcnet compare --layout sheet` open on the block with the most
(drcnet.compare.DEFAULT_BLOCK).

    python scripts/map_spread.py
"""

from __future__ import annotations

from pathlib import Path

import torch

from drcnet import load_model
from drcnet.imageio import read_image

ROOT = Path(__file__).resolve().parents[1]
CASES = (("denoise", "default", "noisy"), ("denoise", "gaussian", "noisy"),
         ("derain", "default", "rain"), ("deblur", "default", "blurry"))


def main() -> None:
    torch.set_num_threads(2)
    for task, variant, sample in CASES:
        model = load_model(task, device="cpu", variant=variant)
        rgb = read_image(ROOT / "resources" / "samples" / f"{sample}.png").rgb
        x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()
        store: dict = {}
        model.set_probe(store)
        with torch.no_grad():
            model(x)
        model.set_probe(None)
        t = model.knobs.t
        cells = []
        for name, maps in store.items():
            m = maps.self_aware[0, 0].numpy()
            cells.append(f"{name}: spread {m.std():.3f}, mask {100 * float((m >= t).mean()):.0f} %")
        print(f"{task} ({variant}, {sample}.png, t={t:g})\n  " + "\n  ".join(cells))


if __name__ == "__main__":
    main()

"""Why the repair is not applied to every tile: every shipped model on the validation photos
(centre <= 512 px; colour as is and pushed 3x from grey), its own degradation at seeds 10 and
11, 256-px tiles, fp32, with the whole input desaturated by 0.5 and the colour put back
(drcnet.inference.desaturate / resaturate), against as is. Session 15, before the repair was
wired into restore_tiled (run now, pass repair=False to get the same figures).

    OMP_NUM_THREADS=2 python docs/eval/repair/everywhere.py > docs/eval/repair/everywhere.txt
"""

import numpy as np

from drcnet import load_model
from drcnet.datasets import list_images, saturate
from drcnet.degradations import degrade
from drcnet.imageio import read_image
from drcnet.inference import TileConfig, desaturate, resaturate, restore_tiled, run
from drcnet.metrics import psnr

TILES = TileConfig(tile=256, overlap=32, repair=False)


def centre(img: np.ndarray, size: int = 512) -> np.ndarray:
    h, w = img.shape[:2]
    ch, cw = min(h, size), min(w, size)
    return img[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw]


def main() -> None:
    photos = [centre(read_image(f).rgb.astype(np.float32))
              for f in list_images("data/corpus/val")]
    for task, variant, recipe in (("denoise", "default", "noise"),
                                  ("denoise", "default", "gaussian25"),
                                  ("denoise", "gaussian", "gaussian25"),
                                  ("deblur", "default", "blur"), ("derain", "default", "rain")):
        model = load_model(task, device="cpu", variant=variant, precision="fp32")
        for s in (1.0, 3.0):
            res: dict[float, list[float]] = {1.0: [], 0.5: []}
            for img in photos:
                vivid = saturate(img, s) if s != 1 else img
                for seed in (10, 11):
                    bad = degrade(recipe, vivid, np.random.default_rng(seed))[0]
                    for k in res:
                        out = run(restore_tiled(model, desaturate(bad, k), TILES))
                        res[k].append(psnr(resaturate(out, k), vivid))
            better = sum(b > a for a, b in zip(res[1.0], res[0.5]))
            print(f"{task:7s} {variant:8s} {recipe:10s} colour x{s:g}: "
                  + "  ".join(f"k={k}: {np.mean(v):6.3f}" for k, v in res.items())
                  + f"  (k=0.5 better on {better}/{len(res[1.0])})", flush=True)


if __name__ == "__main__":
    main()

"""The shipped camera-noise denoiser on the sweets photo (camera noise, seed 0) at several
energy-attention coefficients δ: where the saturated-colour failure lives.

    OMP_NUM_THREADS=1 python docs/eval/saturated/delta_sweets.py
"""
import numpy as np
import torch

from drcnet import load_model
from drcnet.degradations import degrade
from drcnet.imageio import read_image
from drcnet.inference import TileConfig, restore_tiled, run
from drcnet.metrics import psnr

torch.set_num_threads(1)
sweets = read_image("data/heldout/opencv_smarties.png").rgb.astype(np.float32)
bad = degrade("noise", sweets, np.random.default_rng(0))[0]
print(f"input {psnr(bad, sweets):.2f}")
m = load_model("denoise", "cpu")
for d in (1e-6, 1e-4, 1e-3, 1e-2, 1e-1):
    m.configure(delta=d)
    peaks = []
    out = np.clip(run(restore_tiled(m, bad, TileConfig(tile=256, overlap=32), peaks=peaks)), 0, 1)
    print(f"delta {d:g}: {psnr(out, sweets):.2f} dB, peak {max(p.peak for p in peaks):.0f}")
noea = load_model("denoise", "cpu", variant="noea")  # trained the same way, EA bypassed
out = np.clip(run(restore_tiled(noea, bad, TileConfig(tile=256, overlap=32))), 0, 1)
print(f"w/o EA (denoise-noea.safetensors): {psnr(out, sweets):.2f} dB")

"""How far the camera-noise recipe's old read noise (log-uniform in [1e-3, 3e-2], drawn apart
from the shot noise) lay above the read noise Brooks et al.'s relation gives for its shot noise
(drcnet.degradations.read_for_shot, what the recipe draws since session 29).

    python docs/eval/camera_noise_tied/read_vs_shot.py
"""

import numpy as np

from drcnet.degradations import read_for_shot

rng = np.random.default_rng(0)
n = 200_000
shot = 10 ** rng.uniform(-4.0, -1.7, n)
old = 10 ** rng.uniform(-3.0, -1.5, n)
tied = read_for_shot(shot, rng.standard_normal(n))
print(f"{n} draws of shot noise 1e-4…2e-2 (log-uniform):")
for factor in (2, 3, 10):
    print(f"  old read noise over {factor}× the tied one: {np.mean(old > factor * tied):.1%}")
p = np.percentile(tied, [1, 50, 99])
print(f"  tied read noise, 1st/50th/99th percentile: {p[0]:.2g} / {p[1]:.2g} / {p[2]:.2g}")

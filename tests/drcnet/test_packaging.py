"""A wheel carries what the programs need at run time: weights, samples, icon."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_wheel_ships_the_weights_and_samples_and_finds_them(tmp_path: Path) -> None:
    """A wheel held app/ and drcnet/ only: installed from it, drcnet knew no weights and
    drcnet-studio had no sample to open."""
    src = tmp_path / "src"  # built from a copy: pip writes build/ where it builds
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("drcnet", "app", "resources"):
        shutil.copytree(ROOT / name, src / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                        "--no-build-isolation", "-w", str(tmp_path / "wheel"), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for task in ("derain", "denoise", "deblur"):
        assert f"drcnet/resources/weights/{task}.safetensors" in names
    assert {"drcnet/resources/weights/activation_limits.json",
            "drcnet/resources/samples/rain.png",
            "drcnet/resources/icons/drcnet-studio.svg",
            "drcnet/resources/samples/LICENSES/LGPL-3.0.txt"} <= names
    # the GUI goes in as drcnet_studio: a top-level app/ would clash with other distributions'
    assert "drcnet_studio/console.py" in names
    assert not any(n.startswith("app/") for n in names)
    (entry,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "drcnet-studio = drcnet_studio.console:main" in zipfile.ZipFile(wheel).read(
        entry).decode()
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # as pip would install it
    code = ("from drcnet.registry import RESOURCES, WEIGHTS_DIR, weight_spec; "
            "print(RESOURCES); print(weight_spec('derain', 'default').path.is_file()); "
            "from drcnet_studio.main import find_sample; print(find_sample(None).is_file())")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
                       timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split() == [str(site / "drcnet" / "resources"), "True", "True"]


def test_the_readme_s_python_example_runs(tmp_path: Path) -> None:
    """The library example is what a researcher copies first; it runs here on a bundled
    photo with a transparent corner (so ``image.restorable`` matters) and keeps the alpha."""
    import re

    import numpy as np

    from drcnet.imageio import read_image, write_image

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert '"rainy.jpg"' in code and '"restored.png"' in code
    photo = read_image(ROOT / "resources" / "samples" / "noisy.png").rgb
    alpha = np.ones(photo.shape[:2], np.float32)
    alpha[:40, :40] = 0.0
    write_image(tmp_path / "in.png", photo, alpha=alpha)
    code = (code.replace('"rainy.jpg"', repr(str(tmp_path / "in.png")))
            .replace('"restored.png"', repr(str(tmp_path / "out.png")))
            .replace('load_model("derain"', 'load_model("denoise"'))
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102
    out = read_image(tmp_path / "out.png")
    assert out.rgb.shape == photo.shape and out.alpha is not None and out.alpha[0, 0] == 0

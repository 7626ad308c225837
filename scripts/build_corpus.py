#!/usr/bin/env python
"""Build the clean-photo training corpus reproducibly into ``data/corpus/{train,val}/``.

Sources (all redistributable, fetched through the ordinary Debian client):

- Debian ``opencv-doc``: the sample images in ``examples/data`` (Apache-2.0 AND BSD-3-Clause,
  as Debian's copyright file states for the whole of opencv).
- Debian ``plasma-workspace-wallpapers``: one image per wallpaper; author and licence read from
  its ``metadata.json`` / ``metadata.desktop`` (CC-BY-SA-4.0 or LGPLv3).
- scikit-image's bundled colour photos (``skimage.data``; CC0 / public domain).

Kept: colour images whose short side is >= 256 px and that look like photographs (enough fine
texture, not a flat vector graphic, no charts/logos/text). Each is downscaled (INTER_AREA) so the
longest side is <= ``--max-side``, which also washes out the sources' own noise and JPEG
artifacts, and saved as PNG. The train/val split is a hash of the output name (~15 % val, at
least 8). ``SOURCES.csv`` records file, source, author and licence.

Needs: ``apt-get`` and ``dpkg`` (Debian or Ubuntu; about 190 MB of packages, fetched once
into ``--cache``; no root needed, as ``apt-get download`` runs as any user once the package
lists exist) and scikit-image (``pip install -e '.[dev]'``). On another system, put the two
``.deb`` files into ``--cache`` by hand. ``--out`` must be empty, missing or an earlier corpus
(which is replaced).

Usage::

    python scripts/build_corpus.py [--out data/corpus] [--cache data/cache] [--max-side 1024]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

PACKAGES = ("opencv-doc", "plasma-workspace-wallpapers")
OPENCV_DATA = "usr/share/doc/opencv-doc/examples/data"
WALLPAPERS = "usr/share/wallpapers"
# OpenCV samples that are charts, logos, text, calibration targets, masks or renders.
OPENCV_SKIP = (
    "Blender_Suzanne", "LinuxLogo", "WindowsLogo", "opencv-logo", "chessboard", "left0", "left1",
    "right0", "right1", "digits", "mask", "ml.png", "notes", "sudoku", "pic", "imageText",
    "detect_blob", "gradient", "ellipses", "cards", "box", "graf", "licenseplate", "lena",
    "alphabet", "pca_test", "text_", "stuff", "HappyFish", "board", "ela_", "blox", "aloeGT",
    "tsukuba", "smarties", "shape_sample",
)
# Plasma wallpapers that are vector renders or illustrations rather than photographs.
PLASMA_RENDERS = (
    "Altai", "Autumn", "Canopee", "Cascade", "Cluster", "Elarun", "Flow", "FlyingKonqui",
    "Honeywave", "IceCold", "Kay", "Kokkini", "MilkyWay", "Opal", "PastelHills", "Patak",
    "SafeLanding", "Shell", "Volna",
)
SKIMAGE = {  # name -> (author, licence), from the docstrings in skimage/data/_fetchers.py
    "astronaut": ("NASA", "public-domain"),
    "chelsea": ("Stefan van der Walt", "CC0-1.0"),
    "coffee": ("Rachel Michetti", "CC0-1.0"),
    "rocket": ("SpaceX", "public-domain"),
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


@dataclass(frozen=True)
class Candidate:
    """A source image and where it came from."""

    name: str  # output stem
    path: Path | None
    source: str
    author: str
    license: str
    array: np.ndarray | None = None  # BGR uint8, when not read from a file


class BuildError(Exception):
    """What stops the build, said in one line."""


def _run(cmd: list[str], cwd: Path | None = None) -> bool:
    """Run ``cmd``; whether it succeeded (its own messages go to the terminal)."""
    try:
        return subprocess.run(cmd, cwd=cwd).returncode == 0
    except FileNotFoundError:
        return False


def fetch_packages(cache: Path) -> Path:
    """Download the Debian packages (once) and unpack them; returns the unpack root.

    Each package is unpacked whole or again: a marker written after ``dpkg -x`` ends says
    it is done (a build stopped mid-unpack had left a root that was never completed).

    Raises:
        BuildError: a package could not be fetched or unpacked.
    """
    root = cache / "root"
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildError(f"cannot make the cache folder {cache}: {exc.strerror or exc}") from None
    debs = {p: sorted(cache.glob(f"{p}_*.deb")) for p in PACKAGES}
    missing = [p for p, found in debs.items() if not found]
    if missing:
        if shutil.which("apt-get") is None:
            raise BuildError(f"no apt-get here to fetch {', '.join(missing)}; on a system "
                             f"without it, put their .deb files into {cache} by hand")
        # `download` needs no root; `update` (which does) only where the lists are missing
        if not _run(["apt-get", "download", *missing], cwd=cache):
            _run(["apt-get", "update", "-qq"])
            if not _run(["apt-get", "download", *missing], cwd=cache):
                raise BuildError(f"apt-get could not download {', '.join(missing)} (offline, "
                                 f"or no Debian package lists: run `apt-get update` as root); "
                                 f"or put the .deb files into {cache} by hand")
    if shutil.which("dpkg") is None:
        raise BuildError("no dpkg here to unpack the packages (it comes with Debian and Ubuntu)")
    root.mkdir(exist_ok=True)
    for deb in sorted(cache.glob("*.deb")):
        done = root / f".unpacked-{deb.name}"
        if done.is_file():
            continue
        if not _run(["dpkg", "-x", str(deb), str(root)]):
            raise BuildError(f"dpkg could not unpack {deb} (a damaged download? delete it "
                             "and run this again)")
        done.touch()
    return root


def check_out(out: Path) -> None:
    """Refuse, before anything is fetched, an ``out`` :func:`prepare_out` would refuse.

    Raises:
        BuildError: ``out`` is a file, or a folder holding other things than a corpus.
    """
    if out.exists() and not out.is_dir():
        raise BuildError(f"--out {out} is a file; name a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "SOURCES.csv").is_file():
        raise BuildError(f"--out {out} holds other files and is not a corpus (no "
                         "SOURCES.csv); name an empty or new folder")


def prepare_out(out: Path) -> None:
    """Make ``out`` ready for a new corpus: a missing or empty folder, or an earlier corpus
    (its ``SOURCES.csv`` says so), whose ``train/``, ``val/`` and ``SOURCES.csv`` are
    replaced. Anything else is refused: the whole folder was deleted (``--out .`` emptied
    the working folder).

    Raises:
        BuildError: ``out`` is a file, or a folder holding other things.
    """
    check_out(out)
    if out.is_dir() and any(out.iterdir()):
        for split in ("train", "val"):
            shutil.rmtree(out / split, ignore_errors=True)
        (out / "SOURCES.csv").unlink()
    for split in ("train", "val"):
        (out / split).mkdir(parents=True)


def _wallpaper_meta(folder: Path) -> tuple[str, str]:
    js = folder / "metadata.json"
    if js.is_file():
        plugin = json.loads(js.read_text(encoding="utf-8-sig")).get("KPlugin", {})
        authors = plugin.get("Authors") or [{}]
        return authors[0].get("Name", "unknown"), plugin.get("License", "unknown")
    author = licence = "unknown"
    desktop = folder / "metadata.desktop"
    if desktop.is_file():
        for line in desktop.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("X-KDE-PluginInfo-Author="):
                author = line.split("=", 1)[1].strip()
            elif line.startswith("X-KDE-PluginInfo-License="):
                licence = line.split("=", 1)[1].strip()
    return author, licence


def candidates(root: Path) -> list[Candidate]:
    """All source images, in a fixed order."""
    out: list[Candidate] = []
    for p in sorted((root / OPENCV_DATA).iterdir()):
        if p.suffix.lower() in IMAGE_SUFFIXES and not any(s in p.name for s in OPENCV_SKIP):
            out.append(Candidate(f"opencv_{p.stem}", p, "opencv-doc", "OpenCV samples",
                                 "Apache-2.0 AND BSD-3-Clause (Debian's copyright for opencv)"))
    for folder in sorted((root / WALLPAPERS).iterdir()):
        images = [p for p in (folder / "contents" / "images").glob("*")
                  if p.suffix.lower() in IMAGE_SUFFIXES]
        if not images or folder.name in PLASMA_RENDERS:
            continue
        # The largest landscape rendition (the best quality master).
        def area(p: Path) -> tuple[int, int]:
            w, _, h = p.stem.partition("x")
            try:
                return (int(int(w) >= int(h)), int(w) * int(h))
            except ValueError:
                return (0, 0)
        best = max(sorted(images), key=area)
        author, licence = _wallpaper_meta(folder)
        out.append(Candidate(f"plasma_{folder.name}", best, "plasma-workspace-wallpapers",
                             author, licence))
    from skimage import data as skdata

    for name, (author, licence) in SKIMAGE.items():
        rgb = getattr(skdata, name)()
        out.append(Candidate(f"skimage_{name}", None, "scikit-image", author, licence,
                             array=cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)))
    return out


def photo_stats(bgr: np.ndarray) -> dict[str, float]:
    """Cheap measures that separate photographs from flat renders and gray images."""
    small = cv2.resize(bgr, (256, 256), interpolation=cv2.INTER_AREA).astype(np.float32)
    chroma = float(np.abs(small - small.mean(axis=2, keepdims=True)).mean())
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    lap = np.abs(cv2.Laplacian(gray, cv2.CV_32F))
    textured = float((lap > 8).mean())  # fraction of pixels with fine detail
    return {"chroma": chroma, "textured": textured}


def group(name: str) -> str:
    """Views of one scene (stereo pairs, sequences) share a group and so a split."""
    name = {"opencv_left": "opencv_stereo", "opencv_right": "opencv_stereo"}.get(name, name)
    return re.sub(r"(?<=[a-z])([LRAB]|[0-9])$", "", name)


def is_val(name: str, frac: float = 0.15) -> bool:
    digest = hashlib.sha256(group(name).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < frac


def main(argv: list[str] | None = None) -> int:
    parts = __doc__.split("\n\n")
    needs = next(x for x in parts if x.startswith("Needs:")).replace("``", "")
    ap = argparse.ArgumentParser(description=parts[0], epilog=needs,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("data/corpus"),
                    help="where the corpus goes: empty, new, or an earlier corpus "
                         "(default data/corpus)")
    ap.add_argument("--cache", type=Path, default=Path("data/cache"),
                    help="where the .deb files are kept and unpacked (default data/cache)")
    ap.add_argument("--max-side", type=int, default=1024,
                    help="longest side of a saved photo, px (default 1024)")
    ap.add_argument("--min-side", type=int, default=256,
                    help="a photo with a shorter short side is left out (default 256)")
    ap.add_argument("--min-val", type=int, default=8,
                    help="at least this many validation photos (default 8)")
    args = ap.parse_args(argv)
    try:
        return build(args)
    except BuildError as exc:
        print(f"build_corpus: error: {exc}", file=sys.stderr)
        return 1


def build(args: argparse.Namespace) -> int:
    try:
        import skimage.data  # noqa: F401  (checked before 190 MB are fetched)
    except ImportError:
        raise BuildError("needs scikit-image for its photos: pip install scikit-image "
                         "(or pip install -e '.[dev]')") from None
    check_out(args.out)
    root = fetch_packages(args.cache)
    kept: list[tuple[Candidate, np.ndarray]] = []
    for c in candidates(root):
        bgr = c.array if c.array is not None else cv2.imread(str(c.path), cv2.IMREAD_COLOR)
        if bgr is None:
            print(f"skip {c.name}: unreadable", file=sys.stderr)
            continue
        h, w = bgr.shape[:2]
        scale = args.max_side / max(h, w)
        if scale < 1:
            bgr = cv2.resize(bgr, (round(w * scale), round(h * scale)),
                             interpolation=cv2.INTER_AREA)
        st = photo_stats(bgr)
        why = ""
        if min(h, w) < args.min_side:
            why = f"small {w}x{h}"
        elif st["chroma"] < 4.0:
            why = f"gray (chroma {st['chroma']:.1f})"
        elif st["textured"] < 0.03:
            why = f"flat render (textured {st['textured']:.3f})"
        if why:
            print(f"skip {c.name}: {why}")
            continue
        kept.append((c, bgr))

    names = [c.name for c, _ in kept]
    val = {n for n in names if is_val(n)}
    if len(val) < args.min_val:  # top up deterministically by hash order, whole groups
        by_hash = sorted(names, key=lambda n: hashlib.sha256(group(n).encode()).hexdigest())
        for n in by_hash:
            if len(val) >= args.min_val:
                break
            val.update(m for m in names if group(m) == group(n))

    # Which release each photo came from: the .deb's version, or scikit-image's. The photos
    # are the same only from the same releases (Debian 12's were used: opencv-doc
    # 4.6.0+dfsg-12, plasma-workspace-wallpapers 4:5.27.5-2).
    import skimage

    versions = {"scikit-image": skimage.__version__}
    for package in PACKAGES:
        found = sorted(args.cache.glob(f"{package}_*.deb"))
        if found:
            versions[package] = found[-1].name.split("_")[1].replace("%3a", ":")
    prepare_out(args.out)
    rows = []
    for c, bgr in kept:
        split = "val" if c.name in val else "train"
        rel = f"{split}/{c.name}.png"
        cv2.imwrite(str(args.out / rel), bgr, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        origin = c.path.relative_to(root).as_posix() if c.path else f"skimage.data.{c.name[8:]}"
        rows.append({"file": rel, "source": c.source, "origin": origin, "author": c.author,
                     "license": c.license, "width": bgr.shape[1], "height": bgr.shape[0],
                     "version": versions.get(c.source, "")})
    with open(args.out / "SOURCES.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    n_val = sum(r["file"].startswith("val/") for r in rows)
    print(f"corpus: {len(rows) - n_val} train + {n_val} val images, {size / 2**20:.1f} MiB "
          f"in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

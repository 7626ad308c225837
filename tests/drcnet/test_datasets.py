from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from drcnet.datasets import (
    PairedFolder,
    SyntheticPairs,
    ValidationSet,
    _mirror_to,
    list_images,
    match_pairs,
    small_note,
    unpaired_note,
)
from drcnet.errors import DRCNetError

PhotoMaker = Callable[[Path, int, int, int], Path]


@pytest.mark.parametrize("task", ["denoise", "derain", "deblur"])
def test_synthetic_pairs(photos: Path, task: str) -> None:
    ds = SyntheticPairs(photos, task, crop=32, seed=1, length=10)
    x, y = ds[3]
    assert len(ds) == 10
    assert x.shape == y.shape == (3, 32, 32) and x.dtype == torch.float32
    assert 0 <= float(x.min()) and float(x.max()) <= 1
    assert not torch.equal(x, y)
    x2, y2 = ds[3]
    assert torch.equal(x, x2) and torch.equal(y, y2)  # same index, same pair
    x3, _ = ds[4]
    assert not torch.equal(x, x3)
    x4, _ = ds[10_003]  # indices beyond len draw fresh items
    assert x4.shape == x.shape and not torch.equal(x4, x)


def test_small_images_are_upscaled_to_the_crop(tmp_path: Path, make_photo: PhotoMaker) -> None:
    make_photo(tmp_path / "tiny.png", 24, 20, 0)
    make_photo(tmp_path / "big.png", 80, 90, 1)
    ds = SyntheticPairs(tmp_path, "deblur", crop=32)
    x, _ = ds[0]
    assert x.shape == (3, 32, 32)
    # deblur needs a 16-px margin on each side: 64 px, so only tiny.png is upscaled
    assert ds.need == 64 and [p.name for p in ds.upscaled] == ["tiny.png"]
    note = small_note(ds.upscaled, len(ds.files), ds.need, ds.margin)
    assert note == ("1 of 2 photos have a short side under 64 px (the 32-px crop and the "
                    "recipe's 16-px margin on each side) and are upscaled to fit, which softens "
                    "their texture (tiny.png); a smaller crop avoids it")
    big = SyntheticPairs(tmp_path, "denoise", crop=85)
    assert [p.name for p in big.upscaled] == ["big.png", "tiny.png"]
    assert "under the 85-px crop" in (small_note(big.upscaled, 2, big.need, big.margin) or "")
    assert SyntheticPairs(tmp_path, "denoise", crop=20).upscaled == []
    assert small_note([], 2, 20) is None


def test_validation_set_is_fixed(photos: Path) -> None:
    a = ValidationSet(photos, "denoise", seed=0, size=64)
    b = ValidationSet(photos, "denoise", seed=0, size=64)
    c = ValidationSet(photos, "denoise", seed=1, size=64)
    assert len(a) == 3
    assert a[0][0].shape == (3, 64, 64)
    assert torch.equal(a[1][0], b[1][0])
    assert not torch.equal(a[1][0], c[1][0])
    assert torch.equal(a[1][1], c[1][1])  # clean centre crops do not depend on the seed


def test_validation_draws_are_the_next_seeds(photos: Path) -> None:
    one = ValidationSet(photos, "rain", seed=0, size=64)
    next_seed = ValidationSet(photos, "rain", seed=1, size=64)
    two = ValidationSet(photos, "rain", seed=0, size=64, draws=2)
    assert len(two) == 2 * len(one) and len(two.files) == len(one.files)
    for i in range(len(one)):  # draw 0 is today's set, draw 1 is what --seed 1 would give
        assert torch.equal(two[i][0], one[i][0])
        assert torch.equal(two[len(one) + i][0], next_seed[i][0])
        assert torch.equal(two[len(one) + i][1], one[i][1])
    with pytest.raises(ValueError, match="draws"):
        ValidationSet(photos, "rain", size=64, draws=0)


def test_paired_folder_layouts(tmp_path: Path, make_photo: PhotoMaker) -> None:
    for name in ("a", "b"):
        make_photo(tmp_path / "gopro" / "train" / "seq1" / "blur" / f"{name}.png", 48, 64, 1)
        make_photo(tmp_path / "gopro" / "train" / "seq1" / "sharp" / f"{name}.png", 48, 64, 2)
    make_photo(tmp_path / "gopro" / "train" / "seq1" / "blur" / "unpaired.png", 48, 64, 3)
    ds = PairedFolder(tmp_path / "gopro", "gopro", crop=32)
    assert len(ds) == 2
    assert [q.name for q in ds.unpaired] == ["unpaired.png"]
    assert unpaired_note(ds.unpaired, "gopro") == (
        "1 image(s) in blur/ have no target of the same name in sharp/ and are left out: "
        "unpaired.png")
    x, y = ds[0]
    assert x.shape == y.shape == (3, 32, 32)
    full = PairedFolder(tmp_path / "gopro", "gopro", crop=None)
    assert full[1][0].shape == (3, 48, 64)
    with pytest.raises(DRCNetError, match="input/"):
        PairedFolder(tmp_path / "gopro", "rain13k")
    with pytest.raises(DRCNetError, match="unknown layout"):
        PairedFolder(tmp_path, "nope")
    for name in ("rain-0", "rain-1"):  # Rain100's names: nothing pairs, and it says why
        make_photo(tmp_path / "r100" / "input" / f"{name}.png", 48, 64, 1)
        make_photo(tmp_path / "r100" / "target" / f"no{name}.png", 48, 64, 2)
    with pytest.raises(DRCNetError, match="found 2 in input/ and 2 in target/, but an input "
                                          "and its target must have the same name"):
        PairedFolder(tmp_path / "r100", "rain13k")


def test_pairing_leaves_out_hidden_files_and_refuses_what_is_unclear(
        tmp_path: Path, make_photo: PhotoMaker) -> None:
    root = tmp_path / "rain"
    for name in ("1", "2"):
        make_photo(root / "input" / f"{name}.png", 40, 48, 1)
        make_photo(root / "target" / f"{name}.png", 40, 48, 2)
    # macOS's AppleDouble companions on an exFAT copy: listed as a pair, they failed only
    # when first drawn, at any step of a run
    for side in ("input", "target"):
        (root / side / "._1.png").write_bytes(b"\x00\x05\x16\x07" + bytes(60))
    (root / ".trash" / "input").mkdir(parents=True)
    make_photo(root / ".trash" / "input" / "9.png", 40, 48, 1)
    make_photo(root / ".trash" / "target" / "9.png", 40, 48, 1)
    ds = PairedFolder(root, "rain13k", crop=32)
    assert sorted(p.name for p, _ in ds.pairs) == ["1.png", "2.png"]
    assert all(not p.name.startswith(".") for p in list_images(root))
    (root / "input" / "junk.png").write_bytes(b"not an image")  # refused when listed
    (root / "target" / "junk.png").write_bytes(b"not an image")
    with pytest.raises(DRCNetError, match="not images that can be decoded"):
        PairedFolder(root, "rain13k", crop=32)
    for side in ("input", "target"):
        (root / side / "junk.png").unlink()
    make_photo(root / "target" / "2.jpg", 40, 48, 3)  # which is 2's target?
    with pytest.raises(DRCNetError, match="have the same name"):
        PairedFolder(root, "rain13k", crop=32)


def test_sidd_prepared_by_restormer_pairs(tmp_path: Path, make_photo: PhotoMaker) -> None:
    make_photo(tmp_path / "input_crops" / "a.png", 40, 48, 1)  # Restormer writes target_crops/
    make_photo(tmp_path / "target_crops" / "a.png", 40, 48, 2)
    assert len(PairedFolder(tmp_path, "sidd", crop=32)) == 1


def test_paired_crops_of_small_images_stack(tmp_path: Path, make_photo: PhotoMaker) -> None:
    """Pairs smaller than the crop (Rain100L's 481x321 under a 384 crop) are mirrored to fit,
    so a batch of mixed sizes stacks, and input and target stay aligned."""
    root = tmp_path / "rain"
    for name, h, w in (("a", 20, 40), ("b", 48, 24), ("c", 64, 64)):
        make_photo(root / "input" / f"{name}.png", h, w, 1)
        make_photo(root / "target" / f"{name}.png", h, w, 1)  # identical: target == input
    ds = PairedFolder(root, "rain13k", crop=32, seed=2)
    assert [p.name for p in ds.mirrored] == ["a.png", "b.png"]  # c (64 px) fits
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=3)))
    assert batch[0].shape == batch[1].shape == (3, 3, 32, 32)
    assert torch.equal(batch[0], batch[1])
    img = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    grown = _mirror_to(img, 4)  # 2 rows become 4: rows 2-3 mirror rows 1 and 0
    assert grown.shape == (4, 4, 3)
    assert np.array_equal(grown[:2, :3], img) and np.array_equal(grown[2:, :3], img[::-1])
    assert np.array_equal(grown[:2, 3], img[:, 2])
    assert _mirror_to(img, 2) is img


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DRCNetError, match="does not exist"):
        SyntheticPairs(tmp_path / "nope", "denoise")


def test_pairs_of_two_sizes_are_found_when_listed(tmp_path: Path, make_photo: PhotoMaker) -> None:
    """Not when a DataLoader worker first draws the pair, hours into a run; named by path,
    since GoPro repeats file names in every sequence."""
    root = tmp_path / "rain"
    make_photo(root / "input" / "1.png", 48, 64, 1)
    make_photo(root / "target" / "1.png", 32, 32, 2)
    make_photo(root / "input" / "2.png", 48, 64, 1)
    make_photo(root / "target" / "2.png", 64, 48, 2)  # rotated: EXIF may make it upright
    with pytest.raises(DRCNetError, match=r"1 of 2 rain13k pairs differ in size, e\.g\. "
                                          r".*input/1\.png is 64×48 but .*target/1\.png is "
                                          r"32×32"):
        PairedFolder(root, "rain13k", crop=16)


def test_a_worker_s_error_reaches_the_user_as_its_last_line() -> None:
    from drcnet.training import _worker_message

    text = ("Caught DRCNetError in DataLoader worker process 0.\nOriginal Traceback (most "
            "recent call last):\n  File \"x.py\", line 1, in f\n    g()\n"
            "drcnet.errors.DRCNetError: a.png (64×48) and b.png (32×32) differ in size\n")
    assert _worker_message(text) == "a.png (64×48) and b.png (32×32) differ in size"
    assert _worker_message("plain message") == "plain message"


def test_pairs_in_subfolders_pair_by_relative_path(tmp_path: Path, make_photo: PhotoMaker) -> None:
    """input/scene1/1.png pairs with target/scene1/1.png; such files had been left out
    without a word, and a set held only in subfolders found no pairs."""
    root = tmp_path / "rain"
    make_photo(root / "input" / "1.png", 40, 48, 1)
    make_photo(root / "target" / "1.png", 40, 48, 2)
    for scene in ("s1", "s2"):
        make_photo(root / "input" / scene / "1.png", 40, 48, 3)
        make_photo(root / "target" / scene / "1.png", 40, 48, 4)
    make_photo(root / "input" / "s2" / "lone.png", 40, 48, 5)
    make_photo(root / "input" / ".hidden" / "1.png", 40, 48, 6)
    make_photo(root / "target" / ".hidden" / "1.png", 40, 48, 6)
    pairs, unpaired = match_pairs(root, "rain13k")
    rel = sorted((p.relative_to(root).as_posix(), q.relative_to(root).as_posix())
                 for p, q in pairs)
    assert rel == [("input/1.png", "target/1.png"), ("input/s1/1.png", "target/s1/1.png"),
                   ("input/s2/1.png", "target/s2/1.png")]
    assert unpaired == [root / "input" / "s2" / "lone.png"]
    assert unpaired_note(unpaired, "rain13k").endswith("left out: s2/lone.png")
    make_photo(root / "target" / "s1" / "1.jpg", 40, 48, 7)  # which is s1/1's target?
    with pytest.raises(DRCNetError, match=r"s1/1\.jpg and 1\.png have the same name"):
        match_pairs(root, "rain13k")


@pytest.mark.parametrize("crop", [0, -8, 8])
def test_a_crop_outside_what_training_takes_is_refused(photos, crop: int) -> None:  # noqa: ANN001
    """crop=0 or a negative one had given empty tensors without a word."""
    from drcnet.errors import UsageError

    with pytest.raises(UsageError, match="crop must be 16 to 4096 px"):
        SyntheticPairs(photos, "denoise", crop=crop)


SPAWN_MANY_PHOTOS = r"""
import resource, sys
from pathlib import Path
import numpy as np
import torch
from torch.utils.data import DataLoader
from drcnet.datasets import SyntheticPairs
from drcnet.imageio import write_image

folder = Path(sys.argv[1])
rng = np.random.default_rng(0)
for i in range(200):
    write_image(folder / f"{i:03d}.png", rng.random((24, 24, 3), dtype=np.float32))
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))
ds = SyntheticPairs(folder, "denoise", crop=16, length=8)
loader = DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context="spawn")
batches = list(loader)
assert len(batches) == 2 and batches[0][0].shape == (4, 3, 16, 16)
assert torch.equal(batches[1][1][3], ds[7][1])
print("ok")
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="RLIMIT_NOFILE is POSIX")
def test_spawn_workers_take_a_large_corpus_in_one_shared_block(tmp_path: Path) -> None:
    """Each photo had been its own shared tensor, and each holds a file descriptor in a spawn
    or forkserver worker (macOS, Windows, Python 3.14 on Linux): 1500 photos ran out of them
    under ulimit -n 1024. Here 200 photos under a limit of 128."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", SPAWN_MANY_PHOTOS, str(tmp_path)],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]

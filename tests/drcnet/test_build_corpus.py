"""scripts/build_corpus.py: what it refuses and repairs (nothing is fetched here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bc():  # noqa: ANN201
    spec = importlib.util.spec_from_file_location("build_corpus",
                                                  ROOT / "scripts" / "build_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_corpus"] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def test_an_out_folder_that_is_not_a_corpus_is_refused_not_deleted(bc, tmp_path) -> None:  # noqa: ANN001
    """`--out DIR` deleted DIR whatever it held (`--out .` emptied the working folder)."""
    mine = tmp_path / "photos"
    (mine / "holiday").mkdir(parents=True)
    (mine / "holiday" / "IMG_0001.txt").write_text("mine")
    with pytest.raises(bc.BuildError, match="not a corpus"):
        bc.check_out(mine)
    with pytest.raises(bc.BuildError, match="not a corpus"):
        bc.prepare_out(mine)
    assert (mine / "holiday" / "IMG_0001.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(bc.BuildError, match="is a file"):
        bc.check_out(tmp_path / "file")
    old = tmp_path / "corpus"  # an earlier corpus is replaced, and only its own parts
    (old / "train").mkdir(parents=True)
    (old / "train" / "a.png").write_bytes(b"x")
    (old / "SOURCES.csv").write_text("file\n")
    (old / "NOTES.md").write_text("mine")
    bc.prepare_out(old)
    assert sorted(p.name for p in old.iterdir()) == ["NOTES.md", "train", "val"]
    assert not any((old / "train").iterdir())
    bc.prepare_out(tmp_path / "new")
    assert (tmp_path / "new" / "val").is_dir()


def test_a_package_unpacked_halfway_is_unpacked_again(bc, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """A build stopped during `dpkg -x` left a root that later builds never completed."""
    cache = tmp_path / "cache"
    cache.mkdir()
    for p in bc.PACKAGES:
        (cache / f"{p}_1_all.deb").write_bytes(b"")
    (cache / "root" / "usr").mkdir(parents=True)  # the half-done unpack
    ran: list[list[str]] = []
    monkeypatch.setattr(bc, "_run", lambda cmd, cwd=None: ran.append(cmd) or True)
    monkeypatch.setattr(bc.shutil, "which", lambda name: f"/usr/bin/{name}")
    bc.fetch_packages(cache)
    assert [c[0] for c in ran] == ["dpkg", "dpkg"]  # both, though root existed
    ran.clear()
    bc.fetch_packages(cache)
    assert ran == []  # done: not again
    monkeypatch.setattr(bc, "_run", lambda cmd, cwd=None: False)
    (cache / "root" / f".unpacked-{bc.PACKAGES[0]}_1_all.deb").unlink()
    with pytest.raises(bc.BuildError, match="could not unpack"):
        bc.fetch_packages(cache)


def test_a_failed_download_says_what_to_do(bc, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(bc, "_run", lambda cmd, cwd=None: False)
    monkeypatch.setattr(bc.shutil, "which", lambda name: f"/usr/bin/{name}")
    with pytest.raises(bc.BuildError, match="could not download .* by hand"):
        bc.fetch_packages(tmp_path / "cache")
    monkeypatch.setattr(bc.shutil, "which", lambda name: None)
    with pytest.raises(bc.BuildError, match="no apt-get here"):
        bc.fetch_packages(tmp_path / "cache")

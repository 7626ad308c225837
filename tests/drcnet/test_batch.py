"""Restoring many files (drcnet.batch): planning outputs, the generator, failures, cancel."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from drcnet import DRCNet
from drcnet.batch import (
    CANCELLED,
    FAILED,
    RESTORED,
    SKIPPED,
    expand_inputs,
    plan_outputs,
    restore_files,
    sibling_image,
    summary,
)
from drcnet.compare import ExportParams
from drcnet.errors import DRCNetError, ImageReadError, ImageWriteError, UsageError
from drcnet.imageio import read_image, read_png_text, write_image
from drcnet.inference import TileConfig, restore_tiled, run


@pytest.fixture(scope="module")
def model() -> DRCNet:
    torch.manual_seed(0)
    return DRCNet(wf=8, depth=3).eval()


def _photos(folder: Path, n: int, size: tuple[int, int] = (40, 56)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        p = folder / f"p{i}.png"
        write_image(p, rng.uniform(0, 1, (*size, 3)).astype(np.float32))
        paths.append(p)
    return paths


def test_expand_inputs_lists_a_folder_once_and_skips_hidden_files(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "in", 2)
    (tmp_path / "in" / ".hidden.png").write_bytes(photos[0].read_bytes())
    (tmp_path / "in" / "notes.txt").write_text("x")
    files, folder = expand_inputs([tmp_path / "in", photos[0]])
    assert folder
    assert files == photos  # the file named again is not listed twice
    assert expand_inputs([photos[1]]) == ([photos[1]], False)
    # a quoted pattern is a folder's worth whatever it matches: with one match, "-o out"
    # had been read as one output file and refused for its missing extension
    assert expand_inputs([str(photos[1]).replace(photos[1].name, "*1.png")]) == (
        [photos[1]], True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DRCNetError, match="no images in the folder"):
        expand_inputs([tmp_path / "empty"])


def test_one_file_named_twice_is_still_two_arguments(tmp_path: Path) -> None:
    """``a.jpg ./a.jpg -o out``: the two collapsed into one input and ``out`` was read as one
    output file (refused for its missing extension); more than one argument means a folder,
    as the user named them, and the file is restored once."""
    photo = _photos(tmp_path / "in", 1)[0]
    again = tmp_path / "in" / "sub" / ".." / photo.name  # another spelling of it
    (tmp_path / "in" / "sub").mkdir()
    assert expand_inputs([photo, again]) == ([photo], True)
    assert expand_inputs([photo, photo]) == ([photo], True)
    assert plan_outputs([photo], tmp_path / "multi", True) == [
        (photo, tmp_path / "multi" / photo.name)]


def test_a_folder_lists_what_studio_reads_and_leaves_out_other_files(tmp_path: Path) -> None:
    """A folder had skipped GIF, PGM and extension-less files that the GUIDE says it writes as
    PNGs (its listing went by the extensions Studio writes); notes and JSON sidecars beside
    the photos stay out, and a file named as an image is kept to fail and be reported."""
    import cv2

    folder = tmp_path / "odd"
    png = _photos(folder, 1)[0]
    gray = np.full((12, 16), 128, np.uint8)
    assert cv2.imwrite(str(folder / "anim.gif"), np.dstack([gray] * 3))
    assert cv2.imwrite(str(folder / "g.pgm"), gray)
    (folder / "noext").write_bytes(png.read_bytes())  # a PNG without its extension
    (folder / "p0.json").write_text("{}")  # a sidecar
    (folder / "notes").write_text("not an image, and no extension")
    (folder / "broken.jpg").write_bytes(b"not a JPEG")  # named as one: tried, and reported
    # A camera's RAW file starts as a TIFF does, and OpenCV decodes its thumbnail: left out.
    assert cv2.imwrite(str(folder / "IMG_1.tif"), gray)
    (folder / "IMG_1.tif").rename(folder / "IMG_1.NEF")
    files, is_folder = expand_inputs([folder])
    assert is_folder
    assert [f.name for f in files] == ["anim.gif", "broken.jpg", "g.pgm", "noext", "p0.png"]
    assert [d.name for _, d in plan_outputs(files, tmp_path / "out", is_folder)] == [
        "anim.png", "broken.jpg", "g.png", "noext.png", "p0.png"]
    # A pattern names every file it matches, as a shell would expand it: each is taken as a
    # file named is (tried by its content, a sidecar failing alone), but for a RAW file,
    # left out as from a folder (it had refused the whole pattern) and handed back to say.
    matched, _ = expand_inputs([str(folder / "[!I]*")])
    assert {f.name for f in matched} == {f.name for f in files} | {"p0.json", "notes"}
    skipped: list[Path] = []
    everything, is_folder = expand_inputs([str(folder / "*"), str(folder / "[Ia]*"),
                                           str(folder / "p0.*")], skipped)
    assert sorted(f.name for f in everything) == sorted(f.name for f in matched)
    assert is_folder and skipped == [folder / "IMG_1.NEF"]  # matched twice, said once
    assert expand_inputs([str(folder / "*")])[0] == everything  # not asked for: left out
    with pytest.raises(UsageError, match="IMG_1.NEF is a camera's RAW file"):
        expand_inputs([str(folder / "*.NEF")])  # nothing but RAW files: refused, as now
    with pytest.raises(UsageError, match="IMG_1.NEF is a camera's RAW file"):
        expand_inputs([str(folder / "*"), folder / "IMG_1.NEF"])  # named: refused, as now
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "a.txt").write_text("x")
    with pytest.raises(DRCNetError, match="no images in the folder .*subfolders are not"):
        expand_inputs([tmp_path / "text"])


def test_a_named_raw_file_is_refused_as_a_folder_leaves_it_out(tmp_path: Path) -> None:
    """A camera's RAW file named alone had been decoded by its content: OpenCV reads the
    small preview it embeds (a RAW file starts as a TIFF does), and that was restored."""
    import cv2

    raw = tmp_path / "DSC_0001.NEF"
    assert cv2.imwrite(str(tmp_path / "x.tif"), np.full((12, 16), 128, np.uint8))
    (tmp_path / "x.tif").rename(raw)
    for named in (raw, tmp_path / "gone.CR2"):  # its name is wrong whatever the disk holds
        with pytest.raises(UsageError, match=rf"^{re.escape(str(named))} is a camera's RAW "
                                             r"file \(\.\w+\): .*; convert it to TIFF or PNG "
                                             r"first \(a folder named instead .*\)$"):
            expand_inputs([named])
    upper = tmp_path / "SHOT.TIF"  # any case of a name Studio reads
    raw.rename(upper)
    assert expand_inputs([upper]) == ([upper], False)
    other = tmp_path / "shot.jfif"  # a name folders leave out but not a RAW one: by content
    upper.rename(other)
    assert expand_inputs([other]) == ([other], False)
    with pytest.raises(ImageReadError, match="no such file"):
        expand_inputs([tmp_path / "gone.tif"])


def test_an_output_ending_in_a_slash_is_a_folder_whatever_its_name(tmp_path: Path) -> None:
    """-o shots.png/ had been refused as "looks like an image file" though the slash names a
    folder."""
    photos = _photos(tmp_path / "in", 2)
    out = str(tmp_path / "shots.png") + "/"
    assert plan_outputs(photos[:1], out) == [(photos[0], tmp_path / "shots.png" / "p0.png")]
    assert [d for _, d in plan_outputs(photos, out, folder=True)] == [
        tmp_path / "shots.png" / p.name for p in photos]
    with pytest.raises(ImageWriteError, match="looks like an image file"):  # no slash
        plan_outputs(photos, tmp_path / "shots.png", folder=True)


def test_plan_outputs_refuses_to_replace_an_input(tmp_path: Path) -> None:
    photos = _photos(tmp_path / "in", 2)
    assert plan_outputs(photos, tmp_path / "out") == [(p, tmp_path / "out" / p.name)
                                                      for p in photos]
    with pytest.raises(ImageWriteError, match="is an input file"):
        plan_outputs(photos, tmp_path / "in")
    with pytest.raises(ImageWriteError, match="the output must be a folder"):
        plan_outputs(photos, tmp_path / "x.png")
    assert plan_outputs(photos[:1], tmp_path / "one.png") == [(photos[0], tmp_path / "one.png")]
    with pytest.raises(ImageWriteError, match="no file extension.*or end -o with / to write "
                                              "into a folder"):
        plan_outputs(photos[:1], tmp_path / "restored", name="-o")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / photos[0].name).hardlink_to(photos[0])  # refused before any model runs
    with pytest.raises(ImageWriteError, match="is an input file"):
        plan_outputs(photos, tmp_path / "out")


def test_plan_outputs_refuses_inputs_that_would_share_an_output(tmp_path: Path) -> None:
    a, b = Path("c1/IMG.png"), Path("c2/img.png")  # one file on macOS's and Windows' disks
    with pytest.raises(ImageWriteError, match=r"several inputs would be written as IMG\.png "
                                              r"\(c1/IMG\.png, c2/img\.png\)"):
        plan_outputs([a, b], tmp_path / "out")
    with pytest.raises(ImageWriteError, match="would be written as x.png"):
        plan_outputs([Path("a/x.png"), Path("b/x.png")], tmp_path / "out")
    # café as one character and as e plus an accent: one name on macOS's disks
    with pytest.raises(ImageWriteError, match="several inputs would be written as caf"):
        plan_outputs([Path("a/caf\u00e9.png"), Path("b/cafe\u0301.png")], tmp_path / "out")


def test_an_input_in_a_format_not_written_gets_a_png_in_a_folder(tmp_path: Path) -> None:
    """A GIF had been restored in full, then refused when written ('.gif' is not a
    supported image type), leaving the output folder empty."""
    out = tmp_path / "out"
    pairs = plan_outputs([Path("a/anim.gif"), Path("a/noext"), Path("a/x.JPG")], out)
    assert [d for _, d in pairs] == [out / "anim.png", out / "noext.png", out / "x.JPG"]
    with pytest.raises(ImageWriteError, match="would be written as anim.png"):
        plan_outputs([Path("a/anim.gif"), Path("b/anim.png")], out)


def test_notes_say_what_the_output_cannot_hold(tmp_path: Path, model: DRCNet) -> None:
    rng = np.random.default_rng(0)
    src = write_image(tmp_path / "deep.png", rng.random((32, 40, 3), dtype=np.float32),
                      alpha=np.full((32, 40), 0.5, np.float32), bit_depth=16)
    tiles = TileConfig(tile=32, overlap=8)
    (out,) = run(restore_files(model, [(src, tmp_path / "deep.jpg")], tiles))
    assert out.status == RESTORED
    assert out.note == ("the .jpg output keeps no transparency (it is flattened over white) "
                        "and no 16-bit depth; it is written in 8 bits")
    (out,) = run(restore_files(model, [(src, tmp_path / "deep.tif")], tiles))
    assert out.note == ""


def test_restore_files_writes_what_restore_tiled_makes(tmp_path: Path, model: DRCNet) -> None:
    photos = _photos(tmp_path / "in", 2)
    (tmp_path / "out").mkdir()
    pairs = plan_outputs(photos, tmp_path / "out")
    tiles = TileConfig(tile=32, overlap=8)
    records = []
    results = run(restore_files(model, pairs, tiles), records.append)
    assert [r.status for r in results] == [RESTORED, RESTORED]
    assert all(r.range is not None for r in results)
    # per file: every tile, then one record that carries the file's result
    ends = [p for p in records if p.result is not None]
    assert [p.index for p in ends] == [0, 1]
    assert records[-1].fraction == 1.0
    fractions = [p.fraction for p in records]
    assert fractions == sorted(fractions) and fractions[0] > 0
    expected = run(restore_tiled(model, read_image(photos[1]).rgb, tiles))
    got = read_image(tmp_path / "out" / "p1.png").rgb
    assert np.abs(got - expected).max() <= 1 / 255 + 1e-6  # 8-bit rounding only
    assert summary(results) == "2 of 2 restored"


def test_a_bad_file_fails_alone_and_existing_outputs_can_be_kept(tmp_path: Path,
                                                                 model: DRCNet) -> None:
    photos = _photos(tmp_path / "in", 3)
    photos[1].write_bytes(b"not an image")
    out = tmp_path / "out"
    out.mkdir()
    (out / "p2.png").write_bytes(b"keep me")
    pairs = plan_outputs(photos, out)
    results = run(restore_files(model, pairs, TileConfig(tile=32, overlap=8),
                                    overwrite=False))
    assert [r.status for r in results] == [RESTORED, FAILED, SKIPPED]
    assert isinstance(results[1].error, DRCNetError) and results[1].message
    assert (out / "p2.png").read_bytes() == b"keep me"
    assert not (out / "p1.png").exists()
    assert summary(results) == "1 of 3 restored, 1 failed, 1 skipped"


def test_cancel_stops_between_tiles_and_writes_nothing_half_made(tmp_path: Path,
                                                                 model: DRCNet) -> None:
    photos = _photos(tmp_path / "in", 3, size=(64, 64))
    out = tmp_path / "out"
    out.mkdir()
    pairs = plan_outputs(photos, out)
    stop = False

    def note(p) -> None:
        nonlocal stop
        if p.index == 1 and p.result is None:  # inside the second file
            stop = True

    results = run(restore_files(model, pairs, TileConfig(tile=32, overlap=8),
                                cancel=lambda: stop), note)
    assert [r.status for r in results] == [RESTORED, CANCELLED, CANCELLED]
    assert sorted(p.name for p in out.iterdir()) == ["p0.png"]
    assert summary(results) == "1 of 3 restored, 2 cancelled"


def test_png_outputs_record_the_parameters_of_their_run(tmp_path: Path, model: DRCNet) -> None:
    photos = _photos(tmp_path / "in", 2)
    out = tmp_path / "out"
    out.mkdir()
    pairs = [(photos[0], out / "a.png"), (photos[1], out / "b.jpg")]
    params = ExportParams(task="denoise", t=0.6, delta=1e-5, ea=True, weights="w.safetensors",
                          weights_sha256="ab" * 32, device="cpu", tile=32, overlap=8)
    run(restore_files(model, pairs, TileConfig(tile=32, overlap=8), params=params))
    meta = read_png_text(out / "a.png")
    assert meta["drcnet.input"] == "p0.png" and meta["drcnet.t"] == "0.6"
    assert meta["drcnet.weights_sha256"] == "ab" * 32
    assert "drcnet.range_check" in meta
    assert read_image(out / "b.jpg").rgb.shape == (40, 56, 3)  # JPEG: written, no text
    run(restore_files(model, pairs[:1], TileConfig(tile=32, overlap=8)))
    assert "drcnet.t" not in read_png_text(out / "a.png")  # no params, no text


def test_strength_keeps_part_of_the_input_and_is_recorded(tmp_path: Path, model: DRCNet) -> None:
    photos = _photos(tmp_path / "in", 1)
    out = tmp_path / "out"
    out.mkdir()
    tiles = TileConfig(tile=32, overlap=8)
    params = ExportParams(task="denoise", t=0.6, delta=1e-5, ea=True, weights="w.safetensors",
                          weights_sha256="ab" * 32, device="cpu", tile=32, overlap=8)
    run(restore_files(model, [(photos[0], out / "full.png")], tiles))
    run(restore_files(model, [(photos[0], out / "half.png")], tiles, params=params,
                      strength=0.5))
    src = read_image(photos[0]).rgb
    full, half = read_image(out / "full.png").rgb, read_image(out / "half.png").rgb
    assert np.abs(full - src).mean() > 0.01  # the model changes the image
    np.testing.assert_allclose(half, (src + full) / 2, atol=1.5 / 255)  # 8-bit rounding
    assert read_png_text(out / "half.png")["drcnet.strength"] == "0.5"
    with pytest.raises(DRCNetError, match="strength"):
        run(restore_files(model, [(photos[0], out / "x.png")], tiles, strength=2.0))
    assert not (out / "x.png").exists()


def test_outputs_keep_the_inputs_colour_profile_and_camera_record(tmp_path: Path,
                                                                 model: DRCNet) -> None:
    src = _photos(tmp_path / "in", 1)[0]
    icc = b"\x00\x00\x02\x00" + b"x" * 12 + b"RGB " + b"y" * 492  # header says RGB
    exif = b"II*\x00" + (8).to_bytes(4, "little") + (0).to_bytes(2, "little") + bytes(4)
    tagged = tmp_path / "in" / "tagged.png"
    write_image(tagged, read_image(src).rgb, icc=icc, exif=exif)
    out = tmp_path / "out"
    out.mkdir()
    pairs = [(tagged, out / "a.png"), (tagged, out / "b.jpg"), (src, out / "c.png")]
    run(restore_files(model, pairs, TileConfig(tile=32, overlap=8)))
    for name in ("a.png", "b.jpg"):
        back = read_image(out / name)
        assert back.icc == icc and back.exif == exif
    assert read_image(out / "c.png").icc is None  # an input without one: none added


def test_outputs_keep_the_inputs_print_resolution_and_png_text(tmp_path: Path,
                                                               model: DRCNet) -> None:
    """Both had been dropped from every output without a note."""
    src = _photos(tmp_path / "in", 1)[0]
    scan = write_image(tmp_path / "in" / "scan.png", read_image(src).rgb, dpi=(300, 300),
                       metadata={"Title": "Sweets", "drcnet.t": "0.9"})
    out = tmp_path / "out"
    out.mkdir()
    params = ExportParams(task="denoise", t=0.6, delta=1e-5, ea=True, weights="w.safetensors",
                          weights_sha256="ab" * 32, device="cpu", tile=32, overlap=8)
    pairs = [(scan, out / "a.png"), (scan, out / "b.jpg"), (scan, out / "c.webp")]
    results = run(restore_files(model, pairs, TileConfig(tile=32, overlap=8), params=params))
    assert [r.status for r in results] == [RESTORED] * 3
    for name in ("a.png", "b.jpg"):
        assert np.allclose(read_image(out / name).dpi, 300, atol=0.01), name
    text = read_png_text(out / "a.png")
    assert text["Title"] == "Sweets" and text["drcnet.t"] == "0.6"  # Studio's key wins
    assert results[0].note == ""
    assert results[1].note == "the input's PNG text (Title) is not carried over"
    assert results[2].note == ("the .webp output keeps no print resolution (the input's 300 "
                               "dpi); the input's PNG text (Title) is not carried over")


def test_sibling_image_walks_the_folder_in_file_manager_order(tmp_path: Path) -> None:
    for name in ("IMG_10.jpg", "img_2.png", "IMG_1.tif", ".hidden.png", "notes.txt",
                 "b.webp", "anim.gif", "README"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "scan").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))  # no extension
    (tmp_path / "sub.png").mkdir()  # a folder with an image's name is not an image
    # The files a folder input restores: GIF and an extension-less image too (Next Image had
    # passed over them while `drcnet restore` took them).
    order = ["anim.gif", "b.webp", "IMG_1.tif", "img_2.png", "IMG_10.jpg", "scan"]
    p = tmp_path / order[0]
    walked = [p.name]
    while (p := sibling_image(p, 1)) is not None:
        walked.append(p.name)
    assert walked == order
    assert sibling_image(tmp_path / "IMG_10.jpg", -1) == tmp_path / "img_2.png"
    assert sibling_image(tmp_path / "anim.gif", -1) is None
    # A file deleted since it was opened keeps its place in the order.
    (tmp_path / "img_2.png").unlink()
    assert sibling_image(tmp_path / "img_2.png", 1) == tmp_path / "IMG_10.jpg"
    assert sibling_image(tmp_path / "img_2.png", -1) == tmp_path / "IMG_1.tif"
    assert sibling_image(tmp_path / "gone" / "x.png", 1) is None


def test_an_output_its_format_cannot_hold_fails_before_the_restore(
        tmp_path: Path, model: DRCNet, monkeypatch: pytest.MonkeyPatch) -> None:
    import drcnet.batch

    src = tmp_path / "pano.png"
    write_image(src, np.zeros((2, 16400, 3), np.float32))

    def no_restore(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("restored an image whose output cannot be written")

    monkeypatch.setattr(drcnet.batch, "restore_tiled", no_restore)
    (out,) = run(restore_files(model, [(src, tmp_path / "pano.webp")],
                               TileConfig(tile=32, overlap=8)))
    assert out.status == FAILED and "holds at most 16383 pixels" in str(out.error)


def test_colour_hidden_under_full_transparency_does_not_reach_the_network(
        tmp_path: Path, model: DRCNet) -> None:
    """A file's colour under alpha 0 is nobody's to see, but the network normalises over
    the tile: a pure blue there had cost the visible half of the blurry sample up to 8.8 dB
    (docs/eval/transparent_fill.py). Filled from the nearest visible pixels, the hidden
    colour changes nothing visible."""
    rng = np.random.default_rng(3)
    rgb = rng.random((40, 48, 3), dtype=np.float32)
    alpha = np.ones((40, 48), np.float32)
    alpha[:, 24:] = 0.0
    outs = []
    for hidden in ((0.0, 0.0, 1.0), (1.0, 0.2, 0.0)):
        src = rgb.copy()
        src[:, 24:] = hidden
        path = write_image(tmp_path / f"in{len(outs)}.png", src, alpha=alpha)
        (res,) = run(restore_files(model, [(path, tmp_path / f"out{len(outs)}.png")],
                                   TileConfig(tile=0)))
        assert res.status == RESTORED
        outs.append(read_image(res.dst))
    assert np.array_equal(outs[0].rgb[:, :24], outs[1].rgb[:, :24])
    assert np.array_equal(outs[0].alpha, outs[1].alpha)


def test_fill_transparent_takes_the_nearest_visible_colour() -> None:
    from drcnet.imageio import fill_transparent

    rgb = np.zeros((3, 4, 3), np.float32)
    rgb[:, 0] = (1.0, 0.0, 0.0)  # visible column 0: red; column 3: green
    rgb[:, 3] = (0.0, 1.0, 0.0)
    rgb[:, 1:3] = (0.0, 0.0, 1.0)  # hidden blue between them
    alpha = np.ones((3, 4), np.float32)
    alpha[:, 1:3] = 0.0
    out = fill_transparent(rgb, alpha)
    assert np.array_equal(out[:, 1], rgb[:, 0]) and np.array_equal(out[:, 2], rgb[:, 3])
    assert np.array_equal(out[:, [0, 3]], rgb[:, [0, 3]])
    assert fill_transparent(rgb, None) is rgb and fill_transparent(rgb, alpha * 0) is rgb


def test_part_strength_never_brings_out_what_the_file_hid(tmp_path: Path, model: DRCNet) -> None:
    """Below 100 %, the mix had taken the file's own colour under alpha 0 (here pure blue,
    never shown) into the output's hidden pixels, where the full-strength result and the
    GUI's views had the nearest visible colour; every writer mixes with that now."""
    rgb = np.full((32, 40, 3), 0.5, np.float32)
    rgb[:, :20] = (0.0, 0.0, 1.0)
    alpha = np.ones((32, 40), np.float32)
    alpha[:, :20] = 0.0
    src = write_image(tmp_path / "cut.png", rgb, alpha=alpha)
    tiles = TileConfig(tile=32, overlap=8)
    (out,) = run(restore_files(model, [(src, tmp_path / "o.png")], tiles, strength=0.5))
    assert out.status == RESTORED
    hidden = read_image(tmp_path / "o.png").rgb[:, :20]
    assert hidden[..., 2].mean() < 0.7  # not half of the hidden blue mixed in


def test_pairs_of_strings_are_paths(tmp_path: Path, model: DRCNet) -> None:
    """restore_files(m, [("a.png", "b.png")], overwrite=False) had raised AttributeError
    ('str' object has no attribute 'exists'); with overwrite=True it ran."""
    (photo,) = _photos(tmp_path / "in", 1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "kept.png").write_bytes(b"keep me")
    pairs = [(str(photo), str(out / "kept.png")), (str(photo), str(out / "new.png"))]
    params = ExportParams(task="denoise", t=0.6, delta=1e-5, ea=True, weights="w.safetensors",
                          weights_sha256="ab" * 32, device="cpu", tile=32, overlap=8)
    results = run(restore_files(model, pairs, TileConfig(tile=32, overlap=8), overwrite=False,
                                params=params))  # (its input name is the source's .name)
    assert [r.status for r in results] == [SKIPPED, RESTORED]
    assert results[1].src == photo and isinstance(results[1].dst, Path)
    assert (out / "kept.png").read_bytes() == b"keep me"
    assert read_image(out / "new.png").rgb.shape == (40, 56, 3)


def test_restore_files_defaults_to_the_models_training_crop(tmp_path: Path,
                                                           monkeypatch) -> None:  # noqa: ANN001
    """As restore_tiled: tiles of the model's training crop when none are given, not 256."""
    import drcnet.inference as inf

    torch.manual_seed(0)
    net = DRCNet(wf=8, depth=2).eval()
    net.train_crop = 32
    shapes = []
    real = inf.forward_batch
    monkeypatch.setattr(inf, "forward_batch",
                        lambda m, crops: shapes.append(crops.shape) or real(m, crops))
    (photo,) = _photos(tmp_path / "in", 1)
    (result,) = run(restore_files(net, [(photo, tmp_path / "out.png")]))
    assert result.status == RESTORED
    assert shapes and set(shapes) == {(1, 32, 32, 3)}

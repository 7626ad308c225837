from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from drcnet import DRCNet, registry
from drcnet.cli import main
from drcnet.imageio import read_image, read_png_text, write_image
from drcnet.weights import save_weights, sha256


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "w.safetensors"
    save_weights(path, DRCNet(wf=8, depth=2))
    return path


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "in.png"
    write_image(path, rng.random((40, 50, 3), dtype=np.float32))
    return path


def _one_line_error(capsys, code: int) -> str:
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert err.startswith("drcnet: error: ") and "\n" not in err, err
    assert "Traceback" not in err
    return err


def test_restore_one_file(tmp_path, weights, photo, capsys) -> None:
    out = tmp_path / "out.png"
    before = photo.read_bytes()
    code = main(["restore", str(photo), "-o", str(out), "--task", "denoise", "--weights",
                 str(weights), "--device", "cpu", "-q"])
    assert code == 0
    assert read_image(out).rgb.shape == (40, 50, 3)
    assert photo.read_bytes() == before
    meta = read_png_text(out)  # the run's parameters, as an export records them
    assert meta["drcnet.weights"] == "w.safetensors" and meta["drcnet.input"] == "in.png"
    assert meta["drcnet.weights_sha256"] == sha256(weights) and meta["drcnet.task"] == "denoise"


def test_restore_strength_and_its_errors(tmp_path, weights, photo, capsys) -> None:
    base = ["restore", str(photo), "--task", "denoise", "--weights", str(weights),
            "--device", "cpu", "-q"]
    assert main(base + ["-o", str(tmp_path / "full.png")]) == 0
    assert main(base + ["-o", str(tmp_path / "part.png"), "--strength", "75%"]) == 0
    src, full = read_image(photo).rgb, read_image(tmp_path / "full.png").rgb
    part = read_image(tmp_path / "part.png").rgb
    np.testing.assert_allclose(part, src + 0.75 * (full - src), atol=1.5 / 255)
    assert read_png_text(tmp_path / "part.png")["drcnet.strength"] == "0.75"
    assert read_png_text(tmp_path / "full.png")["drcnet.strength"] == "1.0"
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(base + ["-o", str(tmp_path / "bad.png"), "--strength", "1.5"])
    assert exc.value.code == 2
    assert "'1.5' is not a strength" in capsys.readouterr().err
    assert not (tmp_path / "bad.png").exists()


def test_restore_gray_stays_gray(tmp_path, weights, photo) -> None:
    import cv2

    src = tmp_path / "gray.png"
    cv2.imwrite(str(src), (read_image(photo).rgb[..., 0] * 65535).astype(np.uint16))
    out = tmp_path / "gray_out.png"
    assert main(["restore", str(src), "-o", str(out), "--task", "denoise", "--weights",
                 str(weights), "--device", "cpu", "-q"]) == 0
    back = read_image(out)
    assert back.gray and back.bit_depth == 16


def test_restore_variant_loads_its_weights(tmp_path, photo, monkeypatch, capsys) -> None:
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path / "weights")
    torch.manual_seed(0)
    save_weights(tmp_path / "weights" / "denoise.safetensors", DRCNet(wf=8, depth=2))
    torch.manual_seed(1)
    save_weights(tmp_path / "weights" / "denoise-gaussian.safetensors", DRCNet(wf=8, depth=2))
    outs = {}
    for variant in ("default", "gaussian"):
        outs[variant] = tmp_path / f"{variant}.png"
        assert main(["restore", str(photo), "-o", str(outs[variant]), "--task", "denoise",
                     "--variant", variant, "--device", "cpu", "-q"]) == 0
    assert not np.array_equal(read_image(outs["default"]).rgb, read_image(outs["gaussian"]).rgb)
    code = main(["restore", str(photo), "-o", str(tmp_path / "x.png"), "--task", "derain",
                 "--variant", "gaussian", "-q"])
    assert "only for denoise" in _one_line_error(capsys, code)


def test_restore_many_into_folder_keeps_names_and_16bit(tmp_path, weights, photo) -> None:
    deep = tmp_path / "deep.png"
    write_image(deep, np.full((20, 30, 3), 0.25, np.float32), bit_depth=16)
    out = tmp_path / "outdir"
    code = main(["restore", str(photo), str(deep), "-o", str(out), "--task", "derain",
                 "--weights", str(weights), "--tile", "0", "-q"])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["deep.png", "in.png"]
    assert read_image(out / "deep.png").bit_depth == 16


def test_knob_flags_change_the_output(tmp_path, weights, photo) -> None:
    outs = []
    for extra in ([], ["--no-ea"], ["--t", "0.5"]):
        out = tmp_path / f"o{len(outs)}.png"
        assert main(["restore", str(photo), "-o", str(out), "--task", "denoise", "--weights",
                     str(weights), "-q", *extra]) == 0
        outs.append(read_image(out).rgb)
    assert np.abs(outs[0] - outs[1]).max() > 0
    assert np.abs(outs[0] - outs[2]).max() > 0


def test_compile_flag_gives_the_eager_result(tmp_path, weights, photo, monkeypatch) -> None:
    import drcnet.cli

    compiled = []  # the same output alone would hold if --compile were ignored
    real = drcnet.cli.compile_model
    monkeypatch.setattr(drcnet.cli, "compile_model",
                        lambda *a, **k: compiled.append(real(*a, **k)) or compiled[-1])
    outs = []
    for extra in ([], ["--compile"]):
        out = tmp_path / f"c{len(outs)}.png"
        # 32-px tiles: every tile of the 40×50 photo has the shape compiled up front
        assert main(["restore", str(photo), "-o", str(out), "--task", "denoise", "--weights",
                     str(weights), "-q", "--device", "cpu", "--precision", "fp32",
                     "--tile", "32", "--overlap", "8", *extra]) == 0
        outs.append(read_image(out).rgb)
    assert np.abs(outs[0] - outs[1]).max() <= 1 / 255
    assert len(compiled) == 1 and hasattr(compiled[0], "_orig_mod")  # torch.compile's module


def test_precision_and_channels_last_flags(tmp_path, weights, photo, monkeypatch) -> None:
    import drcnet.devices
    from drcnet.metrics import psnr

    # bf16 is refused where it is emulated; the numbers of a tiny model hold either way.
    monkeypatch.setattr(drcnet.devices, "cpu_has_native_bf16", lambda: True)
    runtimes = []  # an ignored --channels-last gives the same output, so it is watched
    real = DRCNet.set_runtime
    monkeypatch.setattr(DRCNet, "set_runtime", lambda self, *a, **k: runtimes.append(
        (self.precision, getattr(self, "channels_last", False), a, k)) or real(self, *a, **k))

    outs = {}
    for extra in (["--precision", "fp32"], ["--precision", "bf16"],
                  ["--precision", "fp32", "--channels-last"]):
        out = tmp_path / f"o{len(outs)}.png"
        assert main(["restore", str(photo), "-o", str(out), "--task", "denoise", "--weights",
                     str(weights), "-q", "--device", "cpu", *extra]) == 0
        outs[" ".join(extra)] = read_image(out).rgb
    ref = outs["--precision fp32"]
    bf16 = outs["--precision bf16"]
    assert psnr(bf16, ref) > 35 and np.abs(bf16 - ref).max() > 0  # bf16 ran: close, not same
    assert np.abs(outs["--precision fp32 --channels-last"] - ref).max() <= 1 / 255
    assert any(k.get("channels_last") for *_, k in runtimes)


@pytest.mark.parametrize("kind", ["missing", "empty", "corrupt", "text"])
def test_bad_inputs(tmp_path, weights, capsys, kind) -> None:
    src = tmp_path / f"bad_{kind}.png"
    if kind == "empty":
        src.write_bytes(b"")
    elif kind == "corrupt":
        src.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    elif kind == "text":
        src = tmp_path / "notes.txt"
        src.write_text("hello")
    out = tmp_path / "out.png"
    code = main(["restore", str(src), "-o", str(out), "--task", "denoise", "--weights",
                 str(weights)])
    err = _one_line_error(capsys, code)
    assert src.name in err
    assert not out.exists()
    assert not list(tmp_path.glob("*.part"))


def test_inputs_that_name_nothing_are_said_before_the_model_loads(tmp_path, weights, photo,
                                                                  capsys) -> None:
    """A missing input was reported as a bad output ("Cannot write out: it has no file
    extension"); a pattern the shell passed on (quoted, or Windows) is expanded here."""
    assert main(["restore", str(tmp_path / "nosuch"), "-o", str(tmp_path / "out"), "--task",
                 "denoise", "--weights", str(weights)]) == 1
    err = _one_line_error(capsys, 1)
    assert "no such file or folder" in err and "nosuch" in err
    shots = tmp_path / "shots"
    shots.mkdir()
    for name in ("IMG_10.png", "IMG_2.png", "a.jpg"):
        write_image(shots / name, read_image(photo).rgb)
    assert main(["restore", str(shots / "*.png"), "-o", str(tmp_path / "out"), "--task",
                 "denoise", "--weights", str(weights), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["IMG_10.png", "IMG_2.png"]
    assert err.index("IMG_2.png ->") < err.index("IMG_10.png ->")  # file-manager order
    assert err.rstrip().splitlines()[-1].startswith("2 of 2 restored in ")  # the summary
    assert main(["restore", str(shots / "*.tif"), "-o", str(tmp_path / "out"), "--task",
                 "denoise", "--weights", str(weights)]) == 1
    assert "*.tif (no file matches)" in _one_line_error(capsys, 1)
    (tmp_path / "other").mkdir()
    write_image(tmp_path / "other" / "a.jpg", read_image(photo).rgb)
    assert main(["restore", str(shots / "a.jpg"), str(tmp_path / "other" / "a.jpg"), "-o",
                 str(tmp_path / "out2"), "--task", "denoise", "--weights", str(weights)]) == 1
    err = _one_line_error(capsys, 1)
    assert str(shots / "a.jpg") in err and str(tmp_path / "other" / "a.jpg") in err
    # A match is not globbed again: a dangling link named like a pattern looped forever.
    (shots / "x*y.png").symlink_to(tmp_path / "nowhere")
    from drcnet.batch import expand_inputs

    found, _ = expand_inputs([str(shots / "*.png")])
    assert [p.name for p in found] == ["IMG_2.png", "IMG_10.png", "x*y.png"]


def test_restore_refuses_a_named_raw_file(tmp_path, weights, photo, capsys) -> None:  # noqa: ANN001
    """`drcnet restore photo.NEF` had restored the small preview OpenCV finds in it, though a
    folder's listing and Restore Files leave RAW files out."""
    raw = tmp_path / "DSC_0001.NEF"
    write_image(tmp_path / "x.tif", read_image(photo).rgb)  # a RAW file starts as a TIFF does
    (tmp_path / "x.tif").rename(raw)
    out = tmp_path / "o.png"
    code = main(["restore", str(raw), "-o", str(out), "--task", "denoise", "--weights",
                 str(weights), "--device", "cpu"])
    assert code == 2
    err = _one_line_error(capsys, code)
    assert f"{raw} is a camera's RAW file (.NEF)" in err
    assert "convert it to TIFF or PNG first" in err
    assert not out.exists()


def test_restore_a_pattern_leaves_raw_files_out_as_a_folder_does(tmp_path, weights, photo,
                                                                  capsys) -> None:  # noqa: ANN001
    """`drcnet restore "shots/*"` had refused the whole pattern for one RAW file it matched,
    though the folder named instead restores the other images."""
    shots = tmp_path / "shots"
    shots.mkdir()
    write_image(shots / "a.png", read_image(photo).rgb)
    for name in ("DSC_1.NEF", "DSC_2.cr2"):  # a RAW file starts as a TIFF does
        write_image(shots / "x.tif", read_image(photo).rgb)
        (shots / "x.tif").rename(shots / name)
    out = tmp_path / "out"
    common = ["-o", str(out), "--task", "denoise", "--weights", str(weights), "--device", "cpu"]
    assert main(["restore", str(shots / "*"), "-q", *common]) == 0
    assert [p.name for p in out.iterdir()] == ["a.png"]
    assert capsys.readouterr().err == (
        "drcnet: note: left out 2 camera RAW files a pattern matched (DSC_1.NEF, "
        "DSC_2.cr2): Studio does not read RAW files (it would read only the small preview "
        "they embed); convert them to TIFF or PNG first\n")
    # Nothing but RAW files matched, or one named: refused as before, before any work.
    for inputs in ([str(shots / "DSC_*")], [str(shots / "*.png"), str(shots / "DSC_1.NEF")]):
        code = main(["restore", *inputs, *common])
        assert code == 2
        assert "DSC_1.NEF is a camera's RAW file (.NEF)" in _one_line_error(capsys, code)
    # compare takes one image, and no pattern: a RAW name is refused there too.
    code = main(["compare", str(shots / "DSC_*.NEF"), "-o", str(tmp_path / "c.png"),
                 "--task", "denoise", "--weights", str(weights), "--device", "cpu"])
    assert code == 2 and "is a camera's RAW file (.NEF)" in _one_line_error(capsys, code)


def test_restore_a_folder(tmp_path, weights, photo, capsys) -> None:
    folder = tmp_path / "shots"
    (folder / "sub").mkdir(parents=True)
    write_image(folder / "b.jpg", read_image(photo).rgb)
    write_image(folder / "a.png", read_image(photo).rgb)
    write_image(folder / "sub" / "deep.png", read_image(photo).rgb)  # top level only
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.png").write_bytes(b"")
    out = tmp_path / "new" / "restored"  # created
    assert main(["restore", str(folder), "-o", str(out), "--task", "denoise", "--weights",
                 str(weights), "--device", "cpu"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.jpg"]
    assert "a.png ->" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    code = main(["restore", str(tmp_path / "empty"), "-o", str(out), "--task", "denoise",
                 "--weights", str(weights)])
    assert "no images in the folder" in _one_line_error(capsys, code)


def test_restore_a_folder_of_formats_studio_reads_but_does_not_write(tmp_path, weights,
                                                                     capsys) -> None:
    """`drcnet restore odd` had said "no images in the folder" for a GIF, a PGM and a file
    without extension, which the GUIDE says it writes as PNGs; a sidecar beside them is
    left out, not failed."""
    import cv2

    odd = tmp_path / "odd"
    odd.mkdir()
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 255, (24, 32), dtype=np.uint8)
    assert cv2.imwrite(str(odd / "anim.gif"), np.dstack([gray] * 3))
    assert cv2.imwrite(str(odd / "g.pgm"), gray)
    (odd / "noext").write_bytes(cv2.imencode(".png", gray)[1].tobytes())
    (odd / "noext.json").write_text("{}")
    out = tmp_path / "out"
    assert main(["restore", str(odd), "-o", str(out), "--task", "denoise", "--weights",
                 str(weights), "--device", "cpu", "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["anim.png", "g.png", "noext.png"]
    assert read_image(out / "g.png").rgb.shape == (24, 32, 3)


def test_ctrl_c_in_a_batch_is_one_line_that_counts_what_is_on_disk(
        tmp_path, weights, photo, capsys, monkeypatch) -> None:  # noqa: ANN001
    """It had been two lines, the first without "error:", counting a failed file as one
    whose output was kept."""
    import drcnet.cli

    rgb = read_image(photo).rgb
    files = [tmp_path / f"{n}.png" for n in ("a", "b", "c", "d")]
    for f in files:
        write_image(f, rgb)
    files[1].write_bytes(b"not an image")
    real = drcnet.cli.read_checked

    def read(src, max_pixels):  # noqa: ANN001, ANN202
        if src.name == "c.png":
            raise KeyboardInterrupt
        return real(src, max_pixels)

    monkeypatch.setattr(drcnet.cli, "read_checked", read)
    code = main(["restore", *map(str, files), "-o", str(tmp_path / "out"), "--task",
                 "denoise", "--weights", str(weights), "--device", "cpu", "-q"])
    assert code == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == ("drcnet: error: interrupted after 2 of 4 images (1 restored, "
                       "1 failed); the outputs written so far are kept")
    assert len(err) == 2 and "b.png" in err[0]  # the failure, said when it happened
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.png"]
    code = main(["restore", str(files[0]), "-o", "", "--task", "denoise"])  # -o "$UNSET"
    assert code == 2 and "-o is empty" in _one_line_error(capsys, code)


def test_sigterm_in_a_batch_ends_as_ctrl_c_does_with_status_143(
        tmp_path, weights, photo, capsys, monkeypatch) -> None:  # noqa: ANN001
    """`kill` or a scheduler's stop had ended a command at once, without a word (143)."""
    import os
    import signal

    import drcnet.cli

    rgb = read_image(photo).rgb
    files = [tmp_path / f"{n}.png" for n in ("a", "b", "c")]
    for f in files:
        write_image(f, rgb)
    real = drcnet.cli.read_checked

    def read(src, max_pixels):  # noqa: ANN001, ANN202
        if src.name == "b.png":
            os.kill(os.getpid(), signal.SIGTERM)  # handled in this (the main) thread
        return real(src, max_pixels)

    monkeypatch.setattr(drcnet.cli, "read_checked", read)
    before = signal.getsignal(signal.SIGTERM)
    code = main(["restore", *map(str, files), "-o", str(tmp_path / "out"), "--task",
                 "denoise", "--weights", str(weights), "--device", "cpu", "-q"])
    assert code == 143
    assert _one_line_error(capsys, code) == (
        "drcnet: error: terminated after 1 of 3 images (1 restored); the outputs written so "
        "far are kept")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.png"]
    assert signal.getsignal(signal.SIGTERM) is before  # put back after the command
    # A caller's own handler (or an inherited SIG_IGN) is left alone: it gets the signal.
    got: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: got.append(signum))
    try:
        code = main(["restore", *map(str, files), "-o", str(tmp_path / "out2"), "--task",
                     "denoise", "--weights", str(weights), "--device", "cpu", "-q"])
    finally:
        signal.signal(signal.SIGTERM, before)
    assert code == 0 and got == [signal.SIGTERM]
    assert len(list((tmp_path / "out2").iterdir())) == 3


def test_quiet_still_says_when_a_setting_was_changed(tmp_path, weights, photo, capsys) -> None:  # noqa: ANN001
    """-q silences progress, not what changed the run: a lowered overlap had gone unsaid."""
    assert main(["restore", str(photo), "-o", str(tmp_path / "o.png"), "--task", "denoise",
                 "--weights", str(weights), "--device", "cpu", "--tile", "32", "--overlap",
                 "16", "-q"]) == 0
    assert capsys.readouterr().err.strip() == (
        "drcnet: note: an overlap of 16 px is more than a quarter of the 32-px tile; using 8")


def test_restore_refuses_before_the_work(tmp_path, weights, photo, capsys, monkeypatch) -> None:
    def no_model(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the model was loaded before the output was checked")

    monkeypatch.setattr(registry, "load_model", no_model)
    code = main(["restore", str(photo), "-o", str(tmp_path / "out.txt"), "--task", "denoise"])
    assert "not a supported image type" in _one_line_error(capsys, code)
    code = main(["compare", str(photo), "-o", str(tmp_path / "out.txt"), "--task", "denoise"])
    assert "not a supported image type" in _one_line_error(capsys, code)
    code = main(["restore", str(tmp_path), "-o", str(tmp_path / "new.png"), "--task",
                 "denoise"])  # a folder in, an image name out
    assert "-o must be a folder" in _one_line_error(capsys, code)
    code = main(["compare", str(photo), "-o", str(tmp_path / "cmp") + "/", "--task",
                 "denoise"])
    assert "it is a folder; name the image file" in _one_line_error(capsys, code)
    code = main(["restore", str(photo), "-o", str(tmp_path / "o"), "--task", "denoise"])
    assert "it has no file extension" in _one_line_error(capsys, code)
    code = main(["restore", str(photo), "-o", str(tmp_path / "o.png"), "--task", "denoise",
                 "--max-pixels", "0"])
    assert "--max-pixels must be >= 1" in _one_line_error(capsys, code)


def test_weights_and_variant_together_are_refused(tmp_path, weights, photo, capsys) -> None:
    with pytest.raises(SystemExit):  # it used to run the file and drop the variant unsaid
        main(["restore", str(photo), "-o", str(tmp_path / "o.png"), "--task", "denoise",
              "--weights", str(weights), "--variant", "gaussian"])
    assert "--weights and --variant both choose the weights" in capsys.readouterr().err


def test_skip_existing_keeps_outputs_that_exist(tmp_path, weights, photo, capsys) -> None:
    other = tmp_path / "other.png"
    write_image(other, read_image(photo).rgb)
    out = tmp_path / "out"
    out.mkdir()
    (out / "other.png").write_bytes(b"kept")  # not even an image: it must not be read
    args = ["restore", str(photo), str(other), "-o", str(out), "--task", "denoise",
            "--weights", str(weights), "--device", "cpu", "--skip-existing"]
    assert main(args) == 0
    assert (out / "other.png").read_bytes() == b"kept"
    assert read_image(out / photo.name).rgb.shape == read_image(photo).rgb.shape
    assert f"{other}: skipped, {out / 'other.png'} exists" in capsys.readouterr().err


def test_one_input_and_a_folder_named_with_a_slash(tmp_path, weights, photo, capsys) -> None:
    out = str(tmp_path / "newdir") + "/"
    assert main(["restore", str(photo), "-o", out, "--task", "denoise", "--weights",
                 str(weights), "--device", "cpu", "-q"]) == 0
    assert [p.name for p in (tmp_path / "newdir").iterdir()] == [photo.name]
    # A folder named like an image: the slash still says folder (it had been refused as
    # "looks like an image file").
    out = str(tmp_path / "dotdir.png") + "/"
    assert main(["restore", str(photo), "-o", out, "--task", "denoise", "--weights",
                 str(weights), "--device", "cpu", "-q"]) == 0
    assert [p.name for p in (tmp_path / "dotdir.png").iterdir()] == [photo.name]


def test_restore_output_folders(tmp_path, weights, photo, capsys) -> None:
    args = ["--task", "denoise", "--weights", str(weights), "--device", "cpu", "-q"]
    (tmp_path / "file").write_text("")
    write_image(tmp_path / "other.png", read_image(photo).rgb)
    two = [str(photo), str(tmp_path / "other.png")]
    code = main(["restore", *two, "-o", str(tmp_path / "file" / "sub"), *args])
    assert "cannot create the output folder" in _one_line_error(capsys, code)
    # Refused runs leave no new folder behind.
    code = main(["restore", *two, "-o", str(tmp_path / "fresh"), *args, "--tile", "3"])
    assert "at least 16" in _one_line_error(capsys, code)
    assert not (tmp_path / "fresh").exists()
    # A file named twice, alone and through its folder, is restored once.
    folder = tmp_path / "one"
    folder.mkdir()
    write_image(folder / "x.png", read_image(photo).rgb)
    assert main(["restore", str(folder), str(folder / "x.png"), "-o", str(tmp_path / "o"),
                 *args]) == 0
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["x.png"]
    # And twice by itself, in two spellings: "-o multi" is still a folder, as for any two
    # inputs (it had been taken for one output file and refused: "it has no file extension").
    (folder / "sub").mkdir()
    assert main(["restore", str(folder / "x.png"), str(folder / "sub" / ".." / "x.png"),
                 "-o", str(tmp_path / "multi"), *args]) == 0
    assert [p.name for p in (tmp_path / "multi").iterdir()] == ["x.png"]


def test_restore_tile_limits(tmp_path, weights, photo, capsys) -> None:
    args = ["restore", str(photo), "-o", str(tmp_path / "o.png"), "--task", "denoise",
            "--weights", str(weights), "--device", "cpu"]
    code = main([*args, "--tile", "3"])
    assert "at least 16" in _one_line_error(capsys, code)
    assert main([*args, "--tile", "64", "--overlap", "100", "-q"]) == 0
    assert "using 16" in capsys.readouterr().err  # said with -q too: a setting was changed
    assert main([*args, "--tile", "64", "--overlap", "100"]) == 0
    assert "using 16" in capsys.readouterr().err
    assert main([*args, "--tile", "64", "--overlap", "32"]) == 0  # asked for, though default
    assert "using 16" in capsys.readouterr().err
    for quiet in (["--tile", "64"], ["--tile", "0", "--overlap", "8"]):  # none asked, no tiles
        assert main([*args, *quiet]) == 0
        assert "note:" not in capsys.readouterr().err


def test_weights_for_another_task_are_refused(tmp_path, photo, capsys) -> None:
    path = tmp_path / "derain-run.safetensors"
    save_weights(path, DRCNet(wf=8, depth=2), {"task": "derain"})
    code = main(["restore", str(photo), "-o", str(tmp_path / "o.png"), "--task", "denoise",
                 "--weights", str(path)])
    assert "trained for derain, not denoise" in _one_line_error(capsys, code)
    assert main(["restore", str(photo), "-o", str(tmp_path / "o.png"), "--task", "derain",
                 "--weights", str(path), "--device", "cpu", "-q"]) == 0
    code = main(["restore", str(photo), "-o", str(tmp_path / "o.png"), "--task", "derain",
                 "--weights", str(tmp_path)])
    assert "is a folder" in _one_line_error(capsys, code)


def test_oversized_image_refused(tmp_path, weights, photo, capsys) -> None:
    out = tmp_path / "out.png"
    code = main(["restore", str(photo), "-o", str(out), "--task", "denoise", "--weights",
                 str(weights), "--max-pixels", "100"])
    err = _one_line_error(capsys, code)
    assert "Raise the limit with --max-pixels" in err
    assert "is 50×40 (2,000 pixels), over the 100-pixel limit" in err  # not "0.0 MP"
    assert not out.exists()
    with pytest.raises(SystemExit):
        main(["restore", "--help"])
    assert "more than N pixels" in " ".join(capsys.readouterr().out.split())  # its unit


@pytest.mark.parametrize(("command", "said"), [
    ("bench", "--device DEVICE compute device: auto|cpu|cuda|mps or cuda:N (default auto)"),
    ("eval", "--limit N use at most N images"),
    ("compare", "--no-sidecar write no JSON sidecar; one Studio wrote earlier for this output "
                "is removed"),
])
def test_help_describes_each_option(command, said, capsys) -> None:
    """bench's --device had no description; eval's --limit LIMIT said "at most N images";
    compare's --no-sidecar did not say it removes an earlier sidecar."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert said in " ".join(capsys.readouterr().out.split())


def test_output_equal_to_input_is_refused(weights, photo, capsys) -> None:
    before = photo.read_bytes()
    code = main(["restore", str(photo), "-o", str(photo), "--task", "denoise", "--weights",
                 str(weights)])
    assert "input" in _one_line_error(capsys, code)
    assert photo.read_bytes() == before


def test_unwritable_output(tmp_path, weights, photo, capsys) -> None:
    code = main(["restore", str(photo), "-o", str(tmp_path / "no" / "such" / "o.png"),
                 "--task", "denoise", "--weights", str(weights)])
    assert "does not exist; create it first" in _one_line_error(capsys, code)
    assert not (tmp_path / "no").exists()  # a file's folder is not made (-o's help says so)
    with pytest.raises(SystemExit):
        main(["restore", "--help"])
    assert "(one input file; its folder must exist)" in " ".join(
        capsys.readouterr().out.split())


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_folder_no_file_can_be_made_in_is_said_with_its_reason(tmp_path, weights, photo,
                                                                 capsys) -> None:
    """/proc had been called "not writable (No such file or directory)": two causes."""
    for cmd in ("restore", "compare"):
        code = main([cmd, str(photo), "-o", "/proc/x.png", "--task", "denoise", "--weights",
                     str(weights)])
        err = _one_line_error(capsys, code)
        assert code == 1 and "cannot create a file in the output folder /proc (" in err, err


def test_missing_device(weights, photo, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code = main(["restore", str(photo), "-o", str(tmp_path / "o.png"), "--task", "denoise",
                 "--weights", str(weights), "--device", "cuda"])
    assert "cuda" in _one_line_error(capsys, code)


def test_unsafe_weights(tmp_path, photo, capsys) -> None:
    class Evil:
        def __reduce__(self):  # noqa: ANN204
            return (print, ("side effect",))

    bad = tmp_path / "evil.pth"
    torch.save({"x": Evil()}, bad)
    code = main(["restore", str(photo), "-o", str(tmp_path / "o.png"), "--task", "denoise",
                 "--weights", str(bad)])
    assert "refused" in _one_line_error(capsys, code)
    assert not (tmp_path / "o.png").exists()


def test_no_shipped_weights_is_said_plainly(tmp_path, photo, capsys, monkeypatch) -> None:
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path / "empty")
    code = main(["restore", str(photo), "-o", str(tmp_path / "o.png"), "--task", "deblur"])
    assert "no trained deblur weights" in _one_line_error(capsys, code)


def test_info_lists_size_and_devices(capsys) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "18.98 M parameters" in out and "124.1 G MACs" in out
    assert "cpu (CPU)" in out


def test_info_says_what_crop_trained_the_weights(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    save_weights(tmp_path / "denoise.safetensors", DRCNet(wf=8, depth=2),
                 {"train_config": '{"crop": 96, "steps": 5}'})
    save_weights(tmp_path / "derain.safetensors", DRCNet(wf=8, depth=2),
                 {"activation_limit": 42.5})
    assert main(["info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert next(ln for ln in lines if "denoise [default]" in ln).endswith(
        "trained on 96-px crops, range check off (no calibrated limit: "
        "scripts/calibrate_range.py)")
    assert next(ln for ln in lines if "derain [default]" in ln).endswith(
        "256×256, range-check limit 42.5")
    assert any("deblur: none installed" in ln for ln in lines)


def test_subprocess_error_has_no_traceback(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "drcnet.cli", "restore", str(tmp_path / "nope.png"), "-o",
         str(tmp_path / "o.png"), "--task", "denoise", "--weights", str(tmp_path / "w.pth")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_core_does_not_import_qt() -> None:
    code = ("import sys, pkgutil, importlib, drcnet;"
            "[importlib.import_module(m.name) for m in "
            "pkgutil.walk_packages(drcnet.__path__, 'drcnet.')];"
            "bad=[m for m in sys.modules if m.startswith(('PySide6','PyQt','shiboken'))];"
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_restore_tiles_at_the_training_crop_by_default(tmp_path, photo) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    path = tmp_path / "crop16.safetensors"
    save_weights(path, DRCNet(wf=8, depth=2), {"train_config": {"crop": 16}})
    from drcnet.inference import default_tile
    from drcnet.weights import build_model

    assert build_model(path).train_crop == 16 and default_tile(build_model(path)) == 16
    outs = {}
    for name, extra in (("default", []), ("t16", ["--tile", "16"]), ("whole", ["--tile", "0"])):
        outs[name] = tmp_path / f"{name}.png"
        assert main(["restore", str(photo), "-o", str(outs[name]), "--task", "denoise",
                     "--weights", str(path), "--device", "cpu", "-q", *extra]) == 0
    read = {k: read_image(v).rgb for k, v in outs.items()}
    assert np.array_equal(read["default"], read["t16"])  # 16-px tiles, as trained
    assert not np.array_equal(read["default"], read["whole"])


def test_restore_warns_when_the_image_is_outside_the_trained_range(tmp_path, photo,
                                                                   capsys) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    net = DRCNet(wf=8, depth=2)
    low, high = tmp_path / "low.safetensors", tmp_path / "high.safetensors"
    save_weights(low, net, {"activation_limit": 1e-6})  # any image passes it
    save_weights(high, net, {"activation_limit": 1e9})
    other = tmp_path / "in2.png"
    other.write_bytes(photo.read_bytes())
    args = ["restore", str(photo), str(other), "--task", "denoise", "--device", "cpu", "-q",
            "--tile", "32", "--overlap", "8"]
    assert main([*args, "-o", str(tmp_path / "a"), "--weights", str(high)]) == 0
    assert capsys.readouterr().err == ""
    assert main([*args, "-o", str(tmp_path / "b"), "--weights", str(low)]) == 0
    err = capsys.readouterr().err.splitlines()
    # Said even with -q, per image (4 tiles of 32 cover 40×50), then a summary; the outputs
    # are still written.
    assert err[0].startswith("drcnet: warning: in.png: outside what this model was trained "
                             "on in 4 of 4 tiles") and "saturated colours" in err[0]
    assert err[1].startswith("drcnet: warning: in2.png:")
    assert err[2] == ("drcnet: warning: 2 of 2 images were partly outside what the model was "
                      "trained on (above)")
    assert (tmp_path / "b" / "in.png").is_file() and (tmp_path / "b" / "in2.png").is_file()


def test_restore_keeps_the_camera_record_unless_told(tmp_path, weights, photo) -> None:
    icc = b"\x00\x00\x02\x00" + b"x" * 12 + b"RGB " + b"y" * 492
    exif = b"II*\x00" + (8).to_bytes(4, "little") + bytes(6)
    src = tmp_path / "tagged.jpg"
    write_image(src, read_image(photo).rgb, icc=icc, exif=exif)
    base = ["restore", str(src), "--task", "denoise", "--weights", str(weights),
            "--device", "cpu", "-q"]
    assert main(base + ["-o", str(tmp_path / "kept.jpg")]) == 0
    assert main(base + ["-o", str(tmp_path / "bare.jpg"), "--no-exif"]) == 0
    kept, bare = read_image(tmp_path / "kept.jpg"), read_image(tmp_path / "bare.jpg")
    assert kept.exif == exif and kept.icc == icc
    assert bare.exif is None and bare.icc == icc  # the colours still need their profile


def test_exit_status_says_usage_or_failure(tmp_path, weights, photo, capsys) -> None:
    """2 for a value or combination that can never work (as argparse's own errors), 1 for a
    file or device that lets the command down."""
    base = ["restore", str(photo), "-o", str(tmp_path / "o.png"), "--task", "denoise",
            "--device", "cpu", "-q"]
    usage = [[*base, "--weights", str(weights), "--tile", "3"],
             [*base, "--weights", str(weights), "--precision", "fp16"],
             [*base, "--weights", str(weights), "--max-pixels", "0"],
             [*base, "--weights", str(weights), "--t", "1.5"],  # refused by the network
             [*base, "--weights", str(weights), "--delta", "-1"],
             ["restore", str(photo), "-o", str(tmp_path / "o.png"), "--task", "derain",
              "--variant", "gaussian", "-q"],  # a variant that task does not have
             ["eval", "--task", "denoise", "--weights", str(weights), "--data", str(tmp_path),
              "--degradation", "nosuch"],
             ["eval", "--task", "denoise", "--weights", str(weights), "--data", str(tmp_path),
              "--degradation", "gaussian25", "--draws", "0"],
             ["train", "--config", str(Path(__file__).parents[2] / "configs" / "denoise.yaml"),
              "--set", "lr=-1"],
             # An empty --out ("$UNSET") had resumed the run in ./runs/<task>, and sweep's
             # had written into the current folder.
             *(["train", "--config", str(Path(__file__).parents[2] / "configs" / "denoise.yaml"),
                flag, ""] for flag in ("--out", "--export", "--device")),
             ["sweep", "--task", "denoise", "--weights", str(weights), "--data", str(tmp_path),
              "--degradation", "gaussian25", "--out", ""]]
    for argv in usage:
        assert main(argv) == 2, argv
        _one_line_error(capsys, 2)
    # An output type Studio does not write is wrong in the name itself (as widen's -o).
    usage = [["restore", str(photo), "-o", str(tmp_path / "single.gif"), "--task", "denoise",
              "--weights", str(weights)],
             ["compare", str(photo), "-o", str(tmp_path / "x.json"), "--task", "denoise",
              "--weights", str(weights)],
             ["compare", str(photo), "-o", str(tmp_path / "x") + "/", "--task", "denoise",
              "--weights", str(weights)],
             # No extension: 2 whether or not a file of that name exists (it had been 1 when
             # none did).
             ["restore", str(photo), "-o", str(tmp_path / "noext"), "--task", "denoise",
              "--weights", str(weights)],
             ["compare", str(photo), "-o", str(tmp_path / "noext"), "--task", "denoise",
              "--weights", str(weights)]]
    for argv in usage:
        assert main(argv) == 2, argv
        _one_line_error(capsys, 2)
    (tmp_path / "dir.png").mkdir()
    failures = [["restore", str(tmp_path / "missing.png"), "-o", str(tmp_path / "o.png"),
                 "--task", "denoise", "--weights", str(weights), "--device", "cpu", "-q"],
                [*base, "--weights", str(tmp_path / "missing.safetensors")],
                # what the disk holds: a folder of the output's name
                ["compare", str(photo), "-o", str(tmp_path / "dir.png"), "--task", "denoise",
                 "--weights", str(weights)]]
    for argv in failures:
        assert main(argv) == 1, argv
        _one_line_error(capsys, 1)


def test_a_plain_value_error_is_a_bug_and_keeps_its_traceback(tmp_path, photo, weights,
                                                              monkeypatch) -> None:
    """Only :class:`UsageError` (also a ValueError) means 'your values'; any other ValueError
    from the core is a broken contract inside it, so the command does not dress it up as a
    usage message with status 2."""
    import drcnet.cli as cli

    def broken(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise ValueError("expected an H×W×3 image, got shape (3,)")

    monkeypatch.setattr(cli, "restore_files", broken)
    with pytest.raises(ValueError, match="H×W×3"):
        main(["restore", str(photo), "-o", str(tmp_path / "o.png"), "--task", "denoise",
              "--device", "cpu", "-q", "--weights", str(weights)])  # not the shipped files:
        # DRCNET_WEIGHTS_DIR set elsewhere had made this fail for another reason


def test_restore_says_only_the_first_frame_is_restored(tmp_path, weights, capsys) -> None:
    pil = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    frames = [pil.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)) for _ in range(2)]
    frames[0].save(tmp_path / "anim.webp", save_all=True, append_images=frames[1:],
                   lossless=True)
    assert main(["restore", str(tmp_path / "anim.webp"), "-o", str(tmp_path / "o.png"),
                 "--task", "denoise", "--weights", str(weights), "--device", "cpu", "-q"]) == 0
    assert ("drcnet: note: anim.webp: only the first of its 2 frames is restored"
            in capsys.readouterr().err)


def test_jpeg_quality_option(tmp_path, weights, photo, capsys) -> None:  # noqa: ANN001
    base = ["--task", "denoise", "--weights", str(weights), "--device", "cpu", "-q"]
    sizes = {}
    for q in (30, 95):
        out = tmp_path / f"q{q}.jpg"
        assert main(["restore", str(photo), "-o", str(out), "--jpeg-quality", str(q),
                     *base]) == 0
        sizes[q] = out.stat().st_size
    assert sizes[30] < sizes[95] * 0.7
    with pytest.raises(SystemExit) as exit_:
        main(["restore", str(photo), "-o", str(tmp_path / "x.jpg"), "--jpeg-quality", "0",
              *base])
    assert exit_.value.code == 2 and "must be 1 to 100" in capsys.readouterr().err


def test_jpeg_quality_with_no_jpeg_output_is_said_once(tmp_path, weights, photo, capsys) -> None:  # noqa: ANN001
    """--jpeg-quality with a PNG output had been ignored without a word; a folder with some
    JPEG outputs uses it, and is told nothing."""
    base = ["--task", "denoise", "--weights", str(weights), "--device", "cpu", "-q",
            "--jpeg-quality", "40"]
    assert main(["restore", str(photo), "-o", str(tmp_path / "o.png"), *base]) == 0
    assert capsys.readouterr().err == ("drcnet: note: --jpeg-quality (for .jpg outputs) has no "
                                       "effect on o.png\n")
    second = tmp_path / "b.webp"
    write_image(second, read_image(photo).rgb)
    assert main(["restore", str(photo), str(second), "-o", str(tmp_path / "out"), *base]) == 0
    assert capsys.readouterr().err == ("drcnet: note: --jpeg-quality (for .jpg outputs) has no "
                                       "effect here: none of the 2 outputs is a .jpg\n")
    write_image(tmp_path / "c.jpg", read_image(photo).rgb)
    assert main(["restore", str(photo), str(tmp_path / "c.jpg"), "-o", str(tmp_path / "o2"),
                 *base]) == 0
    assert capsys.readouterr().err == ""
    assert main(["restore", str(photo), "-o", str(tmp_path / "o.png"), *base[:-2]]) == 0
    assert capsys.readouterr().err == ""  # not given: nothing to say


def test_info_lists_every_weight_file_past_a_damaged_one(tmp_path, monkeypatch, capsys) -> None:  # noqa: ANN001
    import torch

    from drcnet import DRCNet
    from drcnet.weights import save_weights

    torch.manual_seed(0)
    save_weights(tmp_path / "derain.safetensors", DRCNet(wf=8, depth=2), {"task": "derain"})
    (tmp_path / "denoise.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")
    save_weights(tmp_path / "deblur.safetensors", DRCNet(wf=8, depth=2), {"task": "deblur"})
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "denoise [default]: unusable: " in out and "denoise.safetensors" in out
    assert "derain [default]: derain.safetensors, wf=8" in out
    assert "deblur [default]: deblur.safetensors, wf=8" in out  # it had stopped at denoise

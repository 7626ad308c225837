from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from drcnet.baselines import bm3d_available
from drcnet.cli import main
from drcnet.datasets import ValidationSet
from drcnet.errors import Cancelled, DRCNetError
from drcnet.evaluation import (
    INPUT,
    MODEL,
    EvalConfig,
    EvalData,
    EvalResult,
    evaluate,
    format_table,
    to_json,
    write_csv,
)
from drcnet.imageio import write_image
from drcnet.inference import Progress, run
from drcnet.metrics import psnr
from drcnet.weights import build_model


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory, scene) -> Path:
    folder = tmp_path_factory.mktemp("clean")
    for i, (h, w) in enumerate([(64, 64), (112, 96), (96, 112)]):
        write_image(folder / f"p{i}.png", scene(h, w, i))
    return folder


def _eval(**kw: object) -> EvalResult:
    return run(evaluate(EvalConfig(device="cpu", **kw)))  # type: ignore[arg-type]


def _finite(result: EvalResult, method: str) -> bool:
    row = result.row(method)
    return math.isfinite(row.psnr) and math.isfinite(row.ssim) and row.seconds >= 0


def test_denoise_rows_and_nlm_beats_noisy_input(photos: Path, tiny_weights: Path) -> None:
    res = _eval(task="denoise", data=str(photos), weights=str(tiny_weights),
                degradation="gaussian25", baselines=True, limit=1)
    names = [r.method for r in res.rows]
    assert names == [INPUT, MODEL, "NLM (OpenCV)", "CBM3D"]
    assert all(r.images == 1 for r in res.rows[:3])
    assert _finite(res, INPUT) and _finite(res, MODEL) and _finite(res, "NLM (OpenCV)")
    assert res.row("NLM (OpenCV)").psnr > res.row(INPUT).psnr + 3.0
    assert 0 < res.row(INPUT).ssim < res.row("NLM (OpenCV)").ssim <= 1
    assert len(res.per_image) == 3 + bm3d_available()
    cbm3d = res.row("CBM3D")
    if bm3d_available():
        assert cbm3d.psnr > res.row(INPUT).psnr + 3.0
    else:
        assert math.isnan(cbm3d.psnr) and "not installed" in cbm3d.note


def test_missing_bm3d_gives_a_not_installed_row(photos, tiny_weights, monkeypatch) -> None:
    import drcnet.evaluation as ev

    cbm3d = ev.BASELINES["denoise"][1]
    monkeypatch.setitem(ev.BASELINES, "denoise", (ev.BASELINES["denoise"][0], ev.Baseline(
        cbm3d.name, cbm3d.run, lambda: "not installed (pip install bm3d)")))
    res = _eval(task="denoise", data=str(photos), weights=str(tiny_weights),
                degradation="gaussian25", baselines=True, limit=1)
    row = res.row("CBM3D")
    assert math.isnan(row.psnr) and row.images == 0 and row.note.startswith("not installed")
    *_, above, last = format_table(res).splitlines()
    assert "—" in last
    # The dashes sit in their columns: each column ends where the row above has it end.
    width = max(len(r.method) for r in res.rows)
    ends = [m.end() for m in re.finditer(r"\S+", above[width:])][:4]
    assert [m.end() for m in re.finditer(r"\S+", last[width:])][:4] == ends, (above, last)


def test_table_names_the_shipped_variant(photos, tiny_weights, tmp_path, monkeypatch) -> None:
    import shutil

    from drcnet import registry

    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    shutil.copy(tiny_weights, tmp_path / "denoise-gaussian.safetensors")
    res = _eval(task="denoise", data=str(photos), variant="gaussian", degradation="gaussian25",
                limit=1)
    assert "; shipped denoise-gaussian weights, 256-px tiles" in format_table(res).splitlines()[0]


def test_wiener_with_true_kernel_beats_the_blurred_input(photos, tiny_weights) -> None:
    res = _eval(task="deblur", data=str(photos), weights=str(tiny_weights), degradation="blur",
                baselines=True)
    assert [r.method for r in res.rows] == [INPUT, MODEL, "Wiener (true kernel)"]
    wiener = res.row("Wiener (true kernel)")
    assert wiener.images == 3 and "true kernel" in wiener.note
    assert wiener.psnr > res.row(INPUT).psnr + 1.0
    assert wiener.ssim > res.row(INPUT).ssim


def test_wiener_undoes_linear_light_blur_in_linear_light(scene) -> None:
    """On ``blurlin`` the baseline deconvolves where the blur was made: in linear light it
    scores well above the same deconvolution of the sRGB values."""
    from drcnet.baselines import wiener_deconvolve, wiener_nsr
    from drcnet.degradations import degrade
    from drcnet.evaluation import BASELINES, Sample

    wiener = BASELINES["deblur"][0]
    clean = scene(160, 160, 0)
    gains = []
    for seed in range(4):
        degraded, info = degrade("blurlin", clean, seed)
        assert info["linear"] is True
        out, note = wiener.run(Sample("p", degraded, clean, info))
        assert note.endswith("in linear light")
        srgb = wiener_deconvolve(degraded, info["kernel"], wiener_nsr(info["sigma"]))
        gains.append(psnr(out, clean) - psnr(srgb, clean))
    assert min(gains) > 0.3 and float(np.mean(gains)) > 1.0


def test_derain_rows_are_finite_and_whole_images_are_scored(photos, tiny_weights) -> None:
    res = _eval(task="derain", data=str(photos), weights=str(tiny_weights), degradation="rain",
                baselines=True, size=0)
    assert len(res.rows) == 5
    assert all(_finite(res, r.method) for r in res.rows)
    assert res.row("median, rain-aware").psnr > res.row(INPUT).psnr
    tiled = _eval(task="derain", data=str(photos), weights=str(tiny_weights), degradation="rain",
                  size=0, tile=64)
    assert _finite(tiled, MODEL)
    assert tiled.row(MODEL).psnr != pytest.approx(res.row(MODEL).psnr, abs=1e-6)  # tiles used
    assert tiled.row(INPUT).psnr == pytest.approx(res.row(INPUT).psnr)


def test_synthetic_pairs_match_the_validation_set(photos: Path) -> None:
    data = EvalData(photos, "gaussian25", seed=3, size=48)
    val = ValidationSet(photos, "gaussian25", seed=3, size=48)
    assert len(data) == len(val) == 3
    for i in range(3):
        s = data[i]
        assert s.degraded.shape == s.clean.shape == (48, 48, 3)
        assert np.array_equal(s.degraded, val[i][0].numpy().transpose(1, 2, 0))
        assert s.info["sigma"] == 25.0
    assert np.array_equal(data[1].degraded, EvalData(photos, "gaussian25", 3, size=48)[1].degraded)
    assert not np.array_equal(data[1].degraded, EvalData(photos, "gaussian25", 4, size=48)[1]
                              .degraded)
    blur = EvalData(photos, "blur", size=32)[0]
    assert blur.degraded.shape == (32, 32, 3) and blur.info["kernel"].ndim == 2
    # With a margin (blur) and several draws, in the same order (draw, then photo).
    data = EvalData(photos, "blur", seed=2, size=32, draws=2)
    val = ValidationSet(photos, "blur", seed=2, size=32, draws=2)
    assert len(data) == len(val) == 6
    for i in range(6):
        assert np.array_equal(data[i].clean, val[i][1].numpy().transpose(1, 2, 0))
        assert np.array_equal(data[i].degraded, val[i][0].numpy().transpose(1, 2, 0))


def test_paired_layout_and_wiener_needs_a_kernel(tmp_path, tiny_weights, scene) -> None:
    (tmp_path / "sharp").mkdir()
    (tmp_path / "blur").mkdir()
    for i in range(2):
        clean = scene(40, 48, i)
        write_image(tmp_path / "sharp" / f"{i}.png", clean)
        write_image(tmp_path / "blur" / f"{i}.png", cv2.GaussianBlur(clean, (5, 5), 1.5))
    res = _eval(task="deblur", data=str(tmp_path), weights=str(tiny_weights), paired="gopro",
                baselines=True)
    assert res.row(INPUT).images == 2 and _finite(res, MODEL)
    wiener = res.row("Wiener (true kernel)")
    assert wiener.images == 0 and "kernel" in wiener.note
    assert "gopro" in res.data


def test_bad_data_is_found_before_any_image_is_scored(tmp_path, tiny_weights, scene,
                                                      monkeypatch) -> None:
    """A file that is not an image, or a pair of two sizes, ended the run at that image with
    every score before it lost; an input without a target was left out without a word."""
    import drcnet.evaluation as evaluation

    def never(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("an image was scored before the data was checked")

    photos = tmp_path / "photos"
    photos.mkdir()
    write_image(photos / "a.png", scene(40, 48, 0))
    (photos / "zzz_broken.png").write_text("not an image")
    with monkeypatch.context() as m:
        m.setattr(evaluation, "synthetic_pair", never)
        with pytest.raises(DRCNetError, match="zzz_broken.png is not an image"):
            run(evaluate(EvalConfig(task="denoise", data=str(photos), weights=str(tiny_weights),
                                    device="cpu")))
    root = tmp_path / "pairs"
    for d in ("input", "target"):
        (root / d).mkdir(parents=True)
    for name, (h, w) in (("a.png", (40, 48)), ("z.png", (44, 48))):
        write_image(root / "input" / name, scene(h, w, 1))
    write_image(root / "target" / "a.png", scene(40, 48, 1))
    write_image(root / "target" / "z.png", scene(40, 48, 1))
    write_image(root / "input" / "extra.png", scene(40, 48, 2))
    with pytest.raises(DRCNetError, match=re.escape(  # both paths, as train names them
            f"{root / 'input' / 'z.png'} is 48×44 but {root / 'target' / 'z.png'} is 48×40")):
        run(evaluate(EvalConfig(task="derain", data=str(root), weights=str(tiny_weights),
                                paired="rain13k", device="cpu")))
    (root / "input" / "z.png").unlink()
    (root / "target" / "z.png").unlink()
    res = run(evaluate(EvalConfig(task="derain", data=str(root), weights=str(tiny_weights),
                                  paired="rain13k", device="cpu")))
    assert res.row(INPUT).images == 1
    assert "1 image(s) in input/ have no target" in res.data and "extra.png" in res.data
    # A camera JPEG stored on its side (EXIF Orientation 6) pairs with its upright target.
    import struct

    (root / "input" / "extra.png").unlink()
    tiff = b"II*\x00" + struct.pack("<IH", 8, 1)
    tiff += struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0) + struct.pack("<I", 0)
    app1 = b"\xff\xe1" + struct.pack(">H", len(tiff) + 8) + b"Exif\x00\x00" + tiff
    ok, buf = cv2.imencode(".jpg", (scene(48, 40, 3) * 255).astype(np.uint8))  # 40 wide, 48 high
    assert ok
    (root / "input" / "a.png").unlink()
    (root / "input" / "a.jpg").write_bytes(buf.tobytes()[:2] + app1 + buf.tobytes()[2:])
    write_image(root / "target" / "a.png", scene(40, 48, 1))  # 48 wide, 40 high: upright
    res = run(evaluate(EvalConfig(task="derain", data=str(root), weights=str(tiny_weights),
                                  paired="rain13k", device="cpu")))
    assert res.row(INPUT).images == 1


def test_progress_and_cancel(photos, tiny_weights) -> None:
    gen = evaluate(EvalConfig(task="derain", data=str(photos), weights=str(tiny_weights),
                              degradation="rain", device="cpu", baselines=True))
    records: list[Progress] = []
    while True:
        try:
            records.append(next(gen))
        except StopIteration:
            break
    assert [r.done for r in records] == list(range(1, 16))
    assert {r.total for r in records} == {15}

    calls = {"n": 0}

    def cancel() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    with pytest.raises(Cancelled):
        run(evaluate(EvalConfig(task="derain", data=str(photos), weights=str(tiny_weights),
                                device="cpu"), cancel=cancel))


def test_bad_configs_are_refused(photos) -> None:
    with pytest.raises(DRCNetError, match="not both"):
        EvalConfig(task="denoise", data=str(photos), degradation="rain", paired="sidd")
    with pytest.raises(DRCNetError, match="max-size"):
        EvalConfig(task="denoise", data=str(photos), size=8)
    with pytest.raises(DRCNetError, match="unknown degradation"):
        _ = EvalConfig(task="denoise", data=str(photos), degradation="fog").recipe


def test_cli_prints_the_table_and_writes_csv_and_json(photos, tiny_weights, tmp_path,
                                                     capsys) -> None:
    out_csv, out_json = tmp_path / "eval.csv", tmp_path / "eval.json"
    code = main(["eval", "--task", "denoise", "--data", str(photos),
                 "--weights", str(tiny_weights),
                 "--degradation", "gaussian25", "--seed", "1", "--baselines", "--limit", "1",
                 "--max-size", "48", "--device", "cpu", "--plain", "--csv", str(out_csv),
                 "--json", str(out_json)])
    assert code == 0
    out = capsys.readouterr().out
    assert "PSNR dB" in out and "NLM (OpenCV)" in out and "centre crops <= 48 px" in out
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert [r["method"] for r in rows] == [INPUT, MODEL, "NLM (OpenCV)", "CBM3D"]
    assert float(rows[2]["psnr_db"]) > float(rows[0]["psnr_db"])
    assert f"{float(rows[1]['psnr_db']):.2f}" in out
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc["config"]["seed"] == 1 and len(doc["rows"]) == 4
    assert doc["rows"][0]["psnr_db"] == pytest.approx(float(rows[0]["psnr_db"]))


def test_cli_says_the_overlap_it_used(photos, tiny_weights, capsys) -> None:  # noqa: ANN001
    common = ["eval", "--task", "denoise", "--data", str(photos), "--weights",
              str(tiny_weights), "--limit", "1", "--max-size", "48", "--device", "cpu",
              "--plain", "--tile", "32"]
    assert main(common) == 0  # the default overlap lowered to fit: nobody asked, no note
    captured = capsys.readouterr()
    assert "note: an overlap" not in captured.err and "32-px tiles, 8-px overlap" in captured.out
    assert main([*common, "--overlap", "20"]) == 0
    err = capsys.readouterr().err
    assert "an overlap of 20 px is more than a quarter of the 32-px tile; using 8" in err
    # A file without a calibrated limit is never repaired: said, as the shipped files are.
    assert f"range check off: {tiny_weights} has no calibrated limit" in err
    assert main([*common, "--no-repair"]) == 0
    assert "range check off" not in capsys.readouterr().err


def test_cli_reports_bad_data_in_one_line(tmp_path, tiny_weights, capsys) -> None:
    code = main(["eval", "--task", "denoise", "--data", str(tmp_path / "nope"),
                 "--weights", str(tiny_weights), "--device", "cpu", "--plain"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and err.startswith("drcnet: error: ") and "\n" not in err
    assert "nope" in err


def test_cli_checks_output_paths_before_the_work(photos, tmp_path, tiny_weights, capsys,
                                                 monkeypatch) -> None:
    import drcnet.evaluation as evaluation

    def never(*_a, **_k):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the evaluation ran although its output could not be written")

    monkeypatch.setattr(evaluation, "evaluate", never)
    (tmp_path / "a.png").write_bytes(b"x")
    common = ["eval", "--task", "denoise", "--data", str(photos), "--weights",
              str(tiny_weights), "--device", "cpu", "--plain"]
    for flag, path, says in (("--json", tmp_path / "nodir" / "x.json", "does not exist"),
                             ("--csv", tmp_path / "a.png" / "x.csv", "is a file, not a folder"),
                             ("--json", tmp_path, "is a folder")):
        assert main([*common, flag, str(path)]) != 0
        err = capsys.readouterr().err
        assert err.startswith(f"drcnet: error: {flag} ") and says in err, err
    assert main([*common, "--json", str(tmp_path / "x.txt"), "--csv", str(tmp_path / "x.txt")]) == 2
    assert "name the same file" in capsys.readouterr().err
    if Path("/proc/self").is_dir():  # a folder nothing can be created in, even by root
        assert main([*common, "--csv", "/proc/x.csv"]) == 1
        assert "cannot write --csv /proc/x.csv" in capsys.readouterr().err
        assert main(["sweep", "--task", "denoise", "--data", str(photos), "--weights",
                     str(tiny_weights), "--device", "cpu", "--plain", "--out", "/proc/x"]) == 1
        assert "cannot write into --out /proc/x" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*common, "--seed", "-1"])
    assert "--seed: must be >= 0, got -1" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("flag", ["--json", "--csv"])
def test_cli_says_a_full_disk_under_its_output_file_in_one_line(photos, tiny_weights, tmp_path,
                                                               capsys, monkeypatch, flag) -> None:  # noqa: ANN001
    """`eval --json FILE` (or --csv) onto a full disk had ended in an OSError traceback after
    the work; now it is one line and status 1, and a file it replaces is kept whole."""
    import os

    import drcnet.imageio as imageio

    common = ["eval", "--task", "denoise", "--data", str(photos), "--weights",
              str(tiny_weights), "--limit", "1", "--max-size", "48", "--device", "cpu",
              "--plain"]
    assert main([*common, flag, "/dev/full"]) == 1  # a device: written to, and it is full
    err = capsys.readouterr().err
    assert err.endswith("drcnet: error: Cannot write /dev/full (No space left on device).\n"), err
    assert "Traceback" not in err

    real = imageio.make_temp

    def on_a_full_disk(path: Path) -> tuple[int, str]:  # the temp file's writes fail
        fd, tmp = real(path)
        os.close(fd)
        return os.open("/dev/full", os.O_WRONLY), tmp

    monkeypatch.setattr(imageio, "make_temp", on_a_full_disk)
    out = tmp_path / "scores.out"
    out.write_text("old scores\n", encoding="utf-8")
    assert main([*common, flag, str(out)]) == 1
    err = capsys.readouterr().err
    assert err.endswith(f"drcnet: error: Cannot write {out} (No space left on device).\n"), err
    assert out.read_text(encoding="utf-8") == "old scores\n"  # not cut short
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.out"]  # no temp file left


def test_cli_says_a_folder_made_read_only_during_the_work_in_one_line(
        photos, tiny_weights, tmp_path, capsys, monkeypatch) -> None:  # noqa: ANN001
    """The folder is checked before the work; one that turns read-only meanwhile (a remount)
    had ended in a traceback after it."""
    import errno

    import drcnet.imageio as imageio

    def read_only_folder(path: Path) -> tuple[int, str]:
        raise OSError(errno.EROFS, "Read-only file system")

    real_eval = __import__("drcnet.evaluation", fromlist=["evaluate"]).evaluate

    def evaluate_then_remount(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        result = yield from real_eval(*a, **kw)
        monkeypatch.setattr(imageio, "make_temp", read_only_folder)
        return result

    monkeypatch.setattr("drcnet.evaluation.evaluate", evaluate_then_remount)
    out = tmp_path / "scores.json"
    assert main(["eval", "--task", "denoise", "--data", str(photos), "--weights",
                 str(tiny_weights), "--limit", "1", "--max-size", "48", "--device", "cpu",
                 "--plain", "--json", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.endswith(f"drcnet: error: Cannot write {out}: the folder is not writable in "
                        f"{tmp_path} (Read-only file system).\n"), err
    assert not out.exists()


def test_cli_names_an_image_too_small_to_score(tmp_path, tiny_weights, capsys) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    write_image(folder / "a_photo.png", np.full((40, 40, 3), 0.5, np.float32))
    write_image(folder / "dot.png", np.full((5, 40, 3), 0.5, np.float32))
    code = main(["eval", "--task", "denoise", "--data", str(folder), "--weights",
                 str(tiny_weights), "--device", "cpu", "--plain"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err == ("drcnet: error: dot.png is 40×5; evaluation needs images at "
                                 "least 11 px on each side (SSIM's window)")  # before any work


def test_csv_and_json_leave_missing_scores_empty(photos, tiny_weights, tmp_path) -> None:
    res = _eval(task="deblur", data=str(photos), weights=str(tiny_weights),
                degradation="gaussian15", baselines=True, limit=1)
    wiener = res.row("Wiener (true kernel)")  # gaussian noise draws no kernel
    assert math.isnan(wiener.psnr)
    rows = list(csv.DictReader(write_csv(res, tmp_path / "t.csv").open(encoding="utf-8")))
    assert rows[2]["psnr_db"] == "" and "kernel" in rows[2]["note"]
    assert json.loads(to_json(res))["rows"][2]["psnr_db"] is None


def test_json_of_a_name_that_is_not_utf8_can_be_written(photos, tiny_weights) -> None:
    """An image whose Latin-1 name Python keeps as a lone surrogate had made the JSON
    unwritable (UnicodeEncodeError) after the whole evaluation."""
    import os

    res = _eval(task="denoise", data=str(photos), weights=str(tiny_weights), limit=1)
    res.per_image[0]["image"] = os.fsdecode(b"caf\xe9.png")
    assert json.loads(to_json(res).encode("utf-8"))["per_image"][0]["image"] == "caf\ufffd.png"


def test_cli_json_to_stdout_is_pure_json(photos, tiny_weights, capsys) -> None:
    code = main(["eval", "--task", "derain", "--data", str(photos), "--weights",
                 str(tiny_weights), "--limit", "2", "--device", "cpu", "--plain", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in doc["rows"]] == [INPUT, MODEL]
    assert len(doc["per_image"]) == 4 and doc["config"]["task"] == "derain"
    assert doc["config"]["ensemble"] == 1


def test_cli_ensemble_uses_the_tasks_views(photos, tiny_weights, capsys) -> None:
    for task, views in (("derain", 4), ("deblur", 8)):
        assert main(["eval", "--task", task, "--data", str(photos), "--weights",
                     str(tiny_weights), "--limit", "1", "--max-size", "48", "--device", "cpu",
                     "--plain", "--ensemble"]) == 0
        assert f"{views}-view self-ensemble" in capsys.readouterr().out
    with pytest.raises(DRCNetError, match="ensemble"):
        EvalConfig(task="denoise", data=str(photos), ensemble=2)


def test_draws_average_over_the_next_seeds(photos, tiny_weights, capsys) -> None:
    two = EvalData(photos, "rain", seed=5, size=48, draws=2)
    # The CSV's "images" column counts image-draw pairs (6); the line says how they come.
    assert len(two) == 6 and "3 images x 2 draws, rain seeds 5-6" in two.description
    for i in range(3):  # draw k of image i is what --seed 5+k gives for image i
        for k in (0, 1):
            one = EvalData(photos, "rain", seed=5 + k, size=48)[i]
            assert np.array_equal(two[3 * k + i].degraded, one.degraded)
            assert two[3 * k + i].name == f"{one.name} (seed {5 + k})"
    with pytest.raises(IndexError):
        two[6]

    kw = dict(task="derain", data=str(photos), weights=str(tiny_weights), size=48)
    runs = [_eval(seed=s, **kw) for s in (5, 6)]
    both = _eval(seed=5, draws=2, **kw)
    for method in (INPUT, MODEL):  # equal image counts: the mean of the two seeds' means
        mean = (runs[0].row(method).psnr + runs[1].row(method).psnr) / 2
        assert both.row(method).psnr == pytest.approx(mean, abs=1e-6)

    assert main(["eval", "--task", "derain", "--data", str(photos), "--weights",
                 str(tiny_weights), "--max-size", "48", "--device", "cpu", "--plain",
                 "--draws", "2", "--seed", "5"]) == 0
    assert "rain seeds 5-6" in capsys.readouterr().out
    with pytest.raises(DRCNetError, match="draws must be >= 1"):
        EvalConfig(task="derain", data=str(photos), draws=0)
    with pytest.raises(DRCNetError, match="paired set"):
        EvalConfig(task="derain", data=str(photos), paired="rain13k", draws=2)


def test_knobs_other_than_the_files(photos, tiny_weights, capsys) -> None:  # noqa: ANN001
    kw = dict(task="derain", data=str(photos), weights=str(tiny_weights), size=48)
    default = _eval(**kw)
    assert default.knobs == {"t": 0.75, "delta": 1e-6, "ea": True}  # the file's
    other = _eval(t=0.6, delta=1e-1, ea=False, **kw)
    assert other.knobs == {"t": 0.6, "delta": 1e-1, "ea": False}
    assert other.row(MODEL).psnr != default.row(MODEL).psnr
    assert other.row(INPUT).psnr == default.row(INPUT).psnr

    lent = build_model(tiny_weights)  # a model the caller lends keeps its own knobs
    run(evaluate(EvalConfig(device="cpu", delta=1e-2, **kw), model=lent))
    assert (lent.knobs.t, lent.knobs.delta, lent.knobs.ea) == (0.75, 1e-6, True)

    assert main(["eval", "--task", "derain", "--data", str(photos), "--weights",
                 str(tiny_weights), "--max-size", "48", "--device", "cpu", "--plain",
                 "--delta", "1e-2", "--no-ea"]) == 0
    assert "t 0.75, δ 1e-02, EA off" in capsys.readouterr().out
    with pytest.raises(DRCNetError, match="--t must lie in"):
        EvalConfig(task="derain", data=str(photos), t=1.5)


def test_unset_tile_is_the_training_crop(photos, tmp_path) -> None:  # noqa: ANN001
    from drcnet import DRCNet
    from drcnet.weights import save_weights

    path = tmp_path / "crop32.safetensors"
    save_weights(path, DRCNet(wf=8, depth=2), {"train_config": {"crop": 32}})
    kw = dict(task="denoise", data=str(photos), weights=str(path), size=48)
    res = _eval(**kw)
    assert res.config.tile == 32 and "32-px tiles" in format_table(res)
    assert _eval(tile=32, **kw).row(MODEL).psnr == res.row(MODEL).psnr
    assert _eval(tile=0, **kw).config.tile == 0
    assert EvalConfig(task="denoise", data=str(photos)).tiles().tile == 256  # unresolved


def test_eval_reports_the_range_check(photos: Path, tiny_weights: Path) -> None:
    model = build_model(tiny_weights)
    cfg = EvalConfig(task="derain", data=str(photos), weights=str(tiny_weights), device="cpu")
    unchecked = run(evaluate(cfg, model=model))
    assert model.activation_limit is None and unchecked.limit is None
    assert "not checked" in unchecked.range_line()
    peaks = [d["peak"] for d in unchecked.per_image if d["method"] == MODEL]
    assert len(peaks) == 3 and all(p > 0 for p in peaks)
    assert not any("out_of_range" in d for d in unchecked.per_image)

    model.activation_limit = sorted(peaks)[1]  # the largest peak passes it, the others not
    one = run(evaluate(cfg, model=model))
    top = next(d["image"] for d in one.per_image if d.get("peak") == max(peaks))
    assert one.out_of_range == [top]
    assert "1 of 3 images outside the trained range" in one.range_line()
    assert one.range_line().endswith(top)
    assert json.loads(to_json(one))["range_check"] == {
        "limit": one.limit, "out_of_range": [top], "repaired": one.repaired}

    model.activation_limit = max(peaks) * 2
    fine = run(evaluate(cfg, model=model))
    assert fine.out_of_range == [] and "every image within" in fine.range_line()


def test_cli_warns_when_images_leave_the_trained_range(photos, tmp_path, capfd) -> None:
    from drcnet.network import DRCNet
    from drcnet.weights import save_weights

    torch.manual_seed(0)
    weights = tmp_path / "strict.safetensors"
    save_weights(weights, DRCNet(wf=8, depth=2), {"activation_limit": 1e-6})
    args = ["eval", "--task", "derain", "--data", str(photos), "--weights", str(weights),
            "--device", "cpu", "--plain"]
    assert main(args) == 0
    out, err = capfd.readouterr()
    assert "drcnet: warning: range check: 3 of 3 images outside the trained range" in err
    assert out.rstrip().splitlines()[-1].startswith(MODEL)  # the table still ends the output
    assert main([*args, "--json", "-"]) == 0
    out, err = capfd.readouterr()
    assert len(json.loads(out)["range_check"]["out_of_range"]) == 3 and "warning" in err
    # --csv - prints the CSV alone (it had written a file named "-")
    assert main([*args, "--csv", "-", "--json", str(tmp_path / "r.json")]) == 0
    out, err = capfd.readouterr()
    assert "\r" not in out  # plain lines on stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["method"] for r in rows][:2] == [INPUT, MODEL] and "wrote" in err
    assert not Path("-").exists() and (tmp_path / "r.json").is_file()
    assert main([*args, "--csv", "-", "--json", "-"]) == 2


def test_a_note_that_extends_another_is_said_once() -> None:
    from drcnet.evaluation import _Tally

    t = _Tally("nlm")
    for note in ("h = 0.65·σ, σ estimated", "h = 0.65·σ", "other", "h = 0.65·σ, σ estimated"):
        t.note(note)
    assert t.notes == ["h = 0.65·σ, σ estimated", "other"]
    t = _Tally("nlm")
    t.note("h = 0.65·σ")
    t.note("h = 0.65·σ, σ estimated")
    assert t.notes == ["h = 0.65·σ, σ estimated"]


def test_a_result_records_the_device_and_precision_that_ran(photos, tiny_weights) -> None:  # noqa: ANN001
    """"auto" in a saved result said nothing: were its figures bf16 or fp32?"""
    cfg = EvalConfig(task="denoise", data=str(photos), weights=str(tiny_weights), device="auto",
                     precision="auto", limit=1, degradation="gaussian25")
    res = run(evaluate(cfg))
    saved = json.loads(to_json(res))["config"]
    assert saved["device"] == "cpu" and saved["precision"] in ("fp32", "bf16")
    assert format_table(res).splitlines()[0].count("auto") == 0

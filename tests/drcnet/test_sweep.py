from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from drcnet.cli import main
from drcnet.errors import Cancelled, DRCNetError
from drcnet.imageio import read_image, write_image
from drcnet.inference import run
from drcnet.network import DRCNet
from drcnet.sweep import (
    CAVEAT,
    DELTA_VALUES,
    T_VALUES,
    SweepConfig,
    SweepResult,
    nice_ticks,
    plot_sweep,
    sweep,
    write_outputs,
)
from drcnet.weights import build_model, save_weights


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clean")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:48].astype(np.float32)
    for i in range(2):
        img = np.stack([0.5 + 0.3 * np.sin(xx / (5 + i) + c) * np.cos(yy / 7) for c in range(3)],
                       -1) + rng.normal(0, 0.05, (40, 48, 3)).astype(np.float32)
        write_image(folder / f"p{i}.png", np.clip(img, 0, 1).astype(np.float32))
    return folder


@pytest.fixture(scope="module")
def result(photos: Path, tiny_weights: Path) -> SweepResult:
    cfg = SweepConfig(task="denoise", data=str(photos), weights=str(tiny_weights),
                      degradation="gaussian25", device="cpu")
    return run(sweep(cfg))


def test_sweep_covers_the_papers_values(result: SweepResult) -> None:
    assert T_VALUES == (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
    assert DELTA_VALUES == pytest.approx([1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7])
    assert [p.t for p in result.t_points] == list(T_VALUES)
    assert all(p.delta == 1e-6 for p in result.t_points)
    assert [p.delta for p in result.delta_points] == list(DELTA_VALUES)
    assert all(p.t == 0.75 for p in result.delta_points)
    assert result.images == 2
    assert all(np.isfinite([p.psnr, p.ssim]).all() for p in result.t_points)
    # configure() really changes the network: the scores move with t and with delta.
    assert len({round(p.psnr, 6) for p in result.t_points}) > 1
    assert len({round(p.psnr, 6) for p in result.delta_points}) > 1
    # The shared setting (t=0.75, delta=1e-6) is the same run in both sweeps.
    assert result.t_points[5] == result.delta_points[5]


def test_sweep_holds_the_other_knob_at_the_files_value(photos, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "w.safetensors"
    save_weights(path, DRCNet(wf=8, depth=2, t=0.6, delta=1e-3))
    cfg = SweepConfig(task="denoise", data=str(photos), weights=str(path), device="cpu",
                      degradation="gaussian25", t_values=(0.5, 0.9), delta_values=(1e-2,))
    res = run(sweep(cfg))
    assert (res.config.t_fixed, res.config.delta_fixed) == (0.6, 1e-3)
    assert [(p.t, p.delta) for p in res.t_points] == [(0.5, 1e-3), (0.9, 1e-3)]
    assert [(p.t, p.delta) for p in res.delta_points] == [(0.6, 1e-2)]


def test_sweep_matches_a_model_built_at_that_setting(photos, tiny_weights, result) -> None:
    from drcnet.evaluation import EvalConfig, evaluate

    model = build_model(tiny_weights).configure(t=0.6, delta=1e-6)
    ev = run(evaluate(EvalConfig(task="denoise", data=str(photos), degradation="gaussian25",
                                 device="cpu"), model=model))
    assert ev.row("DRCNet").psnr == pytest.approx(result.t_points[2].psnr, abs=1e-6)


def test_sweep_restores_the_knobs_and_can_be_cancelled(photos, tiny_weights) -> None:
    model = build_model(tiny_weights).configure(t=0.6, delta=1e-3)
    cfg = SweepConfig(task="derain", data=str(photos), device="cpu", t_values=(0.5, 0.9),
                      delta_values=(1e-2,))
    res = run(sweep(cfg, model=model))
    assert len(res.t_points) == 2 and len(res.delta_points) == 1
    assert (model.knobs.t, model.knobs.delta) == (0.6, 1e-3)
    with pytest.raises(Cancelled):
        run(sweep(cfg, cancel=lambda: True, model=model))
    assert (model.knobs.t, model.knobs.delta) == (0.6, 1e-3)


def test_write_outputs(result: SweepResult, tmp_path: Path) -> None:
    t_csv, d_csv, png = write_outputs(result, tmp_path / "out")
    t_rows = list(csv.DictReader(t_csv.open(encoding="utf-8")))
    d_rows = list(csv.DictReader(d_csv.open(encoding="utf-8")))
    assert len(t_rows) == 10 and len(d_rows) == 7
    assert [r["t"] for r in t_rows] == [f"{t:.2f}" for t in T_VALUES]
    assert float(d_rows[0]["delta"]) == pytest.approx(0.1)
    assert float(t_rows[3]["psnr_db"]) == pytest.approx(result.t_points[3].psnr, abs=1e-4)
    assert all(r["note"] == CAVEAT for r in t_rows + d_rows)
    img = read_image(png).rgb
    assert img.shape == (560, 1200, 3)
    assert (img.min(axis=2) < 0.3).mean() > 0.005  # axes, ticks and text are drawn
    blue = (img[..., 2] > 0.6) & (img[..., 0] < 0.3)  # the data lines (BGR (200, 90, 20))
    assert blue[:, :600].any() and blue[:, 600:].any()


def test_plot_is_rgb_float(result: SweepResult) -> None:
    img = plot_sweep(result, 900, 420)
    assert img.shape == (420, 900, 3) and img.dtype == np.float32
    assert 0.0 <= img.min() and img.max() <= 1.0


@pytest.mark.parametrize("lo,hi", [(20.13, 20.61), (0.0, 1.0), (27.2, 31.9), (5.0, 5.0)])
def test_nice_ticks_cover_the_range(lo: float, hi: float) -> None:
    ticks = nice_ticks(lo, hi)
    assert ticks[0] <= lo and ticks[-1] >= hi
    steps = np.diff(ticks)
    assert np.allclose(steps, steps[0]) and 3 <= len(ticks) <= 8


def test_bad_sweep_config() -> None:
    with pytest.raises(DRCNetError, match="t must lie"):
        SweepConfig(task="denoise", data=".", t_values=(0.5, 1.2))
    with pytest.raises(DRCNetError, match="at least one"):
        SweepConfig(task="denoise", data=".", delta_values=())


def test_cli_sweep(photos, tiny_weights, tmp_path, capsys) -> None:
    out = tmp_path / "sw"
    code = main(["sweep", "--task", "deblur", "--data", str(photos), "--weights", str(tiny_weights),
                 "--degradation", "gaussian15", "--device", "cpu", "--plain", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert CAVEAT in text and "best" in text
    assert sorted(p.name for p in out.iterdir()) == ["sweep.png", "sweep_delta.csv",
                                                     "sweep_t.csv"]


def test_cli_sweep_refuses_a_file_as_its_folder_before_the_work(photos, tiny_weights, tmp_path,
                                                                capsys, monkeypatch) -> None:
    import drcnet.sweep

    monkeypatch.setattr(drcnet.sweep, "sweep", lambda *_a, **_k: pytest.fail("it ran"))
    (tmp_path / "a.png").write_bytes(b"x")
    code = main(["sweep", "--task", "deblur", "--data", str(photos), "--weights",
                 str(tiny_weights), "--device", "cpu", "--plain", "--out",
                 str(tmp_path / "a.png" / "sw")])
    assert code != 0 and "is a file, not a folder" in capsys.readouterr().err


def test_a_knob_with_no_effect_has_no_best_value(result: SweepResult) -> None:
    """A no-EA model scores every δ the same: the summary said "best 1e-01" among equals."""
    from drcnet.sweep import format_summary

    flat = dataclasses.replace(result, delta_points=tuple(
        dataclasses.replace(p, psnr=30.0) for p in result.delta_points))
    lines = format_summary(flat).splitlines()
    assert lines[2].endswith("(no effect: every value scores the same)")
    assert "best" in lines[1]


def test_a_sweep_says_where_images_left_the_trained_range(photos, tmp_path, capsys) -> None:  # noqa: ANN001
    """A sweep of broken outputs (the saturated sweets for deblur: 7-8 dB against the
    input's 16) had printed a "best" value and no warning."""
    import torch

    from drcnet.sweep import format_summary

    torch.manual_seed(0)
    low = tmp_path / "low.safetensors"  # a limit every pass exceeds
    save_weights(low, DRCNet(wf=8, depth=2), {"task": "denoise", "activation_limit": "1e-6"})
    out = tmp_path / "sw"
    code = main(["sweep", "--task", "denoise", "--data", str(photos), "--weights", str(low),
                 "--degradation", "gaussian25", "--device", "cpu", "--plain", "--out", str(out),
                 "--limit", "1"])
    assert code == 0
    said = capsys.readouterr()
    assert "drcnet: warning: range check: 17 of 17 settings (marked *) left the trained " \
           "range" in said.err
    assert "no best: every value left the trained range" in said.out and "0.75*:" in said.out
    rows = list(csv.DictReader((out / "sweep_t.csv").open(encoding="utf-8")))
    assert {r["out_of_range_images"] for r in rows} == {"1"}
    assert rows[0]["weights"] == str(low) and rows[0]["ea"] == "on"
    # What was scored: the degradation and its seeds (sweeps of other seeds looked alike).
    assert "gaussian25" in rows[0]["data"] and "seed" in rows[0]["data"]
    img = read_image(out / "sweep.png").rgb
    red = (img[..., 0] > 0.7) & (img[..., 1] < 0.3) & (img[..., 2] < 0.3)
    assert red[100:, :600].any() and red[100:, 600:].any()  # the rings, in both panels
    r = run(sweep(SweepConfig(task="denoise", data=str(photos), weights=str(low),
                              degradation="gaussian25", device="cpu", limit=1,
                              t_values=(0.5,), delta_values=(1e-6,))))
    ok = dataclasses.replace(r, t_points=(dataclasses.replace(r.t_points[0], out_of_range=()),))
    assert "best 0.50" in format_summary(ok) and "among those within" not in format_summary(ok)


def test_a_sweep_names_the_weights_it_swept(result: SweepResult) -> None:
    from drcnet.sweep import format_summary

    assert result.weights == result.config.weights
    assert f", {result.config.weights}: input" in format_summary(result).splitlines()[0]
    assert dataclasses.replace(result.config, weights="", variant="noea").variant == "noea"
    from drcnet.evaluation import weights_label

    assert weights_label(dataclasses.replace(result.config, weights="", variant="noea")) == (
        "shipped denoise-noea weights")


def test_a_sweep_refused_for_its_data_leaves_no_folder(tmp_path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "sweep"
    code = main(["sweep", "--task", "denoise", "--data", str(tmp_path / "nope"), "--device",
                 "cpu", "--plain", "--out", str(out)])
    assert code == 1 and "does not exist" in capsys.readouterr().err
    assert not out.exists()  # had been made, empty, before the data was looked at


def test_a_folder_name_that_is_not_utf8_is_written_into_the_csvs_and_plot(
        result: SweepResult, tmp_path: Path) -> None:
    """The sweep's data (its folder's name) reached the CSVs, unwritable as UTF-8, and the
    plot's subtitle, where OpenCV crashed the process on it (a segmentation fault), after
    the whole sweep. Run in a child process, so a crash fails this test alone."""
    import dataclasses
    import pickle
    import subprocess
    import sys

    odd = dataclasses.replace(result, data="gaussian25 on caf\udce9 (2 images)")
    (tmp_path / "r.pkl").write_bytes(pickle.dumps(odd))
    code = ("import pickle, sys; from drcnet.sweep import write_outputs; "
            "r = pickle.load(open(sys.argv[1], 'rb')); write_outputs(r, sys.argv[2])")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r.pkl"),
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-800:]
    rows = list(csv.DictReader((tmp_path / "out" / "sweep_t.csv").open(encoding="utf-8")))
    assert rows[0]["data"] == "gaussian25 on caf\ufffd (2 images)"
    assert (tmp_path / "out" / "sweep.png").is_file()


@pytest.mark.parametrize("stop,code,how", [(KeyboardInterrupt, 130, "interrupted"),
                                           ("sigterm", 143, "terminated")])
def test_a_stopped_sweep_keeps_the_settings_measured(photos, tiny_weights, tmp_path, capsys,
                                                     monkeypatch, stop, code, how) -> None:  # noqa: ANN001
    """Ctrl+C or SIGTERM part way through had kept nothing of a long sweep: the settings
    measured are written (atomically), marked partial, and the last line says so."""
    import drcnet.sweep
    from drcnet.cli import Terminated

    passes, stop_at = [], [7]  # 2 images a setting: the 4th setting's 1st image

    def check(peaks, limit):  # noqa: ANN001, ANN202
        passes.append(1)
        if len(passes) == stop_at[0]:
            raise Terminated if stop == "sigterm" else stop
        return real(peaks, limit)

    real = drcnet.sweep.check_peaks
    monkeypatch.setattr(drcnet.sweep, "check_peaks", check)
    out = tmp_path / "sw"
    assert main(["sweep", "--task", "denoise", "--data", str(photos), "--weights",
                 str(tiny_weights), "--degradation", "gaussian25", "--device", "cpu", "--plain",
                 "--out", str(out)]) == code
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == (f"drcnet: error: {how} after 3 of 17 settings; the 3 measured are kept, "
                    f"marked partial, in {out / 'sweep_t.csv'}, {out / 'sweep_delta.csv'}, "
                    f"{out / 'sweep.png'}")
    t_rows = list(csv.DictReader((out / "sweep_t.csv").open(encoding="utf-8")))
    assert [r["t"] for r in t_rows] == ["0.50", "0.55", "0.60"]
    assert {r["note"] for r in t_rows} == {f"{CAVEAT}; partial: stopped after 3 of 17 settings"}
    assert list(csv.DictReader((out / "sweep_delta.csv").open(encoding="utf-8"))) == []
    assert read_image(out / "sweep.png").rgb.shape == (560, 1200, 3)  # δ's panel empty
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temp file left
    passes.clear()  # stopped in the first setting: nothing to keep, nothing written
    stop_at[0] = 2  # (its second image: a record with no setting done came before)
    empty = tmp_path / "none"
    assert main(["sweep", "--task", "denoise", "--data", str(photos), "--weights",
                 str(tiny_weights), "--degradation", "gaussian25", "--device", "cpu", "--plain",
                 "--out", str(empty)]) == code
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"drcnet: error: {how} after 0 of 17 settings; nothing was written")
    assert not empty.exists()


def test_a_cancelled_sweep_hands_over_what_it_measured(photos, tiny_weights, tmp_path) -> None:  # noqa: ANN001
    cfg = SweepConfig(task="denoise", data=str(photos), weights=str(tiny_weights), device="cpu",
                      degradation="gaussian25", t_values=(0.5, 0.9), delta_values=(1e-2,))
    kept: list[SweepResult] = []

    def keep(rec) -> None:  # noqa: ANN001
        kept.append(rec.result)

    with pytest.raises(Cancelled):  # mid-setting: after the 2nd setting's first image
        run(sweep(cfg, cancel=lambda: len(kept) == 3), keep)
    part = kept[-1]  # the last record's, as the docs say (it had been None mid-setting)
    assert part.partial and part.settings == (1, 3)
    assert [p.t for p in part.t_points] == [0.5] and part.delta_points == ()
    t_csv, d_csv, _ = write_outputs(part, tmp_path)
    (row,) = csv.DictReader(t_csv.open(encoding="utf-8"))
    assert row["note"].endswith("; partial: stopped after 1 of 3 settings")
    assert list(csv.DictReader(d_csv.open(encoding="utf-8"))) == []  # its header alone
    whole = run(sweep(cfg))
    assert not whole.partial and whole.partial_note() == ""
    assert whole.t_points[0] == dataclasses.replace(part.t_points[0],
                                                    seconds=whole.t_points[0].seconds)


def test_sweep_values_must_be_a_sequence_of_numbers() -> None:
    """SweepConfig(t_values=0.5) had raised "Value after * must be an iterable"."""
    from drcnet.errors import UsageError

    with pytest.raises(UsageError, match=r"t_values must be a sequence of values, such as "
                                         r"\(0.5,\) for one, got 0.5"):
        SweepConfig(task="denoise", data=".", t_values=0.5)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="delta_values must be a sequence"):
        SweepConfig(task="denoise", data=".", delta_values="1e-6")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="t_values must hold numbers, got '0.5'"):
        SweepConfig(task="denoise", data=".", t_values=["0.5"])  # type: ignore[list-item]
    cfg = SweepConfig(task="denoise", data=".", t_values=[0.5], delta_values=np.array([1e-6]))
    assert cfg.t_values == (0.5,) and cfg.delta_values == (1e-6,)


def test_a_config_of_the_other_kind_is_refused(photos) -> None:  # noqa: ANN001
    """evaluate(RunConfig(...)) had failed with AttributeError on cfg.t; each takes its own."""
    from drcnet.errors import UsageError
    from drcnet.evaluation import EvalConfig, RunConfig, evaluate

    base = RunConfig(task="denoise", data=str(photos), device="cpu")
    for cfg in (base, SweepConfig(task="denoise", data=str(photos), device="cpu")):
        with pytest.raises(UsageError, match=f"evaluate takes an EvalConfig, not "
                                             f"{type(cfg).__name__}"):
            run(evaluate(cfg))  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="sweep takes a SweepConfig, not EvalConfig"):
        run(sweep(EvalConfig(task="denoise", data=str(photos), device="cpu")))  # type: ignore[arg-type]

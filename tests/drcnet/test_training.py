from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from drcnet.errors import Cancelled, DRCNetError, UsageError
from drcnet.training import TrainConfig, lr_at, run_to_end, train
from drcnet.weights import build_model, load_state_dict, read_metadata

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    for split, n in (("train", 3), ("val", 2)):
        (root / split).mkdir()
        for i in range(n):
            img = cv2.resize(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8), (64, 48))
            cv2.imwrite(str(root / split / f"{i}.png"), img)
    return root


def tiny(corpus: Path, out: Path, **kw: object) -> TrainConfig:
    base = dict(wf=8, depth=2, batch_size=2, crop=32, num_workers=0, steps=4, warmup_steps=2,
                log_every=1, val_every=2, ckpt_every=2, val_size=32, cr_levels=3,
                max_minutes=0.0, data=str(corpus / "train"), val_data=str(corpus / "val"),
                out_dir=str(out), device="cpu")
    base.update(kw)
    return TrainConfig.from_yaml(ROOT / "configs" / "denoise.yaml", base)


def collect(gen):  # noqa: ANN001, ANN201
    """Every progress record of a training generator, and its result."""
    records = []
    while True:
        try:
            records.append(next(gen))
        except StopIteration as stop:
            return records, stop.value


def test_a_config_file_wrong_in_itself_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: denoise\nlr: [1e-3\n")
    with pytest.raises(UsageError, match="not valid YAML") as caught:
        TrainConfig.from_yaml(bad)
    assert f'in "{bad}", line 2' in str(caught.value)  # the file, not "<unicode string>"
    assert "unicode string" not in str(caught.value)
    twice = tmp_path / "twice.yaml"
    twice.write_text("task: denoise\nsteps: 10\ntask: derain\n")  # PyYAML kept the last
    with pytest.raises(UsageError, match="setting 'task' is given twice") as caught:
        TrainConfig.from_yaml(twice)
    assert f'in "{twice}", line 3' in str(caught.value)
    with pytest.raises(DRCNetError, match="cannot read config"):
        TrainConfig.from_yaml(tmp_path / "missing.yaml")


def test_settings_that_would_have_run_somewhere_unintended_are_refused(tmp_path: Path) -> None:
    """An empty data or out_dir had been read as the current folder (a stray photo trained
    on, a run written beside the user's files); true had run as batch size 1; a misspelt
    name listed all 52 settings without the one meant."""
    for item in ("data=", "out_dir=", "out_dir=' '"):
        with pytest.raises(UsageError, match="is empty: it must name"):
            TrainConfig().with_overrides([item])
    yes = tmp_path / "no_data.yaml"
    yes.write_text("task: denoise\ndata: no\n")
    with pytest.raises(UsageError, match="data is empty"):
        TrainConfig.from_yaml(yes)
    for item in ("batch_size=true", "lr=yes"):
        with pytest.raises(UsageError, match="must be a number, got true"):
            TrainConfig().with_overrides([item])
    with pytest.raises(UsageError, match="did you mean 'max_minutes'") as err:
        TrainConfig().with_overrides(["max-minutes=5"])
    assert "known settings" not in str(err.value)
    with pytest.raises(UsageError, match="did you mean 'batch_size'"):  # a name's first word
        TrainConfig().with_overrides(["batch=8"])
    with pytest.raises(UsageError, match="unknown setting 'config_file'"):
        TrainConfig().with_overrides(["config_file=x.yaml"])  # from_yaml's own record
    assert TrainConfig().with_overrides(["val_data="]).val_data == ""  # "none" still means it


def test_a_second_run_into_the_same_folder_is_refused(corpus: Path, tmp_path: Path) -> None:
    first = train(tiny(corpus, tmp_path / "run"))
    next(first)  # the run holds its folder
    with pytest.raises(DRCNetError, match="another drcnet train is running into"):
        next(train(tiny(corpus, tmp_path / "run")))
    first.close()  # ended (or killed): the folder is free again
    records, result = collect(train(tiny(corpus, tmp_path / "run")))
    assert result.steps == 4
    (tmp_path / "afile").write_text("")
    with pytest.raises(DRCNetError, match="is a file, not a folder"):
        next(train(tiny(corpus, tmp_path / "afile")))


def test_an_export_path_that_cannot_be_written_stops_the_run_before_it_trains(
        corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "d1").mkdir()
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o500)
    cases = [("d1", "is a folder"), ("w.pt", "must be a .safetensors file")]
    if os.geteuid() != 0:  # root writes anywhere
        cases.append(("ro/w.safetensors", "not writable"))
    for name, says in cases:
        with pytest.raises(DRCNetError, match=says):
            next(train(tiny(corpus, tmp_path / "run", export=str(tmp_path / name))))
    assert not (tmp_path / "run" / "log.csv").exists()  # not one step was trained


def test_config_yaml_and_overrides() -> None:
    cfg = TrainConfig.from_yaml(ROOT / "configs" / "denoise-noea.yaml",
                                ["lr=1e-3", "steps=7", "amp=false", "cr=extra"])
    assert cfg.variant == "noea" and cfg.ea is False and cfg.weight_name == "denoise-noea"
    assert cfg.lr == 1e-3 and cfg.steps == 7 and cfg.amp is False and cfg.cr == "extra"
    assert cfg.config_file.endswith("denoise-noea.yaml")
    with pytest.raises(DRCNetError, match="unknown setting 'lrr'"):
        cfg.with_overrides(["lrr=1"])
    with pytest.raises(DRCNetError, match="must be an int"):
        cfg.with_overrides(["steps=many"])
    with pytest.raises(DRCNetError, match="key=value"):
        cfg.with_overrides(["steps"])
    with pytest.raises(DRCNetError, match="val_draws must be >= 1"):
        cfg.with_overrides(["val_draws=0"])
    with pytest.raises(DRCNetError, match="'ea' in overrides must be true or false.*'ture'"):
        cfg.with_overrides(["ea=ture"])  # a typo once turned energy attention off
    assert not cfg.with_overrides(["ea=Off"]).ea and cfg.with_overrides(["amp=yes"]).amp
    for odd in ("ea=~", "ea=2", "amp=null"):  # YAML values that are no yes or no
        with pytest.raises(DRCNetError, match="must be true or false"):
            cfg.with_overrides([odd])
    assert cfg.with_overrides(["amp=0"]).amp is False and cfg.with_overrides(["amp=1"]).amp is True
    for bad in ("max_minutes=-1", "seed=-1", "lr=0", "grad_clip=nan"):
        with pytest.raises(DRCNetError, match=f"{bad.split('=')[0]} must be"):
            cfg.with_overrides([bad])
    for name in ("derain", "deblur", "denoise"):
        assert TrainConfig.from_yaml(ROOT / "configs" / f"{name}.yaml").task == name
    gauss = TrainConfig.from_yaml(ROOT / "configs" / "denoise-gaussian.yaml")
    assert (gauss.task, gauss.variant, gauss.degradation) == ("denoise", "gaussian", "gaussian")
    assert gauss.weight_name == "denoise-gaussian" and gauss.crop == 256


def test_lr_schedule() -> None:
    cfg = TrainConfig(steps=100, warmup_steps=10, lr=1e-3, min_lr=1e-5)
    assert lr_at(cfg, 0, 0) == pytest.approx(1e-4)
    assert lr_at(cfg, 10, 0) == pytest.approx(1e-3)
    assert lr_at(cfg, 55, 0) == pytest.approx((1e-3 + 1e-5) / 2)
    assert lr_at(cfg, 100, 0) == pytest.approx(1e-5)
    timed = TrainConfig(steps=10**6, warmup_steps=10, lr=1e-3, min_lr=0.0, max_minutes=1.0)
    assert lr_at(timed, 20, 30.0) == pytest.approx(5e-4)  # half the time budget spent


def test_train_checkpoint_and_resume(corpus: Path, tmp_path: Path) -> None:
    cfg = tiny(corpus, tmp_path / "run")
    records, result = collect(train(cfg))
    assert result.steps == 4 and result.stopped == "steps"
    assert records[0].message.startswith("validation: 2 images, input PSNR")
    assert [r.step for r in records if r.message.startswith("loss")] == [1, 2, 3, 4]
    assert any(r.val_psnr is not None for r in records)
    for name in ("last.safetensors", "state.pt", "best.safetensors", "log.csv"):
        assert (tmp_path / "run" / name).is_file()
    meta = read_metadata(result.weights)
    assert meta["task"] == "denoise" and meta["steps"] == "4" and "val_psnr" in meta
    assert meta["val_step"] == "4"
    assert build_model(result.weights).config.wf == 8

    more = run_to_end(train(cfg.with_overrides(["steps=6"])))
    assert more.steps == 6  # the step counter continued from 4
    rows = list(csv.DictReader(open(tmp_path / "run" / "log.csv")))
    loss_steps = [int(r["step"]) for r in rows if r["loss"]]
    assert loss_steps == [1, 2, 3, 4, 5, 6]
    log_before = (tmp_path / "run" / "log.csv").read_bytes()
    with pytest.raises(DRCNetError, match="holds a run at step 6"):
        run_to_end(train(cfg.with_overrides(["steps=1"]), resume=False))
    assert (tmp_path / "run" / "log.csv").read_bytes() == log_before  # nothing mixed in
    with pytest.raises(DRCNetError, match="task=denoise but the config asks for task=derain"):
        run_to_end(train(cfg.with_overrides(["steps=8", "task=derain"])))
    with pytest.raises(DRCNetError, match="ea=True but the config asks for ea=False"):
        run_to_end(train(cfg.with_overrides(["steps=8", "ea=off"])))
    fresh = run_to_end(train(cfg.with_overrides(["steps=1", f"out_dir={tmp_path / 'new'}"]),
                             resume=False))
    assert fresh.steps == 1


def val_rows(run: Path) -> list[int]:
    return [int(r["step"]) for r in csv.DictReader(open(run / "log.csv")) if r["val_psnr"]]


def test_a_resume_on_another_validation_drops_the_old_best(corpus: Path, tmp_path: Path) -> None:
    """Scores of two validation sets do not compare: the old best must neither win the
    export nor lend it its score."""
    run = tmp_path / "run"
    first = run_to_end(train(tiny(corpus, run)))
    assert first.best is not None
    records, result = collect(train(tiny(corpus, run, steps=6, val_seed=5, val_every=100)))
    assert any(r.message.startswith("validation changed since step 4") for r in records)
    meta = read_metadata(result.weights)
    assert meta["exported"] == "last" and meta["val_step"] == "6"
    assert read_metadata(run / "best.safetensors")["step"] == "6"  # replaced, not kept
    assert result.best == run / "best.safetensors"


def test_a_resume_applies_a_new_weight_decay(corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "wd"
    run_to_end(train(tiny(corpus, run, val_data="")))
    records, _ = collect(train(tiny(corpus, run, steps=5, val_data="", weight_decay=0.5)))
    assert any(r.message == "weight_decay 0.0 -> 0.5 from the config" for r in records)
    state = torch.load(run / "state.pt", weights_only=True)
    assert {g["weight_decay"] for g in state["optimizer"]["param_groups"]} == {0.5}


def test_a_resume_says_which_settings_it_changes(corpus: Path, tmp_path: Path) -> None:
    """A resume with another lr, crop, t or δ had applied it without a word (the export's
    record keeps only the last values)."""
    run = tmp_path / "changed"
    run_to_end(train(tiny(corpus, run, val_data="")))
    records, _ = collect(train(tiny(corpus, run, steps=5, val_data="", lr=5e-4, crop=48,
                                    num_workers=0, log_every=2)))
    said = [r.message for r in records if r.message.startswith("settings changed")]
    assert said == ["settings changed since the run's last checkpoint, used from here on: "
                    "crop 32 -> 48, lr 0.001 -> 0.0005"]
    records, _ = collect(train(tiny(corpus, run, steps=6, val_data="", lr=5e-4, crop=48)))
    assert not any(r.message.startswith("settings changed") for r in records)  # log_every


def test_a_longer_run_says_its_schedule_follows_the_new_length(corpus: Path,
                                                              tmp_path: Path) -> None:
    """Raising ``steps`` on a resume had sent the lr back up the cosine without a word."""
    run = tmp_path / "longer"
    run_to_end(train(tiny(corpus, run, val_data="")))
    cfg = tiny(corpus, run, steps=12, val_data="")
    records, _ = collect(train(cfg))
    said = [r.message for r in records if r.message.startswith("steps ")]
    assert said == [f"steps 4 -> 12: the cosine schedule follows the new length from step 4 "
                    f"(lr now {lr_at(cfg, 4, 0.0):.2e})"]
    assert lr_at(cfg, 4, 0.0) > lr_at(tiny(corpus, run), 3, 0.0)  # back up: worth saying


def test_a_missing_optimizer_state_keeps_the_clock_and_says_so(corpus: Path,
                                                               tmp_path: Path) -> None:
    run = tmp_path / "s"
    run_to_end(train(tiny(corpus, run)))
    before = torch.load(run / "state.pt", weights_only=True)
    (run / "state.pt").unlink()  # killed between the two writes of a checkpoint
    records, _ = collect(train(tiny(corpus, run, steps=5, val_every=100)))
    assert any(r.message.startswith("state.pt is missing: Adam's moments start afresh")
               for r in records)
    after = torch.load(run / "state.pt", weights_only=True)
    assert after["elapsed_s"] >= before["elapsed_s"] * 0.99  # the schedule's clock went on
    (run / "state.pt").unlink()  # again: what does the resume itself recover?
    from drcnet.network import DRCNet
    from drcnet.training import _load_resume

    net = DRCNet(wf=8, depth=2)
    state = _load_resume(tiny(corpus, run, steps=5), run, net,
                         torch.optim.Adam(net.parameters()))
    assert state["step"] == 5
    assert state["best_psnr"] == pytest.approx(after["best_psnr"], abs=1e-3)  # best's file
    assert state["elapsed_s"] == pytest.approx(after["elapsed_s"], abs=0.1)


def test_a_run_from_before_the_region_norm_scale_resumes(corpus: Path, tmp_path: Path) -> None:
    """A run written before the spatial filter had its per-channel scale and shift: its
    weights lack them and its Adam state has fewer parameters (torch had refused it with a
    ValueError); the weights load with them at 1 and 0 and Adam starts afresh, saying so,
    while the rest of the run's state (its weight average, its count of starts) carries on."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    run = tmp_path / "old"
    run_to_end(train(tiny(corpus, run, val_data="", ema=0.9)))
    with safe_open(str(run / "last.safetensors"), "pt") as f:
        meta = f.metadata()
        old = {k: f.get_tensor(k) for k in f.keys() if "norm_" not in k}
    n_new = len(load_state_dict(run / "last.safetensors")) - len(old)
    assert n_new > 0
    save_file(old, str(run / "last.safetensors"), metadata=meta)
    state = torch.load(run / "state.pt", weights_only=True)
    group = state["optimizer"]["param_groups"][0]
    group["params"] = group["params"][:-n_new]
    torch.save(state, run / "state.pt")
    records, result = collect(train(tiny(corpus, run, steps=5, val_data="", ema=0.9)))
    assert result.steps == 5
    assert any("holds Adam's moments for another set of parameters" in r.message
               for r in records)
    assert not any("no saved average" in r.message for r in records)  # the average went on
    assert torch.load(run / "state.pt", weights_only=True)["starts"] == 2


def test_a_resumed_run_draws_items_the_run_before_never_drew(
        corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The synthetic pairs are seeded by their index, and a resume had walked the same
    indices again (in another order): the same crops with the same degradations."""
    import drcnet.training

    drawn: list[list[int]] = []

    class Recording(drcnet.training.InfiniteSampler):
        def __iter__(self):  # noqa: ANN204
            drawn.append([])
            for i in super().__iter__():
                drawn[-1].append(i)
                yield i

    monkeypatch.setattr(drcnet.training, "InfiniteSampler", Recording)
    run = tmp_path / "r"
    run_to_end(train(tiny(corpus, run, val_data="")))
    run_to_end(train(tiny(corpus, run, val_data="", steps=8)))
    first, second = drawn  # (a few of 100,000 indices: repeats would be rare here, so
    assert first and second and max(first) < min(second)  # the resume must start beyond)


def test_a_second_run_into_a_folder_in_use_is_refused(corpus: Path, tmp_path: Path) -> None:
    """Two runs into one folder would overwrite each other's checkpoints."""
    from drcnet.training import _lock

    run = tmp_path / "busy"
    run.mkdir()
    with open(run / ".lock", "a+") as held:  # as a running drcnet train holds it
        _lock(held)
        with pytest.raises(DRCNetError, match="another drcnet train is running into"):
            run_to_end(train(tiny(corpus, run)))
        assert sorted(p.name for p in run.iterdir()) == [".lock"]  # nothing written
    assert run_to_end(train(tiny(corpus, run, val_data=""))).steps == 4  # released: runs


def test_a_rerun_of_a_finished_run_does_not_score_it_again(corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "done"
    first = run_to_end(train(tiny(corpus, run)))
    assert val_rows(run) == [2, 4]
    records, again = collect(train(tiny(corpus, run)))
    assert val_rows(run) == [2, 4] and again.val_psnr == pytest.approx(first.val_psnr)
    # It says so: a rerun (or a resume with fewer steps) had re-exported without a word.
    assert any("is at step 4 of the 4 asked for: nothing to train" in r.message
               for r in records)
    records, _ = collect(train(tiny(corpus, run, steps=2)))  # fewer: "step 4/4", not "4/2"
    assert any("is at step 4 of the 2 asked for" in r.message for r in records)
    assert all(r.step <= r.total for r in records)
    # More after it: the run was 4 steps long, not the 2 its re-export recorded.
    records, _ = collect(train(tiny(corpus, run, steps=6)))
    assert any(r.message.startswith("steps 4 -> 6: the cosine schedule follows the new "
                                    "length from step 4") for r in records)


def test_rows_logged_after_the_last_checkpoint_are_dropped_on_resume(corpus: Path,
                                                                   tmp_path: Path) -> None:
    run = tmp_path / "killed"
    run_to_end(train(tiny(corpus, run, val_data="")))
    with open(run / "log.csv", "a") as f:  # a run killed at step 6, after its checkpoint at 4
        f.write("5,1.0,0.001,0.5,0.5,0,1,2,,,0\n6,1.0,0.001,0.5,0.5,0,1,2,,,0\n")
    records, _ = collect(train(tiny(corpus, run, steps=6, val_data="")))
    assert any(r.message.startswith("log.csv: dropped 2 rows logged after the checkpoint at "
                                    "step 4") for r in records)
    steps = [int(r["step"]) for r in csv.DictReader(open(run / "log.csv"))]
    assert steps == sorted(steps) and steps.count(5) == 1
    (run / "log.csv").write_text("")  # emptied by hand or a full disk: no crash
    run_to_end(train(tiny(corpus, run, steps=7, val_data="")))
    assert [int(r["step"]) for r in csv.DictReader(open(run / "log.csv"))] == [7]


@pytest.mark.parametrize("val", ["train", "train/sub", "."])
def test_validation_inside_the_training_data_is_refused(corpus: Path, tmp_path: Path,
                                                        val: str) -> None:
    (corpus / "train" / "sub").mkdir(exist_ok=True)
    data = str(corpus / "train")
    with pytest.raises(UsageError, match="inside|is data"):
        run_to_end(train(tiny(corpus, tmp_path / "leak", data=data,
                              val_data=str((corpus / val).resolve()))))
    assert not (tmp_path / "leak" / "last.safetensors").exists()


def test_a_log_without_a_checkpoint_is_kept_apart(corpus: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "killed"
    run_dir.mkdir()
    (run_dir / "log.csv").write_text("step,loss\n368,0.1\n")  # killed before a checkpoint
    records, _ = collect(train(tiny(corpus, run_dir, steps=2, val_data="")))
    assert any(r.message.startswith("log.csv held a run with no checkpoint (killed before its "
                                    "first): kept as log.old1.csv") for r in records)  # said
    rows = list(csv.DictReader(open(run_dir / "log.csv")))
    assert [int(r["step"]) for r in rows if r["loss"]] == [1, 2]  # its own log, from step 1
    assert (run_dir / "log.old1.csv").read_text() == "step,loss\n368,0.1\n"


def test_keep_every_keeps_weights_to_pick_among(corpus: Path, tmp_path: Path) -> None:
    run_to_end(train(tiny(corpus, tmp_path / "keep", steps=5, keep_every=2, val_data="")))
    kept = sorted(p.name for p in (tmp_path / "keep").glob("step*.safetensors"))
    assert kept == ["step000002.safetensors", "step000004.safetensors"]
    assert read_metadata(tmp_path / "keep" / kept[1])["step"] == "4"
    state = load_state_dict(tmp_path / "keep" / kept[1])  # fp16, as shipped files
    assert {v.dtype for v in state.values() if v.is_floating_point()} == {torch.float16}


def test_ema_averages_with_a_ramped_decay() -> None:
    from drcnet.network import DRCNet
    from drcnet.training import _Ema

    torch.manual_seed(0)
    net = DRCNet(wf=8, depth=2)
    start = {k: v.clone() for k, v in net.state_dict().items()}
    ema = _Ema(net, 0.9)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    ema.update(net)  # first update: decay min(0.9, 2 / 11)
    d = 2 / 11
    for k, v in ema.net.state_dict().items():
        assert torch.allclose(v, start[k] * d + net.state_dict()[k] * (1 - d), atol=1e-6), k
    assert not any(p.requires_grad for p in ema.net.parameters())
    for _ in range(100):
        ema.update(net)
    assert ema.updates == 101
    gap = max(float((ema.net.state_dict()[k] - net.state_dict()[k]).abs().max()) for k in start)
    assert gap < 1e-4  # it follows weights that stay put


def test_ema_exports_the_average_and_resumes_it(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(DRCNetError, match="ema must be in"):
        TrainConfig(ema=1.0)
    cfg = tiny(corpus, tmp_path / "ema", steps=4, ema=0.5, keep_every=2, val_data="",
               lr=0.01, warmup_steps=1)
    records, result = collect(train(cfg))
    assert any(r.message.startswith("ema 0.5: validation, snapshots and the export use")
               for r in records)
    out = tmp_path / "ema"
    raw, exported = load_state_dict(out / "last.safetensors"), load_state_dict(result.weights)
    assert read_metadata(result.weights)["ema"] == "0.5"
    last_meta = read_metadata(out / "last.safetensors")  # raw weights, labelled as such
    assert "ema" not in last_meta and last_meta["weights"].startswith("raw")
    # the export is not the raw last step's weights (fp16), which it would be without ema
    assert not all(torch.equal(raw[k].half(), exported[k]) for k in raw)
    kept = load_state_dict(out / "step000004.safetensors")  # snapshots are the average too
    assert all(torch.equal(kept[k], exported[k]) for k in kept)
    saved = torch.load(out / "state.pt", weights_only=True)
    assert saved["ema"]["updates"] == 4
    # a resume with no steps left exports the saved average as it was
    again = run_to_end(train(cfg.with_overrides(["export=" + str(tmp_path / "again.safetensors")])))
    resumed = load_state_dict(again.weights)
    assert all(torch.equal(resumed[k], saved["ema"]["weights"][k].half()) for k in resumed)
    run_to_end(train(cfg.with_overrides(["steps=6"])))
    assert torch.load(out / "state.pt", weights_only=True)["ema"]["updates"] == 6
    records, _ = collect(train(cfg.with_overrides(["steps=7", "ema=0"])))
    assert any(r.message == "ema off: the saved average is dropped" for r in records)


def test_validation_over_several_draws(corpus: Path, tmp_path: Path) -> None:
    cfg = tiny(corpus, tmp_path / "draws", steps=2, val_draws=3)
    records, result = collect(train(cfg))
    assert records[0].message.startswith("validation: 2 images x 3 draws (seeds 0-2), input")
    assert read_metadata(result.weights)["val_psnr"]
    assert TrainConfig.from_yaml(ROOT / "configs" / "derain.yaml").val_draws == 4


def test_paired_training_validates_on_pairs_of_its_layout(corpus: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    for split, sizes in (("train", [(40, 48), (24, 30)]), ("test", [(48, 40), (40, 40)])):
        for i, (h, w) in enumerate(sizes):  # one training pair smaller than the crop
            clean = cv2.resize(rng.integers(0, 255, (6, 6, 3), dtype=np.uint8), (w, h))
            noisy = np.clip(clean + rng.normal(0, 20, clean.shape), 0, 255).astype(np.uint8)
            for sub, img in (("input", noisy), ("target", clean)):
                (tmp_path / "rain" / split / sub).mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(tmp_path / "rain" / split / sub / f"{i}.png"), img)
    cfg = tiny(corpus, tmp_path / "paired", steps=2, val_draws=3, layout="rain13k",
               data=str(tmp_path / "rain" / "train"), val_data=str(tmp_path / "rain" / "test"))
    records, result = collect(train(cfg))
    said = records[0].message
    assert said.startswith("validation: 2 rain13k pairs, input PSNR"), said
    # the input's scores are drcnet eval --paired's at the same crop
    from drcnet.evaluation import EvalData
    from drcnet.metrics import psnr
    data = EvalData(tmp_path / "rain" / "test", paired="rain13k", size=32)
    want = np.mean([psnr(s.degraded, s.clean) for s in (data[i] for i in range(len(data)))])
    assert f"input PSNR {want:.2f} dB" in said
    assert math.isfinite(float(read_metadata(result.weights)["val_psnr"]))
    assert any(r.message == "1 of 2 pairs are smaller than the 32-px crop and are mirrored at "
               "their edges to fit (1.png)" for r in records)
    # noisy pairs in Rain13k's folders train a denoiser, as asked, and it is said
    assert any(r.message == "layout=rain13k is the derain benchmark's layout, but this run "
               "trains a denoise model (its weights are exported for denoise)" for r in records)
    # the clean-photo validation folder of the default configs is not a rain13k set
    with pytest.raises(DRCNetError, match="give val_data a rain13k folder"):
        run_to_end(train(cfg.with_overrides([f"val_data={corpus / 'val'}",
                                             f"out_dir={tmp_path / 'wrong'}"])))


def test_a_recipe_of_another_task_is_said(corpus: Path, tmp_path: Path) -> None:
    """A denoiser trained on rain pairs is allowed (as a layout of another task is), but said;
    a recipe of the task itself says nothing."""
    said = "degradation=rain is a derain recipe, but this run trains a denoise model " \
           "(its weights are exported for denoise)"
    records, _ = collect(train(tiny(corpus, tmp_path / "rain", steps=1, degradation="rain")))
    assert said in [r.message for r in records]
    records, _ = collect(train(tiny(corpus, tmp_path / "g", steps=1, degradation="gaussian25")))
    assert not any("recipe, but this run" in (r.message or "") for r in records)


def test_photos_smaller_than_the_crop_are_named(corpus: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from drcnet.cli_train import _drive

    cfg = tiny(corpus, tmp_path / "big", steps=1, crop=56, val_data="")  # photos are 64x48
    records, _ = collect(train(cfg))
    note = ("3 of 3 photos have a short side under the 56-px crop and are upscaled to fit, "
            "which softens their texture (0.png, 1.png, 2.png); a smaller crop avoids it")
    assert note in [r.message for r in records]
    # under the terminal's progress bar, such notes stay above it instead of flashing by
    _drive(train(cfg.with_overrides([f"out_dir={tmp_path / 'bar'}"])), 1, "t", plain=False)
    said = capsys.readouterr().out
    assert f"[t] step 0: {note}\n" in said
    assert "final.safetensors (last, not validated)" in said  # no "val PSNR nan dB"


def test_lowfreq_term_trains_and_is_recorded(corpus: Path, tmp_path: Path) -> None:
    cfg = tiny(corpus, tmp_path / "lf", steps=2, val_data="", lowfreq=1.0, lowfreq_pool=8)
    result = run_to_end(train(cfg))
    meta = read_metadata(result.weights)
    assert "1.0 * L1 of 8-px block means" in meta["loss"]
    assert json.loads(meta["train_config"])["lowfreq"] == 1.0
    with pytest.raises(DRCNetError, match="must not exceed the crop"):
        cfg.with_overrides(["lowfreq_pool=64"])
    with pytest.raises(DRCNetError, match="lowfreq must be >= 0"):
        cfg.with_overrides(["lowfreq=-0.5"])


@pytest.mark.parametrize(("key", "value"), [("wf", 2048), ("depth", 9), ("depth", 1),
                                            ("crop", 8), ("crop", 8192)])
def test_sizes_the_loader_would_refuse_are_refused_before_training(key: str, value: int) -> None:
    """A run with depth 9 or wf 2048 wrote files the loader refuses; a crop of 8192 one whose
    crop it ignores."""
    from drcnet.errors import UsageError

    with pytest.raises(UsageError, match=f"{key} must be"):
        TrainConfig(task="denoise", **{key: value})


def test_gaussian_variant_is_denoise_only() -> None:
    assert TrainConfig(task="denoise", variant="gaussian").weight_name == "denoise-gaussian"
    with pytest.raises(DRCNetError, match="only for denoise"):
        TrainConfig(task="derain", variant="gaussian")


def test_noea_variant_exports_ea_false(corpus: Path, tmp_path: Path) -> None:
    cfg = tiny(corpus, tmp_path / "noea", variant="noea", steps=1, val_data="",
               export=str(tmp_path / "w" / "denoise-noea.safetensors"))
    result = run_to_end(train(cfg))
    assert result.weights == tmp_path / "w" / "denoise-noea.safetensors"
    model = build_model(result.weights)
    assert model.config.ea is False and model.knobs.ea is False
    assert read_metadata(result.weights)["variant"] == "noea"


def test_time_budget_stops_cleanly(corpus: Path, tmp_path: Path) -> None:
    cfg = tiny(corpus, tmp_path / "timed", steps=10**6, max_minutes=1e-9)
    result = run_to_end(train(cfg))
    assert result.stopped == "time" and 1 <= result.steps < 10
    assert result.weights is not None and result.weights.is_file()


def test_cancel_checkpoints_then_raises(corpus: Path, tmp_path: Path) -> None:
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) >= 2

    with pytest.raises(Cancelled, match=r"checkpoint saved\); run it again .* to resume"):
        run_to_end(train(tiny(corpus, tmp_path / "c", steps=100, val_every=100), cancel=cancel))
    assert read_metadata(tmp_path / "c" / "last.safetensors")["step"] == "2"
    assert val_rows(tmp_path / "c") == []  # stopped at once: no validation first


def _torchrun(corpus: Path, tmp_path: Path, scenario: str) -> tuple[dict, dict]:
    """Run the 2-process ``scenario`` under torchrun; each rank's report. One train() per
    process, as in real use (a second one in the same process, on a new group, could meet
    the first group's stale rendezvous keys under load: "Connection reset by peer")."""
    script = tmp_path / f"ddp_{scenario}.py"
    script.write_text(textwrap.dedent(f"""
        import dataclasses, json, os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from drcnet.errors import Cancelled, DRCNetError
        from drcnet.training import TrainConfig, train, run_to_end
        cfg = TrainConfig(wf=8, depth=2, batch_size=2, crop=32, num_workers=0, steps=3,
                          warmup_steps=1, val_data="", cr_levels=3, device="cpu",
                          data={str(corpus / "train")!r},
                          out_dir={str(tmp_path / scenario)!r})
        rank = int(os.environ["RANK"])
        report = {{}}
        if {scenario!r} == "replicas":
            r = run_to_end(train(cfg, resume=False))
            report.update(digest=r.digest, steps=r.steps)
        elif {scenario!r} == "stop":
            # A stop asked of rank 1 alone (SIGTERM to one worker) stops both after the
            # same step, and rank 0 checkpoints it.
            asked = []
            def cancel():
                asked.append(1)
                return rank == 1 and len(asked) >= 2
            try:
                run_to_end(train(dataclasses.replace(cfg, steps=1000), cancel=cancel,
                                 resume=False))
                report["stopped"] = "no"
            except Cancelled:
                report["stopped"] = "cancelled"
            report["polls"] = len(asked)
        else:  # a refusal only rank 0 makes (its export path is a folder)
            try:
                run_to_end(train(dataclasses.replace(cfg, export={str(tmp_path)!r}),
                                 resume=False))
                report["refused"] = "no"
            except DRCNetError as e:
                report["refused"] = str(e)
        task = "/proc/self/task"
        names = ([open(os.path.join(task, t, "comm")).read().strip() for t in os.listdir(task)]
                 if os.path.isdir(task) else [])
        report["gloo_threads"] = [n for n in names if "gloo" in n]
        with open(os.path.join({str(tmp_path)!r}, f"{scenario}{{rank}}.json"), "w") as f:
            json.dump(report, f)
    """))
    # Until session 20 a rank aborted at exit in about 1 run in 30 ("terminate called without
    # an active exception", SIGABRT): the group outlived destroy_process_group, and a Gloo
    # worker thread still releasing its last collective at interpreter shutdown needed the GIL.
    # train() now frees the group, so no Gloo thread is left when it returns (checked below on
    # Linux, where threads have names); faulthandler prints each rank's Python stack if a rank
    # dies anyway, and the message keeps the end of stderr, where that stack is.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(script)],
        capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-6000:]
    return tuple(json.loads((tmp_path / f"{scenario}{r}.json").read_text()) for r in (0, 1))


def test_torchrun_two_replicas_stay_identical(corpus: Path, tmp_path: Path) -> None:
    r0, r1 = _torchrun(corpus, tmp_path, "replicas")
    assert r0["steps"] == r1["steps"] == 3
    assert r0["digest"] == r1["digest"] and len(r0["digest"]) == 64
    assert r0["gloo_threads"] == r1["gloo_threads"] == []
    out = tmp_path / "replicas"
    assert (out / "final.safetensors").is_file()
    initial = build_model(out / "final.safetensors")
    assert read_metadata(out / "final.safetensors")["world_size"] == "2"
    assert initial.config.wf == 8


def test_torchrun_a_stop_or_refusal_on_one_rank_stops_both(corpus: Path,
                                                           tmp_path: Path) -> None:
    """Rank 0's stop flag was broadcast: a SIGTERM to another worker was ignored, and the
    next Ctrl+C killed the run unsaved. A refusal only rank 0 makes left rank 1 dying in
    DDP's first collective, with a 30-line gloo traceback."""
    r0, r1 = _torchrun(corpus, tmp_path, "stop")
    assert r0["stopped"] == r1["stopped"] == "cancelled"  # rank 0 had trained on alone
    assert r0["polls"] == r1["polls"] == 2  # after the same step
    assert read_metadata(tmp_path / "stop" / "last.safetensors")["step"] == "2"
    r0, r1 = _torchrun(corpus, tmp_path, "refuse")
    assert "is a folder" in r0["refused"]
    assert r1["refused"] == "rank 0 could not start the run (its message says why); rank 1 stops"


def test_cli_train(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from drcnet.cli_train import main

    args = ["train", "--config", str(ROOT / "configs" / "deblur.yaml"), "--out",
            str(tmp_path / "cli"), "--device", "cpu", "--plain"]
    for kv in ("wf=8", "depth=2", "batch_size=2", "crop=32", "num_workers=0", "steps=2",
               "cr_levels=3", "val_size=32", f"data={corpus / 'train'}",
               f"val_data={corpus / 'val'}", "max_minutes=0"):
        args += ["--set", kv]
    assert main(args) == 0
    assert build_model(tmp_path / "cli" / "final.safetensors").config.depth == 2
    said = capsys.readouterr().out  # where to look at it, a path the GUI opens
    assert f"drcnet-studio --weights {tmp_path / 'cli'}" in said
    assert main([*args, "--set", "bogus=1"]) == 2  # a usage error, as argparse's own


def test_cli_train_stops_cleanly_on_sigterm(corpus: Path, tmp_path: Path) -> None:
    import signal
    import time

    out = tmp_path / "term"
    args = [sys.executable, "-m", "drcnet.cli_train", "train", "--config",
            str(ROOT / "configs" / "denoise.yaml"), "--out", str(out), "--device", "cpu",
            "--plain"]
    for kv in ("wf=8", "depth=2", "batch_size=2", "crop=32", "num_workers=0", "steps=100000",
               "cr_levels=3", "val_data=", "log_every=1", "ckpt_every=100000",
               "ckpt_minutes=0", f"data={corpus / 'train'}", "max_minutes=0"):
        args += ["--set", kv]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # wait until it is training
            if "step 3/" in line:
                break
        proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr[-2000:]
    assert "SIGTERM: stopping after this step and saving a checkpoint" in stderr
    assert "run it again with the same out_dir" in stderr and "Traceback" not in stderr
    step = int(read_metadata(out / "last.safetensors")["step"])
    assert step >= 3 and (out / "state.pt").is_file()  # no periodic checkpoint: the stop's
    assert time.monotonic() - start < 60


def _initial_digest(cfg: TrainConfig) -> str:
    import torch

    from drcnet.network import DRCNet
    from drcnet.training import param_digest

    torch.manual_seed(cfg.seed)
    return param_digest(DRCNet(wf=cfg.wf, depth=cfg.depth, t=cfg.t, delta=cfg.delta, ea=cfg.ea))


@pytest.mark.parametrize("inject", ["loss", "grad"])
def test_non_finite_steps_are_skipped(corpus: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch, inject: str) -> None:
    import dataclasses

    import torch

    from drcnet.losses import RestorationLoss

    orig = RestorationLoss.forward

    def poisoned(self, outs, gt, degraded):  # type: ignore[no-untyped-def]
        parts = orig(self, outs, gt, degraded)
        if inject == "loss":
            bad = parts.total * float("nan")
        else:  # a finite loss (+0) whose gradient is NaN: d sqrt(|u−u|) at 0
            bad = parts.total + torch.sqrt((outs[-1] - outs[-1].detach()).abs().sum())
            assert torch.isfinite(bad)
        return dataclasses.replace(parts, total=bad)

    monkeypatch.setattr(RestorationLoss, "forward", poisoned)
    cfg = tiny(corpus, tmp_path / inject, steps=3, val_data="")
    result = run_to_end(train(cfg))
    assert result.steps == 3
    assert result.digest == _initial_digest(cfg)  # no step touched the weights
    model = build_model(result.weights)
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())
    rows = list(csv.DictReader(open(tmp_path / inject / "log.csv")))
    assert rows[-1]["skipped"] == "3"
    assert read_metadata(result.weights)["skipped_steps"] == "3"


def test_init_weights(corpus: Path, tmp_path: Path) -> None:
    import torch

    from drcnet.weights import load_state_dict

    first = run_to_end(train(tiny(corpus, tmp_path / "a", steps=2, val_data="")))
    cfg = tiny(corpus, tmp_path / "b", steps=1, val_data="", lr=1e-12, min_lr=0.0,
               init_weights=str(first.weights))
    records, second = collect(train(cfg))
    said = [r.message for r in records]
    assert f"initialised from {first.weights}" in said
    a, b = load_state_dict(first.weights), load_state_dict(second.weights)
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-3) for k in a)
    assert read_metadata(second.weights)["init_weights"] == str(first.weights)
    assert second.digest != _initial_digest(cfg)
    records, _ = collect(train(cfg.with_overrides({"ema": 0.9, "out_dir": str(tmp_path / "e")})))
    said = [r.message for r in records]  # with ema too (its note once hid this one)
    assert f"initialised from {first.weights}" in said
    assert not any(m.startswith("resumed") for m in said)
    # Its advice is the width to train it at (a widened file), not only starting afresh.
    with pytest.raises(DRCNetError, match=r"init_weights .* wf=8.* --set wf=8 --set depth=2"):
        run_to_end(train(cfg.with_overrides({"wf": 10, "out_dir": str(tmp_path / "c")})))
    with pytest.raises(DRCNetError):
        run_to_end(train(cfg.with_overrides({"init_weights": str(tmp_path / "none.safetensors"),
                                             "out_dir": str(tmp_path / "d")})))


def test_train_with_on_device_synthesis(corpus: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tiny(corpus, tmp_path / "gpu", synth="gpu", task="derain")
    assert cfg.synth_on(__import__("torch").device("cpu")) == "gpu"
    assert tiny(corpus, tmp_path).synth_on(__import__("torch").device("cpu")) == "cpu"
    cuda = __import__("torch").device("cuda")  # named only
    assert tiny(corpus, tmp_path).synth_on(cuda) == "gpu"
    # the unclipped and half-clipped Gaussian recipes are made on the device too (until
    # session 29 auto made them on the CPU)
    for recipe in ("gaussian25u", "gaussianu", "gaussianm"):
        assert tiny(corpus, tmp_path, degradation=recipe).synth_on(cuda) == "gpu"
    result = run_to_end(train(cfg))
    assert result.steps == 4 and result.weights is not None
    assert "made on the device" in read_metadata(result.weights)["data"]
    import drcnet.training as training

    seen = []
    for cls in ("GpuSynthesizer", "SyntheticPairs"):
        real = getattr(training, cls)

        class Spy(real):  # type: ignore[misc, valid-type]
            def __init__(self, *a, _name=cls, **kw) -> None:  # noqa: ANN002, ANN003
                seen.append((_name, kw.get("scale_aug"), kw.get("color_aug"),
                             kw.get("sat_aug")))
                super().__init__(*a, **kw)

        monkeypatch.setattr(training, cls, Spy)
    for synth in ("gpu", "cpu"):  # both synthesizers get the augmentation settings
        aug = cfg.with_overrides([f"synth={synth}", "scale_aug=2", "color_aug=0.2", "sat_aug=3",
                                  "steps=1",
                                  "val_data=", f"out_dir={tmp_path / ('aug-' + synth)}"])
        run_to_end(train(aug))
    assert seen == [("GpuSynthesizer", 2.0, 0.2, 3.0), ("SyntheticPairs", 2.0, 0.2, 3.0)]
    with pytest.raises(DRCNetError, match="unknown synth"):
        cfg.with_overrides(["synth=tpu"])
    with pytest.raises(DRCNetError, match="unknown pixel_loss 'l3'; choose l1, charbonnier, mse"):
        cfg.with_overrides(["pixel_loss=l3"])


def test_failed_compile_falls_back_to_eager(corpus: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    class Broken(torch.nn.Module):  # what a compiler failing at its first call looks like
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("no compiler here")

    def broken_compile(model: torch.nn.Module) -> torch.nn.Module:
        return Broken()

    monkeypatch.setattr(torch, "compile", broken_compile)
    gen = train(tiny(corpus, tmp_path / "compiled", steps=2, val_data="", compile=True))
    messages = []
    try:
        while True:
            messages.append(next(gen).message)
    except StopIteration as stop:
        compiled = stop.value
    assert any("torch.compile failed (RuntimeError: no compiler here)" in m for m in messages)
    eager = run_to_end(train(tiny(corpus, tmp_path / "eager", steps=2, val_data="")))
    assert compiled.steps == eager.steps == 2
    assert compiled.digest == eager.digest  # the failed step was redone, not skipped


def test_compiled_failure_after_the_first_step_is_an_error(
        corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    class FailsLater(torch.nn.Module):  # compiled fine, then breaks: a real error, not a
        def __init__(self, inner: torch.nn.Module) -> None:  # reason to go eager silently
            super().__init__()
            self.inner, self.calls = inner, 0

        def forward(self, x: torch.Tensor) -> object:
            self.calls += 1
            if self.calls > 1:
                raise RuntimeError("broke at step 2")
            return self.inner(x)

    monkeypatch.setattr(torch, "compile", FailsLater)
    with pytest.raises(RuntimeError, match="broke at step 2"):
        run_to_end(train(tiny(corpus, tmp_path / "later", steps=3, val_data="",
                              compile=True)))


def test_settings_that_would_fail_mid_run_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="val_size must be 0 .* or >= 16"):
        TrainConfig(val_size=8)
    with pytest.raises(UsageError, match="batch_size must be >= 2"):
        TrainConfig(cr="extra", batch_size=1)
    with pytest.raises(UsageError, match="unknown cr 'bogus'"):
        TrainConfig(cr="bogus")
    assert TrainConfig().with_overrides(["cr=off"]).cr == "none"  # YAML's off is no 'False'
    assert TrainConfig().with_overrides(["name=yes"]).name == "yes"  # text stays as typed
    assert TrainConfig().with_overrides(["val_data='no'"]).val_data == "no"
    cfg = tmp_path / "c.yaml"
    cfg.write_text("cr: off\nval_data: false\n")  # YAML's booleans, in a config file
    read = TrainConfig.from_yaml(cfg)
    assert (read.cr, read.val_data) == ("none", "")
    cfg.write_text("name: yes\n")
    with pytest.raises(UsageError, match="'name' .* YAML read it as true: put it in quotes"):
        TrainConfig.from_yaml(cfg)
    home = TrainConfig(data="~/photos", out_dir="~/runs/x")
    assert home.data == str(Path.home() / "photos") and not home.out_dir.startswith("~")


def test_a_bad_folder_is_named_by_its_setting(corpus: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DRCNetError, match="^data: "):
        run_to_end(train(tiny(corpus, tmp_path / "a", data=str(empty))))
    assert not (tmp_path / "a").exists()  # the folder it made for nothing is gone again
    with pytest.raises(DRCNetError, match="^val_data: "):
        run_to_end(train(tiny(corpus, tmp_path / "b", val_data=str(empty))))
    unbuilt = tmp_path / "data" / "corpus" / "train"  # the configs' corpus, not built yet
    with pytest.raises(DRCNetError, match=r"build the corpus first: python scripts/build_"):
        run_to_end(train(tiny(corpus, tmp_path / "c", data=str(unbuilt))))


def test_several_processes_on_apple_s_gpu_are_refused_in_one_line(monkeypatch) -> None:  # noqa: ANN001
    """torchrun on a Mac: device auto is mps there, and gloo, the only backend, cannot
    exchange mps tensors, so the first all_reduce had failed deep inside torch."""
    import drcnet.training as training
    from drcnet.errors import DeviceError

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(training, "resolve_device", lambda name: torch.device("mps"))
    with pytest.raises(DeviceError, match=r"several processes cannot train on Apple's GPU"):
        training._setup(TrainConfig(device="auto"))


def test_the_run_lock_on_windows_and_on_file_systems_without_locks(monkeypatch,
                                                                   tmp_path: Path) -> None:
    """Windows has no fcntl: no lock had been taken there, so two runs could share a folder.
    A file system without locks (ENOLCK, some network shares) had been reported as another
    run holding the folder."""
    import builtins
    import errno
    import types

    import drcnet.training as training

    real_import = builtins.__import__

    def no_fcntl(name, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        if name == "fcntl":
            raise ImportError(name)
        return real_import(name, *a, **kw)

    held = {"by": None}

    def locking(fd: int, mode: int, n: int) -> None:
        if held["by"] is not None:
            raise OSError(errno.EACCES, "Permission denied")
        held["by"] = fd

    monkeypatch.setattr(builtins, "__import__", no_fcntl)
    monkeypatch.setitem(sys.modules, "msvcrt", types.SimpleNamespace(LK_NBLCK=2,
                                                                     locking=locking))
    first = training._claim_out_dir(tmp_path / "a")
    with pytest.raises(DRCNetError, match="another drcnet train is running into"):
        training._claim_out_dir(tmp_path / "a")
    first.close()
    monkeypatch.setattr(builtins, "__import__", real_import)

    def no_locks(f) -> None:  # noqa: ANN001
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(training, "_lock", no_locks)
    training._claim_out_dir(tmp_path / "b").close()  # runs, unlocked


def test_a_relative_folder_read_from_elsewhere_says_where_it_is(corpus: Path, tmp_path: Path,
                                                                 monkeypatch) -> None:  # noqa: ANN001
    """Run from outside the project, the config's relative data folder is not found; the
    error had said to build a corpus that was built."""
    import shutil

    project = tmp_path / "project"
    (project / "configs").mkdir(parents=True)
    shutil.copytree(corpus / "train", project / "data" / "corpus" / "train")
    config = project / "configs" / "denoise.yaml"
    config.write_text("task: denoise\ndata: data/corpus/train\nval_data: ''\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = TrainConfig.from_yaml(config, dict(wf=8, depth=2, batch_size=2, crop=32,
                                             num_workers=0, steps=1, out_dir=str(tmp_path / "r"),
                                             device="cpu"))
    with pytest.raises(DRCNetError) as err:
        collect(train(cfg))
    said = str(err.value)
    assert "relative paths are read from the current folder" in said
    assert f"data={project / 'data' / 'corpus' / 'train'}" in said and "build" not in said


def test_a_config_outside_configs_names_no_folder_above_it(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """The hint took configs/.. for the project: a config in the folder run from, whose data
    folder is missing, was told of a folder of that name one level up."""
    (tmp_path / "photos").mkdir()
    project = tmp_path / "proj"
    project.mkdir()
    config = project / "my.yaml"
    config.write_text("task: denoise\ndata: photos\nval_data: ''\n")
    monkeypatch.chdir(project)
    cfg = TrainConfig.from_yaml(config, dict(wf=8, depth=2, batch_size=2, crop=32,
                                             num_workers=0, steps=1, out_dir=str(tmp_path / "r"),
                                             device="cpu"))
    with pytest.raises(DRCNetError) as err:
        collect(train(cfg))
    assert "photos" in str(err.value) and "relative paths" not in str(err.value)


WORKERS_AFTER_OPENCV = r"""
import sys
import cv2
import numpy as np
import drcnet.training
from drcnet.training import TrainConfig, train

drcnet.training.usable_cores = lambda: 1  # as on a 1-core machine: 2 workers become 1

# The parent has used OpenCV's thread pool, as validation does before the first batch.
big = np.random.default_rng(0).random((1024, 1024, 3), dtype=np.float32)
for _ in range(3):
    cv2.GaussianBlur(cv2.resize(big, (700, 700)), (9, 9), 2)
corpus, out, config = sys.argv[1:4]
cfg = TrainConfig.from_yaml(config, dict(
    wf=8, depth=2, batch_size=2, crop=32, num_workers=2, steps=2, warmup_steps=1, log_every=1,
    val_every=2, ckpt_every=2, max_minutes=0.0, data=corpus + "/train", val_data="",
    out_dir=out, device="cpu"))
for rec in train(cfg):
    if rec.message:
        print(rec.message)
print("trained")
"""


def test_training_with_loader_workers_after_opencv_ran(corpus: Path, tmp_path: Path) -> None:
    """Workers forked after OpenCV's thread pool had run hung for ever in cv2.setNumThreads
    (OpenCV 4.10 and 5.1 alike): every CPU run with num_workers > 0 (the configs' default)
    stopped at step 0. They are spawned now."""
    r = subprocess.run([sys.executable, "-c", WORKERS_AFTER_OPENCV, str(corpus),
                        str(tmp_path / "run"), str(ROOT / "configs" / "denoise.yaml")],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0 and "trained" in r.stdout, r.stderr[-2000:]
    # More workers than cores are capped, with a note; PyTorch had warned they might freeze.
    assert "num_workers 2 -> 1: no more than the 1 core this run may use" in r.stdout
    assert "suggested max number of worker" not in r.stderr


@pytest.mark.parametrize("key", ["data", "val_data"])
def test_a_run_folder_that_is_a_photo_folder_is_refused(corpus: Path, key: str) -> None:
    """--out naming the training or validation photos had written the run's weights, state
    and log among them."""
    photos = corpus / ("train" if key == "data" else "val")
    before = sorted(p.name for p in photos.iterdir())
    with pytest.raises(UsageError, match=f"out_dir .* is the {key} folder"):
        run_to_end(train(tiny(corpus, photos)))
    assert sorted(p.name for p in photos.iterdir()) == before


def test_a_run_folder_left_out_is_named_after_the_run() -> None:
    """out_dir had defaulted to runs/denoise for every task: TrainConfig(task="derain") then
    met a denoise run there ("a run with task=denoise but the config asks for task=derain")."""
    assert TrainConfig().out_dir == "runs/denoise"
    assert TrainConfig(task="derain").out_dir == "runs/derain"
    assert TrainConfig(task="denoise", variant="noea").out_dir == "runs/denoise-noea"
    assert TrainConfig(task="deblur", name="wide").out_dir == "runs/wide"
    # Derived again for what the overrides change, from Python or from the command line,
    # unless out_dir itself is given.
    assert TrainConfig().with_overrides({"task": "derain"}).out_dir == "runs/derain"
    assert TrainConfig.from_yaml(None, ["task=deblur"]).out_dir == "runs/deblur"
    assert TrainConfig.from_yaml(None, ["task=deblur", "out_dir=mine"]).out_dir == "mine"
    assert TrainConfig(out_dir="mine").with_overrides({"task": "derain"}).out_dir == "mine"
    # A config file's own out_dir stands, with overrides too.
    cfg = TrainConfig.from_yaml(ROOT / "configs" / "derain512.yaml", ["steps=5"])
    assert cfg.out_dir == "runs/derain512" and cfg.weight_name != "derain512"
    with pytest.raises(UsageError, match="out_dir is empty"):  # still refused, not defaulted
        TrainConfig.from_yaml(None, ["out_dir="])


def test_settings_of_the_wrong_type_are_named() -> None:
    """TrainConfig(steps='5') had failed in the constructor with "'<' not supported between
    instances of 'str' and 'int'"."""
    for key, value, says in (("steps", "5", "steps must be a whole number, got '5'"),
                             ("steps", 5.5, "steps must be a whole number"),
                             ("lr", "1e-3", "lr must be a number, got '1e-3'"),
                             ("amp", "yes", "amp must be True or False"),
                             ("ea", None, "ea must be True or False, got None"),
                             ("data", 3, "data must be a path, got 3"),
                             ("pixel_loss", 1, "pixel_loss must be text")):
        with pytest.raises(UsageError, match=says):
            TrainConfig(**{key: value})
    # What fits is made plain: a whole float, a NumPy number, a path, 0 or 1 for a flag.
    cfg = TrainConfig(steps=2e4, batch_size=np.int64(4), lr=np.float32(0.5), amp=0,
                      data=Path("photos"))
    assert (cfg.steps, cfg.batch_size, cfg.amp, cfg.data) == (20000, 4, False, "photos")
    assert type(cfg.steps) is int and type(cfg.batch_size) is int and type(cfg.lr) is float

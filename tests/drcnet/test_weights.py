from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from drcnet import DRCNet, NoWeightsError, UnsafeCheckpointError, WeightsError, load_model, registry
from drcnet.errors import WeightsNameError
from drcnet.keymap import from_reference, is_reference
from drcnet.weights import build_model, load_state_dict, read_metadata, save_weights, trained_crop


def test_safetensors_round_trip_keeps_config(tmp_path: Path) -> None:
    net = DRCNet(wf=8, depth=3, t=0.6, delta=1e-4)
    path = tmp_path / "m.safetensors"
    save_weights(path, net, {"task": "denoise", "steps": 12})
    meta = read_metadata(path)
    assert meta["task"] == "denoise" and meta["steps"] == "12"
    loaded = build_model(path)
    assert loaded.config == net.config
    assert loaded.knobs.t == 0.6
    for a, b in zip(net.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
    assert not list(tmp_path.glob("*.part"))


def test_save_weights_stores_the_built_knobs_not_the_configured_ones(tmp_path: Path) -> None:
    """As the docstrings of configure, ModelConfig and save_weights say: configure changes
    model.knobs only, and a saved model loads with the config's t, delta and ea."""
    net = DRCNet(wf=8, depth=2, t=0.6, delta=1e-4).configure(t=0.9, delta=1e-2, ea=False)
    assert (net.config.t, net.config.delta, net.config.ea) == (0.6, 1e-4, True)
    assert (net.knobs.t, net.knobs.delta, net.knobs.ea) == (0.9, 1e-2, False)
    save_weights(tmp_path / "m.safetensors", net)
    loaded = build_model(tmp_path / "m.safetensors")
    assert (loaded.knobs.t, loaded.knobs.delta, loaded.knobs.ea) == (0.6, 1e-4, True)
    for doc in (DRCNet.configure.__doc__, save_weights.__doc__):
        assert "model.config" in doc and "model.knobs" in doc
    assert not list(tmp_path.glob("*.part"))


def test_half_precision_file_loads_as_float32(tmp_path: Path) -> None:
    path = tmp_path / "h.safetensors"
    save_weights(path, DRCNet(wf=8, depth=2), half=True)
    assert load_state_dict(path)["last.weight"].dtype == torch.float16
    assert build_model(path).last.weight.dtype == torch.float32


class _Exploit:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):  # noqa: ANN204 - pickle protocol
        return (open, (str(self.target), "w"))


@pytest.mark.parametrize("suffix", [".pth", ".pt"])
def test_code_running_pickle_is_refused(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / "pwned.txt"
    bad = tmp_path / f"evil{suffix}"
    torch.save({"state_dict": {"x": torch.zeros(1)}, "payload": _Exploit(target)}, bad)
    assert not target.exists()
    with pytest.raises(UnsafeCheckpointError, match="evil"):
        load_state_dict(bad)
    assert not target.exists()


def test_plain_pth_state_dict_loads(tmp_path: Path) -> None:
    net = DRCNet(wf=8, depth=2)
    p = tmp_path / "plain.pth"
    torch.save({"params": net.state_dict()}, p)
    loaded = build_model(p)
    assert torch.equal(loaded.last.weight, net.last.weight)


def _reference_layout(depth: int) -> list[str]:
    """Parameter names of the public reference implementation (HINet-based DRCNet),
    written out from its layout, independently of our key map."""
    keys = ["conv_01", "conv_02", "cat12", "last", "sam12.conv1", "sam12.conv2", "sam12.conv3"]
    keys = [f"{k}.{p}" for k in keys for p in ("weight", "bias")]
    for s in (1, 2):
        for i in range(depth):
            b = f"down_path_{s}.{i}"
            for conv in ("conv_1", "conv_2", "identity"):
                keys += [f"{b}.{conv}.weight", f"{b}.{conv}.bias"]
            keys += [f"{b}.norm.sa.conv1.weight", f"{b}.norm.sa.gamma_conv.weight",
                     f"{b}.norm.sa.gamma_conv.bias", f"{b}.norm.sa.beta_conv.weight",
                     f"{b}.norm.sa.beta_conv.bias", f"{b}.norm.rn.bn_norm.weight",
                     f"{b}.norm.rn.bn_norm.bias"]  # bn_norm: an affine InstanceNorm2d
            if i + 1 < depth:
                keys.append(f"{b}.downsample.weight")
                if s == 2:
                    keys += [f"{b}.csff_{w}.{p}" for w in ("enc", "dec")
                             for p in ("weight", "bias")]
        for j in range(depth - 1):
            u = f"up_path_{s}.{j}"
            keys += [f"{u}.up.weight", f"{u}.up.bias"]
            for conv in ("conv_1", "conv_2", "identity"):
                keys += [f"{u}.conv_block.{conv}.weight", f"{u}.conv_block.{conv}.bias"]
            keys += [f"skip_conv_{s}.{j}.weight", f"skip_conv_{s}.{j}.bias"]
    return keys


def test_reference_checkpoint_loads_through_key_map(tmp_path: Path) -> None:
    depth = 3
    ref_keys = _reference_layout(depth)
    assert "down_path_1.0.norm.sa.conv1.weight" in ref_keys
    assert "down_path_2.1.csff_enc.weight" in ref_keys
    ours = DRCNet(wf=8, depth=depth).state_dict()
    # Random values in the reference layout, shaped like the parameters they map to.
    torch.manual_seed(1)
    ref = {}
    for k in ref_keys:
        (mapped,) = from_reference({k: torch.zeros(1)}).keys()
        ref[k] = torch.randn(ours[mapped].shape)
    assert is_reference(ref)
    assert len(ref_keys) == len(ours), "the reference layout and ours differ in size"
    path = tmp_path / "reference.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in ref.items()}}, path)
    model = build_model(path)  # strict: every parameter must be covered
    assert torch.equal(model.encoder2[1].csff_enc.weight, ref["down_path_2.1.csff_enc.weight"])
    assert torch.equal(model.encoder1[0].spatial_filter.self_aware.conv.weight,
                       ref["down_path_1.0.norm.sa.conv1.weight"])
    assert torch.equal(model.fuse.weight, ref["cat12.weight"])
    # the region norm's learned scale and shift had been dropped, silently changing every
    # DFR block's output
    assert torch.equal(model.encoder2[2].spatial_filter.norm_bias,
                       ref["down_path_2.2.norm.rn.bn_norm.bias"])
    assert model.config.wf == 8 and model.config.depth == depth


def test_a_file_from_before_the_region_norm_scale_loads_as_the_identity(
        tmp_path: Path) -> None:
    """Weight files written before the spatial filter had its per-channel scale and shift
    (every shipped file) load with them at 1 and 0, and compute what they computed."""
    torch.manual_seed(3)
    net = DRCNet(wf=8, depth=2).eval()
    older = {k: v for k, v in net.state_dict().items() if "norm_" not in k}
    assert len(older) < len(net.state_dict())
    path = tmp_path / "older.safetensors"
    save_file(older, str(path))
    model = build_model(path)
    assert all(torch.equal(p, torch.ones_like(p)) for n, p in model.named_parameters()
               if n.endswith("norm_weight"))
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x)[-1], net(x)[-1])
    with torch.no_grad():
        net.encoder1[0].spatial_filter.norm_bias.fill_(0.5)  # a file that has them: used
    save_file(net.state_dict(), str(path))
    assert torch.equal(build_model(path).encoder1[0].spatial_filter.norm_bias,
                       torch.full((4,), 0.5))


def test_wrong_architecture_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.pth"
    torch.save({"embed1.weight": torch.zeros(8, 3, 3, 3), "encoder1.0.bogus": torch.zeros(1)},
               path)
    with pytest.raises(WeightsError, match=r"x.pth asks for depth=1, outside 2\.\.8"):
        build_model(path)  # DRCNet's range, 2..8: depth 9 had been said to be outside 1..8


def test_missing_and_garbage_files(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="does not exist"):
        load_state_dict(tmp_path / "nope.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file at all")
    with pytest.raises(WeightsError, match="junk"):
        load_state_dict(junk)


def test_load_model_refuses_missing_weights(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(NoWeightsError, match="no trained derain weights"):
        load_model("derain", device="cpu")
    save_weights(tmp_path / "derain.safetensors", DRCNet(wf=8, depth=2))
    model = load_model("derain", device="cpu")
    assert not model.training
    assert registry.installed_tasks()["derain"] == ["default"]
    with pytest.raises(WeightsError, match="unknown task"):
        load_model("dehaze", device="cpu")


def test_a_missing_variant_is_named_not_the_task(tmp_path: Path, monkeypatch) -> None:
    """With derain's default weights installed, a missing noea file had been reported as
    "no trained derain weights are installed", with the command line's --weights as the
    only way out for a library caller too."""
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    save_weights(tmp_path / "derain.safetensors", DRCNet(wf=8, depth=2))
    with pytest.raises(NoWeightsError) as e:
        load_model("derain", device="cpu", variant="noea")
    assert str(e.value) == (
        "no trained noea weights for derain are installed (derain-noea.safetensors is "
        "missing); train them with `drcnet train` or pass a weight file: weights= (--weights "
        "on the command line)")
    with pytest.raises(NoWeightsError, match=r"^no trained denoise weights are installed "
                       r"\(denoise\.safetensors is missing\).*weights= \(--weights"):
        load_model("denoise", device="cpu")


def test_noea_variant_has_ea_off(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    save_weights(tmp_path / "denoise-noea.safetensors", DRCNet(wf=8, depth=2, ea=False))
    assert load_model("denoise", device="cpu", variant="noea").knobs.ea is False
    assert os.listdir(tmp_path) == ["denoise-noea.safetensors"]


def test_gaussian_noea_variant_is_the_gaussian_models_partner(tmp_path: Path,
                                                              monkeypatch) -> None:
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    assert registry.noea_partner("denoise", "default") == "noea"
    assert registry.noea_partner("denoise", "gaussian") == "gaussian-noea"
    assert registry.noea_partner("derain", "gaussian") is None
    assert registry.noea_partner("denoise", "noea") is None
    assert [v for v in registry.VARIANTS if registry.is_noea(v)] == ["noea", "gaussian-noea"]
    save_weights(tmp_path / "denoise-gaussian-noea.safetensors", DRCNet(wf=8, depth=2))
    assert load_model("denoise", device="cpu", variant="gaussian-noea").knobs.ea is False
    assert registry.installed_tasks()["denoise"] == ["gaussian-noea"]
    with pytest.raises(WeightsNameError, match="exists only for denoise, not deblur"):
        registry.weight_spec("deblur", "gaussian-noea")


def test_gaussian_variant_is_denoise_only(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    save_weights(tmp_path / "denoise-gaussian.safetensors", DRCNet(wf=8, depth=2))
    assert load_model("denoise", device="cpu", variant="gaussian").knobs.ea is True
    assert registry.installed_tasks()["denoise"] == ["gaussian"]
    with pytest.raises(WeightsError, match="only for denoise"):
        load_model("derain", device="cpu", variant="gaussian")
    with pytest.raises(WeightsError, match="only for denoise"):  # also with a weight file
        load_model("derain", device="cpu", variant="gaussian",
                   weights=tmp_path / "denoise-gaussian.safetensors")


def test_average_weights_script(tmp_path: Path) -> None:
    script = _script("average_weights")
    torch.manual_seed(0)
    a, b = DRCNet(wf=8, depth=2), DRCNet(wf=8, depth=2)
    save_weights(tmp_path / "a.safetensors", a, {"task": "derain"})
    save_weights(tmp_path / "b.safetensors", b, {"task": "derain", "steps": 7, "val_psnr": 30})
    out = tmp_path / "avg.safetensors"
    assert script.main(["--out", str(out), str(tmp_path / "a.safetensors"),
                        str(tmp_path / "b.safetensors")]) == 0
    avg, meta = load_state_dict(out), read_metadata(out)
    for k, v in a.state_dict().items():
        want = ((v + b.state_dict()[k]) / 2).half()
        assert torch.allclose(avg[k].float(), want.float(), atol=1e-3), k
    assert meta["steps"] == "7" and "b.safetensors" in meta["averaged_from"]
    assert "val_psnr" not in meta  # a score the average never got
    save_weights(tmp_path / "c.safetensors", DRCNet(wf=8, depth=3))
    save_weights(tmp_path / "d.safetensors", DRCNet(wf=8, depth=2), {"task": "deblur"})
    for other in ("c", "d"):  # another shape, another task
        assert script.main(["--out", str(out), str(tmp_path / "a.safetensors"),
                            str(tmp_path / f"{other}.safetensors")]) == 1


def test_average_weights_script_takes_shares(tmp_path: Path) -> None:
    """``--weights`` interpolates (WiSE-FT): each file counts by its share, recorded."""
    script = _script("average_weights")
    torch.manual_seed(1)
    a, b = DRCNet(wf=8, depth=2), DRCNet(wf=8, depth=2)
    save_weights(tmp_path / "a.safetensors", a, {"task": "deblur"})
    save_weights(tmp_path / "b.safetensors", b, {"task": "deblur", "activation_limit": 500})
    out = tmp_path / "mix.safetensors"
    files = [str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors")]
    assert script.main(["--weights", "0.75,0.25", "--out", str(out), *files]) == 0
    mix = load_state_dict(out)
    for k, v in a.state_dict().items():
        want = (0.75 * v.half().float() + 0.25 * b.state_dict()[k].half().float()).half()
        assert torch.allclose(mix[k].float(), want.float(), atol=1e-3), k
    meta = read_metadata(out)
    assert "0.75" in meta["averaged_weights"]
    assert "activation_limit" not in meta  # calibrated for another network
    for bad in ("0.5,0.6", "1", "-0.5,1.5", "nan,nan"):  # sum, one short, negative, not a number
        assert script.main([f"--weights={bad}", "--out", str(out), *files]) == 1
    with pytest.raises(SystemExit):
        script.main(["--weights", "half,half", "--out", str(out), *files])


def _script(name: str):  # noqa: ANN202
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        name, Path(__file__).resolve().parents[2] / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pick_weights_keeps_the_shipped_file_unless_beaten(tmp_path: Path, monkeypatch,
                                                           capsys) -> None:  # noqa: ANN001
    from drcnet import registry

    script = _script("pick_weights")
    shipped_dir = tmp_path / "weights"
    shipped_dir.mkdir()
    monkeypatch.setattr(registry, "WEIGHTS_DIR", shipped_dir)
    monkeypatch.setattr(script, "weight_spec", registry.weight_spec)
    torch.manual_seed(0)
    nets = {n: DRCNet(wf=8, depth=2) for n in ("shipped", "a", "b", "broken")}
    target = shipped_dir / "derain.safetensors"
    save_weights(target, nets["shipped"], {"task": "derain", "history": "burst 1"})
    for n in ("a", "b", "broken"):
        save_weights(tmp_path / f"{n}.safetensors", nets[n],
                     {"task": "derain", "steps": 5, "activation_limit": 3.0})
    scores = {"derain": 28.0, "a": 27.5, "b": 28.0, "broken": None}

    repairs: list[bool] = []

    def fake_score(task, weights, data, degradation, seed, draws, device="cpu", repair=True,
                   repaired=None):  # noqa: ANN001, ANN202
        repairs.append(repair)
        value = scores[Path(weights).stem]
        if value is None:
            raise registry.WeightsError("does not fit")
        if repaired is not None and repair:  # the shipped file, which has a limit
            repaired.append("sweets.png")
        return value, 0.8

    monkeypatch.setattr(script, "score", fake_score)
    before = target.read_bytes()
    args = ["--task", "derain", str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors"),
            str(tmp_path / "broken.safetensors"), str(target)]  # the shipped file, once only
    assert script.main([*args, "--ship", "--history", "then a test"]) == 0
    out = capsys.readouterr().out
    assert "broken.safetensors: skipped (does not fit)" in out
    assert "picked: the shipped file (28.000 dB)" in out  # a tie goes to the shipped file
    assert out.count("shipped derain.safetensors:") == 1 and target.read_bytes() == before
    # only the shipped file could be repaired: said, and --no-repair scores all without it
    assert "the repair restored tiles of the shipped file again on 1 image (sweets.png)" in out
    assert all(repairs)
    repairs.clear()
    assert script.main([*args, "--no-repair"]) == 0
    out = capsys.readouterr().out
    assert repairs and not any(repairs) and "restored tiles" not in out
    assert out.splitlines()[0].endswith("--draws 6 --no-repair")
    keep = tmp_path / "keep"
    assert script.main([*args, "--keep-top", "1", "--keep-dir", str(keep)]) == 0
    kept = json.loads((keep / "scores.json").read_text())
    assert kept["kept"] == [str(tmp_path / "b.safetensors")] and kept["skipped"] == [
        str(tmp_path / "broken.safetensors")]
    assert kept["scores"]["shipped"]["psnr"] == 28.0 and (keep / "b.safetensors").is_file()

    scores["a"] = 28.3
    assert script.main([*args, "--ship", "--history", "then a test"]) == 0
    out = capsys.readouterr().out
    assert "+0.300 over the shipped file" in out and "calibrate_range.py --files derain" in out
    meta = read_metadata(target)
    assert meta["history"] == "burst 1; then then a test" and meta["steps"] == "5"
    assert "28.300 dB against 28.000" in meta["selection"]
    assert "activation_limit" not in meta  # the table's calibration would be outranked
    shipped_state = load_state_dict(target)
    assert all(v.dtype == torch.float16 for v in shipped_state.values())
    for k, v in nets["a"].state_dict().items():
        assert torch.allclose(shipped_state[k].float(), v.half().float()), k
    with pytest.raises(SystemExit):
        script.main(["--task", "derain", "--ship", str(tmp_path / "a.safetensors")])


def test_calibrate_range_merges_one_new_measurement(tmp_path: Path, monkeypatch,
                                                    capsys) -> None:  # noqa: ANN001
    import json
    import sys

    script = _script("calibrate_range")

    def fake(peak: float) -> dict:
        return {s: {"photo": [[peak, 0.0]]} for s in script.SETS}

    saved = tmp_path / "measured.json"
    saved.write_text(json.dumps({"old.safetensors": fake(10.0), "derain.safetensors": fake(1.0)}))
    files = []
    monkeypatch.setattr(script, "measure", lambda fs: files.extend(fs) or
                        {"derain.safetensors": fake(2.0)})
    monkeypatch.setattr(sys, "argv", ["calibrate_range.py", "--files", "derain.safetensors",
                                      "--merge-into", str(saved)])
    script.main()
    assert [f.name for f in files] == ["derain.safetensors"]  # only the new file measured
    merged = json.loads(saved.read_text())
    assert merged["derain.safetensors"] == fake(2.0) and merged["old.safetensors"] == fake(10.0)
    out = capsys.readouterr().out
    assert "old.safetensors" in out and "derain.safetensors" in out  # the whole set reported
    monkeypatch.setattr(sys, "argv", ["calibrate_range.py", "--merge-into", str(saved),
                                      "--measured", str(saved)])
    with pytest.raises(SystemExit):
        script.main()


def test_a_malformed_stored_config_is_a_weights_error() -> None:
    from drcnet.weights import config_from_metadata

    assert config_from_metadata({}) is None
    cfg = config_from_metadata({"config": '{"wf": 16.0, "depth": 3, "t": 1, "ea": false, '
                                          '"future_field": 1}'})
    assert (cfg.wf, cfg.depth, cfg.t, cfg.ea) == (16, 3, 1.0, False)
    assert isinstance(cfg.wf, int) and isinstance(cfg.t, float)
    for raw in ("[1, 2]", "{nope", '{"t": "high"}', '{"wf": 8.5}', '{"ea": 1}', '{"wf": true}',
                '{"delta": NaN}'):
        with pytest.raises(WeightsError, match="stored configuration"):
            config_from_metadata({"config": raw})


def test_suffixes_are_matched_whatever_their_case(tmp_path: Path) -> None:
    torch.manual_seed(0)
    path = tmp_path / "MODEL.SAFETENSORS"
    save_weights(path, DRCNet(wf=8, depth=2), {"task": "derain"})
    assert read_metadata(path)["task"] == "derain"
    assert build_model(path).config.wf == 8


def test_check_weight_file_reads_the_header_only(tmp_path: Path) -> None:
    from drcnet.registry import check_weight_file

    torch.manual_seed(0)
    save_weights(tmp_path / "run.safetensors", DRCNet(wf=8, depth=2), {"task": "deblur"})
    assert check_weight_file(tmp_path / "run.safetensors") == "deblur"
    torch.save(DRCNet(wf=8, depth=2).state_dict(), tmp_path / "plain.pth")
    assert check_weight_file(tmp_path / "plain.pth") is None  # no metadata: no task
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "junk.safetensors").write_bytes(b"nope")
    for name, says in (("missing.safetensors", "does not exist"), ("notes.txt", "not a weight"),
                       ("junk.safetensors", "is not a safetensors weight file that can be read")):
        with pytest.raises(WeightsError, match=says):
            check_weight_file(tmp_path / name)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_weight_files_respect_the_umask(tmp_path: Path) -> None:
    # They used to come out 0600 (tempfile.mkstemp), unlike the images beside them.
    old = os.umask(0o022)
    try:
        save_weights(tmp_path / "w.safetensors", DRCNet(wf=8, depth=2), {"task": "denoise"})
    finally:
        os.umask(old)
    assert (tmp_path / "w.safetensors").stat().st_mode & 0o777 == 0o644


def test_unreadable_weight_files_are_named_in_plain_words(tmp_path: Path) -> None:
    (tmp_path / "notes.safetensors").write_text('{"a": 1}')
    (tmp_path / "junk.pth").write_text("junk")  # torch.load raised a bare KeyError here
    for name, kind in (("notes.safetensors", "safetensors weight file"),
                       ("junk.pth", "PyTorch checkpoint")):
        with pytest.raises(WeightsError, match=f"{name} is not a {kind} that can be read: "
                                               "damaged, cut short or another kind of file"):
            load_state_dict(tmp_path / name)
    with pytest.raises(WeightsError, match="is not a safetensors weight file"):
        read_metadata(tmp_path / "notes.safetensors")


def test_the_training_checkpoint_is_named_as_not_weights(tmp_path: Path) -> None:
    state = tmp_path / "state.pt"
    torch.save({"step": 5, "optimizer": {"state": {}, "param_groups": []}, "elapsed_s": 1.0},
               state)
    with pytest.raises(WeightsError, match="optimizer checkpoint, not weights; use "
                                           "last.safetensors"):
        load_state_dict(state)


def test_a_pickle_file_of_junk_is_unreadable_not_unsafe(tmp_path) -> None:  # noqa: ANN001
    """Junk bytes named .pt were refused as "would run code", which sent users looking for
    malware instead of a damaged download."""
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"garbage")
    with pytest.raises(WeightsError, match="not a PyTorch checkpoint that can be read") as err:
        load_state_dict(junk)
    assert not isinstance(err.value, UnsafeCheckpointError)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_a_plain_pickle_that_would_run_code_is_unsafe_at_any_protocol(tmp_path, protocol,
                                                                       capfd) -> None:  # noqa: ANN001
    """Protocols 4 and 5 (pickle.dump's default) failed in torch's reader before any global
    was read, and were called damaged."""
    import os
    import pickle

    class Evil:
        def __reduce__(self):  # noqa: ANN204
            return (os.system, ("true",))

    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"w": Evil()}, f, protocol=protocol)
    with pytest.raises(UnsafeCheckpointError, match="would run code"):
        load_state_dict(path)
    assert "Detected pickle protocol" not in capfd.readouterr().err


def _shipped_like(path: Path, **meta: str) -> Path:
    torch.manual_seed(0)
    net = DRCNet(wf=8, depth=2)
    save_weights(path, net, meta or None)
    return path


@pytest.mark.parametrize(("change", "says"), [
    # a config naming a network far larger than the file: it had been built first (23 GB)
    ({"depth": 30}, "depth=30"), ({"wf": 1048576}, "wf=1048576"), ({"in_ch": -3}, "in_ch=-3"),
    # a config that does not match the tensors: torch's multi-line RuntimeError escaped
    ({"wf": 16}, "embed1.weight is"),
])
def test_a_config_that_does_not_fit_the_tensors_is_one_line(tmp_path, change, says) -> None:  # noqa: ANN001
    import json as _json

    from safetensors.torch import load_file as _load
    from safetensors.torch import save_file as _save

    src = _shipped_like(tmp_path / "a.safetensors")
    meta = read_metadata(src)
    cfg = _json.loads(meta["config"])
    cfg.update(change)
    bad = tmp_path / "bad.safetensors"
    _save(_load(str(src)), str(bad), {**meta, "config": _json.dumps(cfg)})
    with pytest.raises(WeightsError, match=says) as err:
        build_model(bad)
    assert "\n" not in str(err.value)


def test_tensors_that_are_not_finite_floats_are_refused(tmp_path) -> None:  # noqa: ANN001
    """NaN weights loaded silently; every output was NaN, blamed on each image's write."""
    from safetensors.torch import load_file as _load
    from safetensors.torch import save_file as _save

    src = _shipped_like(tmp_path / "a.safetensors")
    state = _load(str(src))
    key = next(iter(state))
    for value, says in ((float("nan"), "NaN or infinite"), (float("inf"), "NaN or infinite")):
        broken = dict(state)
        broken[key] = broken[key].clone()
        broken[key].view(-1)[0] = value
        _save(broken, str(tmp_path / "b.safetensors"), read_metadata(src))
        with pytest.raises(WeightsError, match=says):
            build_model(tmp_path / "b.safetensors")
    ints = dict(state)
    ints[key] = ints[key].to(torch.int32)
    _save(ints, str(tmp_path / "c.safetensors"), read_metadata(src))
    with pytest.raises(WeightsError, match="not floating point"):
        build_model(tmp_path / "c.safetensors")


@pytest.mark.parametrize("keys", [
    {"embed1.weight": torch.zeros(8, 3, 3, 3)},  # no encoder1.* keys
    {"embed1.weight": torch.zeros(8, 3, 3, 3), "encoder1.x.weight": torch.zeros(1)},
    {"embed1.weight": torch.zeros(8)},  # 1-D
])
def test_shapes_that_say_no_network_are_one_line(tmp_path, keys) -> None:  # noqa: ANN001
    from safetensors.torch import save_file as _save

    _save(keys, str(tmp_path / "x.safetensors"))
    # The file named, as for a damaged one (it had not been).
    with pytest.raises(WeightsError, match=r"the weights in x\.safetensors do not look like a "
                       "DRCNet"):
        build_model(tmp_path / "x.safetensors")


def test_odd_metadata_values_are_passed_over(tmp_path) -> None:  # noqa: ANN001
    """A crop of -5 became tile 0 (one pass), 1e300 a 300-digit tile."""
    import json as _json

    from drcnet.range_check import limit_from_metadata

    for crop in (-5, 0, 1e300, 100000, "x"):
        assert trained_crop({"train_config": _json.dumps({"crop": crop})}) is None
    assert trained_crop({"train_config": _json.dumps({"crop": 256})}) == 256
    assert trained_crop({"train_config": "[" * 100000}) is None  # RecursionError
    assert limit_from_metadata({"activation_limit": "449.8"}) == 449.8
    deep = tmp_path / "deep.safetensors"
    save_weights(deep, DRCNet(wf=8, depth=2), {"config": "[" * 100000})
    with pytest.raises(WeightsError, match="not a JSON object"):
        build_model(deep)


def test_a_fifo_or_a_link_loop_is_named_as_what_it_is(tmp_path) -> None:  # noqa: ANN001
    import os as _os

    _os.mkfifo(tmp_path / "pipe.safetensors")
    with pytest.raises(WeightsError, match="not a regular file"):
        build_model(tmp_path / "pipe.safetensors")
    (tmp_path / "a.safetensors").symlink_to(tmp_path / "b.safetensors")
    (tmp_path / "b.safetensors").symlink_to(tmp_path / "a.safetensors")
    with pytest.raises(WeightsError, match="link that loops"):
        build_model(tmp_path / "a.safetensors")


def test_a_pickle_is_called_unsafe_or_damaged_by_what_it_is(tmp_path) -> None:  # noqa: ANN001
    """A code-naming pickle cut short was called damaged, with torch's advice to load it
    with weights_only=False; a zip with junk inside was called code."""
    import io
    import zipfile

    evil = tmp_path / "evil.pth"  # os.system named, then junk: nothing runs either way
    evil.write_bytes(b"\x80\x02cos\nsystem\nq\x00X\x05\x00\x00\x00touch\x85R\xff\xfe\xfd")
    with pytest.raises(UnsafeCheckpointError, match="would run code"):
        load_state_dict(evil)
    good = tmp_path / "good.pt"
    torch.save({"w": torch.zeros(2)}, good)
    buf = io.BytesIO()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, b"\x80\x02" + b"g" * 10 + b"." if info.filename.endswith(
                "data.pkl") else data)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(buf.getvalue())
    with pytest.raises(WeightsError, match="damaged") as err:
        load_state_dict(junk)
    assert "weights_only" not in str(err.value)


def test_a_damaged_old_format_checkpoint_is_damaged_not_unsafe(tmp_path) -> None:  # noqa: ANN001
    """Only the first of its five pickles (the magic number) had been parsed."""
    full = tmp_path / "old.pth"
    torch.save(DRCNet(wf=8, depth=2).state_dict(), full, _use_new_zipfile_serialization=False)
    raw = bytearray(full.read_bytes())
    raw[167] = 0x67  # an opcode weights_only does not know, in a later pickle
    (tmp_path / "bad.pth").write_bytes(bytes(raw))
    with pytest.raises(WeightsError, match="damaged"):
        load_state_dict(tmp_path / "bad.pth")
    assert load_state_dict(full)  # the intact one still loads


@pytest.mark.skipif(os.name == "nt", reason="POSIX file names are bytes")
def test_a_weight_file_whose_name_is_not_utf8_saves_and_loads(tmp_path: Path) -> None:
    """safetensors opens UTF-8 paths only: a Latin-1 café.safetensors on Linux had been
    called damaged, and could not be written."""
    path = tmp_path / os.fsdecode(b"caf\xe9.safetensors")
    net = DRCNet(wf=8, depth=2)
    save_weights(path, net, metadata={"task": "denoise", "steps": 7})
    assert path.is_file() and [p.name for p in tmp_path.iterdir()] == [path.name]
    meta = read_metadata(path)
    assert meta["task"] == "denoise" and meta["steps"] == "7" and "config" in meta
    state = load_state_dict(path)
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())
    model = load_model("denoise", device="cpu", weights=path)
    assert model.config.wf == 8
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(WeightsError, match="not a safetensors weight file that can be read"):
        read_metadata(path)


def test_save_weights_in_torch_saves_order_is_a_usage_error(tmp_path: Path) -> None:
    """save_weights(model, path), torch.save's order, had raised a raw TypeError."""
    from drcnet.errors import UsageError

    net = DRCNet(wf=8, depth=2)
    target = tmp_path / "w.safetensors"
    with pytest.raises(UsageError, match=r"file first: save_weights\(path, model, metadata\), "
                                         "got a DRCNet"):
        save_weights(net, target)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="saves a DRCNet, got a state dict"):
        save_weights(target, net.state_dict())  # type: ignore[arg-type]
    assert not target.exists()
    save_weights(str(target), net)
    assert read_metadata(target)["format"] == "drcnet-1"

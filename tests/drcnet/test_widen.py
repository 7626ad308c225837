from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from drcnet import DRCNet
from drcnet.cli import main
from drcnet.errors import UsageError
from drcnet.weights import build_model, read_metadata, save_weights
from drcnet.widen import widen


def _narrow(seed: int = 0, **kw) -> DRCNet:
    torch.manual_seed(seed)
    net = DRCNet(wf=8, depth=3, **kw).eval()
    with torch.no_grad():  # trained-like region-norm scales and shifts, not the 1 and 0
        for name, p in net.named_parameters():  # they start at
            if name.endswith(("norm_weight", "norm_bias")):
                p.uniform_(0.5, 1.5)
    return net


@pytest.mark.parametrize("ea", [True, False])
@pytest.mark.parametrize("factor", [2, 3])
def test_wide_network_computes_the_narrow_function(ea: bool, factor: int) -> None:
    narrow = _narrow(ea=ea)
    wide = widen(narrow, factor, noise=0.1)
    assert wide.config.wf == 8 * factor and wide.config.ea == ea
    n_params = sum(p.numel() for p in wide.parameters())
    assert n_params > 2 * sum(p.numel() for p in narrow.parameters())
    x = torch.rand(2, 3, 37, 45, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        for a, b in zip(narrow(x), wide(x)):
            assert float((a - b).abs().max()) < 1e-4
        # and with other knobs: they act on channel statistics that replicas leave alone
        narrow.configure(t=0.6, delta=1e-2)
        wide.configure(t=0.6, delta=1e-2)
        assert float((narrow(x)[-1] - wide(x)[-1]).abs().max()) < 1e-4


def test_noise_breaks_the_symmetry_that_exact_copies_keep() -> None:
    narrow = _narrow()
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))

    def replica_grad_gap(wide: DRCNet) -> float:
        wide.train()
        wide.zero_grad()
        wide(x)[-1].square().mean().backward()
        g = wide.encoder1[1].conv_2.weight.grad  # out x in x k x k; replicas are rows 2i, 2i+1
        return float((g[0::2] - g[1::2]).abs().max() / g.abs().max())

    exact = widen(narrow, 2, noise=0.0)
    w = exact.encoder1[1].conv_2.weight
    assert torch.equal(w[0::2], w[1::2])
    assert replica_grad_gap(exact) < 1e-5  # identical replicas: they would never diverge
    assert replica_grad_gap(widen(narrow, 2, noise=0.05)) > 1e-3


def test_noise_is_seeded() -> None:
    narrow = _narrow()
    a, b, c = widen(narrow, seed=1), widen(narrow, seed=1), widen(narrow, seed=2)
    assert torch.equal(a.last.weight, b.last.weight)
    assert not torch.equal(a.last.weight, c.last.weight)


@pytest.mark.parametrize("factor, noise", [(1, 0.05), (0, 0.05), (2.5, 0.05), (9, 0.05),
                                           (2, -1.0), (2, float("nan")), (2, float("inf"))])
def test_bad_arguments_are_refused(factor, noise) -> None:
    with pytest.raises(UsageError):  # a setting out of range: exit status 2
        widen(_narrow(), factor, noise=noise)


def test_the_cli_refuses_a_bad_factor_before_making_anything(tmp_path: Path, capsys) -> None:
    out = tmp_path / "new" / "x.safetensors"
    assert main(["widen", "--task", "denoise", "--factor", "9", "-o", str(out)]) == 2
    assert "factor must be an integer from 2" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()  # had been made before the refusal


def test_cli_writes_a_trainable_wide_file(tmp_path: Path, capsys, monkeypatch) -> None:  # noqa: ANN001
    src = tmp_path / "narrow.safetensors"
    save_weights(src, _narrow(), {"task": "derain", "variant": "default", "val_psnr": 30.0,
                                  "history": "trained somewhere", "activation_limit": "123.0",
                                  "config_file": "configs/derain.yaml"})
    out = tmp_path / "my weights" / "wide.safetensors"  # a space: quoted in the command
    out.parent.mkdir()
    assert main(["widen", "--task", "derain", "--weights", str(src), "-o", str(out)]) == 0
    hint = capsys.readouterr().out
    assert "--config configs/derain.yaml --out runs/derain-wf16 --set wf=16" in hint
    # The config says depth 4; the narrow file has 3, and the command must build that.
    assert f"--set wf=16 --set depth=3 --set 'init_weights={out}'" in hint
    from drcnet.cli_train import _quote  # cmd.exe takes double quotes, not single ones

    monkeypatch.setattr(sys, "platform", "win32")
    assert _quote("init_weights=C:\\my weights\\w.safetensors") == \
        '"init_weights=C:\\my weights\\w.safetensors"'
    assert _quote("wf=16") == "wf=16"
    wide = build_model(out)
    assert wide.config.wf == 16 and wide.config.depth == 3
    meta = read_metadata(out)
    assert meta["task"] == "derain" and "val_psnr" not in meta  # the narrow net's score
    assert meta["history"].startswith("trained somewhere; then widened x2")
    assert '"factor": 2' in meta["widened_from"]
    assert meta["activation_limit"] == "123.0"  # replicas keep the range probe's peak
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        assert float((build_model(src)(x)[-1] - wide(x)[-1]).abs().max()) < 1e-4

    # An existing output is kept unless --force, and other tasks' weights are refused (1: what
    # the disk holds); odd names are usage errors (2).
    assert main(["widen", "--task", "derain", "--weights", str(src), "-o", str(out)]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["widen", "--task", "derain", "--weights", str(src), "-o", str(out),
                 "--force"]) == 0
    assert main(["widen", "--task", "deblur", "--weights", str(src), "-o",
                 str(tmp_path / "x.safetensors")]) == 1  # what the file says: not usage
    assert "trained for derain" in capsys.readouterr().err
    assert main(["widen", "--task", "derain", "--weights", str(src), "-o",
                 str(tmp_path / "x.pt")]) == 2
    assert main(["widen", "--task", "derain", "--weights", str(src), "-o", str(src),
                 "--force"]) == 2
    assert "replace the weights being widened" in capsys.readouterr().err
    assert main(["widen", "--task", "derain", "--weights", str(src), "-o", str(src)]) == 2
    assert "replace the weights being widened" in capsys.readouterr().err  # not "--force"
    (tmp_path / "dir.safetensors").mkdir()
    assert main(["widen", "--task", "derain", "--weights", str(src), "-o",
                 str(tmp_path / "dir.safetensors"), "--force"]) == 1
    assert "is a folder" in capsys.readouterr().err
    assert main(["widen", "--task", "derain", "--weights", str(src), "-o",
                 str(src / "x.safetensors")]) == 1  # under a file: one line, no traceback
    err = capsys.readouterr().err
    assert err.startswith("drcnet: error: cannot write") and "Traceback" not in err

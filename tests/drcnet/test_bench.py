from __future__ import annotations

import json

import pytest

from drcnet.cli import main
from drcnet.devices import cpu_has_native_bf16


def test_bench_json_has_the_figures(capsys) -> None:
    assert main(["bench", "--random-wf", "8", "--no-full", "--json", "--device", "cpu"]) == 0
    said = capsys.readouterr()
    (res,) = json.loads(said.out).values()  # stdout holds the JSON alone
    assert res["wf"] == 8 and res["device"] == "cpu"
    # each phase is said as it starts (minutes of silence on a CPU before)
    assert "previews: 12 dragging" in said.err and "seams" in said.err
    assert 0 < res["preview_ms"]["median"] <= res["preview_ms"]["p90"]
    assert res["gemm_gflops"] > 0 and res["forward_gmacs_per_s"] > 0
    assert res["forward_gmacs"] > 0
    assert res["seam_psnr_db"] > 30  # an untrained network tiles almost seamlessly
    assert "full_12mp_s" not in res


@pytest.mark.skipif(not cpu_has_native_bf16(),
                    reason="bf16 is emulated on this CPU (refused, and ~150x slower)")
def test_bench_reports_the_drag_draft_and_low_precision_rates(capsys) -> None:
    assert main(["bench", "--random-wf", "8", "--no-full", "--json", "--device", "cpu",
                 "--precision", "bf16"]) == 0
    (res,) = json.loads(capsys.readouterr().out).values()
    assert res["precision"] == "bf16" and res["preview_draft_px"] == [256, 256]
    assert 0 < res["preview_ms"]["median"] and 0 < res["preview_sharp_ms"]["median"]
    assert res["gemm_gflops_bf16"] > 0 and res["forward_vs_gemm_bf16_macs"] > 0


@pytest.mark.parametrize("args", [["--threads", "-1"], ["--threads", "0"], ["--random-wf", "0"],
                                  ["--tile-batch", "-1"]])
def test_bench_refuses_values_that_cannot_work(args, capsys) -> None:  # noqa: ANN001
    """--threads -1 was a traceback; --random-wf 0 silently timed the shipped model."""
    assert main(["bench", "--no-full", "--device", "cpu", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("drcnet: error: ") and "Traceback" not in err


def test_bench_leaves_out_the_seams_when_a_whole_pass_would_not_fit(capsys, monkeypatch) -> None:  # noqa: ANN001
    """The 1024² one-pass restore met the memory check and the whole bench exited 1."""
    import drcnet.inference

    # Enough for the 512² previews (forward_image meets the check too), not for 1024².
    monkeypatch.setattr(drcnet.inference, "available_memory", lambda: 600 * 2**20)
    assert main(["bench", "--random-wf", "8", "--no-full", "--device", "cpu"]) == 0
    assert "seams (1024²)          left out: a one pass" in capsys.readouterr().out

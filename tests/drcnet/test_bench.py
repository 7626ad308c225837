from __future__ import annotations

import json

from drcnet.cli import main


def test_bench_json_has_the_figures(capsys) -> None:
    assert main(["bench", "--random-wf", "8", "--no-full", "--json", "--device", "cpu"]) == 0
    (res,) = json.loads(capsys.readouterr().out).values()
    assert res["wf"] == 8 and res["device"] == "cpu"
    assert 0 < res["preview_ms"]["median"] <= res["preview_ms"]["p90"]
    assert res["gemm_gflops"] > 0 and res["forward_gmacs_per_s"] > 0
    assert res["forward_gmacs"] > 0
    assert res["seam_psnr_db"] > 30  # an untrained network tiles almost seamlessly
    assert "full_12mp_s" not in res

from __future__ import annotations

import pytest
import torch

from drcnet import DRCNet
from drcnet.complexity import count_macs, count_params


@pytest.fixture
def tiny() -> DRCNet:
    torch.manual_seed(0)
    return DRCNet(wf=8, depth=3).eval()


def test_paper_size_macs_and_params() -> None:
    thop = pytest.importorskip("thop")
    net = DRCNet(wf=64, depth=4).eval()
    macs, params = thop.profile(net, inputs=(torch.zeros(1, 3, 256, 256),), verbose=False)
    assert macs == pytest.approx(124.2e9, rel=0.01)
    assert params == pytest.approx(19.0e6, rel=0.01)
    assert count_params(net) == pytest.approx(19.0e6, rel=0.01)
    # Our own counter, used by `drcnet info` and `drcnet bench`, agrees with thop (thop misses
    # the functional γ/β convolution of the self-aware maps, 0.02 G here; ours counts it).
    assert count_macs(net, 256) == pytest.approx(macs, rel=0.005)


@pytest.mark.parametrize("wf,depth", [(8, 2), (8, 4), (16, 3)])
@pytest.mark.parametrize("size", [(32, 32), (37, 53), (8, 9)])
def test_any_size_returns_two_stages(wf: int, depth: int, size: tuple[int, int]) -> None:
    net = DRCNet(wf=wf, depth=depth).eval()
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        outs = net(x)
    assert len(outs) == 2
    assert all(o.shape == x.shape for o in outs)
    assert all(torch.isfinite(o).all() for o in outs)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="wf"):
        DRCNet(wf=4)
    with pytest.raises(ValueError, match="depth"):
        DRCNet(depth=1)
    net = DRCNet(wf=8, depth=2)
    with pytest.raises(ValueError, match="B×3×H×W"):
        net(torch.rand(3, 16, 16))
    with pytest.raises(ValueError, match="t must"):
        net.configure(t=1.5)
    with pytest.raises(ValueError, match="delta"):
        net.configure(delta=0)


def test_non_contiguous_input_matches(tiny: DRCNet) -> None:
    x = torch.rand(1, 24, 24, 3).permute(0, 3, 1, 2)
    assert not x.is_contiguous()
    with torch.no_grad():
        assert torch.allclose(tiny(x)[-1], tiny(x.contiguous())[-1], atol=1e-6)


def test_gradients_flow_to_both_stages() -> None:
    net = DRCNet(wf=8, depth=2)
    out1, out2 = net(torch.rand(1, 3, 16, 16))
    (out1.mean() + out2.mean()).backward()
    assert net.encoder1[0].conv_1.weight.grad is not None
    assert net.last.weight.grad is not None


def _out(net: DRCNet, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return net(x)[-1]


def test_knobs_change_output_without_rebuild(tiny: DRCNet) -> None:
    x = torch.rand(1, 3, 32, 32)
    base = _out(tiny, x)
    params_before = [p.clone() for p in tiny.parameters()]
    # a fresh network's self-aware maps sit near 0.5, so t=0.5 splits them
    for knobs in ({"t": 0.5}, {"delta": 1e-1}, {"ea": False}):
        tiny.configure(**knobs)
        changed = _out(tiny, x)
        assert (changed - base).abs().max() > 1e-5, knobs
        tiny.configure(t=0.75, delta=1e-6, ea=True)
        assert torch.allclose(_out(tiny, x), base, atol=1e-6)
    assert all(torch.equal(a, b) for a, b in zip(params_before, tiny.parameters()))


def test_ea_off_is_identity_in_a_network_built_without_it() -> None:
    torch.manual_seed(0)
    net = DRCNet(wf=8, depth=2, ea=False).eval()  # as the w/o-EA model trains and loads
    maps: dict = {}
    net.set_probe(maps)
    _out(net, torch.rand(1, 3, 16, 16))
    assert all(torch.all(m.energy == 1) for m in maps.values())


def test_ea_off_keeps_each_channels_mean_weight_in_a_network_built_with_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """EA's weights are at least 0.62, so taking them away outright raised the branch by
    about 1.5×, a gain trained weights never saw; off, only the spatial selection goes."""
    import drcnet.blocks

    torch.manual_seed(0)
    net = DRCNet(wf=8, depth=2).eval()
    x = torch.rand(1, 3, 16, 16)
    net.configure(ea=False)
    maps: dict = {}
    net.set_probe(maps)
    off = _out(net, x)
    for m in maps.values():  # flat over space, between the weights' bounds
        e = m.energy[0, 0]
        assert torch.allclose(e, e.mean().expand_as(e)) and 0.62 < float(e.mean()) < 0.74
    real = drcnet.blocks.energy_attention
    seen = []

    def flat_by_hand(y, delta, flat=False):  # noqa: ANN001, ANN202
        seen.append(flat)
        out, w = real(y, delta)
        w = w.mean(dim=(2, 3), keepdim=True)
        return y * w, w.expand_as(y)

    monkeypatch.setattr(drcnet.blocks, "energy_attention", flat_by_hand)
    net.set_probe(None)
    assert torch.allclose(_out(net, x), off, atol=1e-6) and all(seen)


def test_probe_names_shapes_and_mask_monotonic_in_t(tiny: DRCNet) -> None:
    x = torch.rand(1, 3, 32, 48)
    assert tiny.block_names() == [f"stage{s}.enc{i}" for s in (1, 2) for i in range(3)]
    fractions = []
    for t in (0.5, 0.6, 0.7, 0.8, 0.9):
        maps: dict = {}
        tiny.set_probe(maps)
        tiny.configure(t=t)
        _out(tiny, x)
        assert set(maps) == set(tiny.block_names())
        for name, m in maps.items():
            level = int(name[-1])
            expect = (1, 1, 32 // 2**level, 48 // 2**level)
            assert m.self_aware.shape == m.mask.shape == m.energy.shape == expect
            assert torch.equal(m.mask, (m.self_aware >= t).float())
        fractions.append(sum(float(m.mask.mean()) for m in maps.values()))
    assert all(a >= b for a, b in zip(fractions, fractions[1:]))
    assert fractions[0] > fractions[-1]


def test_probe_off_captures_nothing(tiny: DRCNet) -> None:
    maps: dict = {}
    tiny.set_probe(maps)
    tiny.set_probe(None)
    _out(tiny, torch.rand(1, 3, 16, 16))
    assert maps == {}
    assert all(b.probe is None for b in tiny.dfr_blocks())


def test_mac_count_includes_the_functional_gamma_beta_convolution(monkeypatch) -> None:  # noqa: ANN001
    from drcnet.blocks import SelfAwareAffine

    net = DRCNet(wf=8, depth=3).eval()
    fused = count_macs(net, 64)

    def as_modules(self, x):  # noqa: ANN001, ANN202 (γ and β as separate module calls)
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        m = torch.sigmoid(self.conv(pooled))
        return m, self.gamma(m), self.beta(m)

    monkeypatch.setattr(SelfAwareAffine, "forward", as_modules)
    # Run as modules, γ and β are seen by the conv hooks as well as by the affine hook, so
    # the count grows by exactly what the affine hook adds: two 1-channel 7×7 convolutions
    # per DFR block (2 stages × levels at 64², 32², 16²).
    affine = 2 * 2 * 49 * (64**2 + 32**2 + 16**2)
    assert count_macs(net, 64) - fused == affine


def test_bf16_autocast_runtime_is_close_to_fp32_and_returns_float32(tiny: DRCNet) -> None:
    x = torch.rand(1, 3, 48, 40)
    with torch.no_grad():
        ref = tiny(x)[-1]
        tiny.set_runtime(precision="bf16")
        low = tiny(x)[-1]
        tiny.set_runtime(precision="fp32")
        back = tiny(x)[-1]
    assert low.dtype == torch.float32 and low.shape == ref.shape
    assert torch.isfinite(low).all()
    assert 0 < (low - ref).abs().max() < 0.1  # bf16 convolutions: close, not identical
    assert torch.equal(back, ref)


def test_low_precision_statistics_do_not_overflow() -> None:
    from drcnet.blocks import energy_attention, region_normalize

    # Sums over a 256×256 map of values near 100 exceed fp16's range (65504) many times over.
    x = torch.full((1, 2, 256, 256), 100.0) + torch.rand(1, 2, 256, 256)
    mask = (torch.rand(1, 1, 256, 256) > 0.5).float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = region_normalize(x.bfloat16(), mask)
        y, w = energy_attention(x.bfloat16(), 1e-6)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    assert torch.allclose(out, region_normalize(x.bfloat16().float(), mask), atol=1e-4)
    assert torch.isfinite(y).all() and torch.isfinite(w).all()


def test_channels_last_runtime_gives_the_same_result(tiny: DRCNet) -> None:
    x = torch.rand(1, 3, 40, 56)
    with torch.no_grad():
        ref = tiny(x)[-1]
        tiny.set_runtime(channels_last=True)
        out = tiny(x)[-1]
        tiny.set_runtime(channels_last=False)
    assert torch.allclose(out, ref, atol=1e-5)
    with pytest.raises(ValueError, match="precision"):
        tiny.set_runtime(precision="fp8")


def test_configure_refuses_an_ea_that_is_not_true_or_false() -> None:
    from drcnet.errors import UsageError

    net = DRCNet(wf=8, depth=2)
    with pytest.raises(UsageError, match="ea must be True or False"):
        net.configure(ea="no")  # bool("no") is True: EA had stayed on
    net.configure(ea=False)
    assert net.knobs.ea is False


@pytest.mark.parametrize("case", ["half model", "bf16 model", "fp16 input", "uint8 input",
                                  "float64 input", "empty"])
def test_wrong_types_and_sizes_are_refused_in_one_line(case: str) -> None:
    """Each had failed deep inside torch ("Input type (c10::Half) and bias type (float)
    should be the same"; model.half() at the first down-sampling)."""
    from drcnet.errors import UsageError

    net = DRCNet(wf=8, depth=2).eval()
    x = torch.rand(1, 3, 16, 16)
    if case == "half model":
        net = net.half()
    elif case == "bf16 model":
        net = net.to(torch.bfloat16)
    elif case == "fp16 input":
        x = x.half()
    elif case == "uint8 input":
        x = (x * 255).to(torch.uint8)
    elif case == "float64 input":
        x = x.double()
    else:
        x = torch.rand(1, 3, 0, 16)
    with pytest.raises(UsageError) as err:
        net(x)
    assert "\n" not in str(err.value)
    if "model" in case:
        assert "set_runtime(precision=" in str(err.value)

"""mupbook.nn.AbcMLP: the abc scalings hold in a real network."""

import pytest
import torch

from mupbook import runtime
from mupbook.abc import mup, ntp
from mupbook.fit import loglog_slope
from mupbook.nn import AbcMLP


def test_effective_weights_have_the_abc_variance():
    n = 2048
    net = AbcMLP(
        10, n, 3, ntp(2), generator=runtime.generator(0), dtype=torch.float64
    )
    # NTP: W^2 = n^-1/2 w, w ~ N(0, 1): entries of variance 1/n.
    assert net.effective_weight(2).var().item() * n == pytest.approx(1.0, rel=0.01)
    net = AbcMLP(
        10, n, 3, mup(2), generator=runtime.generator(0), dtype=torch.float64
    )
    # muP readout: n^-1/2 * N(0, 1/n): variance 1/n^2.
    assert net.effective_weight(3).var().item() * n**2 == pytest.approx(1.0, rel=0.05)


def test_mup_output_at_init_shrinks_like_inverse_sqrt_width_and_ntp_does_not():
    widths = [256, 1024, 4096]
    x = torch.randn(64, 8, generator=runtime.generator(1), dtype=torch.float64)
    sizes = {p: [] for p in ("mup", "ntp")}
    for p in sizes:
        for n in widths:
            net = AbcMLP(
                8, n, 1, p, generator=runtime.generator(n), dtype=torch.float64
            )
            sizes[p].append(net(x).pow(2).mean().sqrt().item())
    assert loglog_slope(widths, sizes["mup"]).slope == pytest.approx(-0.5, abs=0.15)
    assert loglog_slope(widths, sizes["ntp"]).slope == pytest.approx(0.0, abs=0.15)


def test_learning_rate_is_eta_times_width_to_minus_c():
    assert AbcMLP(4, 100, 1, "sp").lr(0.5) == pytest.approx(0.005)
    assert AbcMLP(4, 100, 1, "mup").lr(0.5) == pytest.approx(0.5)


def test_same_seed_same_network():
    a = AbcMLP(4, 32, 2, generator=runtime.generator(3))
    b = AbcMLP(4, 32, 2, generator=runtime.generator(3))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_features_are_returned_per_hidden_layer():
    net = AbcMLP(4, 16, 2, depth=3)
    out, feats = net(torch.randn(5, 4), return_features=True)
    assert out.shape == (5, 2) and [f.shape for f in feats] == [(5, 16)] * 3


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        (dict(width=0), "width"),
        (dict(width=8.0), "width"),
        (dict(d_in=-1), "d_in"),
        (dict(activation="swish"), "activation"),
        (dict(dtype=torch.int64), "dtype"),
        (dict(param="foo"), "unknown parametrization"),
    ],
)
def test_bad_construction_is_refused(kwargs, msg):
    args = dict(d_in=4, width=8, d_out=1) | kwargs
    with pytest.raises(ValueError, match=msg):
        AbcMLP(**args)


def test_bad_input_shape_and_learning_rate_are_refused():
    net = AbcMLP(4, 8, 1)
    with pytest.raises(ValueError, match="shape"):
        net(torch.randn(3, 5))
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="learning rate"):
            net.sgd(bad)


def test_numpy_integers_are_widths_like_python_integers():
    import numpy as np

    from mupbook.nn import MuMLP

    a = AbcMLP(
        np.int64(4), np.int64(8), np.int32(1), "mup", generator=runtime.generator(0)
    )
    b = AbcMLP(4, 8, 1, "mup", generator=runtime.generator(0))
    x = torch.randn(3, 4)
    assert torch.equal(a(x), b(x))
    assert (
        MuMLP(np.int64(4), np.int64(16), 2, "mup", base_width=np.int64(8)).width == 16
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only message")
def test_cuda_on_a_cpu_only_machine_is_a_clear_error_not_an_assertion():
    with pytest.raises(ValueError, match="CUDA is not available here"):
        AbcMLP(4, 8, 1, "mup", device="cuda")

"""mupbook.limits.linear: the muP limit of a 1-hidden-layer linear net and its samples."""

import os

import numpy as np
import pytest
import torch

from mupbook.fit import loglog_slope
from mupbook.limits import linear

D, C = 784, 5


def test_limit_is_block_identity_of_width_d_plus_c_with_zero_output():
    net = linear.mup_limit(D, C, s1=1.0, s2=2.0**-5, beta=1.0)
    assert net.width == D + C and net.W1.dtype == torch.float64
    assert (
        torch.equal(net.W1[:D], torch.eye(D, dtype=torch.float64))
        and not net.W1[D:].any()
    )
    assert (
        torch.equal(net.W2[:, D:], 2.0**-5 * torch.eye(C, dtype=torch.float64))
        and not net.W2[:, :D].any()
    )
    x = torch.rand(3, 7, D, dtype=torch.float64)
    assert net(x).shape == (3, 7, C) and not net(x).any()  # f_0 = B A x = 0


def test_sample_is_muP_gaussian_init_with_the_right_variances():
    net = linear.mup_limit(D, C, s1=0.5, s2=0.25)
    n = 4096
    s = net.sample(n, generator=0)
    assert s.kind == "mup" and s.omega.shape == (n, D + C) and s.lr_mult == (1.0, 1.0)
    # Entry variances s1^2/n and s2^2/n; with ~3e6 and 2e4 entries the sample variances
    # are within 1% and 5% of them (about 5 standard errors).
    assert abs(s.W1.var().item() * n / 0.25 - 1) < 0.01
    assert abs(s.W2.var().item() * n / 0.0625 - 1) < 0.05
    assert not s.b.any()
    again = net.sample(n, generator=0)
    assert torch.equal(again.W1, s.W1)  # seeded
    x = torch.rand(20, D, dtype=torch.float64)
    assert s(x).abs().max() < 0.5  # f_0 of order n^-1/2, not zero


def test_finite_parametrizations_agree_at_the_base_width_and_scale_apart():
    nets = {
        p: linear.finite(D, C, 256, param=p, generator=3)
        for p in linear.PARAMETRIZATIONS
    }
    for p in ("ntp", "sp"):
        assert torch.equal(nets[p].W2, nets["mup"].W2) and nets[p].lr_mult == (
            1.0,
            1.0,
        )
    ntp = linear.finite(D, C, 1024, param="ntp", base_width=256, generator=3)
    sp = linear.finite(D, C, 1024, param="sp", base_width=256, generator=3)
    mup = linear.finite(D, C, 1024, param="mup", base_width=256, generator=3)
    assert torch.allclose(ntp.W2, 2 * mup.W2) and torch.equal(ntp.W1, mup.W1)
    assert ntp.lr_mult == (0.25, 1.0) and sp.lr_mult == (1 / 16, 1.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"d": 0, "c": 5}, "d \\(input dimension\\)"),
        ({"d": 784, "c": 5, "s1": float("nan")}, "s1 must be"),
        ({"d": 784, "c": 5, "dtype": torch.int64}, "floating point"),
    ],
)
def test_bad_limit_arguments_are_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        linear.mup_limit(**kwargs)


def test_bad_sampling_and_inputs_are_errors():
    net = linear.mup_limit(10, 2)
    with pytest.raises(ValueError, match="width n must be a positive integer"):
        net.sample(0, generator=0)
    with pytest.raises(ValueError, match="only the muP limit can be sampled"):
        net.sample(8, generator=0).sample(8, generator=0)
    with pytest.raises(ValueError, match="param must be one of"):
        linear.finite(10, 2, 8, param="mfp", generator=0)
    with pytest.raises(ValueError, match="shape \\(..., 10\\)"):
        net(torch.zeros(3, 9, dtype=torch.float64))


@pytest.mark.skipif(
    not os.environ.get("MUPBOOK_DATA"),
    reason="needs the offline Omniglot data (MUPBOOK_DATA)",
)
def test_sampled_networks_converge_to_the_limit_like_n_to_the_minus_half_over_50_maml_steps():
    """50 first-order MAML steps on real Omniglot tasks (1 task a step); the RMS gap of
    the query logits to the limit's, widths 2^6..2^14, one draw of Omega each, has
    log-log slope -1/2 within 0.15 (the issue's tolerance; measured -0.49 with 2 draws)."""
    from mupbook.experiments import maml

    widths = [2**k for k in range(6, 15)]
    threads = torch.get_num_threads()
    torch.set_num_threads(
        1
    )  # small matrices: one thread is faster and steady on a busy machine
    try:
        gaps = maml.limit_gap(maml.load_pools(), widths, steps=50, batch_tasks=1)[0]
    finally:
        torch.set_num_threads(threads)
    assert np.all(np.isfinite(gaps))
    fit = loglog_slope(widths, gaps)
    assert abs(fit.slope + 0.5) < 0.15, fit

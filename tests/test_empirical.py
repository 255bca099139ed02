"""mupbook.empirical: finite networks' NNGP and NTK, their convergence, their movement."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mupbook import empirical
from mupbook.empirical import empirical_kernels, relative_error
from mupbook.fit import loglog_slope
from mupbook.kernels import mlp_kernels
from mupbook.nn import AbcMLP, nt_mlp
from mupbook.runtime import generator

F64 = torch.float64


def _rand(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(
        *shape, dtype=F64, generator=torch.Generator().manual_seed(seed)
    )


def _net(
    activation="relu", bias=False, d_in=5, width=7, d_out=3, param="ntp", seed=1
):
    net = AbcMLP(
        d_in,
        width,
        d_out,
        param,
        depth=2,
        activation=activation,
        bias=bias,
        dtype=F64,
        generator=torch.Generator().manual_seed(seed),
    )
    if bias:  # biases start at zero; give them values so that their gradients matter
        with torch.no_grad():
            for b in net.biases:
                b.copy_(_rand(seed + 10, *b.shape))
    return net


def _ntk_from_full_jacobian(net, x1, x2):
    """sum over every parameter entry of df_k/dp(x1) df_k/dp(x2), averaged over outputs k."""
    params = list(net.parameters())

    def jac(x):
        rows = []
        for k in range(net.weights[-1].shape[0]):
            for i in range(x.shape[0]):
                g = torch.autograd.grad(net(x[i : i + 1])[0, k], params)
                rows.append(torch.cat([t.reshape(-1) for t in g]))
        return torch.stack(rows).reshape(net.weights[-1].shape[0], x.shape[0], -1)

    j1, j2 = jac(x1), jac(x2)
    return torch.einsum("kap,kbp->ab", j1, j2) / j1.shape[0]


# ----------------------------------------------------------------------------- exact values


@pytest.mark.parametrize("activation", ["relu", "erf", "tanh", "linear"])
@pytest.mark.parametrize("bias", [False, True])
def test_empirical_ntk_equals_the_full_parameter_jacobian_product(activation, bias):
    net = _net(activation, bias)
    x1, x2 = _rand(0, 4, 5), _rand(1, 3, 5)
    ref = _ntk_from_full_jacobian(net, x1, x2)
    assert torch.allclose(
        empirical.empirical_ntk(net, x1, x2), ref, rtol=1e-10, atol=1e-12
    )
    ref11 = _ntk_from_full_jacobian(net, x1, x1)
    assert torch.allclose(
        empirical.empirical_ntk(net, x1), ref11, rtol=1e-10, atol=1e-12
    )


def test_empirical_ntk_works_for_mup_models_too():
    net = _net("tanh", param="mup")
    x1, x2 = _rand(2, 3, 5), _rand(3, 2, 5)
    assert torch.allclose(
        empirical.empirical_ntk(net, x1, x2),
        _ntk_from_full_jacobian(net, x1, x2),
        rtol=1e-10,
        atol=1e-12,
    )


def test_empirical_nngp_is_the_readout_covariance_given_the_features():
    net = _net("relu", d_out=1, width=9)
    x1, x2 = _rand(4, 3, 5), _rand(5, 2, 5)
    feats1 = net(x1, return_features=True)[1][-1].detach()
    feats2 = net(x2, return_features=True)[1][-1].detach()
    # NTP readout: f = v . x^L / sqrt(n), v ~ N(0, 1): E_v f f' = <x^L, x^L'> / n
    assert torch.allclose(
        empirical.empirical_nngp(net, x1, x2), feats1 @ feats2.T / 9, rtol=1e-12
    )
    assert torch.allclose(
        empirical.feature_kernel(net, x1, x2), feats1 @ feats2.T / 9, rtol=1e-12
    )


def test_empirical_nngp_matches_a_monte_carlo_over_readouts():
    net = _net("erf", d_out=1, width=6)
    x = _rand(6, 3, 5)
    gen = torch.Generator().manual_seed(7)
    outs = []
    with torch.no_grad():
        for _ in range(4000):
            net.weights[-1].copy_(
                torch.randn(net.weights[-1].shape, dtype=F64, generator=gen)
            )
            outs.append(net(x)[:, 0])
    f = torch.stack(outs)
    mc = f.T @ f / f.shape[0]
    exact = empirical.empirical_nngp(net, x)
    # 4000 samples: relative Monte Carlo error about sqrt(2 / 4000) = 0.02; 0.1 is 5 sigma
    assert empirical.relative_error(mc, exact) < 0.1


def test_ntp_abcmlp_is_the_neural_tangents_dense_stack():
    net = AbcMLP(10, 64, 1, "ntp", depth=3, bias=False)
    mults = [s.multiplier for s in net.weight_scalings]
    stds = [s.init_std for s in net.weight_scalings]
    assert mults == pytest.approx([1 / math.sqrt(10), 1 / 8, 1 / 8, 1 / 8])
    assert stds == pytest.approx([1.0] * 4)


def test_monte_carlo_kernels_average_the_empirical_kernels_of_the_seeds():
    x = _rand(8, 4, 3)
    ks = [
        empirical.empirical_kernels(
            AbcMLP(
                3,
                16,
                1,
                "ntp",
                depth=2,
                dtype=F64,
                generator=torch.Generator().manual_seed(s),
            ),
            x,
        )
        for s in (3, 4)
    ]
    mc = empirical.monte_carlo_kernels(
        x, width=16, depth=2, seeds=(3, 4), device="cpu"
    )
    assert torch.allclose(mc.nngp, (ks[0].nngp + ks[1].nngp) / 2, rtol=1e-12)
    assert torch.allclose(mc.ntk, (ks[0].ntk + ks[1].ntk) / 2, rtol=1e-12)


# ----------------------------------------------------------------------------- convergence


@pytest.mark.parametrize("activation", ["relu", "erf", "linear"])
def test_empirical_kernels_converge_to_the_exact_ones_like_inverse_sqrt_width(
    activation,
):
    x = _rand(11, 10, 8)
    errs = empirical.kernel_errors(
        x,
        [2**k for k in range(6, 12)],
        depth=2,
        activation=activation,
        seeds=range(6),
        device="cpu",
    )
    for which in ("nngp", "ntk"):
        fit = errs.slopes[which]
        assert abs(fit.slope + 0.5) < 0.15, (which, fit)
        assert np.all(errs.mean(which)[-1] < 0.5 * errs.mean(which)[0])


def test_averaging_seeds_shrinks_the_monte_carlo_error():
    x = _rand(12, 6, 4)
    exact = mlp_kernels(x, depth=1, activation="relu")
    one = [
        empirical.relative_error(
            empirical.monte_carlo_kernels(
                x, width=64, depth=1, seeds=[s], device="cpu"
            ).ntk,
            exact.ntk,
        )
        for s in range(16)
    ]
    avg = empirical.relative_error(
        empirical.monte_carlo_kernels(
            x, width=64, depth=1, seeds=range(16), device="cpu"
        ).ntk,
        exact.ntk,
    )
    assert avg < 0.5 * np.sqrt(
        np.mean(np.square(one))
    )  # theory: 1/4 of the rms error


# ----------------------------------------------------------------------------- bad input


def test_bad_inputs_are_value_errors_with_a_message():
    net = _net()
    with pytest.raises(ValueError, match="ScaledMLP"):
        empirical.empirical_ntk(torch.nn.Linear(5, 1), _rand(0, 2, 5))
    with pytest.raises(ValueError, match=r"shape \(N, 5\)"):
        empirical.empirical_ntk(net, _rand(0, 2, 4))
    with pytest.raises(ValueError, match="torch.Tensor"):
        empirical.empirical_nngp(net, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="non-finite"):
        empirical.empirical_ntk(net, torch.full((2, 5), float("nan"), dtype=F64))
    with pytest.raises(ValueError, match="width"):
        empirical.monte_carlo_kernels(_rand(0, 2, 3), width=0, depth=1)
    with pytest.raises(ValueError, match="depth"):
        empirical.monte_carlo_kernels(_rand(0, 2, 3), width=4, depth=0)
    with pytest.raises(ValueError, match="seed"):
        empirical.monte_carlo_kernels(_rand(0, 2, 3), width=4, depth=1, seeds=[])
    with pytest.raises(ValueError, match="at least 2 widths"):
        empirical.kernel_errors(_rand(0, 2, 3), [64])
    with pytest.raises(ValueError, match="shapes differ"):
        empirical.relative_error(torch.zeros(2, 2), torch.ones(3, 3))
    with pytest.raises(ValueError, match="zero"):
        empirical.relative_error(torch.zeros(2, 2), torch.zeros(2, 2))
    errs = empirical.kernel_errors(
        _rand(0, 3, 3), [8, 16], depth=1, seeds=[0], device="cpu"
    )
    with pytest.raises(ValueError, match="which"):
        errs.mean("both")


def test_loglog_slope_of_kernel_errors_is_the_reported_slope():
    errs = empirical.kernel_errors(
        _rand(1, 4, 3), [16, 32, 64], depth=1, seeds=[0, 1], device="cpu"
    )
    assert errs.slopes["ntk"].slope == pytest.approx(
        loglog_slope(errs.widths, errs.mean("ntk")).slope
    )


def test_nt_mlp_kernels_converge_to_mlp_kernels_for_any_w_std_and_b_std():
    # neural-tangents' Dense(W_std, b_std) stack: averaged over 8 networks, the empirical
    # kernels approach the exact ones; measured 2.9% / 1.0% relative error at widths 256 /
    # 4096 for the NTK (erf, W_std 1.4, b_std 0.5).
    x = torch.randn(6, 5, generator=generator(0), dtype=torch.float64)
    exact = mlp_kernels(x, depth=2, activation="erf", w_std=1.4, b_std=0.5)
    errors = []
    for n in (256, 4096):
        ks = [
            empirical_kernels(
                nt_mlp(
                    5,
                    n,
                    1,
                    depth=2,
                    activation="erf",
                    w_std=1.4,
                    b_std=0.5,
                    generator=generator(s),
                ),
                x,
            )
            for s in range(8)
        ]
        errors.append(
            [
                relative_error(
                    sum(getattr(k, name) for k in ks) / 8, getattr(exact, name)
                )
                for name in ("nngp", "ntk")
            ]
        )
    assert errors[1][0] < 0.03 and errors[1][1] < 0.03
    assert errors[1][1] < errors[0][1]


def test_nt_mlp_with_unit_w_std_and_no_bias_is_abc_ntp():
    a = nt_mlp(4, 32, 2, depth=2, generator=generator(3))
    b = AbcMLP(4, 32, 2, "ntp", depth=2, generator=generator(3), dtype=torch.float64)
    x = torch.randn(5, 4, dtype=torch.float64)
    assert torch.allclose(a(x), b(x), atol=1e-14)
    with pytest.raises(ValueError, match="w_std"):
        nt_mlp(4, 32, 2, w_std=-1.0)

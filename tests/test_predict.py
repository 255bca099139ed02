"""Tests of mupbook.predict: the kernel predictors (gradient flow, NNGP posterior, NTK).

References are independent of the library: matrix exponentials of the gradient-flow ODE and
the GP posterior formula computed directly. Stored neural-tangents values are checked in
test_kernels_reference.py.
"""

from __future__ import annotations

import math

import pytest
import torch

from mupbook.kernels import Kernels, mlp_kernels
from mupbook.predict import gd_mse_ensemble, nngp_posterior, ntk_predict

F64 = torch.float64


def _rand(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(
        *shape, dtype=F64, generator=torch.Generator().manual_seed(seed)
    )


def _max_rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


def _min_eig_ok(k: torch.Tensor) -> bool:
    """Smallest eigenvalue >= -1e-10 x trace (the PSD tolerance of the issue)."""
    return float(torch.linalg.eigvalsh(k).min()) >= -1e-10 * float(
        torch.trace(k).abs()
    )


def _problem(seed: int = 20, n: int = 8, m: int = 5, k_out: int = 2):
    x_train, x_test = _rand(seed, n, 4), _rand(seed + 1, m, 4)
    y = _rand(seed + 2, n, k_out)
    kw = {"depth": 2, "activation": "relu", "w_std": 1.3, "b_std": 0.2}
    return (
        mlp_kernels(x_train, **kw),
        mlp_kernels(x_test, x_train, **kw),
        mlp_kernels(x_test, **kw),
        y,
    )


def _ode_reference(
    kdd: Kernels, ktd: Kernels, ktt: Kernels, y: torch.Tensor, tau: float, get: str
):
    """Mean and covariance of f_t = f_0 + Theta_td Theta^-1 (I - exp(-tau Theta)) (y - f_0(X)),
    f_0 ~ GP(0, nngp), from torch.linalg.matrix_exp and a dense solve (no eigendecomposition)."""
    theta_dd, theta_td = getattr(kdd, get), getattr(ktd, get)
    flow = torch.eye(len(y), dtype=F64) - torch.linalg.matrix_exp(-tau * theta_dd)
    a = theta_td @ torch.linalg.solve(theta_dd, flow)
    cov = ktt.nngp - a @ ktd.nngp.T - ktd.nngp @ a.T + a @ kdd.nngp @ a.T
    return a @ y, cov


@pytest.mark.parametrize("get", ["nngp", "ntk"])
def test_finite_time_predictions_solve_the_gradient_flow_ode(get):
    kdd, ktd, ktt, y = _problem()
    times, lr = [0.0, 0.3, 4.0, 40.0], 0.7
    out = gd_mse_ensemble(
        kdd, ktd, y, times, get=get, nngp_test_test=ktt.nngp, learning_rate=lr
    )
    assert out.mean.shape == (4, 5, 2) and out.covariance.shape == (4, 5, 5)
    for i, t in enumerate(times):
        mean, cov = _ode_reference(kdd, ktd, ktt, y, lr * t / y.numel(), get)
        # eigh vs matrix_exp + solve on a kernel with condition number ~1e3: 1e-9 relative.
        if t == 0:  # nothing has been learned yet: the prior
            assert torch.equal(out.mean[i], torch.zeros_like(mean))
        else:
            assert _max_rel(out.mean[i], mean) < 1e-9
        assert _max_rel(out.covariance[i], cov) < 1e-9


@pytest.mark.parametrize("get", ["nngp", "ntk"])
def test_long_training_time_converges_to_the_infinite_time_solution(get):
    kdd, ktd, ktt, y = _problem()
    inf = gd_mse_ensemble(kdd, ktd, y, None, get=get, nngp_test_test=ktt.nngp)
    late = gd_mse_ensemble(kdd, ktd, y, 1e9, get=get, nngp_test_test=ktt.nngp)
    at_inf = gd_mse_ensemble(kdd, ktd, y, math.inf, get=get, nngp_test_test=ktt.nngp)
    for other in (late, at_inf):  # exp(-lam tau) underflows: only rounding differs
        assert _max_rel(other.mean, inf.mean) < 1e-9
        assert _max_rel(other.covariance, inf.covariance) < 1e-9


def test_nngp_posterior_interpolates_training_points_and_matches_the_gp_formula():
    kdd, ktd, ktt, y = _problem()
    at_train = nngp_posterior(kdd.nngp, kdd.nngp, y, kdd.nngp)
    assert _max_rel(at_train.mean, y) < 1e-9
    assert float(at_train.covariance.abs().max()) < 1e-9 * float(kdd.nngp.abs().max())
    post = nngp_posterior(kdd.nngp, ktd.nngp, y, ktt.nngp)
    solve = torch.linalg.solve(kdd.nngp, torch.cat([y, ktd.nngp.T], dim=1))
    assert _max_rel(post.mean, ktd.nngp @ solve[:, :2]) < 1e-9
    assert _max_rel(post.covariance, ktt.nngp - ktd.nngp @ solve[:, 2:]) < 1e-9
    assert _min_eig_ok(post.covariance)


def test_learning_rate_and_time_are_interchangeable_and_one_d_targets_work():
    kdd, ktd, _, y = _problem(k_out=1)
    a = ntk_predict(kdd.ntk, ktd.ntk, y, 2.0, learning_rate=1.5)
    b = ntk_predict(kdd.ntk, ktd.ntk, y, 3.0, learning_rate=1.0)
    assert _max_rel(a, b) < 1e-13
    one_d = ntk_predict(kdd.ntk, ktd.ntk, y[:, 0], 3.0)
    assert one_d.shape == (5,) and _max_rel(one_d, b[:, 0]) < 1e-13
    # numpy kernels are accepted too
    assert (
        _max_rel(ntk_predict(kdd.ntk.numpy(), ktd.ntk.numpy(), y.numpy(), 3.0), b)
        < 1e-13
    )


def test_relative_diag_reg_is_scaled_by_the_mean_diagonal():
    kdd, ktd, ktt, y = _problem()
    rel = gd_mse_ensemble(
        kdd, ktd, y, 5.0, get="ntk", nngp_test_test=ktt.nngp, diag_reg=0.1
    )
    scale = 0.1 * float(torch.trace(kdd.ntk)) / 8
    absolute = gd_mse_ensemble(
        kdd,
        ktd,
        y,
        5.0,
        get="ntk",
        nngp_test_test=ktt.nngp,
        diag_reg=scale,
        diag_reg_absolute_scale=True,
    )
    assert _max_rel(rel.mean, absolute.mean) < 1e-12
    assert _max_rel(rel.covariance, absolute.covariance) < 1e-12
    plain = gd_mse_ensemble(kdd, ktd, y, 5.0, get="ntk")
    assert _max_rel(rel.mean, plain.mean) > 1e-3  # the ridge does change the answer


def test_singular_kernel_without_ridge_raises_and_with_ridge_is_finite():
    # A zero input without biases has a zero kernel row: exactly singular. (Duplicate points
    # are only singular up to rounding of their ~1e-8 angle, so Cholesky may pass on them.)
    x = torch.cat([_rand(21, 4, 3), torch.zeros(1, 3, dtype=F64)])
    k = mlp_kernels(x, depth=1)
    y = _rand(22, 5, 1)
    with pytest.raises(ValueError, match="diag_reg"):
        nngp_posterior(k.nngp, k.nngp, y)
    assert bool(
        torch.isfinite(nngp_posterior(k.nngp, k.nngp, y, diag_reg=1e-6).mean).all()
    )
    # finite times never need a factorization: zero eigenvalues use the limit tau
    assert bool(torch.isfinite(ntk_predict(k.ntk, k.ntk, y, [0.0, 1.0, 1e6])).all())


@pytest.mark.parametrize(
    "change, match",
    [
        ({"kdd": torch.ones(3, 4, dtype=F64)}, "square"),
        ({"ktd": torch.ones(5, 7, dtype=F64)}, r"shape \(M, 8\)"),
        ({"y": torch.ones(7, 2, dtype=F64)}, "y_train must have shape"),
        ({"y": torch.full((8, 2), float("nan"), dtype=F64)}, "non-finite"),
        ({"ktt": torch.ones(4, 4, dtype=F64)}, "nngp_test_test must have shape"),
        ({"t": -1.0}, ">= 0"),
        ({"t": [[1.0]]}, "1-D"),
        ({"t": float("nan")}, ">= 0"),
        ({"get": "ntkgp"}, "get must be"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"diag_reg": -0.5}, "diag_reg"),
    ],
)
def test_bad_predictor_inputs_raise_value_error(change, match):
    kdd, ktd, ktt, y = _problem()
    args = {
        "kdd": kdd.ntk,
        "ktd": ktd.ntk,
        "ktt": ktt.nngp,
        "y": y,
        "t": 1.0,
        "get": "nngp",
        "learning_rate": 1.0,
        "diag_reg": 0.0,
    }
    args.update(change)
    with pytest.raises(ValueError, match=match):
        gd_mse_ensemble(
            Kernels(args["kdd"], args["kdd"]),
            Kernels(args["ktd"], args["ktd"]),
            args["y"],
            args["t"],
            get=args["get"],
            nngp_test_test=args["ktt"],
            learning_rate=args["learning_rate"],
            diag_reg=args["diag_reg"],
        )


def test_predictions_that_overflow_are_an_error_not_inf():
    tiny = torch.eye(3, dtype=F64) * 1e-300
    with pytest.raises(OverflowError, match="prediction is not finite.*rescale"):
        nngp_posterior(tiny, tiny[:2], torch.full((3,), 1e10, dtype=F64))

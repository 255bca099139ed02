"""mupbook.kernels against stored neural-tangents values (tests/fixtures/kernels_reference.npz).

The values were written by bench/make_kernels_reference.py with neural-tangents 0.6.5 and
jax 0.5.3 in float64; this file needs neither. Tolerance 1e-12 relative to the largest
entry: both sides evaluate the same float64 formulas in a different order, which costs a
few ulps per layer; any convention slip (a missing w_std**2, a 1/d, a time unit, the
diag_reg scale) changes values at the 1e-3 level or more.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mupbook.kernels import ACTIVATIONS, Kernels, mlp_kernels
from mupbook.predict import gd_mse_ensemble

REF = dict(np.load(Path(__file__).parent / "fixtures" / "kernels_reference.npz"))
RTOL = 1e-12


def _max_rel(a: torch.Tensor, b: np.ndarray) -> float:
    return float(np.abs(a.cpu().numpy() - b).max() / np.abs(b).max())


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("depth", [0, 1, 3])
@pytest.mark.parametrize("b_std", [0.0, 0.4])
@pytest.mark.parametrize("cross", [False, True])
def test_mlp_kernels_match_neural_tangents_stax(activation, depth, b_std, cross):
    # x1 holds a duplicate, an antipodal rescaled and a zero row.
    x2 = REF["x2"] if cross else None
    k = mlp_kernels(
        REF["x1"],
        x2,
        depth=depth,
        activation=activation,
        w_std=float(REF["w_std"]),
        b_std=b_std,
    )
    ref = REF[f"kern/{activation}/{depth}/{b_std}/{'cross' if cross else 'self'}"]
    assert _max_rel(k.nngp, ref[0]) < RTOL
    assert _max_rel(k.ntk, ref[1]) < RTOL


def _kernels(tag: str) -> Kernels:
    return Kernels(
        torch.from_numpy(REF[f"pred/k_{tag}_nngp"]),
        torch.from_numpy(REF[f"pred/k_{tag}_ntk"]),
    )


def test_prediction_problem_kernels_match_neural_tangents():
    x_train, x_test = REF["pred/x_train"], REF["pred/x_test"]
    kw = {"depth": 2, "activation": "relu", "w_std": 1.3, "b_std": 0.2}
    for tag, (a, b) in {
        "dd": (x_train, None),
        "td": (x_test, x_train),
        "tt": (x_test, None),
    }.items():
        k = mlp_kernels(a, b, **kw)
        assert _max_rel(k.nngp, REF[f"pred/k_{tag}_nngp"]) < RTOL
        assert _max_rel(k.ntk, REF[f"pred/k_{tag}_ntk"]) < RTOL


@pytest.mark.parametrize(
    "reg, absolute", [("none", False), ("rel", False), ("abs", True)]
)
@pytest.mark.parametrize("get", ["nngp", "ntk"])
@pytest.mark.parametrize("times", ["inf", "times"])
def test_predictions_match_gradient_descent_mse_ensemble(reg, absolute, get, times):
    # t = (0, 0.5, 3, 50, inf) with learning_rate 0.7 pins the time units (lr * t / (N K));
    # mean and covariance of NNGP and NTK, without, with relative and with absolute ridge.
    t = None if times == "inf" else REF["pred/times"]
    out = gd_mse_ensemble(
        _kernels("dd"),
        _kernels("td"),
        REF["pred/y_train"],
        t,
        get=get,
        nngp_test_test=REF["pred/k_tt_nngp"],
        learning_rate=float(REF["pred/learning_rate"]),
        diag_reg=float(REF[f"pred/{reg}/diag_reg"]),
        diag_reg_absolute_scale=absolute,
    )
    mean, cov = (
        REF[f"pred/{reg}/{get}/{times}/mean"],
        REF[f"pred/{reg}/{get}/{times}/cov"],
    )
    assert (
        tuple(out.mean.shape) == mean.shape
        and tuple(out.covariance.shape) == cov.shape
    )
    # 1e-10: the solves on a kernel of condition number ~1e3 lose a few more digits than
    # the kernels themselves (measured agreement: 1e-14).
    assert _max_rel(out.mean, mean) < 1e-10
    assert _max_rel(out.covariance, cov) < 1e-10

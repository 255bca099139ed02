"""mupbook.studies.zdot: Z-hat + Z-dot for W W^T v and inside a two-hidden-layer network."""

import math

import pytest
import torch

from mupbook.studies import zdot


def test_regression_coefficient_and_residual():
    g = torch.tensor([1.0, -2.0, 3.0, 0.5], dtype=torch.float64)
    noise = torch.tensor([0.1, 0.2, 0.0, -0.4], dtype=torch.float64)
    reg = zdot.regress(0.7 * g + noise, g)
    assert reg.coef == pytest.approx(0.7 + float(noise @ g / (g @ g)))
    assert reg.se == pytest.approx(math.sqrt(reg.residual / float(g @ g)))


def test_w_wt_v_is_v_plus_a_fresh_gaussian_of_variance_one():
    # per seed the coefficient fluctuates by sqrt(2/n), the residual by sqrt(6/n)
    coefs, residuals = zdot.wwt_sweep([4096], range(3))
    assert abs(coefs.mean() - 1) < 4 * (2 / (4096 * 3)) ** 0.5
    assert abs(residuals.mean() - 1) < 4 * (6 / (4096 * 3)) ** 0.5


def test_seed_spreads_of_coefficient_and_residual_are_sqrt_2_over_n_and_sqrt_6_over_n():
    # The chapter's tolerances: the coefficient v^T A v / v^T v (A = W W^T) is a Rayleigh
    # quotient in a random direction, sd sqrt(2 Var(eig A) / n) = sqrt(2/n); the residual
    # v^T M v / n with M = (A - I)^2 has variance 2 tr(M^2) / n^2 = 6/n (Marchenko-Pastur
    # moments 1, 2, 5, 14). 200 seeds estimate a standard deviation to about 5%.
    n = 256
    coefs, residuals = zdot.wwt_sweep([n], range(200))
    assert coefs.std() * n**0.5 == pytest.approx(2**0.5, rel=0.2)
    assert residuals.std() * n**0.5 == pytest.approx(6**0.5, rel=0.2)


def test_gradient_independence_removes_the_zdot_term_and_v_std_scales_zhat():
    coefs, _ = zdot.wwt_sweep([4096], range(2), independent=True)
    assert abs(coefs.mean()) < 4 * (4096 * 2) ** -0.5
    coefs, residuals = zdot.wwt_sweep([1024], range(2), v_std=1.5)
    assert abs(coefs.mean() - 1) < 0.1 and abs(residuals.mean() - 2.25) < 0.5


def test_two_layer_step_measures_the_predicted_zdot_coefficient():
    runs = [zdot.two_layer_step(2048, s) for s in range(3)]
    diff = [r.measured.coef - r.predicted for r in runs]
    assert abs(sum(diff) / 3) < 0.1
    assert all(0.3 < r.predicted < 1.0 for r in runs)
    assert all(r.zdot_var > 0.2 * r.zhat_var for r in runs)
    # the residual is the Z-hat part: its mean square is E[(dx^1)^2]
    assert all(abs(r.measured.residual / r.zhat_var - 1) < 0.15 for r in runs)
    gia = [zdot.two_layer_step(2048, s, independent=True) for s in range(3)]
    assert all(abs(r.measured.coef) < 0.1 for r in gia)
    assert runs[0].g.shape == runs[0].wy.shape == (2048,)

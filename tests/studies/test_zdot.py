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
    # coefficient fluctuates by ~ n^-1/2 = 0.016 per seed, residual by ~ sqrt(20/n) = 0.07
    coefs, residuals = zdot.wwt_sweep([4096], range(3))
    assert abs(coefs.mean() - 1) < 4 * (4096 * 3) ** -0.5
    assert abs(residuals.mean() - 1) < 4 * (20 / (4096 * 3)) ** 0.5


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

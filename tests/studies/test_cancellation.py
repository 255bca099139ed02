"""mupbook.studies.cancellation: the chapter-1 measurements and the checks built on them."""

import numpy as np
import pytest

from mupbook.abc import ABC, mup
from mupbook.studies import cancellation

WIDTHS = [2**k for k in range(6, 11)]


@pytest.fixture(scope="module")
def measured():
    return cancellation.measure_cancellation(WIDTHS, seeds=(0, 1))


def test_init_is_width_independent_and_correlation_buys_sqrt_n(measured):
    # 2 seeds x 5 widths: slope standard errors ~0.02-0.03, hence 0.1.
    assert measured.slopes["init"].slope == pytest.approx(0.0, abs=0.1)
    assert measured.slopes["update"].slope == pytest.approx(0.0, abs=0.1)
    assert measured.slopes["update_indep"].slope == pytest.approx(-0.5, abs=0.1)
    assert measured.slopes["ratio"].slope == pytest.approx(0.5, abs=0.1)
    cancellation.check_slopes(measured)


def test_update_is_rank_one_in_the_direction_of_the_input():
    # dW = -lr g x^T, so dW x = -lr g |x|^2 exactly: check the identity on one network.
    import torch

    from mupbook import runtime
    from mupbook.nn import AbcMLP

    gen = runtime.generator(0)
    net = AbcMLP(8, 64, 1, "mup", generator=gen, dtype=torch.float64)
    xi = torch.randn(1, 8, generator=gen, dtype=torch.float64)
    x, w, dw = cancellation.sgd_step_on_example(net, xi, 0.3)
    assert torch.linalg.matrix_rank(dw).item() == 1
    g = dw @ x / x.dot(x)
    assert torch.allclose(dw, torch.outer(g, x), atol=1e-14)


def test_breaking_the_init_scaling_fails_the_chapter_check():
    # Variance 1 instead of 1/n for the hidden weights (b_2 = 0): W x grows like sqrt(n).
    p = mup(2)
    broken = ABC(p.a, (p.b[0], 0, p.b[2]), p.c, "broken")
    result = cancellation.measure_cancellation(WIDTHS, seeds=(0,), param=broken)
    assert result.slopes["init"].slope == pytest.approx(0.5, abs=0.1)
    with pytest.raises(AssertionError, match="W x at init"):
        cancellation.check_slopes(result)


def noisy_sgd(monkeypatch):
    """Train every AbcMLP with its gradients replaced by Gaussian noise of the same size:
    a real network whose update is no longer built from its activations."""
    import torch

    from mupbook.nn import AbcMLP

    sgd = AbcMLP.sgd
    gen = torch.Generator().manual_seed(0)

    def noise_like(g):
        noise = torch.randn(g.shape, generator=gen, dtype=g.dtype)
        return noise * g.norm() / noise.norm()

    def broken(self, eta, **kwargs):
        for p in self.parameters():
            p.register_hook(noise_like)
        return sgd(self, eta, **kwargs)

    monkeypatch.setattr(AbcMLP, "sgd", broken)


def test_an_update_not_built_from_x_fails_the_chapter_check(monkeypatch):
    # Same networks, but the step follows noise of the gradient's size: dW x cancels like
    # dW x~, the ratio stays flat and the correlation claim fails (init is untouched).
    noisy_sgd(monkeypatch)
    result = cancellation.measure_cancellation(WIDTHS, seeds=(0, 1))
    assert result.slopes["ratio"].slope == pytest.approx(0.0, abs=0.1)
    with pytest.raises(AssertionError, match="correlated vs independent") as err:
        cancellation.check_slopes(result)
    assert "W x at init" not in str(err.value)


def test_update_size_follows_the_first_step_exponent_of_each_parametrization():
    # 2 seeds x 5 widths; standard errors ~0.02-0.04 with target 3, hence 0.1.
    results = [
        cancellation.measure_cancellation(WIDTHS, seeds=(0, 1), param=p)
        for p in ("mup", "ntp", "sp_c0")
    ]
    assert [cancellation.update_theory_slope(r) for r in results] == [0.0, -0.5, 0.5]
    cancellation.check_update_slopes(results)
    # the ratio is the same identity in all three: |x|^2 / |x . x~| does not see the abc
    assert np.allclose(results[1].series()["ratio"], results[0].series()["ratio"])


def test_a_learning_rate_off_by_sqrt_n_fails_every_update_claim(monkeypatch):
    from mupbook.nn import AbcMLP

    sgd = AbcMLP.sgd
    monkeypatch.setattr(
        AbcMLP, "sgd", lambda self, eta, **kw: sgd(self, eta * self.width**-0.5, **kw)
    )
    results = [
        cancellation.measure_cancellation(WIDTHS, seeds=(0,), param=p)
        for p in ("mup", "ntp")
    ]
    with pytest.raises(AssertionError, match="2 of 2 claims failed") as err:
        cancellation.check_update_slopes(results)
    assert "muP: coordinates of dW x" in str(err.value) and "NTP" in str(err.value)


def test_same_seeds_same_numbers():
    a = cancellation.measure_cancellation([64, 128], seeds=(5,))
    b = cancellation.measure_cancellation([64, 128], seeds=(5,))
    assert np.array_equal(a.init, b.init) and np.array_equal(
        a.update_indep, b.update_indep
    )


def test_diverged_step_is_reported_not_plotted():
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        cancellation.Cancellation(
            np.array([64, 128]),
            np.ones((1, 2)),
            np.array([[1.0, np.inf]]),
            np.ones((1, 2)),
            lr=1e30,
            param="mup",
        )


def test_a_small_correlation_defeats_square_root_cancellation():
    r = cancellation.inner_products([2**k for k in range(8, 14)], trials=64, rho=0.3)
    from mupbook.fit import loglog_slope

    assert loglog_slope(r["widths"], r["independent"]).slope > 0.9
    with pytest.raises(ValueError, match="rho"):
        cancellation.inner_products([64, 128], rho=1.5)


def test_inner_products_follow_sqrt_n_and_n():
    r = cancellation.inner_products([2**k for k in range(6, 13)], trials=256)
    from mupbook.fit import loglog_slope

    assert loglog_slope(r["widths"], r["independent"]).slope == pytest.approx(
        0.5, abs=0.05
    )
    assert loglog_slope(r["widths"], r["correlated"]).slope == pytest.approx(
        1.0, abs=0.05
    )


@pytest.mark.parametrize("widths", [[64], [64, 64], [64, 0], [64, 12.5]])
def test_bad_widths_are_refused(widths):
    with pytest.raises(ValueError):
        cancellation.measure_cancellation(widths)


def test_coordinates_have_one_entry_per_unit():
    c = cancellation.coordinates(128, lr=0.5)
    assert set(c) == {"W x (init)", "dW x (correlated)", "dW x~ (independent)"}
    assert all(v.shape == (128,) and np.all(np.isfinite(v)) for v in c.values())

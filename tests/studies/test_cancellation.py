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


def test_breaking_the_correlation_fails_the_chapter_check(measured):
    # If the update were independent of x, dW x would cancel like dW x~: ratio slope 0.
    fake = cancellation.Cancellation(
        measured.widths,
        measured.init,
        measured.update_indep,
        measured.update_indep,
        lr=1.0,
        param="fake",
    )
    with pytest.raises(AssertionError, match="correlated vs independent"):
        cancellation.check_slopes(fake)


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

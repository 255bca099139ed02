"""mupbook.fit: log-log slopes are exact on power laws and refuse bad data."""

import numpy as np
import pytest

from mupbook.fit import expect_slope, loglog_slope


@pytest.mark.parametrize("s", [-0.5, 0.0, 0.5, 1.0])
def test_slope_of_a_power_law_is_its_exponent(s):
    n = 2.0 ** np.arange(4, 12)
    fit = loglog_slope(n, 3.0 * n**s)
    assert fit.slope == pytest.approx(s, abs=1e-12)
    assert fit.stderr == pytest.approx(0.0, abs=1e-12)
    assert fit.predict(n) == pytest.approx(3.0 * n**s)


def test_stderr_reflects_noise():
    rng = np.random.default_rng(0)
    n = 2.0 ** np.arange(4, 12)
    fit = loglog_slope(n, n**0.5 * np.exp(rng.normal(0, 0.2, n.size)))
    assert 0.0 < fit.stderr < 0.1


@pytest.mark.parametrize(
    "x, y, msg",
    [
        ([1, 2], [1, np.nan], "non-finite"),
        ([1, 2], [1, -1], "positive"),
        ([1], [1], "two points"),
        ([2, 2], [1, 3], "distinct"),
        ([1, 2, 3], [1, 2], "same length"),
    ],
)
def test_bad_data_is_refused(x, y, msg):
    with pytest.raises(ValueError, match=msg):
        loglog_slope(x, y)


def test_expect_slope_passes_inside_and_fails_outside_the_tolerance():
    expect_slope(0.45, 0.5, 0.1)
    with pytest.raises(AssertionError, match="expected \\+0.500"):
        expect_slope(0.35, 0.5, 0.1)
    with pytest.raises(AssertionError):
        expect_slope(float("nan"), 0.5, 0.1)


def test_parabola_optimum_recovers_the_vertex_of_a_sampled_parabola():
    from mupbook.fit import parabola_optimum

    x = np.arange(-12, -4.9, 0.5)
    opt = parabola_optimum(x, 2.0 + 0.3 * (x + 7.8) ** 2)
    assert opt.x == pytest.approx(-7.8) and opt.y == pytest.approx(2.0)
    assert opt.index == int(np.argmin(np.abs(x + 7.8))) and not opt.at_edge


def test_parabola_optimum_stays_within_half_a_step_of_the_best_point():
    from mupbook.fit import parabola_optimum

    rng = np.random.default_rng(0)
    x = np.arange(10.0)
    for _ in range(200):
        y = rng.normal(size=10)
        opt = parabola_optimum(x, y)
        assert abs(opt.x - x[np.argmin(y)]) <= 0.5 + 1e-12
        assert opt.y <= y.min() + 1e-12


def test_parabola_optimum_ignores_diverged_points_and_flags_the_edge():
    from mupbook.fit import parabola_optimum

    x = np.arange(5.0)
    opt = parabola_optimum(x, [3.0, 2.0, 1.0, np.nan, np.nan])
    assert (opt.x, opt.index, opt.at_edge) == (2.0, 2, True)  # next to a divergence
    assert parabola_optimum(x, [0.0, 1, 2, 3, 4]).at_edge  # an end of the grid
    with pytest.raises(ValueError, match="every point diverged"):
        parabola_optimum(x, [np.nan] * 5)
    with pytest.raises(ValueError, match="evenly spaced"):
        parabola_optimum([0, 1, 3], [1, 0, 1])


def test_claims_report_every_broken_claim_at_once():
    from mupbook.fit import Claims

    n = 2.0 ** np.arange(4, 10)
    with pytest.raises(AssertionError) as err:
        with Claims() as claims:
            claims.expect_slope(loglog_slope(n, n**0.5), 0.5, 0.1, "holds")
            claims.expect_slope(loglog_slope(n, n**1.0), 0.5, 0.1, "too steep")
            claims.expect(1 < 2, "true claim")
            claims.expect(3 < 2, "false claim", detail=[3, 2])
    text = str(err.value)
    assert text.startswith("2 of 4 claims failed")
    assert "too steep: measured log-log slope +1.000" in text
    assert "false claim ([3, 2])" in text and "holds" not in text


def test_claims_that_all_hold_raise_nothing_and_errors_inside_pass_through():
    from mupbook.fit import Claims

    with Claims() as claims:
        claims.expect(True, "fine")
    assert claims.checked == 1 and not claims.failures
    with pytest.raises(KeyError):  # an error in the block is not hidden by the claims
        with Claims() as claims:
            claims.expect(False, "would fail")
            raise KeyError("x")


def test_expect_slope_without_a_fit_fails_as_a_claim():
    from mupbook.fit import Claims

    with pytest.raises(AssertionError, match="no slope was fitted"):
        expect_slope(None, 0.0, 0.1, "diverged everywhere")
    claims = Claims()
    claims.expect_slope(None, 0.0, 0.1, "diverged everywhere")
    assert claims.failures and claims.checked == 1

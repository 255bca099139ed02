"""Binomial intervals (mupbook.stats): the Wilson interval against scipy and its edges."""

import math

import pytest

from mupbook import stats


@pytest.mark.parametrize(
    "correct,total", [(0, 10), (5, 10), (26, 1086), (34, 1086), (9, 9)]
)
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_interval_matches_scipy(correct, total, confidence):
    scipy_stats = pytest.importorskip("scipy.stats")
    ref = scipy_stats.binomtest(correct, total).proportion_ci(
        confidence_level=confidence, method="wilson"
    )
    low, high = stats.wilson_interval(correct, total, confidence)
    assert low == pytest.approx(ref.low, abs=1e-12)
    assert high == pytest.approx(ref.high, abs=1e-12)


def test_no_correct_answer_gives_an_interval_from_zero_to_z2_over_n_plus_z2():
    z2 = 1.959963984540054**2
    low, high = stats.wilson_interval(0, 1000)
    assert low == 0.0
    assert high == pytest.approx(z2 / (1000 + z2), rel=1e-12)


def test_interval_contains_the_estimate_and_shrinks_like_one_over_sqrt_n():
    widths = []
    for total in (100, 10_000):
        low, high = stats.wilson_interval(total // 4, total)
        assert low < 0.25 < high
        widths.append(high - low)
    assert widths[0] / widths[1] == pytest.approx(math.sqrt(100), rel=0.02)


def test_proportion_orders_only_separated_intervals():
    ntk, w64, limit = (stats.Proportion(k, 1086) for k in (0, 26, 34))
    assert ntk.below(w64) and ntk.below(limit)
    assert not w64.below(limit)  # 26 and 34 of 1086 overlap at 95%
    assert str(w64) == "26/1086 = 2.4% (95%: 1.6 to 3.5%)"


@pytest.mark.parametrize(
    "args,match",
    [
        ((11, 10), "cannot exceed"),
        ((-1, 10), "correct"),
        ((0, 0), "total"),
        ((1.5, 10), "correct"),
        ((1, 10, 1.0), "confidence"),
        ((1, 10, True), "confidence"),
    ],
)
def test_impossible_counts_and_confidences_are_refused(args, match):
    with pytest.raises(ValueError, match=match):
        stats.wilson_interval(*args)

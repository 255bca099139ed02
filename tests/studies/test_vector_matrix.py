"""mupbook.studies.vector_matrix: the four sums scale as the vector-like / matrix-like table says."""

import numpy as np
import pytest

from mupbook.fit import loglog_slope
from mupbook.studies import vector_matrix as kinds

WIDTHS = [2**k for k in range(6, 12)]


@pytest.mark.parametrize("contracted", ["finite", "width"])
@pytest.mark.parametrize("phase", ["init", "update", "backprop"])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_contraction_slope_matches_the_table(contracted, phase, alpha):
    sizes = kinds.contraction_sizes(WIDTHS, contracted, phase, alpha, trials=16)
    fit = loglog_slope(WIDTHS, np.exp(np.log(sizes).mean(0)))
    # 16 trials: standard error ~0.01-0.02; 0.06 still separates values 1/2 apart.
    assert fit.slope == pytest.approx(
        kinds.theory_slope(contracted, phase, alpha), abs=0.06
    )


def test_a_vector_built_from_the_weights_adds_up_like_an_update():
    # The fifth sum: W at init times v = W^T g grows like n^(1 - alpha) over the width,
    # as an update does, not like n^(1/2 - alpha) as an independent v does.
    widths = [2**k for k in range(6, 12)]
    backprop, indep = (
        np.exp(np.log(kinds.contraction_sizes(widths, "width", p, 1.0)).mean(0))
        for p in ("backprop", "init")
    )
    # 16 trials each: the two slopes' errors (~0.01-0.03) add up; 0.1 still excludes 0.
    assert loglog_slope(widths, backprop / indep).slope == pytest.approx(0.5, abs=0.1)


def test_needed_alpha_makes_every_sum_flat():
    for (contracted, phase), alpha in kinds.NEEDED_ALPHA.items():
        assert kinds.theory_slope(contracted, phase, alpha) == 0


def test_adam_update_grows_like_width_in_sp_and_not_in_mup():
    sp = kinds.adam_update_sizes(WIDTHS, "sp", seeds=(0, 1))
    mu = kinds.adam_update_sizes(WIDTHS, "mup", seeds=(0, 1))
    assert sp.shape == (2, len(WIDTHS))
    assert loglog_slope(WIDTHS, np.exp(np.log(sp).mean(0))).slope == pytest.approx(
        1.0, abs=0.15
    )
    assert loglog_slope(WIDTHS, np.exp(np.log(mu).mean(0))).slope == pytest.approx(
        0.0, abs=0.15
    )


def test_same_seed_same_sizes():
    a = kinds.contraction_sizes([64, 128], "width", "init", 0.5, seed=3)
    b = kinds.contraction_sizes([64, 128], "width", "init", 0.5, seed=3)
    assert np.array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        (dict(contracted="both"), "contracted"),
        (dict(phase="later"), "phase"),
        (dict(alpha=float("nan")), "alpha"),
        (dict(widths=[64]), "at least 2 widths"),
    ],
)
def test_bad_arguments_are_refused(kwargs, msg):
    args = (
        dict(widths=[64, 128], contracted="width", phase="init", alpha=0.5) | kwargs
    )
    with pytest.raises(ValueError, match=msg):
        kinds.contraction_sizes(**args)

"""mupbook.studies.pi_limit: slope intervals, explorer frames, growth."""

import numpy as np
import pytest

from mupbook.studies import pi_limit as S


def test_slope_interval_recovers_a_known_exponent_and_covers_it():
    rng = np.random.default_rng(0)
    w = np.array([64, 128, 256, 512, 1024])
    gaps = 3.0 * w**-0.5 * np.exp(0.05 * rng.normal(size=(8, 5)))
    fit = S.slope_interval(w, gaps)
    assert abs(fit.slope + 0.5) < 0.05 and fit.low < -0.5 < fit.high
    flat = S.slope_interval(w, np.exp(0.05 * rng.normal(size=(8, 5))))
    assert flat.low < 0 < flat.high  # no decay: the interval holds 0


def test_explorer_frames_hold_every_rank_width_and_step():
    fr = S.explorer_frames(
        rs=(4, 8), widths=(32, 64), steps=2, setup=S.Setup(d=6, r=4)
    )
    assert fr.rs == (4, 8) and fr.widths == (32, 64)
    assert fr.infinite[4].shape == (3, 16, 3) and len(fr.finite[8]) == 2
    assert fr.rows[8][-1].tolist() == [
        8 + 2 * 8,
        8 + 2 * 8,
    ]  # Gaussian readout: r rows
    assert fr.gap(4, 2).shape == (2,) and (fr.gap(4, 0) > 0).all()


def test_growth_records_rows_and_times_of_every_step():
    g = S.growth(3, setup=S.Setup(r=5, batch=2))
    assert g.rows.tolist() == [[5, 0], [7, 2], [9, 4], [11, 6]]
    assert g.seconds.shape == (3,) and (g.seconds > 0).all()


def test_convergence_refuses_unsorted_widths():
    with pytest.raises(ValueError, match="increasing"):
        S.convergence([64, 32], [0])

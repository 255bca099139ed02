"""mupbook.movement: features move Theta(1) in muP and like n^-1/2 in NTP."""

import numpy as np
import pytest

from mupbook import movement

WIDTHS = [2**k for k in range(6, 11)]


@pytest.mark.parametrize("param, slope", [("ntp", -0.5), ("mup", 0.0)])
def test_feature_movement_slope_matches_r(param, slope):
    # 2 seeds x 5 widths; standard error of the NTP slope ~0.05: tolerance 0.15.
    m = movement.feature_movement(param, WIDTHS, steps=5, lr=2.0, seeds=(0, 1), progress=False)
    assert not m.diverged.any()
    assert m.slope.slope == pytest.approx(slope, abs=0.15)
    assert np.all(m.loss[..., -1] < m.loss[..., 0])  # it trains


def test_divergence_is_marked_not_hidden():
    m = movement.feature_movement("mup", [64, 128], steps=10, lr=1e3, seeds=(0,), progress=False)
    assert m.diverged.all() and np.isnan(m.rel_change).all() and m.slope is None


def test_teacher_task_is_deterministic_and_shaped():
    x1, y1 = movement.teacher_task(8, 3, seed=4)
    x2, y2 = movement.teacher_task(8, 3, seed=4)
    assert x1.shape == (8, 3) and y1.shape == (8, 1)
    assert np.array_equal(x1.numpy(), x2.numpy()) and np.array_equal(y1.numpy(), y2.numpy())


@pytest.mark.parametrize("kwargs, msg", [(dict(steps=0), "steps"), (dict(seeds=()), "seeds"),
                                         (dict(widths=[64]), "two distinct")])
def test_bad_arguments_are_refused(kwargs, msg):
    args = dict(param="mup", widths=[64, 128]) | kwargs
    with pytest.raises(ValueError, match=msg):
        movement.feature_movement(**args, progress=False)

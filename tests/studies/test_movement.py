"""mupbook.studies.movement: features move Theta(1) in muP and like n^-1/2 in NTP; kernels
like n^-1 in NTP."""

import numpy as np
import pytest

from mupbook.studies import movement

WIDTHS = [2**k for k in range(6, 11)]


@pytest.mark.parametrize("param, slope", [("ntp", -0.5), ("mup", 0.0)])
def test_feature_movement_slope_matches_r(param, slope):
    # 2 seeds x 5 widths; standard error of the NTP slope ~0.05: tolerance 0.15.
    m = movement.feature_movement(
        param, WIDTHS, steps=5, lr=2.0, seeds=(0, 1), progress=False
    )
    assert not m.diverged.any()
    assert m.slope.slope == pytest.approx(slope, abs=0.15)
    assert np.all(m.loss[..., -1] < m.loss[..., 0])  # it trains


def test_divergence_is_marked_not_hidden():
    m = movement.feature_movement(
        "mup", [64, 128], steps=10, lr=1e3, seeds=(0,), progress=False
    )
    assert m.diverged.all() and np.isnan(m.rel_change).all() and m.slope is None


def test_teacher_task_is_deterministic_and_shaped():
    x1, y1 = movement.teacher_task(8, 3, seed=4)
    x2, y2 = movement.teacher_task(8, 3, seed=4)
    assert x1.shape == (8, 3) and y1.shape == (8, 1)
    assert np.array_equal(x1.numpy(), x2.numpy()) and np.array_equal(
        y1.numpy(), y2.numpy()
    )


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        (dict(steps=0), "steps"),
        (dict(seeds=()), "seeds"),
        (dict(widths=[64]), "at least 2 widths"),
    ],
)
def test_bad_arguments_are_refused(kwargs, msg):
    args = dict(param="mup", widths=[64, 128]) | kwargs
    with pytest.raises(ValueError, match=msg):
        movement.feature_movement(**args, progress=False)


def test_ntp_features_move_like_inverse_sqrt_width_and_mup_features_do_not():
    ws = [64, 128, 256, 512]
    ntp = movement.kernel_movement(
        "ntp", ws, steps=5, lr=2.0, seeds=range(3), n_train=16, d_in=8, device="cpu"
    )
    mup = movement.kernel_movement(
        "mup", ws, steps=5, lr=2.0, seeds=range(3), n_train=16, d_in=8, device="cpu"
    )
    assert abs(ntp.slopes["features"].slope + 0.5) < 0.2, ntp.slopes
    for k in ("ntk", "feature_kernel"):
        assert ntp.slopes[k].slope < -0.6, (k, ntp.slopes[k])  # kernels: ~ n^-1
    for k in mup.QUANTITIES:
        assert abs(mup.slopes[k].slope) < 0.2, (k, mup.slopes[k])
    assert (mup.mean("feature_kernel") > 10 * ntp.mean("feature_kernel")).all()


def test_kernel_movement_reports_a_diverged_run_as_an_error():
    with pytest.raises(ValueError, match="diverged"):
        movement.kernel_movement(
            "mup", [32, 64], steps=5, lr=1e4, seeds=[0], device="cpu"
        )


def test_kernel_movement_refuses_bad_set_ups():
    with pytest.raises(ValueError, match="lr"):
        movement.kernel_movement("ntp", [8, 16], lr=-1.0)
    with pytest.raises(ValueError, match="steps"):
        movement.kernel_movement("ntp", [8, 16], steps=0)
    with pytest.raises(ValueError, match="unknown set-up field"):
        movement.kernel_movement("ntp", [8, 16], stepz=3)


def test_one_teacher_set_up_drives_every_study():
    setup = movement.Teacher(steps=3, lr=1.0, seeds=range(2), n_train=8, d_in=4)
    assert setup.seeds == (0, 1)
    a = movement.feature_movement("mup", [16, 32], setup, progress=False)
    b = movement.feature_movement(
        "mup",
        [16, 32],
        steps=3,
        lr=1.0,
        seeds=(0, 1),
        n_train=8,
        d_in=4,
        progress=False,
    )
    assert np.array_equal(a.rel_change, b.rel_change) and a.steps == 3
    with pytest.raises(ValueError, match="distinct"):
        movement.Teacher(seeds=(1, 1))

"""mupbook.studies.nonlinear_limit: finite networks beside the muP and NTK limits."""

import numpy as np
import pytest
import torch

from mupbook.empirical import empirical_ntk
from mupbook.kernels import mlp_kernels
from mupbook.limits import one_hidden as oh
from mupbook.nn import nt_mlp
from mupbook.predict import ntk_gd_predict
from mupbook.runtime import generator
from mupbook.studies import nonlinear_limit as nl


def _synthetic(slope: float, seeds: int = 40, seed: int = 0) -> nl.WidthSweep:
    # outputs = reference + n^slope * (one Gaussian per seed and width, times a fixed shape)
    rng = np.random.default_rng(seed)
    widths = np.array([64, 256, 1024, 4096])
    shape = np.linspace(-1, 1, 9)
    noise = rng.normal(size=(seeds, widths.size, 1)) * shape
    ref = np.sin(shape)
    outputs = ref + widths[None, :, None] ** slope * noise
    return nl.WidthSweep(
        widths, tuple(range(seeds)), outputs, ref, np.ones((seeds, 4))
    )


def test_width_sweep_statistics_recover_a_known_rate():
    sweep = _synthetic(-0.5)
    assert sweep.gaps().shape == (40, 4)
    assert sweep.slope("rms_gap").slope == pytest.approx(-0.5, abs=0.1)
    assert sweep.slope("variance").slope == pytest.approx(-1.0, abs=0.2)
    se = sweep.bootstrap_se("rms_gap")
    assert 0 < se < 0.1 and se == sweep.bootstrap_se("rms_gap")  # seeded
    # the seed-averaged output's gap is smaller than the gaps themselves
    assert (sweep.mean_gap() < sweep.rms_gap()).all()
    with pytest.raises(ValueError, match="stat"):
        sweep.slope("median")


def test_bootstrap_error_shrinks_with_more_seeds():
    few, many = _synthetic(-0.5, seeds=8), _synthetic(-0.5, seeds=128)
    assert many.bootstrap_se("rms_gap") < 0.6 * few.bootstrap_se("rms_gap")


def test_tasks_are_seeded_and_the_ridge_target_depends_on_one_direction():
    a, b = nl.ridge_task(16, 3), nl.ridge_task(16, 3)
    assert torch.equal(a.x_train, b.x_train) and a.x_train.shape == (16, 2)
    assert not torch.equal(a.x_train, nl.ridge_task(16, 4).x_train)
    assert torch.equal(a.x_test, nl.ridge_task(16, 4).x_test)  # one test set
    assert torch.equal(a.y_train, torch.tanh(5 * a.x_train[:, :1]))
    s = nl.sine_task()
    assert s.x_train.shape == (8, 1) and s.x_test.shape == (41, 1)
    assert nl.network_seed(0, 64) != nl.network_seed(1, 64) != nl.network_seed(0, 128)


def test_ntk_prediction_is_the_gradient_descent_predictor_of_the_ntp_networks_kernel():
    task = nl.sine_task()
    tr = oh.Training(50, nl.ntk_lr(task, 1.0, 0.5))
    k = mlp_kernels(task.x_train, depth=1, activation="erf", w_std=1.0, b_std=1.0).ntk
    kt = mlp_kernels(
        task.x_test, task.x_train, depth=1, activation="erf", w_std=1.0, b_std=1.0
    ).ntk
    assert torch.equal(
        nl.ntk_prediction(task, tr, 1.0),
        ntk_gd_predict(k, kt, task.y_train, 50, tr.lr),
    )
    assert tr.lr * torch.linalg.eigvalsh(
        k
    ).max() / task.y_train.numel() == pytest.approx(1.0)
    # the networks ntp_sweep trains have this kernel: empirical NTK of nt_mlp, erf,
    # b_std 1, averaged over 4 networks of width 4096, within 3% of the exact one
    emp = (
        sum(
            empirical_ntk(
                nt_mlp(
                    1,
                    4096,
                    1,
                    depth=1,
                    activation="erf",
                    b_std=1.0,
                    generator=generator(s),
                ),
                task.x_train,
            )
            for s in range(4)
        )
        / 4
    )
    assert ((emp - k).norm() / k.norm()).item() < 0.03


def test_ntp_pairs_approach_the_ntk_and_their_features_stop_moving():
    task = nl.sine_task()
    tr = oh.Training(30, nl.ntk_lr(task, 1.0, 0.5))
    ref = nl.ntk_prediction(task, tr, 1.0)
    sweep = nl.ntp_sweep(task, [64, 4096], range(4), tr, ref, sigma_b=1.0)
    assert sweep.outputs.shape == (4, 2, 41)
    assert sweep.rms_gap()[1] < 0.4 * sweep.rms_gap()[0]
    assert sweep.movement.mean(0)[1] < 0.3 * sweep.movement.mean(0)[0]


def test_mup_networks_approach_the_limit_and_their_features_keep_moving():
    task = nl.sine_task()
    tr = oh.Training(30, 1.0)
    est = oh.limit_estimate(
        task.x_train, task.y_train, task.x_test, tr, sigma_b=1.0, size=2**12
    )
    sweep = nl.mup_sweep(task, [64, 4096], range(4), tr, est.value, sigma_b=1.0)
    assert sweep.rms_gap()[1] < 0.4 * sweep.rms_gap()[0]
    assert sweep.movement.mean(0)[1] > 0.5 * sweep.movement.mean(0)[0] > 0.1


def test_limit_moves_its_features_and_an_untrained_copy_does_not():
    task = nl.sine_task()
    before, after = nl.trained_limit(
        task, oh.Training(20, 1.0), sigma_b=1.0, size=2**10
    )
    assert nl.node_movement(before, before.copy(), task.x_train) == 0
    assert nl.node_movement(before, after, task.x_train) > 0.2
    assert after.steps_done == 20 and before.steps_done == 0


def test_compare_limits_reports_the_ntk_at_its_best():
    task = nl.ridge_task(8, 0, n_test=50)
    c, est = nl.compare_limits(
        task,
        oh.Training(20, 1.0),
        sigma_b=1.0,
        size=2**8,
        replicas=2,
        ntk_steps=(10, 100),
    )
    assert c.ntk_steps == (10, 100) and c.ntk_mse.shape == (2,)
    assert c.ntk_best == min(c.ntk_mse.min(), c.ntk_mse_infinite)
    assert c.mup_mse >= 0 and c.paired_se > 0 and len(est.limits) == 2


def test_gauss_hermite_study_measures_each_rule_early_and_late():
    task = nl.sine_task()
    tr = oh.Training(10, 1.0)
    est = oh.limit_estimate(
        task.x_train, task.y_train, task.x_test, tr, sigma_b=1.0, size=2**12
    )
    gh = nl.gauss_hermite_study(
        task, tr, est.value, sigma_b=1.0, sizes=(4, 16), early=1, reference_size=24
    )
    assert (
        gh.errors.shape == (2, 2) and gh.nodes == (64, 4096) and gh.steps == (1, 10)
    )
    assert gh.errors[1, 0] < 0.1 * gh.errors[0, 0]  # finer is better after one step


def test_weight_moments_start_at_one_over_d_and_spread_along_the_target():
    task = nl.ridge_task(16, 0, n_test=10)
    before, after = nl.trained_limit(
        task, oh.Training(100, 1.0), sigma_b=1.0, size=2**10
    )
    assert np.allclose(nl.weight_moments(before), 0.5, atol=0.01)
    m = nl.weight_moments(after)
    assert m[0] > 3 * m[1]  # the target depends on x_1 only

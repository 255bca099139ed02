"""mupbook.studies.kernel_regression: kernel predictors beside trained finite networks."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from mupbook.kernels import mlp_kernels
from mupbook.predict import ntk_gd_predict, ntk_predict
from mupbook.studies import kernel_regression as kr

F64 = torch.float64


def _rand(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(
        *shape, dtype=F64, generator=torch.Generator().manual_seed(seed)
    )


def _toy_task(n_train=24, n_test=12, d=6, classes=3, seed=0) -> kr.Task:
    """Gaussian blobs around 3 centres: a small classification task."""
    centres = 2 * _rand(seed, classes, d)
    lab_tr = torch.arange(n_train) % classes
    lab_te = torch.arange(n_test) % classes
    xtr = centres[lab_tr] + _rand(seed + 1, n_train, d)
    xte = centres[lab_te] + _rand(seed + 2, n_test, d)
    return kr.Task(
        kr.standardize(xtr),
        kr.one_hot(lab_tr, classes),
        kr.standardize(xte),
        kr.one_hot(lab_te, classes),
        lab_tr,
        lab_te,
    )


# ----------------------------------------------------------------------------- data


def test_centred_one_hot_rows_sum_to_zero_and_argmax_is_the_label():
    labels = torch.tensor([0, 2, 1, 2])
    y = kr.one_hot(labels, 3)
    assert y.dtype == F64 and y.shape == (4, 3)
    assert torch.allclose(y.sum(dim=1), torch.zeros(4, dtype=F64), atol=1e-15)
    assert torch.equal(y.argmax(dim=1), labels)
    assert torch.equal(
        kr.one_hot(labels, 3, centred=False).sum(dim=1), torch.ones(4, dtype=F64)
    )


def test_standardize_gives_unit_kernel_scale():
    x = kr.standardize(3 * _rand(0, 5, 20) + 7)
    assert torch.allclose(x.mean(dim=1), torch.zeros(5, dtype=F64), atol=1e-12)
    assert torch.allclose((x * x).sum(dim=1) / 20, torch.ones(5, dtype=F64))


@pytest.fixture(scope="module")
def omniglot():
    if not os.environ.get("MUPBOOK_DATA", "").strip():
        pytest.skip(
            "MUPBOOK_DATA is unset: this test needs the offline data folder (omniglot/)"
        )
    from mupbook.data.omniglot import load_omniglot

    return load_omniglot(flatten=True)


def test_omniglot_task_splits_five_characters_by_drawer(omniglot):
    task = kr.omniglot_task(omniglot, num_classes=5, train_drawers=15, seed=0)
    assert task.x_train.shape == (75, 784) and task.x_test.shape == (25, 784)
    assert task.y_train.shape == (75, 5) and task.y_test.shape == (25, 5)
    assert torch.equal(task.labels_train.bincount(), torch.full((5,), 15))
    assert torch.allclose((task.x_train**2).mean(dim=1), torch.ones(75, dtype=F64))


# ----------------------------------------------------------------------------- predictors


def test_ntk_gd_predict_equals_iterating_the_linearized_gradient_descent():
    x, xt, y = _rand(0, 8, 4), _rand(1, 5, 4), _rand(2, 8, 2)
    kdd = mlp_kernels(x, depth=2).ntk
    ktd = mlp_kernels(xt, x, depth=2).ntk
    lr, steps = 3.0, 37
    f_train, f_test = torch.zeros_like(y), torch.zeros(5, 2, dtype=F64)
    for _ in range(steps):  # gradient of mean((f - y)^2)/2 is (f - y) / (N K)
        resid = (f_train - y) / y.numel()
        f_train, f_test = f_train - lr * kdd @ resid, f_test - lr * ktd @ resid
    got = ntk_gd_predict(kdd, ktd, y, steps, lr)
    assert torch.allclose(got, f_test, rtol=1e-10, atol=1e-12)


def test_ntk_gd_predict_at_infinite_time_is_the_kernel_interpolant():
    x, xt, y = _rand(3, 8, 4), _rand(4, 5, 4), _rand(5, 8, 2)
    kdd, ktd = mlp_kernels(x, depth=1).ntk, mlp_kernels(xt, x, depth=1).ntk
    assert torch.allclose(
        ntk_gd_predict(kdd, ktd, y, None, 1.0), ntk_predict(kdd, ktd, y)
    )
    many = ntk_gd_predict(kdd, ktd, y, 200_000, 1.0)
    assert torch.allclose(many, ntk_predict(kdd, ktd, y), rtol=1e-6, atol=1e-8)


def test_ntk_gd_predict_refuses_a_diverging_learning_rate():
    x, y = _rand(6, 6, 3), _rand(7, 6, 1)
    k = mlp_kernels(x, depth=1).ntk
    lam = float(torch.linalg.eigvalsh(k).max())
    ntk_gd_predict(k, k, y, 10, 1.9 * 6 / lam)
    with pytest.raises(ValueError, match="diverge"):
        ntk_gd_predict(k, k, y, 10, 2.1 * 6 / lam)


def test_accuracy_and_mse():
    pred = torch.tensor([[1.0, 0.0], [0.2, 0.9], [0.7, 0.1]])
    assert kr.accuracy(pred, torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)
    assert kr.mse(pred, torch.zeros(3, 2)) == pytest.approx(float((pred**2).mean()))


# ----------------------------------------------------------------------------- networks


def test_a_centred_network_starts_at_zero_and_fits_the_training_targets():
    task = _toy_task()
    out = kr.train_network(
        task.x_train,
        task.y_train,
        task.x_test,
        width=256,
        steps=300,
        lr=5.0,
        seed=0,
        dtype=F64,
        device="cpu",
    )
    assert out.loss[-1] < 0.05 * out.loss[0]
    assert out.loss[0] == pytest.approx(
        0.5 * float((task.y_train**2).mean())
    )  # f - f_0 = 0
    assert out.test.shape == (12, 3) and out.train.shape == (24, 3)


def test_train_network_is_deterministic_given_the_seed():
    task = _toy_task()
    a = kr.train_network(
        task.x_train,
        task.y_train,
        task.x_test,
        width=32,
        steps=5,
        lr=1.0,
        seed=3,
        device="cpu",
    )
    b = kr.train_network(
        task.x_train,
        task.y_train,
        task.x_test,
        width=32,
        steps=5,
        lr=1.0,
        seed=3,
        device="cpu",
    )
    assert torch.equal(a.test, b.test)


def test_centred_networks_approach_the_ntk_prediction_like_inverse_sqrt_width():
    task = _toy_task()
    sweep = kr.width_sweep(
        task, [64, 128, 256, 512, 1024], steps=60, seeds=range(3), device="cpu"
    )
    assert abs(sweep.slope.slope + 0.5) < 0.2, sweep.slope
    assert sweep.mean_gap()[-1] < 0.5 * sweep.mean_gap()[0]
    assert set(sweep.kernel_accuracy) == {"nngp", "ntk", "ntk_steps"}


def test_networks_that_are_not_centred_keep_their_random_start_at_every_width(
    monkeypatch,
):
    # Without centring, f_0 (an NNGP draw of variance Theta(1)) stays in the predictions:
    # the gap to the NTK's ensemble mean does not shrink with width.
    import functools

    task = _toy_task()
    original = kr.train_network
    monkeypatch.setattr(
        kr, "train_network", functools.partial(original, centred=False)
    )
    sweep = kr.width_sweep(
        task, [64, 256, 1024], steps=60, seeds=range(2), device="cpu"
    )
    assert abs(sweep.slope.slope) < 0.15, sweep.slope
    out = original(
        task.x_train,
        task.y_train,
        task.x_test,
        width=64,
        steps=1,
        lr=1.0,
        centred=False,
        device="cpu",
    )
    assert out.loss[0] > 0.5 * float((task.y_train**2).mean())  # f_0 != 0


def test_width_sweep_rejects_bad_input():
    task = _toy_task()
    with pytest.raises(ValueError, match="at least 2 widths"):
        kr.width_sweep(task, [64], steps=5)
    with pytest.raises(ValueError, match="lr_fraction"):
        kr.width_sweep(task, [8, 16], steps=5, lr_fraction=2.5)
    with pytest.raises(ValueError, match="Task"):
        kr.width_sweep((task.x_train, task.y_train), [8, 16], steps=5)
    with pytest.raises(ValueError, match="steps"):
        kr.width_sweep(task, [8, 16], steps=0)


def test_training_that_diverges_is_an_error():
    task = _toy_task()
    with pytest.raises(ValueError, match="diverged"):
        kr.train_network(
            task.x_train,
            task.y_train,
            task.x_test,
            width=64,
            steps=50,
            lr=1e4,
            device="cpu",
        )


# ----------------------------------------------------------------------------- 1-D bands


def test_nngp_band_is_tight_at_the_data_and_widens_away_from_it():
    x = torch.tensor([-1.0, 0.0, 1.5], dtype=F64)
    y = torch.sin(x)
    at = kr.nngp_band(x, y, x, noise=1e-6)
    assert torch.allclose(at.mean, y, atol=1e-3)
    assert at.std.max() < 2e-3  # about sqrt(noise) = 1e-3
    far = kr.nngp_band(
        x, y, torch.tensor([2.0, 3.0, 5.0, 8.0], dtype=F64), noise=1e-6
    )
    assert (far.std.diff() > 0).all() and far.std[0] > 10 * at.std.max()


def test_nngp_band_is_the_gaussian_process_posterior_of_one_observation():
    x, y, t = (
        torch.tensor([0.5], dtype=F64),
        torch.tensor([0.3], dtype=F64),
        torch.tensor([2.0], dtype=F64),
    )
    band = kr.nngp_band(x, y, t, noise=0.01, w_std=1.2, b_std=0.7)
    pts = torch.tensor([[0.5], [2.0]], dtype=F64)
    k = mlp_kernels(pts, depth=2, w_std=1.2, b_std=0.7).nngp
    mean = k[1, 0] / (k[0, 0] + 0.01) * 0.3
    var = k[1, 1] - k[1, 0] ** 2 / (k[0, 0] + 0.01)
    assert float(band.mean[0]) == pytest.approx(float(mean), rel=1e-10)
    assert float(band.std[0]) == pytest.approx(float(var.sqrt()), rel=1e-10)


def test_bad_inputs_are_value_errors_with_a_message():
    x, y = _rand(0, 4, 3), _rand(1, 4, 2)
    with pytest.raises(ValueError, match="labels must lie"):
        kr.one_hot(torch.tensor([0, 3]), 3)
    with pytest.raises(ValueError, match="integer tensor"):
        kr.one_hot(torch.tensor([0.0, 1.0]), 3)
    with pytest.raises(ValueError, match="constant"):
        kr.standardize(torch.ones(2, 5))
    with pytest.raises(ValueError, match="one row per training input"):
        kr.train_network(x, y[:3], x, width=8, steps=1, lr=1.0)
    with pytest.raises(ValueError, match="same number of features"):
        kr.train_network(x, y, _rand(2, 2, 5), width=8, steps=1, lr=1.0)
    with pytest.raises(ValueError, match="lr"):
        kr.train_network(x, y, x, width=8, steps=1, lr=0.0)
    with pytest.raises(ValueError, match="shapes do not fit"):
        ntk_gd_predict(
            torch.eye(4, dtype=F64), torch.ones(2, 3, dtype=F64), y, 3, 1.0
        )
    with pytest.raises(ValueError, match="1-D inputs"):
        kr.nngp_band(x, y[:, 0], x)
    with pytest.raises(ValueError, match="entries"):
        kr.nngp_band(x[:, 0], y[:3, 0], x[:, 0])
    with pytest.raises(ValueError, match="noise"):
        kr.nngp_band(x[:, 0], y[:, 0], x[:, 0], noise=-1.0)
    with pytest.raises(ValueError, match="shape"):
        kr.accuracy(y, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="torch.Tensor"):
        kr.mse(np.zeros((2, 2)), y[:2])

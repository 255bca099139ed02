"""mupbook.viz.kernels: chapter 2's figures draw what they claim, the explorer redraws."""

import matplotlib

matplotlib.use("Agg")

import math

import numpy as np
import pytest
import torch

from mupbook.kernels import mlp_kernels
from mupbook.studies import kernel_regression, movement
from mupbook.viz import explorers
from mupbook.viz import kernels as kernel_viz


def test_circle_inputs_have_unit_kernel_scale_and_cosine_overlap():
    theta, x = kernel_viz.circle_inputs(9)
    assert x.shape == (9, 2) and theta[0] == pytest.approx(-math.pi)
    assert torch.allclose((x * x).sum(1) / 2, torch.ones(9, dtype=torch.float64))
    x0 = x[4]
    assert np.allclose((x @ x0).numpy() / 2, np.cos(theta))


def test_kernel_slice_draws_the_exact_kernel_through_the_empirical_ones():
    fig = kernel_viz.plot_kernel_slice(
        width=32, depth=1, activation="erf", seeds=(0, 1), num=11
    )
    assert len(fig.axes) == 2
    for ax, which in zip(fig.axes, ("nngp", "ntk")):
        lines = ax.get_lines()
        assert len(lines) == 3  # two networks and the exact kernel (last)
        theta, x = kernel_viz.circle_inputs(11)
        exact = getattr(mlp_kernels(x[5:6], x, depth=1, activation="erf"), which)[
            0
        ].numpy()
        assert np.allclose(lines[-1].get_ydata(), exact)


def test_kernel_slice_refuses_an_activation_without_exact_kernels():
    with pytest.raises(ValueError, match="activation"):
        kernel_viz.plot_kernel_slice(width=16, activation="tanh")
    with pytest.raises(ValueError, match="width"):
        kernel_viz.plot_kernel_slice(width=0)


def test_kernel_explorer_redraws_when_a_control_moves(monkeypatch):
    calls = []
    real = kernel_viz.plot_kernel_slice

    def spy(width, depth, activation, *, w_std, b_std):
        calls.append((width, depth, activation, w_std, b_std))
        return real(
            width, depth, activation, seeds=(0,), num=7, w_std=w_std, b_std=b_std
        )

    monkeypatch.setattr(kernel_viz, "plot_kernel_slice", spy)
    box = explorers.kernel_explorer(max_log2_width=8)
    width, depth, activation = box.children[0].children
    w_std, b_std = box.children[1].children
    width.value = 5
    depth.value = 1
    activation.value = "linear"
    w_std.value = 1.5
    b_std.value = 0.5
    assert calls == [
        (64, 2, "relu", 1.0, 0.0),
        (32, 2, "relu", 1.0, 0.0),
        (32, 1, "relu", 1.0, 0.0),
        (32, 1, "linear", 1.0, 0.0),
        (32, 1, "linear", 1.5, 0.0),
        (32, 1, "linear", 1.5, 0.5),
    ]
    with pytest.raises(ValueError, match="max_log2_width"):
        explorers.kernel_explorer(max_log2_width=30)


def test_movement_and_regression_and_band_figures_draw():
    moves = {
        p: movement.kernel_movement(
            p, [16, 32], steps=2, lr=0.5, seeds=[0], n_train=8, d_in=4, device="cpu"
        )
        for p in ("ntp", "mup")
    }
    fig, slopes = kernel_viz.plot_movement(moves)
    assert len(fig.axes) == 2 and set(slopes["ntp"]) == {
        "features",
        "feature kernel",
        "NTK",
    }

    g = torch.Generator().manual_seed(0)
    x = kernel_regression.standardize(
        torch.randn(12, 5, dtype=torch.float64, generator=g)
    )
    labels = torch.arange(12) % 2
    y = kernel_regression.one_hot(labels, 2)
    task = kernel_regression.Task(x[:8], y[:8], x[8:], y[8:], labels[:8], labels[8:])
    sweep = kernel_regression.width_sweep(task, [16, 32], steps=3, device="cpu")
    assert len(kernel_viz.plot_regression(sweep).axes) == 2

    xs = torch.tensor([-1.0, 1.0], dtype=torch.float64)
    grid = torch.linspace(-2, 2, 9, dtype=torch.float64)
    band = kernel_regression.nngp_band(xs, xs, grid)
    ax = kernel_viz.plot_band(xs, xs, grid, band, truth=grid).axes[0]
    assert ax.collections  # the band

"""mupbook.viz.nonlinear_limit: the chapter's figures draw what they claim, and its explorer
redraws at the chosen width."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from mupbook.limits import one_hidden as oh
from mupbook.studies import nonlinear_limit as nl
from mupbook.studies import zdot
from mupbook.viz import explorers
from mupbook.viz import nonlinear_limit as limit_viz

TASK = nl.sine_task(n_test=11)
TR = oh.Training(5, 1.0)


@pytest.fixture(scope="module")
def trained():
    before, after = nl.trained_limit(TASK, TR, sigma_b=1.0, size=2**8)
    return before, after, after(TASK.x_test), nl.ntk_prediction(TASK, TR, 1.0)


def test_functions_figure_draws_target_curves_and_points(trained):
    _, _, out, ntk = trained
    fig = limit_viz.plot_functions(TASK, {"limit": out, "ntk": ntk}, title="t")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4  # target, two curves, training points
    assert np.allclose(lines[1].get_ydata(), out[:, 0].numpy())


def test_convergence_figure_has_gaps_and_variance_panels():
    rng = np.random.default_rng(0)
    widths = np.array([64, 256, 1024])
    out = 0.1 * rng.normal(size=(3, 3, 5)) / np.sqrt(widths)[None, :, None]
    sweep = nl.WidthSweep(widths, (0, 1, 2), out, np.zeros(5), np.ones((3, 3)))
    fig = limit_viz.plot_convergence(sweep, sweep, 1e-5)
    assert len(fig.axes) == 2
    assert "slope" in " ".join(
        t.get_text() for t in fig.axes[1].get_legend().get_texts()
    )


def test_gauss_hermite_and_density_figures(trained):
    before, after, _, _ = trained
    gh = nl.GaussHermite(
        (4, 8), (1, 5), np.array([[1e-2, 2e-2], [1e-4, 1e-2]]), (64, 512)
    )
    fig = limit_viz.plot_gauss_hermite(gh, 1e-4, 4096)
    assert len(fig.axes[0].get_lines()) == 3
    fig = limit_viz.plot_preactivations(before, after, TASK.x_train[:1])
    assert len(fig.axes[0].patches) == 2  # two step histograms


def test_weight_plane_shows_two_dimensional_inputs_only(trained):
    before, after, _, _ = trained
    with pytest.raises(ValueError, match="two input dimensions"):
        limit_viz.plot_weight_plane(before, after)
    task = nl.ridge_task(6, 0, n_test=5)
    b2, a2 = nl.trained_limit(task, TR, sigma_b=1.0, size=2**8)
    assert len(limit_viz.plot_weight_plane(b2, a2).axes) == 2


def test_zdot_figure_draws_fitted_and_predicted_slopes():
    v, z = zdot.wwt_vectors(256, 0)
    fig = limit_viz.plot_zdot(
        {"wwt": (v.numpy(), z.numpy(), zdot.regress(z, v), 1.0)}
    )
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("fitted" in t for t in labels) and any(
        "predicted 1.000" in t for t in labels
    )


def test_limit_explorer_redraws_at_the_chosen_width(trained):
    _, after, out, ntk = trained
    box = explorers.limit_explorer(TASK, after, out, ntk, TR, max_log2_width=8)
    assert "width 64" in box.drawn.axes[0].get_title()
    box.controls["log2_width"].value = 5
    assert "width 32" in box.drawn.axes[0].get_title()
    with pytest.raises(ValueError, match="max_log2_width"):
        explorers.limit_explorer(TASK, after, out, ntk, TR, max_log2_width=30)
    assert isinstance(out, torch.Tensor)

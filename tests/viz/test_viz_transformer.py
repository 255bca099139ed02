"""mupbook.viz.transformer and the GPT explorer: figures of the chapter "muP for
Transformers" draw what they say (optima starred, divergences crossed)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from mupbook import runtime
from mupbook.data import chars
from mupbook.experiments import mutransfer_gpt as mg
from mupbook.studies.attention import dot_product_sizes
from mupbook.viz import explorers
from mupbook.viz import transformer as tv


def sweep(param, centers, diverged_at=None):
    grid = np.arange(-10, -4.9, 0.5)
    loss = np.stack(
        [[2.0 - 0.1 * j + 0.05 * (grid - c) ** 2 for j, c in enumerate(centers)]] * 2
    )
    div = np.zeros(loss.shape, bool)
    if diverged_at is not None:
        div[:, :, diverged_at:] = True
    return mg.Sweep(
        param,
        np.array([64, 128, 256]),
        grid,
        (0, 1),
        loss,
        div,
        np.zeros(loss.shape + (2,)),
        np.arange(2),
        chars.VOCAB,
    )


def test_dot_products_cancel_when_independent_and_add_up_when_correlated():
    dims = [16, 64, 256, 1024]
    free, tied = dot_product_sizes(dims, 0.0), dot_product_sizes(dims, 0.3)
    slope = lambda y: np.polyfit(np.log(dims), np.log(y), 1)[0]  # noqa: E731
    assert slope(free) == pytest.approx(0.5, abs=0.05)
    assert slope(tied) == pytest.approx(1.0, abs=0.05)
    assert isinstance(tv.plot_dot_products(dims), Figure)


def test_sweep_figure_stars_each_optimum_and_crosses_divergences():
    fig = tv.plot_gpt_sweep(
        {
            "sp": sweep("sp", [-6, -7, -8], diverged_at=9),
            "mup": sweep("mup", [-6] * 3),
        }
    )
    ax_sp, ax_mu = fig.axes[:2]
    stars = [
        ln for ln in ax_mu.lines if ln.get_marker() == "*" and len(ln.get_xdata())
    ]
    assert sorted(float(s.get_xdata()[0]) for s in stars) == pytest.approx([-6] * 3)
    assert any(ln.get_marker() == "x" for ln in ax_sp.lines)
    assert "moves 0.00" in ax_mu.get_title() and "SP" in ax_sp.get_title()
    assert isinstance(tv.plot_optima({"sp": sweep("sp", [-6, -7, -8])}), Figure)


def test_training_curves_mark_where_a_run_diverged():
    fig = tv.plot_training_curves({"a": [3.0, 2.5, 2.0], "b": [3.0, np.nan, np.nan]})
    assert any(ln.get_marker() == "x" for ln in fig.axes[0].lines)


def test_gpt_explorer_trains_both_widths_and_redraws():
    ids = torch.randint(0, chars.VOCAB, (3000,), generator=runtime.generator(0))
    data = mg.Data(ids, ids[:32].view(1, 32), ids[1:33].view(1, 32), "random")
    box = explorers.gpt_explorer(data=data, steps=3)
    assert isinstance(box.drawn, Figure)
    labels = [t.get_text() for t in box.drawn.axes[0].get_legend().get_texts()]
    assert labels == ["width 64", "width 256"]
    box.controls["log2_width"].value = 7
    labels = [t.get_text() for t in box.drawn.axes[0].get_legend().get_texts()]
    assert labels == ["width 64", "width 128"]

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


def random_data():
    ids = torch.randint(0, chars.VOCAB, (3000,), generator=runtime.generator(0))
    return mg.Data(ids, ids[:32].view(1, 32), ids[1:33].view(1, 32), "random")


def legend(fig):
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_gpt_explorer_trains_both_widths_and_redraws():
    box = explorers.gpt_explorer(data=random_data(), steps=3)
    assert isinstance(box.drawn, Figure)
    assert legend(box.drawn) == ["width 64", "width 256"]
    assert "trained live" in box.drawn.axes[0].get_title()
    box.controls["log2_width"].value = 7
    assert legend(box.drawn) == ["width 64", "width 128"]


def recorded_sweeps():
    out = {p: sweep(p, [-7.0] * 3) for p in ("sp", "mup")}
    for s in out.values():
        s.curves = np.random.default_rng(0).uniform(2, 3, s.val_loss.shape + (4,))
        s.curve_steps = np.array([0, 10, 20, 29])
    return out


def test_gpt_explorer_draws_a_recorded_setting_without_training(monkeypatch):
    recorded = recorded_sweeps()

    def no_training(*args, **kwargs):
        raise AssertionError("a recorded setting was trained")

    monkeypatch.setattr(mg, "training_curve", no_training)
    monkeypatch.setattr(mg, "load_data", no_training)
    box = explorers.gpt_explorer(recorded)
    left, right = box.drawn.axes[:2]
    assert legend(box.drawn) == ["width 64", "width 256"]
    assert "from the sweep (mean of 2 seeds)" in left.get_title()
    np.testing.assert_allclose(
        left.lines[1].get_ydata(), recorded["sp"].curve(256, -7.0)
    )
    assert any(list(ln.get_xdata()) == [-7.0, -7.0] for ln in right.lines)  # marked
    box.controls["param"].value = "mup"
    assert "μP" in box.drawn.axes[0].get_title()


def test_gpt_explorer_trains_live_off_the_recorded_grid():
    box = explorers.gpt_explorer(recorded_sweeps(), data=random_data(), steps=3)
    box.controls["log2_width"].value = 9  # width 512 was not recorded
    assert "trained live" in box.drawn.axes[0].get_title()
    assert legend(box.drawn) == ["width 64", "width 512"]
    assert len(box.drawn.axes) == 2  # the recorded sweep beside it


def test_gpt_explorer_in_the_book_shows_only_recorded_settings(monkeypatch):
    monkeypatch.setenv("MUPBOOK_STATIC_EXPLORERS", "1")
    monkeypatch.setattr(mg, "training_curve", None)  # any training would fail
    out = explorers.gpt_explorer(recorded_sweeps())
    # 2 parametrizations x widths 64, 128, 256 x learning rates 2^-10 .. 2^-5
    assert len(out.index) == 2 * 3 * 6


@pytest.mark.parametrize("diverged, off_scale", [(False, False), (True, True)])
def test_sweep_legend_lists_the_optimum_and_only_the_marks_a_panel_has(
    diverged, off_scale
):
    import matplotlib.pyplot as plt

    from mupbook.viz.mutransfer import mark_diverged, mark_optimum, sweep_legend

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 2], label="n = 64")
    mark_optimum(ax, 0.5, 1.5, "C0")
    mark_diverged(ax, np.array([1.0]) if diverged else np.array([]), 0, "C0")
    sweep_legend(ax, "optimum (parabola)", diverged, off_scale)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    want = ["n = 64", "optimum (parabola)"]
    want += ["diverged"] * diverged + ["off scale"] * off_scale
    assert labels == want
    assert len(ax.lines) == 2 + diverged  # line, star, and the crosses if any
    plt.close(fig)

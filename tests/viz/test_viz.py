"""mupbook.viz: sweeps mark diverged and zero values instead of plotting them."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from mupbook import viz


def test_loglog_sweep_fits_and_marks_bad_points():
    fig, axes = viz.figure()
    w = np.array([64, 128, 256, 512])
    vals = np.array([[1.0, 2.0, np.nan, 4.0], [1.0, 2.0, 3.0, 0.0]])
    slopes = viz.loglog_sweep(
        axes[0, 0], w, {"a": vals, "b": 2.0 * w**0.5}, theory={"b": 0.5}
    )
    assert slopes["b"] == pytest.approx(0.5)
    labels = [t.get_text() for t in axes[0, 0].get_legend().get_texts()]
    assert "a: diverged" in labels and "a: is 0" in labels
    fig.canvas.draw()  # the marks sit at the axes' edge: the figure keeps its size
    assert tuple(fig.get_size_inches()) == pytest.approx((4.6, 3.6))


def test_loglog_sweep_refuses_mismatched_lengths():
    fig, axes = viz.figure()
    with pytest.raises(ValueError, match="values for"):
        viz.loglog_sweep(axes[0, 0], [1, 2, 3], {"a": [1.0, 2.0]})


def test_phase_diagram_draws_regimes_and_marks():
    from mupbook import abc

    a, c = np.arange(0, 1.01, 0.25), np.arange(-1, 0.01, 0.25)
    fig, axes = viz.figure()
    viz.phase_diagram(
        axes[0, 0],
        a,
        c,
        abc.regime_map(abc.ABC((0, 0), (0, 0), 0), a, c),
        {"NTP": (0.5, 0)},
    )
    assert axes[0, 0].images and any(t.get_text() == "NTP" for t in axes[0, 0].texts)


def test_update_figure_draws_each_parametrization_with_its_theory_slope():
    from mupbook.studies import cancellation
    from mupbook.viz.cancellation import plot_updates

    results = [
        cancellation.measure_cancellation([64, 128, 256], seeds=(0,), param=p)
        for p in ("mup", "ntp")
    ]
    fig, slopes = plot_updates(results)
    assert set(slopes) == {"muP", "NTP"} and len(fig.axes) == 2
    assert slopes["NTP"] == pytest.approx(results[1].slopes["update"].slope)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(label.startswith("NTP: slope") for label in labels)


def _w2v_doc():
    models = {}
    for w in (64, 256, 1024):
        models[str(w)] = {"param": "mup", "width": w, "turn_degrees": 30.0}
        models[f"ntp-{w}"] = {"param": "ntp", "width": w, "turn_degrees": 640.0 / w}
    models["limit"] = {"param": "mup", "width": 1500, "turn_degrees": 31.0}
    return {"models": models}


def test_word2vec_turns_are_drawn_with_fitted_and_theoretical_slopes():
    from mupbook.viz import word2vec as w2v_viz

    fig = w2v_viz.plot_turns(_w2v_doc())
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0] in ("μP: slope +0.00", "μP: slope -0.00")
    assert labels[1] == "NTP: slope -1.00" and "theory" in labels


def test_word2vec_accuracy_draws_intervals_of_counts_and_plain_paper_numbers():
    from mupbook.stats import Proportion
    from mupbook.viz import word2vec as w2v_viz

    ours = {
        "64": Proportion(26, 1086),
        "256": Proportion(28, 1086),
        "ntp-64": Proportion(26, 1086),
        "ntp-256": Proportion(8, 1086),
        "limit": Proportion(34, 1086),
        "ntk": Proportion(0, 1086),
    }
    fig = w2v_viz.plot_accuracy({"ours": ours, "TP4": {"64": 33.35, "limit": 43.3}})
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "ours: NTP, finite width" in labels and "TP4: μP limit" in labels
    bars = [c for c in ax.containers if c.has_yerr]
    assert len(bars) == 2  # our muP and NTP widths; the paper's numbers have none
    assert len(ax.patches) == 2  # the bands of our two limits

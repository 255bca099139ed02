"""mupbook.viz.explorers: one helper wires controls to a draw function; every explorer
redraws what its controls say."""

import matplotlib

matplotlib.use("Agg")

import ipywidgets as w
import pytest
from matplotlib.figure import Figure

from mupbook.viz import explorers
from mupbook.viz.cancellation import plot_coordinates
from mupbook.viz.vector_matrix import plot_contraction


def test_static_figure_has_three_histograms():
    fig = plot_coordinates(width=256, lr=0.5)
    assert len(fig.axes) == 3
    assert all(ax.patches for ax in fig.axes)  # histogram bars were drawn


def test_helper_draws_once_then_on_every_change_with_all_values():
    calls = []
    a, b = (
        w.IntSlider(value=1, min=0, max=5),
        w.Dropdown(options=["x", "y"], value="x"),
    )
    box = explorers.explorer(
        {"a": a, "b": b},
        lambda a, b: calls.append((a, b)) or f"{a}{b}",
        rows=[["a", "b"]],
    )
    assert calls == [(1, "x")] and box.drawn == "1x"
    a.value = 3
    b.value = "y"
    assert calls == [(1, "x"), (3, "x"), (3, "y")] and box.drawn == "3y"
    assert box.controls == {"a": a, "b": b}
    assert box.children[0].children == (a, b) and isinstance(
        box.children[-1], w.Output
    )


def test_helper_refuses_rows_that_lose_or_repeat_a_control():
    a, b = w.IntSlider(), w.IntSlider()
    with pytest.raises(ValueError, match="exactly once"):
        explorers.explorer({"a": a, "b": b}, lambda a, b: None, rows=[["a"]])
    with pytest.raises(ValueError, match="exactly once"):
        explorers.explorer(
            {"a": a, "b": b}, lambda a, b: None, rows=[["a", "b", "a"]]
        )
    with pytest.raises(ValueError, match="at least one control"):
        explorers.explorer({}, lambda: None)


def test_cancellation_explorer_redraws_at_the_chosen_width():
    box = explorers.cancellation_explorer(max_log2_width=10)
    assert "width n = 1024" in box.drawn._suptitle.get_text()
    box.controls["log2_width"].value = 7
    box.controls["lr"].value = 0.1
    assert (
        isinstance(box.drawn, Figure)
        and "width n = 128, lr = 0.1" in box.drawn._suptitle.get_text()
    )


def test_explorer_refuses_absurd_widths():
    with pytest.raises(ValueError, match="max_log2_width"):
        explorers.cancellation_explorer(max_log2_width=30)


def test_abc_explorer_reports_the_verdict_and_updates():
    box = explorers.abc_explorer(depth=2)
    assert "feature learning" in box.drawn.split("</b>")[0]
    box.controls["c"].value = 1.0  # muP with c = 1: no longer feature learning
    assert "feature learning" not in box.drawn.split("</b>")[0]


def test_contraction_explorer_and_static_plot():
    fig = plot_contraction("width", "update", 1.0, widths=(64, 128, 256))
    assert len(fig.axes) == 1 and "flat needs alpha = 1" in fig.axes[0].get_title()
    box = explorers.contraction_explorer()
    box.controls["alpha"].value = 0.25
    assert "alpha = 0.25" in box.drawn.axes[0].get_title()


def test_table_refuses_ragged_rows():
    from mupbook import viz

    assert "| a | b |" in viz.table(["a", "b"], [[1, 2]]).data
    with pytest.raises(ValueError, match="one entry per header"):
        viz.table(["a", "b"], [[1]])


def test_coord_explorer_reports_total_divergence_instead_of_a_plot(monkeypatch):
    from mupbook.studies import coord_check

    box = explorers.coord_explorer(widths=(64, 128))
    assert isinstance(box.drawn, Figure)
    assert "learning rate 0.5" in box.drawn._suptitle.get_text()  # SGD's, times 1

    def diverge(*args, **kwargs):
        raise FloatingPointError(
            "every run diverged (lr=4.0); lower the learning rate"
        )

    monkeypatch.setattr(coord_check, "mlp_coord_check", diverge)
    box.controls["lr_scale"].value = 8.0
    assert "diverged at every width" in box.drawn and "lr=4.0" in box.drawn

"""mupbook.widgets: the explorer builds, redraws on slider changes and plots finite data."""

import matplotlib

matplotlib.use("Agg")

import pytest

from mupbook import widgets


def test_static_figure_has_three_histograms():
    fig = widgets.plot_coordinates(width=256, lr=0.5)
    assert len(fig.axes) == 3
    assert all(ax.patches for ax in fig.axes)  # histogram bars were drawn


def test_explorer_redraws_when_a_slider_moves():
    box = widgets.cancellation_explorer(max_log2_width=10)
    sliders = box.children[0].children
    out = box.children[1]
    before = len(out.outputs)
    sliders[0].value = 7
    sliders[1].value = 0.1
    assert len(out.outputs) >= before >= 0


def test_explorer_refuses_absurd_widths():
    with pytest.raises(ValueError, match="max_log2_width"):
        widgets.cancellation_explorer(max_log2_width=30)


def test_abc_explorer_reports_the_verdict_and_updates():
    box = widgets.abc_explorer(depth=2)
    html = box.children[1]
    assert "feature learning" in html.value
    c_slider = box.children[0].children[2]
    c_slider.value = 1.0   # muP with c = 1: no longer feature learning
    assert "feature learning" not in html.value.split("</b>")[0]


def test_contraction_explorer_and_static_plot():
    fig = widgets.plot_contraction("width", "update", 1.0, widths=(64, 128, 256))
    assert len(fig.axes) == 1 and "flat needs alpha = 1" in fig.axes[0].get_title()
    box = widgets.contraction_explorer()
    box.children[2].value = 0.25
    assert len(box.children) == 4


def test_table_refuses_ragged_rows():
    from mupbook import viz
    assert "| a | b |" in viz.table(["a", "b"], [[1, 2]]).data
    with pytest.raises(ValueError, match="one entry per header"):
        viz.table(["a", "b"], [[1]])


def test_coord_explorer_builds_and_reports_total_divergence():
    box = widgets.coord_explorer(widths=(64, 128))
    out = box.children[-1]
    box.children[2].value = 10 ** 0.5  # a large SP learning rate
    assert len(box.children) == 6 and out is not None

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

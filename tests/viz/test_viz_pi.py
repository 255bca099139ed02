"""mupbook.viz.pi: the chapter's figures draw, and the explorer shows a frame."""

import matplotlib

matplotlib.use("Agg")

import pytest

from mupbook.studies import pi_limit as S
from mupbook.viz import pi as pi_viz


@pytest.fixture(scope="module")
def frames():
    return S.explorer_frames(
        rs=(4, 8), widths=(32, 64), steps=2, setup=S.Setup(d=6, r=4)
    )


def test_figures_draw(frames):
    assert pi_viz.plot_parametrization().axes
    conv = S.convergence([32, 64], [0, 1], steps=2, setup=S.Setup(d=6, r=4, batch=2))
    slopes = pi_viz.plot_convergence(conv)
    assert set(slopes) == set(conv.series())
    cost = S.step_cost((100, 400), examples=4, r=8, repeats=1)
    assert len(pi_viz.plot_growth(S.growth(2, setup=S.Setup(r=4)), cost).axes) == 2
    fig = pi_viz.plot_accuracies(
        {"a": (50.0, 45.0, 55.0)}, paper={"a": 60.0}, title="t"
    )
    assert fig.axes[0].get_legend() is not None
    assert pi_viz.plot_frame(frames, 8, 64, 2).axes


def test_pi_explorer_redraws_when_a_control_changes(frames):
    from mupbook.viz import explorers

    box = explorers.pi_explorer(frames)
    first = box.drawn
    box.controls["steps"].value = 0
    assert box.drawn is not first

"""Interactive explorers (ipywidgets 7.7 on Colab, 8.x locally).

Each explorer is a thin layer over a plotting function that also works without
widgets, so the rendered book can show the same picture as a static figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from . import cancellation, viz


def plot_coordinates(width: int = 1024, lr: float = 1.0, seed: int = 0):
    """Histograms of the coordinates of ``W x``, ``dW x`` and ``dW x~`` for one network."""
    data = cancellation.coordinates(width, lr=lr, seed=seed)
    # Units whose ReLU is off get no gradient: their update is exactly 0 in both
    # update panels. Leave them out so the histograms show the spread of the rest.
    active = data["dW x (correlated)"] != 0
    shown = {k: (v if k.startswith("W x") else v[active]) for k, v in data.items()}
    fig, axes = viz.figure(ncols=3, width=3.6, height=3.0)
    viz.histograms(axes[0], shown)
    # Same x-range on both update panels: the independent one is visibly narrower.
    lim = float(abs(shown["dW x (correlated)"]).max(initial=0.0)) * 1.05 or 1.0
    for ax in axes[0, 1:]:
        ax.set_xlim(-lim, lim)
    fig.suptitle(f"width n = {width}, lr = {lr:g} (muP, one SGD step); "
                 f"{int((~active).sum())} units with inactive ReLU (update exactly 0) not shown",
                 fontsize=10)
    return fig


def cancellation_explorer(max_log2_width: int = 14):
    """Sliders for the width (2^6 .. 2^max) and learning rate; redraws the histograms.

    Watch ``W x`` keep its spread as the width grows while ``dW x~`` (an
    independent vector) shrinks like n^-1/2 and ``dW x`` does not.
    """
    import ipywidgets as w  # imported here: the library itself does not need widgets
    from IPython.display import display

    if not 7 <= max_log2_width <= 16:
        raise ValueError(f"max_log2_width must be in 7..16, got {max_log2_width}")
    log2_width = w.IntSlider(value=10, min=6, max=max_log2_width, description="log2 width")
    lr = w.FloatLogSlider(value=1.0, base=10, min=-2, max=1, step=0.1, description="lr")
    seed = w.IntSlider(value=0, min=0, max=9, description="seed")
    out = w.Output()

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            fig = plot_coordinates(2 ** log2_width.value, lr.value, seed.value)
            display(fig)
            plt.close(fig)

    for s in (log2_width, lr, seed):
        s.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox([log2_width, lr, seed]), out])

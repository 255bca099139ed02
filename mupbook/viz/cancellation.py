"""Figures of square-root cancellation (chapter 1): the coordinates of ``W x``, ``dW x`` and
``dW x~``, and how the size of ``dW x`` depends on the parametrization."""

from __future__ import annotations

from typing import Sequence

from ..studies import cancellation
from . import figure, histograms, loglog_sweep


def plot_coordinates(width: int = 1024, lr: float = 1.0, seed: int = 0):
    """Histograms of the coordinates of ``W x``, ``dW x`` and ``dW x~`` for one network."""
    data = cancellation.coordinates(width, lr=lr, seed=seed)
    # Units whose ReLU is off get no gradient: their update is exactly 0 in both
    # update panels. Leave them out so the histograms show the spread of the rest.
    active = data["dW x (correlated)"] != 0
    shown = {k: (v if k.startswith("W x") else v[active]) for k, v in data.items()}
    fig, axes = figure(ncols=3, width=3.6, height=3.0)
    histograms(axes[0], shown)
    # Same x-range on both update panels: the independent one is visibly narrower.
    lim = float(abs(shown["dW x (correlated)"]).max(initial=0.0)) * 1.05 or 1.0
    for ax in axes[0, 1:]:
        ax.set_xlim(-lim, lim)
    fig.suptitle(
        f"width n = {width}, lr = {lr:g} (muP, one SGD step); "
        f"{int((~active).sum())} units with inactive ReLU (update exactly 0) not shown",
        fontsize=10,
    )
    return fig


def plot_updates(results: Sequence[cancellation.Cancellation]):
    """Two panels over the parametrizations of ``results`` (all on the same widths): the
    rms coordinate of ``dW x`` with the theory slope of each (dashed), and the ratio
    ``dW x / dW x~`` with slope 1/2 for all. Returns ``(fig, slopes)``, the fitted slopes of
    the left panel by parametrization name."""
    fig, axes = figure(ncols=2)
    slopes = loglog_sweep(
        axes[0, 0],
        results[0].widths,
        {r.param: r.update for r in results},
        theory={r.param: cancellation.update_theory_slope(r) for r in results},
        ylabel="rms coordinate of dW x",
    )
    axes[0, 0].set_title("one SGD step: the parametrization decides", fontsize=10)
    loglog_sweep(
        axes[0, 1],
        results[0].widths,
        {r.param: r.series()["ratio"] for r in results},
        theory={r.param: 0.5 for r in results},
        ylabel="dW x / dW x~",
    )
    axes[0, 1].set_title("correlation buys sqrt(n) in every one", fontsize=10)
    return fig, slopes

"""Figures of coordinate checks (TP5 section 7): each layer's coordinate size against width."""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

from ..studies.coord_check import CoordCheck
from . import figure, loglog_sweep


def plot_coord_check(
    check: CoordCheck,
    kind: Literal["size", "delta"] = "size",
    steps: Sequence[int] | None = None,
    axes=None,
    layers: Sequence[str] | None = None,
):
    """One panel per step: mean |coordinate| (or its change) of each layer against width,
    with the fitted slope in the legend; ``layers`` picks some of ``check.layers`` (default:
    all). Returns the figure."""
    steps = list(range(1, check.steps + 1)) if steps is None else list(steps)
    if axes is None:
        fig, axes = figure(ncols=len(steps), width=3.2, height=3.0)
        axes = axes[0]
    else:
        fig = np.atleast_1d(axes)[0].figure
    values = {"size": check.size, "delta": check.delta}[kind]
    chosen = list(check.layers) if layers is None else list(layers)
    unknown = sorted(set(chosen) - set(check.layers))
    if unknown:
        raise ValueError(f"unknown layers {unknown}; the check has {check.layers}")
    for ax, t in zip(np.atleast_1d(axes), steps):
        loglog_sweep(
            ax,
            check.widths,
            {name: values[:, :, t, check.layers.index(name)] for name in chosen},
            ylabel=(
                "mean |coordinate|" if kind == "size" else "mean |change since init|"
            ),
        )
        ax.set_title(f"{check.label} step {t}".strip(), fontsize=10)
    return fig

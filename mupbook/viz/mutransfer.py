"""Figures of muTransfer (TP5 Figures 1 and 3): training loss against learning rate, one
line per width, the best learning rate starred."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from ..experiments.mutransfer import Sweep
from . import figure


def plot_sweep(sweeps: Mapping[Any, Sweep] | Sequence[Sweep], axes=None):
    """One panel per sweep: seed-mean training loss against log2 learning rate, one line per
    width (light to dark with width), each width's best lr starred. Diverged runs are
    marked with an ``x`` at the top of the panel in their width's colour (never drawn as
    a line through NaN); losses above 1.25 ln(C) (worse than chance) are marked with
    a ``^`` at the top edge. Returns the figure."""
    items = list(sweeps.values()) if isinstance(sweeps, Mapping) else list(sweeps)
    if not items or not all(isinstance(s, Sweep) for s in items):
        raise ValueError(
            "plot_sweep needs at least one Sweep (a dict of them or a list)"
        )
    if axes is None:
        fig, grid = figure(ncols=len(items), width=3.7, height=3.3)
        axes = grid[0]
    else:
        axes = np.atleast_1d(axes).ravel()
        if len(axes) < len(items):
            raise ValueError(
                f"{len(items)} sweeps need as many axes, got {len(axes)}"
            )
        fig = axes[0].figure
    for ax, sweep in zip(axes, items):
        _plot_one(ax, sweep)
    return fig


def _plot_one(ax, sweep: Sweep) -> None:
    x = sweep.log2_lrs
    mean = sweep.mean_loss()
    bad = sweep.diverged.any(axis=0)  # (widths, lrs)
    colors = plt.cm.viridis(np.linspace(0.0, 0.85, len(sweep.widths)))
    finite = mean[np.isfinite(mean)]
    cap = 1.25 * math.log(sweep.num_classes)
    if finite.size:
        lo, hi = float(finite.min()), float(min(finite.max(), cap))
        pad = 0.06 * max(hi - lo, 1e-3)
        ax.set_ylim(lo - pad, hi + 3 * pad)
    top = ax.get_ylim()[1]
    edge = ax.get_xaxis_transform()  # x in data units, y in axes units
    best = sweep.best_lr_index()
    off_scale = False
    for j, n in enumerate(sweep.widths):
        ok = ~bad[j] & np.isfinite(mean[j])
        shown = ok & (mean[j] <= top)
        ax.plot(
            x[ok],
            np.minimum(mean[j, ok], top),
            "-",
            color=colors[j],
            lw=1.4,
            label=f"n = {n}",
        )
        ax.plot(x[shown], mean[j, shown], "o", color=colors[j], ms=3)
        if (ok & ~shown).any():
            off_scale = True
            ax.plot(
                x[ok & ~shown],
                np.full((ok & ~shown).sum(), 0.985),
                "^",
                color=colors[j],
                ms=6,
                transform=edge,
                clip_on=False,
            )
        mark_diverged(ax, x[bad[j]], j, colors[j], step=0.045)
        if best[j] >= 0:
            mark_optimum(ax, x[best[j]], mean[j, best[j]], colors[j])
    try:
        shift = f"optimum moves {sweep.shift_in_grid_steps()} grid step(s)"
    except ValueError:
        shift = "every lr diverged at some width"
    ax.set_title(f"{sweep.label}: {shift}", fontsize=9.5)
    ax.set_xlabel(r"$\log_2$ learning rate")
    ax.set_ylabel("training loss")
    ax.grid(True, alpha=0.3)
    sweep_legend(ax, "best lr", bad.any(), off_scale, loc="lower left")


def mark_optimum(ax, x: float, y: float, color: Any) -> None:
    """One width's optimum on a learning-rate sweep panel: a black-edged star at (x, y)."""
    ax.plot(
        [x],
        [y],
        "*",
        color=color,
        ms=13,
        markeredgecolor="black",
        markeredgewidth=0.6,
        zorder=5,
    )


def mark_diverged(
    ax, xs: np.ndarray, row: int, color: Any, step: float = 0.04
) -> None:
    """Crosses at the top of the panel for the diverged learning rates ``xs`` of the
    ``row``-th width (each width a little lower, so that they do not overlap)."""
    if len(xs):
        ax.plot(
            xs,
            np.full(len(xs), 0.97 - step * row),
            "x",
            color=color,
            ms=7,
            mew=2,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
        )


def sweep_legend(
    ax,
    optimum: str,
    diverged: bool,
    off_scale: bool = False,
    loc: str = "upper center",
) -> None:
    """The legend of a sweep panel: its widths' lines, the optimum's star (labelled
    ``optimum``), and the diverged and off-scale marks when the panel has them."""
    handles, _ = ax.get_legend_handles_labels()
    star = dict(ls="", marker="*", color="grey", markeredgecolor="black", ms=10)
    handles.append(Line2D([], [], label=optimum, **star))
    if diverged:
        handles.append(
            Line2D([], [], ls="", marker="x", color="grey", mew=2, label="diverged")
        )
    if off_scale:
        handles.append(
            Line2D([], [], ls="", marker="^", color="grey", label="off scale")
        )
    ax.legend(handles=handles, fontsize=7, loc=loc)

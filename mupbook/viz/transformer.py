"""Figures of the GPT chapter: the dot-product law behind 1/d attention, learning-rate
curves across widths (TP5 Figure 1's picture on our data), optima against width, and
the explorer's pictures (training curves, beside the recorded sweep)."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..experiments.mutransfer_gpt import PARAM_NAMES, Sweep
from ..studies.attention import dot_product_sizes
from . import COLORS, figure, loglog_sweep
from .mutransfer import mark_diverged, mark_optimum, sweep_legend


def plot_dot_products(
    dims: Sequence[int] = (16, 32, 64, 128, 256, 512, 1024),
    correlation: float = 0.3,
    seed: int = 0,
):
    """Two panels: mean ``|q.k|`` of independent and of correlated vectors against the
    dimension ``d``, then the same scaled by ``1/sqrt(d)`` and by ``1/d``. Returns the
    figure."""
    d = np.asarray(dims, dtype=float)
    free = dot_product_sizes(dims, 0.0, seed=seed)
    tied = dot_product_sizes(dims, correlation, seed=seed + 1)
    fig, axes = figure(ncols=2, width=4.2, height=3.4)
    loglog_sweep(
        axes[0, 0],
        d,
        {"independent": free, f"correlated ({correlation:g})": tied},
        theory={"independent": 0.5, f"correlated ({correlation:g})": 1.0},
        xlabel="head dimension d",
        ylabel="mean |q.k|",
    )
    axes[0, 0].set_title("the sum q.k", fontsize=10)
    loglog_sweep(
        axes[0, 1],
        d,
        {
            "correlated / sqrt(d)  (SP)": tied / np.sqrt(d),
            "correlated / d  (muP)": tied / d,
        },
        xlabel="head dimension d",
        ylabel="mean |score|",
    )
    axes[0, 1].set_title("scaled scores of correlated q, k", fontsize=10)
    return fig


def plot_gpt_sweep(sweeps: Mapping[str, Sweep], axes=None, title: str = ""):
    """One panel per parametrization (SP, then muP): seed-mean validation loss against
    log2 learning rate, one line per width (light to dark), each width's optimum (the
    parabola's vertex) starred; diverged learning rates crossed at the top. Returns the
    figure."""
    items = [sweeps[p] for p in ("sp", "mup") if p in sweeps]
    if not items:
        raise ValueError("plot_gpt_sweep needs a dict with 'sp' and/or 'mup' sweeps")
    if axes is None:
        fig, grid = figure(ncols=len(items), width=4.2, height=3.5)
        axes = grid[0]
    else:
        axes = np.atleast_1d(axes).ravel()
        fig = axes[0].figure
    lo = min(np.nanmin(s.mean_loss()) for s in items)
    hi = min(max(np.nanmax(s.mean_loss()) for s in items), lo + 1.2)
    for ax, sweep in zip(axes, items):
        _plot_one(ax, sweep, (lo - 0.03, hi + 0.05))
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def _plot_one(ax, sweep: Sweep, ylim: tuple[float, float]) -> None:
    x, mean = sweep.log2_lrs, sweep.mean_loss()
    bad = sweep.diverged.any(axis=0)
    colors = plt.cm.viridis(np.linspace(0.0, 0.85, len(sweep.widths)))
    try:
        optima = sweep.optima()
    except ValueError:
        optima = [None] * len(sweep.widths)
    for j, n in enumerate(sweep.widths):
        ok = ~bad[j] & np.isfinite(mean[j])
        ax.plot(
            x[ok], mean[j, ok], "o-", color=colors[j], ms=3, lw=1.3, label=f"n = {n}"
        )
        mark_diverged(ax, x[bad[j]], j, colors[j])
        if optima[j] is not None:
            mark_optimum(ax, optima[j].x, optima[j].y, colors[j])
    ax.set_ylim(*ylim)
    try:
        shift = f"optimum moves {sweep.shift():.2f} (log2)"
    except ValueError:
        shift = "every lr diverged at some width"
    ax.set_title(f"{sweep.label} Adam: {shift}", fontsize=9.5)
    ax.set_xlabel(r"$\log_2$ learning rate")
    ax.set_ylabel("validation loss (nats / character)")
    ax.grid(True, alpha=0.3)
    sweep_legend(ax, "optimum (parabola)", bad.any())


def plot_optima(sweeps: Mapping[str, Sweep]):
    """Two panels against width: each parametrization's optimal log2 learning rate,
    and its best validation loss. Returns the figure."""
    fig, axes = figure(ncols=2, width=4.0, height=3.2)
    for k, p in enumerate(("sp", "mup")):
        if p not in sweeps:
            continue
        s = sweeps[p]
        w = s.widths
        axes[0, 0].plot(
            w, s.optimal_log2_lr(), "o-", color=COLORS[k], label=PARAM_NAMES[p]
        )
        axes[0, 1].plot(w, s.best_loss(), "o-", color=COLORS[k], label=PARAM_NAMES[p])
    for ax, ylabel in zip(
        axes[0], (r"optimal $\log_2$ learning rate", "best validation loss")
    ):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("width n")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def plot_training_curves(curves: Mapping[str, np.ndarray], title: str = ""):
    """Training loss against step, one line per entry (label -> losses (steps,)); a
    curve that turned non-finite is marked where it ended. Returns the figure."""
    fig, axes = figure(width=5.2, height=3.3)
    ax = axes[0, 0]
    _curves_panel(ax, {k: (np.arange(len(y)), y) for k, y in curves.items()})
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def _curves_panel(ax, curves: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Training loss against step on ``ax``, one line per entry (label -> (steps (k,),
    losses (k,))), a divergence crossed at the step where the loss turned non-finite."""
    for k, (label, (x, y)) in enumerate(curves.items()):
        x, y = np.asarray(x), np.asarray(y, dtype=float)
        ok = np.isfinite(y)
        color = COLORS[k % len(COLORS)]
        ax.plot(x[ok], y[ok], color=color, label=label)
        if not ok.all():
            ax.plot(
                [x[int(np.argmin(ok))]],
                [0.95],
                "x",
                color=color,
                mew=2,
                ms=9,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
            )
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (nats / character)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)


def plot_gpt_setting(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    title: str,
    sweep: Sweep | None = None,
    log2_lr: float | None = None,
):
    """The GPT explorer's picture. Left: training loss against step, one line per entry
    (label -> (steps (k,), losses (k,))), a divergence crossed where it happened. Right,
    when ``sweep`` is given: that sweep's validation loss against log2 learning rate
    (:func:`plot_gpt_sweep`'s panel), with ``log2_lr`` marked by a vertical line.
    Returns the figure."""
    fig, axes = figure(ncols=2 if sweep is not None else 1, width=4.3, height=3.3)
    ax = axes[0, 0]
    _curves_panel(ax, curves)
    ax.set_title(title, fontsize=9)
    if sweep is not None:
        mean = sweep.mean_loss()
        lo = np.nanmin(mean)
        hi = min(np.nanmax(mean), lo + 1.2)
        _plot_one(axes[0, 1], sweep, (lo - 0.03, hi + 0.05))
        if log2_lr is not None:
            axes[0, 1].axvline(log2_lr, color="black", lw=1, ls="--")
    return fig

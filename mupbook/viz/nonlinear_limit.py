"""Figures of the chapter "Computing the feature-learning limit": the limit beside finite
networks and the NTK predictor, convergence against width, the quadrature rules' errors,
the nodes' density before and after training, and Z-hat + Z-dot. Its explorer
(:func:`mupbook.viz.explorers.limit_explorer`) redraws :func:`plot_width_frame`.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import torch

from ..limits.one_hidden import OneHiddenLimit, Training, train_network
from ..studies.nonlinear_limit import GaussHermite, Task, WidthSweep, network_seed
from ..studies.zdot import Regression
from . import COLORS, figure, loglog_sweep

__all__ = [
    "plot_functions",
    "plot_convergence",
    "plot_gauss_hermite",
    "plot_preactivations",
    "plot_weight_plane",
    "plot_zdot",
    "plot_width_frame",
]


def _weighted_hist(ax, values: np.ndarray, weights: np.ndarray, bins, **kw) -> None:
    ax.hist(values, bins=bins, weights=weights, density=True, histtype="step", **kw)


def plot_functions(
    task: Task,
    curves: Mapping[str, torch.Tensor | np.ndarray],
    *,
    title: str = "",
    ax=None,
):
    """A 1-D task's target and training points with named test-output ``curves`` (E,) or
    (E, 1) each (the first is drawn thickest: the limit)."""
    fig = None
    if ax is None:
        fig, axes = figure(width=5.6, height=3.4)
        ax = axes[0, 0]
    xt = task.x_test[:, 0].cpu().numpy()
    ax.plot(
        xt,
        task.y_test[:, 0].cpu().numpy(),
        color="0.6",
        lw=4,
        alpha=0.5,
        label="target",
    )
    for k, (label, y) in enumerate(curves.items()):
        y = np.asarray(torch.as_tensor(y).detach().cpu()).reshape(-1)
        ax.plot(
            xt,
            y,
            color=COLORS[k % len(COLORS)],
            lw=2.2 if k == 0 else 1.3,
            ls="-" if k < 2 else "--",
            label=label,
        )
    ax.plot(
        task.x_train[:, 0].cpu().numpy(),
        task.y_train[:, 0].cpu().numpy(),
        "ko",
        ms=5,
        label="training points",
    )
    ax.set_xlabel("input x")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def plot_convergence(mup: WidthSweep, ntp: WidthSweep, node_error: float):
    """Left: the RMS gap over seeds against width (muP networks to the muP limit, NTP pairs
    to the NTK predictor; each network's own gap faint), the gap of the seed-averaged muP
    output, and the limit's node error as a line. Right: the muP outputs' variance over
    seeds, with theory slope -1. The slopes in the legends are the fits the chapter
    asserts."""
    fig, axes = figure(ncols=2, width=4.6)
    ax = axes[0, 0]
    for k, sweep in enumerate((mup, ntp)):
        for row in sweep.gaps():
            ax.plot(sweep.widths, row, color=COLORS[k], alpha=0.15, lw=0.7)
    loglog_sweep(
        ax,
        mup.widths,
        {"muP nets vs muP limit": mup.rms_gap(), "NTP pairs vs NTK": ntp.rms_gap()},
        theory={"muP nets vs muP limit": -0.5, "NTP pairs vs NTK": -0.5},
        ylabel="RMS gap of test outputs",
    )
    ax.plot(
        mup.widths,
        mup.mean_gap(),
        "s:",
        color=COLORS[2],
        ms=4,
        label="gap of the seed-averaged muP output",
    )
    ax.axhline(node_error, color="k", lw=1, ls=":", label="limit's node error")
    ax.legend(fontsize=7)
    ax.set_title("distance to the limits (faint: single networks)", fontsize=10)
    loglog_sweep(
        axes[0, 1],
        mup.widths,
        {"variance over seeds (muP)": mup.variance()},
        theory={"variance over seeds (muP)": -1.0},
        ylabel="variance of test outputs",
    )
    axes[0, 1].set_title(f"{len(mup.seeds)} seeds per width", fontsize=10)
    return fig


def plot_gauss_hermite(gh: GaussHermite, qmc_error: float, qmc_nodes: int):
    """The tensor Gauss-Hermite rule's error against its number of nodes, early and at the
    end of training, with the RQMC estimate's error (``qmc_nodes`` nodes in all) at the
    end."""
    fig, axes = figure(width=5.2, height=3.6)
    ax = axes[0, 0]
    for j, step in enumerate(gh.steps):
        ax.plot(
            gh.nodes,
            gh.errors[:, j],
            "o-",
            color=COLORS[j % len(COLORS)],
            label=f"Gauss-Hermite after {step} step{'s' if step > 1 else ''}",
        )
    ax.plot(
        [qmc_nodes],
        [qmc_error],
        "*",
        color=COLORS[1],
        ms=14,
        label=f"RQMC after {gh.steps[-1]} steps (standard error)",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("nodes (points per axis, cubed)")
    ax.set_ylabel("RMS error of test outputs")
    ax.set_title("fast for the first steps, slow after training", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return fig


def plot_preactivations(
    before: OneHiddenLimit,
    after: OneHiddenLimit,
    x: torch.Tensor,
    *,
    ntk_note: str = "",
    ax=None,
):
    """The density of the limit's pre-activations ``u . x + b`` at one input ``x`` (1, d),
    before and after training (weighted histograms of the nodes)."""
    fig = None
    if ax is None:
        fig, axes = figure(width=5.0, height=3.4)
        ax = axes[0, 0]
    h0, w = before.preactivations(x)
    h1, _ = after.preactivations(x)
    h0, h1, w = (t.cpu().numpy() for t in (h0[:, 0], h1[:, 0], w))
    bins = np.linspace(min(h0.min(), h1.min(), -4), max(h0.max(), h1.max(), 4), 81)
    _weighted_hist(
        ax,
        h0,
        w,
        bins,
        color="0.4",
        lw=1.5,
        label="at initialization" + (f" ({ntk_note})" if ntk_note else ""),
    )
    _weighted_hist(
        ax,
        h1,
        w,
        bins,
        color=COLORS[1],
        lw=1.8,
        label=f"after {after.steps_done} steps (muP limit)",
    )
    ax.set_xlabel(f"pre-activation u . x + b at x = {x[0].tolist()}")
    ax.set_ylabel("density over nodes")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def plot_weight_plane(
    before: OneHiddenLimit,
    after: OneHiddenLimit,
    extent: tuple[float, float] = (8, 3),
):
    """The density of the limit's input weights ``u`` (2-D inputs, in the inputs'
    coordinates), before and after training, as weighted 2-D histograms on
    ``[-extent[0], extent[0]] x [-extent[1], extent[1]]`` (a log colour scale)."""
    from matplotlib.colors import LogNorm

    if before.d != 2:
        raise ValueError("plot_weight_plane needs two input dimensions")
    fig, axes = figure(ncols=2, width=4.2, height=2.6)
    bins = [
        np.linspace(-extent[0], extent[0], 81),
        np.linspace(-extent[1], extent[1], 31),
    ]
    for ax, lm, title in (
        (axes[0, 0], before, "at initialization"),
        (axes[0, 1], after, f"after {after.steps_done} steps"),
    ):
        u = (lm.basis @ lm.nodes.a.T).T.cpu().numpy()
        ax.hist2d(
            u[:, 0],
            u[:, 1],
            bins=bins,
            weights=lm.nodes.weight.cpu().numpy(),
            cmap="magma",
            density=True,
            norm=LogNorm(vmin=1e-4),
        )
        ax.set_xlabel("$u_1$ (the target's direction)")
        ax.set_ylabel("$u_2$")
        ax.set_title(title, fontsize=10)
    return fig


def plot_zdot(
    pairs: Mapping[str, tuple[np.ndarray, np.ndarray, Regression, float]],
    max_points: int = 2000,
):
    """One scatter per entry ``label -> (g, wy, measured, predicted)``: the coordinates of
    ``W y`` against those of ``g``, the fitted slope (Z-dot's coefficient) and the
    predicted one."""
    fig, axes = figure(ncols=len(pairs), width=4.0, height=3.6)
    for ax, (label, (g, wy, reg, pred)) in zip(axes[0], pairs.items()):
        keep = slice(0, max_points)
        ax.plot(g[keep], wy[keep], ".", ms=2, alpha=0.35, color=COLORS[0])
        span = np.linspace(np.min(g[keep]), np.max(g[keep]), 2)
        ax.plot(
            span,
            reg.coef * span,
            color=COLORS[1],
            lw=2,
            label=f"fitted slope {reg.coef:.3f}",
        )
        ax.plot(span, pred * span, "k--", lw=1, label=f"predicted {pred:.3f}")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("coordinate of g")
        ax.set_ylabel("coordinate of W y")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return fig


def plot_width_frame(
    task: Task,
    limit: OneHiddenLimit,
    limit_outputs: torch.Tensor,
    ntk_outputs: torch.Tensor,
    training: Training,
    width: int,
    seed: int = 0,
    input_index: int = 0,
):
    """The explorer's picture at one width: left, the trained muP limit, one ordinary
    width-``width`` muP network trained the same way (seed ``seed``) and the NTK predictor;
    right, the density of pre-activations at one training input, the limit's nodes against
    the network's neurons."""
    net = limit.sample(width, network_seed(seed, width))
    x0 = task.x_train[input_index : input_index + 1]
    with torch.no_grad():
        h_init = (net.weights[0] @ x0.T)[:, 0] + net.biases[0]
    train_network(net, task.x_train, task.y_train, training)
    with torch.no_grad():
        out = net(task.x_test)
        h_net = (net.weights[0] @ x0.T)[:, 0] + net.biases[0]
    gap = float(((out - limit_outputs) ** 2).mean().sqrt())
    fig, axes = figure(ncols=2, width=4.6, height=3.4)
    plot_functions(
        task,
        {
            "muP limit": limit_outputs,
            f"width-{width} muP network": out,
            "NTK predictor": ntk_outputs,
        },
        title=f"width {width}: RMS gap to the limit {gap:.2g}",
        ax=axes[0, 0],
    )
    ax = axes[0, 1]
    h_lim, w = limit.preactivations(x0)
    h_lim, w = h_lim[:, 0].cpu().numpy(), w.cpu().numpy()
    bins = np.linspace(-4.5, 4.5, 46)
    _weighted_hist(ax, h_lim, w, bins, color=COLORS[0], lw=2, label="limit (nodes)")
    ax.hist(
        h_net.cpu().numpy(),
        bins=bins,
        density=True,
        alpha=0.35,
        color=COLORS[1],
        label=f"network ({width} neurons)",
    )
    ax.hist(
        h_init.cpu().numpy(),
        bins=bins,
        density=True,
        histtype="step",
        color="0.5",
        ls=":",
        label="network at init = NTK's frozen features",
    )
    ax.set_xlabel(f"pre-activation at x = {x0[0].tolist()}")
    ax.set_ylabel("density")
    ax.set_title("features after training", fontsize=10)
    ax.legend(fontsize=7)
    return fig

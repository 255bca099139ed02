"""Figures of the chapter "Deep limits that learn features" (the pi-limit)."""

from __future__ import annotations

from typing import Mapping

import numpy as np
from matplotlib.patches import Rectangle

from ..studies import pi_limit
from . import COLORS, figure, loglog_sweep


def plot_parametrization(ax=None):
    """The pi-parametrization in one picture: a hidden weight of width n is
    ``n^-1 Omega_l (r x M) phi(Omega_{l-1} B^T)^T``, and a step appends columns/rows."""
    if ax is None:
        fig, axes = figure(width=9.0, height=3.2)
        ax = axes[0, 0]
    ax.set_xlim(0, 20.5)
    ax.set_ylim(0, 7)
    ax.axis("off")

    def box(x, y, w, h, label, color, new=0.0, sub="", side="right"):
        ax.add_patch(Rectangle((x, y), w, h, fc=color, ec="k", alpha=0.35))
        if new and side == "right":
            ax.add_patch(
                Rectangle((x + w - new, y), new, h, fc=COLORS[1], ec="k", alpha=0.6)
            )
        elif new:
            ax.add_patch(Rectangle((x, y), w, new, fc=COLORS[1], ec="k", alpha=0.6))
        ax.text(x + w / 2, y + h / 2, label, ha="center", va="center", fontsize=10)
        if sub:
            ax.text(x + w / 2, y - 0.35, sub, ha="center", va="top", fontsize=8)

    box(0.3, 0.8, 3.2, 5.4, "$W^l$", COLORS[0], sub="n x n")
    ax.text(3.9, 3.5, "=  $n^{-1}$", fontsize=12, va="center")
    box(5.6, 0.8, 1.0, 5.4, r"$\Omega_l$", COLORS[2], sub="n x r (fixed)")
    box(
        7.0,
        2.9,
        3.6,
        1.0,
        r"$A^\top\,\mathrm{diag}(c)$",
        COLORS[3],
        new=0.6,
        sub="r x M",
    )
    box(
        11.0,
        1.7,
        3.6,
        3.6,
        r"$\phi(\Omega_{l-1}B^\top)^\top$",
        COLORS[4],
        new=0.6,
        side="bottom",
    )
    ax.text(12.8, 1.35, "M x n", ha="center", va="top", fontsize=8)
    ax.annotate(
        "one SGD step: one new row\n(A, B, c) per example (red)",
        xy=(10.3, 3.9),
        xytext=(7.2, 5.6),
        fontsize=9,
        arrowprops=dict(arrowstyle="->"),
    )
    ax.text(
        15.1,
        3.5,
        "n -> infinity: keep only\nthe rows (A_i, B_i, c_i);\n"
        r"$\phi(\Omega B)^\top\phi(\Omega g)/n$"
        "\n"
        r"$\to |g|\,V(\hat g\cdot B)$",
        fontsize=9,
        va="center",
    )
    ax.set_title(
        "the pi-parametrization of a hidden layer (M rows: r at init, r + t b after t steps)"
    )
    return ax.figure


def plot_convergence(conv: pi_limit.Convergence, ax=None) -> dict[str, float]:
    """Every gap of :func:`mupbook.studies.pi_limit.convergence` against width, with the
    -1/2 slope of theory; returns the fitted slopes."""
    if ax is None:
        _, axes = figure(width=6.0, height=4.2)
        ax = axes[0, 0]
    series = conv.series()
    slopes = loglog_sweep(
        ax,
        conv.widths,
        series,
        {k: -0.5 for k in series},
        ylabel="RMS gap to the infinite net",
    )
    ax.set_title(f"finite pi-nets -> the infinite pi-net ({len(conv.seeds)} seeds)")
    return slopes


def plot_growth(
    growth: pi_limit.Growth, cost: pi_limit.StepCost | None = None, axes=None
):
    """Rows per layer against steps; with ``cost``, the time of a layer's forward and
    backward against its number of rows."""
    if axes is None:
        fig, ax = figure(ncols=2 if cost is not None else 1, width=4.6, height=3.4)
        axes = ax[0]
    t = np.arange(len(growth.rows))
    for k in range(growth.rows.shape[1]):
        label = "readout" if k == growth.rows.shape[1] - 1 else f"layer {k + 2}"
        axes[0].plot(t, growth.rows[:, k], "o-", ms=3, color=COLORS[k], label=label)
    axes[0].plot(t, growth.r + growth.batch * t, "k--", lw=1, label="r + t x batch")
    axes[0].set_xlabel("SGD step t")
    axes[0].set_ylabel("rows")
    axes[0].legend(fontsize=8)
    axes[0].set_title(f"rows grow linearly (r = {growth.r}, batch {growth.batch})")
    if cost is not None:
        ax = axes[1]
        ax.plot(
            cost.rows, 1e3 * cost.seconds, "o-", color=COLORS[2], label="measured"
        )
        ref = 1e3 * cost.seconds[-1] * cost.rows / cost.rows[-1]
        ax.plot(cost.rows, ref, "k--", lw=1, label="proportional to rows")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("rows of the layer")
        ax.set_ylabel("ms (forward + backward)")
        ax.legend(fontsize=8)
        ax.set_title(f"a step reads every row ({cost.examples} inputs, r = {cost.r})")
    return axes[0].figure


def plot_accuracies(
    accs: Mapping[str, tuple[float, float, float]],
    *,
    paper: Mapping[str, float] | None = None,
    title: str = "",
    ax=None,
):
    """Bars of accuracies ``{name: (mean, low, high)}`` (%) with their intervals, and the
    paper's numbers (``paper[name]``) as black diamonds where given."""
    if ax is None:
        _, axes = figure(width=6.0, height=3.8)
        ax = axes[0, 0]
    names = list(accs)
    x = np.arange(len(names))
    mean = np.array([accs[n][0] for n in names])
    lo = mean - np.array([accs[n][1] for n in names])
    hi = np.array([accs[n][2] for n in names]) - mean
    ax.bar(
        x, mean, color=[COLORS[i % len(COLORS)] for i in range(len(names))], alpha=0.7
    )
    ax.errorbar(x, mean, yerr=[lo, hi], fmt="none", ecolor="k", capsize=4)
    if paper:
        px = [i for i, n in enumerate(names) if n in paper]
        ax.plot(px, [paper[names[i]] for i in px], "kD", ms=6, label="paper")
        ax.legend(fontsize=8)
    ax.set_xticks(x, names, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title, fontsize=10)
    return ax.figure


def plot_curves(curves: Mapping[str, list[float]], ax=None, *, xlabel: str = "epoch"):
    """Test accuracy after each epoch, one line per model."""
    if ax is None:
        _, axes = figure(width=5.0, height=3.6)
        ax = axes[0, 0]
    for k, (name, c) in enumerate(curves.items()):
        ax.plot(
            np.arange(1, len(c) + 1),
            c,
            "o-",
            ms=3,
            color=COLORS[k % len(COLORS)],
            label=name,
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=8)
    return ax.figure


def plot_frame(frames: pi_limit.Frames, r: int, width: int, steps: int):
    """One explorer frame: finite (width n) against infinite outputs after ``steps`` SGD
    steps at rank r, and the gap against width for this r and step."""
    fig, axes = figure(ncols=2, width=4.4, height=3.8)
    k = frames.widths.index(width)
    inf, fin = frames.infinite[r][steps].ravel(), frames.finite[r][k][steps].ravel()
    ax = axes[0, 0]
    ax.plot(inf, fin, "o", ms=4, alpha=0.7, color=COLORS[0])
    lim = float(np.abs(np.concatenate([inf, fin])).max()) * 1.1 or 1.0
    ax.plot([-lim, lim], [-lim, lim], "k--", lw=1)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_xlabel("infinite pi-net output")
    ax.set_ylabel(f"width-{width} pi-net output")
    rows = frames.rows[r][steps]
    ax.set_title(
        f"r = {r}, after {steps} steps\nrows {list(map(int, rows))}, "
        f"{frames.nbytes[r][steps] / 1024:.0f} KiB",
        fontsize=9,
    )
    gaps = frames.gap(r, steps)
    ax = axes[0, 1]
    ax.loglog(frames.widths, gaps, "o-", color=COLORS[1], base=2)
    ax.loglog([width], [gaps[k]], "o", ms=12, mfc="none", mec="k")
    ref = gaps[0] * (np.array(frames.widths) / frames.widths[0]) ** -0.5
    ax.loglog(frames.widths, ref, "k--", lw=1, label="slope -1/2", base=2)
    ax.set_xlabel("width n")
    ax.set_ylabel("RMS output gap")
    ax.legend(fontsize=8)
    ax.set_title("gap against width", fontsize=9)
    return fig


__all__ = [
    "plot_accuracies",
    "plot_convergence",
    "plot_curves",
    "plot_frame",
    "plot_growth",
    "plot_parametrization",
]

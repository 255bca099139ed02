"""Everything that draws: one look for every chapter, then one module per topic.

This package file holds the shared style (:func:`figure`, :func:`loglog_sweep`,
:func:`histograms`, :func:`phase_diagram`, :func:`table`). Its modules draw the figures
of a topic (:mod:`~mupbook.viz.cancellation`, :mod:`~mupbook.viz.vector_matrix`,
:mod:`~mupbook.viz.kernels`, :mod:`~mupbook.viz.coord_check`, :mod:`~mupbook.viz.mutransfer`,
:mod:`~mupbook.viz.fewshot`, :mod:`~mupbook.viz.word2vec`, :mod:`~mupbook.viz.transformer`),
and :mod:`~mupbook.viz.explorers` builds every interactive explorer with one helper (live
ipywidgets, or pictures drawn ahead for the rendered book:
:mod:`~mupbook.viz.static_explorer`). Nothing outside this package imports it: the
chapters and this package sit on top of the library.
"""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from ..fit import loglog_slope

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def figure(
    ncols: int = 1, nrows: int = 1, width: float = 4.6, height: float = 3.6, **kw
):
    """A figure with a grid of axes sized for the book's text column."""
    return plt.subplots(
        nrows,
        ncols,
        figsize=(width * ncols, height * nrows),
        constrained_layout=True,
        squeeze=False,
        **kw,
    )


def loglog_sweep(
    ax: Axes,
    widths: np.ndarray,
    series: Mapping[str, np.ndarray],
    theory: Mapping[str, float] | None = None,
    *,
    xlabel: str = "width n",
    ylabel: str = "size",
) -> dict[str, float]:
    """Plot quantities against width on log-log axes, with fitted and theoretical slopes.

    ``series[label]`` has shape (widths,) or (seeds, widths): seeds are drawn
    faintly, their geometric mean with markers and a fitted line (slope in the
    legend). ``theory[label]`` draws a dashed line of that slope through the
    centroid of the mean points. Widths where a seed's value is non-finite (a diverged
    run) get a red x at the bottom edge, widths where it is 0 a grey triangle, instead of
    being dropped silently. Returns the fitted slopes.
    """
    widths = np.asarray(widths, dtype=float)
    slopes: dict[str, float] = {}
    for k, (label, values) in enumerate(series.items()):
        color = COLORS[k % len(COLORS)]
        vals = np.atleast_2d(np.asarray(values, dtype=float))
        if vals.shape[1] != widths.size:
            raise ValueError(
                f"{label}: {vals.shape[1]} values for {widths.size} widths"
            )
        for row in vals if vals.shape[0] > 1 else ():
            ax.plot(widths, row, color=color, alpha=0.2, lw=0.8)
        ok = np.all(np.isfinite(vals) & (vals > 0), axis=0)
        mean = np.full(widths.size, np.nan)
        mean[ok] = np.exp(np.log(vals[:, ok]).mean(axis=0))
        text = label
        if ok.sum() >= 2:
            fit = loglog_slope(widths[ok], mean[ok])
            slopes[label] = fit.slope
            text = f"{label}: slope {fit.slope:+.2f}"
            ax.plot(widths[ok], fit.predict(widths[ok]), color=color, lw=1.5)
        ax.plot(widths[ok], mean[ok], "o", color=color, label=text, ms=5)
        if theory and label in theory and ok.any():
            # The theory line passes through the centroid of the points in log-log space.
            lx, ly = np.log(widths[ok]).mean(), np.log(mean[ok]).mean()
            ax.plot(
                widths,
                np.exp(ly + theory[label] * (np.log(widths) - lx)),
                "--",
                color=color,
                lw=1,
                alpha=0.8,
            )
        # Marks at the bottom edge (x in data, y in axes coordinates): a red x where a run
        # diverged (non-finite), a grey triangle where the quantity is exactly 0 (e.g. all
        # ReLUs dead), which a log axis cannot show either.
        bad = ~np.all(np.isfinite(vals), axis=0)
        zero = ~ok & ~bad
        for mask, marker, color, what in (
            (bad, "x", "red", "diverged"),
            (zero, "v", "grey", "is 0"),
        ):
            if mask.any():
                ax.plot(
                    widths[mask],
                    np.full(mask.sum(), 0.03),
                    marker,
                    color=color,
                    ms=9,
                    mew=2,
                    label=f"{label}: {what}",
                    transform=ax.get_xaxis_transform(),
                    clip_on=False,
                )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if theory:
        ax.plot([], [], "k--", lw=1, label="theory")
    ax.legend(fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    return slopes


def histograms(axes, data: Mapping[str, np.ndarray], bins: int = 50) -> None:
    """One histogram per entry of ``data`` (label -> 1-D coordinates), on ``axes``."""
    axes = np.atleast_1d(axes).ravel()
    if len(axes) < len(data):
        raise ValueError(f"{len(data)} histograms need as many axes, got {len(axes)}")
    for k, (ax, (label, values)) in enumerate(zip(axes, data.items())):
        values = np.asarray(values, dtype=float)
        if not np.all(np.isfinite(values)):
            ax.text(
                0.5,
                0.5,
                "diverged: non-finite values",
                ha="center",
                va="center",
                color="red",
                transform=ax.transAxes,
            )
            ax.set_title(label)
            continue
        ax.hist(values, bins=bins, color=COLORS[k % len(COLORS)], alpha=0.8)
        rms = float(np.sqrt(np.mean(values**2)))
        ax.set_title(f"{label}\nrms {rms:.3g}", fontsize=10)
        ax.set_xlabel("coordinate value")


REGIME_COLORS = {
    "unstable": "#d9d9d9",
    "trivial": "#fdd0a2",
    "kernel": "#9ecae1",
    "feature learning": "#a1d99b",
}


def phase_diagram(
    ax: Axes,
    a_out: np.ndarray,
    c: np.ndarray,
    regimes: list[list[str]],
    marks: Mapping[str, tuple[float, float]] | None = None,
) -> None:
    """Colour the (a_{L+1}, c) plane by regime; ``marks`` labels points (a, c).

    Unstable and trivial parametrizations fill regions; the nontrivial ones lie on
    lines (an equality), so kernel and feature-learning grid points are also drawn
    as markers on top, where single cells would be too thin to see."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    names = list(REGIME_COLORS)
    codes = np.array([[names.index(r) for r in row] for row in regimes])
    da = (a_out[1] - a_out[0]) / 2 if len(a_out) > 1 else 0.5
    dc = (c[1] - c[0]) / 2 if len(c) > 1 else 0.5
    ax.imshow(
        codes,
        origin="lower",
        aspect="auto",
        interpolation="nearest",
        cmap=ListedColormap(list(REGIME_COLORS.values())),
        vmin=0,
        vmax=len(names) - 1,
        extent=(a_out[0] - da, a_out[-1] + da, c[0] - dc, c[-1] + dc),
    )
    for regime, marker, color in (
        ("kernel", "o", "#3182bd"),
        ("feature learning", "*", "#31a354"),
    ):
        rows, cols = np.nonzero(codes == names.index(regime))
        ax.plot(
            a_out[cols],
            c[rows],
            marker,
            color=color,
            ms=5 if marker == "o" else 13,
            ls="none",
        )
    for label, (a, cc) in (marks or {}).items():
        ax.plot([a], [cc], "k+", ms=12, mew=2)
        ax.annotate(
            label, (a, cc), textcoords="offset points", xytext=(6, 6), fontsize=9
        )
    ax.set_xlabel("$a_{L+1}$ (readout multiplier exponent)")
    ax.set_ylabel("$c$ (learning-rate exponent)")
    ax.legend(
        handles=[Patch(color=REGIME_COLORS[n], label=n) for n in names],
        fontsize=8,
        loc="lower left",
    )


def table(header: list[str], rows: list[list[object]]):
    """A small table as IPython Markdown (rendered in notebooks and in the book)."""
    from IPython.display import Markdown

    if any(len(r) != len(header) for r in rows):
        raise ValueError("every row needs one entry per header column")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return Markdown("\n".join(lines))

"""Figures of the Word2Vec chapter: PCA of city and state vectors, analogy accuracy against
width (with binomial intervals), and how far the embeddings turn against width."""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np

from ..experiments import word2vec as w2v
from ..experiments.word2vec import Projection
from ..stats import Proportion
from . import figure, loglog_sweep


def plot_pca(
    projections: Mapping[str, Projection | Mapping],
    axes=None,
    titles: Mapping[str, str] | None = None,
):
    """Side-by-side PCA scatters (cities vs states), separation score in each title."""
    items = list(projections.items())
    if axes is None:
        _, axes = plt.subplots(
            1, len(items), figsize=(4.2 * len(items), 4.0), squeeze=False
        )
        axes = axes[0]
    for ax, (key, p) in zip(axes, items):
        if isinstance(p, Mapping):
            p = Projection(
                list(p["words"]),
                np.array(p["is_city"], dtype=bool),
                np.array(p["xy"]),
                float(p["separation"]),
            )
        for flag, color, name in (
            (True, "tab:blue", "city"),
            (False, "tab:red", "state"),
        ):
            m = p.is_city == flag
            ax.scatter(p.xy[m, 0], p.xy[m, 1], s=14, c=color, label=name)
            for (x, y), w in zip(p.xy[m], np.array(p.words)[m]):
                ax.annotate(w, (x, y), fontsize=6, alpha=0.7)
        title = (titles or {}).get(key, key)
        ax.set_title(f"{title}\nseparation {p.score:.0f}%", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].legend(fontsize=7, loc="best")
    return axes[0].figure


def _value(v: float | Proportion) -> tuple[float, float, float]:
    """(accuracy, distance down to the interval's low end, up to its high end), in %."""
    if isinstance(v, Proportion):
        low, high = v.interval
        return v.percent, v.percent - low, high - v.percent
    return float(v), 0.0, 0.0


def plot_accuracy(points: Mapping[str, Mapping[str, float | Proportion]], axes=None):
    """Analogy accuracy (%) against width, one colour per source (``{"ours": {"64": p,
    ..., "ntp-256": p, ..., "limit": p, "ntk": p}, ...}``): muP widths joined by a solid
    line, NTP widths (keys ``ntp-<width>``) by a dotted one, the muP limit a dashed
    horizontal line and the NTK limit a dotted one. A :class:`~mupbook.stats.Proportion`
    is drawn with its 95% interval (error bars, a band for the limits)."""
    ax = axes if axes is not None else plt.subplots(figsize=(5.6, 3.8))[1]
    for i, (name, pts) in enumerate(points.items()):
        color = f"C{i}"
        for prefix, style, what in (("", "o-", "μP"), ("ntp-", "s:", "NTP")):
            ws = sorted(
                int(k[len(prefix) :])
                for k in pts
                if k.startswith(prefix) and k[len(prefix) :].isdigit()
            )
            if not ws:
                continue
            vals = np.array([_value(pts[f"{prefix}{w}"]) for w in ws])
            ax.errorbar(
                ws,
                vals[:, 0],
                yerr=vals[:, 1:].T if vals[:, 1:].any() else None,
                fmt=style,
                color=color,
                capsize=2,
                label=f"{name}: {what}, finite width",
            )
        for key, ls, what in (("limit", "--", "μP limit"), ("ntk", ":", "NTK limit")):
            if key not in pts:
                continue
            v, lo, hi = _value(pts[key])
            ax.axhline(v, ls=ls, color=color, label=f"{name}: {what}")
            if lo or hi:
                ax.axhspan(v - lo, v + hi, color=color, alpha=0.12, lw=0)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("width n")
    ax.set_ylabel("analogy accuracy (%)")
    ax.legend(fontsize=7)
    return ax.figure


def plot_turns(doc_or_run: Mapping | w2v.Run, ax=None, title: str = ""):
    """Mean turning angle of the embeddings (degrees) against width for muP and NTP, on
    log-log axes with fitted slopes and TP4's slopes ``-r`` (dashed,
    :func:`~mupbook.experiments.word2vec.theory_slope`)."""
    if ax is None:
        fig, axes = figure(width=5.0, height=3.6)
        ax = axes[0, 0]
    (ws, mup), (ws_ntp, ntp) = (
        w2v.turns(doc_or_run, "mup"),
        w2v.turns(doc_or_run, "ntp"),
    )
    if ws.tolist() != ws_ntp.tolist():
        raise ValueError(
            f"muP and NTP were trained at different widths: {ws.tolist()}, {ws_ntp.tolist()}"
        )
    loglog_sweep(
        ax,
        ws,
        {"μP": mup, "NTP": ntp},
        theory={"μP": w2v.theory_slope("mup"), "NTP": w2v.theory_slope("ntp")},
        ylabel="mean turning angle (degrees)",
    )
    ax.set_title(title or "how far the embeddings turn", fontsize=9)
    return ax.figure

"""Figures of the Word2Vec chapter: PCA of city and state vectors, analogy accuracy against width."""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np

from ..experiments.word2vec import Projection


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


def plot_accuracy(points: Mapping[str, Mapping[str, float]], axes=None):
    """Analogy accuracy against width, one line per source (``{"ours": {"64": acc, ...,
    "limit": acc}, ...}``); each source's limit is a dashed horizontal line."""
    ax = axes if axes is not None else plt.subplots(figsize=(5.2, 3.6))[1]
    for i, (name, pts) in enumerate(points.items()):
        color = f"C{i}"
        ws = sorted(int(k) for k in pts if k.isdigit())
        ax.plot(
            ws,
            [pts[str(w)] for w in ws],
            "o-",
            color=color,
            label=f"{name}: finite width",
        )
        if "limit" in pts:
            ax.axhline(pts["limit"], ls="--", color=color, label=f"{name}: μP limit")
        if "ntk" in pts:
            ax.axhline(
                pts["ntk"], ls=":", color=color, alpha=0.6, label=f"{name}: NTK limit"
            )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("width n")
    ax.set_ylabel("analogy accuracy (%)")
    ax.legend(fontsize=7)
    return ax.figure

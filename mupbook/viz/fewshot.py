"""Pictures for few-shot learning: tasks and predictions as images, accuracy against width."""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import paper
from ..data import omniglot
from ..experiments import maml
from . import COLORS, figure

GOOD, BAD = "#2ca02c", "#d62728"


def _img(x: torch.Tensor) -> np.ndarray:
    return x.detach().cpu().reshape(omniglot.SIDE, omniglot.SIDE).numpy()


def plot_tasks(
    tasks: omniglot.Tasks,
    n_tasks: int = 3,
    predictions: Mapping[str, torch.Tensor] | None = None,
    max_queries: int = 5,
):
    """One row per task: the support images (labelled), then query images.

    ``predictions[name]``: (B, N*Q) predicted labels of a model; each query image is framed
    green when the first model is right and red when wrong, and every model's predicted
    label is written under it. Returns the figure.
    """
    B, n_support = tasks.support_y.shape
    n_tasks = min(n_tasks, B)
    n_query = min(max_queries, tasks.query_y.shape[1])
    cols = n_support + n_query
    fig, axes = plt.subplots(
        n_tasks,
        cols,
        figsize=(1.05 * cols + 0.6, 1.35 * n_tasks + 0.4),
        squeeze=False,
    )
    names = list(predictions or {})
    for t in range(n_tasks):
        for j in range(cols):
            ax = axes[t, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < n_support:
                ax.imshow(_img(tasks.support_x[t, j]), cmap="Greys", vmin=0, vmax=1)
                ax.set_title(f"label {int(tasks.support_y[t, j])}", fontsize=8)
                continue
            q = j - n_support
            ax.imshow(_img(tasks.query_x[t, q]), cmap="Greys", vmin=0, vmax=1)
            truth = int(tasks.query_y[t, q])
            ax.set_title(f"query: {truth}", fontsize=8)
            if names:
                first = int(predictions[names[0]][t, q])
                for side in ax.spines.values():
                    side.set_edgecolor(GOOD if first == truth else BAD)
                    side.set_linewidth(2.5)
                ax.set_xlabel(
                    "\n".join(f"{n}: {int(predictions[n][t, q])}" for n in names),
                    fontsize=7,
                )
        axes[t, 0].set_ylabel(f"task {t + 1}", fontsize=8)
    fig.suptitle(
        "support set (one drawing per class) | query drawings"
        + (f"; frame: {names[0]} right (green) / wrong (red)" if names else ""),
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def plot_accuracy_vs_width(
    finite: Mapping[int, tuple[float, float]],
    limits: Mapping[str, tuple[float, float]],
    *,
    paper_finite: Mapping[int, float] | None = None,
    paper_limits: Mapping[str, float] | None = None,
    title: str = "",
    ax=None,
):
    """Meta-test accuracy (%) of finite widths (points with 95% bars, log2 width axis) and
    of limits (horizontal lines with bands); the paper's numbers as hollow markers and
    dotted lines in the same colours. ``finite[w] = (mean, ci95)``, ``limits[name] = (mean, ci95)``."""
    if ax is None:
        _, axes = figure(width=6.0, height=4.0)
        ax = axes[0, 0]
    widths = np.array(sorted(finite), dtype=float)
    if len(widths):
        mean = np.array([finite[int(w)][0] for w in widths])
        ci = np.array([finite[int(w)][1] for w in widths])
        ax.errorbar(
            widths,
            mean,
            yerr=ci,
            color="k",
            marker="o",
            capsize=3,
            label="finite width (ours)",
        )
    if paper_finite:
        pw = np.array(sorted(paper_finite), dtype=float)
        ax.plot(
            pw,
            [paper_finite[int(w)] for w in pw],
            "o:",
            mfc="none",
            color="0.45",
            label="finite width (paper)",
        )
    lo = min([*widths, *(paper_finite or {})], default=2)
    hi = max([*widths, *(paper_finite or {})], default=8192)
    for k, (name, (m, c)) in enumerate(limits.items()):
        color = COLORS[k % len(COLORS)]
        ax.axhline(m, color=color, lw=2, label=f"{name} (ours) {m:.1f}%")
        ax.axhspan(m - c, m + c, color=color, alpha=0.12, lw=0)
        if paper_limits and name in paper_limits:
            ax.axhline(
                paper_limits[name],
                color=color,
                ls=":",
                lw=1.5,
                label=f"{name} (paper) {paper_limits[name]:.1f}%",
            )
    ax.set_xscale("log", base=2)
    ax.set_xlim(lo / 1.5, hi * 1.5)
    ax.set_xlabel("width n")
    ax.set_ylabel("meta-test accuracy (%)")
    ax.axhline(20, color="0.7", lw=0.8, ls="--")
    ax.text(lo / 1.4, 20.5, "chance", fontsize=8, color="0.5")
    ax.legend(fontsize=7, loc="lower right", ncol=2)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_training(histories: Mapping[str, object], ax=None):
    """Validation accuracy against meta-step for several runs (``History`` objects);
    a red cross marks a run that diverged, at the step it stopped."""
    if ax is None:
        _, axes = figure(width=6.0, height=3.6)
        ax = axes[0, 0]
    for k, (name, h) in enumerate(histories.items()):
        color = COLORS[k % len(COLORS)]
        ax.plot(h.val_steps, h.val_acc, color=color, marker=".", label=name)
        if h.diverged_at is not None:
            y = h.val_acc[-1] if h.val_acc else 20
            ax.plot([h.diverged_at], [y], "x", color=BAD, ms=10, mew=2)
    ax.set_xlabel("meta-step")
    ax.set_ylabel("validation accuracy (%)")
    ax.legend(fontsize=7)
    return ax


def plot_recorded(recorded: Mapping[str, dict], inner_steps: int, ax=None):
    """The Omniglot panel of the blog's Figure 1 (the Microsoft Research blog post on TP4;
    TP4's own Figure 1 is a PCA of Word2Vec embeddings) from recorded full-size runs
    (:func:`mupbook.experiments.maml.load_results`), with the paper's numbers beside ours."""
    one_shot = {k: r for k, r in recorded.items() if maml.paper_setting(r["config"])}
    table = maml.accuracy_table(one_shot, inner_steps)
    finite = {
        int(k.split("-")[1]): v[:2]
        for k, v in table.items()
        if k.startswith("finite-")
    }
    limits = {
        k: v[:2]
        for k, v in table.items()
        if not k.startswith(("finite-", "ntp-", "sp-"))
    }
    paper_finite = {
        int(k.split("-")[1]): v
        for k, v in paper.OMNIGLOT_1SHOT.items()
        if k.startswith("finite")
    }
    paper_limits = {
        k: v for k, v in paper.OMNIGLOT_1SHOT.items() if not k.startswith("finite")
    }
    s = "s" if inner_steps > 1 else ""
    return plot_accuracy_vs_width(
        finite,
        limits,
        paper_finite=paper_finite,
        paper_limits=paper_limits,
        title=f"full size, from results/ ({inner_steps} inner step{s} at test)",
        ax=ax,
    )

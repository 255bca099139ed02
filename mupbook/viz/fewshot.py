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


def plot_validation_from_start(
    runs: Mapping[str, dict], at_start: Mapping[str, float], ax=None
):
    """Validation accuracy against meta-step of recorded runs (``{name: run dict}`` from
    :func:`mupbook.experiments.maml.recorded_runs`), each drawn from its accuracy before the
    first meta-step (``at_start[name]``, %, at step 0; computed, since runs record
    validations from step ``val_every`` on), with a dotted line at that start value: how
    far meta-training moved each model. Returns the axes."""
    if ax is None:
        _, axes = figure(width=6.0, height=3.6)
        ax = axes[0, 0]
    for k, (name, r) in enumerate(runs.items()):
        color = COLORS[k % len(COLORS)]
        h = r["history"]
        start = at_start[name]
        ax.plot(
            [0, *h["val_steps"]],
            [start, *h["val_acc"]],
            color=color,
            marker=".",
            label=f"{name} ({start:.1f}% at step 0)",
        )
        ax.axhline(start, color=color, ls=":", lw=1)
    ax.set_xlabel("meta-step")
    ax.set_ylabel("validation accuracy (%)")
    ax.legend(fontsize=7)
    return ax


def plot_kernel_grid(
    search: Mapping,
    ax=None,
    *,
    reference: tuple[float, float] = (1.0, 0.4),
):
    """A kernel search's first stage (:func:`mupbook.experiments.maml.kernel_search`):
    validation accuracy (%) at f = 0, before any meta-step, over sigma_b (rows) x inner step
    size (columns), each cell written out; for the NTK each cell is the best over sigma_v
    (the title says so). A black square marks the setting the search chose, a red circle
    ``reference`` = (sigma_b, inner lr), by default sigma_b = 1 and the finite networks'
    inner step size 0.4. Returns the axes."""
    if ax is None:
        _, axes = figure(width=5.6, height=4.0)
        ax = axes[0, 0]
    grid = maml.search_grid(search)
    im = ax.imshow(grid.val_acc, origin="lower", cmap="viridis", aspect="auto")
    finite = grid.val_acc[np.isfinite(grid.val_acc)]
    mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
    for i in range(len(grid.sigma_b)):
        for j in range(len(grid.inner_lr)):
            v = grid.val_acc[i, j]
            if np.isfinite(v):
                ax.text(
                    j,
                    i,
                    f"{v:.1f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="k" if v > mid else "w",
                )
    ax.set_xticks(range(len(grid.inner_lr)), [f"{x:g}" for x in grid.inner_lr])
    ax.set_yticks(range(len(grid.sigma_b)), [f"{x:g}" for x in grid.sigma_b])
    ax.tick_params(labelsize=7)
    ax.set_xlabel("inner step size")
    ax.set_ylabel("sigma_b (sigma_w = 1)")
    chosen = search["chosen"]
    cj, ci = (
        grid.inner_lr.index(chosen["inner_lr"]),
        grid.sigma_b.index(chosen["sigma_b"]),
    )
    ntk = search["model"] == "relu-ntk"
    what = f", sigma_v {chosen['sigma_v']:g}" if ntk else ""
    ax.add_patch(
        plt.Rectangle(
            (cj - 0.5, ci - 0.5),
            1,
            1,
            fill=False,
            ec="k",
            lw=2.2,
            label=f"chosen: sigma_b {chosen['sigma_b']:g}{what}, "
            f"inner lr {chosen['inner_lr']:g}",
        )
    )
    rb, rlr = reference
    if rb in grid.sigma_b and rlr in grid.inner_lr:
        ax.plot(
            [grid.inner_lr.index(rlr)],
            [grid.sigma_b.index(rb)],
            "o",
            mfc="none",
            mec=BAD,
            mew=1.8,
            ms=16,
            label=f"sigma_b {rb:g}, inner lr {rlr:g}",
        )
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1)
    ax.set_title(
        f"{search['model']}: validation at f = 0 (%)"
        + (", best over sigma_v" if ntk else ""),
        fontsize=9,
    )
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    return ax


def plot_screening(search: Mapping, ax=None):
    """A kernel search's screening runs (its second stage): each run's validation accuracy
    minus its value at f = 0 (step 0), against meta-step, coloured by meta learning rate,
    with the band of +-1 point shaded: how far meta-training moved it. Returns the axes."""
    if ax is None:
        _, axes = figure(width=5.6, height=3.6)
        ax = axes[0, 0]
    metas = sorted({r["meta_lr"] for r in search["screen"]})
    for r in search["screen"]:
        color = COLORS[metas.index(r["meta_lr"]) % len(COLORS)]
        ax.plot(
            [0, *r["val_steps"]],
            [0.0, *(v - r["val_at_init"] for v in r["val_acc"])],
            color=color,
            marker=".",
            lw=1,
            alpha=0.8,
        )
    for m in metas:
        ax.plot(
            [], [], color=COLORS[metas.index(m) % len(COLORS)], label=f"meta lr {m:g}"
        )
    ax.axhspan(-1, 1, color="0.85", lw=0, zorder=0, label="within 1 point of f = 0")
    ax.axhline(0, color="0.4", lw=0.8, ls=":")
    ax.set_xlabel("meta-step")
    ax.set_ylabel("validation minus validation at f = 0 (points)")
    ax.set_title(
        f"{search['model']}: {len(search['screen'])} screening runs of "
        f"{search['steps']} meta-steps",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    return ax

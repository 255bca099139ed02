"""Figures of the NNGP/NTK chapter: finite networks' kernels beside the exact ones, how far
training moves them, kernel regression against width, NNGP uncertainty bands. Its explorer
(:func:`mupbook.viz.explorers.kernel_explorer`) redraws :func:`plot_kernel_slice`.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch

from .. import _checks
from ..empirical import empirical_kernels, relative_error
from ..kernels import ACTIVATIONS as KERNEL_ACTIVATIONS
from ..kernels import mlp_kernels
from ..nn import nt_mlp
from ..runtime import generator
from ..studies.kernel_regression import Band, Sweep
from ..studies.movement import KernelMovement
from . import COLORS, figure, loglog_sweep

__all__ = [
    "circle_inputs",
    "plot_kernel_slice",
    "plot_movement",
    "plot_regression",
    "plot_band",
]


def circle_inputs(num: int = 73) -> tuple[np.ndarray, torch.Tensor]:
    """Angles ``theta`` in [-pi, pi] (num,) and the 2-D inputs ``sqrt(2) (cos, sin)``
    (num, 2), float64, so that ``<x, x> / d = 1`` and ``<x(0), x(theta)> / d = cos theta``."""
    num = _checks.integer(num, "num", minimum=3)
    theta = np.linspace(-math.pi, math.pi, num)
    x = math.sqrt(2.0) * torch.tensor(
        np.stack([np.cos(theta), np.sin(theta)], axis=1)
    )
    return theta, x


def plot_kernel_slice(
    width: int = 256,
    depth: int = 2,
    activation: str = "relu",
    seeds: Sequence[int] = (0, 1, 2),
    num: int = 73,
    *,
    w_std: float = 1.0,
    b_std: float = 0.0,
):
    """``K(x(0), x(theta))`` on the unit circle: the exact NNGP and NTK (black) and the
    empirical kernels of ``len(seeds)`` networks ``nt_mlp(2, width, 1, w_std=, b_std=)``
    (colours; with the default stds this is ``AbcMLP(2, width, 1, "ntp")``)."""
    _checks.positive_int(width, "width")
    if activation not in KERNEL_ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {', '.join(KERNEL_ACTIVATIONS)}, got {activation!r}"
        )
    if not seeds:
        raise ValueError("seeds must name at least one network")
    theta, x = circle_inputs(num)
    x0 = x[num // 2 : num // 2 + 1]  # theta = 0
    exact = mlp_kernels(
        x0, x, depth=depth, activation=activation, w_std=w_std, b_std=b_std
    )
    fig, axes = figure(ncols=2, width=4.2, height=3.2)
    errors: dict[str, list[float]] = {"nngp": [], "ntk": []}
    for k, seed in enumerate(seeds):
        net = nt_mlp(
            2,
            width,
            1,
            depth=depth,
            activation=activation,
            w_std=w_std,
            b_std=b_std,
            generator=generator(int(seed)),
            dtype=torch.float64,
        )
        emp = empirical_kernels(net, x0, x)
        for ax, name in zip(axes[0], ("nngp", "ntk")):
            ax.plot(
                theta,
                getattr(emp, name)[0].numpy(),
                color=COLORS[k % len(COLORS)],
                lw=1,
                alpha=0.8,
                label=f"width {width}, seed {seed}",
            )
            errors[name].append(
                relative_error(getattr(emp, name), getattr(exact, name))
            )
    for ax, name in zip(axes[0], ("nngp", "ntk")):
        ax.plot(
            theta,
            getattr(exact, name)[0].numpy(),
            "k",
            lw=2,
            label="exact (infinite width)",
        )
        ax.set_xlabel(r"angle $\theta$ between the inputs")
        ax.set_title(
            f"{name.upper()}: mean relative error {np.mean(errors[name]):.3f}",
            fontsize=10,
        )
        ax.set_xticks(
            [-math.pi, -math.pi / 2, 0, math.pi / 2, math.pi],
            [r"$-\pi$", r"$-\pi/2$", "0", r"$\pi/2$", r"$\pi$"],
        )
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(r"$K(x(0), x(\theta))$")
    axes[0, 1].legend(fontsize=7)
    fig.suptitle(
        f"depth {depth}, {activation}, W_std {w_std:g}, b_std {b_std:g}: "
        "empirical kernels of NTP networks vs the exact kernels",
        fontsize=10,
    )
    return fig


def plot_movement(moves: Mapping[str, KernelMovement]):
    """One log-log panel per parametrization: relative change of the features, the feature
    kernel and the NTK against width, with theory slopes (NTP: -1/2, -1, -1; muP: 0)."""
    fig, axes = figure(ncols=len(moves), width=4.4)
    slopes = {}
    for ax, (name, m) in zip(axes[0], moves.items()):
        kernel_slope = -1.0 if name == "ntp" else 0.0
        theory = {
            "features": -0.5 if name == "ntp" else 0.0,
            "feature kernel": kernel_slope,
            "NTK": kernel_slope,
        }
        slopes[name] = loglog_sweep(
            ax,
            m.widths,
            {
                "features": m.features,
                "feature kernel": m.feature_kernel,
                "NTK": m.ntk,
            },
            theory=theory,
            ylabel="relative change during training",
        )
        ax.set_title(f"{name}: {m.steps} GD steps, lr {m.lr:g}", fontsize=10)
    return fig, slopes


def plot_regression(sweep: Sweep):
    """Left: the gap between centred networks and the NTK prediction against width
    (log-log). Right: the networks' test MSE, with the NNGP and NTK values as lines."""
    fig, axes = figure(ncols=2, width=4.4)
    loglog_sweep(
        axes[0, 0],
        sweep.widths,
        {"network vs NTK": sweep.gap},
        theory={"network vs NTK": -0.5},
        ylabel="relative gap in test predictions",
    )
    axes[0, 0].set_title(f"after {sweep.steps} GD steps", fontsize=10)
    ax = axes[0, 1]
    ws = sweep.widths
    for row in sweep.mse if sweep.mse.shape[0] > 1 else ():
        ax.plot(ws, row, color=COLORS[0], alpha=0.25, lw=0.8)
    ax.plot(
        ws, sweep.mse.mean(axis=0), "o-", color=COLORS[0], label="finite NTP networks"
    )
    ax.axhline(
        sweep.kernel_mse["ntk"],
        color=COLORS[1],
        ls="--",
        label=f"NTK (t = inf): {sweep.kernel_mse['ntk']:.4f}",
    )
    ax.axhline(
        sweep.kernel_mse["nngp"],
        color=COLORS[2],
        ls=":",
        label=f"NNGP posterior: {sweep.kernel_mse['nngp']:.4f}",
    )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("width n")
    ax.set_ylabel("test MSE")
    ax.set_title("test error against width", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_band(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    band: Band,
    truth: torch.Tensor | None = None,
):
    """The NNGP posterior mean and a band of +- 2 standard deviations, with the data."""
    fig, axes = figure(width=6.0, height=3.4)
    ax = axes[0, 0]
    xs = x_test.reshape(-1).numpy()
    mean, std = band.mean.numpy(), band.std.numpy()
    ax.fill_between(
        xs,
        mean - 2 * std,
        mean + 2 * std,
        color=COLORS[0],
        alpha=0.25,
        label="mean +- 2 std",
    )
    ax.plot(xs, mean, color=COLORS[0], label="NNGP posterior mean")
    if truth is not None:
        ax.plot(xs, truth.reshape(-1).numpy(), "k--", lw=1, label="sin x (truth)")
    ax.plot(
        x_train.reshape(-1).numpy(),
        y_train.reshape(-1).numpy(),
        "o",
        color=COLORS[1],
        label="training points",
    )
    ax.set_xlabel("x")
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4)
    ax.grid(alpha=0.3)
    return fig

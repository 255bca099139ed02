"""How far features move during training, against width (TP4 sections 3 and 5).

In a kernel-regime parametrization such as NTP the relative change of the
last hidden layer's features after a fixed number of steps shrinks like
``n^(-r)`` with ``r = 1/2``; in muP (``r = 0``) it stays ``Theta(1)``. This is why
the NNGP and NTK limits never leave initialization and learn no features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Generic, Sequence, TypeVar

import numpy as np
import torch
from tqdm.auto import tqdm

from . import runtime
from .abc import ABC
from .fit import SlopeFit, loglog_slope
from .nn import AbcMLP, check_width, check_widths

T = TypeVar("T")

#: A run whose loss grows beyond this multiple of its initial value has diverged.
DIVERGENCE_FACTOR = 1e3


def teacher_task(n_train: int, d_in: int, seed: int, dtype: torch.dtype = torch.float64
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed synthetic regression task: ``X ~ N(0, I)`` (n_train, d_in), ``y = sin(2 X u)`` (n_train, 1).

    ``u`` is a random unit vector; the target is nonlinear in ``X`` so that a
    network must learn features of it.
    """
    check_width(n_train, "n_train")
    check_width(d_in, "d_in")
    gen = runtime.generator(seed)
    x = torch.randn(n_train, d_in, generator=gen, dtype=dtype)
    u = torch.randn(d_in, 1, generator=gen, dtype=dtype)
    return x, torch.sin(2.0 * x @ (u / u.norm()))


@dataclass
class Movement:
    """Relative change ``|x^L_T - x^L_0|_F / |x^L_0|_F`` of the last hidden layer's
    features on the training set, shape (seeds, widths); ``loss`` has shape
    (seeds, widths, steps + 1). ``diverged_runs`` (seeds, widths) marks runs whose
    loss became non-finite or exceeded ``DIVERGENCE_FACTOR`` times its initial
    value; their relative change is NaN and their loss stops where they diverged."""

    widths: np.ndarray
    rel_change: np.ndarray
    loss: np.ndarray
    diverged_runs: np.ndarray
    param: str
    lr: float
    steps: int
    slope: SlopeFit | None = field(init=False)

    def __post_init__(self) -> None:
        ok = ~self.diverged
        self.slope = loglog_slope(self.widths[ok], self.mean()[ok]) if ok.sum() >= 2 else None

    @property
    def diverged(self) -> np.ndarray:
        """Per width: True where any seed's training diverged."""
        return self.diverged_runs.any(axis=0)

    def mean(self) -> np.ndarray:
        """Geometric mean over seeds of the relative change, per width."""
        with np.errstate(invalid="ignore"):
            return np.exp(np.log(self.rel_change).mean(axis=0))


def train_on_teacher(
    param: ABC | str,
    widths: Sequence[int],
    probe: Callable[[AbcMLP, torch.Tensor], T],
    *,
    steps: int = 10,
    lr: float = 0.5,
    seeds: Sequence[int] = (0, 1, 2),
    depth: int = 2,
    n_train: int = 32,
    d_in: int = 16,
    activation: str = "tanh",
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
    progress: bool = True,
) -> TeacherRuns[T]:
    """Train ``AbcMLP(d_in, n, 1, param)`` by full-batch SGD on :func:`teacher_task`, for
    every seed and width, and apply ``probe(net, x_train)`` before and after training.

    Loss: mean of ``(f - y)^2 / 2``; learning rate ``lr * n^-c``. Seed ``s`` draws the task
    from ``s`` and the networks of every width from one generator seeded ``s + 1``. A run
    whose loss becomes non-finite or grows past ``DIVERGENCE_FACTOR`` times its start is
    stopped and marked in ``diverged_at`` (the step, else -1); its ``after`` is None.
    """
    ws = check_widths(widths)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    dev = runtime.device(None if device is None else str(device))
    losses = np.full((len(seeds), len(ws), steps + 1), np.nan)
    diverged_at = np.full((len(seeds), len(ws)), -1)
    before: list[list[T]] = []
    after: list[list[T | None]] = []
    name = param if isinstance(param, str) else param.name
    bar = tqdm(total=len(seeds) * len(ws), desc=f"training {name}", disable=not progress, leave=False)
    for i, seed in enumerate(seeds):
        x, y = (t.to(dev) for t in teacher_task(n_train, d_in, seed, dtype))
        gen = runtime.generator(seed + 1)
        before.append([])
        after.append([])
        for j, n in enumerate(ws):
            net = AbcMLP(d_in, int(n), 1, param, depth=depth, activation=activation,
                         generator=gen, dtype=dtype, device=dev)
            opt = net.sgd(lr)
            before[i].append(probe(net, x))
            for t in range(steps + 1):
                loss = 0.5 * (net(x) - y).pow(2).mean()
                losses[i, j, t] = loss.item()
                if not losses[i, j, t] <= DIVERGENCE_FACTOR * losses[i, j, 0]:  # also catches NaN
                    diverged_at[i, j] = t
                    break
                if t < steps:
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            after[i].append(probe(net, x) if diverged_at[i, j] < 0 else None)
            bar.update()
    bar.close()
    return TeacherRuns(ws, losses, diverged_at, before, after, name)


@dataclass
class TeacherRuns(Generic[T]):
    """What :func:`train_on_teacher` saw: ``losses`` (seeds, widths, steps + 1), the step at
    which each run diverged (-1: it did not), and the probe's values before and after."""

    widths: np.ndarray
    losses: np.ndarray
    diverged_at: np.ndarray
    before: list[list[T]]
    after: list[list[T | None]]
    name: str


def last_features(net: AbcMLP, x: torch.Tensor) -> torch.Tensor:
    """The last hidden layer's features on ``x``, shape (B, n), without gradients."""
    with torch.no_grad():
        return net(x, return_features=True)[1][-1].clone()


def feature_movement(
    param: ABC | str,
    widths: Sequence[int],
    *,
    steps: int = 10,
    lr: float = 0.5,
    seeds: Sequence[int] = (0, 1, 2),
    depth: int = 2,
    n_train: int = 32,
    d_in: int = 16,
    activation: str = "tanh",
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
    progress: bool = True,
) -> Movement:
    """The relative change of the last hidden layer's features in :func:`train_on_teacher`'s
    runs. Diverged runs are marked (NaN entries, ``diverged_runs``), not dropped."""
    runs = train_on_teacher(param, widths, last_features, steps=steps, lr=lr, seeds=seeds,
                            depth=depth, n_train=n_train, d_in=d_in, activation=activation,
                            device=device, dtype=dtype, progress=progress)
    rel = np.full(runs.diverged_at.shape, np.nan)
    for i, (row0, row1) in enumerate(zip(runs.before, runs.after)):
        for j, (f0, f1) in enumerate(zip(row0, row1)):
            if f1 is not None:
                rel[i, j] = ((f1 - f0).norm() / f0.norm()).item()
    return Movement(runs.widths, rel, runs.losses, runs.diverged_at >= 0, runs.name, float(lr), steps)

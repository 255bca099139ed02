"""How far features and kernels move during training, against width (TP4 sections 3 and 5).

In a kernel-regime parametrization such as NTP the relative change of the
last hidden layer's features after a fixed number of steps shrinks like
``n^(-r)`` with ``r = 1/2``, and that of the feature kernel and the NTK like ``n^-1``;
in muP (``r = 0``) all three stay ``Theta(1)``. This is why the NNGP and NTK limits never
leave initialization and learn no features.

Every study here trains the same networks on the same task, described once by a
:class:`Teacher` (the task, the optimizer and the seeds); a keyword argument of a study
function changes one field of it (``feature_movement("ntp", widths, lr=2.0)``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Sequence, TypeVar

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import _checks, runtime
from ..abc import ABC
from ..empirical import empirical_ntk, feature_kernel, relative_error
from ..fit import SlopeFit, loglog_slope
from ..nn import ACTIVATIONS, AbcMLP, check_float_dtype

T = TypeVar("T")

#: A run whose loss grows beyond this multiple of its initial value has diverged.
DIVERGENCE_FACTOR = 1e3


def teacher_task(
    n_train: int, d_in: int, seed: int, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed synthetic regression task: ``X ~ N(0, I)`` (n_train, d_in), ``y = sin(2 X u)`` (n_train, 1).

    ``u`` is a random unit vector; the target is nonlinear in ``X`` so that a
    network must learn features of it.
    """
    _checks.positive_int(n_train, "n_train")
    _checks.positive_int(d_in, "d_in")
    gen = runtime.generator(seed)
    x = torch.randn(n_train, d_in, generator=gen, dtype=dtype)
    u = torch.randn(d_in, 1, generator=gen, dtype=dtype)
    return x, torch.sin(2.0 * x @ (u / u.norm()))


@dataclass(frozen=True)
class Teacher:
    """The set-up of every movement study: ``AbcMLP(d_in, n, 1, param, depth=,
    activation=)`` trained by ``steps`` full-batch SGD steps at learning rate ``lr n^-c`` on
    :func:`teacher_task` (``n_train`` points), once per seed, in ``dtype`` on ``device``."""

    steps: int = 10
    lr: float = 0.5
    seeds: tuple[int, ...] = (0, 1, 2)
    depth: int = 2
    n_train: int = 32
    d_in: int = 16
    activation: str = "tanh"
    dtype: torch.dtype = torch.float64
    device: torch.device | str | None = None

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        set_("steps", _checks.positive_int(self.steps, "steps"))
        set_("lr", _checks.positive_float(self.lr, "lr"))
        set_("seeds", _checks.seeds(self.seeds))
        for name in ("depth", "n_train", "d_in"):
            set_(name, _checks.positive_int(getattr(self, name), name))
        _checks.choice(self.activation, tuple(ACTIVATIONS), "activation")
        check_float_dtype(self.dtype)

    def replace(self, **changes: Any) -> Teacher:
        """A copy with some fields changed; an unknown field is an error naming the known ones."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(
                f"unknown set-up field(s) {sorted(unknown)}; a Teacher has "
                f"{[f.name for f in dataclasses.fields(self)]}"
            )
        return dataclasses.replace(self, **changes)


def _setup(setup: Teacher | None, changes: dict[str, Any]) -> Teacher:
    if setup is not None and not isinstance(setup, Teacher):
        raise ValueError(f"setup must be a Teacher, got {type(setup).__name__}")
    return (setup or Teacher()).replace(**changes)


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
        self.slope = (
            loglog_slope(self.widths[ok], self.mean()[ok]) if ok.sum() >= 2 else None
        )

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
    setup: Teacher | None = None,
    *,
    progress: bool = True,
    **changes: Any,
) -> TeacherRuns[T]:
    """Train ``AbcMLP(d_in, n, 1, param)`` by full-batch SGD on :func:`teacher_task`, for
    every seed and width, and apply ``probe(net, x_train)`` before and after training.

    Loss: mean of ``(f - y)^2 / 2``; learning rate ``lr * n^-c``. Seed ``s`` draws the task
    from ``s`` and the networks of every width from one generator seeded ``s + 1``. A run
    whose loss becomes non-finite or grows past ``DIVERGENCE_FACTOR`` times its start is
    stopped and marked in ``diverged_at`` (the step, else -1); its ``after`` is None.
    """
    ws = _checks.widths(widths)
    su = _setup(setup, changes)
    steps, seeds, dtype = su.steps, su.seeds, su.dtype
    dev = runtime.device(None if su.device is None else str(su.device))
    losses = np.full((len(seeds), len(ws), steps + 1), np.nan)
    diverged_at = np.full((len(seeds), len(ws)), -1)
    before: list[list[T]] = []
    after: list[list[T | None]] = []
    name = param if isinstance(param, str) else param.name
    bar = tqdm(
        total=len(seeds) * len(ws),
        desc=f"training {name}",
        disable=not progress,
        leave=False,
    )
    for i, seed in enumerate(seeds):
        x, y = (t.to(dev) for t in teacher_task(su.n_train, su.d_in, seed, dtype))
        gen = runtime.generator(seed + 1)
        before.append([])
        after.append([])
        for j, n in enumerate(ws):
            net = AbcMLP(
                su.d_in,
                int(n),
                1,
                param,
                depth=su.depth,
                activation=su.activation,
                generator=gen,
                dtype=dtype,
                device=dev,
            )
            opt = net.sgd(su.lr)
            before[i].append(probe(net, x))
            for t in range(steps + 1):
                loss = 0.5 * (net(x) - y).pow(2).mean()
                losses[i, j, t] = loss.item()
                if (
                    not losses[i, j, t] <= DIVERGENCE_FACTOR * losses[i, j, 0]
                ):  # also catches NaN
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
    setup: Teacher | None = None,
    *,
    progress: bool = True,
    **changes: Any,
) -> Movement:
    """The relative change of the last hidden layer's features in :func:`train_on_teacher`'s
    runs. Diverged runs are marked (NaN entries, ``diverged_runs``), not dropped."""
    su = _setup(setup, changes)
    runs = train_on_teacher(param, widths, last_features, su, progress=progress)
    rel = np.full(runs.diverged_at.shape, np.nan)
    for i, (row0, row1) in enumerate(zip(runs.before, runs.after)):
        for j, (f0, f1) in enumerate(zip(row0, row1)):
            if f1 is not None:
                rel[i, j] = ((f1 - f0).norm() / f0.norm()).item()
    return Movement(
        runs.widths,
        rel,
        runs.losses,
        runs.diverged_at >= 0,
        runs.name,
        su.lr,
        su.steps,
    )


# ----------------------------------------------------------------------------- kernels


@dataclass
class KernelMovement:
    """How far training moves a network, on the training set, shape (seeds, widths) each:
    relative changes ``|A_T - A_0|_F / |A_0|_F`` of the empirical NTK (``ntk``), of the
    last hidden layer's feature kernel (``feature_kernel``) and of the features themselves
    (``features``, the (N, n) matrix ``x^L``). ``slopes`` fit the geometric means over seeds.

    In NTP the features move ``~ n^-1/2`` but both kernels only ``~ n^-1``: the movement
    is uncorrelated with the features, so it cancels in their inner products. In muP all
    three move ``Theta(1)``."""

    widths: np.ndarray
    ntk: np.ndarray
    feature_kernel: np.ndarray
    features: np.ndarray
    loss: np.ndarray
    param: str
    lr: float
    steps: int
    slopes: dict[str, SlopeFit] = field(init=False)

    QUANTITIES = ("ntk", "feature_kernel", "features")

    def __post_init__(self) -> None:
        self.slopes = {
            k: loglog_slope(self.widths, self.mean(k)) for k in self.QUANTITIES
        }

    def mean(self, which: str) -> np.ndarray:
        """Geometric mean over seeds of ``which`` (one of ``QUANTITIES``), per width."""
        if which not in self.QUANTITIES:
            raise ValueError(
                f"which must be one of {', '.join(self.QUANTITIES)}, got {which!r}"
            )
        return np.exp(np.log(getattr(self, which)).mean(axis=0))


def kernel_movement(
    param: ABC | str,
    widths: Sequence[int],
    setup: Teacher | None = None,
    **changes: Any,
) -> KernelMovement:
    """Train ``AbcMLP(d_in, n, 1, param)`` by full-batch SGD on
    :func:`teacher_task` (loss ``mean((f - y)^2) / 2``, learning rate ``lr n^-c``, the
    set-up ``setup`` of :func:`feature_movement`) and measure how
    much its empirical NTK, its feature kernel and its features on the training set change.

    A run whose loss becomes non-finite or grows past ``DIVERGENCE_FACTOR`` times its
    start raises ValueError (lower ``lr``): a diverged run has no meaningful movement.
    """
    ws = _checks.widths(widths)
    su = _setup(setup, changes)

    def probe(
        net: AbcMLP, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return empirical_ntk(net, x), feature_kernel(net, x), last_features(net, x)

    runs = train_on_teacher(param, ws, probe, su, progress=False)
    bad = np.argwhere(runs.diverged_at >= 0)
    if bad.size:
        i, j = bad[0]
        raise ValueError(
            f"training diverged ({runs.name}, width {ws[j]}, seed {su.seeds[i]}, step "
            f"{runs.diverged_at[i, j]}); lower lr (now {su.lr})"
        )
    changes = np.array(
        [
            [
                [relative_error(a, b) for a, b in zip(after, before)]
                for after, before in zip(row1, row0)
            ]
            for row0, row1 in zip(runs.before, runs.after)
        ]
    )  # (seeds, widths, 3)
    return KernelMovement(
        ws,
        changes[..., 0],
        changes[..., 1],
        changes[..., 2],
        runs.losses,
        runs.name,
        su.lr,
        su.steps,
    )

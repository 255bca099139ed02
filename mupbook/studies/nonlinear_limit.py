"""The chapter "Computing the feature-learning limit": finite networks beside the limits.

Two tasks (:class:`Task`): :func:`sine_task`, the 1-D regression on which finite muP
networks are compared with the limit of :mod:`mupbook.limits.one_hidden`, and
:func:`ridge_task`, a 2-D regression whose target depends on one direction of the input
(feature learning helps there). Around them:

* :func:`mup_sweep`: ordinary muP networks (``MuMLP``, drawn from the limit's initial law
  by :meth:`~mupbook.limits.one_hidden.OneHiddenLimit.sample`) over widths and seeds,
  trained like the limit; :class:`WidthSweep` turns their outputs into the RMS gap to the
  limit, the variance over seeds and their log-log slopes, with standard errors from
  resampling the seeds (:meth:`WidthSweep.bootstrap_se`);
* :func:`ntp_sweep`: the same networks in NTP (``nt_mlp``, neural-tangents' convention),
  each trained as an *antisymmetric pair* (``f = (g_A - g_B) / sqrt 2``, B a copy of A, so
  ``f_0 = 0`` and the NTK is unchanged), against :func:`ntk_prediction`, the NTK's
  gradient-descent predictor for the same discrete steps;
* :func:`compare_limits`: the test errors of the two limits on a task;
* :func:`gauss_hermite_study`: the tensor Gauss-Hermite rule's error against a reference,
  early and late in training;
* :func:`node_movement`: how far the limit's pre-activations move (its features).

Shapes: tasks have inputs (N, d) / (E, d) and targets (N, 1) / (E, 1), float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch

from .. import _checks
from ..fit import SlopeFit, loglog_slope
from ..kernels import mlp_kernels
from ..limits import one_hidden
from ..limits.one_hidden import OneHiddenLimit, Training
from ..nn import nt_mlp
from ..predict import ntk_gd_predict, ntk_predict

__all__ = [
    "Task",
    "sine_task",
    "ridge_task",
    "network_seed",
    "WidthSweep",
    "mup_sweep",
    "ntp_sweep",
    "ntk_lr",
    "ntk_prediction",
    "Comparison",
    "compare_limits",
    "GaussHermite",
    "gauss_hermite_study",
    "trained_limit",
    "node_movement",
    "weight_moments",
]


class Task(NamedTuple):
    """A regression task: train inputs (N, d) and targets (N, 1), test inputs (E, d) and
    targets (E, 1), all float64."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def sine_task(n_train: int = 8, frequency: float = 3.0, n_test: int = 41) -> Task:
    """1-D: ``n_train`` evenly spaced inputs in [-1, 1], target ``sin(frequency x)``; the
    test inputs are ``n_test`` evenly spaced points of the same interval."""
    n_train = _checks.positive_int(n_train, "n_train")
    n_test = _checks.positive_int(n_test, "n_test")
    x = torch.linspace(-1, 1, n_train, dtype=torch.float64)[:, None]
    xt = torch.linspace(-1, 1, n_test, dtype=torch.float64)[:, None]
    return Task(x, torch.sin(frequency * x), xt, torch.sin(frequency * xt))


def ridge_task(
    n_train: int = 16,
    seed: int = 0,
    *,
    sharpness: float = 5.0,
    n_test: int = 400,
    test_seed: int = 999,
) -> Task:
    """2-D: inputs uniform in [-1, 1]^2 (train drawn with ``seed``, test with
    ``test_seed``), target ``tanh(sharpness x_1)``: it depends on one direction only."""
    n_train = _checks.positive_int(n_train, "n_train")
    n_test = _checks.positive_int(n_test, "n_test")

    def draw(n: int, s: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(_checks.seed(s))
        return torch.rand(n, 2, generator=g, dtype=torch.float64) * 2 - 1

    x, xt = draw(n_train, seed), draw(n_test, test_seed)
    return Task(
        x,
        torch.tanh(sharpness * x[:, :1]),
        xt,
        torch.tanh(sharpness * xt[:, :1]),
    )


def network_seed(seed: int, width: int) -> int:
    """The seed of the width-``width`` network of run ``seed`` (distinct for every pair)."""
    return 1_000_003 * _checks.seed(seed) + _checks.positive_int(width, "width")


# ----------------------------------------------------------------------------- sweeps


@dataclass(frozen=True)
class WidthSweep:
    """Trained networks' test outputs ``outputs`` (S, W, E) for ``widths`` (W,) and
    ``seeds`` (S,), a ``reference`` (E,) they should approach (a limit), and each network's
    feature ``movement`` (S, W) (relative change of its hidden pre-activations)."""

    widths: np.ndarray
    seeds: tuple[int, ...]
    outputs: np.ndarray
    reference: np.ndarray
    movement: np.ndarray

    def gaps(self, outputs: np.ndarray | None = None) -> np.ndarray:
        """(S, W): each network's RMS distance to the reference over the test inputs."""
        out = self.outputs if outputs is None else outputs
        return np.sqrt(((out - self.reference) ** 2).mean(axis=-1))

    def rms_gap(self, outputs: np.ndarray | None = None) -> np.ndarray:
        """(W,): the gaps' root mean square over seeds."""
        return np.sqrt((self.gaps(outputs) ** 2).mean(axis=0))

    def variance(self, outputs: np.ndarray | None = None) -> np.ndarray:
        """(W,): the outputs' variance over seeds (ddof 1), averaged over test inputs."""
        out = self.outputs if outputs is None else outputs
        return out.var(axis=0, ddof=1).mean(axis=-1)

    def mean_gap(self) -> np.ndarray:
        """(W,): RMS distance of the *seed-averaged* output to the reference (a different
        quantity: it stops falling at the seeds' noise floor)."""
        return np.sqrt(((self.outputs.mean(axis=0) - self.reference) ** 2).mean(-1))

    def slope(self, stat: str) -> SlopeFit:
        """Log-log fit against width of ``"rms_gap"``, ``"variance"`` or ``"movement"``
        (the movement's mean over seeds)."""
        return loglog_slope(
            self.widths, self._stat(stat, self.outputs, self.movement)
        )

    def _stat(
        self, stat: str, outputs: np.ndarray, movement: np.ndarray
    ) -> np.ndarray:
        if stat == "rms_gap":
            return self.rms_gap(outputs)
        if stat == "variance":
            return self.variance(outputs)
        if stat == "movement":
            return movement.mean(axis=0)
        raise ValueError(f"stat must be rms_gap, variance or movement, got {stat!r}")

    def bootstrap_se(self, stat: str, resamples: int = 400, seed: int = 0) -> float:
        """Standard error of :meth:`slope` from the seeds' spread: the standard deviation of
        the slope over ``resamples`` resamplings of the seeds with replacement (each width
        resampled independently: the networks of different widths are independent)."""
        rng = np.random.default_rng(seed)
        s, w = self.outputs.shape[:2]
        slopes = []
        for _ in range(resamples):
            idx = rng.integers(0, s, size=(s, w))
            cols = np.arange(w)[None, :]
            out, mov = self.outputs[idx, cols], self.movement[idx, cols]
            slopes.append(loglog_slope(self.widths, self._stat(stat, out, mov)).slope)
        return float(np.std(slopes))


def _sweep(
    make: Callable[[int, int], torch.nn.Module],
    task: Task,
    widths: Sequence[int],
    seeds: Sequence[int],
    training: Training,
    reference: torch.Tensor,
    antisymmetric: bool,
) -> WidthSweep:
    widths = _checks.widths(widths)
    seeds = _checks.seeds(seeds)
    outputs, movement = [], []
    for n in widths:
        nets = [make(int(n), network_seed(s, int(n))) for s in seeds]
        run = one_hidden.train_networks(
            nets,
            task.x_train,
            task.y_train,
            training,
            task.x_test,
            [training.steps],
            antisymmetric=antisymmetric,
        )
        outputs.append(run.outputs[:, 0, :, 0].cpu().numpy())
        movement.append(run.movement.cpu().numpy())
    ref = torch.as_tensor(reference).reshape(-1).cpu().numpy()
    return WidthSweep(
        widths,
        seeds,
        np.stack(outputs, axis=1),
        ref,
        np.stack(movement, axis=1),
    )


def mup_sweep(
    task: Task,
    widths: Sequence[int],
    seeds: Sequence[int],
    training: Training,
    reference: torch.Tensor,
    *,
    sigma_b: float,
) -> WidthSweep:
    """Ordinary muP networks (``MuMLP(d, n, 1, "mup", depth=1, activation="erf",
    base_width=1, form="table3", bias_std=sigma_b)``, float64, one per seed and width, seed
    :func:`network_seed`) trained by ``training`` on the task; ``reference`` (E, 1): the
    limit's test outputs."""
    template = one_hidden.mup_limit(task.x_train.shape[1], sigma_b=sigma_b, size=2)
    return _sweep(
        lambda n, s: template.sample(n, s),
        task,
        widths,
        seeds,
        training,
        reference,
        False,
    )


def ntp_sweep(
    task: Task,
    widths: Sequence[int],
    seeds: Sequence[int],
    training: Training,
    reference: torch.Tensor,
    *,
    sigma_b: float,
) -> WidthSweep:
    """The same networks in NTP: ``nt_mlp(d, n, 1, depth=1, activation="erf", w_std=1,
    b_std=sigma_b)`` (hidden pre-activations with the muP networks' initial law), each
    trained as an antisymmetric pair by plain SGD at ``training.lr``; ``reference``: the
    NTK predictor's test outputs (:func:`ntk_prediction`)."""
    d = task.x_train.shape[1]

    def make(n: int, s: int) -> torch.nn.Module:
        gen = torch.Generator().manual_seed(s)
        return nt_mlp(
            d,
            n,
            1,
            depth=1,
            activation="erf",
            w_std=1.0,
            b_std=sigma_b,
            generator=gen,
        )

    return _sweep(make, task, widths, seeds, training, reference, True)


# ----------------------------------------------------------------------------- NTK limit


def _ntk(task: Task, sigma_b: float) -> tuple[torch.Tensor, torch.Tensor]:
    kw = dict(depth=1, activation="erf", w_std=1.0, b_std=sigma_b)
    return (
        mlp_kernels(task.x_train, **kw).ntk,
        mlp_kernels(task.x_test, task.x_train, **kw).ntk,
    )


def ntk_lr(task: Task, sigma_b: float, fraction: float = 0.5) -> float:
    """``fraction`` of the largest stable gradient-descent step of the NTK limit,
    ``2 N K / lambda_max(Theta)``."""
    kdd, _ = _ntk(task, sigma_b)
    return float(
        fraction * 2 * task.y_train.numel() / torch.linalg.eigvalsh(kdd).max()
    )


def ntk_prediction(
    task: Task, training: Training, sigma_b: float, steps: int | None = None
) -> torch.Tensor:
    """The NTK limit's test outputs (E, 1) after ``steps`` (default ``training.steps``;
    None after ``training`` means the end of training) full-batch steps at
    ``training.lr`` from ``f_0 = 0`` (:func:`mupbook.predict.ntk_gd_predict`)."""
    kdd, ktd = _ntk(task, sigma_b)
    return ntk_gd_predict(
        kdd,
        ktd,
        task.y_train,
        training.steps if steps is None else steps,
        training.lr,
    )


class Comparison(NamedTuple):
    """Test mean squared errors of the two limits on one task: the muP limit's (with its
    quadrature standard error), the NTK predictor's at every step count of ``ntk_steps``
    and at infinite time, and the paired standard error over test points of the
    difference between the muP limit and the NTK's best."""

    mup_mse: float
    mup_mse_error: float
    ntk_steps: tuple[int, ...]
    ntk_mse: np.ndarray
    ntk_mse_infinite: float
    paired_se: float

    @property
    def ntk_best(self) -> float:
        """The NTK's lowest test error over all step counts (and infinite time)."""
        return float(min(self.ntk_mse.min(), self.ntk_mse_infinite))


def compare_limits(
    task: Task,
    training: Training,
    *,
    sigma_b: float,
    size: int,
    replicas: int,
    ntk_fraction: float = 0.9,
    ntk_steps: Sequence[int] = tuple(int(10**k) for k in range(1, 7)),
    seed: int = 0,
) -> tuple[Comparison, one_hidden.Estimate]:
    """Train the muP limit (:func:`~mupbook.limits.one_hidden.limit_estimate`) and run the
    NTK predictor for every step count (at ``ntk_fraction`` of its largest stable rate,
    i.e. the NTK early-stopped at its best) on ``task``; returns the :class:`Comparison`
    and the muP limit's estimate at the test inputs (with the trained limits)."""
    est = one_hidden.limit_estimate(
        task.x_train,
        task.y_train,
        task.x_test,
        training,
        sigma_b=sigma_b,
        size=size,
        replicas=replicas,
        seed=seed,
        keep_limits=True,
    )
    mse = lambda p: float(((p - task.y_test) ** 2).mean())  # noqa: E731
    run_mse = np.array([mse(r) for r in est.runs])
    kdd, ktd = _ntk(task, sigma_b)
    lr = ntk_lr(task, sigma_b, ntk_fraction)
    steps = tuple(int(s) for s in ntk_steps)
    preds = [ntk_gd_predict(kdd, ktd, task.y_train, s, lr) for s in steps]
    ntk_mse = np.array([mse(p) for p in preds])
    best = preds[int(ntk_mse.argmin())]
    diff = ((est.value - task.y_test) ** 2 - (best - task.y_test) ** 2).reshape(-1)
    return (
        Comparison(
            mse(est.value),
            float(run_mse.std(ddof=1) / math.sqrt(len(run_mse))),
            steps,
            ntk_mse,
            mse(ntk_predict(kdd, ktd, task.y_train)),
            float(diff.std() / math.sqrt(diff.numel())),
        ),
        est,
    )


# ----------------------------------------------------------------------------- quadrature


class GaussHermite(NamedTuple):
    """The tensor Gauss-Hermite rule's RMS error over the test inputs, ``errors``
    (len(sizes), 2), for ``sizes`` points per axis (``nodes`` in all) after the two step
    counts ``steps`` (early, end of training)."""

    sizes: tuple[int, ...]
    steps: tuple[int, ...]
    errors: np.ndarray
    nodes: tuple[int, ...]


def gauss_hermite_study(
    task: Task,
    training: Training,
    late_reference: torch.Tensor,
    *,
    sigma_b: float,
    sizes: Sequence[int],
    early: int = 2,
    reference_size: int = 48,
) -> GaussHermite:
    """Train the limit with a tensor Gauss-Hermite rule of each size in ``sizes`` (points
    per axis) and measure its RMS distance over the test inputs to a reference after
    ``early`` steps (the rule with ``reference_size`` points per axis: Gauss-Hermite is
    the accurate rule there) and at the end of ``training`` (``late_reference`` (E, 1):
    an RQMC estimate)."""
    steps = [int(early), training.steps]
    ref_lim = one_hidden.mup_limit(
        task.x_train.shape[1],
        span=task.x_train,
        sigma_b=sigma_b,
        rule="gauss-hermite",
        size=int(reference_size),
    )
    early_training = Training(
        int(early), training.lr, training.loss, training.batch_size, training.seed
    )
    early_ref = ref_lim.train(
        task.x_train, task.y_train, early_training, task.x_test, [int(early)]
    )[0]
    reference = torch.stack(
        [early_ref, torch.as_tensor(late_reference).to(early_ref)]
    )
    errors, nodes = [], []
    for k in sizes:
        lim = one_hidden.mup_limit(
            task.x_train.shape[1],
            span=task.x_train,
            sigma_b=sigma_b,
            rule="gauss-hermite",
            size=int(k),
        )
        out = lim.train(task.x_train, task.y_train, training, task.x_test, steps)
        ref = torch.as_tensor(reference).to(out)
        errors.append(((out - ref) ** 2).mean(dim=(1, 2)).sqrt().cpu().numpy())
        nodes.append(lim.num_nodes)
    return GaussHermite(
        tuple(int(k) for k in sizes),
        tuple(int(s) for s in steps),
        np.array(errors),
        tuple(nodes),
    )


# ----------------------------------------------------------------------------- features


def trained_limit(
    task: Task, training: Training, *, sigma_b: float, size: int, seed: int = 0
) -> tuple[OneHiddenLimit, OneHiddenLimit]:
    """The muP limit (RQMC nodes, ``size``, ``seed``) on ``task`` before and after
    ``training``: ``(initial, trained)``."""
    before = one_hidden.mup_limit(
        task.x_train.shape[1],
        span=task.x_train,
        sigma_b=sigma_b,
        size=size,
        seed=seed,
    )
    after = before.copy()
    after.train(task.x_train, task.y_train, training)
    return before, after


def node_movement(
    before: OneHiddenLimit, after: OneHiddenLimit, x: torch.Tensor
) -> float:
    """How far the limit's features moved: the weighted mean over nodes and inputs ``x`` of
    ``|h_after - h_before|``, divided by that of ``|h_before|`` (pre-activations
    ``h = u . x + b``)."""
    h0, w = before.preactivations(x)
    h1, _ = after.preactivations(x)
    move = (w[:, None] * (h1 - h0).abs()).sum() / x.shape[0]
    size = (w[:, None] * h0.abs()).sum() / x.shape[0]
    return float(move / size)


def weight_moments(limit: OneHiddenLimit) -> np.ndarray:
    """``E[u_j^2]`` over the limit's nodes for each input coordinate j (d,): how far the
    input weights spread along each direction of the inputs."""
    u = limit.basis @ limit.nodes.a.T  # (d, M)
    return ((u * u) @ limit.nodes.weight).cpu().numpy()

"""Kernel regression with the NNGP and NTK, beside finite networks trained by gradient descent.

Three predictors of a regression (or one-hot classification) task with train inputs
``X`` (N, d), targets ``Y`` (N, K) and test inputs (M, d):

* the NNGP posterior mean ``K_td K^-1 Y`` (:func:`mupbook.predict.nngp_posterior`): a
  Bayesian infinitely wide network, or the readout-only training of one;
* the NTK prediction after ``T`` steps of full-batch gradient descent at learning rate
  ``eta`` on ``mean((f - Y)^2) / 2`` (mean over all ``N K`` entries), from a zero
  function: :func:`mupbook.predict.ntk_gd_predict`, exact for discrete steps,
  ``Theta_td Theta^-1 (I - (I - eta Theta / (N K))^T) Y``; ``T -> inf`` is
  ``Theta_td Theta^-1 Y`` (:func:`mupbook.predict.ntk_predict` with ``t=None``);
* a finite ``AbcMLP(d, n, K, "ntp")`` trained the same way (:func:`train_network`). It is
  *centred*: its prediction is ``f_t(x) - f_0(x)``. The random function at initialization
  has variance ``Theta(1)`` at every width, so without centring a single network never
  approaches the ensemble *mean* that the NTK predicts; with it, the prediction converges
  to :func:`mupbook.predict.ntk_gd_predict` with an error ``~ n^-1/2`` (:func:`width_sweep`).

:func:`omniglot_task` builds the book's few-class Omniglot task, :func:`nngp_band` the
NNGP posterior mean and standard deviation of a 1-D regression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

import numpy as np
import torch

from .. import _checks, runtime
from ..data.omniglot import Omniglot, background_classification
from ..fit import SlopeFit, loglog_slope
from ..kernels import mlp_kernels
from ..nn import AbcMLP
from ..predict import nngp_posterior, ntk_gd_predict

__all__ = [
    "Task",
    "one_hot",
    "standardize",
    "omniglot_task",
    "accuracy",
    "mse",
    "Trained",
    "train_network",
    "Sweep",
    "width_sweep",
    "Band",
    "nngp_band",
]


class Task(NamedTuple):
    """A regression task: inputs float64 (N, d) / (M, d), targets float64 (N, K) / (M, K),
    integer labels (N,) / (M,) (the argmax of a one-hot target)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    labels_train: torch.Tensor
    labels_test: torch.Tensor


# ----------------------------------------------------------------------------- validation


def _xy(
    x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor
) -> tuple[torch.Tensor, ...]:
    x_train = _checks.finite_tensor(x_train, "x_train", 2)
    y_train = _checks.finite_tensor(y_train, "y_train", 2)
    x_test = _checks.finite_tensor(x_test, "x_test", 2)
    if y_train.shape[0] != x_train.shape[0]:
        raise ValueError(
            f"y_train must have one row per training input ({x_train.shape[0]}), "
            f"got {y_train.shape[0]}"
        )
    if x_test.shape[1] != x_train.shape[1]:
        raise ValueError(
            f"x_train and x_test must have the same number of features, "
            f"got {x_train.shape[1]} and {x_test.shape[1]}"
        )
    return x_train, y_train, x_test


# ----------------------------------------------------------------------------- data


def one_hot(
    labels: torch.Tensor, num_classes: int, *, centred: bool = True
) -> torch.Tensor:
    """float64 (N, C) one-hot targets; ``centred`` subtracts ``1/C`` so every row sums to 0
    (the targets then have no component along the constant function)."""
    num_classes = _checks.positive_int(num_classes, "num_classes")
    if (
        not isinstance(labels, torch.Tensor)
        or labels.ndim != 1
        or labels.dtype.is_floating_point
    ):
        raise ValueError("labels must be a 1-D integer tensor")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1}")
    y = torch.nn.functional.one_hot(labels.long(), num_classes).to(torch.float64)
    return y - 1.0 / num_classes if centred else y


def standardize(x: torch.Tensor) -> torch.Tensor:
    """Each row shifted to mean 0 and scaled to variance 1 over its features, so that
    ``<x, x> / d = 1`` (the kernels' input scale); float64."""
    x = _checks.finite_tensor(x, "x", 2).to(torch.float64)
    if x.shape[1] < 2:
        raise ValueError("standardize needs at least two features per row")
    x = x - x.mean(dim=1, keepdim=True)
    std = x.pow(2).mean(dim=1, keepdim=True).sqrt()
    if bool((std == 0).any()):
        raise ValueError("a row is constant: it cannot be standardized")
    return x / std


def omniglot_task(
    data: Omniglot, *, num_classes: int = 5, train_drawers: int = 15, seed: int = 0
) -> Task:
    """Classify the first ``num_classes`` Omniglot background characters, 28x28 pixels.

    ``train_drawers`` of the 20 people who drew each character (chosen with ``seed``) give
    the training images, the others the test images
    (:func:`mupbook.data.omniglot.background_classification`). Images are flattened
    and :func:`standardize`-d; targets are centred one-hot vectors.
    """
    if not isinstance(data, Omniglot):
        raise ValueError(
            f"data must be an Omniglot data set (load_omniglot()), got {type(data).__name__}"
        )
    c = background_classification(
        data,
        num_classes=num_classes,
        train_drawers=train_drawers,
        seed=seed,
        flatten=True,
    )
    xtr, xte = standardize(c.x_train.cpu()), standardize(c.x_test.cpu())
    return Task(
        xtr,
        one_hot(c.y_train.cpu(), num_classes),
        xte,
        one_hot(c.y_test.cpu(), num_classes),
        c.y_train.cpu(),
        c.y_test.cpu(),
    )


def accuracy(pred: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose argmax is the label."""
    pred = _checks.finite_tensor(pred, "pred", 2)
    if not isinstance(labels, torch.Tensor) or labels.shape != (pred.shape[0],):
        raise ValueError(f"labels must be a tensor of shape ({pred.shape[0]},)")
    return float((pred.argmax(dim=1).cpu() == labels.cpu()).double().mean())


def mse(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean over all entries of ``(pred - target)^2``."""
    pred, target = (
        _checks.finite_tensor(pred, "pred", 2),
        _checks.finite_tensor(target, "target", 2),
    )
    if pred.shape != target.shape:
        raise ValueError(
            f"pred and target shapes differ: {tuple(pred.shape)} and {tuple(target.shape)}"
        )
    return float((pred.double().cpu() - target.double().cpu()).pow(2).mean())


# ----------------------------------------------------------------------------- networks


class Trained(NamedTuple):
    """A trained network's centred predictions ``f_T - f_0``: ``test`` (M, K), ``train``
    (N, K), and its training loss after each of the ``steps + 1`` evaluations."""

    test: torch.Tensor
    train: torch.Tensor
    loss: np.ndarray


def train_network(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    *,
    width: int,
    steps: int,
    lr: float,
    depth: int = 2,
    activation: str = "relu",
    param: str = "ntp",
    seed: int = 0,
    centred: bool = True,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Trained:
    """Full-batch GD on ``mean((f - y)^2) / 2`` of a centred ``AbcMLP(d, width, K, param)``.

    The network's function is ``f(x) - f_0(x)``, its output minus the output at
    initialization (module docstring), and every parameter is trained at ``lr n^-c``
    (``lr`` for NTP). ``centred=False`` trains and predicts with the plain output ``f(x)``
    instead: its random part at initialization then stays in the predictions at every
    width. Raises ValueError when the loss becomes non-finite or grows 1000-fold.
    """
    x_train, y_train, x_test = _xy(x_train, y_train, x_test)
    _checks.positive_int(width, "width")
    steps = _checks.positive_int(steps, "steps")
    lr = _checks.positive_float(lr, "lr")
    dev = runtime.device(None if device is None else str(device))
    xtr, ytr, xte = (
        t.to(device=dev, dtype=dtype) for t in (x_train, y_train, x_test)
    )
    net = AbcMLP(
        xtr.shape[1],
        width,
        ytr.shape[1],
        param,
        depth=depth,
        activation=activation,
        generator=runtime.generator(seed),
        dtype=dtype,
        device=dev,
    )
    with torch.no_grad():
        f0_train, f0_test = net(xtr), net(xte)
    if not centred:
        f0_train, f0_test = torch.zeros_like(f0_train), torch.zeros_like(f0_test)
    opt = net.sgd(lr)
    losses = np.empty(steps + 1)
    for t in range(steps + 1):
        loss = 0.5 * (net(xtr) - f0_train - ytr).pow(2).mean()
        losses[t] = loss.item()
        if not losses[t] <= 1e3 * max(losses[0], 1e-12):
            raise ValueError(
                f"training diverged at step {t} (width {width}, lr {lr:g}); lower lr"
            )
        if t < steps:
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return Trained(
            (net(xte) - f0_test).double().cpu(),
            (net(xtr) - f0_train).double().cpu(),
            losses,
        )


@dataclass
class Sweep:
    """Finite networks of growing width against the kernel predictors on one task.

    ``gap`` (seeds, widths): ``|f_net - f_ntk|_F / |f_ntk|_F`` on the test set, with
    ``f_ntk`` the NTK prediction after the same ``steps`` GD steps; ``accuracy`` and
    ``mse`` (seeds, widths): the networks' test accuracy and MSE; ``kernel_accuracy`` and
    ``kernel_mse``: of "nngp" (posterior mean), "ntk" (infinite time) and "ntk_steps"
    (after ``steps``); ``slope``: log-log fit of the gap's geometric mean over seeds
    (theory -1/2). ``predictions`` keeps the kernel predictions (M, K)."""

    widths: np.ndarray
    gap: np.ndarray
    accuracy: np.ndarray
    mse: np.ndarray
    kernel_accuracy: dict[str, float]
    kernel_mse: dict[str, float]
    predictions: dict[str, torch.Tensor]
    steps: int
    lr: float
    slope: SlopeFit = field(init=False)

    def __post_init__(self) -> None:
        self.slope = loglog_slope(self.widths, self.mean_gap())

    def mean_gap(self) -> np.ndarray:
        """Geometric mean over seeds of the gap, per width."""
        return np.exp(np.log(self.gap).mean(axis=0))


def width_sweep(
    task: Task,
    widths: Sequence[int],
    *,
    steps: int,
    lr: float | None = None,
    lr_fraction: float = 0.8,
    depth: int = 2,
    activation: str = "relu",
    seeds: Sequence[int] = (0,),
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Sweep:
    """Train centred NTP networks of every width (and seed) for ``steps`` GD steps on
    ``task`` and compare them with the exact NNGP and NTK predictors
    (:func:`mupbook.kernels.mlp_kernels`, ``w_std=1, b_std=0``).

    ``lr=None`` picks ``lr_fraction * N K / lambda_max(Theta)`` (the largest stable
    learning rate is twice ``N K / lambda_max``), so every eigen-direction but the
    smallest few is fitted within a few hundred steps.
    """
    if not isinstance(task, Task):
        raise ValueError(f"task must be a Task, got {type(task).__name__}")
    ws = [int(w) for w in _checks.widths(widths)]
    seeds = list(_checks.seeds(seeds))
    steps = _checks.positive_int(steps, "steps")
    x_train, y_train, x_test = _xy(task.x_train, task.y_train, task.x_test)
    k_dd = mlp_kernels(x_train, depth=depth, activation=activation)
    k_td = mlp_kernels(x_test, x_train, depth=depth, activation=activation)
    if lr is None:
        frac = _checks.positive_float(lr_fraction, "lr_fraction")
        if frac >= 2:
            raise ValueError(
                f"lr_fraction must be below 2 (stability), got {lr_fraction}"
            )
        lr = frac * y_train.numel() / float(torch.linalg.eigvalsh(k_dd.ntk).max())
    lr = _checks.positive_float(lr, "lr")
    preds = {
        "nngp": nngp_posterior(k_dd.nngp, k_td.nngp, y_train).mean,
        "ntk": ntk_gd_predict(k_dd.ntk, k_td.ntk, y_train, None, lr),
        "ntk_steps": ntk_gd_predict(k_dd.ntk, k_td.ntk, y_train, steps, lr),
    }
    gap = np.empty((len(seeds), len(ws)))
    acc, err = np.empty_like(gap), np.empty_like(gap)
    ref = preds["ntk_steps"]
    for i, seed in enumerate(seeds):
        for j, n in enumerate(ws):
            out = train_network(
                x_train,
                y_train,
                x_test,
                width=n,
                steps=steps,
                lr=lr,
                depth=depth,
                activation=activation,
                seed=seed * 7919 + j,
                dtype=dtype,
                device=device,
            )
            gap[i, j] = float((out.test - ref).norm() / ref.norm())
            acc[i, j] = accuracy(out.test, task.labels_test)
            err[i, j] = mse(out.test, task.y_test)
    return Sweep(
        np.array(ws),
        gap,
        acc,
        err,
        {k: accuracy(p, task.labels_test) for k, p in preds.items()},
        {k: mse(p, task.y_test) for k, p in preds.items()},
        preds,
        steps,
        lr,
    )


# ----------------------------------------------------------------------------- 1-D bands


class Band(NamedTuple):
    """NNGP posterior mean and standard deviation at the test inputs, each (M,)."""

    mean: torch.Tensor
    std: torch.Tensor


def nngp_band(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    *,
    depth: int = 2,
    activation: str = "relu",
    w_std: float = 1.0,
    b_std: float = 1.0,
    noise: float = 1e-4,
) -> Band:
    """The NNGP posterior of a 1-D regression: mean and standard deviation (M,).

    Inputs are 1-D, shapes (N,) and (M,) (or (N, 1), (M, 1)); targets (N,). ``noise`` is the
    observation noise variance added to the train-train kernel's diagonal. A bias
    (``b_std > 0``) is what makes a ReLU network's kernel of scalar inputs more than a
    function of their signs and product. The standard deviation is that of the noiseless
    function ``f(x)``.
    """

    def as_col(x: torch.Tensor, name: str) -> torch.Tensor:
        if isinstance(x, torch.Tensor) and x.ndim == 1:
            x = x[:, None]
        x = _checks.finite_tensor(x, name, 2)
        if x.shape[1] != 1:
            raise ValueError(
                f"{name} must be 1-D inputs, shape (N,) or (N, 1), got {tuple(x.shape)}"
            )
        return x.to(torch.float64)

    xtr, xte = as_col(x_train, "x_train"), as_col(x_test, "x_test")
    y = _checks.finite_tensor(y_train, "y_train", 1).to(torch.float64)
    if y.shape[0] != xtr.shape[0]:
        raise ValueError(
            f"y_train must have {xtr.shape[0]} entries, got {y.shape[0]}"
        )
    noise = _checks.nonnegative_float(noise, "noise")
    kw = dict(depth=depth, activation=activation, w_std=w_std, b_std=b_std)
    k_dd = mlp_kernels(xtr, **kw).nngp
    k_td = mlp_kernels(xte, xtr, **kw).nngp
    k_tt = mlp_kernels(xte, **kw).nngp
    post = nngp_posterior(
        k_dd, k_td, y, k_tt, diag_reg=noise, diag_reg_absolute_scale=True
    )
    var = post.covariance.diagonal().clamp_min(0.0)
    return Band(post.mean, var.sqrt())

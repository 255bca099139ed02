"""Square-root cancellation versus the law of large numbers (TP4 section 2, Figure 3).

A coordinate of ``W x`` sums ``n`` terms ``W_ij x_j``. At initialization they are
independent and zero-mean, so the sum is ``O(sqrt(n))`` times a term
(central limit theorem); with ``Var W_ij = 1/n`` it stays ``Theta(1)``. A gradient
step ``dW = -lr * g x^T`` (rank one for a single example) is *correlated* with
``x``: ``dW x = -lr * g * |x|^2`` sums ``n`` positive terms, ``Theta(n)`` times a
term (law of large numbers) -- a factor ``sqrt(n)`` more than the same update
applied to an independent vector ``x~`` of the same size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from .. import _checks, runtime
from ..abc import ABC
from ..fit import SlopeFit, expect_slope, loglog_slope
from ..nn import AbcMLP


def rms(v: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Root-mean-square coordinate size along ``dim``: ``sqrt(mean(v**2))``."""
    return v.pow(2).mean(dim=dim).sqrt()


def random_signs(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """``k`` copies of ``x`` (shape (n,)) with independent random signs: shape (n, k).

    Each copy has exactly the coordinates' sizes of ``x`` but no correlation with
    it, which isolates the effect of correlation from that of size.
    """
    signs = (
        torch.randint(0, 2, (x.shape[0], k), generator=generator, dtype=x.dtype) * 2
        - 1
    )
    return x[:, None] * signs.to(x.device)


def inner_products(
    widths: Sequence[int], trials: int = 256, seed: int = 0
) -> dict[str, np.ndarray]:
    """Typical size of ``u . v`` for independent ``v`` versus ``v = u`` (u, v iid N(0,1)^n).

    Returns ``{"widths", "independent", "correlated"}``: root-mean-square over
    ``trials`` draws. Theory: ``sqrt(n)`` and ``~n`` (slopes 1/2 and 1).
    """
    ws = _checks.widths(widths)
    if trials < 2:
        raise ValueError(f"trials must be >= 2, got {trials}")
    gen = runtime.generator(seed)
    indep, corr = [], []
    for n in ws:
        u = torch.randn(trials, int(n), generator=gen, dtype=torch.float64)
        v = torch.randn(trials, int(n), generator=gen, dtype=torch.float64)
        indep.append(rms((u * v).sum(1), 0).item())
        corr.append(rms((u * u).sum(1), 0).item())
    return {
        "widths": ws,
        "independent": np.array(indep),
        "correlated": np.array(corr),
    }


@dataclass
class Cancellation:
    """Coordinate sizes measured on 2-hidden-layer networks, one row per seed.

    ``init``: rms of ``W x`` at initialization (W = second-layer weights, x = first-layer
    features). ``update``: rms of ``dW x`` after one SGD step on that example.
    ``update_indep``: rms of ``dW x~`` for sign-randomized copies ``x~`` of ``x``.
    Arrays have shape (seeds, widths).
    """

    widths: np.ndarray
    init: np.ndarray
    update: np.ndarray
    update_indep: np.ndarray
    lr: float
    param: str
    slopes: dict[str, SlopeFit] = field(init=False)

    def __post_init__(self) -> None:
        for name in ("init", "update", "update_indep"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise FloatingPointError(
                    f"non-finite {name} sizes: the step diverged; lower the learning rate (lr={self.lr})"
                )
        self.slopes = {
            name: loglog_slope(self.widths, self.mean(name)) for name in self.series()
        }

    def series(self) -> dict[str, np.ndarray]:
        """Named per-seed arrays, including ``ratio = update / update_indep``."""
        return {
            "init": self.init,
            "update": self.update,
            "update_indep": self.update_indep,
            "ratio": self.update / self.update_indep,
        }

    def mean(self, name: str) -> np.ndarray:
        """Geometric mean over seeds of a series (the right average for log-log fits)."""
        return np.exp(np.log(self.series()[name]).mean(axis=0))


# Expected log-log slopes and the tolerance the chapter asserts (see check_slopes).
EXPECTED_SLOPES = {"init": 0.0, "ratio": 0.5}
SLOPE_TOL = 0.1


def sgd_step_on_example(
    net: AbcMLP, xi: torch.Tensor, lr: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One SGD step of ``net`` on one example ``xi`` (shape (1, d_in)), target 1.

    Returns ``(x, W, dW)``: the first-layer features ``x`` (n,) at init, the
    effective second-layer weight ``W`` (n, n) at init and its change ``dW``
    (rank one). Loss ``(f - 1)^2 / 2``, learning rate ``lr * n^-c``.
    """
    opt = net.sgd(lr)
    out, feats = net(xi, return_features=True)
    x = feats[0][0].detach()
    w_before = net.effective_weight(2).detach().clone()
    loss = 0.5 * (out - 1.0).pow(2).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return x, w_before, net.effective_weight(2).detach() - w_before


def coordinates(
    width: int,
    lr: float = 1.0,
    seed: int = 0,
    param: ABC | str = "mup",
    d_in: int = 32,
) -> dict[str, np.ndarray]:
    """The coordinates of ``W x``, ``dW x`` and ``dW x~`` (each shape (width,)) of one
    network after one step: the raw material of the histograms in the explorer."""
    _checks.positive_int(width, "width")
    gen = runtime.generator(seed)
    xi = torch.randn(1, d_in, generator=gen, dtype=torch.float64)
    net = AbcMLP(d_in, width, 1, param, depth=2, generator=gen, dtype=torch.float64)
    x, w, dw = sgd_step_on_example(net, xi, lr)
    x_tilde = random_signs(x, 1, gen)[:, 0]
    out = {
        "W x (init)": w @ x,
        "dW x (correlated)": dw @ x,
        "dW x~ (independent)": dw @ x_tilde,
    }
    return {k: v.numpy() for k, v in out.items()}


def measure_cancellation(
    widths: Sequence[int],
    *,
    lr: float = 1.0,
    seeds: Sequence[int] = (0, 1, 2, 3),
    param: ABC | str = "mup",
    d_in: int = 32,
    n_indep: int = 64,
    activation: str = "relu",
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
) -> Cancellation:
    """Measure ``W x`` at init and ``dW x`` after one SGD step, for each width and seed.

    The network is ``AbcMLP(d_in, n, 1, param, depth=2)``; one example
    ``xi ~ N(0, I)`` per seed (the same at every width), target 1, loss ``(f - 1)^2 / 2``, one SGD step at ``lr``
    (times ``n^-c``). ``W`` is the effective second-layer weight ``n^(-a_2) w^2``.
    """
    ws = _checks.widths(widths)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    dev = runtime.device(None if device is None else str(device))
    rows: dict[str, list[list[float]]] = {
        "init": [],
        "update": [],
        "update_indep": [],
    }
    for seed in seeds:
        gen = runtime.generator(seed)
        xi = torch.randn(1, d_in, generator=gen, dtype=dtype).to(
            dev
        )  # same example at every width
        row = {k: [] for k in rows}
        for n in ws:
            net = AbcMLP(
                d_in,
                int(n),
                1,
                param,
                depth=2,
                activation=activation,
                generator=gen,
                dtype=dtype,
                device=dev,
            )
            x, w, dw = sgd_step_on_example(net, xi, lr)
            x_tilde = random_signs(x, n_indep, gen)  # (n, n_indep)
            row["init"].append(rms(w @ x).item())
            row["update"].append(rms(dw @ x).item())
            row["update_indep"].append(
                rms(dw @ x_tilde, dim=0).pow(2).mean().sqrt().item()
            )
        for k in rows:
            rows[k].append(row[k])
    name = param if isinstance(param, str) else param.name
    return Cancellation(
        ws,
        *(np.array(rows[k]) for k in ("init", "update", "update_indep")),
        lr=float(lr),
        param=name,
    )


def check_slopes(result: Cancellation, tol: float = SLOPE_TOL) -> None:
    """The chapter's claims: ``W x`` at init has slope 0; ``dW x / dW x~`` has slope 1/2."""
    expect_slope(
        result.slopes["init"],
        EXPECTED_SLOPES["init"],
        tol,
        "coordinates of W x at init",
    )
    expect_slope(
        result.slopes["ratio"],
        EXPECTED_SLOPES["ratio"],
        tol,
        "dW x relative to dW x~ (correlated vs independent)",
    )

"""Square-root cancellation versus the law of large numbers (chapter 1).

A coordinate of ``W x`` sums ``n`` terms ``W_ij x_j``. At initialization they are
independent and zero-mean, so the sum is ``O(sqrt(n))`` times a term
(central limit theorem); with ``Var W_ij = 1/n`` it stays ``Theta(1)``. A gradient
step ``dW = -lr * g x^T`` (rank one for a single example) is *correlated* with
``x``: ``dW x = -lr * g * |x|^2`` sums ``n`` positive terms, ``Theta(n)`` times a
term (law of large numbers) -- a factor ``sqrt(n)`` more than the same update
applied to an independent vector ``x~`` of the same size. That factor is an identity of
one step, the same in every parametrization; what the parametrization decides is the
size of ``dW x`` itself, ``Theta(n^s)`` with ``s`` from
:func:`mupbook.abc.first_step_exponent`.

The blog post on TP4 ("On infinitely wide neural networks that exhibit feature
learning", Microsoft Research) draws this picture in its Figure 3; TP4 makes the same
argument when it explains why SP needs a learning rate ``O(1/n)`` and how muP differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import torch

from .. import _checks, runtime
from ..abc import ABC, as_abc, first_step_exponent
from ..fit import Claims, SlopeFit, loglog_slope
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
    widths: Sequence[int], trials: int = 256, seed: int = 0, rho: float = 0.0
) -> dict[str, np.ndarray]:
    """Typical size of ``u . v`` for independent ``v`` versus ``v = u`` (u, v iid N(0,1)^n).

    Returns ``{"widths", "independent", "correlated"}`` (each shape (widths,)):
    root-mean-square over ``trials`` draws. Theory: ``sqrt(n)`` and ``~n`` (slopes 1/2
    and 1). With ``rho != 0`` the "independent" ``v`` is ``rho u + sqrt(1 - rho^2) z``
    instead: ``u . v ~ rho n + sqrt(n)``, which grows like ``n`` once ``n >> 1/rho^2``
    (a small correlation is enough to defeat square-root cancellation).
    """
    ws = _checks.widths(widths)
    if trials < 2:
        raise ValueError(f"trials must be >= 2, got {trials}")
    if not -1.0 <= float(rho) <= 1.0:
        raise ValueError(f"rho must be a correlation in [-1, 1], got {rho}")
    gen = runtime.generator(seed)
    indep, corr = [], []
    for n in ws:
        u = torch.randn(trials, int(n), generator=gen, dtype=torch.float64)
        v = torch.randn(trials, int(n), generator=gen, dtype=torch.float64)
        v = rho * u + (1.0 - rho**2) ** 0.5 * v
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
    Arrays have shape (seeds, widths). ``abc`` is the parametrization the networks were
    built with (``param`` its name).
    """

    widths: np.ndarray
    init: np.ndarray
    update: np.ndarray
    update_indep: np.ndarray
    lr: float
    param: str
    abc: ABC | None = None
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


#: The target of the one SGD step. The step's size is proportional to the loss derivative
#: ``f_0 - target``; in NTP and SP ``f_0`` is a random number of order one, and a target
#: of 1 would now and then make the derivative nearly 0 (a noisy factor in every
#: log-log fit). 3 keeps it away from 0; in muP ``f_0 -> 0`` and it is about -3.
TARGET = 3.0


def sgd_step_on_example(
    net: AbcMLP, xi: torch.Tensor, lr: float, target: float = TARGET
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One SGD step of ``net`` on one example ``xi`` (shape (1, d_in)) towards ``target``.

    Returns ``(x, W, dW)``: the first-layer features ``x`` (n,) at init, the
    effective second-layer weight ``W`` (n, n) at init and its change ``dW``
    (rank one). Loss ``(f - target)^2 / 2``, learning rate ``lr * n^-c``.
    """
    opt = net.sgd(lr)
    out, feats = net(xi, return_features=True)
    x = feats[0][0].detach()
    w_before = net.effective_weight(2).detach().clone()
    loss = 0.5 * (out - target).pow(2).sum()
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
    target: float = TARGET,
) -> dict[str, np.ndarray]:
    """The coordinates of ``W x``, ``dW x`` and ``dW x~`` (each shape (width,)) of one
    network after one step: the raw material of the histograms in the explorer."""
    _checks.positive_int(width, "width")
    gen = runtime.generator(seed)
    xi = torch.randn(1, d_in, generator=gen, dtype=torch.float64)
    net = AbcMLP(d_in, width, 1, param, depth=2, generator=gen, dtype=torch.float64)
    x, w, dw = sgd_step_on_example(net, xi, lr, target)
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
    target: float = TARGET,
    activation: str = "relu",
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
) -> Cancellation:
    """Measure ``W x`` at init and ``dW x`` after one SGD step, for each width and seed.

    The network is ``AbcMLP(d_in, n, 1, param, depth=2)``; one example
    ``xi ~ N(0, I)`` per seed (the same at every width), loss ``(f - target)^2 / 2``, one
    SGD step at ``lr`` (times ``n^-c``). ``W`` is the effective second-layer weight
    ``n^(-a_2) w^2``.
    """
    ws = _checks.widths(widths)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    p = as_abc(param, 2)
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
                p,
                depth=2,
                activation=activation,
                generator=gen,
                dtype=dtype,
                device=dev,
            )
            x, w, dw = sgd_step_on_example(net, xi, lr, target)
            x_tilde = random_signs(x, n_indep, gen)  # (n, n_indep)
            row["init"].append(rms(w @ x).item())
            row["update"].append(rms(dw @ x).item())
            row["update_indep"].append(
                rms(dw @ x_tilde, dim=0).pow(2).mean().sqrt().item()
            )
        for k in rows:
            rows[k].append(row[k])
    return Cancellation(
        ws,
        *(np.array(rows[k]) for k in ("init", "update", "update_indep")),
        lr=float(lr),
        param=p.name,
        abc=p,
    )


def check_slopes(result: Cancellation, tol: float = SLOPE_TOL) -> None:
    """The chapter's claims about one network family: ``W x`` at init has slope 0 (it needs
    hidden weights of variance ``1/n``); ``dW x / dW x~`` has slope 1/2 (the update is a
    gradient step, built from ``x``). Raises one ``AssertionError`` naming each that fails."""
    with Claims() as claims:
        claims.expect_slope(
            result.slopes["init"],
            EXPECTED_SLOPES["init"],
            tol,
            "coordinates of W x at init",
        )
        claims.expect_slope(
            result.slopes["ratio"],
            EXPECTED_SLOPES["ratio"],
            tol,
            "dW x relative to dW x~ (correlated vs independent)",
        )


def update_theory_slope(result: Cancellation) -> float:
    """The theory's log-log slope of ``rms(dW x)`` for ``result``'s parametrization: the
    first-step exponent of the second layer, :func:`mupbook.abc.first_step_exponent`
    (muP 0, NTP -1/2, SP with ``c = 0`` +1/2)."""
    if result.abc is None:
        raise ValueError(
            f"{result.param}: the result does not record its abc exponents"
        )
    return float(first_step_exponent(result.abc, 2))


def check_update_slopes(
    results: Iterable[Cancellation], tol: float = SLOPE_TOL
) -> None:
    """The chapter's parametrization-dependent claim: in each result, ``dW x`` scales with
    the slope of :func:`update_theory_slope`. Checks every result and raises one
    ``AssertionError`` that names each parametrization off by more than ``tol``."""
    with Claims() as claims:
        for r in results:
            claims.expect_slope(
                r.slopes["update"],
                update_theory_slope(r),
                tol,
                f"{r.param}: coordinates of dW x after one step",
            )

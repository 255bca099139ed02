"""Z-hat and Z-dot: a weight matrix applied to a vector that was computed from its transpose.

Tensor Programs track every vector of a wide network by the law of one coordinate, ``Z``.
When a matrix ``W`` (n x n, iid ``N(0, 1/n)``) multiplies a vector ``y`` that does not
depend on ``W``, the coordinates of ``W y`` are a fresh Gaussian, ``Z-hat``, of variance
``E[y^2]``. When ``y`` was itself computed from ``W^T g`` (the backward pass went through
``W^T``), there is a second term (TP4's Z-dot):

    Z^{W y} = Z-hat^{W y} + Z-dot^{W y},     Z-dot^{W y} = E[dZ^y / dZ-hat^{W^T g}] Z^g,

a multiple of ``g`` itself, not a fresh Gaussian. The simplest case is ``y = W^T v`` for a
vector ``v`` independent of ``W``: ``dZ^y / dZ^{W^T v} = 1``, so the coordinates of
``W W^T v`` are ``v`` plus a fresh Gaussian of variance ``E[(W^T v)^2] = 1``
(:func:`wwt_regression`). Inside a two-hidden-layer network it is the first SGD step: the
backward pass sends ``g = n df/dh^2`` through ``W^2T``, the first layer's features move
by ``dx^1`` (a function of ``s = W^2T g``), and the next forward pass computes
``W^2 dx^1`` (:func:`two_layer_step`).

Measured by regression over coordinates: ``coef = <W y, g> / <g, g>`` estimates the Z-dot
coefficient, and the residual's mean square estimates ``E[y^2]``, the Z-hat variance.
``independent=True`` models the *gradient independence assumption* (the backward pass
through an independent copy of ``W``): then ``W y`` has no Z-dot term and ``coef -> 0``.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
import torch

from .. import _checks, runtime
from ..nn import MuMLP

__all__ = [
    "Regression",
    "regress",
    "wwt_vectors",
    "wwt_regression",
    "wwt_sweep",
    "TwoLayerZdot",
    "two_layer_step",
]


class Regression(NamedTuple):
    """Coordinates of ``W y`` regressed on those of ``g``: ``coef``, the residual's mean
    square ``residual`` (the Z-hat variance) and the coefficient's standard error ``se``
    (``sqrt(residual / sum g^2)``)."""

    coef: float
    residual: float
    se: float


def regress(wy: torch.Tensor, g: torch.Tensor) -> Regression:
    """Least-squares fit ``wy_i ~ coef g_i`` over coordinates i (both (n,))."""
    gg = float(g @ g)
    coef = float(wy @ g) / gg
    res = wy - coef * g
    residual = float(res @ res / res.numel())
    return Regression(coef, residual, math.sqrt(residual / gg))


def wwt_vectors(
    n: int, seed: int, *, v_std: float = 1.0, independent: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(v, z)``, both (n,) float64: v iid ``N(0, v_std^2)`` and ``z = W W^T v`` for W
    (n, n) iid ``N(0, 1/n)``; ``independent``: ``z = W W'^T v`` with an independent ``W'``.
    In the limit ``z = v + `` a fresh Gaussian of variance ``E[(W^T v)^2] = v_std^2``."""
    n = _checks.positive_int(n, "n")
    v_std = _checks.positive_float(v_std, "v_std")
    gen = runtime.generator(seed)
    w = torch.randn(n, n, generator=gen, dtype=torch.float64) / math.sqrt(n)
    v = v_std * torch.randn(n, generator=gen, dtype=torch.float64)
    wt = (
        torch.randn(n, n, generator=gen, dtype=torch.float64) / math.sqrt(n)
        if independent
        else w
    )
    return v, w @ (wt.T @ v)


def wwt_regression(
    n: int, seed: int, *, v_std: float = 1.0, independent: bool = False
) -> Regression:
    """:func:`wwt_vectors` regressed, z on v: coef -> 1 and residual -> ``v_std^2`` as n
    grows (``independent``: coef -> 0)."""
    v, z = wwt_vectors(n, seed, v_std=v_std, independent=independent)
    return regress(z, v)


def wwt_sweep(
    widths: Sequence[int],
    seeds: Sequence[int],
    *,
    v_std: float = 1.0,
    independent: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`wwt_regression` over widths and seeds: (coefficients, residuals), each
    (S, W)."""
    widths = _checks.widths(widths, minimum_count=1)
    seeds = _checks.seeds(seeds)
    out = np.array(
        [
            [
                wwt_regression(
                    int(n), 7919 * s + int(n), v_std=v_std, independent=independent
                )[:2]
                for n in widths
            ]
            for s in seeds
        ]
    )
    return out[..., 0], out[..., 1]


class TwoLayerZdot(NamedTuple):
    """One SGD step of a two-hidden-layer muP network, seen at its second layer.

    ``measured``: ``W^2 dx^1`` regressed on ``g`` (the initial ``W^2``; ``dx^1`` the first
    layer's feature change, ``g = n df/dh^2`` at initialization). ``predicted``: the
    Z-dot coefficient ``mean_j d dx^1_j / d s_j`` with ``s = W^2T g``, from the step's own
    numbers. ``zhat_var``: ``mean(dx^1 ^ 2)``, the predicted Z-hat variance.
    ``zdot_var``: ``predicted^2 mean(g^2)``, the Z-dot term's mean square. ``g`` and
    ``wy`` (n,): the two vectors regressed (``wy = W^2 dx^1``)."""

    measured: Regression
    predicted: float
    zhat_var: float
    zdot_var: float
    g: torch.Tensor
    wy: torch.Tensor


def _erf_prime(h: torch.Tensor) -> torch.Tensor:
    return 2.0 / math.sqrt(math.pi) * torch.exp(-h * h)


def two_layer_step(
    n: int,
    seed: int,
    *,
    d: int = 4,
    lr: float = 1.0,
    independent: bool = False,
) -> TwoLayerZdot:
    """One SGD step (MSE on one input ``xi`` with target 1) of ``MuMLP(d, n, 1, "mup",
    depth=2, activation="erf", base_width=1, form="table3", bias=False)``, float64, then
    :class:`TwoLayerZdot`. ``independent``: the backward pass goes through an independent
    copy of ``W^2`` (the gradient independence assumption); the forward passes do not."""
    n = _checks.positive_int(n, "n")
    gen = runtime.generator(seed)
    net = MuMLP(
        d,
        n,
        1,
        "mup",
        depth=2,
        activation="erf",
        base_width=1,
        form="table3",
        bias=False,
        generator=gen,
        dtype=torch.float64,
    )
    xi = torch.randn(1, d, generator=gen, dtype=torch.float64)
    w2_back = (
        torch.randn(n, n, generator=gen, dtype=torch.float64) / math.sqrt(n)
        if independent
        else None
    )
    w1, w2, w3 = (net.effective_weight(l) for l in (1, 2, 3))
    h1 = xi @ w1.T
    x1 = torch.erf(h1)
    if w2_back is None:
        h2 = x1 @ w2.T
    else:  # value x1 W2^T, gradient to x1 through w2_back, gradient to W2 unchanged
        h2 = x1.detach() @ w2.T + x1 @ w2_back.T - (x1 @ w2_back.T).detach()
    h2.retain_grad()
    out = torch.erf(h2) @ w3.T
    loss = 0.5 * (out - 1.0).square().mean()
    opt = net.sgd(lr)
    opt.zero_grad()
    loss.backward()
    # g = n df/dh^2 (the loss gradient divided by chi = f - 1)
    chi = float(out.detach() - 1.0)
    g = (n * h2.grad[0] / chi).detach()
    w2_0 = w2.detach().clone()
    s = (w2_0 if w2_back is None else w2_back).T @ g
    opt.step()
    with torch.no_grad():
        h1_new = xi @ net.effective_weight(1).T
        dx1 = (torch.erf(h1_new) - x1.detach())[0]
        dh1 = (h1_new - h1.detach())[0]
        h1_0 = h1.detach()[0]
        # dh1 = -kappa phi'(h1) s exactly (one input, no bias); kappa by least squares
        base = _erf_prime(h1_0) * s
        kappa = -float(dh1 @ base / (base @ base))
        predicted = float((-kappa * _erf_prime(h1_0 + dh1) * _erf_prime(h1_0)).mean())
        wy = w2_0 @ dx1
        measured = regress(wy, g)
    return TwoLayerZdot(
        measured,
        predicted,
        float(dx1.square().mean()),
        predicted**2 * float(g.square().mean()),
        g,
        wy,
    )

"""Width-parametrized models under an abc-parametrization (TP4 section 3).

:class:`AbcMLP` stores the trainable ``w^l`` (initialized ``N(0, n^(-2 b_l))``) and
applies the multipliers ``n^(-a_l)`` in the forward pass, so that plain SGD with
learning rate ``eta n^(-c)`` (:meth:`AbcMLP.sgd`) is exactly the abc dynamics.
The input layer also divides by ``sqrt(d_in)`` (a width-independent constant), so
that preactivations are O(1) whatever the input dimension.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from .abc import ABC, as_abc

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "linear": lambda x: x,
}


def check_width(width: int, what: str = "width") -> int:
    """A width must be a positive integer."""
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"{what} must be a positive integer, got {width!r}")
    return width


def activation_fn(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The elementwise nonlinearity called ``name``."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {name!r}; use one of {sorted(ACTIVATIONS)}") from None


def check_float_dtype(dtype: torch.dtype) -> torch.dtype:
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    return dtype


class AbcMLP(nn.Module):
    """An MLP with ``depth`` hidden layers of width ``n`` under an abc-parametrization.

    Shapes: input (B, d_in) -> hidden (B, n) -> output (B, d_out). Layer ``l``
    computes ``h^l = n^(-a_l) w^l x^(l-1)`` (no biases; TP4's setting), ``x^l = phi(h^l)``.
    ``forward(x, return_features=True)`` also returns the list ``[x^1, ..., x^L]``.
    """

    def __init__(
        self,
        d_in: int,
        width: int,
        d_out: int,
        param: ABC | str = "mup",
        *,
        depth: int = 2,
        activation: str = "relu",
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        check_width(d_in, "d_in")
        check_width(width, "width")
        check_width(d_out, "d_out")
        self.abc = as_abc(param, depth)
        self.width = width
        self.phi = activation_fn(activation)
        check_float_dtype(dtype)
        dims = [d_in] + [width] * depth + [d_out]
        self.multipliers: list[float] = []
        weights = []
        for l, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:])):
            std = float(width) ** -float(self.abc.b[l])
            w = torch.randn(fan_out, fan_in, generator=generator, dtype=dtype) * std
            weights.append(nn.Parameter(w.to(device)))
            mult = float(width) ** -float(self.abc.a[l])
            self.multipliers.append(mult / math.sqrt(d_in) if l == 0 else mult)
        self.weights = nn.ParameterList(weights)

    def effective_weight(self, layer: int) -> torch.Tensor:
        """``W^l = n^(-a_l) w^l`` for 1-based ``layer`` (shape fan_out x fan_in)."""
        if not 1 <= layer <= len(self.weights):
            raise ValueError(f"layer must be in 1..{len(self.weights)}, got {layer}")
        return self.multipliers[layer - 1] * self.weights[layer - 1]

    def forward(
        self, x: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        if x.ndim != 2 or x.shape[1] != self.weights[0].shape[1]:
            raise ValueError(
                f"input must have shape (batch, {self.weights[0].shape[1]}), got {tuple(x.shape)}"
            )
        feats = []
        h = x
        for l in range(len(self.weights) - 1):
            h = self.phi(self.multipliers[l] * (h @ self.weights[l].T))
            feats.append(h)
        out = self.multipliers[-1] * (h @ self.weights[-1].T)
        return (out, feats) if return_features else out

    def lr(self, eta: float) -> float:
        """The SGD learning rate ``eta n^(-c)`` of this width."""
        return float(eta) * float(self.width) ** -float(self.abc.c)

    def sgd(self, eta: float) -> torch.optim.SGD:
        """Plain SGD at the abc learning rate (same rate for every ``w^l``)."""
        if not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta > 0):
            raise ValueError(f"learning rate must be a positive finite number, got {eta!r}")
        return torch.optim.SGD(self.parameters(), lr=self.lr(eta))

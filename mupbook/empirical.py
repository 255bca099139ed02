"""Empirical NNGP and NTK of finite networks, and their convergence to the exact kernels.

The NNGP is the limit of the *first forward pass*: the covariance of a random network's
outputs. The NTK is the limit of the *first backward pass*: the inner product of two
inputs' parameter gradients. For a finite :class:`~mupbook.nn.ScaledMLP` (an
:class:`~mupbook.nn.AbcMLP`, say) both are computed exactly here:

* :func:`empirical_nngp`: ``E_v[f(x) f(x')]`` over the readout's random initialization
  given the hidden layers, ``m^2 s^2 <x^L(x), x^L(x')>`` (readout multiplier ``m``, init
  std ``s``); averaged over networks it is the Monte Carlo NNGP.
* :func:`empirical_ntk`: ``sum_p <df/dp(x), df/dp(x')>`` over every trainable tensor ``p``
  (the stored weights and biases that SGD updates), averaged over the outputs. Layer
  ``l`` computes ``h^l = m_l x^(l-1) w_l^T + m_b b_l``, so ``df/dw_l = m_l g_l (x^(l-1))^T``
  with ``g_l = df/dh^l``: the per-layer contribution is
  ``m_l^2 (g_l g_l'^T) * (x^(l-1) x^(l-1)'^T)``. The ``g_l`` of all inputs come from one
  autograd backward pass (each input's output depends only on its own ``h^l``), so the
  cost is a forward and a backward pass per output plus ``O(N1 N2 n)`` per layer, never a
  per-parameter Jacobian.

``AbcMLP(d_in, n, d_out, "ntp", bias=False)`` is exactly neural-tangents'
``Dense(W_std=1, parameterization="ntk")`` stack (input multiplier ``1/sqrt(d_in)``,
hidden and readout ``n^-1/2``, weights ``N(0, 1)``), so its empirical kernels converge
to :func:`mupbook.kernels.mlp_kernels` with ``w_std=1, b_std=0``: relative error
``~ n^-1/2`` (:func:`kernel_errors`). How far these kernels move during training is a
study of its own: :func:`mupbook.studies.movement.kernel_movement`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from . import _checks, runtime
from .abc import ABC
from .fit import SlopeFit, loglog_slope
from .kernels import Kernels, mlp_kernels
from .nn import AbcMLP, ScaledMLP

__all__ = [
    "empirical_nngp",
    "empirical_ntk",
    "empirical_kernels",
    "feature_kernel",
    "monte_carlo_kernels",
    "relative_error",
    "KernelErrors",
    "kernel_errors",
]


# ----------------------------------------------------------------------------- validation


def _check_model(model: object) -> ScaledMLP:
    if not isinstance(model, ScaledMLP):
        raise ValueError(
            f"model must be a mupbook.nn.ScaledMLP (e.g. AbcMLP), got {type(model).__name__}"
        )
    return model


def _check_x(x: object, name: str, model: ScaledMLP) -> torch.Tensor:
    d_in = model.weights[0].shape[1]
    if isinstance(x, torch.Tensor) and (x.ndim != 2 or x.shape[1] != d_in):
        raise ValueError(
            f"{name} must have shape (N, {d_in}) with N >= 1, got {tuple(x.shape)}"
        )
    x = _checks.finite_tensor(x, name, 2)
    w = model.weights[0]
    return x.to(dtype=w.dtype, device=w.device)


# ----------------------------------------------------------------------------- kernels


def _layers(
    model: ScaledMLP, x: torch.Tensor
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """Output (N, d_out), the inputs ``x^(l-1)`` of every layer, and the pre-activations
    ``h^l`` (leaves of the autograd graph through which ``g_l`` is computed)."""
    inputs, preacts = [], []
    h = x
    last = len(model.weights) - 1
    for l, w in enumerate(model.weights):
        inputs.append(h)
        z = model.weight_scalings[l].multiplier * (h @ w.detach().T)
        if model.biases is not None:
            z = z + model.bias_scalings[l].multiplier * model.biases[l].detach()
        z = z.detach().requires_grad_(True) if l == 0 else z
        preacts.append(z)
        h = model.phi(z) if l < last else z
    return h, inputs, preacts


def _backward_factors(
    model: ScaledMLP, x: torch.Tensor
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Inputs ``x^(l-1)`` (N, fan_in) of each layer and ``g_l = df_k/dh^l``, (d_out, N, fan_out)."""
    with torch.enable_grad():
        out, inputs, preacts = _layers(model, x)
        grads: list[list[torch.Tensor]] = [[] for _ in preacts]
        for k in range(out.shape[1]):
            # Each row of out depends only on its own row of every h^l: the gradient of the
            # column sum is the stack of the per-input gradients.
            gs = torch.autograd.grad(
                out[:, k].sum(),
                preacts,
                retain_graph=k < out.shape[1] - 1,
                allow_unused=True,
            )
            for l, g in enumerate(gs):
                grads[l].append(torch.zeros_like(preacts[l]) if g is None else g)
    return [i.detach() for i in inputs], [torch.stack(g).detach() for g in grads]


def empirical_ntk(
    model: ScaledMLP, x1: torch.Tensor, x2: torch.Tensor | None = None
) -> torch.Tensor:
    """The empirical NTK ``sum_p <df/dp(x1), df/dp(x2)>``, averaged over outputs: (N1, N2).

    ``p`` runs over every trainable tensor of ``model`` (weights, and biases if present) as
    stored, i.e. the kernel of plain SGD on the stored parameters. For ``d_out = K`` outputs
    the infinite-width NTK is ``Theta x I_K``; the average of the K diagonal blocks estimates
    ``Theta``. Computed per layer from one backward pass per output (module docstring).
    """
    model = _check_model(model)
    x1 = _check_x(x1, "x1", model)
    same = x2 is None
    x2 = x1 if same else _check_x(x2, "x2", model)
    in1, g1 = _backward_factors(model, x1)
    in2, g2 = (in1, g1) if same else _backward_factors(model, x2)
    k = g1[0].shape[0]
    ntk = torch.zeros(x1.shape[0], x2.shape[0], dtype=x1.dtype, device=x1.device)
    for l in range(len(model.weights)):
        gg = (
            torch.einsum("kan,kbn->ab", g1[l], g2[l]) / k
        )  # mean over outputs of g g'^T
        m = model.weight_scalings[l].multiplier
        ntk += m * m * gg * (in1[l] @ in2[l].T)
        if model.biases is not None:
            mb = model.bias_scalings[l].multiplier
            ntk += mb * mb * gg
    return ntk


def feature_kernel(
    model: ScaledMLP, x1: torch.Tensor, x2: torch.Tensor | None = None
) -> torch.Tensor:
    """``<x^L(x1), x^L(x2)> / n``, the last hidden layer's features' Gram matrix: (N1, N2)."""
    model = _check_model(model)
    x1 = _check_x(x1, "x1", model)
    x2 = x1 if x2 is None else _check_x(x2, "x2", model)
    with torch.no_grad():
        f1 = model(x1, return_features=True)[1][-1]
        f2 = f1 if x2 is x1 else model(x2, return_features=True)[1][-1]
    return f1 @ f2.T / f1.shape[1]


def empirical_nngp(
    model: ScaledMLP, x1: torch.Tensor, x2: torch.Tensor | None = None
) -> torch.Tensor:
    """``E[f(x1) f(x2)]`` over the readout's random init, given the hidden layers: (N1, N2).

    Equals ``m^2 s^2 <x^L(x1), x^L(x2)>`` with the readout's multiplier ``m`` and init std
    ``s``, plus the readout bias's variance ``(m_b s_b)^2`` (0 when it starts at zero). Averaged over independent
    networks (:func:`monte_carlo_kernels`) it is a Monte Carlo estimate of the NNGP.
    """
    model = _check_model(model)
    s = model.weight_scalings[-1]
    n = model.weights[-1].shape[1]
    k = (s.multiplier * s.init_std) ** 2 * n * feature_kernel(model, x1, x2)
    if (
        model.biases is not None
    ):  # a random readout bias adds its variance to every entry
        sb = model.bias_scalings[-1]
        k = k + (sb.multiplier * sb.init_std) ** 2
    return k


def empirical_kernels(
    model: ScaledMLP, x1: torch.Tensor, x2: torch.Tensor | None = None
) -> Kernels:
    """``Kernels(nngp, ntk)`` of one finite network (:func:`empirical_nngp`, :func:`empirical_ntk`)."""
    return Kernels(empirical_nngp(model, x1, x2), empirical_ntk(model, x1, x2))


def monte_carlo_kernels(
    x1: torch.Tensor,
    x2: torch.Tensor | None = None,
    *,
    width: int,
    depth: int,
    activation: str = "relu",
    param: ABC | str = "ntp",
    seeds: Sequence[int] = (0,),
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Kernels:
    """Empirical kernels of ``AbcMLP(d, width, 1, param, bias=False)`` averaged over ``seeds``.

    neural-tangents' ``monte_carlo_kernel_fn`` for our models: with ``param="ntp"`` it
    estimates :func:`mupbook.kernels.mlp_kernels` (``w_std=1, b_std=0``) with an error
    ``~ (width * len(seeds))^-1/2``. ``x1``, ``x2``: (N1, d) and (N2, d) tensors.
    """
    width = _checks.positive_int(width, "width")
    depth = _checks.positive_int(depth, "depth")
    seeds = _checks.seeds(seeds)
    if not isinstance(x1, torch.Tensor) or x1.ndim != 2:
        raise ValueError(
            f"x1 must be a 2-D torch.Tensor (N, d), got {getattr(x1, 'shape', type(x1).__name__)}"
        )
    dev = runtime.device(None if device is None else str(device))
    nngp = ntk = None
    for seed in seeds:
        net = AbcMLP(
            x1.shape[1],
            width,
            1,
            param,
            depth=depth,
            activation=activation,
            generator=runtime.generator(seed),
            dtype=dtype,
            device=dev,
        )
        k = empirical_kernels(net, x1, x2)
        nngp = k.nngp if nngp is None else nngp + k.nngp
        ntk = k.ntk if ntk is None else ntk + k.ntk
    return Kernels(nngp / len(seeds), ntk / len(seeds))


def relative_error(estimate: torch.Tensor, exact: torch.Tensor) -> float:
    """``|estimate - exact|_F / |exact|_F`` (float64)."""
    if not isinstance(estimate, torch.Tensor) or not isinstance(exact, torch.Tensor):
        raise ValueError("estimate and exact must be torch tensors")
    if estimate.shape != exact.shape:
        raise ValueError(
            f"shapes differ: {tuple(estimate.shape)} and {tuple(exact.shape)}"
        )
    exact = exact.detach().to(torch.float64)
    norm = float(exact.norm())
    if norm == 0.0:
        raise ValueError("the exact kernel is zero: a relative error is undefined")
    return (
        float((estimate.detach().to(torch.float64).to(exact.device) - exact).norm())
        / norm
    )


# ----------------------------------------------------------------------------- convergence


@dataclass
class KernelErrors:
    """Relative Frobenius errors of single networks' empirical kernels against the exact
    ones, shape (seeds, widths) each; ``slopes`` are log-log fits of the geometric mean over
    seeds against width (theory: -1/2 for both)."""

    widths: np.ndarray
    nngp: np.ndarray
    ntk: np.ndarray
    depth: int
    activation: str
    slopes: dict[str, SlopeFit] = field(init=False)

    def __post_init__(self) -> None:
        self.slopes = {
            k: loglog_slope(self.widths, self.mean(k)) for k in ("nngp", "ntk")
        }

    def mean(self, which: str) -> np.ndarray:
        """Geometric mean over seeds of ``which`` ("nngp" or "ntk"), per width."""
        if which not in ("nngp", "ntk"):
            raise ValueError(f"which must be 'nngp' or 'ntk', got {which!r}")
        return np.exp(np.log(getattr(self, which)).mean(axis=0))


def kernel_errors(
    x: torch.Tensor,
    widths: Sequence[int],
    *,
    depth: int = 2,
    activation: str = "relu",
    seeds: Sequence[int] = (0, 1, 2),
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> KernelErrors:
    """How far single ``AbcMLP(d, n, 1, "ntp")`` networks' empirical NNGP and NTK on ``x``
    (N, d) lie from :func:`mupbook.kernels.mlp_kernels`, for every width ``n`` and seed."""
    ws = _checks.widths(widths)
    seeds = _checks.seeds(seeds)
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(
            f"x must be a 2-D torch.Tensor (N, d), got {getattr(x, 'shape', type(x).__name__)}"
        )
    exact = mlp_kernels(
        x.detach().to(torch.float64).cpu(), depth=depth, activation=activation
    )
    err = {k: np.empty((len(seeds), len(ws))) for k in ("nngp", "ntk")}
    for i, seed in enumerate(seeds):
        for j, n in enumerate(ws):
            k = monte_carlo_kernels(
                x,
                width=int(n),
                depth=depth,
                activation=activation,
                seeds=[seed * 7919 + j],
                dtype=dtype,
                device=device,
            )
            err["nngp"][i, j] = relative_error(k.nngp.cpu(), exact.nngp)
            err["ntk"][i, j] = relative_error(k.ntk.cpu(), exact.ntk)
    return KernelErrors(ws, err["nngp"], err["ntk"], depth, activation)

"""Exact infinite-width NNGP and NTK kernels of MLPs, layer by layer.

Kernels follow ``neural_tangents.stax`` exactly (``Dense(..., parameterization="ntk")``,
``Relu``, ``Erf``, ``Identity``; source: ``neural_tangents/_src/stax/linear.py`` and
``elementwise.py``). For inputs ``x, x'`` of dimension ``d``:

* input: ``Sigma = <x, x'> / d``, ``Theta = 0``;
* ``Dense(w_std, b_std)``: ``Sigma <- w_std**2 Sigma + b_std**2``,
  ``Theta <- w_std**2 Theta + Sigma`` (the new ``Sigma``);
* ``Relu``: with ``theta = arctan2(sqrt(q11 q22 - q12**2), q12)`` (the angle whose cosine is
  ``q12 / sqrt(q11 q22)``; exactly 0 on the diagonal of a kernel of a set with itself),
  ``Sigma <- (sqrt(q11 q22 - q12**2) + (pi - theta) q12) / (2 pi)``,
  ``Theta <- Theta (pi - theta) / (2 pi)``;
* ``Erf``: ``Sigma <- (2/pi) arcsin(2 q12 / sqrt((1 + 2 q11)(1 + 2 q22)))``,
  ``Theta <- Theta (4/pi) / sqrt((1 + 2 q11)(1 + 2 q22) - 4 q12**2)``;
* ``Identity`` ("linear"): both unchanged.

The kernel predictors (NNGP posterior, NTK gradient descent) live in :mod:`mupbook.predict`,
as neural-tangents splits ``stax`` and ``predict``.

Everything is computed in float64 on the device of the inputs.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple, Union

import numpy as np
import torch

from . import _checks

__all__ = [
    "ACTIVATIONS",
    "Kernels",
    "mlp_kernels",
    "tp4_relu_1lp_kernels",
    "tp4_relu_1lp_from_dots",
]

Activation = Literal["relu", "erf", "linear"]
ACTIVATIONS: tuple[str, ...] = ("relu", "erf", "linear")
ArrayLike = Union[torch.Tensor, np.ndarray]

#: Default rows (and columns) per block, by device type: small blocks stay in CPU caches
#: (bench/bench_kernels.py times block sizes on the CPU); on CUDA 4096**2 float64 entries
#: are 128 MiB per temporary, large enough to keep the GPU busy.
DEFAULT_BLOCK_SIZE = {"cpu": 512, "cuda": 4096}

_TWO_PI = 2.0 * math.pi

#: Pairs with ``q11 q22 - q12**2 <= COLLINEAR_RTOL * q11 q22`` (sin(theta)**2 <= 1e-12) count as
#: collinear in ReLU layers: angle exactly 0 or pi. Rounding of a Gram matrix leaves a few
#: hundred ulps there; true angles within 1e-6 rad of 0 or pi are snapped, which moves the
#: ReLU derivative factor (pi - theta) / (2 pi) by at most 1.6e-7.
COLLINEAR_RTOL = 1e-12
#: The same threshold for kernels computed in float32 (:func:`tp4_relu_1lp_from_dots`): a
#: float32 Gram matrix of Omniglot images leaves sin(theta)**2 up to ~1.2e-6 for a point with
#: itself (measured), so pairs with sin(theta)**2 <= 4e-6 (theta <= 2e-3 rad) count as
#: collinear; this moves (pi - theta) / (2 pi) by at most 3.2e-4 for true angles that small.
COLLINEAR_RTOL_FLOAT32 = 4e-6

#: The largest variance or kernel value the recursions accept: the ReLU and erf rules multiply
#: two of them (``q11 q22``, ``4 q12**2``), so they must stay below sqrt(float64 max) / 4.
SAFE_MAX = math.sqrt(torch.finfo(torch.float64).max) / 4


class Kernels(NamedTuple):
    """The pair of infinite-width kernels, each a float64 tensor of shape (N1, N2)."""

    nngp: torch.Tensor
    ntk: torch.Tensor


# ----------------------------------------------------------------------------- validation


def _check_inputs(
    x1: ArrayLike, x2: ArrayLike | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Validate the (N1, d) and (N2, d) inputs of a kernel function."""
    t1 = _checks.float64_tensor(x1, "x1", ndim=2)
    if t1.shape[0] == 0 or t1.shape[1] == 0:
        raise ValueError(
            f"x1 must have at least one row and one feature, got shape {tuple(t1.shape)}"
        )
    if x2 is None:
        return t1, None
    t2 = _checks.float64_tensor(x2, "x2", ndim=2)
    if t2.shape[0] == 0:
        raise ValueError("x2 must have at least one row")
    if t2.shape[1] != t1.shape[1]:
        raise ValueError(
            f"x1 and x2 must have the same number of features, got {t1.shape[1]} and {t2.shape[1]}"
        )
    if t2.device != t1.device:
        raise ValueError(
            f"x1 and x2 must be on the same device, got {t1.device} and {t2.device}"
        )
    return t1, t2


def _check_var(std: float, name: str) -> float:
    """``std**2`` of a checked standard deviation (inf, not an exception, if it overflows:
    the range checks then name the layer)."""
    std = _checks.nonnegative_float(std, name)
    return std * std


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}"
        )
    return activation


# ----------------------------------------------------------------------------- layer rules


def _relu(
    sigma: torch.Tensor,
    ntk: torch.Tensor | None,
    q1: torch.Tensor,
    q2: torch.Tensor,
    on_diag: bool,
    rtol: float = COLLINEAR_RTOL,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """NT ``Relu`` on a block: new (Sigma, Theta); ``q1`` (..., B1), ``q2`` (..., B2) the
    variances of a block (..., B1, B2) (leading batch dimensions allowed); ``ntk`` None: the
    NNGP only.

    ``q11 q22 - q12**2`` below ``rtol * q11 q22`` (default :data:`COLLINEAR_RTOL`) is
    rounding noise of collinear pairs (duplicate, antipodal, rescaled points) and is set to
    0, so that their angle is exactly 0 or pi; unsnapped it would be ~sqrt(eps) = 1e-8 and
    break positive semidefiniteness at that level (neural-tangents keeps that noise).
    """
    prod = q1.unsqueeze(-1) * q2.unsqueeze(-2)
    det = prod - sigma * sigma
    s = det.masked_fill_(det <= prod.mul_(rtol), 0.0).sqrt_()
    theta = torch.atan2(s, sigma)
    if on_diag:  # a point with itself: theta = 0 exactly
        s.diagonal(dim1=-2, dim2=-1).zero_()
        theta.diagonal(dim1=-2, dim2=-1).zero_()
    # E[relu'(u) relu'(v)] = (pi - theta) / 2pi
    dot = theta.neg_().add_(math.pi).div_(_TWO_PI)
    if ntk is not None:
        ntk.mul_(dot)
    new_sigma = s.div_(_TWO_PI).addcmul_(dot, sigma)
    if on_diag:
        new_sigma.diagonal(dim1=-2, dim2=-1).copy_(q1 / 2)
    return new_sigma, ntk


def _erf(
    sigma: torch.Tensor,
    ntk: torch.Tensor,
    q1: torch.Tensor,
    q2: torch.Tensor,
    on_diag: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """NT ``Erf`` on a block. Uses (1+2q11)(1+2q22) - 4q12^2 = 1 + 2q11 + 2q22 + 4(q11 q22 - q12^2),
    which is >= 1 and free of cancellation."""
    det = torch.outer(q1, q2).sub_(sigma * sigma).clamp_min_(0.0).mul_(4.0)
    det.add_(
        (q1[:, None] + q2[None, :]).mul_(2.0).add_(1.0)
    )  # q_i + q_j keeps exact symmetry
    if on_diag:
        det.diagonal().copy_(1.0 + 4.0 * q1)
    root = det.sqrt_()
    new_sigma = torch.atan2(2.0 * sigma, root).mul_(2.0 / math.pi)
    ntk.mul_(root.reciprocal_().mul_(4.0 / math.pi))
    if on_diag:
        new_sigma.diagonal().copy_(_erf_diag(q1))
    return new_sigma, ntk


def _erf_diag(q: torch.Tensor) -> torch.Tensor:
    """Erf on variances: (2/pi) arcsin(2q / (1 + 2q)), written as NT does with arctan2."""
    return torch.atan2(q, torch.sqrt(q + 0.25)).mul_(2.0 / math.pi)


def _act_diag(q: torch.Tensor, activation: str) -> torch.Tensor:
    """The variance after the activation, for a vector of pre-activation variances."""
    if activation == "relu":
        return q / 2
    if activation == "erf":
        return _erf_diag(q)
    return q


def _block_kernels(
    gram: torch.Tensor,
    q1: torch.Tensor,
    q2: torch.Tensor,
    depth: int,
    activation: str,
    w_var: float,
    b_var: float,
    on_diag: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """NNGP and NTK of one (B1, B2) block from its input Gram block <x, x'>/d and the input
    variances q1 (B1,), q2 (B2,); ``on_diag`` marks a block of a set with itself (B1 == B2)."""
    sigma = gram.mul_(w_var).add_(b_var)
    ntk = sigma.clone()
    for _ in range(depth):
        q1 = q1 * w_var + b_var
        q2 = q1 if on_diag else q2 * w_var + b_var
        if activation == "relu":
            sigma, ntk = _relu(sigma, ntk, q1, q2, on_diag)
        elif activation == "erf":
            sigma, ntk = _erf(sigma, ntk, q1, q2, on_diag)
        q1 = _act_diag(q1, activation)
        q2 = q1 if on_diag else _act_diag(q2, activation)
        # next Dense layer
        sigma.mul_(w_var).add_(b_var)
        ntk.mul_(w_var).add_(sigma)
    return sigma, ntk


# ----------------------------------------------------------------------------- overflow


def _growth_advice(activation: str, w_var: float) -> str:
    """How the variance grows per layer and what keeps it bounded."""
    if activation == "relu":
        return (
            f"the variance grows by w_std**2 / 2 = {w_var / 2:g} per ReLU layer: use w_std <= sqrt(2) "
            "(the critical value), fewer layers, or smaller inputs"
        )
    if activation == "linear":
        return f"the variance grows by w_std**2 = {w_var:g} per layer: use w_std <= 1, fewer layers, or smaller inputs"
    return "lower w_std or b_std, or use fewer layers"


def _overflow(
    where: str, value: float, advice: str, fn: str = "mlp_kernels"
) -> OverflowError:
    return OverflowError(
        f"{fn} overflows float64 at {where}: a variance or kernel value reaches {value:.3g}, "
        f"above {SAFE_MAX:.3g} (products of two must stay finite); {advice}"
    )


def _check_range(
    q: torch.Tensor, depth: int, activation: str, w_var: float, b_var: float
) -> None:
    """OverflowError naming the first layer whose diagonal NNGP or NTK leaves ``SAFE_MAX``.

    ``q`` are the input variances ``|x|^2 / d`` of every point; the diagonal recursion
    (cheap: depth x N numbers) bounds every entry, since both kernels are PSD."""
    q = q.detach().cpu().double().numpy()
    top = float(q.max(initial=0.0))
    if not top <= SAFE_MAX:
        raise _overflow(
            "the inputs", top, f"rescale the inputs (largest |x|^2 / d is {top:.3g})"
        )
    advice = _growth_advice(activation, w_var)
    with np.errstate(over="ignore", invalid="ignore"):
        q = w_var * q + b_var
        ntk = q
        for layer in range(1, depth + 2):
            value = float(max(q.max(initial=0.0), ntk.max(initial=0.0)))
            if not value <= SAFE_MAX:
                where = (
                    "the readout layer"
                    if layer > depth
                    else f"hidden layer {layer} of {depth} ({activation})"
                )
                raise _overflow(where, value, advice)
            if layer > depth:
                return
            if activation == "relu":
                dot, post = 0.5, q / 2
            elif activation == "erf":
                dot, post = (
                    (4 / math.pi) / np.sqrt(1 + 4 * q),
                    _erf_diag(torch.from_numpy(q)).numpy(),
                )
            else:
                dot, post = 1.0, q
            q = w_var * post + b_var
            ntk = w_var * ntk * dot + q


def _check_finite(fn: str, *outputs: torch.Tensor) -> None:
    """A last guard: OverflowError if any output entry is nan or inf."""
    for out in outputs:
        if out is not None and not bool(torch.isfinite(out).all()):
            raise OverflowError(
                f"{fn} produced non-finite entries (float64 overflow or 0/0); "
                "rescale the inputs or lower the weight scales"
            )


# ----------------------------------------------------------------------------- kernels


def mlp_kernels(
    x1: ArrayLike,
    x2: ArrayLike | None = None,
    *,
    depth: int,
    activation: Activation = "relu",
    w_std: float = 1.0,
    b_std: float = 0.0,
    block_size: int | None = None,
) -> Kernels:
    """Exact NNGP and NTK of ``depth x [Dense(w_std, b_std), activation] + Dense(w_std, b_std)``.

    NTK parameterization with the conventions of ``neural_tangents.stax`` (module docstring).

    Args:
        x1: inputs, shape (N1, d); a torch tensor (any device) or a numpy array.
        x2: second inputs, shape (N2, d); None means ``x1`` (the result is then exactly
            symmetric and the ReLU diagonal uses theta = 0).
        depth: number of hidden layers, >= 0.
        activation: "relu", "erf" or "linear".
        w_std, b_std: weight and bias standard deviations of every Dense layer, >= 0.
        block_size: rows/columns per block (default: 512 on CPU, 4096 on CUDA). Peak memory
            is the two (N1, N2) float64 outputs plus about eight block_size**2 float64
            temporaries, so N = 20,000 needs about 6.5 GB.

    Returns:
        ``Kernels(nngp, ntk)``, float64 tensors of shape (N1, N2) on the inputs' device.

    Raises:
        OverflowError: before any block is computed, when the diagonal recursion leaves
            ``SAFE_MAX`` (~3e153): inputs with ``|x|^2 / d`` that large, or deep networks
            whose variance grows (ReLU with ``w_std > sqrt(2)``, linear with ``w_std > 1``);
            the message names the layer and what to change. Values are not rescaled
            internally. The outputs are checked to be finite as well.
    """
    t1, t2 = _check_inputs(x1, x2)
    depth = _checks.integer(depth, "depth", minimum=0)
    activation = _check_activation(activation)
    w_var = _check_var(w_std, "w_std")
    b_var = _check_var(b_std, "b_std")
    if block_size is None:
        block = DEFAULT_BLOCK_SIZE.get(t1.device.type, DEFAULT_BLOCK_SIZE["cpu"])
    else:
        block = _checks.integer(block_size, "block_size", minimum=1)

    d = t1.shape[1]
    symmetric = t2 is None
    t2 = t1 if symmetric else t2
    q1_all = (t1 * t1).sum(dim=1) / d
    q2_all = q1_all if symmetric else (t2 * t2).sum(dim=1) / d
    _check_range(
        q1_all if symmetric else torch.cat([q1_all, q2_all]),
        depth,
        activation,
        w_var,
        b_var,
    )

    n1, n2 = t1.shape[0], t2.shape[0]
    nngp = torch.empty((n1, n2), dtype=torch.float64, device=t1.device)
    ntk = torch.empty_like(nngp)
    for i0 in range(0, n1, block):
        i1 = min(i0 + block, n1)
        for j0 in range(i0 if symmetric else 0, n2, block):
            j1 = min(j0 + block, n2)
            on_diag = symmetric and i0 == j0
            gram = t1[i0:i1] @ t2[j0:j1].T
            if (
                on_diag
            ):  # exact symmetry, and the diagonal equals the variances exactly
                gram = (gram + gram.T).mul_(0.5 / d)
                gram.diagonal().copy_(q1_all[i0:i1])
            else:
                gram.div_(d)
            s, k = _block_kernels(
                gram,
                q1_all[i0:i1],
                q2_all[j0:j1],
                depth,
                activation,
                w_var,
                b_var,
                on_diag,
            )
            if on_diag:  # vectorized and scalar code paths of elementwise ops may differ by an ulp
                s, k = _sym(s), _sym(k)
            nngp[i0:i1, j0:j1] = s
            ntk[i0:i1, j0:j1] = k
            if symmetric and not on_diag:
                nngp[j0:j1, i0:i1] = s.T
                ntk[j0:j1, i0:i1] = k.T
    _check_finite("mlp_kernels", nngp, ntk)
    return Kernels(nngp, ntk)


def tp4_relu_1lp_kernels(
    x1: ArrayLike,
    x2: ArrayLike | None = None,
    *,
    sigma_w: float = 1.0,
    sigma_b: float = 1.0,
    sigma_v: float = 1.0,
) -> Kernels:
    """The 1-hidden-layer ReLU GP and NTK baselines of TP4's MAML experiments.

    Yang & Hu (2021), "Feature Learning in Infinite-Width Neural Networks", Omniglot/MAML
    appendix; code ``TP4MAML/inf/inf1lp.py`` (``InfGP1LP``, ``InfNTK1LP``). The network is
    ``f(x) = v . relu(h(x)) / sqrt(n)`` with ``h = sigma_w W x + sigma_b b``, ``W, b ~ N(0, 1)``,
    and the readout ``v`` initialized at zero. With the pre-activation covariance
    ``q(x, x') = sigma_w**2 <x, x'> + sigma_b**2`` (raw dot product: no 1/d, as in TP4):

    * ``nngp = E[relu(h) relu(h')]`` (ReLU formula of the module docstring): the tangent
      kernel of the readout, the "GP" baseline (only the readout trains);
    * ``ntk = nngp + sigma_v**2 (pi - theta) / (2 pi) <x, x'>``: readout plus first-layer
      weights, where ``sigma_v`` is the readout scale entering the first-layer gradient; the
      first-layer bias is not in the tangent kernel (TP4's ``InfNTK1LP`` leaves it out).

    Args:
        x1: (N1, d) inputs; x2: (N2, d) inputs or None for ``x1``.
        sigma_w, sigma_b, sigma_v: TP4's ``sigma_u`` (``--sigma1``), ``sigma_b``
            (``--sigmab``) and ``sigma_v`` (``--sigma2``), all >= 0.

    Returns:
        ``Kernels(nngp, ntk)``, float64 (N1, N2) tensors on the inputs' device.

    Raises:
        OverflowError: when a variance ``sigma_w**2 |x|^2 + sigma_b**2`` or the NTK diagonal
            exceeds ``SAFE_MAX`` (~3e153; inputs or scales far too large), before computing.
    """
    t1, t2 = _check_inputs(x1, x2)
    w_var = _check_var(sigma_w, "sigma_w")
    b_var = _check_var(sigma_b, "sigma_b")
    v_var = _check_var(sigma_v, "sigma_v")
    symmetric = t2 is None
    t2 = t1 if symmetric else t2
    dots = t1 @ t2.T
    sq1 = (t1 * t1).sum(dim=1)
    if symmetric:
        dots = (dots + dots.T).mul_(0.5)
        dots.diagonal().copy_(sq1)
    sq2 = sq1 if symmetric else (t2 * t2).sum(dim=1)
    _check_tp4_range(t1 if symmetric else torch.cat([t1, t2]), w_var, b_var, v_var)
    nngp, ntk = _tp4_relu_1lp(
        dots, sq1, sq2, w_var, b_var, v_var, symmetric, COLLINEAR_RTOL, True
    )
    if symmetric:
        nngp, ntk = _sym(nngp), _sym(ntk)
    _check_finite("tp4_relu_1lp_kernels", nngp, ntk)
    return Kernels(nngp, ntk)


def _check_tp4_range(
    x: torch.Tensor, w_var: float, b_var: float, v_var: float
) -> None:
    """OverflowError unless the variances and the NTK diagonal of TP4's kernels stay below SAFE_MAX."""
    sq = (x * x).sum(dim=1)
    top = float(
        torch.max(
            (sq * w_var + b_var).max(), (sq * (w_var + v_var / 2) + b_var).max()
        )
    )
    if not top <= SAFE_MAX:
        raise _overflow(
            "the first layer",
            top,
            f"rescale the inputs (largest |x|^2 is {float(sq.max()):.3g}) "
            "or lower sigma_w, sigma_b, sigma_v",
            fn="tp4_relu_1lp_kernels",
        )


def _tp4_relu_1lp(
    dots: torch.Tensor,
    sq1: torch.Tensor,
    sq2: torch.Tensor,
    w_var: float,
    b_var: float,
    v_var: float,
    on_diag: bool,
    rtol: float,
    want_ntk: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The formulas of :func:`tp4_relu_1lp_kernels` from the dot products, in their dtype."""
    q1 = sq1 * w_var + b_var
    q2 = q1 if on_diag else sq2 * w_var + b_var
    sigma = dots * w_var + b_var
    # the NTK's first-layer term sigma_v**2 <x, x'> picks up the ReLU factor
    # (pi - theta) / (2 pi)
    first = dots * v_var if want_ntk else None
    nngp, first = _relu(sigma, first, q1, q2, on_diag, rtol)
    return nngp, None if first is None else first.add_(nngp)


def tp4_relu_1lp_from_dots(
    dots: torch.Tensor,
    sq1: torch.Tensor,
    sq2: torch.Tensor,
    *,
    get: Literal["nngp", "ntk"] = "ntk",
    sigma_w: float = 1.0,
    sigma_b: float = 1.0,
    sigma_v: float = 1.0,
    rtol: float | None = None,
) -> torch.Tensor:
    """:func:`tp4_relu_1lp_kernels` (one of the two) from dot products already computed.

    The fast path of kernel machines that evaluate a kernel block by block, batched over
    tasks, or in float32: ``dots`` (..., N1, N2) are ``<x, x'>`` (any leading batch
    dimensions), ``sq1`` (..., N1) and ``sq2`` (..., N2) the squared norms ``|x|**2``,
    ``|x'|**2``. Everything is computed in the dtype of ``dots`` (the norms are cast to it);
    ``rtol`` is the collinearity threshold (default: :data:`COLLINEAR_RTOL` in float64,
    :data:`COLLINEAR_RTOL_FLOAT32` in float32). Inputs are not checked and ``dots`` is not
    modified. Returns the (..., N1, N2) kernel ``get``.
    """
    if get not in ("nngp", "ntk"):
        raise ValueError(f"get must be 'nngp' or 'ntk', got {get!r}")
    if rtol is None:
        rtol = (
            COLLINEAR_RTOL if dots.dtype == torch.float64 else COLLINEAR_RTOL_FLOAT32
        )
    w_var = _check_var(sigma_w, "sigma_w")
    b_var = _check_var(sigma_b, "sigma_b")
    v_var = _check_var(sigma_v, "sigma_v")
    nngp, ntk = _tp4_relu_1lp(
        dots,
        sq1.to(dots.dtype),
        sq2.to(dots.dtype),
        w_var,
        b_var,
        v_var,
        False,
        rtol,
        get == "ntk",
    )
    return nngp if get == "nngp" else ntk


def _sym(a: torch.Tensor) -> torch.Tensor:
    """The symmetric part ``(a + a^T) / 2`` of a (batch of) square matrices."""
    return 0.5 * (a + a.transpose(-1, -2))

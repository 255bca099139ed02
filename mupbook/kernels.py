"""Exact infinite-width NNGP and NTK kernels of MLPs, and the kernel predictors.

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

Predictors follow ``neural_tangents.predict.gradient_descent_mse_ensemble`` (source:
``neural_tangents/_src/predict.py``): loss ``1/2`` mean squared error over all ``N * K``
outputs, so that with learning rate ``eta`` gradient flow on the train outputs is
``df/dt = -(eta / (N K)) Theta (f - y)``; time ``t`` is in units of steps, i.e. absolute time
``eta * t``; ``diag_reg`` is multiplied by ``trace(K) / N`` unless
``diag_reg_absolute_scale``; ``t = None`` means infinite time (Cholesky solves), finite ``t``
uses the eigendecomposition of the (regularized) train-train kernel. The NNGP predictor at
``t = None`` is the exact GP posterior.

Everything is computed in float64 on the device of the inputs.
"""

from __future__ import annotations

import math
import numbers
from typing import Literal, NamedTuple, Sequence, Union

import numpy as np
import torch

__all__ = [
    "ACTIVATIONS",
    "Kernels",
    "Gaussian",
    "mlp_kernels",
    "tp4_relu_1lp_kernels",
    "tp4_relu_1lp_from_dots",
    "gd_mse_ensemble",
    "nngp_posterior",
    "ntk_predict",
]

Activation = Literal["relu", "erf", "linear"]
ACTIVATIONS: tuple[str, ...] = ("relu", "erf", "linear")
ArrayLike = Union[torch.Tensor, np.ndarray]
Times = Union[None, float, Sequence[float], np.ndarray, torch.Tensor]

#: Default rows (and columns) per block, by device type: small blocks stay in CPU caches
#: (512 was fastest on a 2-core CPU for 2,000 x 784 inputs); on CUDA 4096**2 float64 entries
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


class Kernels(NamedTuple):
    """The pair of infinite-width kernels, each a float64 tensor of shape (N1, N2)."""

    nngp: torch.Tensor
    ntk: torch.Tensor


class Gaussian(NamedTuple):
    """Mean and covariance of predictions; ``covariance`` is None when not asked for."""

    mean: torch.Tensor
    covariance: torch.Tensor | None


# ----------------------------------------------------------------------------- validation


def _as_float64(x: ArrayLike, name: str, ndim: int | None = None) -> torch.Tensor:
    """``x`` as a float64 tensor on its own device; ValueError for bad type/dtype/values."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "f":
            raise ValueError(f"{name} must have a floating dtype, got numpy {x.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(x))
    elif isinstance(x, torch.Tensor):
        if not x.dtype.is_floating_point:
            raise ValueError(f"{name} must have a floating dtype, got {x.dtype}")
    else:
        raise ValueError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {tuple(x.shape)}")
    x = x.detach().to(torch.float64)
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} has non-finite entries (nan or inf)")
    return x


def _check_inputs(x1: ArrayLike, x2: ArrayLike | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Validate the (N1, d) and (N2, d) inputs of a kernel function."""
    t1 = _as_float64(x1, "x1", ndim=2)
    if t1.shape[0] == 0 or t1.shape[1] == 0:
        raise ValueError(f"x1 must have at least one row and one feature, got shape {tuple(t1.shape)}")
    if x2 is None:
        return t1, None
    t2 = _as_float64(x2, "x2", ndim=2)
    if t2.shape[0] == 0:
        raise ValueError("x2 must have at least one row")
    if t2.shape[1] != t1.shape[1]:
        raise ValueError(f"x1 and x2 must have the same number of features, got {t1.shape[1]} and {t2.shape[1]}")
    if t2.device != t1.device:
        raise ValueError(f"x1 and x2 must be on the same device, got {t1.device} and {t2.device}")
    return t1, t2


def _check_std(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {value}")
    return value


def _check_int(value: int, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {type(value).__name__}")
    if int(value) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}")
    return activation


# ----------------------------------------------------------------------------- layer rules


def _relu(
    sigma: torch.Tensor, ntk: torch.Tensor | None, q1: torch.Tensor, q2: torch.Tensor, on_diag: bool,
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
    dot = theta.neg_().add_(math.pi).div_(_TWO_PI)  # E[relu'(u) relu'(v)] = (pi - theta) / 2pi
    if ntk is not None:
        ntk.mul_(dot)
    new_sigma = s.div_(_TWO_PI).addcmul_(dot, sigma)
    if on_diag:
        new_sigma.diagonal(dim1=-2, dim2=-1).copy_(q1 / 2)
    return new_sigma, ntk


def _erf(
    sigma: torch.Tensor, ntk: torch.Tensor, q1: torch.Tensor, q2: torch.Tensor, on_diag: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """NT ``Erf`` on a block. Uses (1+2q11)(1+2q22) - 4q12^2 = 1 + 2q11 + 2q22 + 4(q11 q22 - q12^2),
    which is >= 1 and free of cancellation."""
    det = torch.outer(q1, q2).sub_(sigma * sigma).clamp_min_(0.0).mul_(4.0)
    det.add_((q1[:, None] + q2[None, :]).mul_(2.0).add_(1.0))  # q_i + q_j keeps exact symmetry
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
    """
    t1, t2 = _check_inputs(x1, x2)
    depth = _check_int(depth, "depth", 0)
    activation = _check_activation(activation)
    w_var = _check_std(w_std, "w_std") ** 2
    b_var = _check_std(b_std, "b_std") ** 2
    if block_size is None:
        block = DEFAULT_BLOCK_SIZE.get(t1.device.type, DEFAULT_BLOCK_SIZE["cpu"])
    else:
        block = _check_int(block_size, "block_size", 1)

    d = t1.shape[1]
    symmetric = t2 is None
    t2 = t1 if symmetric else t2
    q1_all = (t1 * t1).sum(dim=1) / d
    q2_all = q1_all if symmetric else (t2 * t2).sum(dim=1) / d

    n1, n2 = t1.shape[0], t2.shape[0]
    nngp = torch.empty((n1, n2), dtype=torch.float64, device=t1.device)
    ntk = torch.empty_like(nngp)
    for i0 in range(0, n1, block):
        i1 = min(i0 + block, n1)
        for j0 in range(i0 if symmetric else 0, n2, block):
            j1 = min(j0 + block, n2)
            on_diag = symmetric and i0 == j0
            gram = t1[i0:i1] @ t2[j0:j1].T
            if on_diag:  # exact symmetry, and the diagonal equals the variances exactly
                gram = (gram + gram.T).mul_(0.5 / d)
                gram.diagonal().copy_(q1_all[i0:i1])
            else:
                gram.div_(d)
            s, k = _block_kernels(
                gram, q1_all[i0:i1], q2_all[j0:j1], depth, activation, w_var, b_var, on_diag
            )
            if on_diag:  # vectorized and scalar code paths of elementwise ops may differ by an ulp
                s, k = _sym(s), _sym(k)
            nngp[i0:i1, j0:j1] = s
            ntk[i0:i1, j0:j1] = k
            if symmetric and not on_diag:
                nngp[j0:j1, i0:i1] = s.T
                ntk[j0:j1, i0:i1] = k.T
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
    """
    t1, t2 = _check_inputs(x1, x2)
    w_var = _check_std(sigma_w, "sigma_w") ** 2
    b_var = _check_std(sigma_b, "sigma_b") ** 2
    v_var = _check_std(sigma_v, "sigma_v") ** 2
    symmetric = t2 is None
    t2 = t1 if symmetric else t2
    dots = t1 @ t2.T
    sq1 = (t1 * t1).sum(dim=1)
    if symmetric:
        dots = (dots + dots.T).mul_(0.5)
        dots.diagonal().copy_(sq1)
    sq2 = sq1 if symmetric else (t2 * t2).sum(dim=1)
    nngp, ntk = _tp4_relu_1lp(dots, sq1, sq2, w_var, b_var, v_var, symmetric, COLLINEAR_RTOL, True)
    if symmetric:
        nngp, ntk = _sym(nngp), _sym(ntk)
    return Kernels(nngp, ntk)


def _tp4_relu_1lp(dots: torch.Tensor, sq1: torch.Tensor, sq2: torch.Tensor, w_var: float, b_var: float,
                  v_var: float, on_diag: bool, rtol: float, want_ntk: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The formulas of :func:`tp4_relu_1lp_kernels` from the dot products, in their dtype."""
    q1 = sq1 * w_var + b_var
    q2 = q1 if on_diag else sq2 * w_var + b_var
    sigma = dots * w_var + b_var
    # the NTK's first-layer term sigma_v**2 <x, x'> picks up the ReLU factor (pi - theta) / (2 pi)
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
        rtol = COLLINEAR_RTOL if dots.dtype == torch.float64 else COLLINEAR_RTOL_FLOAT32
    w_var, b_var, v_var = (_check_std(v, n) ** 2 for v, n in ((sigma_w, "sigma_w"), (sigma_b, "sigma_b"),
                                                               (sigma_v, "sigma_v")))
    nngp, ntk = _tp4_relu_1lp(dots, sq1.to(dots.dtype), sq2.to(dots.dtype), w_var, b_var, v_var, False, rtol,
                              get == "ntk")
    return nngp if get == "nngp" else ntk


# ----------------------------------------------------------------------------- predictors


def _check_times(t: Times, device: torch.device) -> tuple[torch.Tensor | None, bool]:
    """Times as a float64 1-D tensor (None for infinity) and whether ``t`` was a scalar."""
    if t is None:
        return None, True
    if isinstance(t, numbers.Real) and not isinstance(t, bool):
        times, scalar = torch.tensor([float(t)], dtype=torch.float64), True
    else:
        if isinstance(t, (list, tuple)):
            t = np.asarray(t, dtype=np.float64)
        if not isinstance(t, (np.ndarray, torch.Tensor)):
            raise ValueError(f"t must be None, a number or a 1-D array of times, got {type(t).__name__}")
        if isinstance(t, np.ndarray) and t.dtype.kind not in "iuf":
            raise ValueError(f"t must be real, got dtype {t.dtype}")
        if isinstance(t, torch.Tensor) and (t.dtype.is_complex or t.dtype == torch.bool):
            raise ValueError(f"t must be real, got dtype {t.dtype}")
        times = torch.as_tensor(t).detach().to(torch.float64)
        if times.ndim > 1:
            raise ValueError(f"t must be a scalar or 1-D, got shape {tuple(times.shape)}")
        scalar = times.ndim == 0
        times = times.reshape(-1)
    if bool(torch.isnan(times).any()) or bool((times < 0).any()):
        raise ValueError("times t must be >= 0 (inf allowed), got nan or a negative time")
    return times.to(device), scalar


def _regularized(k: torch.Tensor, diag_reg: float, absolute: bool) -> torch.Tensor:
    """``k + diag_reg * I``, with diag_reg times trace(k)/N unless ``absolute`` (as NT)."""
    scale = diag_reg if absolute else diag_reg * float(torch.trace(k)) / k.shape[0]
    out = k.clone()
    out.diagonal().add_(scale)
    return out


def _cholesky(k: torch.Tensor, what: str) -> torch.Tensor:
    factor, info = torch.linalg.cholesky_ex(k)
    if int(info) != 0:
        raise ValueError(
            f"the {what} train-train kernel is not positive definite (Cholesky failed); "
            "pass diag_reg > 0 (e.g. 1e-6) or remove duplicate training points"
        )
    return factor


def _gd_filter(evals: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """(T, N) matrix ``(1 - exp(-lam tau)) / lam``, the NT gradient-flow filter.

    Eigenvalues are clipped at 0 as NT does; for lam = 0 the limit ``tau`` is used (0 if
    tau is infinite, the pseudo-inverse), where NT would divide 0 by 0.
    """
    lam = evals.clamp_min(0.0)[None, :]
    tau = tau[:, None]
    positive = lam > 0
    safe = torch.where(positive, lam, torch.ones_like(lam))
    at_zero = torch.where(torch.isinf(tau), torch.zeros_like(tau), tau)
    return torch.where(positive, -torch.expm1(-safe * tau) / safe, at_zero.expand(-1, lam.shape[1]))


def _check_predict_inputs(
    k_train_train: Kernels,
    k_test_train: Kernels,
    y_train: ArrayLike,
    nngp_test_test: ArrayLike | None,
    get: str,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor, torch.Tensor | None, bool]:
    """Validated float64 (kdd, ktd, nngp_dd, nngp_td, y (N, K), nngp_tt, y_was_1d)."""
    if get not in ("nngp", "ntk"):
        raise ValueError(f"get must be 'nngp' or 'ntk', got {get!r}")
    kdd = _as_float64(getattr(k_train_train, get), f"k_train_train.{get}", ndim=2)
    device = kdd.device
    n = kdd.shape[0]
    if n == 0 or kdd.shape[1] != n:
        raise ValueError(f"k_train_train.{get} must be square (N, N) with N >= 1, got {tuple(kdd.shape)}")
    ktd = _as_float64(getattr(k_test_train, get), f"k_test_train.{get}", ndim=2)
    if ktd.shape[1] != n:
        raise ValueError(f"k_test_train.{get} must have shape (M, {n}), got {tuple(ktd.shape)}")
    y = _as_float64(y_train, "y_train")
    y_1d = y.ndim == 1
    if y_1d:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != n or y.shape[1] == 0:
        raise ValueError(f"y_train must have shape ({n},) or ({n}, K), got {tuple(_shape(y_train))}")
    m = ktd.shape[0]
    nngp_tt = nngp_dd = nngp_td = None
    if nngp_test_test is not None:
        nngp_tt = _as_float64(nngp_test_test, "nngp_test_test", ndim=2)
        if tuple(nngp_tt.shape) != (m, m):
            raise ValueError(f"nngp_test_test must have shape ({m}, {m}), got {tuple(nngp_tt.shape)}")
        if get == "ntk":
            nngp_dd = _as_float64(k_train_train.nngp, "k_train_train.nngp", ndim=2)
            nngp_td = _as_float64(k_test_train.nngp, "k_test_train.nngp", ndim=2)
            if tuple(nngp_dd.shape) != (n, n) or tuple(nngp_td.shape) != (m, n):
                raise ValueError(
                    f"the nngp kernels must have shapes ({n}, {n}) and ({m}, {n}) like the ntk ones, "
                    f"got {tuple(nngp_dd.shape)} and {tuple(nngp_td.shape)}"
                )
    tensors = [t for t in (ktd, y, nngp_tt, nngp_dd, nngp_td) if t is not None]
    if any(t.device != device for t in tensors):
        raise ValueError("all kernels and targets must be on the same device")
    return kdd, ktd, nngp_dd, nngp_td, y, nngp_tt, y_1d


def _shape(x: ArrayLike) -> tuple[int, ...]:
    return tuple(x.shape)


def _sym(a: torch.Tensor) -> torch.Tensor:
    return 0.5 * (a + a.transpose(-1, -2))


def gd_mse_ensemble(
    k_train_train: Kernels,
    k_test_train: Kernels,
    y_train: ArrayLike,
    t: Times = None,
    *,
    get: Literal["nngp", "ntk"] = "ntk",
    nngp_test_test: ArrayLike | None = None,
    learning_rate: float = 1.0,
    diag_reg: float = 0.0,
    diag_reg_absolute_scale: bool = False,
) -> Gaussian:
    """Mean (and covariance) of an infinite ensemble of infinitely wide networks trained by
    gradient flow on 1/2 MSE: ``neural_tangents.predict.gradient_descent_mse_ensemble``.

    ``get="ntk"`` trains all layers (NTK regime); ``get="nngp"`` trains the readout only, and at
    ``t = None`` gives the exact NNGP posterior. Train outputs evolve as
    ``df/dt = -(learning_rate / (N K)) Theta (f - y)`` from the zero-mean prior.

    Args:
        k_train_train: ``Kernels`` (or any object with ``.nngp``/``.ntk``) on the train set,
            (N, N) each; only the ``get`` kernel is needed unless a covariance is asked for.
        k_test_train: the same for (test, train) pairs, (M, N) each.
        y_train: targets, (N,) or (N, K); the kernel acts as ``Theta x I_K``.
        t: None (infinite time), a time >= 0 (inf allowed), or a 1-D sequence of times.
        get: "ntk" or "nngp".
        nngp_test_test: (M, M) NNGP on the test set; when given, the covariance is returned
            (for ``get="ntk"`` the nngp kernels in ``k_train_train``/``k_test_train`` are used too).
        learning_rate: step size; only ``learning_rate * t`` matters.
        diag_reg: ridge added to the train-train kernel, times ``trace/N`` unless
            ``diag_reg_absolute_scale``.

    Returns:
        ``Gaussian(mean, covariance)``: mean (M, K) (or (M,) for 1-D ``y_train``), covariance
        (M, M) or None; both with a leading (T,) axis when ``t`` is 1-D.
    """
    kdd, ktd, nngp_dd, nngp_td, y, nngp_tt, y_1d = _check_predict_inputs(
        k_train_train, k_test_train, y_train, nngp_test_test, get
    )
    lr = _check_std(learning_rate, "learning_rate")
    reg = _check_std(diag_reg, "diag_reg")
    times, scalar_t = _check_times(t, kdd.device)
    kdd_reg = _regularized(_sym(kdd), reg, bool(diag_reg_absolute_scale))

    if times is None:
        mean, cov = _predict_infinite(kdd_reg, ktd, y, get, nngp_dd, nngp_td, nngp_tt)
    else:
        tau = times * lr / y.numel()
        mean, cov = _predict_finite(kdd_reg, ktd, y, tau, get, nngp_dd, nngp_td, nngp_tt)
        if scalar_t:
            mean = mean[0]
            cov = None if cov is None else cov[0]
    if y_1d:
        mean = mean[..., 0]
    return Gaussian(mean, cov)


def _predict_infinite(
    kdd_reg: torch.Tensor,
    ktd: torch.Tensor,
    y: torch.Tensor,
    get: str,
    nngp_dd: torch.Tensor | None,
    nngp_td: torch.Tensor | None,
    nngp_tt: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """t = infinity via Cholesky: mean K_td K^-1 y; NNGP posterior / NTK ensemble covariance."""
    chol = _cholesky(kdd_reg, get)
    mean = ktd @ torch.cholesky_solve(y, chol)
    if nngp_tt is None:
        return mean, None
    if get == "nngp":
        half = torch.linalg.solve_triangular(chol, ktd.T, upper=False)  # L^-1 K_dt, (N, M)
        return mean, _sym(nngp_tt - half.T @ half)
    # NTK: K_tt + A K_dd A^T - (A K_dt + K_td A^T), with A = Theta_td Theta^-1 (M, N)
    a_t = torch.cholesky_solve(ktd.T, chol)  # (N, M)
    cross = ktd @ torch.cholesky_solve(nngp_td.T, chol)  # Theta_td Theta^-1 K_dt
    cov = nngp_tt + a_t.T @ nngp_dd @ a_t - cross - cross.T
    return mean, _sym(cov)


def _predict_finite(
    kdd_reg: torch.Tensor,
    ktd: torch.Tensor,
    y: torch.Tensor,
    tau: torch.Tensor,
    get: str,
    nngp_dd: torch.Tensor | None,
    nngp_td: torch.Tensor | None,
    nngp_tt: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Finite times (T,) via the eigendecomposition K = V diag(lam) V^T (NT's expm1 forms)."""
    evals, evecs = torch.linalg.eigh(kdd_reg)
    g = _gd_filter(evals, tau)  # (T, N)
    ktd_v = ktd @ evecs  # (M, N)
    vty = evecs.T @ y  # (N, K)
    mean = torch.einsum("mi,ti,ik->tmk", ktd_v, g, vty)
    if nngp_tt is None:
        return mean, None
    if get == "nngp":
        g2 = _gd_filter(evals, 2 * tau)
        cov = nngp_tt[None] - torch.einsum("mi,ti,li->tml", ktd_v, g2, ktd_v)
        return mean, _sym(cov)
    # NTK: term1 = V g V^T Theta_dt (T, N, M); cov = term1^T K term1 - (B + B^T) + K_tt,
    # with B = Theta_td V g V^T K_dt.
    term1 = torch.einsum("ni,ti,mi->tnm", evecs, g, ktd_v)
    b = torch.einsum("mi,ti,li->tml", ktd_v, g, nngp_td @ evecs)
    cov = term1.transpose(1, 2) @ nngp_dd @ term1 - b - b.transpose(1, 2) + nngp_tt[None]
    return mean, _sym(cov)


def nngp_posterior(
    nngp_train_train: ArrayLike,
    nngp_test_train: ArrayLike,
    y_train: ArrayLike,
    nngp_test_test: ArrayLike | None = None,
    *,
    diag_reg: float = 0.0,
    diag_reg_absolute_scale: bool = False,
) -> Gaussian:
    """Exact GP posterior with the NNGP kernel (NT's ``get="nngp"``, ``t=None``).

    mean = K_td (K_dd + reg I)^-1 y, shape (M, K) (or (M,)); covariance
    K_tt - K_td (K_dd + reg I)^-1 K_dt, shape (M, M), if ``nngp_test_test`` (M, M) is given.
    """
    return gd_mse_ensemble(
        Kernels(nngp_train_train, None),  # type: ignore[arg-type]
        Kernels(nngp_test_train, None),  # type: ignore[arg-type]
        y_train,
        None,
        get="nngp",
        nngp_test_test=nngp_test_test,
        diag_reg=diag_reg,
        diag_reg_absolute_scale=diag_reg_absolute_scale,
    )


def ntk_predict(
    ntk_train_train: ArrayLike,
    ntk_test_train: ArrayLike,
    y_train: ArrayLike,
    t: Times = None,
    *,
    learning_rate: float = 1.0,
    diag_reg: float = 0.0,
    diag_reg_absolute_scale: bool = False,
) -> torch.Tensor:
    """Mean test prediction of the NTK ensemble after gradient flow for time ``t`` (steps).

    mean(t) = Theta_td Theta^-1 (I - exp(-learning_rate t Theta / (N K))) y, t = None for
    infinity; shape (M, K) (or (M,)), with a leading (T,) axis for a 1-D ``t``.
    """
    return gd_mse_ensemble(
        Kernels(None, ntk_train_train),  # type: ignore[arg-type]
        Kernels(None, ntk_test_train),  # type: ignore[arg-type]
        y_train,
        t,
        get="ntk",
        learning_rate=learning_rate,
        diag_reg=diag_reg,
        diag_reg_absolute_scale=diag_reg_absolute_scale,
    ).mean

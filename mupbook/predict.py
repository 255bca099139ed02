"""Kernel predictors: what an infinitely wide network predicts after training.

Given the exact kernels of :mod:`mupbook.kernels` (or empirical ones), these follow
``neural_tangents.predict.gradient_descent_mse_ensemble`` (source:
``neural_tangents/_src/predict.py``): loss ``1/2`` mean squared error over all ``N * K``
outputs, so that with learning rate ``eta`` gradient flow on the train outputs is
``df/dt = -(eta / (N K)) Theta (f - y)``; time ``t`` is in units of steps, i.e. absolute time
``eta * t``; ``diag_reg`` is multiplied by ``trace(K) / N`` unless
``diag_reg_absolute_scale``; ``t = None`` means infinite time (Cholesky solves), finite ``t``
uses the eigendecomposition of the (regularized) train-train kernel. The NNGP predictor at
``t = None`` is the exact GP posterior. :func:`ntk_gd_predict` is the same for *discrete*
gradient-descent steps, as a finite network is trained.

Everything is computed in float64 on the device of the inputs.
"""

from __future__ import annotations

import numbers
from typing import Literal, NamedTuple, Sequence, Union

import numpy as np
import torch

from . import _checks
from .kernels import ArrayLike, Kernels, _sym

__all__ = [
    "Gaussian",
    "gd_mse_ensemble",
    "nngp_posterior",
    "ntk_predict",
    "ntk_gd_predict",
]

Times = Union[None, float, Sequence[float], np.ndarray, torch.Tensor]


class Gaussian(NamedTuple):
    """Mean and covariance of predictions; ``covariance`` is None when not asked for."""

    mean: torch.Tensor
    covariance: torch.Tensor | None


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
            raise ValueError(
                f"t must be None, a number or a 1-D array of times, got {type(t).__name__}"
            )
        if isinstance(t, np.ndarray) and t.dtype.kind not in "iuf":
            raise ValueError(f"t must be real, got dtype {t.dtype}")
        if isinstance(t, torch.Tensor) and (
            t.dtype.is_complex or t.dtype == torch.bool
        ):
            raise ValueError(f"t must be real, got dtype {t.dtype}")
        times = torch.as_tensor(t).detach().to(torch.float64)
        if times.ndim > 1:
            raise ValueError(
                f"t must be a scalar or 1-D, got shape {tuple(times.shape)}"
            )
        scalar = times.ndim == 0
        times = times.reshape(-1)
    if bool(torch.isnan(times).any()) or bool((times < 0).any()):
        raise ValueError(
            "times t must be >= 0 (inf allowed), got nan or a negative time"
        )
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
    return torch.where(
        positive, -torch.expm1(-safe * tau) / safe, at_zero.expand(-1, lam.shape[1])
    )


def _check_predict_inputs(
    k_train_train: Kernels,
    k_test_train: Kernels,
    y_train: ArrayLike,
    nngp_test_test: ArrayLike | None,
    get: str,
) -> tuple[
    torch.Tensor,
    torch.Tensor,
    torch.Tensor | None,
    torch.Tensor | None,
    torch.Tensor,
    torch.Tensor | None,
    bool,
]:
    """Validated float64 (kdd, ktd, nngp_dd, nngp_td, y (N, K), nngp_tt, y_was_1d)."""
    if get not in ("nngp", "ntk"):
        raise ValueError(f"get must be 'nngp' or 'ntk', got {get!r}")
    kdd = _checks.float64_tensor(
        getattr(k_train_train, get), f"k_train_train.{get}", ndim=2
    )
    device = kdd.device
    n = kdd.shape[0]
    if n == 0 or kdd.shape[1] != n:
        raise ValueError(
            f"k_train_train.{get} must be square (N, N) with N >= 1, got {tuple(kdd.shape)}"
        )
    ktd = _checks.float64_tensor(
        getattr(k_test_train, get), f"k_test_train.{get}", ndim=2
    )
    if ktd.shape[1] != n:
        raise ValueError(
            f"k_test_train.{get} must have shape (M, {n}), got {tuple(ktd.shape)}"
        )
    y = _checks.float64_tensor(y_train, "y_train")
    y_1d = y.ndim == 1
    if y_1d:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != n or y.shape[1] == 0:
        raise ValueError(
            f"y_train must have shape ({n},) or ({n}, K), got {tuple(_shape(y_train))}"
        )
    m = ktd.shape[0]
    nngp_tt = nngp_dd = nngp_td = None
    if nngp_test_test is not None:
        nngp_tt = _checks.float64_tensor(nngp_test_test, "nngp_test_test", ndim=2)
        if tuple(nngp_tt.shape) != (m, m):
            raise ValueError(
                f"nngp_test_test must have shape ({m}, {m}), got {tuple(nngp_tt.shape)}"
            )
        if get == "ntk":
            nngp_dd = _checks.float64_tensor(
                k_train_train.nngp, "k_train_train.nngp", ndim=2
            )
            nngp_td = _checks.float64_tensor(
                k_test_train.nngp, "k_test_train.nngp", ndim=2
            )
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
    lr = _checks.nonnegative_float(learning_rate, "learning_rate")
    reg = _checks.nonnegative_float(diag_reg, "diag_reg")
    times, scalar_t = _check_times(t, kdd.device)
    kdd_reg = _regularized(_sym(kdd), reg, bool(diag_reg_absolute_scale))

    if times is None:
        mean, cov = _predict_infinite(kdd_reg, ktd, y, get, nngp_dd, nngp_td, nngp_tt)
    else:
        tau = times * lr / y.numel()
        mean, cov = _predict_finite(
            kdd_reg, ktd, y, tau, get, nngp_dd, nngp_td, nngp_tt
        )
        if scalar_t:
            mean = mean[0]
            cov = None if cov is None else cov[0]
    if y_1d:
        mean = mean[..., 0]
    for what, out in (("mean", mean), ("covariance", cov)):
        if out is not None and not bool(torch.isfinite(out).all()):
            raise OverflowError(
                f"the prediction is not finite: its {what} overflows float64 (kernel entries up to "
                f"{float(kdd.abs().max()):.3g}, targets up to {float(y.abs().max()):.3g}); rescale the kernels "
                "or the targets, or pass diag_reg > 0"
            )
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
        half = torch.linalg.solve_triangular(
            chol, ktd.T, upper=False
        )  # L^-1 K_dt, (N, M)
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
    cov = (
        term1.transpose(1, 2) @ nngp_dd @ term1
        - b
        - b.transpose(1, 2)
        + nngp_tt[None]
    )
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


def ntk_gd_predict(
    ntk_train_train: torch.Tensor,
    ntk_test_train: torch.Tensor,
    y_train: torch.Tensor,
    steps: int | None,
    lr: float,
) -> torch.Tensor:
    """Test predictions (M, K) of ``steps`` discrete full-batch GD steps in the NTK regime.

    The linearized network, started at the zero function, trained on
    ``mean((f - y)^2) / 2`` over all ``N K`` entries at learning rate ``lr``: train outputs
    follow ``f <- f - (lr / (N K)) Theta (f - y)``, hence
    ``Theta_td Theta^-1 (I - (I - lr Theta / (N K))^steps) y`` (computed from the
    eigendecomposition, with the limit ``steps lr / (N K)`` at zero eigenvalues).
    ``steps=None`` is infinite time. ValueError if ``lr`` makes GD diverge
    (``lr lambda_max / (N K) >= 2``).
    """
    kdd = _checks.float64_tensor(ntk_train_train, "ntk_train_train", 2)
    ktd = _checks.float64_tensor(ntk_test_train, "ntk_test_train", 2)
    y = _checks.float64_tensor(y_train, "y_train", 2)
    n = kdd.shape[0]
    if kdd.shape != (n, n) or ktd.shape[1] != n or y.shape[0] != n:
        raise ValueError(
            f"shapes do not fit: train-train {tuple(kdd.shape)}, test-train "
            f"{tuple(ktd.shape)}, y_train {tuple(y.shape)}"
        )
    lr = _checks.positive_float(lr, "lr")
    kdd = 0.5 * (kdd + kdd.T)
    evals, evecs = torch.linalg.eigh(kdd)
    a = lr / y.numel()
    if a * float(evals.max()) >= 2:
        raise ValueError(
            f"lr = {lr:g} makes gradient descent diverge: lr * lambda_max / (N K) = "
            f"{a * float(evals.max()):.3g} >= 2; use lr < {2 / float(evals.max()) * y.numel():.3g}"
        )
    if steps is None:
        return ntk_predict(kdd, ktd, y)
    steps = _checks.positive_int(steps, "steps")
    lam = evals.clamp_min(0.0)
    decay = torch.pow(1.0 - a * lam, steps)
    safe = torch.where(lam > 0, lam, torch.ones_like(lam))
    g = torch.where(lam > 0, (1.0 - decay) / safe, torch.full_like(lam, steps * a))
    return ktd @ evecs @ (g[:, None] * (evecs.T @ y))

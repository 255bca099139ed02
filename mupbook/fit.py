"""Log-log slope fits: how a quantity scales with width.

A quantity ``y ~ C n^s`` lies on a line of slope ``s`` in log-log coordinates;
:func:`loglog_slope` fits it by least squares and reports a standard error, and
:func:`expect_slope` is the assertion the chapters use to pin a claim down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SlopeFit:
    """``log y = intercept + slope * log n`` fitted by least squares (natural logs)."""

    slope: float
    intercept: float
    stderr: float

    def predict(self, n: np.ndarray) -> np.ndarray:
        """The fitted power law ``exp(intercept) * n**slope``."""
        return np.exp(self.intercept) * np.asarray(n, dtype=float) ** self.slope


def loglog_slope(x, y) -> SlopeFit:
    """Fit ``y ~ C x^s``; ``x`` and ``y`` are 1-D, positive, finite, of equal length >= 2."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or y.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"x and y must be 1-D of the same length, got shapes {x.shape} and {y.shape}"
        )
    if x.size < 2:
        raise ValueError("a slope needs at least two points")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError(
            "cannot fit a slope through non-finite values (did training diverge?)"
        )
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("a log-log fit needs strictly positive x and y")
    lx, ly = np.log(x), np.log(y)
    if np.ptp(lx) == 0:
        raise ValueError("a slope needs at least two distinct x values")
    slope, intercept = np.polyfit(lx, ly, 1)
    resid = ly - (intercept + slope * lx)
    dof = x.size - 2
    stderr = (
        float(np.sqrt(resid @ resid / dof / np.sum((lx - lx.mean()) ** 2)))
        if dof > 0
        else 0.0
    )
    return SlopeFit(float(slope), float(intercept), stderr)


def expect_slope(
    fit: SlopeFit | float, expected: float, tol: float, what: str = "slope"
) -> None:
    """Raise ``AssertionError`` unless the fitted slope is within ``tol`` of ``expected``."""
    slope = fit.slope if isinstance(fit, SlopeFit) else float(fit)
    if not np.isfinite(slope) or abs(slope - expected) > tol:
        raise AssertionError(
            f"{what}: measured log-log slope {slope:+.3f}, expected {expected:+.3f} +/- {tol}"
        )

"""Log-log slope fits: how a quantity scales with width.

A quantity ``y ~ C n^s`` lies on a line of slope ``s`` in log-log coordinates;
:func:`loglog_slope` fits it by least squares and reports a standard error, and
:func:`expect_slope` is the assertion the chapters use to pin a claim down;
:func:`parabola_optimum` locates the minimum of a curve on an evenly spaced grid (the best
learning rate of a sweep). :class:`Claims` checks several claims at once and fails once,
naming every claim that broke (so that one broken run shows each of them failing). The interval beside an accuracy (k correct answers
out of n) is :func:`mupbook.stats.wilson_interval`.
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
    fit: SlopeFit | float | None, expected: float, tol: float, what: str = "slope"
) -> None:
    """Raise ``AssertionError`` unless the fitted slope is within ``tol`` of ``expected``
    (also when there is no fit, ``fit=None``: fewer than two usable widths)."""
    if fit is None:
        raise AssertionError(
            f"{what}: no slope was fitted (fewer than two usable widths), expected "
            f"{expected:+.3f} +/- {tol}"
        )
    slope = fit.slope if isinstance(fit, SlopeFit) else float(fit)
    if not np.isfinite(slope) or abs(slope - expected) > tol:
        raise AssertionError(
            f"{what}: measured log-log slope {slope:+.3f}, expected {expected:+.3f} +/- {tol}"
        )


@dataclass(frozen=True)
class GridOptimum:
    """The minimum of a curve sampled on an evenly spaced grid: ``x`` and ``y`` of the
    vertex of the parabola through the best grid point and its two neighbours (the grid
    point itself when it lacks a finite neighbour), the best point's ``index``, and
    ``at_edge``: the best point is an end of the grid or next to a missing (non-finite)
    value, so the true minimum may lie beyond it."""

    x: float
    y: float
    index: int
    at_edge: bool


def parabola_optimum(x, y) -> GridOptimum:
    """Locate the minimum of ``y`` over the evenly spaced grid ``x`` (1-D, same length,
    >= 3 points) by a parabola through the lowest finite value and its two neighbours.
    Non-finite values (diverged runs) are ignored. The vertex lies within half a grid step
    of the best point (the best point is the lowest of the three)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or x.size < 3:
        raise ValueError(
            f"x and y must be 1-D of the same length >= 3, got {x.shape} and {y.shape}"
        )
    steps = np.diff(x)
    if not (np.all(np.isfinite(x)) and np.all(steps > 0)) or not np.allclose(
        steps, steps[0], rtol=1e-9, atol=1e-12
    ):
        raise ValueError(
            f"x must be finite, increasing and evenly spaced: {x.tolist()}"
        )
    ok = np.isfinite(y)
    if not ok.any():
        raise ValueError("no finite value: every point diverged")
    i = int(np.nanargmin(np.where(ok, y, np.nan)))
    if i == 0 or i == x.size - 1 or not (ok[i - 1] and ok[i + 1]):
        return GridOptimum(float(x[i]), float(y[i]), i, True)
    a, b, c = y[i - 1], y[i], y[i + 1]
    curve = a - 2 * b + c  # >= 0, since b is the lowest of the three
    if curve <= 0:
        return GridOptimum(float(x[i]), float(b), i, False)
    offset = 0.5 * (a - c) / curve
    return GridOptimum(
        float(x[i] + offset * steps[0]),
        float(b - (a - c) ** 2 / (8 * curve)),
        i,
        False,
    )


class Claims:
    """Check several claims and fail once, listing every one that does not hold.

    Use it as a context manager (it raises on leaving the block) or call :meth:`check`::

        with Claims() as claims:
            claims.expect_slope(fit, -0.5, 0.15, "NTP feature movement")
            claims.expect(change.min() > 0.1, "muP features move by > 10%", change)

    The ``AssertionError`` says how many of how many claims failed and gives each failed
    claim's message, in the order the claims were made.
    """

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.checked = 0

    def expect_slope(
        self,
        fit: SlopeFit | float | None,
        expected: float,
        tol: float,
        what: str = "slope",
    ) -> None:
        """The claim of :func:`expect_slope`, recorded instead of raised."""
        self.checked += 1
        try:
            expect_slope(fit, expected, tol, what)
        except AssertionError as err:
            self.failures.append(str(err))

    def expect(self, condition: object, what: str, detail: object = None) -> None:
        """The claim ``what`` holds iff ``condition`` is true; ``detail`` (the measured
        values) goes into the message when it does not."""
        self.checked += 1
        if not bool(condition):
            self.failures.append(what if detail is None else f"{what} ({detail})")

    def check(self) -> None:
        """Raise ``AssertionError`` naming every failed claim (nothing if all hold)."""
        if self.failures:
            raise AssertionError(
                f"{len(self.failures)} of {self.checked} claims failed: "
                + " | ".join(self.failures)
            )

    def __enter__(self) -> Claims:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.check()

"""How far a count of correct answers pins an accuracy down: binomial intervals.

An accuracy measured on ``total`` questions is a binomial proportion; its uncertainty
from the choice of questions is given by a confidence interval. :func:`wilson_interval`
is the Wilson score interval (Wilson 1927), which, unlike the normal approximation
``p +- z sqrt(p (1 - p) / total)``, stays inside [0, 1] and is not empty at 0 or
``total`` correct answers (0 of 1,000 gives 0 to 0.38% at 95%). It covers the sampling
of the questions only: a second training seed varies the accuracy further.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from . import _checks


def _z(confidence: float) -> float:
    if isinstance(confidence, bool) or not (
        isinstance(confidence, (int, float)) and 0 < confidence < 1
    ):
        raise ValueError(
            f"confidence must lie strictly between 0 and 1, got {confidence!r}"
        )
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(
    correct: int, total: int, confidence: float = 0.95
) -> tuple[float, float]:
    """Wilson score interval ``(low, high)`` of a binomial proportion, as fractions in [0, 1].

    ``correct`` of ``total`` trials (integers, ``0 <= correct <= total``, ``total >= 1``)::

        center = (p + z^2 / 2N) / (1 + z^2 / N),
        half   = z sqrt(p (1 - p) / N + z^2 / 4N^2) / (1 + z^2 / N),

    with ``p = correct / total``, ``N = total`` and ``z`` the two-sided normal quantile of
    ``confidence``.
    """
    total = _checks.positive_int(total, "total")
    correct = _checks.nonnegative_int(correct, "correct")
    if correct > total:
        raise ValueError(f"correct = {correct} cannot exceed total = {total}")
    z = _z(confidence)
    p, n = correct / total, float(total)
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # exact at the ends: 0 correct has low = 0, all correct has high = 1
    low = 0.0 if correct == 0 else max(0.0, center - half)
    high = 1.0 if correct == total else min(1.0, center + half)
    return low, high


@dataclass(frozen=True)
class Proportion:
    """``correct`` of ``total`` with its Wilson interval, in %."""

    correct: int
    total: int
    confidence: float = 0.95

    def __post_init__(self) -> None:
        wilson_interval(self.correct, self.total, self.confidence)  # validates

    @property
    def percent(self) -> float:
        return 100.0 * self.correct / self.total

    @property
    def interval(self) -> tuple[float, float]:
        """The Wilson interval in % (low, high)."""
        low, high = wilson_interval(self.correct, self.total, self.confidence)
        return 100.0 * low, 100.0 * high

    def below(self, other: Proportion) -> bool:
        """True when this interval lies entirely below ``other``'s (they do not overlap)."""
        return self.interval[1] < other.interval[0]

    def __str__(self) -> str:
        low, high = self.interval
        return (
            f"{self.correct}/{self.total} = {self.percent:.1f}% "
            f"({100 * self.confidence:g}%: {low:.1f} to {high:.1f}%)"
        )

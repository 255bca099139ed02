"""Exercises of chapter 1: square-root cancellation."""

from __future__ import annotations

import numpy as np

from ..fit import loglog_slope
from . import Exercise, function, numeric, register

register(
    Exercise(
        id="ch01-variance-one",
        question="If W had iid entries of variance 1 (not 1/n), what log-log slope would the "
        "rms coordinate of W x have against n at initialization?",
        checker=numeric(
            0.5,
            abs_tol=0.05,
            hints={
                0.0: "that is the answer for variance 1/n; what does dividing the variance by n do?",
                1.0: "the n terms are independent and zero-mean: they add in square root, not linearly",
            },
            explain="1/2: n independent zero-mean terms of size O(1) sum to O(sqrt(n))",
        ),
        reference=lambda: 0.5,
        wrong=(lambda: 0.0, lambda: 1.0),
    )
)


def _slope_reference(widths, sizes) -> float:
    return loglog_slope(widths, sizes).slope


def _slope_cases() -> list[tuple]:
    rng = np.random.default_rng(1)
    ws = 2.0 ** np.arange(6, 13)
    noisy = 3.0 * ws**-0.5 * np.exp(rng.normal(0, 0.1, ws.size))
    return [
        (ws, 2.0 * ws**0.5),
        (ws, 0.7 * ws**0.0),
        (ws[:4], 5.0 / ws[:4]),
        (ws, noisy),
    ]


register(
    Exercise(
        id="ch01-loglog-slope",
        question="Write slope(widths, sizes) that returns the least-squares slope of "
        "log(sizes) against log(widths).",
        checker=function(
            _slope_reference,
            _slope_cases,
            explain="a power law C n^s is a line of slope s in log-log coordinates",
        ),
        reference=lambda: lambda w, s: np.polyfit(np.log(w), np.log(s), 1)[0],
        wrong=(
            lambda: lambda w, s: np.polyfit(w, s, 1)[0],
            lambda: lambda w, s: np.polyfit(np.log(w), s, 1)[0],
        ),
    )
)

register(
    Exercise(
        id="ch01-ntp-extrapolate",
        question="Under NTP the relative feature change after training is 0.08 at width 256. "
        "Predict it at width 4096.",
        checker=numeric(
            0.02,
            rel_tol=0.1,
            hints={
                0.08: "that is what muP would give (Theta(1) movement); NTP's movement shrinks with width",
                0.005: "the movement shrinks like n^(-1/2), not n^(-1)",
                0.32: "the movement shrinks with width, it does not grow",
            },
            explain="0.02: 4096/256 = 16 and 16^(-1/2) = 1/4",
        ),
        reference=lambda: 0.02,
        wrong=(lambda: 0.08, lambda: 0.005),
    )
)

register(
    Exercise(
        id="ch01-independent-factor",
        question="In muP, by what factor does the rms coordinate of dW x~ (x~ independent of the "
        "update) shrink when the width grows from 64 to 4096?",
        checker=numeric(
            8.0,
            rel_tol=0.05,
            hints={
                1.0: "that is dW x, which is correlated with the update; x~ is independent of it",
                64.0: "independent terms cancel in square root: the factor is sqrt(4096/64)",
                0.125: "give the factor by which it shrinks (a number larger than 1)",
            },
            explain="8 = sqrt(4096/64): dW x~ scales like n^(-1/2) while dW x stays Theta(1)",
        ),
        reference=lambda: 8.0,
        wrong=(lambda: 1.0, lambda: 64.0),
    )
)

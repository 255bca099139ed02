"""Exercises of chapter 1: square-root cancellation."""

from __future__ import annotations

import numpy as np

from ..fit import loglog_slope
from . import Exercise, function, numeric, register

register(
    Exercise(
        id="ch01-variance-one",
        kind="derive",
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
        id="ch01-predict-sp-update",
        kind="predict",
        question="Predict, then run: SP with the learning rate eta/n (c = 1; a = 0, "
        "b = (0, 1/2, 1/2)). With what log-log slope in n do the coordinates of dW x grow "
        "or shrink after one SGD step?",
        checker=numeric(
            -0.5,
            abs_tol=0.05,
            hints={
                0.5: "that is SP with c = 0, which the chapter ran; here the learning rate "
                "eta n^-c brings one more power of n",
                0.0: "that is muP's slope; SP differs from muP in the readout (a_3 + b_3) "
                "and in c, and the two changes do not cancel",
                -1.5: "the learning rate eta n^-c enters the update once, not twice",
                -1.0: "the readout enters dh through its entries' size n^-(a_3 + b_3), "
                "which for SP is not n^-1",
            },
            explain="-1/2: s = 1 - c - 2 a_2 - (a_3 + b_3) = 1 - 1 - 0 - 1/2, the same "
            "first step as NTP: SP at its stable learning rate is a kernel parametrization "
            "too",
        ),
        reference=lambda: -0.5,
        wrong=(lambda: 0.5, lambda: 0.0, lambda: -1.5),
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
                64.0: "that is the width ratio itself; independent terms cancel in square "
                "root",
                0.125: "give the factor by which it shrinks (a number larger than 1)",
            },
            explain="8 = sqrt(4096/64): dW x~ scales like n^(-1/2) while dW x stays Theta(1)",
        ),
        reference=lambda: 8.0,
        wrong=(lambda: 1.0, lambda: 64.0),
    )
)

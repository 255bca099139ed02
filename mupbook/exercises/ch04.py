"""Exercises of chapter 4: abc-parametrizations and the Dynamical Dichotomy."""

from __future__ import annotations

from . import Exercise, choice, numeric, register

register(
    Exercise(
        id="ch04-r-sp-one-layer",
        question="What is r for SP (a = (0, 0), b = (0, 1/2), c = 1) with a single hidden layer?",
        checker=numeric(
            1.5,
            abs_tol=0.01,
            hints={
                0.5: "1/2 is SP's r for L >= 2, where the hidden matrix W^2 sets the minimum; with L = 1 "
                "only the input layer (with its + 1) is in the min",
                0.0: "r = 0 would be feature learning; SP is in the kernel regime",
            },
            explain="3/2: min(1/2, 1) + 1 - 1 + (2 * 0 + 1)",
        ),
        reference=lambda: 1.5,
        wrong=(lambda: 0.5, lambda: 0.0),
    )
)

register(
    Exercise(
        id="ch04-shift-c",
        question="Shift muP (any depth) by t = 1/2 with the symmetry (a + t, b - t, c - 2t). What is c?",
        checker=numeric(
            -1.0,
            abs_tol=0.01,
            hints={
                0.0: "c changes by -2t",
                1.0: "c - 2t, not c + 2t",
                -0.5: "c changes by 2t, not t",
            },
            explain="-1: for depth 1 this is exactly the mean-field parametrization MFP",
        ),
        reference=lambda: -1.0,
        wrong=(lambda: 0.0, lambda: 1.0),
    )
)

register(
    Exercise(
        id="ch04-regime",
        question="Classify a = (0, 1/2, 1), b = (0, 0, 0), c = -1 (two hidden layers).",
        checker=choice(
            "feature learning",
            ("unstable", "trivial", "kernel", "feature learning"),
            hints={
                "kernel": "compute r: min(1, 1) - 1 - 1 + min(0 + 1, 1) = 0",
                "unstable": "check each condition: a_1 + b_1 = 0, a_2 + b_2 = 1/2, a_3 + b_3 = 1 >= 1/2, "
                "r = 0 >= 0, 2 a_3 + c = 1 >= 1, a_3 + b_3 + r = 1 >= 1",
            },
            explain="feature learning: it is muP shifted by t = 1/2",
        ),
        reference=lambda: "feature learning",
        wrong=(lambda: "kernel", lambda: "unstable"),
    )
)

"""Exercises of chapter 4: abc-parametrizations and the Dynamical Dichotomy."""

from __future__ import annotations

from . import Exercise, choice, numeric, register

register(
    Exercise(
        id="ch04-r-sp-one-layer",
        kind="derive",
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
        id="ch04-readout-init-c",
        kind="derive",
        question="SP with two hidden layers, but with the readout initialized like muP's "
        "(a = (0, 0, 0), b = (0, 1/2, 1)). Derive the one learning-rate exponent c for "
        "which it is stable and nontrivial.",
        checker=numeric(
            1.0,
            abs_tol=0.01,
            hints={
                0.0: "unstable: a smaller readout at init does not make the readout's own "
                "update smaller (check the condition on 2 a_3 + c); muP fixes that with "
                "its multiplier a_3, not with the initialization",
                0.5: "r >= 0 holds there, but not every stability condition in training: "
                "check the one on the readout's own update",
                2.0: "stable, but trivial: neither nontriviality equation holds, the function "
                "never moves in the limit",
                -1.0: "a negative c makes the learning rate grow with width; already c = 0 "
                "blows the output up",
            },
            explain="1: stability needs 2 a_3 + c = c >= 1, and nontriviality 2 a_3 + c = 1 "
            "(u + r = 1 + c = 1 would need c = 0); then r = 1: a kernel regime, like SP. "
            "The readout's initialization alone does not make SP learn features",
        ),
        reference=lambda: 1.0,
        wrong=(lambda: 0.0, lambda: 0.5, lambda: 2.0),
    )
)

register(
    Exercise(
        id="ch04-regime",
        kind="derive",
        question="Classify a = (0, 1/2, 1), b = (0, 0, 0), c = -1 (two hidden layers).",
        checker=choice(
            "feature learning",
            ("unstable", "trivial", "kernel", "feature learning"),
            hints={
                "kernel": "a kernel regime needs r > 0; compute r with c = -1, which enters "
                "it twice (once inside the min)",
                "unstable": "check the conditions one at a time: the multipliers a and the "
                "negative c compensate each other",
                "trivial": "check the two nontriviality equations: one of them holds",
            },
            explain="feature learning: it is muP shifted by t = 1/2",
        ),
        reference=lambda: "feature learning",
        wrong=(lambda: "kernel", lambda: "unstable", lambda: "trivial"),
    )
)

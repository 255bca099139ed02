"""Exercises of chapter 6: muP in practice (coordinate checks and muTransfer)."""

from __future__ import annotations

from . import Exercise, choice, numeric, register

register(
    Exercise(
        id="ch06-sp-output-slope",
        kind="derive",
        question="In a coordinate check of SP trained by SGD at a width-independent learning rate, "
        "the output's change after one step grows like n^s. What is s?",
        checker=numeric(
            1.0,
            abs_tol=0.1,
            hints={
                0.5: "the readout's update is correlated with the features: n aligned terms, not sqrt(n)",
                0.0: "that is muP; SP keeps the readout's learning rate fixed",
            },
            explain="1: dW_out x sums n aligned terms of a fixed size",
        ),
        reference=lambda: 1.0,
        wrong=(lambda: 0.5, lambda: 0.0),
    )
)

register(
    Exercise(
        id="ch06-transfer",
        question="You tuned muP (SGD, base width 64) at width 256 and found the best learning rate "
        "2^-4. Which learning rate do you use at width 4096?",
        checker=numeric(
            2.0**-4,
            rel_tol=1e-6,
            hints={
                2.0
                ** -8: "that divides by the width ratio 16, as SP would need; muP already scales "
                "each parameter's rate with width, so the base rate transfers",
                2.0**-6: "muP's base learning rate does not change with width",
            },
            explain="2^-4 = 0.0625: under muP the optimal base learning rate is width-independent",
        ),
        reference=lambda: 2.0**-4,
        wrong=(lambda: 2.0**-8, lambda: 2.0**-6),
    )
)

_TENSORS = ("input weights", "hidden weights", "readout")

register(
    Exercise(
        id="ch06-debug-coord",
        kind="debug",
        question="Debug: coordinate_check.mystery_mlp is a muP MLP written by hand (two hidden "
        "layers, no biases, Adam) with one wrong rule. From its coordinate check, which "
        "tensor's rule is wrong: the input weights, the hidden weights or the readout?",
        checker=choice(
            "hidden weights",
            _TENSORS,
            hints={
                "readout": "the output does blow up, but it reads x^2, which blows up "
                "already; a wrong rule shows first in the first curve that is not flat",
                "input weights": "x^1, which the input weights produce, is flat in width: "
                "their rule is right",
            },
            explain="x^1 is flat and x^2 grows like n: W^2, a matrix-like tensor, is trained "
            "at SP's Adam rate eta instead of muP's eta / m. Adam's update entries have the "
            "size of the rate, and n aligned terms add up",
        ),
        reference=lambda: "hidden weights",
        wrong=(lambda: "readout", lambda: "input weights"),
    )
)

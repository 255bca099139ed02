"""Exercises of chapter 5: muP in practice (coordinate checks and muTransfer)."""

from __future__ import annotations

from . import Exercise, numeric, register

register(
    Exercise(
        id="ch05-sp-output-slope",
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
        id="ch05-transfer",
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

register(
    Exercise(
        id="ch05-sp-adam-shift",
        question="Under SP with Adam the best learning rate falls roughly like 1/width. On a grid of "
        "ratio 2, by how many grid steps does it move from width 128 to width 1024?",
        checker=numeric(
            3.0,
            abs_tol=0.01,
            hints={
                8.0: "8 is the factor; count grid steps of ratio 2: log2(8)",
                1.5: "1/width, not 1/sqrt(width)",
            },
            explain="3 = log2(1024 / 128)",
        ),
        reference=lambda: 3.0,
        wrong=(lambda: 8.0, lambda: 1.5),
    )
)

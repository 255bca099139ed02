"""Exercises of chapter 2: NNGP and NTK, the first forward and the first backward pass."""

from __future__ import annotations

import numpy as np

from . import Exercise, choice, function, numeric, register

register(
    Exercise(
        id="ch02-relu-ntk-diagonal",
        kind="derive",
        question="A depth-3 ReLU network in NTP (w_std = 1, no bias) gets an input with "
        "<x, x>/d = 1. What is its infinite-width NTK on the diagonal, Theta(x, x)?",
        checker=numeric(
            0.5,
            rel_tol=1e-3,
            hints={
                0.125: "that is the NNGP Sigma(x, x) = 2^-3; the NTK also adds up the earlier layers",
                4.0: "each ReLU halves both Sigma and the Theta that came before it",
                1.0: "that is the answer for depth 1; go through all three ReLU layers",
                0.75: "that is the answer for depth 2; go through all three ReLU layers",
            },
            explain="1/2: Sigma halves at each ReLU (1, 1/2, 1/4, 1/8) and Theta <- Theta/2 + Sigma "
            "gives 1, 1, 3/4, 1/2; in general (L + 1) / 2^L",
        ),
        reference=lambda: 0.5,
        wrong=(lambda: 0.125, lambda: 4.0, lambda: 0.75),
    )
)


def _linear_ntk_reference(x1, x2, depth):
    x1, x2 = np.asarray(x1, dtype=float), np.asarray(x2, dtype=float)
    return (depth + 1) * (x1 @ x2.T) / x1.shape[1]


def _gram(x1, x2):
    x1, x2 = np.asarray(x1, dtype=float), np.asarray(x2, dtype=float)
    return x1 @ x2.T / x1.shape[1]


def _linear_ntk_cases() -> list[tuple]:
    rng = np.random.default_rng(2)
    return [
        (rng.normal(size=(3, 4)), rng.normal(size=(2, 4)), 1),
        (rng.normal(size=(4, 5)), rng.normal(size=(4, 5)), 3),
        (rng.normal(size=(1, 7)), rng.normal(size=(3, 7)), 0),
        (rng.normal(size=(2, 3)), rng.normal(size=(5, 3)), 5),
    ]


register(
    Exercise(
        id="ch02-linear-ntk",
        kind="derive",
        question="Write linear_ntk(x1, x2, depth): the infinite-width NTK of a linear network with "
        "depth hidden layers in NTP (w_std = 1, no bias), for inputs x1 (N1, d), x2 (N2, d).",
        checker=function(
            _linear_ntk_reference,
            _linear_ntk_cases,
            explain="every layer adds Sigma = <x, x'>/d once: Theta = (L + 1) <x, x'>/d",
            mistakes=(
                (
                    lambda x1, x2, depth: _gram(x1, x2),
                    "that is Sigma = <x, x'>/d, the NNGP of a linear network; the NTK "
                    "also sums the gradients of the other layers",
                ),
                (
                    lambda x1, x2, depth: depth * _gram(x1, x2),
                    "one layer short: the readout has a gradient too",
                ),
                (
                    lambda x1, x2, depth: (
                        (depth + 1) * _gram(x1, x2) * np.shape(x1)[1]
                    ),
                    "the input layer is scaled by its fan-in: Sigma starts at "
                    "<x, x'>/d, not <x, x'>",
                ),
            ),
        ),
        reference=lambda: _linear_ntk_reference,
        wrong=(
            lambda: (
                lambda x1, x2, depth: (
                    np.asarray(x1) @ np.asarray(x2).T / np.shape(x1)[1]
                )
            ),
            lambda: (
                lambda x1, x2, depth: (
                    depth * np.asarray(x1) @ np.asarray(x2).T / np.shape(x1)[1]
                )
            ),
            lambda: (
                lambda x1, x2, depth: (depth + 1) * np.asarray(x1) @ np.asarray(x2).T
            ),
        ),
    )
)

register(
    Exercise(
        id="ch02-width-for-error",
        question="A width-256 NTP network's empirical NTK is 8% away from the exact one. About what "
        "width brings the error down to 2%?",
        checker=numeric(
            4096,
            rel_tol=0.05,
            hints={
                1024: "that is a width 4 times larger, as if the error shrank like n^(-1); "
                "it shrinks like n^(-1/2) (the slopes of the first section)",
                512: "that assumes the error halves when the width doubles; it shrinks like "
                "n^(-1/2)",
                64: "wider networks are closer to the limit, not narrower ones",
            },
            explain="4096: the error is ~ n^(-1/2), so dividing it by 4 takes 4^2 = 16 times the width",
        ),
        reference=lambda: 4096,
        wrong=(lambda: 1024, lambda: 64),
    )
)

register(
    Exercise(
        id="ch02-readout-only",
        kind="derive",
        question="Freeze every layer of a very wide NTP network except the readout, and train the "
        "readout (from zero) to convergence by gradient descent on the MSE. Which "
        "infinite-width predictor is this: nngp, ntk or neither?",
        checker=choice(
            "nngp",
            ("nngp", "ntk", "neither"),
            hints={
                "ntk": "the NTK sums the gradients of all layers; here only the readout's gradient "
                "(the last hidden layer's features) enters the kernel",
                "neither": "the readout sees fixed random features whose Gram matrix converges to a known kernel",
            },
            explain="the readout's tangent kernel is the Gram matrix of the last hidden layer's "
            "features, which converges to the NNGP; gradient descent to convergence from zero "
            "gives kernel regression with it, i.e. the NNGP posterior mean",
        ),
        reference=lambda: "nngp",
        wrong=(lambda: "ntk", lambda: "neither"),
    )
)

register(
    Exercise(
        id="ch02-kernel-movement-slope",
        kind="derive",
        question="In NTP the features x^L move by ~ n^(-1/2) during training, and the movement is "
        "uncorrelated with x^L itself. With what log-log slope in n does the feature kernel "
        "<x^L, x^L'>/n change?",
        checker=numeric(
            -1.0,
            abs_tol=0.05,
            hints={
                -0.5: "that is the features' own movement; in <x, dx'>/n the n uncorrelated terms cancel "
                "in square root (chapter 1)",
                0.0: "that is muP, where the features move Theta(1)",
            },
            explain="-1: <x, dx'>/n sums n uncorrelated terms of size n^(-1/2), which give "
            "sqrt(n) n^(-1/2) / n = 1/n, and <dx, dx'>/n is n^(-1) too",
        ),
        reference=lambda: -1.0,
        wrong=(lambda: -0.5, lambda: 0.0),
    )
)

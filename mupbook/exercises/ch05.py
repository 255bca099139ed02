"""Exercises of the chapter "Computing the feature-learning limit" (placed after chapter 4)."""

from __future__ import annotations

import numpy as np
import torch

from . import Exercise, choice, function, numeric, register

register(
    Exercise(
        id="ch05nl-variance-slope",
        kind="predict",
        question="Predict before running: with what log-log slope in the width n does the "
        "variance over seeds of a trained muP network's output fall?",
        checker=numeric(
            -1.0,
            abs_tol=0.05,
            hints={
                -0.5: "-1/2 is the slope of the RMS gap, a standard deviation; the variance "
                "is its square",
                0.0: "a slope of 0 would be a random limit: that is NTP's initial output "
                "(without the antisymmetric copy), whose variance is the NNGP's at every "
                "width",
                -2.0: "the mean over seeds approaches the limit like 1/n, but the spread "
                "around it is an average of n independent neurons",
            },
            explain="-1: the output is an average over n independent neurons, started at 0, "
            "so its fluctuation is n^-1/2 and its variance n^-1",
        ),
        reference=lambda: -1.0,
        wrong=(lambda: -0.5, lambda: 0.0, lambda: -2.0),
    )
)


def erf(x: np.ndarray) -> np.ndarray:
    return torch.erf(torch.as_tensor(x, dtype=torch.float64)).numpy()


def _neuron_step(u, b, v, x, chi, lr):
    """One full-batch step of the limit's rule for scalar inputs: u, b, v (M,), x and
    chi (B,) -> new (u, b, v)."""
    u, b, v, x, chi = (np.asarray(t, dtype=float) for t in (u, b, v, x, chi))
    h = u[:, None] * x[None, :] + b[:, None]
    dphi = 2 / np.sqrt(np.pi) * np.exp(-h * h)
    g = v[:, None] * chi[None, :] * dphi
    return np.stack([u - lr * g @ x, b - lr * g.sum(1), v - lr * erf(h) @ chi])


def _neuron_cases() -> list[tuple]:
    rng = np.random.default_rng(5)
    return [
        (
            rng.normal(size=m),
            rng.normal(size=m),
            rng.normal(size=m),
            rng.uniform(-1, 1, size=k),
            rng.normal(size=k) / k,
            lr,
        )
        for m, k, lr in ((1, 1, 0.5), (5, 3, 1.0), (7, 8, 0.3))
    ]


def _wrong_no_derivative(u, b, v, x, chi, lr):
    # phi(h) where the chain rule needs phi'(h) in the updates of u and b
    u, b, v, x, chi = (np.asarray(t, dtype=float) for t in (u, b, v, x, chi))
    h = u[:, None] * x[None, :] + b[:, None]
    g = v[:, None] * chi[None, :] * erf(h)
    return np.stack([u - lr * g @ x, b - lr * g.sum(1), v - lr * erf(h) @ chi])


def _wrong_new_v(u, b, v, x, chi, lr):
    # the input weights updated with the readout's *new* value (not simultaneous SGD)
    u, b, v, x, chi = (np.asarray(t, dtype=float) for t in (u, b, v, x, chi))
    h = u[:, None] * x[None, :] + b[:, None]
    v_new = v - lr * erf(h) @ chi
    g = v_new[:, None] * chi[None, :] * 2 / np.sqrt(np.pi) * np.exp(-h * h)
    return np.stack([u - lr * g @ x, b - lr * g.sum(1), v_new])


register(
    Exercise(
        id="ch05nl-neuron-update",
        kind="derive",
        question="Write neuron_step(u, b, v, x, chi, lr): one full-batch SGD step of the "
        "limit's neuron rule for scalar inputs (erf), returning np.stack([u, b, v]).",
        checker=function(
            _neuron_step,
            _neuron_cases,
            rtol=1e-9,
            mistakes=(
                (
                    _wrong_no_derivative,
                    "the updates of u and b use phi(h) where the chain rule needs "
                    "phi'(h): differentiate the neuron's output with respect to u",
                ),
                (
                    _wrong_new_v,
                    "u and b were moved with the readout's new value; SGD computes every "
                    "gradient at the old parameters and then moves them all at once",
                ),
            ),
            explain="the eta n and eta / n of Table 3 cancel against v = n V: every neuron "
            "moves by a width-free step",
        ),
        reference=lambda: _neuron_step,
        wrong=(lambda: _wrong_no_derivative, lambda: _wrong_new_v),
    )
)

register(
    Exercise(
        id="ch05nl-dimension",
        kind="derive",
        question="A one-hidden-layer muP network has d = 10 inputs, one output and random "
        "hidden biases (sigma_b > 0); it is trained on N = 3 inputs in general position. "
        "What is the dimension of the Gaussian integral that gives its limit?",
        checker=numeric(
            5.0,
            abs_tol=0.01,
            hints={
                12.0: "u enters only through u . x; the training inputs span 3 dimensions, "
                "not 10, and u never moves outside their span",
                4.0: "the bias b is random at initialization (sigma_b > 0): one more "
                "dimension",
                3.0: "the readout v is random too, and so is the bias",
            },
            explain="5 = 3 (u's projection on the span of the training inputs) + 1 (b) "
            "+ 1 (v)",
        ),
        reference=lambda: 5.0,
        wrong=(lambda: 12.0, lambda: 4.0, lambda: 3.0),
    )
)

register(
    Exercise(
        id="ch05nl-wwt-variance",
        kind="derive",
        question="W is n x n with iid N(0, 1/n) entries, v has iid N(0, 1) coordinates "
        "independent of W. As n -> infinity, what is the variance of one coordinate of "
        "W W^T v?",
        checker=numeric(
            2.0,
            abs_tol=0.02,
            hints={
                1.0: "a fresh Gaussian of variance 1 is only the Z-hat part; the Z-dot part "
                "adds v itself, of variance 1",
                0.0: "W W^T is not small: its entries on the diagonal are close to 1",
            },
            explain="2: Z = Z-hat + v, a fresh Gaussian of variance E[(W^T v)^2] = 1 plus "
            "the Z-dot term v",
        ),
        reference=lambda: 2.0,
        wrong=(lambda: 1.0, lambda: 0.0),
    )
)

register(
    Exercise(
        id="ch05nl-deterministic",
        kind="derive",
        question="Which of these infinite-width limits gives the same trained function for "
        "every random initialization: 'muP', 'ntk-centred', 'both' or 'neither'?",
        checker=choice(
            "both",
            ("muP", "ntk-centred", "both", "neither"),
            hints={
                "muP": "the centred NTK limit (antisymmetric copy, f_0 = 0) is a fixed "
                "kernel predictor, deterministic as well",
                "ntk-centred": "the muP limit starts at f_0 = 0 (readout variance 1/n^2) and "
                "the law of large numbers makes its training deterministic too",
                "neither": "both start from f_0 = 0 and average over infinitely many "
                "independent neurons",
            },
            explain="both: determinism is not a sign of feature learning",
        ),
        reference=lambda: "both",
        wrong=(lambda: "muP", lambda: "neither"),
    )
)

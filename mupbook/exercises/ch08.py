"""Exercises of chapter 8: few-shot learning on Omniglot (MAML, the muP limit, kernel limits)."""

from __future__ import annotations

import numpy as np

from . import Exercise, choice, function, numeric, register

register(
    Exercise(
        id="ch08-limit-width",
        kind="derive",
        question="The muP limit of a 1-hidden-layer linear network with d = 784 inputs and c = 5 "
        "outputs is itself a finite network. Of which width?",
        checker=numeric(
            789.0,
            abs_tol=0.5,
            hints={
                784.0: "the first layer's directions are not all the limit needs: where does "
                "the readout start?",
                5.0: "the readout's directions are not all the limit needs: where does the "
                "first layer start?",
                float(
                    "inf"
                ): "nothing ever leaves the span the two layers start in: it is finite",
            },
            explain="789 = d + c: the first layer starts in d directions, the readout in c others",
        ),
        reference=lambda: 789.0,
        wrong=(lambda: 784.0, lambda: 5.0),
    )
)

register(
    Exercise(
        id="ch08-update-rank",
        kind="derive",
        question="One inner SGD step on a 5-way 1-shot support set changes a task's first layer "
        "W1 (m x 784) by -lr D^T X_s. At most what rank does this change have?",
        checker=numeric(
            5.0,
            abs_tol=0.01,
            hints={
                1.0: "one support image gives a rank-one term, but the step sums over the "
                "whole support set",
                784.0: "X_s has only as many rows as support images",
            },
            explain="5: D^T X_s is a sum of one outer product per support image (N K = 5)",
        ),
        reference=lambda: 5.0,
        wrong=(lambda: 1.0, lambda: 784.0),
    )
)


def _query_features(xq, xs, W1, b, beta, D, lr):
    """H_q after one inner step, by materializing each task's adapted weights (slow, obvious)."""
    xq, xs, W1, b, D = (np.asarray(a, dtype=float) for a in (xq, xs, W1, b, D))
    out = []
    for t in range(xq.shape[0]):
        W1t = W1 - lr * D[t].T @ xs[t]
        bt = b - lr * beta * D[t].sum(0)
        out.append(xq[t] @ W1t.T + beta * bt)
    return np.stack(out)


def _feature_cases() -> list[tuple]:
    rng = np.random.default_rng(6)
    cases = []
    for B, kq, ks, d, m in ((2, 3, 2, 4, 5), (3, 1, 4, 6, 2)):
        cases.append(
            (
                rng.random((B, kq, d)),
                rng.random((B, ks, d)),
                rng.normal(size=(m, d)),
                rng.normal(size=m),
                float(rng.uniform(0.5, 2)),
                rng.normal(size=(B, ks, m)),
                0.4,
            )
        )
    return cases


def _query_features_low_rank(xq, xs, W1, b, beta, D, lr):
    """The book's batched form: X_q W1^T + beta b - lr (X_q X_s^T + beta^2) D."""
    k = xq @ np.swapaxes(xs, 1, 2) + beta**2
    return xq @ W1.T + beta * b - lr * k @ D


register(
    Exercise(
        id="ch08-query-features",
        kind="derive",
        question="Write query_features(xq, xs, W1, b, beta, D, lr) -> H_q (B, kq, m): the query "
        "features of every task after one inner step, without forming any task's weights.",
        checker=function(
            _query_features,
            _feature_cases,
            rtol=1e-9,
            explain="H_q = X_q W1^T + beta b - lr (X_q X_s^T + beta^2) D",
            mistakes=(
                (
                    lambda xq, xs, W1, b, beta, D, lr: xq @ W1.T + beta * b,
                    "these are the query features before the inner step; the step "
                    "changes W1 and b",
                ),
                (
                    lambda xq, xs, W1, b, beta, D, lr: (
                        xq @ W1.T + beta * b - lr * (xq @ np.swapaxes(xs, 1, 2)) @ D
                    ),
                    "the weights' change is right, but the bias moves in the inner "
                    "step too, and it reaches the queries through beta",
                ),
            ),
        ),
        reference=lambda: _query_features_low_rank,
        wrong=(
            lambda: lambda xq, xs, W1, b, beta, D, lr: xq @ W1.T + beta * b,
            lambda: (
                lambda xq, xs, W1, b, beta, D, lr: (
                    xq @ W1.T + beta * b - lr * (xq @ np.swapaxes(xs, 1, 2)) @ D
                )
            ),
        ),
    )
)

register(
    Exercise(
        id="ch08-sample-gap",
        question="A sampled width-512 network's query logits differ from the limit's by 0.13 (RMS). "
        "About how large is the gap at width 8192?",
        checker=numeric(
            0.0325,
            rel_tol=0.25,
            hints={
                0.13 / 16: "the gap falls like n^-1/2, not n^-1",
                0.13: "the gap does shrink with width",
            },
            explain="about 0.13 / sqrt(16) = 0.033: the gap falls like n^-1/2",
        ),
        reference=lambda: 0.0325,
        wrong=(lambda: 0.13 / 16, lambda: 0.13),
    )
)

register(
    Exercise(
        id="ch08-why-kernels-fail",
        question="Why do the NNGP and NTK limits do badly at few-shot Omniglot?",
        checker=choice(
            "their features never change",
            (
                "their features never change",
                "they overfit the support set",
                "their kernels are not positive definite",
            ),
            hints={
                "they overfit the support set": "a kernel machine fits the support set well; what it cannot do is "
                "adapt the representation to what the tasks share",
                "their kernels are not positive definite": "both kernels are positive definite",
            },
            explain="meta-learning has to learn features shared by all tasks; in the kernel limits the "
            "features stay at initialization, so only the readout-like part learns",
        ),
        reference=lambda: "their features never change",
        wrong=(lambda: "they overfit the support set",),
    )
)
